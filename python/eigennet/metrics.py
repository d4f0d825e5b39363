"""Metrics. In `fit`/`evaluate` they accumulate natively; the classes can also be used on
their own with `update_state`, `result` and `reset_state`, as in Keras."""

from __future__ import annotations

import numpy as np

from eigennet import _correlation_metrics as _correlation
from eigennet import losses as _losses
from eigennet import ops as _ops
from eigennet._confusion_metrics import (
    AUC,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
)
from eigennet._correlation_metrics import concordance_correlation, pearson_correlation
from eigennet._f_score_metrics import F1Score, FBetaScore
from eigennet._iou_metrics import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from eigennet._metric_base import Metric, as_values, auto_name
from eigennet._regression_metrics import R2Score


def _pair(y_true, y_pred):
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.float64)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    return y_true, y_pred


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """Per sample: the fraction of outputs where `(y_pred > threshold) == y_true`."""
    y_true, y_pred = _pair(y_true, y_pred)
    return np.mean(y_true == (y_pred > threshold), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """Per sample: 1.0 where argmax(y_pred) equals argmax(y_true)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per sample: 1.0 where argmax(y_pred) equals the integer label."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true).reshape(y_pred.shape[:-1])
    return (y_true == np.argmax(y_pred, axis=-1)).astype(np.float64)


def _in_top_k(target_index, y_pred, k):
    """Keras (torch backend): in the top k when fewer than k scores are strictly larger."""
    target_score = np.take_along_axis(y_pred, target_index[..., None], axis=-1)
    return ((y_pred > target_score).sum(axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """Per sample: 1.0 where the one-hot label's class is among the k highest scores."""
    y_pred = np.asarray(y_pred)
    return _in_top_k(np.argmax(np.asarray(y_true), axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """Per sample: 1.0 where the integer label is among the k highest scores."""
    y_pred = np.asarray(y_pred)
    labels = np.asarray(y_true).reshape(y_pred.shape[:-1]).astype(np.int64)
    return _in_top_k(labels, y_pred, k)


mean_squared_error = _losses.mean_squared_error
mean_absolute_error = _losses.mean_absolute_error
mse = mean_squared_error
mae = mean_absolute_error


class MeanMetricWrapper(Metric):
    """The weighted mean of a per-sample function (how Keras wraps accuracy, mse, mae). A
    Python function written with keras.ops is traced and runs natively in fit/evaluate."""

    def __init__(self, fn, name: str | None = None, dtype=None, **fn_kwargs):
        super().__init__(name or fn.__name__, dtype)
        self._fn, self._fn_kwargs = fn, fn_kwargs
        if not self._native:  # a Python function: state in variables, updated with ops
            self._total = self.add_variable((), name="total")
            self._count = self.add_variable((), name="count")
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self._native:
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
            weights = _ops.ones_like(values)
            if sample_weight is not None:
                weights = _ops.multiply(weights, _per_sample_weights(sample_weight, values))
            self._total.assign_add(_ops.sum(_ops.multiply(values, weights)))
            self._count.assign_add(_ops.sum(weights))
            return
        values = np.asarray(self._fn(y_true, y_pred, **self._fn_kwargs), dtype=np.float64).ravel()
        weights = (
            np.ones_like(values)
            if sample_weight is None
            else np.broadcast_to(np.asarray(sample_weight, dtype=np.float64).ravel(), values.shape)
        )
        self._total += float(np.sum(values * weights))
        self._count += float(np.sum(weights))

    def result(self):
        if not self._native:
            return _divide_no_nan(self._total, self._count)
        return self._total / self._count if self._count else 0.0

    def reset_state(self):
        if not self._native:
            return Metric.reset_state(self)
        self._total = self._count = 0.0


def _per_sample_weights(sample_weight, values):
    """Sample weights shaped to broadcast against per-sample `values` (batch axis first)."""
    rank = len(_ops.shape(values))
    weight_rank = len(_ops.shape(sample_weight))
    if rank > weight_rank:
        sample_weight = _ops.expand_dims(sample_weight, list(range(weight_rank, rank)))
    return sample_weight


def _divide_no_nan(total, count):
    """total / count, 0 where count is 0 (Keras's divide_no_nan)."""
    safe = _ops.where(_ops.equal(count, 0.0), 1.0, count)
    return _ops.where(_ops.equal(count, 0.0), 0.0, _ops.divide(total, safe))


class Mean(Metric):
    """The weighted mean of the values given to `update_state(values, sample_weight=None)`."""

    def __init__(self, name: str = "mean", dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None):
        values = _ops.convert_to_tensor(values)
        weights = _ops.ones_like(values)
        if sample_weight is not None:
            weights = _ops.multiply(weights, _per_sample_weights(sample_weight, values))
        self.total.assign_add(_ops.sum(_ops.multiply(values, weights)))
        self.count.assign_add(_ops.sum(weights))

    def result(self):
        return _divide_no_nan(self.total, self.count)


class Sum(Metric):
    """The weighted sum of the values given to `update_state(values, sample_weight=None)`."""

    def __init__(self, name: str = "sum", dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None):
        values = _ops.convert_to_tensor(values)
        if sample_weight is not None:
            values = _ops.multiply(values, _per_sample_weights(sample_weight, values))
        self.total.assign_add(_ops.sum(values))

    def result(self):
        return self.total + 0.0


class _ConfusionCount(Metric):
    """A count of one cell of the confusion matrix at each threshold (Keras's
    TruePositives & co.): predictions above a threshold are positive, labels are 0 or 1."""

    _predicted, _actual = True, True

    def __init__(self, thresholds=None, name: str | None = None, dtype=None):
        super().__init__(name or auto_name(type(self)), dtype)
        one = thresholds is None or np.ndim(thresholds) == 0
        self._thresholds = np.atleast_1d(0.5 if thresholds is None else thresholds).astype(float)
        if np.any((self._thresholds < 0) | (self._thresholds > 1)):
            raise ValueError(f"thresholds must be in [0, 1], got {thresholds!r}")
        self._scalar = one
        self.accumulator = self.add_variable(() if one else (len(self._thresholds),), name="acc")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _ops.convert_to_tensor(y_pred)
        rank = len(_ops.shape(y_pred))
        pred = _ops.greater(_ops.expand_dims(y_pred, -1), self._thresholds)  # (..., thresholds)
        actual = _ops.expand_dims(_ops.cast(_ops.not_equal(y_true, 0.0), "float32"), -1)
        if not self._predicted:
            pred = _ops.subtract(1.0, pred)
        if not self._actual:
            actual = _ops.subtract(1.0, actual)
        hits = _ops.multiply(pred, actual)
        if sample_weight is not None:
            weights = _per_sample_weights(sample_weight, y_pred)
            hits = _ops.multiply(hits, _ops.expand_dims(weights, -1))
        counts = _ops.sum(hits, axis=list(range(rank)))
        self.accumulator.assign_add(_ops.reshape(counts, ()) if self._scalar else counts)

    def result(self):
        return self.accumulator + 0.0

    def get_config(self) -> dict:
        thresholds = float(self._thresholds[0]) if self._scalar else self._thresholds.tolist()
        return {**super().get_config(), "thresholds": thresholds}


class TruePositives(_ConfusionCount):
    """Positives predicted positive."""


class FalsePositives(_ConfusionCount):
    """Negatives predicted positive."""

    _actual = False


class TrueNegatives(_ConfusionCount):
    """Negatives predicted negative."""

    _predicted, _actual = False, False


class FalseNegatives(_ConfusionCount):
    """Positives predicted negative."""

    _predicted = False


class BinaryAccuracy(MeanMetricWrapper):
    """How often `y_pred > threshold` equals the binary label (threshold 0.5)."""

    _native = "binary_accuracy"
    _direction = "up"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name, dtype, threshold=threshold)
        self.threshold = self._threshold = threshold

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches argmax of the one-hot label."""

    _native = "categorical_accuracy"
    _direction = "up"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches the integer label."""

    _native = "sparse_categorical_accuracy"
    _direction = "up"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name, dtype)


class MeanSquaredError(MeanMetricWrapper):
    """Mean squared error."""

    _native = "mean_squared_error"

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name, dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean absolute error."""

    _native = "mean_absolute_error"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name, dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the `k` (default 5) highest scores."""

    _native = "top_k_categorical_accuracy"
    _direction = "up"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name, dtype, k=k)
        self.k = self._threshold = int(k)

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the `k` (default 5) highest scores."""

    _native = "sparse_top_k_categorical_accuracy"
    _direction = "up"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype, k=k)
        self.k = self._threshold = int(k)

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class RootMeanSquaredError(MeanMetricWrapper):
    """The square root of the mean squared error."""

    _native = "root_mean_squared_error"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name, dtype)

    def result(self) -> float:
        return float(np.sqrt(super().result()))


kl_divergence = _losses.kl_divergence
poisson = _losses.poisson
log_cosh = _losses.log_cosh
hinge = _losses.hinge
squared_hinge = _losses.squared_hinge
categorical_hinge = _losses.categorical_hinge
mean_squared_logarithmic_error = _losses.mean_squared_logarithmic_error
mean_absolute_percentage_error = _losses.mean_absolute_percentage_error


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per sample: sum(l2_normalize(y_true) * l2_normalize(y_pred), axis) (the similarity;
    the loss is its negative)."""
    from eigennet._more_losses import cosine_similarity_metric

    return cosine_similarity_metric(y_true, y_pred, axis=axis)


binary_crossentropy = _losses.binary_crossentropy
categorical_crossentropy = _losses.categorical_crossentropy
sparse_categorical_crossentropy = _losses.sparse_categorical_crossentropy


def _only_last_axis(metric: str, axis) -> None:
    if axis != -1:
        raise ValueError(f"{metric}: only axis=-1 (the class axis last) is supported, got {axis}")


class BinaryCrossentropy(MeanMetricWrapper):
    """Binary cross-entropy as a metric (`from_logits`, `label_smoothing`), traced."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):  # fmt: skip
        super().__init__(binary_crossentropy, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)  # fmt: skip
        self.from_logits, self.label_smoothing = from_logits, label_smoothing

    def get_config(self):
        extra = {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}
        return {**super().get_config(), **extra}


class CategoricalCrossentropy(MeanMetricWrapper):
    """Categorical cross-entropy on one-hot targets as a metric, traced."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):  # fmt: skip
        _only_last_axis("CategoricalCrossentropy", axis)
        super().__init__(categorical_crossentropy, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)  # fmt: skip
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def get_config(self):
        extra = {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing}
        return {**super().get_config(), **extra, "axis": self.axis}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Categorical cross-entropy on integer labels as a metric, traced."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):  # fmt: skip
        _only_last_axis("SparseCategoricalCrossentropy", axis)
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy(ignore_class=...) is not supported")
        super().__init__(sparse_categorical_crossentropy, name, dtype, from_logits=from_logits)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    def get_config(self):
        extra = {"from_logits": self.from_logits, "ignore_class": None, "axis": self.axis}
        return {**super().get_config(), **extra}


def _exact_match(y_true, y_pred):
    y_true, y_pred = _losses._align(y_true, y_pred)
    return _ops.cast(_ops.equal(y_true, y_pred), "float32")


class Accuracy(MeanMetricWrapper):
    """How often y_pred equals y_true exactly (Keras's `metrics.Accuracy`; the string
    "accuracy" picks binary, categorical or sparse accuracy from the shapes instead)."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(_exact_match, name, dtype)


class KLDivergence(MeanMetricWrapper):
    """Kullback-Leibler divergence (traced, runs natively in fit/evaluate)."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name, dtype)


class Poisson(MeanMetricWrapper):
    """Poisson: mean(y_pred - y_true * log(y_pred + 1e-7))."""

    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name, dtype)


class LogCoshError(MeanMetricWrapper):
    """Logarithm of the hyperbolic cosine of the prediction error (Keras's name "logcosh")."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name, dtype)


class CosineSimilarity(MeanMetricWrapper):
    """Cosine similarity of y_true and y_pred along `axis` (default -1)."""

    _direction = "up"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name, dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Hinge(MeanMetricWrapper):
    """Hinge loss as a metric; 0/1 labels become -1/1."""

    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name, dtype)


class SquaredHinge(MeanMetricWrapper):
    """Squared hinge loss as a metric; 0/1 labels become -1/1."""

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name, dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Categorical hinge loss as a metric."""

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name, dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean squared logarithmic error."""

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name, dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean absolute percentage error."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name, dtype)


PearsonCorrelation = _correlation._wrapper_class(
    "pearson_correlation",
    pearson_correlation,
    "The mean over samples of the Pearson correlation along `axis` (default -1).",
)
ConcordanceCorrelation = _correlation._wrapper_class(
    "concordance_correlation",
    concordance_correlation,
    "The mean over samples of Lin's concordance correlation along `axis` (default -1).",
)
huber = _losses.huber
binary_focal_crossentropy = _losses.binary_focal_crossentropy
categorical_focal_crossentropy = _losses.categorical_focal_crossentropy

_BY_NAME = {
    "binary_crossentropy": BinaryCrossentropy,
    "pearson_correlation": PearsonCorrelation,
    "concordance_correlation": ConcordanceCorrelation,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence,
    "poisson": Poisson,
    "log_cosh_error": LogCoshError,
    "cosine_similarity": CosineSimilarity,
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "precision": Precision,
    "recall": Recall,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "root_mean_squared_error": RootMeanSquaredError,
    "auc": AUC,
    "f1_score": F1Score,
    "f_beta_score": FBetaScore,
    "r2_score": R2Score,
}
_BY_FUNCTION = {
    binary_crossentropy: BinaryCrossentropy,
    pearson_correlation: PearsonCorrelation,
    concordance_correlation: ConcordanceCorrelation,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    kl_divergence: KLDivergence,
    poisson: Poisson,
    log_cosh: LogCoshError,
    cosine_similarity: CosineSimilarity,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
}
_BY_CLASS_NAME = {cls.__name__: cls for cls in set(_BY_NAME.values())}
_BY_CLASS_NAME.update(
    {
        c.__name__: c
        for c in (
            IoU,
            MeanIoU,
            BinaryIoU,
            OneHotIoU,
            OneHotMeanIoU,
            PrecisionAtRecall,
            RecallAtPrecision,
            SensitivityAtSpecificity,
            SpecificityAtSensitivity,
        )
    }  # (they take arguments: no names of their own)
)


def resolve(identifier, y_true_shape: tuple, y_pred_shape: tuple) -> Metric:
    """The metric object `compile(metrics=[identifier])` means, named as Keras names it.

    "accuracy"/"acc" become binary, sparse or categorical accuracy from the shapes, as
    Keras 3's compile utilities decide it.
    """
    if isinstance(identifier, Metric):
        if not identifier._native and not identifier._custom:
            raise ValueError(f"Metric {identifier.name!r} has no native implementation")
        return identifier
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            y_pred_last = y_pred_shape[-1]
            is_binary = y_pred_last == 1
            is_sparse = len(y_true_shape) < len(y_pred_shape) or (
                y_true_shape[-1] == 1 and y_pred_last > 1
            )
            cls = (
                BinaryAccuracy
                if is_binary
                else (SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy)
            )
            return cls(name=identifier)
        metric = _class_named(identifier)()
        metric.name = identifier  # Keras names a metric given by name after that name
        return metric
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric) and identifier._native:
        return identifier()
    if identifier in _BY_FUNCTION:
        return _BY_FUNCTION[identifier](name=identifier.__name__)
    if isinstance(identifier, type) and issubclass(identifier, Metric):  # a custom class
        return identifier()
    if callable(identifier):  # a function written with keras.ops: traced, as Keras wraps it
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(
        f"Metric {identifier!r} is not supported: use a name or a metric of eigennet.metrics"
    )


def _class_named(name: str):
    cls = _BY_NAME.get(name) or _BY_CLASS_NAME.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown metric {name!r}. Valid metrics: accuracy, acc, {', '.join(sorted(_BY_NAME))}"
        )
    return cls


def check(identifier) -> None:
    """Raises the error `resolve` would, without creating a metric (compile-time check that
    leaves Keras's auto-name counters alone)."""
    if isinstance(identifier, str):
        if identifier not in ("accuracy", "acc"):
            _class_named(identifier)
    elif isinstance(identifier, type) and issubclass(identifier, Metric) and identifier._native:
        return
    else:
        resolve(identifier, (1, 1), (1, 1))


def serialize(metric: Metric) -> dict:
    """{"class_name": ..., "config": ...}, as Keras serializes a metric."""
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config: dict) -> Metric:
    """The metric a `serialize` dict describes."""
    if "class_name" not in config:
        raise ValueError(f"A metric config needs a 'class_name' key, got {config!r}")
    cls = _BY_CLASS_NAME.get(config["class_name"])
    if cls is None:
        known = ", ".join(sorted(_BY_CLASS_NAME))
        raise ValueError(f"Unknown metric class {config['class_name']!r}. Known: {known}")
    return cls.from_config(dict(config.get("config") or {}))


def unique_names(names) -> list[str]:
    """Keras's log keys for compiled metrics: a repeated name gets _1, _2, ..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}_{count}")
    return out


def log_values(values, metrics, sizes) -> list:
    """Splits the native logs [loss, metric values...] into one entry per name: a float, or
    for a metric reporting several values (per class or threshold) an array in its dtype,
    as Keras 3 puts them in logs, History and evaluate's result."""
    out, at = [float(values[0])], 1
    for metric, size in zip(metrics, sizes):
        dtype = getattr(metric, "_compute_dtype", "float32")
        out.append(as_values(values[at : at + size], dtype))
        at += size
    return out


def get(identifier):
    """Returns a metric object for a name, class, function or `serialize` dict (accuracy
    needs shapes: see Model.compile)."""
    if isinstance(identifier, str) and identifier in ("accuracy", "acc"):
        raise ValueError("'accuracy' is resolved from the data's shapes inside compile/fit")
    return resolve(identifier, (), ())
