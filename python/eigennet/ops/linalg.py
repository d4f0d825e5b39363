"""`keras.ops.linalg` (and the same names in `keras.ops`): linear algebra on arrays.

Each computes as Keras's NumPy backend does (NumPy's LAPACK routines; `lu_factor` and
`solve_triangular` without SciPy), in the input's float dtype (integers in floatx), over
any leading batch axes. On symbolic tensors (inside a model) they raise a ValueError: the
native graph has no decompositions, so call them on arrays; `norm` is the traced
`ops.norm`.
"""

from __future__ import annotations

import numpy as np

from eigennet import config
from eigennet.ops.numpy import _array, norm  # noqa: F401 (keras.ops.linalg.norm)
from eigennet.ops.symbolic import is_symbolic


def _matrices(name: str, *xs, square=True):
    if is_symbolic(*xs):
        raise ValueError(
            f"ops.linalg.{name} computes on arrays only (the native graph has no matrix "
            "decompositions): call it on NumPy arrays, outside a model"
        )
    out = []
    for x in xs:
        a = _array(x)
        if a.dtype.kind not in "fc":
            a = a.astype(config.floatx())
        out.append(a)
    a = out[0]
    if a.ndim < 2 or (square and a.shape[-1] != a.shape[-2]):
        kind = "square matrices" if square else "matrices"
        raise ValueError(f"ops.linalg.{name} expects {kind} (rank >= 2), got shape {a.shape}")
    return out


def cholesky(x, upper=False):
    """The lower Cholesky factor L of symmetric positive definite `x` (x = L L^T), or the
    upper one U = L^T; a matrix that is not positive definite raises a ValueError."""
    (a,) = _matrices("cholesky", x)
    try:
        lower = np.linalg.cholesky(a)
    except np.linalg.LinAlgError as e:
        raise ValueError(f"ops.linalg.cholesky: {e}") from None
    return np.swapaxes(lower, -1, -2).conj() if upper else lower


def cholesky_inverse(x, upper=False):
    """The inverse of A from its Cholesky factor `x` (lower, or upper with `upper=True`)."""
    (a,) = _matrices("cholesky_inverse", x)
    eye = np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
    inverse_factor = solve_triangular(a, eye, lower=not upper)
    t = np.swapaxes(inverse_factor, -1, -2)
    return inverse_factor @ t if upper else t @ inverse_factor


def det(x):
    (a,) = _matrices("det", x)
    return np.linalg.det(a)


def slogdet(x):
    """(sign, log |det|) of `x`."""
    (a,) = _matrices("slogdet", x)
    return tuple(np.linalg.slogdet(a))


def logdet(x):
    """log det `x` (NaN for a negative determinant), from slogdet as Keras computes it."""
    return slogdet(x)[1]


def eig(x):
    """(eigenvalues, eigenvectors) of a general square matrix (complex)."""
    (a,) = _matrices("eig", x)
    return np.linalg.eig(a)


def eigh(x):
    """(eigenvalues ascending, eigenvectors) of a symmetric (Hermitian) matrix."""
    (a,) = _matrices("eigh", x)
    return np.linalg.eigh(a)


def inv(x):
    (a,) = _matrices("inv", x)
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError as e:
        raise ValueError(f"ops.linalg.inv: {e}") from None


def solve(a, b):
    """x with a x = b (b a vector or a matrix of right-hand sides)."""
    a, b = _matrices("solve", a, b)
    try:
        if b.ndim == a.ndim - 1:
            return np.linalg.solve(a, b[..., None])[..., 0]
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError as e:
        raise ValueError(f"ops.linalg.solve: {e}") from None


def solve_triangular(a, b, lower=False):
    """x with a x = b for triangular `a` (its lower triangle with `lower=True`, else its
    upper one: the other triangle is not read), by substitution."""
    a, b = _matrices("solve_triangular", a, b)
    vector = b.ndim == a.ndim - 1
    rhs = (b[..., None] if vector else b).astype(np.result_type(a, b), copy=True)
    n = a.shape[-1]
    if rhs.shape[-2] != n:
        raise ValueError(f"ops.linalg.solve_triangular: b {b.shape} does not fit a {a.shape}")
    x = np.zeros(np.broadcast_shapes(a.shape[:-2], rhs.shape[:-2]) + rhs.shape[-2:], rhs.dtype)
    order = range(n) if lower else range(n - 1, -1, -1)
    for i in order:
        done = slice(0, i) if lower else slice(i + 1, n)
        partial = np.einsum("...k,...kj->...j", a[..., i, done], x[..., done, :])
        x[..., i, :] = (rhs[..., i, :] - partial) / a[..., i, i][..., None]
    return x[..., 0] if vector else x


def lu_factor(x):
    """(lu, pivots) as LAPACK's getrf (SciPy's lu_factor): L below the diagonal (unit
    diagonal implied) and U on and above it in one matrix; row i was swapped with row
    pivots[i] (int32, from 0), by partial pivoting."""
    (a,) = _matrices("lu_factor", x, square=False)
    lu = np.array(a, copy=True)
    m, n = lu.shape[-2:]
    steps = min(m, n)
    pivots = np.zeros(lu.shape[:-2] + (steps,), dtype=np.int32)
    batch = np.ndindex(*lu.shape[:-2])
    for index in batch:
        block = lu[index]
        for k in range(steps):
            p = k + int(np.argmax(np.abs(block[k:, k])))
            pivots[index + (k,)] = p
            if p != k:
                block[[k, p]] = block[[p, k]]
            if block[k, k] != 0:
                block[k + 1 :, k] /= block[k, k]
                block[k + 1 :, k + 1 :] -= np.outer(block[k + 1 :, k], block[k, k + 1 :])
    return lu, pivots


def qr(x, mode="reduced"):
    """(q, r) of `x`; mode "reduced" or "complete"."""
    if mode not in ("reduced", "complete"):
        raise ValueError(
            "`mode` argument value not supported. Expected one of {'reduced', 'complete'}. "
            f"Received: mode={mode}"
        )
    (a,) = _matrices("qr", x, square=False)
    return np.linalg.qr(a, mode=mode)


def svd(x, full_matrices=True, compute_uv=True):
    """(u, s, vh) of `x` (s alone without `compute_uv`)."""
    (a,) = _matrices("svd", x, square=False)
    return np.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)


def lstsq(a, b, rcond=None):
    """The least-squares solution of a x = b."""
    a, b = _matrices("lstsq", a, b, square=False)
    return np.linalg.lstsq(a, b, rcond=rcond)[0]


def matrix_rank(x, tol=None):
    (a,) = _matrices("matrix_rank", x, square=False)
    return np.asarray(np.linalg.matrix_rank(a, tol=tol)).astype("int32")


def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse of `x`."""
    (a,) = _matrices("pinv", x, square=False)
    return np.linalg.pinv(a) if rcond is None else np.linalg.pinv(a, rcond=rcond)
