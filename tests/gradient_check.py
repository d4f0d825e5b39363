"""Float64 finite differences of a model's loss, shared by every gradient test."""

from __future__ import annotations

import numpy as np


def finite_difference_gradients(model, x, y, h: float = 1e-6) -> list[np.ndarray]:
    """Central differences of the training loss (`model._compute_gradients`) with respect
    to every trainable weight, in `model.trainable_weights` order."""
    result = []
    for var in model.trainable_weights:
        base = var.numpy()
        fd = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            values = []
            for sign in (1, -1):
                moved = base.copy()
                moved[idx] += sign * h
                var.assign(moved)
                values.append(model._compute_gradients(x, y)[0])
            fd[idx] = (values[0] - values[1]) / (2 * h)
        var.assign(base)
        result.append(fd)
    return result


def assert_gradients_match_finite_differences(
    model, x, y, rtol: float = 1e-6, atol: float = 1e-9, h: float = 1e-6
) -> None:
    """The core's gradients of the loss equal central differences, weight by weight."""
    _, grads = model._compute_gradients(x, y)
    expected = finite_difference_gradients(model, x, y, h)
    assert len(grads) == len(expected)
    for i, (got, fd) in enumerate(zip(grads, expected)):
        np.testing.assert_allclose(got, fd, rtol=rtol, atol=atol, err_msg=f"weight {i}")


# -- one layer on its own: the native vector-Jacobian product and input differences -------
def layer_vjp(layer, xs, dy, dtype: str = "float64"):
    """(y, dL/dparams (flat), [dL/dx_i]) of one training forward and backward of the built
    layer on the inputs `xs`, with L = sum(dy * y)."""
    from eigennet import _core

    out_shape = (len(xs[0]), *layer.output_shape[1:])
    flat = [np.ascontiguousarray(x, dtype=dtype).reshape(len(x), -1) for x in xs]
    y, param_grad, grads = getattr(_core, f"layer_vjp_inputs_{dtype}")(
        layer._core, flat, np.ascontiguousarray(dy, dtype=dtype)
    )
    return y.reshape(out_shape), param_grad, [g.reshape(x.shape) for g, x in zip(grads, xs)]


def layer_graph_predict(layer, xs, batch_size: int = 3, dtype: str = "float64") -> np.ndarray:
    """The layer as the one node of a native graph (the path models take), in batches."""
    from eigennet import _core

    graph = getattr(_core, f"Graph_{dtype}")(
        [list(x.shape[1:]) for x in xs], [(layer._core, list(range(len(xs))))], [len(xs)]
    )
    packed = np.concatenate([x.reshape(len(x), -1) for x in xs], axis=1).astype(dtype)
    out = np.empty((len(xs[0]), *layer.output_shape[1:]), dtype=dtype)
    graph.predict(packed, batch_size, out, None, False)
    return out


def input_finite_differences(f, xs, dy, wrt=None, h: float = 1e-6) -> list:
    """Central differences of sum(dy * f(xs)) with respect to the inputs `wrt` (indices; all
    when None), None in the place of the others."""
    grads = []
    for i, x in enumerate(xs):
        if wrt is not None and i not in wrt:
            grads.append(None)
            continue
        fd = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            values = []
            for sign in (1, -1):
                moved = [v.copy() for v in xs]
                moved[i][idx] += sign * h
                values.append(np.sum(dy * f(moved)))
            fd[idx] = (values[0] - values[1]) / (2 * h)
        grads.append(fd)
    return grads


def layer_input_finite_differences(layer, xs, dy, h: float = 1e-6) -> list[np.ndarray]:
    """Central differences of sum(dy * layer(xs)) with respect to every input."""
    return input_finite_differences(lambda moved: layer_vjp(layer, moved, dy)[0], xs, dy, h=h)


# -- one op on its own (ops/op.hpp): the native vector-Jacobian product and differences ------
def op_vjp(op, xs, dy, dtype: str = "float64"):
    """(y, [dL/dx_i]) of one training forward and backward of a native op (an `<Name>_<dtype>`
    object of `eigennet._core`) on the concrete inputs `xs`, with L = sum(dy * y)."""
    from eigennet import _core

    arrays = [np.array(x, dtype=dtype, order="C") for x in xs]  # 0-d stays 0-d
    return getattr(_core, f"op_vjp_{dtype}")(op, arrays, np.array(dy, dtype=dtype, order="C"))


def op_finite_differences(op, xs, dy, wrt=None, h: float = 1e-6) -> list[np.ndarray]:
    """Float64 central differences of sum(dy * op(xs)) with respect to the inputs `wrt`
    (indices; all inputs when None); None in the place of the others."""
    xs = [np.array(x, dtype="float64") for x in xs]
    return input_finite_differences(lambda moved: op_vjp(op, moved, dy)[0], xs, dy, wrt, h)
