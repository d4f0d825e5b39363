"""`keras.ops.linalg` on arrays: against Keras's ops on the same inputs (float32 and float64,
batched), the defining identities (A = L L^T, P A = L U, A v = v w, ...) checked in NumPy,
singular and non-positive-definite matrices, and the error inside a model."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import ops

RNG = np.random.default_rng(0)
A = RNG.normal(size=(2, 4, 4))
SPD = A @ np.swapaxes(A, -1, -2) + 4 * np.eye(4)
B = RNG.normal(size=(2, 4, 3))
R = RNG.normal(size=(2, 5, 3))

CASES = [
    ("cholesky", (SPD,), {}),
    ("cholesky", (SPD,), {"upper": True}),
    ("cholesky_inverse", (np.linalg.cholesky(SPD),), {}),
    ("cholesky_inverse", (np.swapaxes(np.linalg.cholesky(SPD), -1, -2),), {"upper": True}),
    ("det", (A,), {}),
    ("inv", (A,), {}),
    ("solve", (A, B), {}),
    ("solve", (A, B[..., 0]), {}),
    ("solve_triangular", (A, B), {"lower": True}),
    ("solve_triangular", (A, B), {}),
    ("qr", (R,), {}),
    ("qr", (R,), {"mode": "complete"}),
    ("svd", (R,), {"full_matrices": False}),
    ("svd", (R,), {"compute_uv": False}),
    ("eigh", (SPD,), {}),
    ("lstsq", (R[0], R[1]), {}),
    ("lu_factor", (A[0],), {}),
    ("lu_factor", (R[0],), {}),
    ("slogdet", (A,), {}),
    ("logdet", (SPD,), {}),
    ("matrix_rank", (R,), {}),
    ("pinv", (R,), {}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, args, kwargs", CASES)
def test_matches_keras(name, args, kwargs, dtype):
    kr = pytest.importorskip("keras")
    args = tuple(a.astype(dtype) for a in args)
    ours = getattr(ops.linalg, name)(*args, **kwargs)
    theirs = getattr(kr.ops.linalg, name, None) or getattr(kr.ops, name)
    theirs = theirs(*args, **kwargs)
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = tuple(theirs) if isinstance(theirs, (tuple, list)) else (theirs,)
    tol = 1e-4 if dtype == "float32" else 1e-10
    for o, t in zip(ours, theirs):
        t = kr.ops.convert_to_numpy(t)
        assert np.asarray(o).dtype == t.dtype
        np.testing.assert_allclose(o, t, rtol=tol, atol=tol)
    assert getattr(ops, name) is getattr(ops.linalg, name)


def test_identities():
    lower = ops.linalg.cholesky(SPD)
    np.testing.assert_allclose(lower @ np.swapaxes(lower, -1, -2), SPD, atol=1e-10)
    assert np.allclose(np.triu(lower[0], 1), 0)
    eye = np.broadcast_to(np.eye(4), SPD.shape)
    np.testing.assert_allclose(ops.linalg.cholesky_inverse(lower) @ SPD, eye, atol=1e-10)
    lu, piv = ops.linalg.lu_factor(A[0])
    perm = np.arange(4)
    for i, p in enumerate(piv):
        perm[[i, p]] = perm[[p, i]]
    lo, up = np.tril(lu, -1) + np.eye(4), np.triu(lu)
    np.testing.assert_allclose(lo @ up, A[0][perm], atol=1e-12)
    w, v = ops.linalg.eig(A[0])
    np.testing.assert_allclose(A[0] @ v, v * w, atol=1e-10)
    x = ops.linalg.solve_triangular(A, B, lower=True)
    np.testing.assert_allclose(np.tril(A) @ x, B, atol=1e-10)  # the other triangle not read
    np.testing.assert_allclose(ops.linalg.solve(A, B), np.linalg.solve(A, B), atol=1e-10)
    sign, logabs = ops.slogdet(A)
    np.testing.assert_allclose(sign * np.exp(logabs), np.linalg.det(A), rtol=1e-10)
    assert ops.linalg.det(np.eye(3, dtype=int)).dtype == np.float32  # integers in floatx


def test_bad_matrices_raise_value_errors():
    with pytest.raises(ValueError, match="cholesky"):
        ops.linalg.cholesky(-np.eye(3))
    with pytest.raises(ValueError, match="ops.linalg.inv"):
        ops.linalg.inv(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="ops.linalg.solve"):
        ops.linalg.solve(np.zeros((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="square matrices"):
        ops.linalg.det(np.ones((2, 3)))
    with pytest.raises(ValueError, match="mode"):
        ops.linalg.qr(R, mode="r")


def test_inside_a_model_they_say_they_compute_on_arrays():
    inputs = keras.Input((3, 3))
    with pytest.raises(ValueError, match="computes on arrays only"):
        ops.linalg.inv(inputs)
    assert ops.linalg.norm is ops.norm
