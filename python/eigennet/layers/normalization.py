"""Normalization layers: BatchNormalization and LayerNormalization (over the last axis)."""

from __future__ import annotations

import warnings

import numpy as np

from eigennet import _core, constraints, initializers, regularizers
from eigennet._checks import non_negative_number
from eigennet.layers.layer import Layer


def _flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)) and value not in (0, 1):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _last_axis_only(layer_name: str, axes: list, axis) -> None:
    """Rejects axes that can never be the last one (0, -2, ..., several axes)."""
    if len(axes) != 1 or not _is_int(axes[0]) or axes[0] == 0 or axes[0] < -1:
        raise ValueError(
            f"{layer_name} supports only the last axis (axis=-1) for now, got axis={axis!r}"
        )


def _serialized_initializer(init):
    return initializers.serialize(init) if isinstance(init, initializers.Initializer) else None


def _serialized_regularizer(reg):
    return None if reg is None else regularizers.serialize(reg)


def _check_last_axis(layer: Layer, axes: list[int], input_shape) -> None:
    """Only the last axis is supported: `axes` must name it for inputs of this rank."""
    rank = len(tuple(input_shape))
    if rank < 2:
        raise ValueError(
            f"{type(layer).__name__} needs inputs of rank >= 2 (batch, ..., channels), "
            f"got input shape {tuple(input_shape)}"
        )
    if [a % rank if -rank <= a < rank else None for a in axes] != [rank - 1]:
        raise ValueError(
            f"{type(layer).__name__} supports only the last axis (axis=-1 or {rank - 1} for "
            f"inputs of rank {rank}), got axis={layer.axis!r}"
        )


class _Normalization(Layer):
    """Shared parts: epsilon, center/scale, gamma/beta initializers and regularizers."""

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def _common(
        self,
        epsilon,
        center,
        scale,
        beta_initializer,
        gamma_initializer,
        beta_regularizer,
        gamma_regularizer,
        beta_constraint,
        gamma_constraint,
    ):
        self.epsilon = non_negative_number(epsilon, "epsilon", not_a_number=ValueError)
        self.center = _flag(center, "center")
        self.scale = _flag(scale, "scale")
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def _initializers(self) -> dict:
        return {"gamma": self.gamma_initializer, "beta": self.beta_initializer}

    def _weight(self, name: str):
        return next((w for w in self.weights if w.name == name), None)

    def _has_gamma_beta(self) -> tuple[bool, bool]:
        return self.scale, self.center

    def _weight_regularizers(self):
        has_gamma, has_beta = self._has_gamma_beta()
        return [self.gamma_regularizer] * has_gamma + [self.beta_regularizer] * has_beta

    def _weight_constraints(self):
        has_gamma, has_beta = self._has_gamma_beta()
        return [self.gamma_constraint] * has_gamma + [self.beta_constraint] * has_beta

    def _initialize(self):
        inits = self._initializers()
        for w in self.weights:
            w.assign(inits[w.name](w.shape, self._native_dtype))

    @property
    def gamma(self):
        return self._weight("gamma")

    @property
    def beta(self):
        return self._weight("beta")

    def _common_config(self) -> dict:
        return {
            "beta_initializer": _serialized_initializer(self.beta_initializer),
            "gamma_initializer": _serialized_initializer(self.gamma_initializer),
            "beta_regularizer": _serialized_regularizer(self.beta_regularizer),
            "gamma_regularizer": _serialized_regularizer(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class BatchNormalization(_Normalization):
    """Normalizes each channel with the statistics of the batch in training and with moving
    averages of them in inference: `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    In training (`fit`, `train_on_batch`, `model(x, training=True)`) mean and var are the
    batch's mean and biased variance over every axis but the channels, and the moving
    statistics become `moving * momentum + batch * (1 - momentum)`. In inference (`predict`,
    `evaluate`, `model(x)`) the moving statistics are used. As in Keras 3, a layer whose
    `trainable` is False runs in inference mode even in training and updates nothing.

    Args:
        axis: The channels axis; only the last one is supported (default -1).
        momentum: Momentum of the moving averages, in [0, 1] (default 0.99).
        epsilon: Small float >= 0 added to the variance (default 1e-3).
        center: Whether to add the offset beta (default True).
        scale: Whether to multiply by gamma (default True).
        beta_initializer, gamma_initializer: Initializers of beta ("zeros") and gamma ("ones").
        moving_mean_initializer, moving_variance_initializer: Initializers of the moving
            statistics ("zeros", "ones").
        beta_regularizer, gamma_regularizer: Optional `eigennet.regularizers`.
        beta_constraint, gamma_constraint: Optional `eigennet.constraints`.
        synchronized: Accepted for compatibility; True raises as in Keras's torch backend.
        renorm: Batch renormalization is not supported (must be False).

    Input shape: any, `(batch_size, ..., channels)`. Output shape: the same.
    Weights, in Keras order: gamma and beta `(channels,)` when scale/center, then the
    non-trainable moving_mean and moving_variance `(channels,)`.
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        renorm=False,
        renorm_clipping=None,
        renorm_momentum=0.99,
        synchronized=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _last_axis_only("BatchNormalization", [axis], axis)
        self.axis = int(axis)
        self.momentum = non_negative_number(momentum, "momentum", not_a_number=ValueError)
        if self.momentum > 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self._common(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
        )
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        if synchronized:
            raise ValueError(
                "Argument synchronized=True is only supported with the TensorFlow backend."
            )
        if renorm:
            raise ValueError("BatchNormalization(renorm=True) is not supported by eigennet yet")
        self.synchronized, self.renorm = False, False
        self.renorm_clipping, self.renorm_momentum = renorm_clipping, renorm_momentum

    def build(self, input_shape) -> None:
        if not self.built:
            _check_last_axis(self, [self.axis], input_shape)
        super().build(input_shape)

    def _make_core(self, dtype):
        return getattr(_core, f"BatchNormalization_{dtype}")(
            self.momentum, self.epsilon, self.center, self.scale
        )

    def _initializers(self) -> dict:
        return {
            **super()._initializers(),
            "moving_mean": self.moving_mean_initializer,
            "moving_variance": self.moving_variance_initializer,
        }

    @property
    def moving_mean(self):
        return self._weight("moving_mean")

    @property
    def moving_variance(self):
        return self._weight("moving_variance")

    def get_config(self):
        common = self._common_config()
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": common["beta_initializer"],
            "gamma_initializer": common["gamma_initializer"],
            "moving_mean_initializer": _serialized_initializer(self.moving_mean_initializer),
            "moving_variance_initializer": _serialized_initializer(
                self.moving_variance_initializer
            ),
            "beta_regularizer": common["beta_regularizer"],
            "gamma_regularizer": common["gamma_regularizer"],
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }


class LayerNormalization(_Normalization):
    """Normalizes each sample's channels to mean 0 and variance 1, then scales and shifts:
    `gamma * (x - mean) / sqrt(var + epsilon) + beta`, with mean and biased variance taken
    over the last axis of each position. Training and inference behave the same.

    Args:
        axis: The axis to normalize; only the last one is supported (-1, or [-1]).
        epsilon: Small float >= 0 added to the variance (default 1e-3).
        center: Whether to add the offset beta (default True).
        scale: Whether to multiply by gamma (default True).
        beta_initializer, gamma_initializer: Initializers of beta ("zeros") and gamma ("ones").
        beta_regularizer, gamma_regularizer: Optional `eigennet.regularizers`.
        beta_constraint, gamma_constraint: Optional `eigennet.constraints`.
        rms_scaling: Keras 3's deprecated option (it warns as Keras does): the output is
            `x / sqrt(var + epsilon) * gamma`, not centered, and there is no beta.

    Input shape: any, `(batch_size, ..., channels)`. Output shape: the same.
    Weights, in Keras order: gamma then beta, each `(channels,)`.
    """

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        rms_scaling = kwargs.pop("rms_scaling", False)
        if rms_scaling:
            warnings.warn(
                "You passed `rms_scaling=True`, which is deprecated. This argument incorrectly "
                "scales the input by the variance, not the root mean square.",
                stacklevel=2,
            )
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            axes = list(axis)
        elif _is_int(axis):
            axes = [axis]
        else:
            raise TypeError(
                "Expected an int or a list/tuple of ints for the argument 'axis', "
                f"but received: {axis!r}"
            )
        _last_axis_only("LayerNormalization", axes, axis)
        self._axes = [int(axes[0])]
        self.axis = [int(a) for a in axes] if isinstance(axis, (list, tuple)) else int(axis)
        self._common(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
        )
        self.rms_scaling = _flag(rms_scaling, "rms_scaling")

    def build(self, input_shape) -> None:
        if not self.built:
            _check_last_axis(self, self._axes, input_shape)
        super().build(input_shape)

    def _has_gamma_beta(self) -> tuple[bool, bool]:
        return self.scale or self.rms_scaling, self.center and not self.rms_scaling

    def _make_core(self, dtype):
        return getattr(_core, f"LayerNormalization_{dtype}")(
            self.epsilon, self.center, self.scale, self.rms_scaling
        )

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            **self._common_config(),
        }
