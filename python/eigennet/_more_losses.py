"""Keras 3's other losses as keras.ops formulas: on arrays they compute at once, on symbolic
tensors they are traced into a native graph (losses.TracedLoss), so a model compiled with
one trains natively with no Python per batch. Each follows Keras's definition exactly
(epsilon 1e-7 clipping, label conventions); `losses.py` wraps them in the Keras classes."""

from __future__ import annotations

import numpy as np

from eigennet import config, ops
from eigennet.ops import symbolic

EPSILON = 1e-7  # Keras's backend.epsilon()


def _symbolic(*xs) -> bool:
    return any(symbolic.is_symbolic(x) for x in xs)


def squeeze_or_expand(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank(y_true, y_pred)."""
    t_rank, p_rank = len(ops.shape(y_true)), len(ops.shape(y_pred))
    if t_rank == p_rank + 1 and ops.shape(y_true)[-1] == 1:
        if p_rank == 1:
            y_pred = ops.expand_dims(y_pred, -1)
        else:
            y_true = ops.squeeze(y_true, -1)
    elif p_rank == t_rank + 1 and ops.shape(y_pred)[-1] == 1:
        if t_rank == 1:
            y_true = ops.expand_dims(y_true, -1)
        else:
            y_pred = ops.squeeze(y_pred, -1)
    return y_true, y_pred


def prepare(what: str, y_true, y_pred, align: bool = True):
    """(y_true, y_pred) in y_pred's float dtype, aligned as Keras aligns them, checked to have
    the same shape (Keras would silently broadcast a mismatch)."""
    if not _symbolic(y_true, y_pred):
        y_pred = np.asarray(y_pred)
        if y_pred.ndim == 0:
            raise ValueError(f"{what}: y_pred must have at least one dimension")
        dtype = np.float64 if y_pred.dtype == np.float64 else np.dtype(config.floatx())
        y_pred = np.ascontiguousarray(y_pred, dtype=dtype)
        y_true = np.ascontiguousarray(np.asarray(y_true), dtype=dtype)
    if align:
        y_true, y_pred = squeeze_or_expand(y_true, y_pred)
    t_shape, p_shape = tuple(ops.shape(y_true)), tuple(ops.shape(y_pred))
    if len(t_shape) != len(p_shape) or t_shape[1:] != p_shape[1:]:
        raise ValueError(
            f"{what}: y_true of shape {t_shape} does not match y_pred of shape {p_shape} "
            "(they must have the same shape)"
        )
    if not _symbolic(y_true, y_pred) and t_shape[0] != p_shape[0]:
        raise ValueError(f"{what}: y_true has {t_shape[0]} samples, y_pred {p_shape[0]}")
    return y_true, y_pred


def _check_axis(what: str, axis, rank: int):
    if axis is None:
        return
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{what}: `axis` must be an int or None, got {axis!r}")
    if not -rank <= axis < rank:
        raise ValueError(f"{what}: axis {axis} is out of range for inputs of rank {rank}")


def _hinge_labels(y_true):
    """Keras's convert_binary_labels_to_hinge: 0/1 labels become -1/1 when every label in the
    batch is 0 or 1; other labels are used as given."""
    binary = ops.logical_or(ops.equal(y_true, 0.0), ops.equal(y_true, 1.0))
    is_binary = ops.all(binary)
    return ops.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """mean(maximum(1 - y_true * y_pred, 0), axis=-1); 0/1 labels are converted to -1/1."""
    y_true, y_pred = prepare("hinge", y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1); 0/1 labels become -1/1."""
    y_true, y_pred = prepare("squared_hinge", y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.square(ops.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) (one-hot y_true)."""
    y_true, y_pred = prepare("categorical_hinge", y_true, y_pred)
    pos = ops.sum(y_true * y_pred, axis=-1)
    neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|y_true - y_pred| / maximum(|y_true|, 1e-7), axis=-1)."""
    y_true, y_pred = prepare("mean_absolute_percentage_error", y_true, y_pred)
    diff = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), EPSILON))
    return 100.0 * ops.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean(square(log(maximum(y_pred, eps) + 1) - log(maximum(y_true, eps) + 1)), axis=-1)."""
    y_true, y_pred = prepare("mean_squared_logarithmic_error", y_true, y_pred)
    first = ops.log(ops.maximum(y_pred, EPSILON) + 1.0)
    second = ops.log(ops.maximum(y_true, EPSILON) + 1.0)
    return ops.mean(ops.square(first - second), axis=-1)


def _l2_normalize(x, axis):
    """Keras's ops.normalize (order 2): x * minimum(rsqrt(sum(x^2)), 1 / eps)."""
    inv_norm = ops.rsqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    return x * ops.minimum(inv_norm, 1.0 / EPSILON)


def _cosine(y_true, y_pred, axis, what):
    y_true, y_pred = prepare(what, y_true, y_pred)
    _check_axis(what, axis, len(ops.shape(y_pred)))
    return ops.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def cosine_similarity(y_true, y_pred, axis=-1):
    """The loss: -sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)."""
    return -_cosine(y_true, y_pred, axis, "cosine_similarity")


def cosine_similarity_metric(y_true, y_pred, axis=-1):
    """The metric (keras.metrics.cosine_similarity): the similarity, not its negative."""
    return _cosine(y_true, y_pred, axis, "cosine_similarity")


def log_cosh(y_true, y_pred):
    """mean(x + softplus(-2x) - log(2), axis=-1), x = y_pred - y_true."""
    y_true, y_pred = prepare("log_cosh", y_true, y_pred)
    x = y_pred - y_true
    return ops.mean(x + ops.softplus(x * -2.0) - float(np.log(2.0)), axis=-1)


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [1e-7, 1]."""
    y_true, y_pred = prepare("kl_divergence", y_true, y_pred)
    y_true = ops.clip(y_true, EPSILON, 1.0)
    y_pred = ops.clip(y_pred, EPSILON, 1.0)
    return ops.sum(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)."""
    y_true, y_pred = prepare("poisson", y_true, y_pred)
    return ops.mean(y_pred - y_true * ops.log(y_pred + EPSILON), axis=-1)


def _check_smoothing(what, label_smoothing):
    if not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"{what}: label_smoothing must be in [0, 1], got {label_smoothing!r}")


def categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """sum(alpha * (1 - p)^gamma * -y_true * log(p), axis), p = y_pred normalised to sum 1
    (softmax first when from_logits) and clipped to [1e-7, 1 - 1e-7]."""
    what = "categorical_focal_crossentropy"
    _check_smoothing(what, label_smoothing)
    y_true, y_pred = prepare(what, y_true, y_pred, align=False)
    _check_axis(what, axis, len(ops.shape(y_pred)))
    if label_smoothing:
        classes = float(ops.shape(y_true)[axis])
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    output = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
    output = ops.clip(output, EPSILON, 1.0 - EPSILON)
    cce = -y_true * ops.log(output)
    focal = ops.power(1.0 - output, float(gamma)) * float(alpha) * cce
    return ops.sum(focal, axis=axis)


def _binary_crossentropy_clipped(y_true, y_pred):
    """Keras's ops.binary_crossentropy(from_logits=False) on the torch backend."""
    out = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -(y_true * ops.log(out) + (1.0 - y_true) * ops.log(1.0 - out))


def binary_focal_crossentropy(
    y_true,
    y_pred,
    apply_class_balancing=False,
    alpha=0.25,
    gamma=2.0,
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
):
    """mean((1 - p_t)^gamma * bce, axis) with p_t = y_true * p + (1 - y_true) * (1 - p);
    weighted by alpha / 1 - alpha per label with apply_class_balancing."""
    what = "binary_focal_crossentropy"
    _check_smoothing(what, label_smoothing)
    y_true, y_pred = prepare(what, y_true, y_pred, align=False)
    _check_axis(what, axis, len(ops.shape(y_pred)))
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    bce = _binary_crossentropy_clipped(y_true, y_pred)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal_bce = ops.power(1.0 - p_t, float(gamma)) * bce
    if apply_class_balancing:
        focal_bce = (y_true * float(alpha) + (1.0 - y_true) * (1.0 - float(alpha))) * focal_bce
    return ops.mean(focal_bce, axis=axis)


def dice(y_true, y_pred, axis=None):
    """1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7), over `axis` (all
    axes, the whole batch, when None: one value)."""
    y_true, y_pred = prepare("dice", y_true, y_pred, align=False)
    _check_axis("dice", axis, len(ops.shape(y_pred)))
    intersection = ops.sum(y_true * y_pred, axis=axis)
    union = ops.sum(y_true, axis=axis) + ops.sum(y_pred, axis=axis) + EPSILON
    return 1.0 - 2.0 * intersection / union


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - tp / (tp + alpha * fp + beta * fn + 1e-7), sums over `axis` (all when None)."""
    y_true, y_pred = prepare("tversky", y_true, y_pred, align=False)
    _check_axis("tversky", axis, len(ops.shape(y_pred)))
    intersection = ops.sum(y_true * y_pred, axis=axis)
    fp = ops.sum((1.0 - y_pred) * y_true, axis=axis)
    fn = ops.sum(y_pred * (1.0 - y_true), axis=axis)
    return 1.0 - intersection / (intersection + fp * float(alpha) + fn * float(beta) + EPSILON)


def core_loss_formula(name: str, y_true, y_pred, from_logits=False, delta=1.0, label_smoothing=0.0):
    """The per-sample values of the losses the core computes natively (mean squared and
    absolute error, Huber, the three cross-entropies) as keras.ops formulas, for symbolic
    tensors: a custom loss or a metric that calls them is traced (Keras's definitions)."""
    if name == "sparse_categorical_crossentropy":
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, -1)
        if len(y_true.shape) != len(y_pred.shape) - 1:
            raise ValueError(
                f"sparse_categorical_crossentropy: labels of shape {tuple(y_true.shape)} do not "
                f"match predictions of shape {tuple(y_pred.shape)}"
            )
        target = ops.one_hot(ops.cast(y_true, "int32"), y_pred.shape[-1], dtype=y_pred.dtype)
        return -ops.sum(target * _log_probabilities(y_pred, from_logits), axis=-1)
    y_true, y_pred = prepare(name, y_true, y_pred, align=name != "categorical_crossentropy")
    y_true = ops.cast(y_true, y_pred.dtype)
    if name == "categorical_crossentropy":
        if label_smoothing:
            y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[-1]
        return -ops.sum(y_true * _log_probabilities(y_pred, from_logits), axis=-1)
    if name == "binary_crossentropy":
        if label_smoothing:
            y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
        if from_logits:
            values = ops.relu(y_pred) - y_pred * y_true + ops.log1p(ops.exp(-ops.abs(y_pred)))
        else:
            p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
            values = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
        return ops.mean(values, axis=-1)
    error = y_pred - y_true
    if name == "mean_squared_error":
        return ops.mean(ops.square(error), axis=-1)
    if name == "mean_absolute_error":
        return ops.mean(ops.abs(error), axis=-1)
    if name == "huber":
        magnitude = ops.abs(error)
        quadratic = 0.5 * ops.square(error)
        linear = delta * magnitude - 0.5 * delta * delta
        return ops.mean(ops.where(magnitude <= delta, quadratic, linear), axis=-1)
    raise ValueError(f"no formula for the loss {name!r}")


def _log_probabilities(y_pred, from_logits: bool):
    """log of the class probabilities: log_softmax of logits, or of normalized, clipped
    probabilities (Keras's)."""
    if from_logits:
        return ops.log_softmax(y_pred, axis=-1)
    p = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
    return ops.log(ops.clip(p, EPSILON, 1.0 - EPSILON))
