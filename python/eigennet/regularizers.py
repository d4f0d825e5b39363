"""Weight and activity regularizers (Keras 3): L1 `l1 * sum(|x|)`, L2 `l2 * sum(x**2)`, and
L1L2 both. The penalty is added to the loss (and to the reported loss) during training and
evaluation; an activity penalty is divided by the batch size, as Keras 3 does."""

from __future__ import annotations

import numpy as np

from eigennet._checks import non_negative_number


def _factor(value, name: str) -> float:
    return non_negative_number(value, name, not_a_number=ValueError)


class Regularizer:
    """Base: `regularizer(x)` returns the penalty of an array."""

    l1 = 0.0
    l2 = 0.0

    def __call__(self, x) -> float:
        x = np.asarray(x, dtype=np.float64)
        return float(self.l1 * np.abs(x).sum() + self.l2 * np.square(x).sum())

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class L1L2(Regularizer):
    """Both penalties: `l1 * sum(|x|) + l2 * sum(x**2)` (defaults 0.0 and 0.0)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = (
            _factor(l1, "l1"),
            _factor(l2, "l2"),
        )


class L1(Regularizer):
    """`l1 * sum(|x|)`, default l1 = 0.01."""

    def __init__(self, l1=0.01):
        self.l1 = _factor(l1, "l1")

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(x**2)`, default l2 = 0.01."""

    def __init__(self, l2=0.01):
        self.l2 = _factor(l2, "l2")

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def serialize(regularizer: Regularizer | None) -> dict | None:
    """Keras's serialized form: module, class_name, config, registered_name."""
    if regularizer is None:
        return None
    return {
        "module": "keras.regularizers",
        "class_name": type(regularizer).__name__,
        "config": regularizer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict) -> Regularizer:
    return get(config)


def get(identifier) -> Regularizer | None:
    """A regularizer from None, a name ("l1", "l2", "l1_l2"), a config dict or an instance."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_NAME:
        return _BY_NAME[identifier["class_name"]](**identifier.get("config", {}))
    raise ValueError(
        f"Regularizer {identifier!r} is not supported: eigennet applies regularizers natively, "
        "so use L1, L2, L1L2 (or 'l1', 'l2', 'l1_l2')"
    )


def native(regularizer: Regularizer | None) -> tuple[float, float]:
    """(l1, l2) for the core; (0, 0) means none."""
    return (0.0, 0.0) if regularizer is None else (regularizer.l1, regularizer.l2)


def activity_penalty(regularizer, x):
    """The activity penalty of a custom layer's output `x` (symbolic, in a traced call):
    `l1 * sum(|x|) + l2 * sum(x**2)` divided by the batch size, with keras.ops; None when
    there is nothing to add."""
    from eigennet import ops

    l1, l2 = (0.0, 0.0) if regularizer is None else (regularizer.l1, regularizer.l2)
    if l1 == 0 and l2 == 0:
        return None
    per_value = 0.0
    if l1:
        per_value = ops.add(per_value, ops.multiply(l1, ops.abs(x)))
    if l2:
        per_value = ops.add(per_value, ops.multiply(l2, ops.square(x)))
    rank = len(ops.shape(x))
    per_sample = ops.sum(per_value, axis=tuple(range(1, rank))) if rank > 1 else per_value
    return ops.mean(per_sample)  # the sum over the batch divided by its size
