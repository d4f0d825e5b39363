"""The Metric base class, and NativeMetric: metrics whose standalone `update_state`/`result`
run the same native accumulator as `fit`/`evaluate` (one implementation of each rule)."""

from __future__ import annotations

import numpy as np

from eigennet import _core, config
from eigennet.layers.layer import snake_case, unique_name


class Metric:
    """Base metric: `update_state(y_true, y_pred, sample_weight=None)`, `result()`,
    `reset_state()`."""

    # The native accumulator implementing this metric in fit/evaluate ("" when none).
    _native = ""
    # Whether larger values are better ("up") or worse ("down"), for EarlyStopping mode="auto".
    _direction = "down"
    _threshold = 0.5

    def native_spec(self) -> tuple[str, dict]:
        """(native name, arguments) of the accumulator `fit` runs for this metric."""
        return self._native, {"threshold": float(self._threshold)}

    def __init__(self, name: str | None = None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype
        self._state_sources: list = []  # a custom metric's variables (add_variable)

    # -- custom metrics: variables, and update_state/result traced (see _traced_metric) --
    @property
    def _custom(self) -> bool:
        return not self._native and type(self).update_state is not Metric.update_state

    trainable = False  # (a metric's variables are never trained)

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        """A state variable of a custom metric (Keras 3's signature)."""
        from eigennet import initializers
        from eigennet.layers.tracing import WeightSource

        shape = tuple(int(d) for d in (shape or ()))
        dtype = str(np.dtype(dtype or self.dtype or config.floatx()))
        if dtype not in ("float32", "float64"):
            raise ValueError(f"add_variable: dtype must be float32 or float64, got {dtype!r}")
        name = name or f"variable_{len(self._state_sources)}"
        source = WeightSource(self, name, shape, dtype, False)
        source.variable.assign(np.asarray(initializers.get(initializer)(shape, dtype=dtype)))
        self._state_sources.append(source)
        return source.variable

    def add_weight(self, name=None, shape=(), initializer="zeros", dtype=None, aggregation="sum"):
        return self.add_variable(shape, initializer, dtype, aggregation, name)

    @property
    def variables(self) -> list:
        return [s.variable for s in self._state_sources]

    def _trainer_entry(self, dtype: str, y_true_shape: tuple, y_pred_shape: tuple) -> tuple:
        """What a trainer runs for this metric: (native name, arguments), or a traced custom
        metric and no arguments."""
        if self._custom:
            from eigennet._traced_metric import native_metric

            return native_metric(self, dtype, y_true_shape, y_pred_shape), {}
        return self.native_spec()

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def reset_state(self) -> None:
        """Sets every variable to zeros (Keras's default)."""
        if not self._state_sources:
            raise NotImplementedError
        for source in self._state_sources:
            source.variable.assign(np.zeros(source.variable.shape, dtype=source.dtype))

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype or "float32"}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def auto_name(cls) -> str:
    """Keras's default name of a metric created with name=None: auc, auc_1, ..."""
    return unique_name(snake_case(cls.__name__))


def check_dtype(dtype) -> str:
    """The computation dtype: Keras's metrics compute in float32 unless told otherwise."""
    if dtype is None:
        return "float32"
    name = getattr(dtype, "name", dtype)
    if name not in ("float32", "float64"):
        raise ValueError(f"Metric dtype must be None, 'float32' or 'float64', got {dtype!r}")
    return name


def squeeze_or_expand(y_true, y_pred):
    """Keras's squeeze_or_expand_to_same_rank: ranks that differ by a trailing 1 are aligned."""
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


def rows_and_weights(what, y_true, y_pred, sample_weight, flatten: bool):
    """Aligns the arrays as Keras does, then views them as (samples, values) matrices with one
    weight per row. `flatten` makes every value its own row (metrics that pool all values), so
    weights may then also be given per value."""
    y_true, y_pred = squeeze_or_expand(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{what} needs y_true and y_pred of the same shape, got {y_true.shape} and "
            f"{y_pred.shape}"
        )
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if sw is not None and sw.ndim > 0 and len(sw) != len(y_pred):
        raise ValueError(
            f"sample_weight holds {len(sw)} weights but there are {len(y_pred)} samples"
        )
    if flatten:
        if sw is not None:
            if sw.ndim == 1 and y_pred.ndim > 1:
                sw = sw.reshape(-1, *([1] * (y_pred.ndim - 1)))
            try:
                sw = np.broadcast_to(sw, y_pred.shape).reshape(-1)
            except ValueError:
                raise ValueError(
                    f"sample_weight of shape {sw.shape} does not broadcast to the "
                    f"predictions' shape {y_pred.shape}"
                ) from None
        return y_true.reshape(-1, 1), y_pred.reshape(-1, 1), sw
    if y_pred.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    y_true = y_true.reshape(len(y_true), -1)
    y_pred = y_pred.reshape(len(y_pred), -1)
    if sw is not None:
        if sw.ndim == 0:
            sw = np.full(len(y_pred), float(sw))
        elif sw.ndim == 2 and sw.shape[1] == 1 or sw.ndim == 1:
            sw = sw.reshape(-1)
        else:
            raise ValueError(
                f"{what} takes one sample_weight per sample (shape ({len(y_pred)},)), got "
                f"shape {sw.shape}"
            )
    return y_true, y_pred, sw


def as_values(values, dtype: str):
    """One float, or an array (per class or per threshold) in the metric's dtype, as Keras."""
    if len(values) == 1:
        return float(values[0])
    return np.asarray(values, dtype=dtype)


class NativeMetric(Metric):
    """A metric computed by a native accumulator, in fit and on its own.

    Subclasses set `_native`, and define `_config()` (the accumulator's arguments) and
    `_rows(y_true, y_pred, sample_weight)` (Keras's shape rules -> 2-D arrays, row weights).
    """

    def __init__(self, name: str | None = None, dtype=None):
        self._compute_dtype = check_dtype(dtype)
        super().__init__(name or auto_name(type(self)), dtype)
        self._accumulator = None

    def _config(self) -> dict:
        raise NotImplementedError

    def _rows(self, y_true, y_pred, sample_weight):
        raise NotImplementedError

    def native_spec(self) -> tuple[str, dict]:
        return self._native, self._config()

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(y_true, dtype=np.float64)
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_true, y_pred, sw = self._rows(y_true, y_pred, sample_weight)
        dtype = self._compute_dtype
        if self._accumulator is None:
            core = getattr(_core, f"Metric_{dtype}")
            self._accumulator = core(self._native, self._config(), y_pred.shape[1])
        if len(y_pred):
            self._accumulator.update(
                np.ascontiguousarray(y_true, dtype=dtype),
                np.ascontiguousarray(y_pred, dtype=dtype),
                None if sw is None else np.ascontiguousarray(sw, dtype=dtype),
            )

    def result(self):
        if self._accumulator is None:
            return 0.0
        return as_values(self._accumulator.result(), self._compute_dtype)

    def reset_state(self) -> None:
        if self._accumulator is not None:
            self._accumulator.reset()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self._compute_dtype}
