"""The length of an axis of variable length, as `ops.shape` gives it on a symbolic tensor.

Sequences of `keras.Input(shape=(None,))` have a length known only per batch (Keras's torch
backend traces call() on a placeholder length instead). `ops.shape(x)` gives such an axis as
a `VariableLength`: `ops.arange(length)` and `ops.arange(0, length)` are the positions along
it (keras-io's position embeddings), an op on it (`j - length`, `ops.cast(length, ...)`)
reads it as a scalar tensor, both computed natively per batch from `x`, and a reshape target
reads it as None. It is not a number while the model is built: `int()` of it raises.
"""

from __future__ import annotations


def _arithmetic(name: str, reverse: bool = False):
    """An arithmetic dunder of VariableLength: `ops.<name>` on the length as a scalar tensor."""
    return lambda self, other: self._op(name, other, reverse)


class VariableLength:
    """The length of axis `axis` of the symbolic tensor `tensor` (None in its shape)."""

    def __init__(self, tensor, axis: int):
        self.tensor, self.axis = tensor, axis

    def __repr__(self) -> str:
        return "None"

    def __eq__(self, other) -> bool:
        return isinstance(other, VariableLength) and (
            other.tensor is self.tensor and other.axis == self.axis
        )

    def __hash__(self) -> int:
        return hash((id(self.tensor), self.axis))

    def __index__(self):
        raise TypeError(
            f"axis {self.axis} of {self.tensor.shape} has a variable length (None), known "
            "only per batch: it is not a number while the model is built (use it in ops: "
            "ops.arange(length), length - 1, or give the axis a fixed length)"
        )

    __int__ = __float__ = __index__

    def _ones(self):
        """A one per position along the axis (no batch axis): the others averaged away."""
        from eigennet import ops

        t = self.tensor
        others = [a for a in range(len(t.shape)) if a != self.axis]
        return ops.mean(ops.ones_like(t), axis=others) if others else ops.ones_like(t)

    def positions(self):
        """0, 1, ..., length - 1 as a symbolic tensor of the axis's length (no batch axis)."""
        from eigennet import ops

        return ops.cumsum(self._ones(), axis=0) - 1.0

    def scalar(self):
        """The length as a symbolic scalar."""
        from eigennet import ops

        return ops.sum(self._ones())

    # Arithmetic reads the length as a scalar tensor.
    def _op(self, name: str, other, reverse: bool = False):
        from eigennet import ops

        operands = (other, self.scalar()) if reverse else (self.scalar(), other)
        return getattr(ops, name)(*operands)

    __add__, __radd__ = _arithmetic("add"), _arithmetic("add", reverse=True)
    __sub__, __rsub__ = _arithmetic("subtract"), _arithmetic("subtract", reverse=True)
    __mul__, __rmul__ = _arithmetic("multiply"), _arithmetic("multiply", reverse=True)
    __truediv__, __floordiv__ = _arithmetic("divide"), _arithmetic("floor_divide")


def as_none(shape):
    """A shape with its variable lengths as None (reshape targets, broadcast shapes)."""
    if isinstance(shape, VariableLength):
        return None
    if isinstance(shape, (list, tuple)):
        return type(shape)(None if isinstance(d, VariableLength) else d for d in shape)
    return shape
