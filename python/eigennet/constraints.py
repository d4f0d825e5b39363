"""Weight constraints (Keras 3): applied to a weight after every optimizer step that updates
it, natively in training (and by `optimizer.apply` in loops of your own).

`MaxNorm(max_value=2, axis=0)` rescales each slice whose norm (over `axis`) exceeds
max_value down to it; `MinMaxNorm(min_value=0.0, max_value=1.0, rate=1.0, axis=0)` moves
each slice's norm `rate` of the way into [min_value, max_value]; `UnitNorm(axis=0)` scales
each slice to norm 1; `NonNeg()` zeroes negative values. The norms divide by
`epsilon() + norm`, as Keras's. `constraint(w)` returns the constrained copy of an array.
For a Dense kernel `(input_dim, units)` axis 0 bounds each unit's incoming weights; for a
convolution kernel `(..., in, out)` use `axis=[0, 1, 2]` (2-D), as in Keras.
"""

from __future__ import annotations

import numpy as np

from eigennet import _core, config


class Constraint:
    """Base of the built-in constraints; `constraint(w)` returns w constrained."""

    _kind = None  # the core's name of the rule

    def __call__(self, w):
        w = np.asarray(w)
        dtype = np.float64 if w.dtype == np.float64 else np.float32
        return _core.apply_constraint(native(self), np.ascontiguousarray(w, dtype=dtype))

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _axes(axis) -> list[int]:
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
        raise ValueError(f"A constraint's axis must be an integer or a list of them, got {axis!r}")
    return [int(a) for a in axes]


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"A constraint's {name} must be a number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"A constraint's {name} must be finite, got {value!r}")
    return value


class MaxNorm(Constraint):
    """Each slice's norm over `axis` at most `max_value`."""

    _kind = "max_norm"

    def __init__(self, max_value=2, axis=0):
        self.max_value = _number(max_value, "max_value")
        self.axis = axis
        _axes(axis)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Each slice's norm over `axis` moved `rate` of the way into [min_value, max_value]."""

    _kind = "min_max_norm"

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _number(min_value, "min_value")
        self.max_value = _number(max_value, "max_value")
        self.rate = _number(rate, "rate")
        self.axis = axis
        _axes(axis)
        if min_value > max_value:
            raise ValueError(f"MinMaxNorm: min_value {min_value} exceeds max_value {max_value}")

    def get_config(self):
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


class NonNeg(Constraint):
    """Negative values set to zero."""

    _kind = "non_neg"


class UnitNorm(Constraint):
    """Each slice's norm over `axis` set to 1."""

    _kind = "unit_norm"

    def __init__(self, axis=0):
        self.axis = axis
        _axes(axis)

    def get_config(self):
        return {"axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm
_BY_NAME = {
    "MaxNorm": MaxNorm,
    "MinMaxNorm": MinMaxNorm,
    "NonNeg": NonNeg,
    "UnitNorm": UnitNorm,
    "max_norm": MaxNorm,
    "min_max_norm": MinMaxNorm,
    "non_neg": NonNeg,
    "unit_norm": UnitNorm,
}


def serialize(constraint: Constraint | None) -> dict | None:
    """Keras's serialized form: module, class_name, config, registered_name."""
    if constraint is None:
        return None
    return {
        "module": "keras.constraints",
        "class_name": type(constraint).__name__,
        "config": constraint.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict) -> Constraint:
    return get(config)


def get(identifier) -> Constraint | None:
    """A constraint from None, a name ("max_norm", "NonNeg", ...), a config dict, a class or
    an instance. eigennet applies the built-in ones natively: a constraint of your own
    (another Constraint subclass or a function) is refused."""
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_NAME:
        return _BY_NAME[identifier["class_name"]](**(identifier.get("config") or {}))
    if isinstance(identifier, type) and identifier in _BY_NAME.values():
        return identifier()
    if type(identifier) in _BY_NAME.values():
        return identifier
    raise ValueError(
        f"Constraint {identifier!r} is not supported: eigennet applies constraints natively, "
        "so use MaxNorm, MinMaxNorm, NonNeg or UnitNorm (or 'max_norm', 'min_max_norm', "
        "'non_neg', 'unit_norm')"
    )


def native(constraint: Constraint | None):
    """The core's description of a constraint (None: none)."""
    if constraint is None:
        return None
    return (
        constraint._kind,
        float(getattr(constraint, "min_value", 0.0)),
        float(getattr(constraint, "max_value", 0.0)),
        float(getattr(constraint, "rate", 1.0)),
        float(config.epsilon()),
        _axes(getattr(constraint, "axis", 0)),
    )
