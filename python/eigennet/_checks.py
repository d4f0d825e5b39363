"""Argument checks shared by the public modules."""

from __future__ import annotations

import math

import numpy as np


def non_negative_number(value, name: str, not_a_number: type[Exception] = TypeError) -> float:
    """`value` as a float, or an error naming `name`: `not_a_number` for a non-number
    (bools included), ValueError for NaN, inf or a negative value."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise not_a_number(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value
