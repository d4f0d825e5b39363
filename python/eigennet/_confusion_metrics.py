"""Metrics on confusion counts at thresholds: Precision, Recall, AUC and the rates at a bound
on another (SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall,
RecallAtPrecision), as Keras 3's confusion_metrics, accumulated natively."""

from __future__ import annotations

import numbers

import numpy as np

from eigennet._metric_base import NativeMetric, rows_and_weights, squeeze_or_expand

EPSILON = 1e-7  # Keras's backend.epsilon(): AUC's end thresholds are -EPSILON and 1 + EPSILON
NEG_INF = -1e10  # Keras's threshold when only top_k decides


def _evenly_spaced(thresholds) -> bool:
    """Keras's is_evenly_distributed_thresholds: i / (n - 1) for n >= 3 (then Keras buckets
    predictions instead of comparing them with each threshold; the two round differently)."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=EPSILON))


def _threshold_list(thresholds, default: float) -> list[float]:
    """Keras's parse_init_thresholds: a float or a list of floats, each in [0, 1]."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or not 0 <= t <= 1]
    if bad or not values:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad or values}")
    return [float(t) for t in values]


_CURVES = {
    spelling: curve for curve in ("ROC", "PR", "PRGAIN") for spelling in (curve, curve.lower())
}
_SUMMATIONS = {
    spelling: method
    for method in ("interpolation", "majoring", "minoring")
    for spelling in (method, method.capitalize())
}


def _optional_int(value, what: str, minimum: int):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum} or None, got {value!r}")
    return int(value)


# AUC's thresholds: far more than any curve needs, few enough to fit in memory.
MAX_THRESHOLDS = 2**24


class _PrecisionRecall(NativeMetric):
    _direction = "up"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name, dtype)
        self.init_thresholds = thresholds
        self.top_k = _optional_int(top_k, "top_k", 1)
        self.class_id = _optional_int(class_id, "class_id", 0)
        self.thresholds = _threshold_list(thresholds, 0.5 if top_k is None else NEG_INF)

    def _config(self) -> dict:
        return {
            "thresholds": self.thresholds,
            "evenly": _evenly_spaced(self.thresholds),
            "top_k": self.top_k or 0,
            "class_id": -1 if self.class_id is None else self.class_id,
        }

    def _rows(self, y_true, y_pred, sample_weight):
        what = type(self).__name__
        if self.class_id is not None and y_pred.ndim == 1:
            raise ValueError(
                "When class_id is provided, y_pred must be a 2D array with shape "
                f"(num_samples, num_classes), found shape: {y_pred.shape}"
            )
        # Without top_k and class_id every value is one data point (Keras flattens).
        flatten = self.top_k is None and self.class_id is None
        batch_ranked = self.top_k is not None and squeeze_or_expand(y_true, y_pred)[1].ndim == 1
        y_true, y_pred, sw = rows_and_weights(what, y_true, y_pred, sample_weight, flatten)
        if batch_ranked:
            # Keras ranks along the last axis, which for 1-D predictions is the batch itself.
            if sw is not None and np.any(sw != sw[0]):
                raise ValueError(
                    f"{what}(top_k=...) on 1-D predictions ranks the whole batch and then "
                    "takes no per-sample weights: pass predictions of shape (samples, classes)"
                )
            w = None if sw is None else sw[:1]
            return y_true.reshape(1, -1), y_pred.reshape(1, -1), w
        return y_true, y_pred, sw

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_PrecisionRecall):
    """Precision: true positives / predicted positives.

    A prediction above a threshold is positive, a nonzero label is positive; counts are
    weighted by sample_weight and the result is 0 while nothing is predicted positive.

    Args:
        thresholds: A float or a list of floats in [0, 1] (default 0.5, or only top_k when
            top_k is set); with a list the result holds one value per threshold.
        top_k: Only each sample's k highest predictions can be positive.
        class_id: Only this class (last-axis index) counts.
        name: Name in the logs (default "precision", "precision_1", ... as Keras).
        dtype: "float32" (default) or "float64".
    """

    _native = "precision"


class Recall(_PrecisionRecall):
    """Recall: true positives / actual positives. Arguments as `Precision`."""

    _native = "recall"


class AUC(NativeMetric):
    """Area under the ROC (default) or precision-recall curve, approximated on thresholds.

    As Keras 3: predictions are counted against `num_thresholds` thresholds (evenly spaced in
    (0, 1) plus -epsilon and 1 + epsilon), then the curve is summed. Labels: nonzero is
    positive. Predictions outside [0, 1] are clipped (use from_logits=True for logits).

    Args:
        num_thresholds: Number of thresholds, > 1 (default 200).
        curve: "ROC" (default), "PR" or "PRGAIN".
        summation_method: "interpolation" (default; Davis & Goadrich's interpolation for PR),
            "minoring" or "majoring".
        name: Name in the logs (default "auc", "auc_1", ... as Keras).
        dtype: "float32" (default) or "float64".
        thresholds: Explicit thresholds in [0, 1] (num_thresholds is then ignored); the end
            points are added.
        multi_label: One AUC per label column, averaged (default False: all pooled).
        num_labels: With multi_label, the number of label columns (checked on first use).
        label_weights: Per-column weights (pooled counts, or the average with multi_label).
        from_logits: Apply a sigmoid to the predictions first.
    """

    _native = "auc"
    _direction = "up"

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_threshold_list(thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
            evenly = _evenly_spaced(np.array([0.0, *inner, 1.0]))
        else:
            if (
                isinstance(num_thresholds, bool)
                or not isinstance(num_thresholds, numbers.Integral)
                or num_thresholds <= 1
            ):
                raise ValueError(
                    "Argument `num_thresholds` must be an integer > 1. "
                    f"Received: num_thresholds={num_thresholds}"
                )
            if num_thresholds > MAX_THRESHOLDS:  # a crafted config must not take all memory
                raise ValueError(
                    f"Argument `num_thresholds` must be at most {MAX_THRESHOLDS}. "
                    f"Received: num_thresholds={num_thresholds}"
                )
            self.num_thresholds = int(num_thresholds)
            n = self.num_thresholds
            inner = [(i + 1) * 1.0 / (n - 1) for i in range(n - 2)]
            evenly = True
        self._thresholds = [0.0 - EPSILON, *inner, 1.0 + EPSILON]
        self._evenly = evenly
        self.curve = _choice(curve, "curve", _CURVES)
        self.summation_method = _choice(summation_method, "summation_method", _SUMMATIONS)
        super().__init__(name, dtype)
        self.multi_label = bool(multi_label)
        if num_labels is not None and not self.multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self.num_labels = _optional_int(num_labels, "num_labels", 1)
        self.label_weights = None
        if label_weights is not None:
            weights = np.asarray(label_weights, dtype=np.float64).reshape(-1)
            if not np.all(weights >= 0):
                raise ValueError(f"label_weights must be non-negative, got {label_weights!r}")
            self.label_weights = weights
        self._from_logits = bool(from_logits)

    @property
    def thresholds(self) -> list[float]:
        """The thresholds used, with the end points -epsilon and 1 + epsilon."""
        return list(self._thresholds)

    def _config(self) -> dict:
        return {
            "thresholds": self._thresholds,
            "evenly": self._evenly,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "from_logits": self._from_logits,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels or 0,
            "label_weights": None if self.label_weights is None else list(self.label_weights),
        }

    def _rows(self, y_true, y_pred, sample_weight):
        if self.multi_label and y_pred.ndim != 2:
            raise ValueError(
                "`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                f"{y_pred.ndim}. Full shape received for `y_pred`: {y_pred.shape}"
            )
        flatten = not self.multi_label and self.label_weights is None
        return rows_and_weights("AUC", y_true, y_pred, sample_weight, flatten)

    def get_config(self) -> dict:
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


def _choice(value, what: str, spellings: dict) -> str:
    """Keras's AUCCurve/AUCSummationMethod.from_str: `spellings` maps each accepted spelling
    to the canonical value."""
    if isinstance(value, str) and value in spellings:
        return spellings[value]
    expected = sorted(set(spellings.values()))
    raise ValueError(f"Invalid AUC {what} value: {value!r}. Expected values are {expected}")


class _RateAtRate(_PrecisionRecall):
    """Keras's SensitivitySpecificityBase: the largest of one rate over `num_thresholds`
    evenly spaced thresholds where another rate is at least the bound given; 0 when no
    threshold reaches it."""

    _bound_name = ""  # the constructor argument holding the bound ("specificity", ...)

    def __init__(self, bound, num_thresholds=200, class_id=None, name=None, dtype=None):
        what = type(self).__name__
        if isinstance(bound, bool) or not isinstance(bound, numbers.Real) or not 0 <= bound <= 1:
            raise ValueError(
                f"Argument `{self._bound_name}` must be in the range [0, 1]. "
                f"Received: {self._bound_name}={bound}"
            )
        n = _optional_int(num_thresholds, f"{what} num_thresholds", 1)
        if n is None or n > MAX_THRESHOLDS:
            raise ValueError(f"{what}: num_thresholds must be an integer in [1, {MAX_THRESHOLDS}]")
        thresholds = [0.5] if n == 1 else [0.0] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1.0]
        super().__init__(thresholds, None, class_id, name, dtype)
        self.num_thresholds = n
        self._threshold = float(bound)
        setattr(self, self._bound_name, bound)

    def _config(self) -> dict:
        return {**super()._config(), "threshold": self._threshold}

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "dtype": self._compute_dtype,
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self._bound_name: getattr(self, self._bound_name),
        }


class SensitivityAtSpecificity(_RateAtRate):
    """The best sensitivity (recall) where the specificity is at least `specificity`."""

    _native = "sensitivity_at_specificity"
    _bound_name = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_RateAtRate):
    """The best specificity where the sensitivity (recall) is at least `sensitivity`."""

    _native = "specificity_at_sensitivity"
    _bound_name = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_RateAtRate):
    """The best precision where the recall is at least `recall`."""

    _native = "precision_at_recall"
    _bound_name = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_RateAtRate):
    """The best recall where the precision is at least `precision`."""

    _native = "recall_at_precision"
    _bound_name = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
