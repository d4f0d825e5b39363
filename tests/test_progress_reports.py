"""The progress bar off the hot path: batch events reach Python only when a callback needs them.

A callback with batch hooks gets every batch; the progress bar (verbose=1) gets progress
reports, timed by the native loop (at most one per PROGRESS_INTERVAL, always the last batch of
a pass); verbose=2 with a known step count gets none. The lines printed stay as before."""

import re
import time

import numpy as np
import pytest

import eigennet as keras
from eigennet.callbacks import ProgbarLogger
from eigennet.callbacks.core import PROGRESS_INTERVAL

BAR = "\u2501"
TIMES = re.compile(r"\d+(us|ms|s)/step|\b\d+s\b")


def _model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(3, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _data(n=100):
    rs = np.random.RandomState(0)
    x = rs.standard_normal((n, 4)).astype("float32")
    return x, (rs.rand(n, 1) > 0.5).astype("float32")


class _EpochEndOnly(keras.callbacks.Callback):
    """Takes epoch events only: it moves fit to one native call per epoch."""

    def on_epoch_end(self, epoch, logs=None):
        pass


@pytest.fixture
def bar_calls(monkeypatch):
    """The batch indices the progress bar's batch hooks get (the hooks still run)."""
    calls = []
    for mode in ("train", "test", "predict"):
        hook = f"on_{mode}_batch_end"
        original = getattr(ProgbarLogger, hook)

        def counted(self, batch, logs=None, original=original):
            calls.append(batch)
            original(self, batch, logs)

        monkeypatch.setattr(ProgbarLogger, hook, counted)
    return calls


@pytest.mark.parametrize("verbose", [1, 2])
def test_epoch_lines_show_steps_times_and_the_epoch_metrics(capsys, verbose):
    x, y = _data()
    history = _model().fit(x, y, batch_size=8, epochs=3, verbose=verbose).history
    lines = capsys.readouterr().out.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    step = r"\d+(us|ms|s)/step"
    for epoch, line in enumerate(lines[1::2]):
        metrics = (
            f" - accuracy: {history['accuracy'][epoch]:.4f} - loss: {history['loss'][epoch]:.4f}"
        )
        if verbose == 1:
            expected = rf"13/13 {BAR * 20} \d+s {step}{re.escape(metrics)}"
        else:
            expected = rf"13/13 - \d+s - {step}{re.escape(metrics)}"
        assert re.fullmatch(expected, line), line


@pytest.mark.parametrize("verbose", [1, 2])
def test_lines_of_one_native_fit_match_those_of_python_epochs(capsys, verbose):
    """Progress bars alone run every epoch in one native call; a callback taking epoch
    events runs one native call per epoch. Both print the same lines (times aside)."""
    x, y = _data()
    outputs = []
    for callbacks in ([], [_EpochEndOnly()]):
        _model().fit(x, y, batch_size=8, epochs=3, verbose=verbose, callbacks=callbacks)
        outputs.append(TIMES.sub("T", capsys.readouterr().out))
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") == 6


@pytest.mark.parametrize("epochs", [1, 3])
def test_user_batch_hooks_get_every_batch(capsys, epochs):
    x, y = _data(50)
    seen, old_style = [], []

    class OldStyle(keras.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            old_style.append((batch, sorted(logs)))

    callback = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    _model().fit(x, y, batch_size=4, epochs=epochs, verbose=1, callbacks=[callback, OldStyle()])
    assert seen == list(range(13)) * epochs
    assert old_style == [(b, ["accuracy", "loss"]) for b in range(13)] * epochs
    assert capsys.readouterr().out.count(f"13/13 {BAR * 20}") == epochs


@pytest.mark.parametrize("callbacks", [[], [_EpochEndOnly()]], ids=["native", "python"])
def test_progress_bar_gets_far_fewer_calls_than_batches(capsys, bar_calls, callbacks):
    x, y = _data(3000)
    start = time.monotonic()
    _model().fit(x, y, batch_size=1, epochs=2, verbose=1, callbacks=callbacks)
    elapsed = time.monotonic() - start
    # At most one report per interval, plus the last batch of each epoch.
    assert len(bar_calls) <= elapsed / PROGRESS_INTERVAL + 2
    assert len(bar_calls) < 6000 / 10
    # The last batch of every epoch shows: reported to the bar by the Python loop, drawn by
    # the epoch's final line in the native one (which leaves it to the epoch's report).
    assert bar_calls.count(2999) == (2 if callbacks else 0)
    assert capsys.readouterr().out.count(f"3000/3000 {BAR * 20}") == 2


def test_verbose_2_takes_no_batch_events_when_the_steps_are_known(capsys, bar_calls):
    x, y = _data()
    _model().fit(x, y, batch_size=8, epochs=2, verbose=2)
    assert bar_calls == []
    assert capsys.readouterr().out.count("13/13 - ") == 2


def test_streamed_steps_are_counted_at_verbose_2(capsys):
    x, y = _data()

    def batches():
        for i in range(0, 100, 10):
            yield x[i : i + 10], y[i : i + 10]

    _model().fit(batches(), epochs=1, verbose=2, shuffle=False)
    out = capsys.readouterr().out
    assert re.fullmatch(r"10/10 - \d+s - \d+(us|ms|s)/step - accuracy: .*\n", out), out


@pytest.mark.parametrize("call", ["evaluate", "predict"])
def test_evaluate_and_predict_report_progress(capsys, bar_calls, call):
    x, y = _data(2000)
    args = (x, y) if call == "evaluate" else (x,)
    getattr(_model(), call)(*args, batch_size=1, verbose=1)
    assert 1 <= len(bar_calls) < 200 and bar_calls[-1] == 1999
    assert capsys.readouterr().out.startswith(f"2000/2000 {BAR * 20}")


# -- the native throttle -----------------------------------------------------------------------


def _native(n=20000):
    model = _model()
    x, y = _data(n)
    model.fit(x[:8], y[:8], verbose=0)
    return model._trainer, x, y


def test_report_every_zero_reports_every_batch():
    trainer, x, y = _native(40)
    seen = []
    trainer.fit(x, y, None, 4, 0, 2, False, 0, None, lambda b, logs: seen.append(b) or False, 0.0)
    assert seen == list(range(10)) * 2


def test_long_interval_reports_only_the_last_batch_of_each_pass():
    trainer, x, y = _native(40)
    seen = []

    def on_batch(batch, logs):
        seen.append((batch, len(logs)))
        return False

    trainer.fit(x, y, None, 3, 0, 3, True, 0, None, on_batch, 3600.0)
    assert seen == [(13, 2)] * 3  # 14 batches of 3 (the last partial) per epoch
    seen.clear()
    trainer.evaluate(x, y, None, 3, on_batch, 3600.0)
    assert seen == [(13, 2)]
    out = np.empty((40, 1), "float32")
    trainer_graph = _model()
    trainer_graph.predict(x[:2], verbose=0)
    trainer_graph._network.predict(x, 3, out, on_batch, False, 3600.0)
    assert seen[1:] == [(13, 0)]


def test_chunks_report_their_last_batch_and_share_the_clock():
    trainer, x, y = _native(40)
    seen = []
    for first, rows in ((0, slice(0, 20)), (5, slice(20, 40))):
        trainer.run_chunk(
            x[rows], y[rows], None, 4, False, 0, first, True,
            lambda b, logs: seen.append(b) or False, 3600.0,
        )  # fmt: skip
    assert seen == [4, 9]


def test_reports_are_spaced_by_the_interval():
    trainer, x, y = _native(20000)
    times, batches = [], []

    def on_batch(batch, logs):
        times.append(time.monotonic())
        batches.append(batch)
        return False

    interval = 0.005
    trainer.fit(x, y, None, 1, 0, 1, False, 0, None, on_batch, interval)
    assert batches[-1] == 19999 and batches == sorted(set(batches))
    assert len(batches) >= 2
    gaps = np.diff(times[:-1])  # (the last batch is reported whatever the time)
    assert (gaps >= interval * 0.9).all(), gaps.min()


def test_an_epoch_callback_reports_the_last_batch_in_place_of_progress_reports():
    trainer, x, y = _native(40)
    batches, epochs = [], []

    def on_epoch(epoch, logs):
        epochs.append(epoch)
        return False

    def on_batch(batch, logs):
        batches.append(batch)
        return False

    trainer.fit(x, y, None, 4, 0, 3, False, 0, on_epoch, on_batch, 3600.0)
    assert batches == [] and epochs == [0, 1, 2]
    trainer.fit(x, y, None, 4, 0, 2, False, 0, on_epoch, on_batch, 0.0)
    assert batches == list(range(10)) * 2  # every batch: the last one too


def test_output_is_flushed_at_the_end_of_fit(capsys, monkeypatch):
    from eigennet.callbacks import core
    from eigennet.utils import progbar as progbar_module

    flushes = []
    original = progbar_module.flush_stdout
    counted = lambda: (flushes.append(1), original())  # noqa: E731
    monkeypatch.setattr(progbar_module, "flush_stdout", counted)
    monkeypatch.setattr(core, "flush_stdout", counted)
    x, y = _data(3)
    _model().fit(x, y, batch_size=1, epochs=200, verbose=1)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 200 and out.endswith("\n") and out.count(f"3/3 {BAR * 20}") == 200
    assert 1 <= len(flushes) < 100  # lines of tiny epochs are flushed together
