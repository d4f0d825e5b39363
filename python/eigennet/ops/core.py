"""`keras.ops`' core functions: conversion, and control flow (on arrays only)."""

from __future__ import annotations

import numpy as np

from eigennet.ops.numpy import _array
from eigennet.ops.symbolic import is_symbolic


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """`x` as an array (a symbolic tensor stays itself)."""
    if is_symbolic(x):
        return x
    return _array(x) if dtype is None else np.asarray(x, dtype=dtype)


def convert_to_numpy(x) -> np.ndarray:
    """`x` as a NumPy array; a symbolic tensor has no values and raises."""
    if is_symbolic(x):
        raise TypeError(
            f"{x!r} is symbolic (it holds no values while a model is built); convert_to_numpy "
            "works on the arrays a model returns"
        )
    return np.asarray(x)


def _no_symbolic(name: str, *operands) -> None:
    if is_symbolic(*operands):
        raise TypeError(
            f"ops.{name} on symbolic tensors (data-dependent control flow) is not supported by "
            "eigennet's traced graphs; use ops.where for element-wise choices"
        )


def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` else `false_fn()`, on values (not symbolic tensors)."""
    _no_symbolic("cond", pred)
    return true_fn() if bool(np.asarray(pred)) else false_fn()


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Runs `body` while `cond` holds, on values (not symbolic tensors)."""
    is_tuple = isinstance(loop_vars, (list, tuple))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    _no_symbolic("while_loop", *state)
    count = 0
    while cond(*state) and (maximum_iterations is None or count < maximum_iterations):
        out = body(*state)
        state = tuple(out) if isinstance(out, (list, tuple)) else (out,)
        count += 1
    return state if is_tuple else state[0]


def fori_loop(lower, upper, body_fun, init_val):
    """`init_val` passed through `body_fun(i, value)` for i in [lower, upper)."""
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def stop_gradient(x):
    """`x`; on symbolic tensors not supported yet (gradients would flow through)."""
    _no_symbolic("stop_gradient", x)
    return x
