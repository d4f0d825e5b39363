"""Losses and metrics over masked time steps (Keras's apply_mask): each unmasked step weighs
steps / unmasked steps in the batch, masked ones nothing; metrics count unmasked steps only.
Checked against a manual computation, float64 finite differences and Keras 3 on the same
weights."""

import numpy as np
import pytest

import eigennet
from gradient_check import assert_gradients_match_finite_differences
from keras_parity import assert_trains_like_keras

LENGTHS = [6, 4, 3, 5, 2, 6, 1, 4, 5, 3, 6, 2]


def padded_ids(seed=0, vocab=9, steps=6):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, size=(len(LENGTHS), steps))
    for i, n in enumerate(LENGTHS):
        x[i, n:] = 0
    return x


def tagger(lib, head="dense", classes=4, activation="softmax"):
    """Embedding(mask_zero) -> LSTM(return_sequences) -> a Dense per step."""
    inp = lib.Input((6,), dtype="int32")
    x = lib.layers.Embedding(9, 5, mask_zero=True)(inp)
    x = lib.layers.LSTM(7, return_sequences=True)(x)
    dense = lib.layers.Dense(classes, activation=activation)
    out = lib.layers.TimeDistributed(dense)(x) if head == "time_distributed" else dense(x)
    return lib.Model(inp, out)


def per_step_losses(name, y, p):
    eps = 1e-7
    if name == "sparse_categorical_crossentropy":
        return -np.log(np.clip(np.take_along_axis(p, y[..., None], -1)[..., 0], eps, 1 - eps))
    if name == "categorical_crossentropy":
        return -np.sum(y * np.log(np.clip(p, eps, 1 - eps)), -1)
    if name == "binary_crossentropy":
        q = np.clip(p, eps, 1 - eps)
        return -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q), -1)
    return np.mean((p - y) ** 2, -1)


@pytest.mark.parametrize(
    "loss,activation",
    [
        ("sparse_categorical_crossentropy", "softmax"),
        ("categorical_crossentropy", "softmax"),
        ("binary_crossentropy", "sigmoid"),
        ("mse", None),
    ],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_is_the_mean_over_unmasked_steps(loss, activation, weighted):
    x = padded_ids()
    rng = np.random.default_rng(1)
    model = tagger(eigennet, activation=activation)
    labels = rng.integers(0, 4, size=x.shape)
    y = labels if loss.startswith("sparse") else np.eye(4)[labels]
    if loss == "mse":
        y = rng.normal(size=(*x.shape, 4))
    sw = rng.uniform(0.5, 2.0, size=len(x)) if weighted else None
    model.compile(optimizer="sgd", loss=loss, metrics=["mae"] if loss == "mse" else ["accuracy"])
    p = model.predict(x, verbose=0).astype(np.float64)
    steps = per_step_losses("mse" if loss == "mse" else loss, y, p)
    mask = x != 0
    w = mask * (sw[:, None] if weighted else 1.0)
    got = model.evaluate(x, y, sample_weight=sw, batch_size=len(x), verbose=0)
    np.testing.assert_allclose(got[0], np.sum(steps * w) / mask.sum(), rtol=1e-5)
    if loss == "mse":
        metric = np.mean(np.abs(p - y), -1)
    else:  # "accuracy" of 4 classes per step: Keras's categorical (or sparse) accuracy
        metric = (p.argmax(-1) == labels).astype(float)
    np.testing.assert_allclose(got[1], np.sum(metric * w) / w.sum(), rtol=1e-5)
    # the padding's targets do not matter
    y2 = y.copy()
    y2[~mask] = 0 if loss.startswith("sparse") else 0.5
    np.testing.assert_allclose(
        model.evaluate(x, y2, sample_weight=sw, batch_size=len(x), verbose=0), got, rtol=1e-6
    )


def test_a_batch_of_padding_only_has_zero_loss():
    x = np.zeros((3, 6), dtype="int64")
    model = tagger(eigennet)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert model.evaluate(x, np.ones((3, 6)), verbose=0) == 0.0


@pytest.mark.parametrize("head", ["dense", "time_distributed"])
def test_gradients_match_finite_differences(head):
    eigennet.config.set_floatx("float64")
    try:
        x = padded_ids()[:5]
        model = tagger(eigennet, head=head, classes=3)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        y = np.random.default_rng(2).integers(0, 3, size=x.shape)
        assert_gradients_match_finite_differences(model, x, y, rtol=1e-6, atol=1e-9)
    finally:
        eigennet.config.set_floatx("float32")


@pytest.mark.parametrize("head", ["dense", "time_distributed"])
@pytest.mark.parametrize(
    "loss,metric",
    [("sparse_categorical_crossentropy", "accuracy"), ("categorical_crossentropy", "accuracy")],
)
def test_trains_like_keras(head, loss, metric):
    keras = pytest.importorskip("keras")
    ours, theirs = tagger(eigennet, head), tagger(keras, head)
    theirs.set_weights(ours.get_weights())
    for model, lib in ((ours, eigennet), (theirs, keras)):
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss=loss, metrics=[metric])
    x = padded_ids()
    labels = np.random.default_rng(3).integers(0, 4, size=x.shape)
    y = labels if loss.startswith("sparse") else np.eye(4, dtype="float32")[labels]
    np.testing.assert_allclose(
        ours.evaluate(x, y, batch_size=5, verbose=0),
        theirs.evaluate(x, y, batch_size=5, verbose=0),
        rtol=1e-5,
    )
    assert_trains_like_keras(ours, theirs, x, y, epochs=2, batch_size=5, rtol=1e-5)
    np.testing.assert_allclose(
        ours.evaluate(x, y, batch_size=5, verbose=0),
        theirs.evaluate(x, y, batch_size=5, verbose=0),
        rtol=1e-5,
    )


def test_unmasked_sequence_cross_entropy_is_per_step_as_keras():
    """A (batch, steps, classes) output without a mask: Keras's cross-entropy is the mean of
    the steps' (not one distribution over steps x classes)."""
    keras = pytest.importorskip("keras")

    def build(lib):
        inp = lib.Input((5, 3))
        seq = lib.layers.GRU(6, return_sequences=True)(inp)
        out = lib.layers.Dense(4, activation="softmax")(seq)
        model = lib.Model(inp, out)
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])  # fmt: skip
        return model

    ours, theirs = build(eigennet), build(keras)
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(4)
    x = rng.normal(size=(10, 5, 3)).astype("float32")
    y = rng.integers(0, 4, size=(10, 5))
    assert_trains_like_keras(ours, theirs, x, y, epochs=2, batch_size=4, rtol=1e-5)


class _Tagger(eigennet.Model):
    def __init__(self):
        super().__init__()
        self.embed = eigennet.layers.Embedding(9, 4, mask_zero=True)
        self.rnn = eigennet.layers.GRU(5, return_sequences=True)
        self.head = eigennet.layers.Dense(3, activation="softmax")

    def call(self, x):
        return self.head(self.rnn(self.embed(x)))


def _sequential():
    return eigennet.Sequential(
        [
            eigennet.Input((6,)),
            eigennet.layers.Embedding(9, 4, mask_zero=True),
            eigennet.layers.LSTM(5, return_sequences=True),
            eigennet.layers.Dense(3, activation="softmax"),
        ]
    )


def _variable_length():
    inp = eigennet.Input((None,), dtype="int32")
    h = eigennet.layers.Embedding(9, 4, mask_zero=True)(inp)
    h = eigennet.layers.LSTM(5, return_sequences=True)(h)
    return eigennet.Model(inp, eigennet.layers.Dense(3, activation="softmax")(h))


@pytest.mark.parametrize("make", [_sequential, _Tagger, _variable_length])
def test_every_kind_of_model_weighs_unmasked_steps(make):
    x = padded_ids()
    y = np.random.default_rng(5).integers(0, 3, size=x.shape)
    model = make()
    model(x[:1])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    for xs, ys in ((x, y), (x[:, :4], y[:, :4])) if make is _variable_length else ((x, y),):
        p = model.predict(xs, verbose=0)
        real = xs != 0
        steps = -np.log(np.take_along_axis(p, ys[..., None], -1)[..., 0])
        got = model.evaluate(xs, ys, batch_size=len(xs), verbose=0)
        np.testing.assert_allclose(got[0], steps[real].mean(), rtol=1e-5)
        np.testing.assert_allclose(got[1], (p.argmax(-1) == ys)[real].mean(), rtol=1e-6)
        model.fit(xs, ys, epochs=1, verbose=0)
