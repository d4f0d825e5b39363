"""eigennet activations vs the NumPy reference (tests/reference/activations.py)."""

import numpy as np
import pytest

import eigennet
from eigennet import _core
from reference import activations as ref

NAMES = ref.NAMES
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


def smooth_inputs(dtype, shape=(6, 5), seed=0):
    """Values in [-4, 4] kept at least 0.05 away from the kinks at 0."""
    x = np.random.default_rng(seed).uniform(-4, 4, size=shape)
    x[np.abs(x) < 0.05] = 0.5
    return x.astype(dtype)


def kink_inputs():
    """Zeros of both signs, tiny values around them and large magnitudes."""
    return np.array(
        [[0.0, -0.0, 1e-12, -1e-12, 1e-4, -1e-4], [30.0, -30.0, 80.0, -80.0, 700.0, -700.0]]
    )


def assert_close(got, expected, dtype):
    np.testing.assert_allclose(np.asarray(got, np.float64), expected, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_public_forward(name, dtype):
    x = smooth_inputs(dtype)
    got = getattr(eigennet.activations, name)(x)
    assert got.shape == x.shape
    assert_close(got, ref.forward(name, x.astype(np.float64)), dtype)


@pytest.mark.parametrize("name", NAMES)
def test_public_get_by_name(name):
    x = smooth_inputs(np.float64)
    assert_close(eigennet.activations.get(name)(x), ref.forward(name, x), np.float64)


@pytest.mark.parametrize("shape", [(7,), (2, 3, 4)])
@pytest.mark.parametrize("name", ["softmax", "gelu", "relu"])
def test_public_forward_other_ranks(name, shape):
    x = smooth_inputs(np.float64, shape=shape, seed=1)
    got = getattr(eigennet.activations, name)(x)
    assert got.shape == shape
    assert_close(got, ref.forward(name, x), np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_core_forward(name, dtype):
    x = smooth_inputs(dtype)
    got = _core.activation_forward(name, x)
    assert got.dtype == dtype and got.shape == x.shape
    assert_close(got, ref.forward(name, x.astype(np.float64)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_core_backward(name, dtype):
    x = smooth_inputs(dtype)
    dy = np.random.default_rng(2).normal(size=x.shape).astype(dtype)
    got = _core.activation_backward(name, x, dy)
    assert got.dtype == dtype and got.shape == x.shape
    expected = ref.backward(name, x.astype(np.float64), dy.astype(np.float64))
    if dtype == np.float32:
        # Eigen's float tanh/sigmoid are good to ~2 ulp with FMA and ~4 without (the baseline
        # SSE2 build); 1 - tanh(x)^2 turns those ulps of ~1 into absolute error ~2|dy| * 4e-7.
        np.testing.assert_allclose(np.asarray(got, np.float64), expected, rtol=1e-5, atol=3e-6)
    else:
        assert_close(got, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_core_at_kinks_and_extremes(name, dtype):
    """Keras torch conventions at 0 (e.g. relu'(0) = 0, selu'(0) = scale*alpha), no overflow."""
    x = kink_inputs().astype(dtype)
    dy = np.ones_like(x)
    expected_y = ref.forward(name, x.astype(np.float64))
    expected_dx = ref.backward(name, x.astype(np.float64), dy.astype(np.float64))
    y = _core.activation_forward(name, x)
    dx = _core.activation_backward(name, x, dy)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    assert_close(y, expected_y, dtype)
    assert_close(dx, expected_dx, dtype)


def _finite_difference_vjp(forward, x, w, h=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = (np.sum(w * forward(plus)) - np.sum(w * forward(minus))) / (2 * h)
    return grad


@pytest.mark.parametrize("name", NAMES)
def test_core_backward_matches_finite_differences(name):
    x = smooth_inputs(np.float64, shape=(3, 4), seed=3)
    w = np.random.default_rng(4).normal(size=x.shape)
    fd = _finite_difference_vjp(lambda a: _core.activation_forward(name, a), x, w)
    np.testing.assert_allclose(_core.activation_backward(name, x, w), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_reference_backward_matches_finite_differences(name):
    """Guards the reference itself, so the comparisons above are meaningful."""
    x = smooth_inputs(np.float64, shape=(3, 4), seed=5)
    w = np.random.default_rng(6).normal(size=x.shape)
    fd = _finite_difference_vjp(lambda a: ref.forward(name, a), x, w)
    np.testing.assert_allclose(ref.backward(name, x, w), fd, rtol=1e-6, atol=1e-8)


def test_reference_constants():
    """Spot values straight from the Keras definitions."""
    assert ref.forward("leaky_relu", np.array([-1.0]))[0] == -0.2
    np.testing.assert_allclose(
        ref.forward("selu", np.array([1.0, -50.0])),
        [1.0507009873554805, -1.0507009873554805 * 1.6732632423543772],
    )
    np.testing.assert_allclose(ref.forward("gelu", np.array([1.0])), [0.8413447460685429])
    np.testing.assert_allclose(
        ref.backward("selu", np.array([0.0]), np.array([1.0])),
        [1.0507009873554805 * 1.6732632423543772],
    )
