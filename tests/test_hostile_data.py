"""Hostile data and arguments at the data boundary (issue 12, items 7, 13, 15 and the wrong
exception types): each must give a clear ValueError / TypeError / OSError naming the
argument, never a raw pybind11 message, an OverflowError, a crash or a hang.

Every case runs in a fresh interpreter (tests/subprocess_harness.py), so a SIGBUS, a
segfault or a hang fails one test instead of the run.
"""

import textwrap

import pytest

from subprocess_harness import assert_raises, run_python

PRELUDE = """
import os, tempfile
import numpy as np
import eigennet as keras

def mk(units=1, activation=None, loss="mse", features=4):
    m = keras.Sequential(
        [keras.Input(shape=(features,)), keras.layers.Dense(units, activation=activation)]
    )
    if loss:
        m.compile(optimizer="sgd", loss=loss)
    return m

x = np.ones((13, 4), "float32")
y = np.ones((13, 1), "float32")
labels = np.arange(13) % 2

class DS(keras.utils.PyDataset):
    def __init__(self, n=3, **kwargs):
        super().__init__(**kwargs)
        self.n = n
    def __len__(self):
        return self.n
    def __getitem__(self, i):
        return x[:4], labels[:4, None].astype("float32")

class Batches(DS):  # num_batches given as a property, unchecked by len()
    def __init__(self, count, **kwargs):
        super().__init__(**kwargs)
        self.count = count
    @property
    def num_batches(self):
        return self.count

def mapped(a, name="x"):
    path = os.path.join(tempfile.mkdtemp(), name + ".npy")
    np.save(path, a)
    return np.load(path, mmap_mode="r")
"""

VALUE = ("ValueError",)
TYPE = ("TypeError",)
HUGE = 2**70

# id, code, accepted exceptions, keywords the message must contain (tuple = any of)
# -- item 15: a memory-mapped file truncated after mapping is an OSError, not SIGBUS ------
TRUNCATED = """
directory = tempfile.mkdtemp()
path = os.path.join(directory, "data.npy")
np.save(path, np.ones((3000, 4), DTYPE))
OPEN
ym = np.ones((len(xm), 1), "float32")
os.truncate(path, 128 + 100 * 4 * np.dtype(DTYPE).itemsize)  # 100 rows left
m = mk()
CALL
"""
OPENERS = {
    "load_r": 'xm = np.load(path, mmap_mode="r")',
    "load_c": 'xm = np.load(path, mmap_mode="c")',
    "memmap_offset": 'xm = np.memmap(path, DTYPE, "r", offset=128, shape=(3000, 4))',
    "strided_view": 'xm = np.load(path, mmap_mode="r")[::2]',
}
CALLS = {
    "fit": "m.fit(xm, ym, verbose=0)",
    "evaluate": "m.evaluate(xm, ym, verbose=0)",
    "predict": "m.predict(xm, verbose=0)",
    "as_targets": "mk(features=1).fit(ym, xm[:, :1], verbose=0)",
    "validation_data": "m.fit(ym.repeat(4, 1), ym, validation_data=(xm, ym), verbose=0)",
    "train_on_batch": "m.train_on_batch(xm, ym)",
    "predict_on_batch": "m.predict_on_batch(xm)",
}


def _truncated_params():
    for dtype in ("float32", "float64"):  # read in place / converted while read
        for opener in OPENERS:
            yield pytest.param(dtype, opener, "fit", id=f"{dtype}-{opener}-fit")
        for call in list(CALLS)[1:]:
            yield pytest.param(dtype, "load_r", call, id=f"{dtype}-load_r-{call}")


@pytest.mark.parametrize("dtype, opener, call", list(_truncated_params()))
def test_truncated_memmap_is_an_os_error(dtype, opener, call):
    code = (
        TRUNCATED.replace("OPEN", OPENERS[opener])
        .replace("CALL", CALLS[call])
        .replace("DTYPE", repr(dtype))
    )
    assert_raises(code, ("OSError",), ("truncated", "data.npy"), prelude=PRELUDE)


TRUNCATED_WHILE_TRAINING = """
keras.config.set_streaming(chunk_bytes=4096)  # many windows, each checked when read
directory = tempfile.mkdtemp()
path = os.path.join(directory, "data.npy")
np.save(path, np.ones((3000, 4), DTYPE))
xm = OPEN
ym = np.ones((len(xm), 1), "float32")

class Truncate(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):  # no read is in flight between epochs
        os.truncate(path, 128 + 100 * 4 * np.dtype(DTYPE).itemsize)

mk().fit(xm, ym, epochs=2, shuffle=SHUFFLE, callbacks=[Truncate()], verbose=0)
"""


@pytest.mark.parametrize("shuffle", [False, True], ids=["ordered", "shuffled"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])  # read in place / converted
@pytest.mark.parametrize(
    "opener",
    ['np.load(path, mmap_mode="r")', 'np.load(path, mmap_mode="c")', 'np.load(path, "r")[::2]'],
    ids=["shared", "copy_on_write", "strided"],
)
def test_memmap_truncated_between_epochs_is_an_os_error(opener, dtype, shuffle):
    code = (
        TRUNCATED_WHILE_TRAINING.replace("OPEN", opener)
        .replace("DTYPE", repr(dtype))
        .replace("SHUFFLE", str(shuffle))
    )
    assert_raises(code, ("OSError",), ("truncated", "data.npy", "rows"), prelude=PRELUDE)


# -- item 13: a __getitem__ that never returns must not keep the process alive ------------
BLOCKING_MODULE = """
import time
import numpy as np
import eigennet as keras

class Blocking(keras.utils.PyDataset):
    \"\"\"Batch 0 loads (it builds the model), batch RAISE_AT raises, and every batch from
    BLOCK_FROM on never returns.\"\"\"

    def __init__(self, raise_at, block_from, **kwargs):
        super().__init__(**kwargs)
        self.raise_at, self.block_from = raise_at, block_from

    def __len__(self):
        return 8

    def __getitem__(self, index):
        if index == self.raise_at:
            raise KeyError(f"batch {index} is broken")
        if index >= self.block_from:
            while True:
                time.sleep(0.5)
        return np.ones((4, 4), "float32"), np.ones((4, 1), "float32")
"""

BLOCKING_RUN = """
import multiprocessing, os, signal, threading, time
import eigennet as keras
from blocking_dataset import Blocking

class Stop(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        raise RuntimeError("stopped by a callback")

m = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
m.compile("sgd", "mse")
data = Blocking(RAISE_AT, BLOCK_FROM, OPTIONS)
if CTRL_C:  # fit waits for a batch that never comes: Ctrl-C must still end it
    threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    m.fit(data, shuffle=False, verbose=0, callbacks=CALLBACKS)
except (KeyError, RuntimeError, KeyboardInterrupt) as e:
    print("RAISED", type(e).__name__, e, flush=True)
deadline = time.monotonic() + 20
while multiprocessing.active_children() and time.monotonic() < deadline:
    time.sleep(0.1)
print("CHILDREN", len(multiprocessing.active_children()), flush=True)
# The script ends here: the interpreter must exit although a __getitem__ never returns.
"""


@pytest.mark.parametrize(
    "options",
    ["workers=1", "workers=2", "workers=2, use_multiprocessing=True"],
    ids=["one_thread", "threads", "processes"],
)
@pytest.mark.parametrize(
    "raise_at, block_from, callbacks, ctrl_c, expected",
    [
        (1, 2, "[]", False, "KeyError"),
        (-1, 1, "[Stop()]", False, "RuntimeError"),
        (-1, 1, "[]", True, "KeyboardInterrupt"),
    ],
    ids=["getitem_raises", "callback_raises", "ctrl_c"],
)
def test_blocked_getitem_does_not_hang_the_exit(
    tmp_path, options, raise_at, block_from, callbacks, ctrl_c, expected
):
    (tmp_path / "blocking_dataset.py").write_text(textwrap.dedent(BLOCKING_MODULE))
    script = (
        BLOCKING_RUN.replace("RAISE_AT", str(raise_at))
        .replace("BLOCK_FROM", str(block_from))
        .replace("OPTIONS", options)
        .replace("CALLBACKS", callbacks)
        .replace("CTRL_C", str(ctrl_c))
    )
    out, detail = run_python(script, timeout=90, cwd=tmp_path)
    assert f"RAISED {expected}" in out, detail
    assert "CHILDREN 0" in out, "worker processes outlived fit\n" + detail
