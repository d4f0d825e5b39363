"""Tests of eigennet.utils.progbar.Progbar: output format, throttling, verbose modes."""

import os
import re
import sys

import pytest

from eigennet.utils import progbar as progbar_module
from eigennet.utils.progbar import Progbar

BAR = "\u2501"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FakeClock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t

    def advance(self, dt):
        self.t += dt


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progbar_module, "_clock", fake)
    return fake


@pytest.fixture
def tty(monkeypatch):
    """Makes bars created in the test treat stdout as a terminal."""
    monkeypatch.setattr(progbar_module, "_stdout_is_live", lambda: True)


def run_steps(pb, clock, n, dt=0.02, values=None):
    for i in range(1, n + 1):
        clock.advance(dt)
        pb.update(i, values)


# -- verbose=1 off a terminal ------------------------------------------------------------------


def test_non_tty_prints_only_final_line(capsys, clock):
    pb = Progbar(50)
    run_steps(pb, clock, 49, values=[("accuracy", 0.5), ("loss", 0.69314718)])
    assert capsys.readouterr().out == ""
    clock.advance(0.02)
    pb.update(50, [("accuracy", 0.5), ("loss", 0.69314718)])
    out = capsys.readouterr().out
    assert out == f"50/50 {BAR * 20} 1s 20ms/step - accuracy: 0.5000 - loss: 0.6931\n"


def test_isatty_is_checked(capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert progbar_module._stdout_is_live()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert progbar_module._stdout_is_live() == ("ipykernel" in sys.modules)


def test_format_regex_real_clock(capsys):
    pb = Progbar(3)
    for i in range(1, 4):
        pb.update(i, [("loss", 1.25)])
    out = capsys.readouterr().out
    assert re.fullmatch(rf"3/3 {BAR}{{20}} \d+s \d+(us|ms|s)/step - loss: 1\.2500\n", out), out
    assert "\x1b" not in out and "\r" not in out


def test_count_is_right_aligned_and_width(capsys, clock):
    pb = Progbar(100, width=10)
    run_steps(pb, clock, 100, dt=0.5)
    out = capsys.readouterr().out
    assert out.startswith(f"100/100 {BAR * 10} 50s 500ms/step")


def test_finalize_flag(capsys, clock):
    pb = Progbar(10)
    pb.update(10, [("loss", 1.0)], finalize=False)
    assert capsys.readouterr().out == ""
    pb = Progbar(10)
    clock.advance(2.0)
    pb.update(4, [("loss", 2.0)], finalize=True)
    out = capsys.readouterr().out
    assert out.startswith(f" 4/10 {BAR * 8}{BAR * 12} 2s 500ms/step - loss: 2.0000")
    assert out.endswith("\n")


def test_unknown_target(capsys, clock):
    pb = Progbar(None)
    run_steps(pb, clock, 5, dt=1.0, values=[("loss", 0.5)])
    assert capsys.readouterr().out == ""
    pb.update(5, [("loss", 0.5)], finalize=True)
    assert capsys.readouterr().out == "      5/Unknown 5s 1s/step - loss: 0.5000\n"


def test_add_and_unit_name(capsys, clock):
    pb = Progbar(8, unit_name="sample")
    for _ in range(4):
        clock.advance(0.004)
        pb.add(2, [("mae", 0.25)])
    out = capsys.readouterr().out
    assert out == f"8/8 {BAR * 20} 0s 2ms/sample - mae: 0.2500\n"


def test_value_formatting(capsys, clock):
    import numpy as np

    pb = Progbar(1)
    clock.advance(1e-5)
    values = [("small", 2.5e-5), ("neg", -3.0), ("npy", np.float32(0.125))]
    pb.update(1, values + [("arr", np.array([1.0, 3.0]))])
    out = capsys.readouterr().out
    assert "10us/step" in out
    assert "- small: 2.5000e-05 - neg: -3.0000 - npy: 0.1250 - arr: 2.0000\n" in out


# -- verbose=1 on a terminal -------------------------------------------------------------------


def test_tty_redraws_with_carriage_return(capsys, clock, tty):
    pb = Progbar(50, interval=0.0)
    run_steps(pb, clock, 12, values=[("accuracy", 0.5), ("loss", 0.6931)])
    out = capsys.readouterr().out
    frames = out.split("\r")[1:]
    assert len(frames) == 12
    last = ANSI.sub("", frames[-1])
    # 38 steps left at 20 ms each: ETA 0.76 s, shown as whole seconds like Keras.
    assert last == f"12/50 {BAR * 20} 0s 20ms/step - accuracy: 0.5000 - loss: 0.6931"
    assert f"\x1b[32m{BAR * 4}\x1b[0m\x1b[37m{BAR * 16}\x1b[0m" in frames[-1]
    assert "\n" not in out
    run_steps_from = 13
    for i in range(run_steps_from, 51):
        clock.advance(0.02)
        pb.update(i, [("accuracy", 0.75), ("loss", 0.5)])
    out = capsys.readouterr().out
    assert out.endswith("\n")
    final = ANSI.sub("", out.split("\r")[-1])
    assert final == f"50/50 {BAR * 20} 1s 20ms/step - accuracy: 0.7500 - loss: 0.5000\n"


def test_tty_eta_formats(capsys, clock, tty):
    pb = Progbar(10000, interval=0.0)
    clock.advance(1.0)
    pb.update(1)
    clock.advance(1.0)
    pb.update(2)
    out = ANSI.sub("", capsys.readouterr().out.split("\r")[-1])
    assert out.startswith(f"    2/10000 {BAR * 0}{BAR * 20} 2:46:38 1s/step")
    pb = Progbar(100, interval=0.0)
    clock.advance(1.0)
    pb.update(1)
    clock.advance(1.0)
    pb.update(2)
    out = ANSI.sub("", capsys.readouterr().out.split("\r")[-1])
    assert out.startswith("  2/100 ") and " 1:38 1s/step" in out


def test_tty_throttling(capsys, clock, tty):
    clock.t = 1024.0
    pb = Progbar(100, interval=1 / 16)
    for i in range(1, 100):
        clock.advance(1 / 64)  # a redraw every 4th step: 1, 5, ..., 97
        pb.update(i, [("loss", 1.0)])
    out = capsys.readouterr().out
    assert out.count("\r") == 25
    pb.update(100, [("loss", 1.0)])  # the final update is never throttled
    out = capsys.readouterr().out
    assert out.count("\r") == 1 and out.endswith("\n")


def test_tty_long_interval_draws_first_and_final_only(capsys, clock, tty):
    pb = Progbar(1000, interval=3600.0)
    run_steps(pb, clock, 1000, dt=0.001, values=[("loss", 1.0)])
    out = capsys.readouterr().out
    assert out.count("\r") == 2
    assert out.endswith("\n")


def test_tty_shorter_line_is_padded(capsys, clock, tty):
    pb = Progbar(10, interval=0.0)
    clock.advance(0.01)
    pb.update(1, [("loss", 1.0), ("val", 2.0)])
    first = capsys.readouterr().out
    clock.advance(0.01)
    pb.update(2, [("loss", 1.0)])  # same metrics are kept: same width
    clock.advance(10.0)
    pb._values.clear()  # simulate a shorter line
    pb.update(3)
    out = capsys.readouterr().out
    frames = out.split("\r")[1:]
    width_first = len(ANSI.sub("", first.split("\r")[-1]))
    assert len(ANSI.sub("", frames[-1])) == width_first


# -- verbose=2 and verbose=0 -------------------------------------------------------------------


def test_verbose_2_one_line_at_end(capsys, clock, tty):
    pb = Progbar(50, verbose=2)
    run_steps(pb, clock, 49, values=[("accuracy", 0.5), ("loss", 0.6931)])
    assert capsys.readouterr().out == ""
    clock.advance(0.02)
    pb.update(50, [("accuracy", 0.5), ("loss", 0.6931)])
    out = capsys.readouterr().out
    assert out == "50/50 - 1s - 20ms/step - accuracy: 0.5000 - loss: 0.6931\n"


def test_verbose_0_silent(capsys, clock, tty):
    pb = Progbar(5, verbose=0)
    run_steps(pb, clock, 5, values=[("loss", 1.0)])
    pb.update(5, finalize=True)
    assert capsys.readouterr().out == ""


# -- metric averaging --------------------------------------------------------------------------


def test_values_shown_as_given_by_default(capsys, clock):
    pb = Progbar(3, verbose=2)
    for i, v in enumerate([1.0, 2.0, 6.0], start=1):
        pb.update(i, [("loss", v)])
    assert capsys.readouterr().out.endswith("- loss: 6.0000\n")


def test_averaging_when_requested(capsys, clock, tty):
    pb = Progbar(4, interval=0.0, stateful_metrics=["acc"])
    pb.update(1, [("loss", 1.0), ("acc", 0.1)])
    pb.update(3, [("loss", 4.0), ("acc", 0.3)])  # weight 2 for this value
    out = ANSI.sub("", capsys.readouterr().out.split("\r")[-1])
    assert out.endswith("- loss: 3.0000 - acc: 0.3000")
    pb.update(4, [("loss", 9.0), ("acc", 0.4)])  # the final value replaces the average
    out = ANSI.sub("", capsys.readouterr().out.split("\r")[-1])
    assert out.endswith("- loss: 9.0000 - acc: 0.4000\n")
    pb = Progbar(4, interval=0.0, stateless_metrics=["loss"])
    pb.update(1, {"loss": 1.0, "acc": 0.1})
    pb.update(2, {"loss": 3.0, "acc": 0.3})
    out = ANSI.sub("", capsys.readouterr().out.split("\r")[-1])
    assert out.endswith("- loss: 2.0000 - acc: 0.3000")
    with pytest.raises(ValueError):
        Progbar(4, stateful_metrics=["a"], stateless_metrics=["b"])


# -- cost (structural, not timed: the machines are shared) -----------------------------------


def _count_draws(monkeypatch, pb):
    calls = []
    original = pb._draw
    monkeypatch.setattr(pb, "_draw", lambda *a, **k: (calls.append(1), original(*a, **k))[1])
    return calls


def test_throttled_updates_do_not_draw(capsys, tty, monkeypatch):
    pb = Progbar(10**9, interval=3600.0)
    draws = _count_draws(monkeypatch, pb)
    values = [("accuracy", 0.5), ("loss", 0.69)]
    for step in range(1, 2001):
        pb.update(step, values)
    assert len(draws) <= 1  # the first update may draw; the throttle skips the rest
    assert capsys.readouterr().out.count("\r") <= 1


def test_updates_off_terminal_do_not_draw(capsys, monkeypatch):
    pb = Progbar(10**9)  # nothing is drawn until the end
    draws = _count_draws(monkeypatch, pb)
    for step in range(1, 2001):
        pb.update(step, [("loss", 0.69)])
    assert draws == []  # off a terminal, nothing is formatted before the final update
    assert capsys.readouterr().out == ""


# -- same final line as Keras ------------------------------------------------------------------


def test_final_line_matches_keras(capsys, monkeypatch, clock):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    keras_progbar = pytest.importorskip("keras.src.utils.progbar")

    class FakeTime:
        @staticmethod
        def time():
            return clock.t

    monkeypatch.setattr(keras_progbar, "time", FakeTime)
    values = [("accuracy", 0.8125), ("loss", 0.4242424)]
    for target, dt in [(50, 0.02), (7, 1.5), (1000, 0.0004)]:
        for verbose in (1, 2):
            outputs = []
            for cls in (keras_progbar.Progbar, Progbar):
                clock.t = 1000.0
                bar = cls(target, verbose=verbose)
                for i in range(1, target + 1):
                    clock.advance(dt)
                    bar.update(i, values)
                outputs.append(capsys.readouterr().out)
            keras_out, our_out = outputs
            # Keras redraws in place even off a terminal: compare its last frame.
            keras_final = ANSI.sub("", keras_out.replace("\b", "").split("\r")[-1])
            assert keras_final == our_out
