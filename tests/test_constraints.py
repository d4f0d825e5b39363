"""Weight constraints (keras.constraints): each rule against a NumPy reference, configs as
Keras writes them, every layer that takes them applying them after each optimizer step (in
fit, and in optimizer.apply), training parity with Keras 3 on the same weights, and the
errors for constraints eigennet cannot run."""

import os

import numpy as np
import pytest

import eigennet as keras
from eigennet import constraints, layers

EPSILON = 1e-7


def _factor(w, axis, desired):
    norms = np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))
    return w * (desired(norms) / (EPSILON + norms))


REFERENCES = {
    "max_norm": (
        lambda: constraints.MaxNorm(0.7, axis=0),
        lambda w: _factor(w, 0, lambda n: np.clip(n, 0, 0.7)),
    ),
    "max_norm_axes": (
        lambda: constraints.MaxNorm(1.5, axis=[0, 1, 2]),
        lambda w: _factor(w, (0, 1, 2), lambda n: np.clip(n, 0, 1.5)),
    ),
    "max_norm_last": (
        lambda: constraints.MaxNorm(0.3, axis=-1),
        lambda w: _factor(w, -1, lambda n: np.clip(n, 0, 0.3)),
    ),
    "min_max_norm": (
        lambda: constraints.MinMaxNorm(0.5, 0.8, rate=0.6, axis=1),
        lambda w: _factor(w, 1, lambda n: 0.6 * np.clip(n, 0.5, 0.8) + 0.4 * n),
    ),
    "unit_norm": (
        lambda: constraints.UnitNorm(axis=(0, 2)),
        lambda w: _factor(w, (0, 2), lambda n: np.ones_like(n)),
    ),
    "non_neg": (lambda: constraints.NonNeg(), lambda w: w * (w >= 0)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_constraint_equals_numpy(name, dtype):
    make, reference = REFERENCES[name]
    w = np.random.default_rng(1).normal(scale=0.8, size=(3, 4, 2, 5)).astype(dtype)
    got = make()(w)
    assert got.dtype == np.dtype(dtype)
    tol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(got, reference(w.astype("float64")), rtol=tol, atol=tol)


def test_constraints_by_name_class_and_config_as_keras():
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    assert isinstance(constraints.get("NonNeg"), constraints.NonNeg)
    assert isinstance(constraints.get(constraints.UnitNorm), constraints.UnitNorm)
    assert constraints.max_norm is constraints.MaxNorm
    config = constraints.serialize(constraints.MinMaxNorm(0.1, 2.0, 0.5, axis=[0, 1]))
    assert config == {
        "module": "keras.constraints",
        "class_name": "MinMaxNorm",
        "config": {"min_value": 0.1, "max_value": 2.0, "rate": 0.5, "axis": [0, 1]},
        "registered_name": None,
    }
    again = constraints.deserialize(config)
    assert again.get_config() == config["config"]
    assert constraints.serialize(constraints.MaxNorm())["config"] == {"max_value": 2, "axis": 0}


class Clipped(keras.constraints.Constraint):
    def __call__(self, w):
        return keras.ops.clip(w, -1, 1)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.Dense(2, kernel_constraint=Clipped()), "MaxNorm, MinMaxNorm"),
        (lambda: layers.Dense(2, kernel_constraint=lambda w: w), "MaxNorm, MinMaxNorm"),
        (lambda: layers.Dense(2, kernel_constraint="no_such"), "not supported"),
        (lambda: constraints.MaxNorm("big"), "max_value must be a number"),
        (lambda: constraints.MaxNorm(1.0, axis=0.5), "axis must be an integer"),
        (lambda: constraints.MinMaxNorm(2.0, 1.0), "exceeds max_value"),
        (lambda: constraints.UnitNorm(axis=float("nan")), "axis must be an integer"),
    ],
)
def test_constraints_eigennet_cannot_run_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_an_axis_outside_the_weight_is_refused_when_the_layer_builds():
    layer = layers.Dense(3, kernel_constraint=constraints.MaxNorm(1.0, axis=2))
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        layer.build((None, 4))


def _fit(model, x, y, epochs=2, optimizer=None):
    model.compile(optimizer or keras.optimizers.SGD(0.5), "mse")
    model.fit(x, y, epochs=epochs, batch_size=4, verbose=0)


def _norms(w, axis):
    return np.sqrt(np.square(w).sum(axis=axis))


RNG = np.random.default_rng(3)
MAX_NORM_03 = constraints.MaxNorm(0.3)


def test_dense_constraints_hold_after_every_step():
    x, y = RNG.normal(size=(16, 6)), 20 * RNG.normal(size=(16, 3))
    model = keras.Sequential(
        [
            keras.Input((6,)),
            layers.Dense(5, kernel_constraint=constraints.MaxNorm(0.5), bias_constraint="non_neg"),
            layers.Dense(3, kernel_constraint=constraints.UnitNorm(axis=0)),
        ]
    )
    _fit(model, x, y)
    w1, b1, w2, _ = model.get_weights()
    assert np.all(_norms(w1, 0) <= 0.5 + 1e-6) and np.all(b1 >= 0)
    np.testing.assert_allclose(_norms(w2, 0), 1.0, rtol=1e-5)
    assert isinstance(model.layers[0].kernel.constraint, constraints.MaxNorm)
    assert model.layers[1].bias.constraint is None


@pytest.mark.parametrize(
    "make, shape, check",
    [
        (
            lambda: layers.Conv2D(4, 3, kernel_constraint=constraints.MaxNorm(0.4, [0, 1, 2])),
            (6, 6, 2),
            lambda ws: np.all(_norms(ws[0], (0, 1, 2)) <= 0.4 + 1e-6),
        ),
        (
            lambda: layers.Conv1DTranspose(3, 2, bias_constraint="non_neg"),
            (5, 2),
            lambda ws: np.all(ws[1] >= 0),
        ),
        (
            lambda: layers.LSTM(3, recurrent_constraint=constraints.MaxNorm(0.2)),
            (4, 2),
            lambda ws: np.all(_norms(ws[1], 0) <= 0.2 + 1e-6),
        ),
        (
            lambda: layers.Bidirectional(layers.GRU(2, kernel_constraint="unit_norm")),
            (4, 2),
            lambda ws: all(np.allclose(_norms(ws[k], 0), 1.0, rtol=1e-5) for k in (0, 3)),
        ),
        (
            lambda: layers.EinsumDense("ab,bc->ac", 3, bias_axes="c", kernel_constraint="max_norm"),
            (5,),
            lambda ws: np.all(_norms(ws[0], 0) <= 2 + 1e-6),
        ),
        (
            lambda: layers.SeparableConv1D(3, 2, pointwise_constraint="non_neg"),
            (5, 2),
            lambda ws: np.all(ws[1] >= 0),
        ),
        (
            lambda: layers.DepthwiseConv1D(2, depthwise_constraint=constraints.MaxNorm(0.1)),
            (5, 2),
            lambda ws: np.all(_norms(ws[0], 0) <= 0.1 + 1e-6),
        ),
        (
            lambda: layers.LayerNormalization(gamma_constraint="non_neg"),
            (5,),
            lambda ws: np.all(ws[0] >= 0),
        ),
        (
            lambda: layers.GroupNormalization(2, beta_constraint="non_neg"),
            (4,),
            lambda ws: np.all(ws[1] >= 0),
        ),
        (
            lambda: layers.PReLU(alpha_constraint="non_neg"),
            (5,),
            lambda ws: np.all(ws[0] >= 0),
        ),
        (
            lambda: layers.TimeDistributed(
                layers.Dense(2, kernel_constraint=constraints.MaxNorm(0.3))
            ),
            (3, 4),
            lambda ws: np.all(_norms(ws[0], 0) <= 0.3 + 1e-6),
        ),
    ],
)
def test_layer_constraints_hold_after_training(make, shape, check):
    keras.utils.set_random_seed(5)
    layer = make()
    model = keras.Sequential([keras.Input(shape), layer, layers.Flatten(), layers.Dense(2)])
    # Weights far outside every constraint (large, negative): one small step cannot mend
    # them, the constraints must.
    violating = [-3.0 - 3.0 * np.abs(w) for w in layer.get_weights()]
    layer.set_weights(violating)
    assert not check(layer.get_weights())
    x, y = RNG.normal(size=(16, *shape)), RNG.normal(size=(16, 2))
    _fit(model, x, y, epochs=1, optimizer=keras.optimizers.SGD(1e-4))
    assert check(layer.get_weights())
    loaded = type(layer).from_config(layer.get_config())
    assert loaded.get_config() == layer.get_config()


def test_embedding_and_attention_constraints():
    keras.utils.set_random_seed(6)
    tokens = keras.Input((4,), dtype="int32")
    embedded = layers.Embedding(10, 6, embeddings_constraint=constraints.UnitNorm(axis=1))(tokens)
    attention = layers.MultiHeadAttention(2, 3, kernel_constraint=constraints.MaxNorm(0.3))
    out = layers.Dense(1)(layers.Flatten()(attention(embedded, embedded)))
    model = keras.Model(tokens, out)
    x, y = RNG.integers(0, 10, size=(16, 4)), 10 * RNG.normal(size=(16, 1))
    _fit(model, x, y, optimizer=keras.optimizers.Adam(0.1))
    table = model.layers[1].get_weights()[0]
    np.testing.assert_allclose(_norms(table, 1), 1.0, rtol=1e-5)
    kernels = [w.numpy() for w in attention.weights if w.name.endswith("kernel")]
    assert len(kernels) == 4
    assert all(np.all(_norms(k, 0) <= 0.3 + 1e-6) for k in kernels)


def test_frozen_layers_keep_their_weights_unconstrained():
    layer = layers.Dense(3, kernel_constraint=constraints.MaxNorm(0.01))
    model = keras.Sequential([keras.Input((4,)), layer, layers.Dense(1)])
    layer.trainable = False
    before = layer.get_weights()[0]
    _fit(model, RNG.normal(size=(8, 4)), RNG.normal(size=(8, 1)))
    np.testing.assert_array_equal(layer.get_weights()[0], before)


def test_custom_layer_weight_and_optimizer_apply_constrained():
    class Scale(layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1],), initializer="ones",
                                     constraint=constraints.NonNeg())  # fmt: skip

        def call(self, x):
            return x * self.w

    layer = Scale()
    model = keras.Sequential([keras.Input((3,)), layer])
    x = np.ones((8, 3), "float32")
    _fit(model, x, -5 * np.ones((8, 3), "float32"))  # pushes w below zero
    np.testing.assert_array_equal(layer.w.numpy(), np.zeros(3, "float32"))
    assert isinstance(layer.w.constraint, constraints.NonNeg)
    # A loop of your own: optimizer.apply applies the constraints after the update.
    dense = layers.Dense(2, kernel_constraint=constraints.MaxNorm(0.1))
    dense.build((None, 3))
    optimizer = keras.optimizers.SGD(1.0)
    optimizer.apply([np.full((3, 2), -1.0), np.zeros(2)], dense.weights)
    np.testing.assert_allclose(_norms(dense.kernel.numpy(), 0), 0.1, rtol=1e-5)


@pytest.fixture(scope="module")
def keras_ref():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


def test_constrained_training_equals_keras(keras_ref):
    from keras_parity import assert_trains_like_keras

    def build(lib):
        c = lib.constraints
        return lib.Sequential(
            [
                lib.Input((6, 6, 1)),
                lib.layers.Conv2D(  # (no bias before the normalization: its gradient is 0)
                    3, 3, use_bias=False, kernel_constraint=c.MaxNorm(0.5, axis=[0, 1, 2])
                ),
                lib.layers.BatchNormalization(gamma_constraint=c.NonNeg()),
                lib.layers.Flatten(),
                lib.layers.Dense(5, kernel_constraint=c.UnitNorm(), bias_constraint=c.NonNeg()),
                lib.layers.Dense(2, kernel_constraint=c.MinMaxNorm(0.2, 0.6, rate=0.5)),
            ]
        )

    ours, theirs = build(keras), build(keras_ref)
    theirs.set_weights(ours.get_weights())
    for m, lib in ((ours, keras), (theirs, keras_ref)):
        m.compile(lib.optimizers.Adam(0.05), "mse")
    x = RNG.normal(size=(16, 6, 6, 1)).astype("float32")
    y = 5 * RNG.normal(size=(16, 2)).astype("float32")
    assert_trains_like_keras(ours, theirs, x, y)
    for a, b in zip(ours.layers, theirs.layers):
        config = b.get_config()
        for key in [k for k in config if k.endswith("_constraint")]:
            assert a.get_config()[key] == keras_ref.saving.serialize_keras_object(config[key])


def test_constrained_model_file_opens_in_keras(keras_ref, tmp_path):
    model = keras.Sequential(
        [keras.Input((4,)), layers.Dense(3, kernel_constraint=constraints.MaxNorm(1.5, axis=0))]
    )
    path = tmp_path / "constrained.keras"
    model.save(path)
    theirs = keras_ref.models.load_model(path)
    constraint = theirs.layers[0].kernel_constraint
    assert type(constraint).__name__ == "MaxNorm" and constraint.max_value == 1.5
    mine = keras.models.load_model(path)
    assert mine.layers[0].kernel_constraint.get_config() == {"max_value": 1.5, "axis": 0}
