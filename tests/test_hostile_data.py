"""Hostile data and arguments at the data boundary (issue 12, items 7, 13, 15 and the wrong
exception types): each must give a clear ValueError / TypeError / OSError naming the
argument, never a raw pybind11 message, an OverflowError, a crash or a hang.

Every case runs in a fresh interpreter (tests/subprocess_harness.py), so a SIGBUS, a
segfault or a hang fails one test instead of the run.
"""

import textwrap

import numpy as np
import pytest

import eigennet
from subprocess_harness import MODEL_PRELUDE, assert_raises, run_python

PRELUDE = (
    MODEL_PRELUDE
    + """
import os, tempfile

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
)

VALUE = ("ValueError",)
TYPE = ("TypeError",)
HUGE = 2**70

# id, code, accepted exceptions, keywords the message must contain (tuple = any of)
CASES = [
    # Counts above int64 reached pybind11 ("incompatible function arguments") or hung.
    (
        "batch_size_2_70_fit",
        f"mk().fit(x, y, batch_size={HUGE}, verbose=0)",
        VALUE,
        ("batch_size",),
    ),
    ("batch_size_2_63_fit", "mk().fit(x, y, batch_size=2**63, verbose=0)", VALUE, ("batch_size",)),
    (
        "batch_size_2_70_evaluate",
        f"mk().evaluate(x, y, batch_size={HUGE}, verbose=0)",
        VALUE,
        ("batch_size",),
    ),
    (
        "batch_size_2_70_predict",
        f"mk().predict(x, batch_size={HUGE}, verbose=0)",
        VALUE,
        ("batch_size",),
    ),
    ("epochs_2_70", f"mk().fit(x, y, epochs={HUGE}, verbose=0)", VALUE, ("epochs",)),
    (
        "initial_epoch_2_70",
        f"mk().fit(x, y, initial_epoch={HUGE}, verbose=0)",
        VALUE,
        ("initial_epoch",),
    ),
    ("epochs_2_70_pydataset", f"mk().fit(DS(), epochs={HUGE}, verbose=0)", VALUE, ("epochs",)),
    (
        "steps_per_epoch_2_70",
        f"mk().fit(DS(), steps_per_epoch={HUGE}, verbose=0)",
        VALUE,
        ("steps_per_epoch",),
    ),
    (
        "validation_batch_size_float_streamed",
        "mk().fit(mapped(x), y, validation_data=(mapped(x), y), validation_batch_size=1.5, "
        "verbose=0)",
        TYPE,
        ("validation_batch_size",),
    ),
    # Ragged lists: NumPy's "inhomogeneous shape" message named no argument.
    ("ragged_x_fit", "mk().fit([[1, 2, 3, 4], [1, 2]], y[:2], verbose=0)", VALUE, ("x is ragged",)),
    ("ragged_x_predict", "mk().predict([[1, 2, 3, 4], [1]], verbose=0)", VALUE, ("x is ragged",)),
    ("ragged_y", "mk().fit(x, [[1]] * 12 + [[1, 2]], verbose=0)", VALUE, ("y is ragged",)),
    (
        "ragged_train_on_batch",
        "mk().train_on_batch([[1, 2, 3, 4], [1, 2]], y[:2])",
        VALUE,
        ("x is ragged",),
    ),
    (
        "ragged_generator_batch",
        "mk().fit((b for b in [(x, y), ([[1, 2, 3, 4], [1]], y[:2])]), verbose=0)",
        VALUE,
        ("batch 1", "x is ragged"),
    ),
    # timedelta64 is an integer subtype to NumPy: it trained silently.
    (
        "timedelta_x",
        "mk().fit(np.ones((13, 4), 'timedelta64[s]'), y, verbose=0)",
        TYPE,
        ("x", "timedelta64"),
    ),
    (
        "timedelta_memmap",
        "mk().predict(mapped(np.ones((13, 4), 'timedelta64[s]')), verbose=0)",
        TYPE,
        ("x", "timedelta64"),
    ),
    # PyDataset lengths: len()'s own errors (OverflowError...) named neither the data set
    # nor __len__; a num_batches property was not checked at all.
    ("pydataset_len_negative", "mk().fit(DS(-1), verbose=0)", VALUE, ("DS.__len__",)),
    ("pydataset_len_2_70", f"mk().fit(DS({HUGE}), verbose=0)", VALUE, ("DS.__len__",)),
    ("pydataset_len_float", "mk().fit(DS(1.5), verbose=0)", TYPE, ("DS.__len__",)),
    ("pydataset_len_str", "mk().evaluate(DS('3'), verbose=0)", TYPE, ("DS.__len__",)),
    ("pydataset_len_none", "mk().predict(DS(None), verbose=0)", TYPE, ("DS.__len__",)),
    (
        "pydataset_num_batches_negative",
        "mk().fit(Batches(-1), verbose=0)",
        VALUE,
        ("Batches.num_batches", ">= 0"),
    ),
    (
        "pydataset_num_batches_float",
        "mk().fit(Batches(2.5), verbose=0)",
        TYPE,
        ("Batches.num_batches",),
    ),
    (
        "pydataset_num_batches_2_70",
        f"mk().fit(Batches({HUGE}), steps_per_epoch=2, verbose=0)",
        VALUE,
        ("Batches.num_batches",),
    ),
    (
        "pydataset_too_many_to_shuffle",
        "mk().fit(DS(2**62), steps_per_epoch=2, verbose=0)",
        VALUE,
        ("shuffle",),
    ),
    # Worker settings were int()-ed: "2" and 1.5 passed, -1 meant one, 2**70 overflowed.
    ("pydataset_workers_negative", "mk().fit(DS(workers=-1), verbose=0)", VALUE, ("DS.workers",)),
    ("pydataset_workers_float", "mk().fit(DS(workers=1.5), verbose=0)", TYPE, ("DS.workers",)),
    ("pydataset_workers_str", "mk().fit(DS(workers='2'), verbose=0)", TYPE, ("DS.workers",)),
    (
        "pydataset_workers_huge_processes",
        f"mk().fit(DS(workers={HUGE}, use_multiprocessing=True), verbose=0)",
        VALUE,
        ("DS.workers",),
    ),
    (
        "pydataset_max_queue_size_negative",
        "mk().fit(DS(workers=2, max_queue_size=-1), verbose=0)",
        VALUE,
        ("DS.max_queue_size",),
    ),
    (
        "pydataset_max_queue_size_str",
        "mk().fit(DS(max_queue_size='a'), verbose=0)",
        TYPE,
        ("DS.max_queue_size",),
    ),
    (
        "pydataset_max_queue_size_2_70",
        f"mk().fit(DS(workers=2, max_queue_size={HUGE}), verbose=0)",
        VALUE,
        ("DS.max_queue_size",),
    ),
]


@pytest.mark.parametrize(
    "code, exceptions, keywords", [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_hostile_arguments_raise_clear_errors(code, exceptions, keywords):
    assert_raises(code, exceptions, keywords, prelude=PRELUDE)


# -- item 7: class_weight is checked as sample_weight is, before any training -------------
# (in this process: a bad weight cannot crash, it only trained to a NaN loss)
BAD_CLASS_WEIGHTS = [
    ("nan", {0: float("nan"), 1: 1.0}, ValueError, r"class_weight\[0\].*nan"),
    ("inf", {0: 1.0, 1: float("inf")}, ValueError, r"class_weight\[1\].*inf"),
    ("negative", {0: -0.5, 1: 1.0}, ValueError, r"class_weight\[0\].*-0.5"),
    ("none_weight", {0: None, 1: 1.0}, TypeError, r"class_weight\[0\]"),
    ("str_weight", {0: "a", 1: 1.0}, TypeError, r"class_weight\[0\]"),
    ("complex_weight", {0: 1j, 1: 1.0}, TypeError, r"class_weight\[0\]"),
    ("list_weight", {0: [1, 2], 1: 1.0}, TypeError, r"class_weight\[0\]"),
    ("str_key", {"0": 1.0, 1: 1.0}, TypeError, "class_weight keys.*'0'"),
    ("fractional_key", {0.5: 1.0}, TypeError, "class_weight keys.*0.5"),
    ("negative_key", {-1: 1.0}, ValueError, "class_weight keys.*-1"),
    ("not_a_dict", [1.0, 2.0], TypeError, "class_weight must be a dict"),
]
CW_X = np.ones((13, 4), "float32")
CW_LABELS = (np.arange(13) % 2).astype("float32")[:, None]
CW_ONE_HOT = np.eye(2, dtype="float32")[np.arange(13) % 2]


class _Labelled(eigennet.utils.PyDataset):
    def __len__(self):
        return 3

    def __getitem__(self, index):
        return CW_X[:4], CW_LABELS[:4]


def _class_weight_run(path: str, class_weight, tmp_path):
    """(a model, a call that trains it with `class_weight` on data coming from `path`)."""
    eigennet.utils.set_random_seed(3)
    binary = path == "pydataset"
    output = eigennet.layers.Dense(1, "sigmoid") if binary else eigennet.layers.Dense(2, "softmax")
    model = eigennet.Sequential([eigennet.Input(shape=(4,)), output])
    model.compile("sgd", "binary_crossentropy" if binary else "categorical_crossentropy")
    x, y = CW_X, CW_ONE_HOT
    if path.startswith("memmap"):
        np.save(tmp_path / "x.npy", CW_X)
        x = np.load(tmp_path / "x.npy", mmap_mode="r")

    def run():
        if path == "pydataset":
            return model.fit(_Labelled(workers=2), class_weight=class_weight, verbose=0)
        if path == "train_on_batch":
            return model.train_on_batch(x, y, class_weight=class_weight)
        split = 0.3 if path == "memmap_validation_split" else 0.0
        return model.fit(
            x, y, class_weight=class_weight, validation_split=split, shuffle=False, verbose=0
        )

    return model, run


def _class_weight_params():
    for path in ("memmap", "memmap_validation_split", "pydataset", "in_memory", "train_on_batch"):
        in_model_py = path in ("in_memory", "train_on_batch")
        for name, weights, error, match in BAD_CLASS_WEIGHTS:
            if in_model_py and name == "not_a_dict":
                continue  # Model._apply_class_weight refuses that one already
            yield pytest.param(path, weights, error, match, id=f"{path}-{name}")


@pytest.mark.parametrize("path, weights, error, match", list(_class_weight_params()))
def test_bad_class_weight_is_refused_before_training(path, weights, error, match, tmp_path):
    model, run = _class_weight_run(path, weights, tmp_path)
    before = model.get_weights()
    with pytest.raises(error, match=match):
        run()
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # nothing trained before the refusal


@pytest.mark.parametrize("path", ["memmap", "in_memory"])
def test_class_weights_of_numpy_types_train_like_python_ones(path, tmp_path):
    """Keys as NumPy integers or integral floats, weights as NumPy numbers (0 allowed)."""
    histories = []
    for cw in ({0: 0.0, 1: 2.0}, {np.int64(0): np.float32(0.0), 1.0: np.float64(2.0)}):
        histories.append(_class_weight_run(path, cw, tmp_path)[1]().history)
    assert np.isfinite(histories[0]["loss"]).all() and histories[0] == histories[1]


# -- cases of the in-memory path's own checks (models/model.py)
MODEL_PY_CASES = [
    ("callbacks_not_a_list", "mk().fit(x, y, callbacks=3, verbose=0)", TYPE, ("callbacks",)),
    ("callbacks_of_ints", "mk().fit(x, y, callbacks=[3], verbose=0)", TYPE, ("callbacks",)),
    (
        "validation_batch_size_2_70",
        f"mk().fit(x, y, validation_data=(x, y), validation_batch_size={HUGE}, verbose=0)",
        VALUE,
        ("validation_batch_size",),
    ),
    (
        "validation_batch_size_float",
        "mk().fit(x, y, validation_data=(x, y), validation_batch_size=1.5, verbose=0)",
        TYPE,
        ("validation_batch_size",),
    ),
    (
        "validation_freq_zero",
        "mk().fit(x, y, validation_split=0.5, validation_freq=0, verbose=0)",
        VALUE,
        ("validation_freq",),
    ),
    (
        "validation_freq_zero_pydataset",
        "mk().fit(DS(), validation_data=DS(2), validation_freq=0, verbose=0)",
        VALUE,
        ("validation_freq",),
    ),
    (
        "validation_split_str",
        "mk().fit(x, y, validation_split='a', verbose=0)",
        TYPE,
        ("validation_split",),
    ),
    (
        "validation_split_none",
        "mk().fit(x, y, validation_split=None, verbose=0)",
        TYPE,
        ("validation_split",),
    ),
    (
        "sample_weight_str_with_validation_split",
        "mk().fit(x, y, sample_weight='abcdefghijklm', validation_split=0.5, verbose=0)",
        TYPE,
        ("sample_weight",),
    ),
    ("train_on_batch_without_y", "mk().train_on_batch(x, None)", VALUE, ("targets",)),
    ("test_on_batch_without_y", "mk().test_on_batch(x)", VALUE, ("targets",)),
    (
        "validation_data_without_y",
        "mk().fit(x, y, validation_data=(x, None), verbose=0)",
        VALUE,
        ("validation", "targets"),
    ),
]


@pytest.mark.parametrize(
    "code, exceptions, keywords", [pytest.param(*case[1:], id=case[0]) for case in MODEL_PY_CASES]
)
def test_in_memory_arguments_are_checked(code, exceptions, keywords):
    assert_raises(code, exceptions, keywords, prelude=PRELUDE)


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
