"""`layers.InputSpec` on custom layers (rank, minimum and maximum rank, axis sizes, shapes,
several inputs), raising Keras's errors on arrays and symbolic tensors alike, and
`config.enable_unsafe_deserialization` (nothing to enable: eigennet never loads code)."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers


def _layer(spec):
    class Checked(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = spec

        def call(self, x):
            return x[0] + x[1] if isinstance(x, (list, tuple)) else x * 2.0

    return Checked()


@pytest.mark.parametrize(
    "spec, good, bad, message",
    [
        (layers.InputSpec(ndim=3), (2, 3, 4), (2, 4), "expected ndim=3, found ndim=2"),
        (layers.InputSpec(min_ndim=3), (2, 3, 4, 5), (2, 4), "expected min_ndim=3"),
        (layers.InputSpec(max_ndim=2), (2, 4), (2, 3, 4), "expected max_ndim=2"),
        (
            layers.InputSpec(axes={-1: 4}),
            (2, 3, 4),
            (2, 3, 5),
            "axis -1 of input shape to have value 4",
        ),  # noqa: E501
        (
            layers.InputSpec(shape=(None, 3, 4)),
            (5, 3, 4),
            (5, 2, 4),
            "expected shape=\\(None, 3, 4\\)",
        ),  # noqa: E501
    ],
)
def test_specs_check_arrays_and_symbolic_tensors(spec, good, bad, message):
    layer = _layer(spec)
    np.testing.assert_array_equal(layer(np.ones(good, "float32")), 2.0)
    with pytest.raises(
        ValueError, match=f'Input 0 of layer "{layer.name}" is incompatible.*{message}'
    ):  # noqa: E501
        layer(np.ones(bad, "float32"))
    assert layer(keras.Input(good[1:])).shape == (None, *good[1:])
    with pytest.raises(ValueError, match=message):
        _layer(spec)(keras.Input(bad[1:]))


def test_a_list_of_specs_for_several_inputs():
    layer = _layer([layers.InputSpec(ndim=2), layers.InputSpec(ndim=2)])
    np.testing.assert_array_equal(layer([np.ones((2, 3)), np.ones((2, 3))]), 2.0)
    with pytest.raises(ValueError, match="expects 2 input\\(s\\), but it received 1"):
        layer(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Input 1 of layer"):
        layer([np.ones((2, 3)), np.ones((2, 3, 1))])


def test_spec_arguments_and_config():
    spec = layers.InputSpec(ndim=3, axes={2: 8})
    again = layers.InputSpec.from_config(spec.get_config())
    assert (again.ndim, again.axes) == (3, {2: 8})
    assert "ndim=3" in repr(spec)
    with pytest.raises(ValueError, match="greater than the maximum allowed value"):
        layers.InputSpec(ndim=2, axes={3: 1})
    with pytest.raises(TypeError, match="integer keys"):
        layers.InputSpec(axes={"last": 1})


def test_keras_reports_the_same_errors():
    kr = pytest.importorskip("keras")

    class Checked(kr.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = kr.layers.InputSpec(ndim=3, axes={-1: 4})

        def call(self, x):
            return x

    cases = (((2, 4), "expected ndim=3, found ndim=2"),
             ((2, 3, 5), "expected axis -1 of input shape to have value 4"))  # fmt: skip
    for bad, fragment in cases:
        with pytest.raises(ValueError, match=fragment):
            Checked()(np.ones(bad, "float32"))
        with pytest.raises(ValueError, match=fragment):
            _layer(layers.InputSpec(ndim=3, axes={-1: 4}))(np.ones(bad, "float32"))


def test_enable_unsafe_deserialization_is_accepted():
    assert keras.config.enable_unsafe_deserialization() is None
