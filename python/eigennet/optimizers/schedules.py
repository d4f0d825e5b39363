"""Learning-rate schedules (Keras 3 formulas), evaluated natively at every optimizer step.

Pass one as `learning_rate`: `Adam(learning_rate=ExponentialDecay(1e-2, 1000, 0.9))`. Calling
a schedule, `schedule(step)`, returns its rate at that step (the same native formula).
"""

from __future__ import annotations

from eigennet import _core


class LearningRateSchedule:
    """Base class; subclasses are configured entirely by `get_config()`."""

    def __call__(self, step) -> float:
        return _core.schedule_value(type(self).__name__, self.get_config(), int(step))

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict):
        schedule = cls(**config)
        try:  # the native formula reads every value: a wrong type shows here, not mid-fit
            schedule(0)
        except (RuntimeError, TypeError) as e:
            raise TypeError(f"{cls.__name__} config holds a value of the wrong type: {e}") from None
        return schedule


def _check_steps(value, name: str):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")
    return value


class _StepDecay(LearningRateSchedule):
    """Shared arguments of the exponential and inverse-time decays."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        self.initial_learning_rate, self.decay_rate = initial_learning_rate, decay_rate
        self.decay_steps = _check_steps(decay_steps, "decay_steps")
        self.staircase, self.name = staircase, name

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_StepDecay):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)` (floored with staircase)."""

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="ExponentialDecay",
    ):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[i]` while `step <= boundaries[i]`, `values[-1]` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values")
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step) -> float:
        return _core.schedule_value("PiecewiseConstantDecay", self.get_config(), int(step))

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from `initial_learning_rate` to `end_learning_rate` over
    `decay_steps` (restarting with `cycle=True`)."""

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        name="PolynomialDecay",
    ):
        self.initial_learning_rate, self.end_learning_rate = (
            initial_learning_rate,
            end_learning_rate,
        )
        self.decay_steps = _check_steps(decay_steps, "decay_steps")
        self.power, self.cycle, self.name = power, cycle, name

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(_StepDecay):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`."""

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="InverseTimeDecay",
    ):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)


class CosineDecay(LearningRateSchedule):
    """Cosine decay to `alpha * rate` over `decay_steps`, after an optional linear warmup from
    `initial_learning_rate` to `warmup_target` over `warmup_steps`."""

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        alpha=0.0,
        name="CosineDecay",
        warmup_target=None,
        warmup_steps=0,
    ):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = _check_steps(decay_steps, "decay_steps")
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods grow by `t_mul`, peaks by `m_mul`."""

    def __init__(
        self,
        initial_learning_rate,
        first_decay_steps,
        t_mul=2.0,
        m_mul=1.0,
        alpha=0.0,
        name="SGDRDecay",
    ):
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = _check_steps(first_decay_steps, "first_decay_steps")
        self._t_mul, self._m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_CLASSES = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(schedule: LearningRateSchedule) -> dict:
    """Keras's serialized form: module, class_name, config, registered_name."""
    return {
        "module": "keras.optimizers.schedules",
        "class_name": type(schedule).__name__,
        "config": schedule.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict) -> LearningRateSchedule:
    """The schedule a `serialize` dict (or Keras's) describes."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError(f"Not a serialized learning-rate schedule: {config!r}")
    cls = _CLASSES.get(config.get("class_name"))
    if cls is None:
        raise ValueError(
            f"Unknown learning-rate schedule {config.get('class_name')!r}. "
            f"Valid schedules: {', '.join(sorted(_CLASSES))}"
        )
    return cls.from_config(config["config"])
