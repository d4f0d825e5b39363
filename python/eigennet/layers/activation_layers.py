"""Keras's activation layers with options: ReLU, LeakyReLU, PReLU, ELU, Softmax and Identity.
Forward and backward run natively; arguments, defaults, configs and errors follow Keras 3."""

from __future__ import annotations

import warnings

import numpy as np

from eigennet import _core, constraints, initializers, regularizers
from eigennet.layers.layer import Layer


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _number(value, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return float(value)


class ReLU(Layer):
    """Rectified linear unit with Keras's options:
    `max_value` if x >= max_value, x if threshold <= x < max_value, else
    `negative_slope * (x - threshold)`.

    Args:
        max_value: Float >= 0, the largest output; None (default) for no limit.
        negative_slope: Float >= 0, the slope below the threshold (default 0).
        threshold: Float >= 0, below which values are damped (default 0).

    Input shape: any. Output shape: the same.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and _number(max_value, "max_value") < 0.0:
            raise ValueError(
                "max_value of a ReLU layer cannot be a negative "
                f"value. Received: max_value={max_value}"
            )
        if negative_slope is None or _number(negative_slope, "negative_slope") < 0.0:
            raise ValueError(
                "negative_slope of a ReLU layer cannot be None or a "
                f"negative value. Received: negative_slope={negative_slope}"
            )
        if threshold is None or _number(threshold, "threshold") < 0.0:
            raise ValueError(
                "threshold of a ReLU layer cannot be None or a "
                f"negative value. Received: threshold={threshold}"
            )
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def _make_core(self, dtype):
        return getattr(_core, f"ElementwiseActivation_{dtype}")(
            "relu",
            negative_slope=self.negative_slope,
            max_value=self.max_value,
            threshold=self.threshold,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class LeakyReLU(Layer):
    """Leaky rectified linear unit: x for x >= 0, `negative_slope * x` below.

    Args:
        negative_slope: Float >= 0 (default 0.3). The deprecated `alpha` is accepted with a
            warning, as in Keras.

    Input shape: any. Output shape: the same.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2
            )
        super().__init__(**kwargs)
        if negative_slope is None or _number(negative_slope, "negative_slope") < 0:
            raise ValueError(
                "The negative_slope value of a Leaky ReLU layer "
                "cannot be None or negative value. Expected a float."
                f" Received: negative_slope={negative_slope}"
            )
        self.negative_slope = float(negative_slope)

    def _make_core(self, dtype):
        return getattr(_core, f"ElementwiseActivation_{dtype}")(
            "relu", negative_slope=self.negative_slope
        )

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """Exponential linear unit: x for x > 0, `alpha * (exp(x) - 1)` below.

    Args:
        alpha: Float, the scale of the negative part (default 1.0). Unlike Keras 3, whose
            config drops it, the config keeps `alpha` so that a saved layer reloads as it was.

    Input shape: any. Output shape: the same.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(alpha, "alpha")

    def _make_core(self, dtype):
        return getattr(_core, f"ElementwiseActivation_{dtype}")("elu", alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Identity(Layer):
    """Returns its input unchanged (a placeholder layer).

    Input shape: any. Output shape: the same.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def _make_core(self, dtype):
        return getattr(_core, f"ElementwiseActivation_{dtype}")("identity")


def _sample_axes(layer_name: str, axes: list[int], rank: int, what: str) -> list[int]:
    """Keras axes (batch axis 0, negatives from the end) as sample axes (0 = first after
    the batch); the batch axis is refused."""
    out = []
    for axis in axes:
        if not -rank <= axis < rank:
            raise ValueError(
                f"{layer_name} {what} {axis} is out of range for inputs of rank {rank}"
            )
        if axis % rank == 0:
            raise ValueError(
                f"{layer_name} {what} cannot include the batch axis (0): eigennet computes "
                "every sample on its own"
            )
        out.append(axis % rank - 1)
    return out


class Softmax(Layer):
    """Softmax over `axis`: `exp(x - max(x)) / sum(exp(x - max(x)))`.

    Args:
        axis: Integer or list of integers, the axis or axes along which the softmax
            normalizes (default -1); not the batch axis.

    Input shape: any. Output shape: the same.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(_is_int(a) for a in axes):
            raise ValueError(f"Softmax axis must be an integer or a list of integers, got {axis!r}")
        self.axis = axis
        self._axes = [int(a) for a in axes]
        self._core_axes = None

    def build(self, input_shape):
        if not self.built:
            self._core_axes = _sample_axes("Softmax", self._axes, len(tuple(input_shape)), "axis")
        super().build(input_shape)

    def _make_core(self, dtype):
        return getattr(_core, f"Softmax_{dtype}")(self._core_axes)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    """Parametric rectified linear unit: x for x >= 0, `alpha * x` below, with `alpha` a
    learned weight of the input's sample shape (size 1 along `shared_axes`).

    Args:
        alpha_initializer: Initializer of alpha (default "Zeros").
        alpha_regularizer: Optional `eigennet.regularizers` of alpha.
        alpha_constraint: Optional `eigennet.constraints`.
        shared_axes: Axis or list of axes (batch axis 0 not allowed) along which one alpha is
            shared, e.g. [1, 2] for one alpha per channel of (batch, height, width, channels).

    Input shape: any. Output shape: the same.
    Weights: alpha, of shape `input_shape[1:]` with the shared axes set to 1.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(
        self,
        alpha_initializer="Zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(_is_int(a) for a in axes):
                raise ValueError(
                    f"shared_axes must be an integer or a list of integers, got {shared_axes!r}"
                )
            self.shared_axes = [int(a) for a in axes]
        self._core_axes = None

    def build(self, input_shape):
        if not self.built:
            rank = len(tuple(input_shape))
            for axis in self.shared_axes or []:
                if not 1 <= axis < rank:
                    raise ValueError(
                        f"PReLU shared_axes must be axes of the input other than the batch "
                        f"axis (1 to {rank - 1}), got {self.shared_axes} for input shape "
                        f"{tuple(input_shape)}"
                    )
            self._core_axes = [axis - 1 for axis in self.shared_axes or []]
        super().build(input_shape)

    def _make_core(self, dtype):
        return getattr(_core, f"PReLU_{dtype}")(self._core_axes)

    def _weight_regularizers(self):
        return [self.alpha_regularizer]

    def _weight_constraints(self):
        return [self.alpha_constraint]

    def _initialize(self):
        alpha = self.weights[0]
        alpha.assign(self.alpha_initializer(alpha.shape, self._native_dtype))

    @property
    def alpha(self):
        return self.weights[0] if self.built else None

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }
