"""BatchNormalization and LayerNormalization over the last axis, forward and backward.

Written from the Keras 3 definitions: batch statistics are the mean and the biased variance
(divided by N) over every axis but the last; the output is
``(x - mean) / sqrt(var + epsilon) * gamma + beta``; the moving statistics follow
``moving * momentum + batch * (1 - momentum)``.  ``gamma`` / ``beta`` of None mean
scale=False / center=False.  The backward passes are the textbook step-by-step chain rule
(through x_hat, the variance and the mean), a different formulation from the core's.
"""

import numpy as np


def _channels(x):
    return x.reshape(-1, x.shape[-1])


def batch_norm_forward(x, gamma, beta, moving_mean, moving_var, momentum, epsilon, training):
    """Returns (y, new_moving_mean, new_moving_var); moving stats change only in training."""
    rows = _channels(x)
    if training:
        mean = rows.mean(axis=0)
        var = ((rows - mean) ** 2).mean(axis=0)
        new_mean = moving_mean * momentum + mean * (1 - momentum)
        new_var = moving_var * momentum + var * (1 - momentum)
    else:
        mean, var = moving_mean, moving_var
        new_mean, new_var = moving_mean, moving_var
    y = (x - mean) / np.sqrt(var + epsilon)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y, new_mean, new_var


def batch_norm_backward(x, dy, gamma, moving_mean, moving_var, epsilon, training):
    """(dx, dgamma, dbeta) for the forward above (training: through the batch statistics)."""
    rows, drows = _channels(x), _channels(dy)
    n = rows.shape[0]
    if training:
        mean = rows.mean(axis=0)
        var = ((rows - mean) ** 2).mean(axis=0)
    else:
        mean, var = moving_mean, moving_var
    std_inv = 1 / np.sqrt(var + epsilon)
    x_hat = (rows - mean) * std_inv
    dgamma = (drows * x_hat).sum(axis=0)
    dbeta = drows.sum(axis=0)
    dx_hat = drows * (1 if gamma is None else gamma)
    if not training:
        return (dx_hat * std_inv).reshape(x.shape), dgamma, dbeta
    dvar = (dx_hat * (rows - mean)).sum(axis=0) * -0.5 * std_inv**3
    dmean = -(dx_hat * std_inv).sum(axis=0) + dvar * (-2 * (rows - mean)).mean(axis=0)
    dx = dx_hat * std_inv + dvar * 2 * (rows - mean) / n + dmean / n
    return dx.reshape(x.shape), dgamma, dbeta


def layer_norm_forward(x, gamma, beta, epsilon, rms_scaling=False):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    if rms_scaling:  # Keras's deprecated option: x / sqrt(var + eps) * gamma
        return x / np.sqrt(var + epsilon) * gamma
    y = (x - mean) / np.sqrt(var + epsilon)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def layer_norm_backward(x, dy, gamma, epsilon, rms_scaling=False):
    """(dx, dgamma, dbeta) with dgamma/dbeta summed over every axis but the last."""
    c = x.shape[-1]
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    var = (centered**2).mean(axis=-1, keepdims=True)
    std_inv = 1 / np.sqrt(var + epsilon)
    dbeta = _channels(dy).sum(axis=0)
    dn = dy * (1 if gamma is None else gamma)  # d loss / d (normalized x)
    if rms_scaling:
        normalized = x * std_inv
        dvar = (dn * x).sum(axis=-1, keepdims=True) * -0.5 * std_inv**3
        dx = dn * std_inv + dvar * 2 * centered / c  # the mean's term sums to zero
    else:
        normalized = centered * std_inv
        dvar = (dn * centered).sum(axis=-1, keepdims=True) * -0.5 * std_inv**3
        dmean = -(dn * std_inv).sum(axis=-1, keepdims=True) + dvar * (-2 * centered).mean(
            axis=-1, keepdims=True
        )
        dx = dn * std_inv + dvar * 2 * centered / c + dmean / c
    dgamma = _channels(dy * normalized).sum(axis=0)
    return dx, dgamma, dbeta
