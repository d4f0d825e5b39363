"""Losses with Keras 3 definitions, computed by the native core.

Functions (`binary_crossentropy(y_true, y_pred)`) return one loss per sample (the mean over
the last axis; a sum over classes for the categorical ones). Classes reduce a batch to
`sum(sample_weight * per_sample) / batch_size` as Keras's "sum_over_batch_size". All of
them can be given to `Model.compile(loss=...)`, as can their names.
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
    batch loss as a float."""

    def __init__(self, spec: LossSpec, name: str, reduction: str = "sum_over_batch_size"):
        if reduction != "sum_over_batch_size":
            raise ValueError(f"reduction {reduction!r} is not supported; use 'sum_over_batch_size'")
        self._spec = spec
        self.name = name
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        values = _per_sample(self._spec, y_true, y_pred)
        if sample_weight is not None:
            values = values * np.asarray(sample_weight, dtype=values.dtype)
        return float(values.sum() / values.size)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class MeanSquaredError(Loss):
    """Mean squared error."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(LossSpec("mean_squared_error"), name, reduction)


class MeanAbsoluteError(Loss):
    """Mean absolute error."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(LossSpec("mean_absolute_error"), name, reduction)


class Huber(Loss):
    """Huber loss with threshold `delta` (default 1.0)."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        super().__init__(LossSpec("huber", delta=float(delta)), name, reduction)
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
        super().__init__(spec, name, reduction)
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
        super().__init__(
            LossSpec("sparse_categorical_crossentropy", bool(from_logits)), name, reduction
        )
        self.from_logits = from_logits

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "ignore_class": None}


_CLASSES = {
    cls.__name__: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        Huber,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
    )
}


def get(identifier):
    """Returns a loss function or object from a name, a function of this module or a Loss."""
    if isinstance(identifier, Loss) or identifier in _FUNCTIONS:
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss) and identifier is not Loss:
        return identifier()
    if isinstance(identifier, str):
        name = _ALIASES.get(identifier, identifier)
        for fn, fn_name in _FUNCTIONS.items():
            if fn_name == name:
                return fn
        if name in _CLASSES:
            return _CLASSES[name]()
        raise ValueError(
            f"Unknown loss {identifier!r}. Valid losses: "
            f"{', '.join(sorted(set(_FUNCTIONS.values()) | set(_ALIASES)))}"
        )
    raise ValueError(
        f"Loss {identifier!r} is not supported: eigennet computes losses natively, so use a "
        "name, a function of eigennet.losses or one of its classes"
    )


def spec_of(identifier) -> LossSpec:
    """The native description of a loss given as anything `get` accepts."""
    loss = get(identifier)
    if isinstance(loss, Loss):
        return loss._spec
    return LossSpec(_FUNCTIONS[loss])
