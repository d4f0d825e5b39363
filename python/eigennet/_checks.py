"""Argument checks shared by the public modules."""

from __future__ import annotations

import math

import numpy as np

# Counts (batch sizes, epochs, steps) reach the core as int64 and Python's own sizes
# (len, islice) as ssize_t: a larger one is refused here, not by pybind11 or len().
MAX_COUNT = 2**63 - 1


def non_negative_number(value, name: str, not_a_number: type[Exception] = TypeError) -> float:
    """`value` as a float, or an error naming `name`: `not_a_number` for a non-number
    (bools included), ValueError for NaN, inf or a negative value."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise not_a_number(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def positive_int(value, name: str, allow_zero: bool = False, maximum: int = MAX_COUNT) -> int:
    """`value` as an int, or an error naming `name`: TypeError for a non-integer (bools
    included), ValueError below 1 (0 with `allow_zero`) or above `maximum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(
            f"{name} must be {'>= 0' if allow_zero else 'a positive integer'}, got {value}"
        )
    if value > maximum:
        limit = "2**63 - 1" if maximum == MAX_COUNT else maximum
        raise ValueError(f"{name} must be at most {limit}, got {value}")
    return int(value)
