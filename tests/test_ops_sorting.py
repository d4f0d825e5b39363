"""Sorting ops (argsort, sort, top_k, in_top_k): against Keras on arrays and in models, the
order of ties and NaN, any axis, gradients of sorted values against finite differences, and
the errors for k out of range and axes of unknown length."""

import os

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops
from gradient_check import assert_gradients_match_finite_differences

RNG = np.random.default_rng(12)
X = RNG.normal(size=(5, 7)).astype("float32")  # no ties
X3 = RNG.normal(size=(3, 4, 5)).astype("float32")


@pytest.fixture(scope="module")
def kr():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


def _model(fn, shape):
    inputs = keras.Input(shape)
    return keras.Model(inputs, fn(inputs))


CASES = {
    "argsort": (lambda o, x: o.argsort(x), X),
    "argsort-axis1": (lambda o, x: o.argsort(x, axis=1), X3),
    "sort": (lambda o, x: o.sort(x), X),
    "sort-axis1": (lambda o, x: o.sort(x, axis=1), X3),
    "top_k-values": (lambda o, x: o.top_k(x, 3)[0], X),
    "top_k-indices": (lambda o, x: o.top_k(x, 3)[1], X),
    "top_k-rank3": (lambda o, x: o.top_k(x, 2)[0], X3),
    "in_top_k": (lambda o, x: o.in_top_k(np.array([0, 3, 6, 2, 1]), x, 2), X),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_sorting_equals_keras_on_arrays_and_in_a_model(kr, case):
    fn, x = CASES[case]
    expected = np.asarray(kr.ops.convert_to_numpy(fn(kr.ops, x)))
    got = np.asarray(fn(ops, x))
    np.testing.assert_array_equal(got, expected.astype(got.dtype))
    if "indices" in case or case.startswith("argsort"):
        assert got.dtype == np.int32
    if case != "in_top_k":
        predicted = _model(lambda t: fn(ops, t), x.shape[1:]).predict(x, verbose=0)
        np.testing.assert_array_equal(predicted, expected.astype(predicted.dtype))


def test_ties_keep_their_order_and_nan_is_the_largest():
    x = np.array([[2.0, 1.0, 2.0, np.nan, 1.0, 0.0]], "float32")
    np.testing.assert_array_equal(ops.argsort(x), [[5, 1, 4, 0, 2, 3]])
    values, indices = ops.top_k(x, 4)
    np.testing.assert_array_equal(indices, [[3, 0, 2, 1]])
    np.testing.assert_array_equal(values[:, 1:], [[2.0, 2.0, 1.0]])
    assert np.isnan(values[0, 0])
    # The same in a model (predict refuses NaN inputs: the model makes it from -1).
    inputs = keras.Input((6,))
    with_nan = ops.sqrt(inputs) * 0.0 + inputs  # NaN where the input is negative
    model = keras.Model(inputs, [ops.argsort(with_nan), ops.top_k(with_nan, 4)[1]])
    finite = np.array([[2.0, 1.0, 2.0, -1.0, 1.0, 0.0]], "float32")
    order, top = model.predict(finite, verbose=0)
    np.testing.assert_array_equal(order, [[5, 1, 4, 0, 2, 3]])
    np.testing.assert_array_equal(top, [[3, 0, 2, 1]])


class SortedPool(layers.Layer):
    """The 3 largest of each row and the whole row sorted, after a trained projection."""

    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1], 6))

    def call(self, x):
        h = ops.matmul(x, self.w)
        return ops.concatenate([ops.top_k(h, 3)[0], ops.sort(h * 0.5)], axis=-1)


def test_sorted_values_train_with_gradients_matching_finite_differences():
    keras.config.set_floatx("float64")
    try:
        model = keras.Sequential([keras.Input((4,)), SortedPool(), layers.Dense(2)])
        model.compile("sgd", "mse")
        x, y = RNG.normal(size=(5, 4)), RNG.normal(size=(5, 2))
        assert_gradients_match_finite_differences(model, x, y)
    finally:
        keras.config.set_floatx("float32")


def test_bad_k_and_unknown_lengths_raise():
    with pytest.raises(ValueError, match="k=8"):
        ops.top_k(X, 8)
    with pytest.raises(ValueError, match="positive integer"):
        ops.top_k(X, 0)
    inputs = keras.Input((7,))
    with pytest.raises(ValueError, match="k=9"):
        ops.top_k(inputs, 9)
    with pytest.raises(ValueError, match="known length"):
        ops.sort(keras.Input((None, 3)), axis=1)
