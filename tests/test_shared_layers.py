"""A layer used at several places of one model: each call keeps its own forward state (masks,
argmax, statistics), and a layer with weights has one set of them whose gradient is the sum
over its calls. Checked against float64 finite differences and against a twin model of
separate layers."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers
from gradient_check import assert_gradients_match_finite_differences


def _twice(make, shape, head=None):
    """A model where one layer from `make()` comes twice, behind a Conv1D/Dense that learns."""
    shared = make()
    body = (
        [layers.Dense(shape[-1])]
        if len(shape) == 1
        else [layers.Conv1D(shape[-1], 2, padding="same")]
    )
    model = keras.Sequential(
        [
            keras.Input(shape),
            *body,
            shared,
            shared,
            layers.Flatten(),
            *(head or []),
            layers.Dense(1),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    return model


CASES = {
    "max_pooling_1d": (lambda: layers.MaxPooling1D(2, strides=1, padding="same"), (6, 2)),
    "average_pooling_1d": (lambda: layers.AveragePooling1D(2, strides=1, padding="same"), (6, 2)),
    "layer_norm_no_weights": (
        lambda: layers.LayerNormalization(center=False, scale=False),
        (5, 3),
    ),
    "layer_norm": (lambda: layers.LayerNormalization(), (5, 3)),
    "batch_norm": (lambda: layers.BatchNormalization(), (5, 3)),
    "dense": (lambda: layers.Dense(3, activation="tanh"), (4, 3)),
    "activation": (lambda: layers.Activation("softmax"), (4, 3)),
    "lstm": (lambda: layers.LSTM(3, return_sequences=True), (4, 3)),
    "gru": (lambda: layers.GRU(3, return_sequences=True), (4, 3)),
    # A random bias: with zero bias, a window of ReLU zeros puts the second call's
    # pre-activation exactly on ReLU's kink, where finite differences are meaningless.
    "conv1d": (
        lambda: layers.Conv1D(
            3, 3, padding="same", activation="relu", bias_initializer="random_normal"
        ),
        (6, 3),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_used_twice_matches_finite_differences(case, float64):
    make, shape = CASES[case]
    model = _twice(make, shape)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, *shape)), rng.normal(size=(5, 1))
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)


def test_shared_weights_appear_once(float64):
    dense = layers.Dense(4)
    model = keras.Sequential([keras.Input((4,)), dense, dense, layers.Dense(1)])
    assert len(model.weights) == 4 and model.count_params() == 20 + 5
    assert [w.path for w in model.trainable_weights] == [w.path for w in model.weights]
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 1))
    before = dense.get_weights()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert not np.allclose(before[0], dense.get_weights()[0])


def test_dropout_used_twice_draws_two_masks_and_backpropagates_each(float64):
    """A shared Dropout draws draw k at its first call and k + 1 at its second; a twin of
    two separate Dropouts set to those draws must give the same loss and gradients."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(8, 6)), rng.normal(size=(8, 1))
    drop = layers.Dropout(0.4, seed=7)
    shared = keras.Sequential([keras.Input((6,)), layers.Dense(6), drop, drop, layers.Dense(1)])
    first, second = layers.Dropout(0.4, seed=7), layers.Dropout(0.4, seed=7)
    twin = keras.Sequential([keras.Input((6,)), layers.Dense(6), first, second, layers.Dense(1)])
    twin.set_weights(shared.get_weights())
    for model in (shared, twin):
        model.compile(optimizer="sgd", loss="mse")
    seed, draws = drop._core.rng_state
    first._core.rng_state, second._core.rng_state = (seed, draws), (seed, draws + 1)
    loss, grads = shared._compute_gradients(x, y)
    twin_loss, twin_grads = twin._compute_gradients(x, y)
    assert drop._core.rng_state == (seed, draws + 2)
    assert loss == twin_loss
    for got, want in zip(grads, twin_grads):
        np.testing.assert_array_equal(got, want)


def test_layer_in_two_models_keeps_one_random_stream():
    """Each model runs its own copy of a shared Dropout; the copies draw from one stream."""
    drop = layers.Dropout(0.5, seed=3)
    a = keras.Sequential([keras.Input((4,)), drop])
    b = keras.Sequential([keras.Input((4,)), drop])
    x = np.ones((2, 4), "float32")
    start = drop._core.rng_state[1]
    a(x, training=True)
    b(x, training=True)
    drop(x, training=True)
    assert drop._core.rng_state[1] == start + 3
