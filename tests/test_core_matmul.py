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


def test_matmul_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"shapes \(m, k\) and \(k, n\)"):
        _core.matmul(np.ones((2, 3), "float32"), np.ones((4, 2), "float32"))
    with pytest.raises(ValueError, match="2-D"):
        _core.matmul(np.ones(3, "float32"), np.ones((3, 2), "float32"))
