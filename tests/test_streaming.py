"""Streaming memory-mapped arrays through fit/evaluate/predict: bit-identical to training in
memory with shuffle=False, seeded chunk-wise shuffling that sees every row once per epoch,
bounded memory, and clear errors for corrupt data in later chunks."""

import faulthandler
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import eigennet
from eigennet import layers
from eigennet.models import stream_io

rng = np.random.default_rng(0)
N, FEATURES, OUTPUTS = 1003, 5, 3
X = rng.normal(size=(N, FEATURES)).astype("float32")
Y = rng.normal(size=(N, OUTPUTS)).astype("float32")
W = rng.uniform(0.1, 2.0, size=N).astype("float32")


@pytest.fixture(autouse=True)
def _guard():
    """Small chunks by default (so the data spans many), and a deadline: a hang aborts
    the run with a traceback instead of blocking it."""
    before = eigennet.config.get_streaming()
    eigennet.config.set_streaming(chunk_bytes=4096)
    faulthandler.dump_traceback_later(300, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()
    eigennet.config.set_streaming(**before)


@pytest.fixture
def saved(tmp_path):
    """np.save each array and reopen it with mmap_mode="r"."""

    def save(name, array, mode="r"):
        path = tmp_path / f"{name}.npy"
        np.save(path, array)
        return np.load(path, mmap_mode=mode)

    return save


def _model(seed=4, metrics=("mae",), loss="mse", outputs=OUTPUTS, activation=None):
    eigennet.utils.set_random_seed(seed)
    model = eigennet.Sequential(
        [
            eigennet.Input(shape=(FEATURES,)),
            layers.Dense(8, activation="tanh"),
            layers.Dense(outputs, activation=activation),
        ]
    )
    model.compile(optimizer="adam", loss=loss, metrics=list(metrics))
    return model


def _assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("chunk_bytes", [1, 4096, 10_000, 10**9])
def test_unshuffled_streaming_is_bit_identical(saved, chunk_bytes):
    """Chunks of 1 batch, several batches, a count not dividing the data, and all of it."""
    eigennet.config.set_streaming(chunk_bytes=chunk_bytes)
    xm, ym = saved("x", X), saved("y", Y)
    assert stream_io.RowReader(xm, "float32", 10).strategy == "pread"
    memory, streamed = _model(), _model()
    fit = dict(batch_size=16, epochs=3, shuffle=False, verbose=0)
    h_mem = memory.fit(X, Y, validation_data=(X[:300], Y[:300]), **fit).history
    h_str = streamed.fit(xm, ym, validation_data=(xm[:300], ym[:300]), **fit).history
    assert h_str == h_mem
    _assert_same_weights(memory, streamed)
    assert streamed.evaluate(xm, ym, verbose=0) == memory.evaluate(X, Y, verbose=0)
    np.testing.assert_array_equal(streamed.predict(xm, verbose=0), memory.predict(X, verbose=0))


def test_sample_weights_class_weights_and_validation_split(saved):
    xm, ym, wm = saved("x", X), saved("y", Y), saved("w", W)
    labels = (Y[:, 0] > 0).astype("int64")
    lm = saved("labels", labels)
    fit = dict(batch_size=32, epochs=2, shuffle=False, verbose=0, validation_split=0.25)
    for y_mem, y_str, extra in [
        (Y, ym, dict(sample_weight=W)),  # weights in memory, data mapped
        (Y, ym, dict(sample_weight=wm)),  # weights mapped too
        (Y, Y, dict(sample_weight=wm)),  # only the weights mapped
    ]:
        memory, streamed = _model(), _model()
        h_mem = memory.fit(X, y_mem, **fit, sample_weight=W).history
        h_str = streamed.fit(xm, y_str, **fit, **extra).history
        assert h_str == h_mem
        _assert_same_weights(memory, streamed)
    memory = _model(outputs=1, activation="sigmoid", loss="binary_crossentropy", metrics=["acc"])
    streamed = _model(outputs=1, activation="sigmoid", loss="binary_crossentropy", metrics=["acc"])
    cw = {0: 0.3, 1: 2.0}
    h_mem = memory.fit(X, labels, class_weight=cw, **fit).history
    h_str = streamed.fit(xm, lm, class_weight=cw, **fit).history
    assert h_str == h_mem
    _assert_same_weights(memory, streamed)


def test_sparse_labels_and_float64_conversion(saved):
    labels = rng.integers(0, 3, size=N)
    x64 = X.astype("float64")
    xm, lm = saved("x64", x64), saved("labels", labels)
    reader = stream_io.RowReader(xm, "float32", 64)
    assert reader.strategy == "pread" and reader._staging is not None  # raw read, then cast
    memory = _model(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    streamed = _model(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    fit = dict(batch_size=20, epochs=2, shuffle=False, verbose=0)
    assert streamed.fit(xm, lm, **fit).history == memory.fit(x64, labels, **fit).history
    _assert_same_weights(memory, streamed)


def test_views_strided_and_copy_on_write_mappings(tmp_path, saved):
    """A shard-style slice is read with pread at its own file offset; a strided view and a
    copy-on-write mapping (which may hold unsaved changes) are read through the mapping."""
    wide = saved("wide", np.concatenate([X, X * 2], axis=1))
    shard = saved("x", X)[200:700]
    assert stream_io.RowReader(shard, "float32", 10).strategy == "pread"
    strided = wide[:, :FEATURES]
    assert stream_io.RowReader(strided, "float32", 10).strategy == "madvise"
    cow = saved("cow", X, mode="c")
    cow[5:9] = 7.0  # private change, not in the file
    assert stream_io.RowReader(cow, "float32", 10).strategy == "copy"
    fit = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    changed = X.copy()
    changed[5:9] = 7.0
    for mapped, in_memory in [(shard, X[200:700]), (strided, X), (cow, changed)]:
        memory, streamed = _model(), _model()
        rows = len(in_memory)
        h_mem = memory.fit(in_memory, Y[:rows], **fit).history
        assert streamed.fit(mapped, Y[:rows], **fit).history == h_mem
        _assert_same_weights(memory, streamed)


def test_seeded_shuffle_is_reproducible_and_differs_from_unshuffled(saved):
    xm, ym = saved("x", X), saved("y", Y)
    fit = dict(batch_size=16, epochs=2, verbose=0)
    a, b, c = _model(), _model(), _model()
    eigennet.utils.set_random_seed(11)
    a.fit(xm, ym, **fit)
    eigennet.utils.set_random_seed(11)
    b.fit(xm, ym, **fit)
    _assert_same_weights(a, b)
    c.fit(xm, ym, shuffle=False, **fit)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_shuffled_windows_used_in_place_train_like_copied_windows(saved, monkeypatch):
    """A float32 mapping is used in place (the core gathers a window's rows from its
    chunks); a float64 one is read and converted into one buffer per window. Same rows,
    same windows, same seeds: bit-identical training."""
    x64 = X.astype("float64")  # float32 values, exactly representable
    in_place, copied = saved("x32", X), saved("x64", x64)
    ym = saved("y", Y)
    calls = {"blocks": 0, "whole": 0}
    run_chunk_blocks = type(_model()._ensure_trainer(Y)).run_chunk_blocks

    def count(self, *args):
        calls["blocks"] += 1
        return run_chunk_blocks(self, *args)

    monkeypatch.setattr(type(_model()._ensure_trainer(Y)), "run_chunk_blocks", count)
    a, b = _model(), _model()
    eigennet.utils.set_random_seed(3)
    a.fit(in_place, ym, batch_size=16, epochs=2, verbose=0)
    assert calls["blocks"] > 0
    blocked = calls["blocks"]
    eigennet.utils.set_random_seed(3)
    b.fit(copied, ym, batch_size=16, epochs=2, verbose=0)
    assert calls["blocks"] == blocked  # the float64 windows were copied, not blocks
    _assert_same_weights(a, b)


class _Recorder:
    """Stands in for the native trainer and records the rows of every chunk it runs."""

    def __init__(self, trainer):
        self._trainer = trainer
        self.chunks = []
        self.threads = set()

    def run_chunk(self, x, *args):
        self.chunks.append(x[:, 0].astype(np.int64).copy())
        return self._trainer.run_chunk(x, *args)

    def run_chunk_blocks(self, blocks, *args):
        self.chunks.append(np.concatenate([b[:, 0] for b in blocks]).astype(np.int64))
        self.blocked = True
        return self._trainer.run_chunk_blocks(blocks, *args)

    def __getattr__(self, name):
        return getattr(self._trainer, name)


def test_shuffled_epoch_sees_every_row_exactly_once(saved):
    """Instrumented: the windows of an epoch partition the rows, in an order that changes
    from epoch to epoch. By the numbers: with the learning rate at 0 the epoch loss of a
    zero model is the mean of y**2 over all rows, which a missing or repeated row changes."""
    ids = np.arange(N, dtype="float32")[:, None] * np.ones((1, FEATURES), "float32")
    xm, ym = saved("ids", ids), saved("y", Y)
    model = _model()
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.optimizer.learning_rate = 0.0
    model.fit(ids[:32], Y[:32], verbose=0)  # creates the trainer
    recorder = model._trainer = _Recorder(model._trainer)
    history = model.fit(xm, ym, batch_size=16, epochs=3, verbose=0).history
    per_epoch = len(recorder.chunks) // 3
    orders = []
    for epoch in range(3):
        chunks = recorder.chunks[epoch * per_epoch : (epoch + 1) * per_epoch]
        rows = np.concatenate(chunks)
        np.testing.assert_array_equal(np.sort(rows), np.arange(N))
        orders.append(rows)
    assert len(recorder.chunks) == 3 * per_epoch and per_epoch > 1
    assert not np.array_equal(orders[0], orders[1])
    expected = float(np.mean(Y.astype("float64") ** 2))
    np.testing.assert_allclose(history["loss"], [expected] * 3, rtol=1e-6)


def test_loading_runs_in_a_background_thread(saved, monkeypatch):
    xm, ym = saved("x", X), saved("y", Y)
    threads = set()
    read = stream_io.RowReader.read

    def spy(self, *args):
        threads.add(threading.current_thread().name)
        return read(self, *args)

    monkeypatch.setattr(stream_io.RowReader, "read", spy)
    _model().fit(xm, ym, batch_size=16, verbose=0)
    assert threads and threading.current_thread().name not in threads


def test_nan_in_a_later_chunk_names_the_rows(saved):
    bad = X.copy()
    bad[734, 2] = np.nan
    xm, ym = saved("bad", bad), saved("y", Y)
    with pytest.raises(ValueError, match=r"x contains NaN or inf in rows \[\d+, \d+\).*row 734"):
        _model().fit(xm, ym, batch_size=16, shuffle=False, verbose=0)
    with pytest.raises(ValueError, match=r"rows \[\d+, \d+\).*row 734"):
        _model().fit(X, Y, validation_data=(xm, ym), batch_size=16, verbose=0)
    with pytest.raises(ValueError, match=r"row 734"):
        _model().predict(xm, verbose=0)
    labels = rng.integers(0, 3, size=N)
    labels[900] = 3
    with pytest.raises(ValueError, match=r"class labels in \[0, 3\] in rows \[\d+, \d+\)"):
        model = _model(loss="sparse_categorical_crossentropy", metrics=[])
        model.fit(saved("x", X), saved("labels", labels), batch_size=16, verbose=0)


def test_bad_shapes_raise_before_reading(saved):
    xm = saved("x", X)
    with pytest.raises(ValueError, match="different numbers of samples"):
        _model().fit(xm, Y[:10], verbose=0)
    with pytest.raises(ValueError, match="expects inputs of shape"):
        _model().fit(saved("wide", np.ones((N, 7), "float32")), Y, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch.*apply to PyDatasets and generators"):
        _model().fit(xm, Y, steps_per_epoch=3, verbose=0)
    with pytest.raises(TypeError, match="numeric"):
        _model().fit(xm, saved("s", np.array(["a"] * N)), verbose=0)


def test_callbacks_see_the_same_events(saved):
    xm, ym = saved("x", X), saved("y", Y)
    runs = []
    for x, y in [(X, Y), (xm, ym)]:
        model = _model()
        events = []
        cb = eigennet.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs, e=events: e.append(batch)
        )
        stop = eigennet.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=10)
        history = model.fit(
            x,
            y,
            batch_size=50,
            epochs=5,
            shuffle=False,
            verbose=0,
            validation_split=0.2,
            callbacks=[cb, stop],
        )
        runs.append((history.history, history.epoch, history.params, events))
    assert runs[0] == runs[1]
    assert runs[1][2]["steps"] == 17 and len(runs[1][1]) == 2  # stopped after 2 epochs


def test_progress_bar_counts_the_streamed_steps(saved, capsys):
    xm, ym = saved("x", X), saved("y", Y)
    _model().fit(xm, ym, batch_size=100, epochs=1, verbose=1)
    assert "11/11" in capsys.readouterr().out


MEMORY_SCRIPT = textwrap.dedent(
    """
    import sys, threading, time
    import numpy as np
    import eigennet

    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    path, view = sys.argv[1], sys.argv[2]
    eigennet.config.set_streaming(chunk_bytes=4 * 2**20)
    x = np.load(path, mmap_mode="r")
    if view == "strided":
        x = x[:, :128]
    shuffle = view != "in place"  # unshuffled rows of the model's dtype are used in place
    y = np.zeros((len(x), 1), "float32")
    model = eigennet.Sequential([eigennet.Input(shape=x.shape[1:]), eigennet.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(x[:2048], y[:2048], batch_size=1024, verbose=0)
    base_anon, base_rss = status("RssAnon"), status("VmRSS")
    peak = {"anon": 0, "rss": 0}
    done = threading.Event()
    def sample():
        while not done.is_set():
            peak["anon"] = max(peak["anon"], status("RssAnon"))
            peak["rss"] = max(peak["rss"], status("VmRSS"))
            time.sleep(0.005)
    t = threading.Thread(target=sample); t.start()
    model.fit(x, y, batch_size=1024, epochs=1, shuffle=shuffle, verbose=0)
    done.set(); t.join()
    print(peak["anon"] - base_anon, peak["rss"] - base_rss, x.nbytes)
    """
)


@pytest.mark.parametrize("view", ["contiguous", "strided", "in place"])
def test_memory_stays_bounded(tmp_path, view):
    """A 300 MB memmap trains with anonymous memory and resident set growing by a few
    chunks (2 windows of 4 chunks of 4 MiB), not by the data size: read with pread, copied
    out of the mapping (strided view) or used in place, the pages are released."""
    path = tmp_path / "big.npy"
    rows, cols = 300 * 2**20 // (256 * 4), 256
    data = np.lib.format.open_memmap(path, mode="w+", dtype="float32", shape=(rows, cols))
    for start in range(0, rows, 65536):
        stop = min(start + 65536, rows)
        data[start:stop] = np.random.default_rng(start).standard_normal((stop - start, cols))
    data.flush()
    del data
    script = tmp_path / "memory.py"
    script.write_text(MEMORY_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, str(script), str(path), view],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    anon, rss, size = (int(v) for v in out.stdout.split())
    assert size >= (150 if view == "strided" else 300) * 2**20
    print(f"{view}: anonymous +{anon / 2**20:.0f} MiB, resident +{rss / 2**20:.0f} MiB")
    assert anon < 80 * 2**20, f"anonymous memory grew by {anon / 2**20:.0f} MiB"
    assert rss < 100 * 2**20, f"resident set grew by {rss / 2**20:.0f} MiB"
