"""Learning-rate schedules: Keras 3's formulas (hand-computed values, and Keras itself where
installed), and their use by every optimizer step."""

import math
import os

import numpy as np
import pytest

import eigennet as keras

S = keras.optimizers.schedules

CASES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.5)),
    (
        "ExponentialDecay",
        dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.5, staircase=True),
    ),
    ("PiecewiseConstantDecay", dict(boundaries=[3, 10], values=[1.0, 0.5, 0.1])),
    (
        "PolynomialDecay",
        dict(initial_learning_rate=0.1, decay_steps=10, end_learning_rate=0.01, power=2.0),
    ),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=10, power=0.5, cycle=True)),
    (
        "InverseTimeDecay",
        dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5, staircase=True),
    ),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=20, alpha=0.1)),
    (
        "CosineDecay",
        dict(initial_learning_rate=0.0, decay_steps=20, warmup_target=0.1, warmup_steps=5),
    ),
    (
        "CosineDecayRestarts",
        dict(initial_learning_rate=0.1, first_decay_steps=5, t_mul=2.0, m_mul=0.5, alpha=0.01),
    ),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5, t_mul=1.0)),
]


def test_hand_computed_values():
    assert S.ExponentialDecay(0.1, 10, 0.5)(20) == pytest.approx(0.025)
    assert S.ExponentialDecay(0.1, 10, 0.5, staircase=True)(19) == pytest.approx(0.05)
    piecewise = S.PiecewiseConstantDecay([3, 10], [1.0, 0.5, 0.1])
    assert [piecewise(s) for s in (0, 3, 4, 10, 11)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    assert S.PolynomialDecay(0.1, 10, 0.0, power=2.0)(5) == pytest.approx(0.025)
    assert S.PolynomialDecay(0.1, 10, 0.0)(50) == pytest.approx(0.0)
    assert S.InverseTimeDecay(0.1, 5, 0.5)(10) == pytest.approx(0.05)
    assert S.CosineDecay(0.1, 20)(10) == pytest.approx(0.05)
    warm = S.CosineDecay(0.0, 20, warmup_target=0.1, warmup_steps=5)
    assert warm(2) == pytest.approx(0.04) and warm(5) == pytest.approx(0.1)
    restarts = S.CosineDecayRestarts(0.1, 4, t_mul=1.0)
    assert restarts(4) == pytest.approx(0.1) and restarts(2) == pytest.approx(0.05)
    assert S.CosineDecayRestarts(0.1, 4, t_mul=2.0)(4 + 4) == pytest.approx(
        0.1 * 0.5 * (1 + math.cos(math.pi * 0.5))
    )


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_matches_keras(name, kwargs):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    ker = pytest.importorskip("keras")
    pytest.importorskip("torch")
    ours = getattr(S, name)(**kwargs)
    theirs = getattr(ker.optimizers.schedules, name)(**kwargs)
    for step in range(40):  # Keras evaluates in float32
        assert ours(step) == pytest.approx(float(theirs(step)), rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_each_step_uses_the_rate_at_its_iteration(optimizer):
    schedule = S.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = getattr(keras.optimizers, optimizer)(learning_rate=schedule)
    var = np.zeros(3)
    grads = np.array([1.0, -2.0, 0.5])
    m = v = np.zeros(3)
    expected = var.copy()
    for step in range(6):
        assert opt.learning_rate == pytest.approx(schedule(step))
        opt.apply([grads], [var])
        lr = schedule(step)
        if optimizer == "SGD":
            expected -= lr * grads
        else:  # Keras's Adam with its defaults
            m = m + (grads - m) * 0.1
            v = v + (grads**2 - v) * 0.001
            alpha = lr * math.sqrt(1 - 0.999 ** (step + 1)) / (1 - 0.9 ** (step + 1))
            expected -= m * alpha / (np.sqrt(v) + 1e-7)
        np.testing.assert_allclose(var, expected, rtol=1e-12)
    assert opt.iterations == 6


def test_schedule_rate_is_not_settable_and_bad_arguments():
    opt = keras.optimizers.SGD(S.CosineDecay(0.1, 10))
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.5
    with pytest.raises(ValueError, match="decay_steps"):
        S.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="boundaries"):
        S.PiecewiseConstantDecay([1, 2], [1.0])


def test_fit_with_a_schedule_reports_the_current_rate():
    rs = np.random.RandomState(0)
    x, y = rs.rand(32, 2), rs.rand(32, 1)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(S.PiecewiseConstantDecay([3], [0.1, 0.0])), "mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # steps 0-3 at 0.1 (boundary inclusive)
    weights = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)  # later steps at 0.0
    assert model.optimizer.iterations == 12 and model.optimizer.learning_rate == 0.0
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_from_config_with_a_wrong_type_is_a_type_error():
    decay = keras.optimizers.schedules.ExponentialDecay
    config = {**decay(0.1, 10, 0.9).get_config(), "decay_rate": "fast"}
    with pytest.raises(TypeError, match="ExponentialDecay config"):
        decay.from_config(config)
