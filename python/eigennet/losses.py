"""Losses with Keras 3 definitions, computed by the native core.

Functions (`binary_crossentropy(y_true, y_pred)`) return one loss per sample (the mean over
the last axis; a sum over classes for the categorical ones). Classes reduce a batch to
`sum(sample_weight * per_sample) / batch_size` as Keras's "sum_over_batch_size" (or as the
other Keras reductions say, when called). All of them can be given to
`Model.compile(loss=...)`, as can their names.

Keras's other losses (KLDivergence, Poisson, ..., Dice) are keras.ops formulas
(eigennet/_more_losses.py): the simple element-wise ones (NATIVE_FORMULAS) train in the
core's loss code, the others as a traced native graph (TracedLoss); none runs Python per
batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eigennet import _core, config


@dataclass(frozen=True)
class LossSpec:
    """What the native core needs to know of a loss."""

    name: str
    from_logits: bool = False
    delta: float = 1.0
    label_smoothing: float = 0.0

    def core_config(self):
        return _core.LossConfig(self.name, self.from_logits, self.delta, self.label_smoothing)


def _arrays(spec: LossSpec, y_true, y_pred):
    y_pred = np.asarray(y_pred)
    dtype = np.float64 if y_pred.dtype == np.float64 else np.dtype(config.floatx())
    y_pred = np.ascontiguousarray(y_pred, dtype=dtype)
    y_true = np.asarray(y_true)
    if y_pred.ndim == 0:
        raise ValueError("y_pred must have at least one dimension")
    if spec.name == "sparse_categorical_crossentropy":
        expected = y_pred.shape[:-1]
        if y_true.shape not in (expected, expected + (1,)):
            raise ValueError(f"sparse labels of shape {expected} expected, got {y_true.shape}")
    elif y_true.shape != y_pred.shape:
        if y_true.shape + (1,) == y_pred.shape:  # Keras expands (batch,) to (batch, 1)
            y_true = y_true[..., None]
        else:
            raise ValueError(
                f"y_true shape {y_true.shape} does not match y_pred shape {y_pred.shape}"
            )
    return np.ascontiguousarray(y_true, dtype=dtype), y_pred


def _per_sample(spec: LossSpec, y_true, y_pred) -> np.ndarray:
    from eigennet.ops import symbolic

    if symbolic.is_symbolic(y_true) or symbolic.is_symbolic(y_pred):  # a traced loss or metric
        from eigennet._more_losses import core_loss_formula

        return core_loss_formula(spec.name, y_true, y_pred, spec.from_logits, spec.delta,
                                 spec.label_smoothing)  # fmt: skip
    y_true, y_pred = _arrays(spec, y_true, y_pred)
    values = _core.loss_per_sample(
        spec.name, y_true, y_pred, spec.from_logits, spec.delta, spec.label_smoothing
    )
    return values.reshape(y_pred.shape[:-1])


def mean_squared_error(y_true, y_pred):
    """Mean of `(y_pred - y_true) ** 2` over the last axis."""
    return _per_sample(LossSpec("mean_squared_error"), y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """Mean of `abs(y_pred - y_true)` over the last axis."""
    return _per_sample(LossSpec("mean_absolute_error"), y_true, y_pred)


def huber(y_true, y_pred, delta: float = 1.0):
    """Huber loss: quadratic for |error| <= delta, linear beyond (default delta 1.0)."""
    return _per_sample(LossSpec("huber", delta=float(delta)), y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0):
    """Binary cross-entropy; probabilities are clipped to [1e-7, 1 - 1e-7]."""
    return _per_sample(
        LossSpec("binary_crossentropy", bool(from_logits), label_smoothing=float(label_smoothing)),
        y_true,
        y_pred,
    )


def categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0
):
    """Categorical cross-entropy on one-hot (or soft) targets."""
    return _per_sample(
        LossSpec(
            "categorical_crossentropy", bool(from_logits), label_smoothing=float(label_smoothing)
        ),
        y_true,
        y_pred,
    )


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False):
    """Categorical cross-entropy on integer class labels."""
    return _per_sample(
        LossSpec("sparse_categorical_crossentropy", bool(from_logits)), y_true, y_pred
    )


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

_FUNCTIONS = {
    mean_squared_error: "mean_squared_error",
    mean_absolute_error: "mean_absolute_error",
    huber: "huber",
    binary_crossentropy: "binary_crossentropy",
    categorical_crossentropy: "categorical_crossentropy",
    sparse_categorical_crossentropy: "sparse_categorical_crossentropy",
}
_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "MSE": "mean_squared_error",
    "MAE": "mean_absolute_error",
}


class Loss:
    """Base of the loss classes: `loss(y_true, y_pred, sample_weight=None)` returns the
    batch loss as a float. Subclass it with `call(y_true, y_pred)` written with keras.ops
    for a custom loss: it is traced and runs natively in training."""

    def __init__(
        self,
        name: str | None = None,
        reduction: str = "sum_over_batch_size",
        dtype=None,
        *,
        _spec: LossSpec | None = None,
    ):
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"Invalid value for argument `reduction`: {reduction!r}. Expected one of "
                "'sum', 'sum_over_batch_size', 'mean', 'mean_with_sample_weight', 'none' or None"
            )
        self._spec = _spec if _spec is not None else TracedLoss(self.call, name)
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true, y_pred):
        """A custom loss's per-sample losses (override it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define call()")

    def _values(self, y_true, y_pred) -> np.ndarray:
        """The unreduced losses (per sample, or per element for a reduced axis)."""
        if isinstance(self._spec, TracedLoss):
            if _symbolic(y_true, y_pred):
                return self._spec.function(*_align(y_true, y_pred))
            return np.asarray(self._spec.function(*_same_rank(y_true, y_pred)), dtype=float)
        return _per_sample(self._spec, y_true, y_pred)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The weighted losses reduced as `reduction` says (Keras's reduce_weighted_values):
        a float, or the weighted per-sample losses for reduction "none"/None. On symbolic
        tensors (in a layer's traced call(), e.g. an endpoint layer's add_loss) the same with
        keras.ops: a symbolic scalar."""
        if _symbolic(y_true, y_pred, sample_weight):
            return _reduce_weighted_symbolic(
                self._values(y_true, y_pred), sample_weight, self.reduction
            )
        values = np.asarray(self._values(y_true, y_pred))
        return _reduce_weighted(values, sample_weight, self.reduction)

    def _trained_spec(self):
        """The spec a model trains with; the native losses train with the batch mean only."""
        if self.reduction not in ("sum_over_batch_size", "mean"):
            raise NotImplementedError(
                f"Loss {self.name!r}: training with reduction={self.reduction!r} is not "
                "supported for this loss; use 'sum_over_batch_size'"
            )
        return self._spec

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class MeanSquaredError(Loss):
    """Mean squared error."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(name, reduction, _spec=LossSpec("mean_squared_error"))


class MeanAbsoluteError(Loss):
    """Mean absolute error."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(name, reduction, _spec=LossSpec("mean_absolute_error"))


class Huber(Loss):
    """Huber loss with threshold `delta` (default 1.0)."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        super().__init__(name, reduction, _spec=LossSpec("huber", delta=float(delta)))
        self.delta = delta

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class _Crossentropy(Loss):
    """Shared arguments of the binary and categorical cross-entropies."""

    _loss_name = ""

    def __init__(self, from_logits, label_smoothing, axis, reduction, name):
        if axis != -1:
            raise ValueError("eigennet losses reduce over the last axis only (axis=-1)")
        spec = LossSpec(self._loss_name, bool(from_logits), label_smoothing=float(label_smoothing))
        super().__init__(name, reduction, _spec=spec)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": -1,
        }


class BinaryCrossentropy(_Crossentropy):
    """Binary cross-entropy (`from_logits=False`, `label_smoothing=0.0`)."""

    _loss_name = "binary_crossentropy"

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
    ):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)


class CategoricalCrossentropy(_Crossentropy):
    """Categorical cross-entropy on one-hot targets."""

    _loss_name = "categorical_crossentropy"

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
    ):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy on integer labels."""

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        reduction="sum_over_batch_size",
        name="sparse_categorical_crossentropy",
    ):
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy(ignore_class=...) is not supported yet")
        spec = LossSpec("sparse_categorical_crossentropy", bool(from_logits))
        super().__init__(name, reduction, _spec=spec)
        self.from_logits = from_logits

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "ignore_class": None}


from eigennet._more_losses import (  # noqa: E402 (Keras's other losses, traced formulas)
    _symbolic,  # noqa: E402
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    cosine_similarity,
    dice,
    hinge,
    kl_divergence,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    poisson,
    squared_hinge,
    tversky,
)
from eigennet._more_losses import squeeze_or_expand as _align  # noqa: E402

kld = KLD = kl_divergence
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error

_TRACED_FUNCTIONS = {
    fn.__name__: fn
    for fn in (
        kl_divergence,
        poisson,
        log_cosh,
        cosine_similarity,
        hinge,
        squared_hinge,
        categorical_hinge,
        mean_squared_logarithmic_error,
        mean_absolute_percentage_error,
        categorical_focal_crossentropy,
        binary_focal_crossentropy,
        tversky,
        dice,
    )
}
_ALIASES.update(
    {
        "kld": "kl_divergence",
        "KLD": "kl_divergence",
        "mape": "mean_absolute_percentage_error",
        "MAPE": "mean_absolute_percentage_error",
        "msle": "mean_squared_logarithmic_error",
        "MSLE": "mean_squared_logarithmic_error",
    }
)


class _FormulaLoss(Loss):
    """A Keras loss computed by a keras.ops formula of eigennet._more_losses: traced into the
    trainer's native graph (as a custom loss is), evaluated at once on arrays."""

    _fn = None
    _args: tuple = ()  # the names of the formula's keyword arguments, kept as attributes

    def __init__(self, reduction, name, dtype=None, **kwargs):
        if dtype not in (None, "float32", "float64"):
            raise ValueError(f"{type(self).__name__}: dtype must be None, 'float32' or 'float64'")
        self.dtype = dtype  # (the loss computes in the model's dtype)
        for key, value in kwargs.items():
            setattr(self, key, value)
        super().__init__(name, reduction, _spec=TracedLoss(self._training_values, name))
        _check_arguments(type(self).__name__, kwargs)

    def _kwargs(self) -> dict:
        return {key: getattr(self, key) for key in self._args}

    def _formula(self, y_true, y_pred):
        y_true, y_pred = _align(y_true, y_pred)  # Keras's LossFunctionWrapper.call
        return type(self)._fn(y_true, y_pred, **self._kwargs())

    def _values(self, y_true, y_pred):
        if _symbolic(y_true, y_pred):
            return self._formula(y_true, y_pred)
        y_pred = np.asarray(y_pred)
        return np.asarray(self._formula(np.asarray(y_true), y_pred))

    def _training_values(self, y_true, y_pred):
        values = self._formula(y_true, y_pred)
        if self.reduction == "sum" and len(_ops().shape(values)) > 0:
            # The trainer averages the per-sample values: times their count, that is the sum.
            values = values * _ops().sum(_ops().ones_like(values))
        return values

    def _trained_spec(self):
        if self.reduction not in ("sum_over_batch_size", "mean", "sum"):
            raise NotImplementedError(
                f"Loss {self.name!r}: training with reduction={self.reduction!r} is not "
                "supported; use 'sum_over_batch_size', 'mean' or 'sum'"
            )
        native = type(self)._fn.__name__
        if native in NATIVE_FORMULAS and self.reduction != "sum":
            return LossSpec(native)  # the element-wise ones: the core's own loss code
        return self._spec

    def get_config(self):
        return {**super().get_config(), **self._kwargs()}


def _ops():
    from eigennet import ops

    return ops


def _check_arguments(what: str, kwargs: dict) -> None:
    """Clear errors for arguments no input could make valid."""
    if "axis" in kwargs:
        axis = kwargs["axis"]
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, (int, np.integer))):
            raise ValueError(f"{what}: `axis` must be an int or None, got {axis!r}")
    if not 0.0 <= float(kwargs.get("label_smoothing", 0.0)) <= 1.0:
        raise ValueError(
            f"{what}: label_smoothing must be in [0, 1], got {kwargs['label_smoothing']!r}"
        )
    for key in ("alpha", "beta", "gamma"):
        if key in kwargs and not np.isfinite(float(kwargs[key])):
            raise ValueError(f"{what}: {key} must be a finite number, got {kwargs[key]!r}")


class KLDivergence(_FormulaLoss):
    """Kullback-Leibler divergence: sum(y_true * log(y_true / y_pred)), clipped to [1e-7, 1]."""

    _fn = staticmethod(kl_divergence)

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(reduction, name, dtype)


class Poisson(_FormulaLoss):
    """Poisson loss: mean(y_pred - y_true * log(y_pred + 1e-7))."""

    _fn = staticmethod(poisson)

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(reduction, name, dtype)


class LogCosh(_FormulaLoss):
    """Logarithm of the hyperbolic cosine of the prediction error."""

    _fn = staticmethod(log_cosh)

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(reduction, name, dtype)


class CosineSimilarity(_FormulaLoss):
    """The negative cosine similarity along `axis` (default -1)."""

    _fn = staticmethod(cosine_similarity)
    _args = ("axis",)

    def __init__(
        self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None
    ):
        super().__init__(reduction, name, dtype, axis=axis)


class Hinge(_FormulaLoss):
    """Hinge loss: mean(maximum(1 - y_true * y_pred, 0)); 0/1 labels become -1/1."""

    _fn = staticmethod(hinge)

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(reduction, name, dtype)


class SquaredHinge(_FormulaLoss):
    """Squared hinge loss; 0/1 labels become -1/1."""

    _fn = staticmethod(squared_hinge)

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(reduction, name, dtype)


class CategoricalHinge(_FormulaLoss):
    """Categorical hinge loss on one-hot targets."""

    _fn = staticmethod(categorical_hinge)

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(reduction, name, dtype)


class MeanSquaredLogarithmicError(_FormulaLoss):
    """Mean squared error of log(maximum(x, 1e-7) + 1)."""

    _fn = staticmethod(mean_squared_logarithmic_error)

    def __init__(
        self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None
    ):
        super().__init__(reduction, name, dtype)


class MeanAbsolutePercentageError(_FormulaLoss):
    """100 * mean(|y_true - y_pred| / maximum(|y_true|, 1e-7))."""

    _fn = staticmethod(mean_absolute_percentage_error)

    def __init__(
        self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None
    ):
        super().__init__(reduction, name, dtype)


class CategoricalFocalCrossentropy(_FormulaLoss):
    """Focal categorical cross-entropy (alpha 0.25, gamma 2.0)."""

    _fn = staticmethod(categorical_focal_crossentropy)
    _args = ("alpha", "gamma", "from_logits", "label_smoothing", "axis")

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_focal_crossentropy",
        dtype=None,
    ):
        super().__init__(
            reduction,
            name,
            dtype,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class BinaryFocalCrossentropy(_FormulaLoss):
    """Focal binary cross-entropy (gamma 2.0; alpha 0.25 with apply_class_balancing)."""

    _fn = staticmethod(binary_focal_crossentropy)
    _args = ("apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing", "axis")

    def __init__(
        self,
        apply_class_balancing=False,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_focal_crossentropy",
        dtype=None,
    ):
        super().__init__(
            reduction,
            name,
            dtype,
            apply_class_balancing=apply_class_balancing,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )


class Tversky(_FormulaLoss):
    """Tversky loss (alpha weighs false positives, beta false negatives; 0.5 each)."""

    _fn = staticmethod(tversky)
    _args = ("alpha", "beta", "axis")

    def __init__(
        self,
        alpha=0.5,
        beta=0.5,
        reduction="sum_over_batch_size",
        name="tversky",
        axis=None,
        dtype=None,
    ):
        super().__init__(reduction, name, dtype, alpha=alpha, beta=beta, axis=axis)


class Dice(_FormulaLoss):
    """Dice loss: 1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred))."""

    _fn = staticmethod(dice)
    _args = ("axis",)

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(reduction, name, dtype, axis=axis)


# Formulas the native core also computes (cpp/src/losses.cpp): simple element-wise losses,
# trained there for speed; the others train as traced graphs (log_cosh too: its three
# transcendental functions per element run faster as the graph's vectorised ops).
NATIVE_FORMULAS = frozenset(
    {
        "poisson",
        "mean_squared_logarithmic_error",
        "mean_absolute_percentage_error",
        "hinge",
        "squared_hinge",
    }
)
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

_CLASSES = {
    cls.__name__: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        Huber,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        KLDivergence,
        Poisson,
        LogCosh,
        CosineSimilarity,
        Hinge,
        SquaredHinge,
        CategoricalHinge,
        MeanSquaredLogarithmicError,
        MeanAbsolutePercentageError,
        CategoricalFocalCrossentropy,
        BinaryFocalCrossentropy,
        Tversky,
        Dice,
    )
}


def _reduce_weighted(values: np.ndarray, sample_weight, reduction):
    """Keras's reduce_weighted_values on arrays."""
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=values.dtype)
        sample_weight, values = _align(sample_weight, values)
        try:
            values = values * sample_weight
        except ValueError:
            raise ValueError(
                f"sample_weight of shape {sample_weight.shape} does not broadcast to the "
                f"losses' shape {values.shape}"
            ) from None
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values if values.shape else float(values)
    total = float(values.sum())
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(np.sum(sample_weight))
    else:
        divisor = float(values.size)
    return total / divisor if divisor else 0.0


def _reduce_weighted_symbolic(values, sample_weight, reduction):
    """Keras's reduce_weighted_values with keras.ops (symbolic losses)."""
    from eigennet import ops

    if sample_weight is not None:
        sample_weight, values = _align(ops.cast(sample_weight, values.dtype), values)
        values = values * sample_weight
    if reduction in (None, "none"):
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = ops.sum(sample_weight * ops.ones_like(values))
    else:
        divisor = ops.sum(ops.ones_like(values))
    return ops.divide_no_nan(total, divisor)


def get(identifier):
    """Returns a loss function or object from a name, a function of this module, a Loss, or
    a Python function `fn(y_true, y_pred)` written with keras.ops (traced, runs natively)."""
    if isinstance(identifier, Loss) or identifier in _FUNCTIONS:
        return identifier
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss) and identifier is not Loss:
        return identifier()
    if isinstance(identifier, str):
        name = _ALIASES.get(identifier, identifier)
        for fn, fn_name in _FUNCTIONS.items():
            if fn_name == name:
                return fn
        if name in _TRACED_FUNCTIONS:
            return _TRACED_FUNCTIONS[name]
        if name in _CLASSES:
            return _CLASSES[name]()
        raise ValueError(
            f"Unknown loss {identifier!r}. Valid losses: "
            f"{', '.join(sorted({*_FUNCTIONS.values(), *_ALIASES, *_TRACED_FUNCTIONS}))}"
        )
    raise ValueError(
        f"Loss {identifier!r} is not supported: eigennet computes losses natively, so use a "
        "name, a function of eigennet.losses or one of its classes"
    )


def spec_of(identifier) -> LossSpec:
    """The native description of a loss given as anything `get` accepts."""
    loss = get(identifier)
    if isinstance(loss, Loss):
        return loss._trained_spec()
    if loss in _FUNCTIONS:
        return LossSpec(_FUNCTIONS[loss])
    if getattr(loss, "__name__", None) in NATIVE_FORMULAS and loss in _TRACED_FUNCTIONS.values():
        return LossSpec(loss.__name__)
    return TracedLoss(loss, getattr(loss, "__name__", "loss"))


class TracedLoss:
    """A loss written in Python: traced into a native graph of (y_true, y_pred) when a model's
    trainer is made, so training runs it with no Python per batch."""

    name = "custom"  # (never a built-in loss's name)

    def __init__(self, function, name: str | None):
        self.function = function
        self.label = name or "loss"

    def core_config(self):
        return _core.LossConfig("mean_squared_error", False, 1.0, 0.0)  # unused: the graph rules

    def graph(self, dtype: str, y_true_shape: tuple, y_pred_shape: tuple):
        """The native graph of the loss for targets and predictions of these shapes (batch
        axis first). Keras's rule first: y_true is expanded or squeezed to y_pred's rank."""
        from eigennet.layers.input_layer import Input
        from eigennet.models.graph_builder import GraphBuilder, expand_nodes, nodes_between
        from eigennet.ops import symbolic

        if len(y_true_shape) == len(y_pred_shape) - 1 and y_pred_shape[-1] == 1:
            y_true_shape = (*y_true_shape, 1)
        elif len(y_true_shape) == len(y_pred_shape) + 1 and y_true_shape[-1] == 1:
            y_true_shape = y_true_shape[:-1]
        y_true = Input(shape=tuple(y_true_shape[1:]), dtype=dtype, name="y_true")
        y_pred = Input(shape=tuple(y_pred_shape[1:]), dtype=dtype, name="y_pred")
        with symbolic.tracing(f"loss {self.label}", [y_true, y_pred]):
            out = self.function(y_true, y_pred)
        out = symbolic.operand(out, dtype)
        if out._node.layer is y_true._node.layer or out is y_pred:
            out = out * 1.0  # a node of its own (the graph's output is a computed tensor)
        builder = GraphBuilder([y_true.shape, y_pred.shape])
        nodes = nodes_between([y_true, y_pred], [out])
        outputs = expand_nodes([y_true, y_pred], nodes, [out], builder, [0, 1], False)
        graph = getattr(_core, f"Graph_{dtype}")
        return graph(
            [list(s) for s in builder.input_shapes], builder.nodes, outputs, batched_outputs=False
        )


def _same_rank(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank for a custom loss's arrays."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return y_true, y_pred


def _snake(name: str) -> str:
    from eigennet.layers.layer import snake_case

    return snake_case(name)


def _serialization():
    from eigennet._serialization_api import kind_functions

    return kind_functions("losses", get)


serialize, deserialize = _serialization()
