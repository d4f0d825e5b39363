"""NumPy references of Keras 3's threshold, F-score and R2 metrics (keras/src/metrics).

Written from Keras's definitions, deliberately the slow direct way: a dense
(threshold x value) comparison matrix instead of the native per-bucket histogram.
Predictions are compared in float32 as Keras's float32 metric variables do, and
the evenly-spaced-threshold rule (bucket = ceil(p * (n - 1)) - 1 in float32) is
kept apart from the plain `p > threshold` rule because they differ at the
thresholds themselves. Sums are in float64.
"""

import numpy as np

EPSILON = 1e-7
NEG_INF = -1e10


def auc_thresholds(num_thresholds=200, thresholds=None):
    """AUC's thresholds with the end points, and whether Keras takes the evenly-spaced path."""
    if thresholds is not None:
        inner = sorted(float(t) for t in thresholds)
        evenly = evenly_spaced([0.0, *inner, 1.0])
    else:
        inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        evenly = True
    return np.array([-EPSILON, *inner, 1 + EPSILON]), evenly


def evenly_spaced(thresholds):
    n = len(thresholds)
    if n < 3:
        return False
    return bool(np.allclose(thresholds, np.arange(n, dtype=np.float32) / (n - 1), atol=EPSILON))


def exceeds(pred, thresholds, evenly):
    """Boolean (thresholds, values): prediction counted positive at each threshold."""
    p = np.asarray(pred, dtype=np.float32).reshape(-1)
    t = np.asarray(thresholds, dtype=np.float64)
    n = len(t)
    if evenly:
        clipped = np.clip(p, np.float32(0), np.float32(1))
        with np.errstate(invalid="ignore"):
            bucket = np.ceil(clipped * np.float32(n - 1)) - 1
        if t[0] < 0 or t[-1] > 1:
            bucket = np.maximum(bucket, 0)
        bucket = np.where(np.isnan(p), -1, bucket)
        return np.arange(n)[:, None] <= bucket[None, :]
    return p[None, :] > t.astype(np.float32)[:, None]


def confusion(y_true, y_pred, thresholds, evenly, weights=None):
    """(tp, fp, tn, fn) per threshold over flattened values; weights per value."""
    label = np.asarray(y_true).reshape(-1) != 0
    w = np.ones(label.shape) if weights is None else np.asarray(weights, float).reshape(-1)
    pos = exceeds(y_pred, thresholds, evenly)
    tp = (pos & label).astype(float) @ w
    fp = (pos & ~label).astype(float) @ w
    fn = (~pos & label).astype(float) @ w
    tn = (~pos & ~label).astype(float) @ w
    return tp, fp, tn, fn


def _dnn(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    out = np.zeros(a.shape)
    np.divide(a, b, out=out, where=b != 0)
    return out


def area(tp, fp, tn, fn, curve="ROC", summation_method="interpolation"):
    """Keras AUC.result() for one label's counts."""
    if curve == "PR" and summation_method == "interpolation":
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _dnn(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _dnn(p[:-1], np.maximum(p[1:], 0)), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            inc = _dnn(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
        return float(inc.sum())
    recall = _dnn(tp, tp + fn)
    if curve == "ROC":
        x, y = _dnn(fp, fp + tn), recall
    elif curve == "PR":
        x, y = recall, _dnn(tp, tp + fp)
    else:
        scale = _dnn(tp + fn, tn + fp)
        x = np.where(tp == 0, 0.0, np.maximum(1 - scale * _dnn(fn, tp), 0))
        y = np.where(tp == 0, 1.0, 1 - scale * _dnn(fp, tp))
    if summation_method == "interpolation":
        h = (y[:-1] + y[1:]) / 2
    elif summation_method == "minoring":
        h = np.minimum(y[:-1], y[1:])
    else:
        h = np.maximum(y[:-1], y[1:])
    return float(((x[:-1] - x[1:]) * h).sum())


def auc(
    y_true,
    y_pred,
    sample_weight=None,
    num_thresholds=200,
    curve="ROC",
    summation_method="interpolation",
    thresholds=None,
    multi_label=False,
    label_weights=None,
    from_logits=False,
):
    y_true = np.asarray(y_true, float)
    y_pred = np.asarray(y_pred, np.float32)
    if from_logits:
        y_pred = (1 / (1 + np.exp(-y_pred.astype(np.float64)))).astype(np.float32)
    t, evenly = auc_thresholds(num_thresholds, thresholds)
    w = np.ones(len(y_pred)) if sample_weight is None else np.asarray(sample_weight, float)
    w = np.broadcast_to(w.reshape(-1, *([1] * (y_pred.ndim - 1))), y_pred.shape)
    if not multi_label:
        if label_weights is not None:
            w = w * np.asarray(label_weights, float)
        return area(*confusion(y_true, y_pred, t, evenly, w), curve, summation_method)
    per_label = [
        area(*confusion(y_true[:, j], y_pred[:, j], t, evenly, w[:, j]), curve, summation_method)
        for j in range(y_pred.shape[1])
    ]
    if label_weights is None:
        return float(np.mean(per_label))
    lw = np.asarray(label_weights, float)
    return float(_dnn(np.sum(np.array(per_label) * lw), lw.sum()))


def precision_recall(
    y_true, y_pred, sample_weight=None, thresholds=None, top_k=None, class_id=None
):
    """Keras Precision and Recall, one value per threshold (arrays)."""
    y_true = np.asarray(y_true, float)
    y_pred = np.asarray(y_pred, np.float32).copy()
    if thresholds is None:
        thresholds = [0.5 if top_k is None else NEG_INF]
    thresholds = list(np.atleast_1d(thresholds).astype(float))
    w = np.ones(len(y_pred)) if sample_weight is None else np.asarray(sample_weight, float)
    w = np.broadcast_to(w.reshape(-1, *([1] * (y_pred.ndim - 1))), y_pred.shape)
    if top_k is not None:  # ties: the lower index first (as TensorFlow; torch is unspecified)
        order = np.argsort(-y_pred, axis=-1, kind="stable")
        drop = np.ones(y_pred.shape, bool)
        np.put_along_axis(drop, order[..., :top_k], False, axis=-1)
        y_pred[drop] = np.float32(NEG_INF)
    if class_id is not None:
        y_true, y_pred, w = y_true[..., class_id], y_pred[..., class_id], w[..., class_id]
    tp, fp, _, fn = confusion(y_true, y_pred, thresholds, evenly_spaced(thresholds), w)
    return _dnn(tp, tp + fp), _dnn(tp, tp + fn)


def fbeta(y_true, y_pred, sample_weight=None, average=None, beta=1.0, threshold=None):
    y_true = np.asarray(y_true, float)
    y_pred = np.asarray(y_pred, np.float32)
    if threshold is None:
        top = y_pred.max(axis=-1, keepdims=True)
        pred = ((y_pred >= top) & (np.abs(y_pred) > 1e-9)).astype(float)
    else:
        pred = (y_pred > np.float32(threshold)).astype(float)
    w = np.ones((len(y_pred), 1)) if sample_weight is None else np.asarray(sample_weight, float)
    w = w.reshape(-1, 1)
    axis = None if average == "micro" else 0
    tp = np.sum(w * pred * y_true, axis=axis)
    fp = np.sum(w * pred * (1 - y_true), axis=axis)
    fn = np.sum(w * (1 - pred) * y_true, axis=axis)
    support = np.sum(w * y_true, axis=axis)
    precision = tp / (tp + fp + EPSILON)
    recall = tp / (tp + fn + EPSILON)
    f = precision * recall / (beta**2 * precision + recall + EPSILON) * (1 + beta**2)
    if average == "weighted":
        return float(np.sum(f * support / (np.sum(support) + EPSILON)))
    if average is not None:
        return float(np.mean(f))
    return f


def r2(y_true, y_pred, sample_weight=None, class_aggregation="uniform_average", num_regressors=0):
    y_true = np.asarray(y_true, float)
    y_pred = np.asarray(y_pred, float)
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred.reshape(len(y_pred), -1)
    w = np.ones((len(y_true), 1)) if sample_weight is None else np.asarray(sample_weight, float)
    w = np.broadcast_to(w.reshape(-1, 1), y_true.shape)
    mean = np.sum(w * y_true, axis=0) / np.sum(w, axis=0)
    total = np.sum(w * (y_true - mean) ** 2, axis=0)
    residual = np.sum(w * (y_true - y_pred) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = 1 - residual / total
    raw = np.where(np.isinf(raw), 0.0, raw)
    if class_aggregation == "uniform_average":
        score = np.mean(raw)
    elif class_aggregation == "variance_weighted_average":
        score = np.sum(total * raw) / np.sum(total)
    else:
        score = raw
    n, p = y_true.size, num_regressors
    if p and p < n - 1:
        score = 1 - (1 - score) * (n - 1) / (n - p - 1)
    return score
