"""Optimizers with Keras 3 update rules and defaults.

Python holds the configuration; the state (slots and the iteration counter) lives in the
native core and is created on the first step. Every optimizer accepts Keras's base options
`weight_decay` (decoupled), `clipnorm`, `clipvalue` and `global_clipnorm` (at most one of
the three clipping options).
"""

from __future__ import annotations

import numpy as np

from eigennet import _core, storage_formats
from eigennet._checks import non_negative_number
from eigennet.optimizers import schedules


def _optional(value, name: str) -> float | None:
    return None if value is None else non_negative_number(value, name)


def _arrays_of(variables) -> list[np.ndarray]:
    """Writable NumPy views of model weights (or the arrays themselves), checked."""
    arrays = [v._view() if hasattr(v, "_view") else v for v in variables]
    dtype = arrays[0].dtype if arrays and isinstance(arrays[0], np.ndarray) else None
    for v in arrays:
        if (
            not isinstance(v, np.ndarray)
            or v.dtype != dtype
            or dtype not in (np.float32, np.float64)
        ):
            raise TypeError("variables must be NumPy arrays, all float32 or all float64")
        if not v.flags.c_contiguous or not v.flags.writeable:
            raise ValueError(
                "variables must be C-contiguous and writable (they are updated in place)"
            )
    return arrays


# Keras optimizer options eigennet does not implement, with their defaults: accepted at
# those values (so that Keras configs load) and listed in get_config as Keras lists them.
_KERAS_OPTIONS = {
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def _accept_keras_options(kwargs: dict) -> None:
    for key in ("use_ema", "loss_scale_factor", "gradient_accumulation_steps"):
        value = kwargs.pop(key, _KERAS_OPTIONS[key])
        if value != _KERAS_OPTIONS[key]:
            raise ValueError(f"The optimizer option {key}={value!r} is not supported by eigennet")
    kwargs.pop("ema_momentum", None)  # only used with use_ema
    kwargs.pop("ema_overwrite_frequency", None)


class Optimizer:
    """Base optimizer. Subclasses set `_kind` and `_rule_config()`."""

    _kind = ""

    def __init__(
        self,
        learning_rate,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
        **kwargs,
    ):
        _accept_keras_options(kwargs)
        if kwargs:
            raise TypeError(f"Unexpected optimizer argument(s): {', '.join(kwargs)}")
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of clipnorm, clipvalue and global_clipnorm can be set")
        self._schedule = None
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self._schedule, learning_rate = learning_rate, learning_rate(0)
        self._learning_rate = non_negative_number(learning_rate, "learning_rate")
        self.weight_decay = _optional(weight_decay, "weight_decay")
        self.clipnorm = _optional(clipnorm, "clipnorm")
        self.clipvalue = _optional(clipvalue, "clipvalue")
        self.global_clipnorm = _optional(global_clipnorm, "global_clipnorm")
        self.name = name or type(self).__name__.lower()
        self._native = None
        self._dtype = None
        self._built_variables = None  # what build() (or the first training step) was given

    # -- state shared with the core ------------------------------------------------------
    def _core_for(self, dtype: str):
        """The native optimizer for `dtype`, created on first use."""
        if self._native is None:
            base = _core.OptimizerConfig(
                self._learning_rate,
                self.weight_decay or 0.0,
                self.clipnorm or 0.0,
                self.global_clipnorm or 0.0,
                self.clipvalue or 0.0,
            )
            self._native = getattr(_core, f"make_optimizer_{dtype}")(
                self._kind, base, self._rule_config()
            )
            if self._schedule is not None:
                self._native.set_schedule(
                    type(self._schedule).__name__, self._schedule.get_config()
                )
            self._dtype = dtype
        elif self._dtype != dtype:
            raise ValueError(
                f"This optimizer already serves {self._dtype} weights; create a new one "
                f"for {dtype} weights"
            )
        return self._native

    @property
    def learning_rate(self) -> float:
        """The rate of the next step (a schedule's value at the current iteration)."""
        if self._native is not None:
            return self._native.learning_rate
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if self._schedule is not None:
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable."
            )
        self._learning_rate = non_negative_number(value, "learning_rate")
        if self._native is not None:
            self._native.learning_rate = self._learning_rate

    @property
    def iterations(self) -> int:
        """How many steps this optimizer has applied."""
        return self._native.iterations if self._native is not None else 0

    @property
    def variables(self) -> list[np.ndarray]:
        """The iteration counter and the slot buffers (copies), as Keras lists them."""
        if self._native is None or not self._native.built:
            return [np.array(self.iterations, dtype=np.int64)]
        slots = [np.array(self._native.slot(i)) for i in range(len(self._native.slot_names()))]
        return [np.array(self.iterations, dtype=np.int64), *slots]

    @property
    def built(self) -> bool:
        return self._native is not None and self._native.built

    def build(self, variables) -> None:
        """Creates the slots for `variables` (model weights or NumPy arrays), as Keras's
        `optimizer.build`. Training builds the optimizer for the model's trainable weights
        when it starts; afterwards it can update those variables (or any subset) only."""
        if self.built:
            raise ValueError(f"Optimizer {self.name!r} is already built")
        variables = list(variables)
        arrays = _arrays_of(variables)
        dtype = arrays[0].dtype if arrays else np.dtype("float32")
        self._core_for(str(dtype)).build(arrays)
        self._built_variables = variables

    def _built_for(self, variables) -> None:
        """Records the variables a trainer built the native optimizer for."""
        if self._built_variables is None:
            self._built_variables = list(variables)

    def apply(self, grads, variables) -> None:
        """One step: updates `variables` (model weights, or C-contiguous writable
        float32/float64 NumPy arrays) in place from `grads`. The first call builds the
        optimizer for these variables; later calls may pass them or a subset."""
        variables = list(variables)
        grads = list(grads)
        if len(grads) != len(variables):
            raise ValueError(f"{len(grads)} gradients for {len(variables)} variables")
        if not variables:
            raise ValueError("apply() needs at least one variable")
        arrays = _arrays_of(variables)
        for v, g in zip(arrays, grads):
            if np.shape(g) != v.shape:
                raise ValueError(
                    f"gradient shape {np.shape(g)} does not match variable shape {v.shape}"
                )
        dtype = arrays[0].dtype
        flat = np.concatenate([np.asarray(g, dtype=dtype).ravel() for g in grads])
        self._reduce_gradients(flat)  # before the check: every rank must take the same path
        self._check_gradients(flat)
        if not self.built:
            self._built_variables = variables
        core = self._core_for(str(dtype))
        steps = core.iterations
        core.apply([a.reshape(-1) for a in arrays], flat)
        if core.iterations != steps:  # as Keras: the variables' constraints after the update
            for variable in variables:
                constraint = getattr(variable, "constraint", None)
                if constraint is not None and variable.trainable:
                    variable.assign(constraint(variable.numpy()))
                elif storage_formats.is_format(variable.dtype):  # rounded to its format
                    variable.assign(variable._view().copy())

    def _check_gradients(self, flat: np.ndarray) -> None:
        if not np.all(np.isfinite(flat)):
            raise ValueError("gradients contain NaN or inf")

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras's form of `apply`: an iterable of (gradient, variable) pairs."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    # -- data parallelism: eigennet.distributed.DistributedOptimizer fills these in --------
    def _attach_trainer(self, trainer) -> None:
        """Called when a model creates the trainer that will step this optimizer."""

    def _reduce_gradients(self, flat: np.ndarray) -> None:
        """Combines `apply`'s flat gradients across processes, in place."""

    def _fit_sync(self, steps: int, may_stop_at_batches: bool):
        """The collective decisions of a data-parallel fit(), or None (training alone)."""
        return None

    def _rule_config(self) -> dict:
        return {}

    def _slot_groups(self) -> list[list[int]]:
        """Slot indices in the groups Keras creates together: Keras orders an optimizer's
        variables group by group, and within a group variable by variable (Adam: momentum
        and velocity of each variable, then velocity_hat of each). Saving follows it."""
        return [[i] for i in range(len(self._native.slot_names()))]

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "learning_rate": self.learning_rate
            if self._schedule is None
            else schedules.serialize(self._schedule),
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            **_KERAS_OPTIONS,
            **self._rule_config(),
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum. Defaults: learning_rate 0.01,
    momentum 0.0, nesterov False."""

    _kind = "sgd"

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.0,
        nesterov=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="SGD",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        if not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be a float in [0, 1], got {momentum!r}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _rule_config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """Adagrad. Defaults: learning_rate 0.001, initial_accumulator_value 0.1, epsilon 1e-7."""

    _kind = "adagrad"

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adagrad",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        self.initial_accumulator_value = non_negative_number(
            initial_accumulator_value, "initial_accumulator_value"
        )
        self.epsilon = non_negative_number(epsilon, "epsilon")

    def _rule_config(self):
        return {
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class RMSprop(Optimizer):
    """RMSprop. Defaults: learning_rate 0.001, rho 0.9, momentum 0.0, epsilon 1e-7,
    centered False."""

    _kind = "rmsprop"

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="rmsprop",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        self.rho = non_negative_number(rho, "rho")
        self.momentum = non_negative_number(momentum, "momentum")
        self.epsilon = non_negative_number(epsilon, "epsilon")
        self.centered = bool(centered)

    def _rule_config(self):
        return {
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adam(Optimizer):
    """Adam. Defaults: learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7,
    amsgrad False."""

    _kind = "adam"

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adam",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        self.beta_1 = non_negative_number(beta_1, "beta_1")
        self.beta_2 = non_negative_number(beta_2, "beta_2")
        self.epsilon = non_negative_number(epsilon, "epsilon")
        self.amsgrad = bool(amsgrad)

    def _slot_groups(self):
        return [[0, 1], [2]] if self.amsgrad else [[0, 1]]

    def _rule_config(self):
        return {
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay. Defaults as Adam, weight_decay 0.004."""

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adamw",
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError("AdamW needs a weight_decay (default 0.004)")
        super().__init__(
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
            weight_decay,
            clipnorm,
            clipvalue,
            global_clipnorm,
            name,
            **kwargs,
        )


def _forwarded(name: str) -> property:
    """An attribute of a wrapper that is its inner optimizer's (read and assigned there)."""
    return property(
        lambda self: getattr(self.inner_optimizer, name),
        lambda self, value: setattr(self.inner_optimizer, name, value),
    )


class LossScaleOptimizer(Optimizer):
    """Keras's dynamic loss scaling around `inner_optimizer`, for float16 products
    (`compile` wraps the optimizer in one under the "mixed_float16" policy).

    Training multiplies the loss by `dynamic_scale` before the backward pass, so that small
    gradients survive float16, and divides the gradients by it before the update. A step
    whose gradients hold NaN or inf is skipped (weights, slots and `iterations` unchanged)
    and halves the scale; after `dynamic_growth_steps` finite steps in a row it doubles.
    The inner optimizer keeps the slots and the iteration count."""

    def __init__(
        self,
        inner_optimizer,
        initial_scale=2.0**15,
        dynamic_growth_steps=2000,
        name=None,
        **kwargs,
    ):
        if not kwargs.pop("dynamic", True):
            raise ValueError(
                "LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set "
                "`loss_scale_factor` directly on the `inner_optimizer`."
            )
        # Keras lists the base options in older configs; only their defaults are accepted.
        defaults = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None}
        defaults.update({"clipvalue": None, **_KERAS_OPTIONS})
        for key, default in defaults.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(
                    f"LossScaleOptimizer does not support `{key}`. Instead, set `{key}` on "
                    "the `inner_optimizer`."
                )
        if kwargs:
            raise ValueError(
                f"LossScaleOptimizer does not support arguments: `{'`, `'.join(kwargs)}`."
            )
        if not isinstance(inner_optimizer, Optimizer) or isinstance(
            inner_optimizer, LossScaleOptimizer
        ):
            raise ValueError(
                "LossScaleOptimizer wraps an optimizer instance such as "
                f"keras.optimizers.Adam(), got {inner_optimizer!r}"
            )
        scale = non_negative_number(initial_scale, "initial_scale")
        if not 0 < scale <= float(np.finfo(np.float32).max):
            raise ValueError(f"initial_scale must be a positive float32 number, got {scale}")
        if (
            isinstance(dynamic_growth_steps, bool)
            or not isinstance(dynamic_growth_steps, (int, np.integer))
            or dynamic_growth_steps < 1
        ):
            raise ValueError(
                f"dynamic_growth_steps must be a positive integer, got {dynamic_growth_steps!r}"
            )
        self.inner_optimizer = inner_optimizer
        self.weight_decay = self.clipnorm = self.clipvalue = self.global_clipnorm = None
        self.initial_scale = scale
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.name = name or "loss_scale_optimizer"

    # The inner optimizer's state is this one's: one native optimizer, scaling turned on.
    def _core_for(self, dtype: str):
        self.inner_optimizer._core_for(dtype)
        return self._native

    @property
    def _native(self):
        native = self.inner_optimizer._native
        if native is not None and not native.loss_scaling:
            native.enable_loss_scale(self.initial_scale, self.dynamic_growth_steps)
        return native

    @_native.setter
    def _native(self, value) -> None:
        self.inner_optimizer._native = value

    _schedule = _forwarded("_schedule")
    _dtype = _forwarded("_dtype")
    _built_variables = _forwarded("_built_variables")
    learning_rate = _forwarded("learning_rate")
    iterations = _forwarded("iterations")

    @property
    def dynamic_scale(self) -> float:
        """The current loss scale."""
        native = self._native
        return float(native.loss_scale) if native is not None else self.initial_scale

    @property
    def step_counter(self) -> int:
        """Finite steps since the scale last changed."""
        native = self._native
        return int(native.loss_scale_counter) if native is not None else 0

    @property
    def variables(self) -> list[np.ndarray]:
        return [
            np.array(self.step_counter, dtype=np.int64),
            np.array(self.dynamic_scale, dtype=np.float32),
            *self.inner_optimizer.variables,
        ]

    def build(self, variables) -> None:
        self.inner_optimizer.build(variables)
        self._core_for(self.inner_optimizer._dtype)

    def scale_loss(self, loss):
        """`loss` times the current scale (for custom training loops)."""
        return loss * self.dynamic_scale

    def apply(self, grads, variables) -> None:
        """One step from gradients of the scaled loss: unscaled here; skipped (and the scale
        halved) when any is NaN or inf."""
        scale = self.dynamic_scale
        super().apply([np.asarray(g) / np.float32(scale) for g in grads], variables)

    def _check_gradients(self, flat: np.ndarray) -> None:
        """Non-finite gradients are the native step's to skip."""

    # An inner DistributedOptimizer still averages the gradients (the trainer's hook).
    def _attach_trainer(self, trainer) -> None:
        self.inner_optimizer._attach_trainer(trainer)

    def _reduce_gradients(self, flat: np.ndarray) -> None:
        self.inner_optimizer._reduce_gradients(flat)

    def _fit_sync(self, steps: int, may_stop_at_batches: bool):
        return self.inner_optimizer._fit_sync(steps, may_stop_at_batches)

    def _slot_groups(self) -> list[list[int]]:
        return self.inner_optimizer._slot_groups()

    def _rule_config(self) -> dict:
        return self.inner_optimizer._rule_config()

    def get_config(self) -> dict:
        from eigennet.saving import serialization_lib

        return {
            "name": self.name,
            "inner_optimizer": serialization_lib.serialize_keras_object(self.inner_optimizer),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        from eigennet.saving import serialization_lib

        config = dict(config)
        inner = serialization_lib.deserialize_keras_object(
            config.pop("inner_optimizer"), "optimizers", custom_objects
        )
        return cls(inner, **config)


class _BetasOptimizer(Optimizer):
    """An optimizer with Adam's hyper-parameters (beta_1, beta_2, epsilon) and two slots per
    variable, interleaved variable by variable: Adamax's and Nadam's shape (their rules differ
    in the core). `name` defaults to the optimizer's kind."""

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name or self._kind, **kwargs)  # fmt: skip
        self.beta_1 = non_negative_number(beta_1, "beta_1")
        self.beta_2 = non_negative_number(beta_2, "beta_2")
        self.epsilon = non_negative_number(epsilon, "epsilon")

    def _slot_groups(self):
        return [[0, 1]]

    def _rule_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Adamax(_BetasOptimizer):
    """Adamax, Adam with the infinity norm (slots: momentum, norm). Defaults: learning_rate
    0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7."""

    _kind = "adamax"


class Nadam(_BetasOptimizer):
    """Nadam, Adam with Nesterov momentum (Keras 3's rule and momentum schedule; slots:
    momentum, velocity). Defaults: learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon
    1e-7."""

    _kind = "nadam"


class Lamb(_BetasOptimizer):
    """LAMB: Adam's step scaled per variable by the trust ratio ||variable|| / ||step||
    (slots: momentum, velocity). Defaults: learning_rate 0.001, beta_1 0.9, beta_2 0.999,
    epsilon 1e-7."""

    _kind = "lamb"


class Ftrl(Optimizer):
    """FTRL-Proximal, Keras's rule (slots: accumulator, linear). Defaults: learning_rate
    0.001, learning_rate_power -0.5, initial_accumulator_value 0.1, and the l1, l2, l2
    shrinkage regularization strengths and beta all 0."""

    _kind = "ftrl"

    def __init__(
        self,
        learning_rate=0.001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="ftrl",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        for arg, value, sign in (
            ("initial_accumulator_value", initial_accumulator_value, "positive or zero"),
            ("learning_rate_power", -learning_rate_power, "negative or zero"),
            ("l1_regularization_strength", l1_regularization_strength, "positive or zero"),
            ("l2_regularization_strength", l2_regularization_strength, "positive or zero"),
            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
             "positive or zero"),
        ):  # fmt: skip
            if not value >= 0.0:
                shown = -value if arg == "learning_rate_power" else value
                raise ValueError(f"`{arg}` needs to be {sign}. Received: {arg}={shown}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _slot_groups(self):
        return [[0, 1]]  # accumulator and linear, variable by variable

    def _rule_config(self):
        return {
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }


class Adadelta(Optimizer):
    """Adadelta. Defaults: learning_rate 0.001, rho 0.95, epsilon 1e-7."""

    _kind = "adadelta"

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.95,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adadelta",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        self.rho = non_negative_number(rho, "rho")
        self.epsilon = non_negative_number(epsilon, "epsilon")

    def _slot_groups(self):
        return [[0, 1]]  # accumulated_grad and accumulated_delta_var, variable by variable

    def _rule_config(self):
        return {"rho": self.rho, "epsilon": self.epsilon}


class Lion(Optimizer):
    """Lion (the sign of an interpolated momentum). Defaults: learning_rate 0.001, beta_1 0.9,
    beta_2 0.99; beta_1 must be in (0, 1]."""

    _kind = "lion"

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.99,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="lion",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        if not (isinstance(beta_1, (int, float)) and 0 < beta_1 <= 1):
            raise ValueError(
                "Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                f"degenerates to SignSGD. Received: beta_1={beta_1}."
            )
        self.beta_1 = float(beta_1)
        self.beta_2 = non_negative_number(beta_2, "beta_2")

    def _rule_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}


_BY_NAME = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
    "adamax": Adamax,
    "nadam": Nadam,
    "adadelta": Adadelta,
    "lion": Lion,
    "lamb": Lamb,
    "ftrl": Ftrl,
}
CLASSES = {cls.__name__: cls for cls in (*_BY_NAME.values(), LossScaleOptimizer)}


def get(identifier) -> Optimizer:
    """Returns an optimizer for a name ("adam", "Adam"), a class or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"Unknown optimizer {identifier!r}. Valid optimizers: {', '.join(sorted(_BY_NAME))}"
            )
        return cls()
    raise ValueError(f"Could not interpret optimizer {identifier!r}")


def _serialization():
    from eigennet._serialization_api import kind_functions

    return kind_functions("optimizers", get)


serialize, deserialize = _serialization()
