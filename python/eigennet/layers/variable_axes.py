"""Axes of variable length: `keras.Input(shape=(None, 16))`, sequences of any length.

A symbolic shape may hold None besides the batch axis; the native core only runs concrete
shapes. So:
- Recording a layer or an op on such a tensor builds it for the variable axes at two probe
  lengths: an output axis whose length differs between the two is variable (None), else fixed.
  The layer's weights are made at the first probe; a copy at the second shares them and checks
  that their shapes do not depend on the axis (a Dense after a Flatten of a variable axis
  raises, as in Keras).
- Running a model on arrays (or a batch) of concrete lengths builds a native graph for them,
  whose layers are copies of the model's sharing its weights (`Layer.for_input_shapes` in the
  core); a model keeps the graphs of the last few lengths it ran.
The probes are far enough apart that a strided axis (stride < 96) differs between them, and
short enough that building for them allocates little.
"""

from __future__ import annotations

PROBES = (97, 193)


def has_variable(shapes) -> bool:
    """Whether any of the (sample or full) shapes holds a variable axis."""
    return any(d is None for s in shapes for d in s)


def at_length(shape, length: int) -> tuple:
    """`shape` with every variable axis (None) of length `length`."""
    return tuple(length if d is None else d for d in shape)


def merged(first, second) -> tuple:
    """The shape of an output computed at both probes: None where the two differ."""
    if len(first) != len(second):
        raise ValueError(f"output ranks differ between input lengths: {first} and {second}")
    return tuple(a if a == b else None for a, b in zip(first, second))


def compatible(actual, expected) -> bool:
    """Whether a concrete or symbolic shape fits `expected` (None there takes any length)."""
    actual, expected = tuple(actual), tuple(expected)
    return len(actual) == len(expected) and all(
        e is None or a == e for a, e in zip(actual, expected)
    )


class RecentCache:
    """A few values by key, the least recently used dropped first (the copies and graphs of
    a model for the lengths it runs: a stream of many lengths must not grow memory)."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._entries: dict = {}

    def get(self, key):
        value = self._entries.pop(key, None)
        if value is not None:
            self._entries[key] = value
        return value

    def put(self, key, value) -> None:
        self._entries.pop(key, None)
        self._entries[key] = value
        while len(self._entries) > self.capacity:
            self._entries.pop(next(iter(self._entries)))

    def clear(self) -> None:
        self._entries.clear()
