"""The core's GEMM as the benchmarks call it (`_core.matmul`): NumPy's product to rounding,
whatever the threads, and a clear error for mismatched shapes."""

import numpy as np
import pytest

import eigennet
from eigennet import _core


@pytest.mark.parametrize("dtype, tol", [("float32", 1e-5), ("float64", 1e-12)])
@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (3, 4, 5), (300, 257, 190), (5, 0, 4)])
def test_matmul_matches_numpy(dtype, tol, m, k, n):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(m, k)).astype(dtype)
    b = rng.normal(size=(k, n)).astype(dtype)
    want = a.astype("float64") @ b.astype("float64")
    before = eigennet.config.get_num_threads()
    try:
        for threads in (1, 2):
            eigennet.config.set_num_threads(threads)
            got = _core.matmul(a, b)
            assert got.dtype == np.dtype(dtype) and got.shape == (m, n)
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1, k))
    finally:
        eigennet.config.set_num_threads(before)


# Edges of the float32 kernel's packing: columns 16 past and 8 short of a 32-column panel and
# past a 256-column block, rows around the 12-row tile and past the 1536-row block, depths with
# a remainder and several blocks; depths of 1024 and 2048 have A packed, the others read in place.
@pytest.mark.parametrize(
    "m, k, n",
    [
        (1, 8, 32),
        (11, 17, 48),
        (13, 600, 56),
        (25, 256, 280),
        (12, 9, 300),
        (1600, 20, 40),
        (13, 1024, 40),
        (30, 2048, 33),
    ],
)
def test_float32_kernel_edges_match_numpy(m, k, n):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(m, k)).astype("float32")
    b = rng.normal(size=(k, n)).astype("float32")
    want = a.astype("float64") @ b.astype("float64")
    before = eigennet.config.get_num_threads()
    try:
        for threads in (1, 2):
            eigennet.config.set_num_threads(threads)
            np.testing.assert_allclose(_core.matmul(a, b), want, rtol=1e-5, atol=1e-5 * k)
    finally:
        eigennet.config.set_num_threads(before)


def test_matmul_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"shapes \(m, k\) and \(k, n\)"):
        _core.matmul(np.ones((2, 3), "float32"), np.ones((4, 2), "float32"))
    with pytest.raises(ValueError, match="2-D"):
        _core.matmul(np.ones(3, "float32"), np.ones((3, 2), "float32"))
