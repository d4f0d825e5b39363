"""Adaptive pooling (ops.adaptive_average_pool / adaptive_max_pool and the six layers): a NumPy
reference of PyTorch's bins, Keras on the same inputs, traced equals eager, float64 input
gradients against finite differences, configs and errors."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops
from gradient_check import assert_gradients_match_finite_differences

CASES = [  # (input shape, output_size, data_format)
    ((2, 7, 3), 3, "channels_last"),
    ((2, 5, 3), 7, "channels_last"),  # more outputs than inputs: bins overlap
    ((2, 5, 7, 3), (2, 3), "channels_last"),
    ((2, 3, 5, 7), (4, 1), "channels_first"),
    ((2, 4, 5, 6, 2), (2, 2, 3), "channels_last"),
]


def _reference(x, size, data_format, reduce):
    first = 2 if data_format == "channels_first" else 1
    rank = x.ndim - 2
    size = (size,) * rank if isinstance(size, int) else size
    for axis, out in zip(range(first, first + rank), size):
        n = x.shape[axis]
        bins = [(i * n // out, -(-(i + 1) * n // out)) for i in range(out)]
        x = np.concatenate(
            [reduce(np.take(x, range(a, b), axis=axis), axis=axis, keepdims=True) for a, b in bins],
            axis=axis,
        )
    return x


@pytest.mark.parametrize("shape, size, data_format", CASES)
@pytest.mark.parametrize("mode", ["average", "max"])
def test_ops_match_reference_traced_and_keras(shape, size, data_format, mode):
    x = np.random.default_rng(len(shape)).normal(size=shape).astype("float32")
    op = getattr(ops, f"adaptive_{mode}_pool")
    expected = _reference(x, size, data_format, np.mean if mode == "average" else np.max)
    np.testing.assert_allclose(op(x, size, data_format=data_format), expected, rtol=1e-5, atol=1e-7)
    inputs = keras.Input(shape[1:])
    model = keras.Model(inputs, op(inputs, size, data_format=data_format))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-7)
    kr = pytest.importorskip("keras")
    theirs = getattr(kr.ops, f"adaptive_{mode}_pool")(x, size, data_format=data_format)
    np.testing.assert_allclose(expected, kr.ops.convert_to_numpy(theirs), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("mode", ["Average", "Max"])
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_layers(mode, rank, float64):
    cls = getattr(layers, f"Adaptive{mode}Pooling{rank}D")
    shape = (3, *[7, 6, 5][:rank], 2)
    x = np.random.default_rng(rank).normal(size=shape)
    layer = cls(2)
    out = np.asarray(layer(x))
    assert out.shape == (3, *([2] * rank), 2) == layer.compute_output_shape(shape)
    # float64 gradients through the pooling (of the Dense before it) against differences
    model = keras.Sequential(
        [keras.Input(shape[1:]), layers.Dense(3), cls(2), layers.Flatten(), layers.Dense(1)]
    )
    model.compile("sgd", "mse")
    y = np.random.default_rng(0).normal(size=(3, 1))
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)
    model.fit(x, y, verbose=0)
    config = layer.get_config()
    assert config["output_size"] == (2,) * rank and config["data_format"] == "channels_last"
    assert cls.from_config(config).get_config() == config
    kr = pytest.importorskip("keras")
    theirs = getattr(kr.layers, f"Adaptive{mode}Pooling{rank}D")(2).get_config()
    assert theirs["output_size"] == config["output_size"]


def test_errors():
    with pytest.raises(ValueError, match="output_size"):
        layers.AdaptiveAveragePooling2D((2, 0))
    with pytest.raises(ValueError, match="output_size"):
        ops.adaptive_max_pool(np.zeros((1, 4, 4, 1)), (2, 2, 2))
    with pytest.raises(ValueError, match="ndim=4"):
        layers.AdaptiveMaxPooling2D(2)(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="known size"):
        ops.adaptive_average_pool(keras.Input((None, 3)), 2)
