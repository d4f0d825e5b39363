"""Keras 3 loss functions (torch backend semantics) with gradients.

Each loss ``f(y_true, y_pred, ...)`` returns the per-sample loss (Keras: the
last axis is reduced).  ``value_and_grad`` returns the ``sum_over_batch_size``
scalar (mean of the per-sample losses) and its gradient w.r.t. ``y_pred``.

Probabilities are clipped to [EPSILON, 1 - EPSILON] (the gradient is zero
where the clip is active); categorical cross-entropies first divide by the row
sum; logits go through a stable log-softmax / BCE-with-logits.
"""

import numpy as np

from . import activations

EPSILON = 1e-7
HUBER_DELTA = 1.0


def align(y_true, y_pred):
    """Keras ``squeeze_or_expand_to_same_rank`` (expand_rank_1=True)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        else:
            y_true = y_true[..., 0]
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            y_true = y_true[:, None]
        else:
            y_pred = y_pred[..., 0]
    return y_true, y_pred


def _prepare(y_true, y_pred):
    y_pred = np.asarray(y_pred)
    if not np.issubdtype(y_pred.dtype, np.floating):
        y_pred = y_pred.astype(np.float64)
    y_true, y_pred_aligned = align(np.asarray(y_true, dtype=y_pred.dtype), y_pred)
    return y_true, y_pred_aligned, y_pred.shape


def _clip(p):
    """Clip to [eps, 1 - eps] in p's dtype; also return the pass-through mask."""
    lo = p.dtype.type(EPSILON)
    hi = p.dtype.type(1.0 - EPSILON)
    return np.clip(p, lo, hi), (p >= lo) & (p <= hi)


# Each _name(y_true, y_pred, ...) returns (per_sample_loss, d sum(per_sample) / d y_pred)
# for already-aligned arrays.


def _mse(t, p):
    d = p.shape[-1]
    diff = p - t
    return np.mean(diff * diff, axis=-1), 2 * diff / d


def _mae(t, p):
    d = p.shape[-1]
    diff = p - t
    return np.mean(np.abs(diff), axis=-1), np.sign(diff) / d


def _huber(t, p, delta=HUBER_DELTA):
    d = p.shape[-1]
    delta = p.dtype.type(delta)
    err = p - t
    quadratic = np.abs(err) <= delta
    per_elem = np.where(quadratic, 0.5 * err * err, delta * np.abs(err) - 0.5 * delta * delta)
    grad = np.where(quadratic, err, delta * np.sign(err))
    return np.mean(per_elem, axis=-1), grad / d


def _bce(t, p, from_logits=False):
    d = p.shape[-1]
    if from_logits:
        # max(x, 0) - x t + log(1 + exp(-|x|))
        per_elem = np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p)))
        grad = activations.sigmoid(p) - t
    else:
        q, mask = _clip(p)
        one = p.dtype.type(1.0)
        log_q = np.maximum(np.log(q), -100)
        log_1mq = np.maximum(np.log(one - q), -100)
        per_elem = -(t * log_q + (one - t) * log_1mq)
        grad = np.where(mask, (q - t) / (q * (one - q)), 0)
    return np.mean(per_elem, axis=-1), (grad / d).astype(p.dtype)


def _cce(t, p, from_logits=False):
    if from_logits:
        shifted = p - np.max(p, axis=-1, keepdims=True)
        log_prob = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
        grad = np.exp(log_prob) * np.sum(t, axis=-1, keepdims=True) - t
        return -np.sum(t * log_prob, axis=-1), grad
    s = np.sum(p, axis=-1, keepdims=True)
    q, mask = _clip(p / s)
    per_sample = -np.sum(t * np.log(q), axis=-1)
    # d/dq = -t/q (zero where clipped); q = p / s  =>  dp = (dq - sum(dq * q)) / s
    dq = np.where(mask, -t / q, 0)
    normalized = p / s
    grad = (dq - np.sum(dq * normalized, axis=-1, keepdims=True)) / s
    return per_sample, grad


def _sparse_labels(y_true, y_pred):
    y_true = np.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return y_true.astype(np.int64)


def _one_hot(labels, num_classes, dtype):
    return np.eye(num_classes, dtype=dtype)[labels]


def per_sample_and_grad(name, y_true, y_pred, from_logits=False, **kwargs):
    """Per-sample losses and d(sum of per-sample losses)/d y_pred."""
    if name == "sparse_categorical_crossentropy":
        y_pred = np.asarray(y_pred)
        labels = _sparse_labels(y_true, y_pred)
        one_hot = _one_hot(labels, y_pred.shape[-1], y_pred.dtype)
        return _cce(one_hot, y_pred, from_logits=from_logits)
    fn = _LOSSES[name]
    t, p, shape = _prepare(y_true, y_pred)
    if name in ("binary_crossentropy", "categorical_crossentropy"):
        kwargs["from_logits"] = from_logits
    loss, grad = fn(t, p, **kwargs)
    return loss, grad.reshape(shape)


def value_and_grad(name, y_true, y_pred, from_logits=False, **kwargs):
    """sum_over_batch_size loss (mean of per-sample losses) and its gradient."""
    loss, grad = per_sample_and_grad(name, y_true, y_pred, from_logits, **kwargs)
    return float(np.mean(loss)), grad / loss.size


def mean_squared_error(y_true, y_pred):
    return per_sample_and_grad("mean_squared_error", y_true, y_pred)[0]


def mean_absolute_error(y_true, y_pred):
    return per_sample_and_grad("mean_absolute_error", y_true, y_pred)[0]


def huber(y_true, y_pred, delta=HUBER_DELTA):
    return per_sample_and_grad("huber", y_true, y_pred, delta=delta)[0]


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return per_sample_and_grad("binary_crossentropy", y_true, y_pred, from_logits)[0]


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return per_sample_and_grad("categorical_crossentropy", y_true, y_pred, from_logits)[0]


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return per_sample_and_grad("sparse_categorical_crossentropy", y_true, y_pred, from_logits)[0]


_LOSSES = {
    "mean_squared_error": _mse,
    "mean_absolute_error": _mae,
    "huber": _huber,
    "binary_crossentropy": _bce,
    "categorical_crossentropy": _cce,
}

NAMES = tuple(_LOSSES) + ("sparse_categorical_crossentropy",)
HAS_FROM_LOGITS = (
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
)
