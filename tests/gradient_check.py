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
