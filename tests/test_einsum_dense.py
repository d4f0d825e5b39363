"""layers.EinsumDense: Keras 3's shapes and outputs on the same weights, a NumPy reference and
float64 finite differences of its gradients, saving, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet
from eigennet import layers
from gradient_check import assert_gradients_match_finite_differences

# (equation, output_shape, bias_axes, input shape with the batch): Keras's docstring cases,
# the attention projections, and both ellipsis forms.
CASES = [
    ("ab,bc->ac", (16,), None, (5, 8)),
    ("abc,cd->abd", (None, 12), "d", (3, 5, 8)),
    ("abc,cde->abde", (None, 4, 6), "de", (3, 5, 8)),
    ("abcd,cde->abe", (None, 8), "e", (3, 5, 4, 6)),
    ("...b,bc->...c", 7, "c", (2, 3, 5)),
    ("ab...,bc->ac...", 6, "c", (2, 4, 3)),
    ("...b,bcd->...cd", (2, 3), "cd", (2, 5, 4)),
]


@pytest.mark.parametrize("equation, output_shape, bias_axes, shape", CASES)
def test_matches_numpy_and_finite_differences(equation, output_shape, bias_axes, shape):
    rng = np.random.default_rng(3)
    eigennet.config.set_floatx("float64")
    try:
        layer = layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="tanh")
        inputs = eigennet.Input(shape[1:])
        out = layer(inputs)
        model = eigennet.Model(inputs, layers.Dense(2)(layers.Flatten()(out)))
        layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
        x = rng.normal(size=shape)
        z = np.einsum(equation, x, layer.kernel.numpy())
        if bias_axes is not None:
            z = z + layer.bias.numpy()
        np.testing.assert_allclose(np.asarray(layer(x)), np.tanh(z), rtol=1e-12, atol=1e-12)
        # None where output_shape leaves the size to the input, as Keras
        declared = layer.compute_output_shape(shape)
        assert len(declared) == z.ndim and all(d in (None, n) for d, n in zip(declared, z.shape))
        model.compile(optimizer="sgd", loss="mse")
        assert_gradients_match_finite_differences(model, x, rng.normal(size=(shape[0], 2)))
    finally:
        eigennet.config.set_floatx("float32")


@pytest.mark.parametrize("equation, output_shape, bias_axes, shape", CASES)
def test_matches_keras(equation, output_shape, bias_axes, shape):
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(4).normal(size=shape).astype("float32")
    theirs = keras.layers.EinsumDense(
        equation, output_shape, bias_axes=bias_axes, activation="relu"
    )
    expected = np.asarray(theirs(x).detach() if hasattr(theirs(x), "detach") else theirs(x))
    ours = layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="relu")
    inputs = eigennet.Input(shape[1:])
    model = eigennet.Model(inputs, ours(inputs))
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.path.split("/")[-1] for w in ours.weights] == [
        w.path.split("/")[-1] for w in theirs.weights
    ]
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    assert ours.compute_output_shape(shape) == tuple(theirs.compute_output_shape(shape))
    config = ours.get_config()
    for key, value in theirs.get_config().items():
        if key in ("name", "dtype", "activity_regularizer", "kernel_initializer"):
            continue
        assert config[key] == (tuple(value) if isinstance(value, list) else value), key
    restored = layers.EinsumDense.from_config(theirs.get_config())
    assert restored.equation == equation


def test_kernel_initializer_takes_its_fans_over_the_kernels_axes():
    """glorot_uniform over (d, heads, key_dim): fan_in d, fan_out heads * key_dim, as Keras."""
    layer = layers.EinsumDense("abc,cde->abde", (None, 4, 6))
    layer.build((None, 5, 64))
    limit = np.sqrt(6 / (64 + 4 * 6))
    values = layer.kernel.numpy()
    assert np.abs(values).max() <= limit and np.abs(values).max() > 0.9 * limit
    # the layer's own initializer (its config) is left as given
    assert layer.get_config()["kernel_initializer"]["config"] == {"seed": None}


def test_saves_loads_and_trains(tmp_path):
    inputs = eigennet.Input((6, 8))
    x = layers.EinsumDense("abc,cd->abd", (None, 5), bias_axes="d", activation="relu")(inputs)
    model = eigennet.Model(inputs, layers.GlobalAveragePooling1D()(x))
    model.compile("adam", "mse")
    data = np.random.default_rng(5).normal(size=(32, 6, 8)).astype("float32")
    target = np.random.default_rng(6).normal(size=(32, 5)).astype("float32")
    model.fit(data, target, epochs=2, verbose=0)
    model.save(tmp_path / "e.keras")
    loaded = eigennet.saving.load_model(tmp_path / "e.keras")
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))


def test_errors():
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        layers.EinsumDense("ab,bc", 4)
    with pytest.raises(ValueError, match="did not have a match"):
        layers.EinsumDense("ab,bzc->ac", 4).build((None, 3))
    with pytest.raises(ValueError, match="not part of the output spec"):
        layers.EinsumDense("ab,bc->ac", 4, bias_axes="b").build((None, 3))
    with pytest.raises(ValueError, match="do not match at shared dimension"):
        layers.EinsumDense("abc,cd->abd", (7, 4)).build((None, 5, 3))
    with pytest.raises(ValueError, match="not supported"):
        layers.EinsumDense("ab,bc->ac", 4, lora_rank=2)
