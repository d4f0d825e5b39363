"""Forward and backward pass of a stack of Keras Dense layers.

A layer is ``(kernel, bias, activation)`` with kernel of shape (in, out), bias
of shape (out,) or None (use_bias=False) and an activation name from
``reference.activations``.  Each layer computes ``act(x @ kernel + bias)``.
"""

import numpy as np

from . import activations, losses


def forward(x, layers):
    """Network output."""
    h = np.asarray(x)
    for kernel, bias, act in layers:
        z = h @ kernel
        if bias is not None:
            z = z + bias
        h = activations.forward(act, z)
    return h


def loss_and_grads(x, y, layers, loss, from_logits=False, **loss_kwargs):
    """Mean (sum_over_batch_size) loss and gradients in Keras weight order.

    Returns ``(loss, [kernel_0, bias_0, kernel_1, bias_1, ...])``; biases that
    are None are skipped, as in ``model.get_weights()``.
    """
    inputs, pre_activations = [], []
    h = np.asarray(x)
    for kernel, bias, act in layers:
        inputs.append(h)
        z = h @ kernel
        if bias is not None:
            z = z + bias
        pre_activations.append(z)
        h = activations.forward(act, z)

    value, dh = losses.value_and_grad(loss, y, h, from_logits=from_logits, **loss_kwargs)

    grads = []
    for (kernel, bias, act), h_in, z in zip(
        reversed(layers), reversed(inputs), reversed(pre_activations), strict=True
    ):
        dz = activations.backward(act, z, dh)
        layer_grads = [h_in.T @ dz]
        if bias is not None:
            layer_grads.append(np.sum(dz, axis=0))
        grads = layer_grads + grads
        dh = dz @ kernel.T
    return value, grads
