"""keras.random.categorical, gamma, beta and binomial: distributions (sample moments and
frequencies), seeds, Keras's shapes and dtypes, categorical traced in a call() (new draws
every batch), and the errors."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops, random


def test_categorical_draws_with_softmax_probabilities():
    probs = np.array([[0.7, 0.2, 0.1, 0.0], [0.25, 0.25, 0.25, 0.25]])
    with np.errstate(divide="ignore"):
        logits = np.log(probs)  # -inf: never drawn
    draws = random.categorical(logits, 40000, seed=3)
    assert draws.shape == (2, 40000) and draws.dtype == np.int32
    for row, p in zip(draws, probs):
        freq = np.bincount(row, minlength=4) / row.size
        np.testing.assert_allclose(freq, p, atol=0.01)
    assert not np.any(draws[0] == 3)
    np.testing.assert_array_equal(random.categorical(logits, 40000, seed=3), draws)
    gen = random.SeedGenerator(1)
    assert not np.array_equal(random.categorical(logits, 50, seed=gen),
                              random.categorical(logits, 50, seed=gen))  # fmt: skip


def test_categorical_inside_a_traced_call_draws_every_batch():
    class Sampler(layers.Layer):
        def call(self, logits):
            return ops.cast(random.categorical(logits, 3, seed=7), "float32")

    inputs = keras.Input((4,))
    model = keras.Model(inputs, Sampler()(inputs))
    logits = np.log(np.tile([[0.1, 0.6, 0.3, 1e-12]], (2000, 1))).astype("float32")
    draws = model.predict(logits, batch_size=500, verbose=0)
    assert draws.shape == (2000, 3)
    freq = np.bincount(draws.astype(int).ravel(), minlength=4) / draws.size
    np.testing.assert_allclose(freq, [0.1, 0.6, 0.3, 0.0], atol=0.015)
    assert not np.array_equal(draws[:500], draws[500:1000])  # each batch draws anew


@pytest.mark.parametrize(
    "draw, mean, var",
    [
        (lambda s: random.gamma((20000,), 2.5, seed=s), 2.5, 2.5),
        (lambda s: random.beta((20000,), 2.0, 3.0, seed=s), 0.4, 0.04),
        (lambda s: random.binomial((20000,), 10, 0.3, seed=s), 3.0, 2.1),
    ],
)
def test_gamma_beta_binomial_moments_and_seeds(draw, mean, var):
    values = draw(5)
    assert values.dtype == np.float32 and values.shape == (20000,)
    np.testing.assert_allclose(values.mean(), mean, rtol=0.03)
    np.testing.assert_allclose(values.var(), var, rtol=0.06)
    np.testing.assert_array_equal(values, draw(5))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: random.categorical(np.zeros((2, 3)), 0), "positive"),
        (lambda: random.categorical(np.zeros(3), 2), "2-D"),
        (lambda: random.categorical(np.array([[np.nan, 0.0]]), 2), "NaN"),
        (lambda: random.categorical(np.array([[-np.inf, -np.inf]]), 2), "finite logit"),
        (lambda: random.gamma((3,), 0.0), "positive"),
        (lambda: random.beta((3,), 1.0, -1.0), "positive"),
        (lambda: random.binomial((3,), 2.5, 0.5), "whole numbers"),
        (lambda: random.binomial((3,), 2, 1.5), r"\[0, 1\]"),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_gamma_inside_a_traced_call_is_refused():
    class Noisy(layers.Layer):
        def call(self, x):
            return x + random.gamma((3,), 1.0)

    with pytest.raises(ValueError, match="on arrays only"):
        keras.Model(keras.Input((3,)), Noisy()(keras.Input((3,))))
