"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate and Dot, and
their functional forms (`add([a, b])` is `Add()([a, b])`). They take a list of inputs and
compute natively; shape rules and errors follow Keras 3."""

from __future__ import annotations

import numpy as np

from eigennet import _core
from eigennet.layers import masking
from eigennet.layers.layer import Layer


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_shape_list(input_shape) -> bool:
    return (
        isinstance(input_shape, (list, tuple))
        and len(input_shape) > 0
        and all(isinstance(s, (list, tuple)) for s in input_shape)
    )


class Merge(Layer):
    """Base of the merge layers: a list of inputs, no weights."""

    _multi_input = True

    def _not_a_list(self, input_shape) -> str:
        return (
            "A merge layer should be called on a list of inputs. "
            f"Received: input_shape={input_shape} (not a list of shapes)"
        )

    def _input_list(self, inputs) -> list:
        """A list of inputs; as Keras, a list of one is accepted."""
        if not isinstance(inputs, (list, tuple)) or not inputs:
            shape = getattr(inputs, "shape", None)
            raise ValueError(self._not_a_list(inputs if shape is None else tuple(shape)))
        return list(inputs)

    def build(self, input_shape) -> None:
        if self.built:
            return
        if not _is_shape_list(input_shape):
            raise ValueError(self._not_a_list(input_shape))
        batch_sizes = {s[0] for s in input_shape if len(s)} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                "Cannot merge tensors with different batch sizes. "
                f"Received tensors with shapes {list(input_shape)}"
            )
        super().build(input_shape)

    def compute_output_shape(self, input_shape) -> tuple:
        if not self.built:
            self.build(input_shape)
        batch_sizes = {s[0] for s in input_shape if len(s)} - {None}
        batch = batch_sizes.pop() if len(batch_sizes) == 1 else None
        return (batch, *self.output_shape[1:])


class _ElementwiseMerge(Merge):
    """Add, Subtract, ...: one native layer, `_op` names the operation."""

    _op = ""

    @staticmethod
    def _broadcast(shape1: tuple, shape2: tuple) -> tuple:
        """Keras's element-wise output shape of two sample shapes (trailing axes aligned,
        an axis of size 1 repeats)."""
        if len(shape1) < len(shape2):
            return _ElementwiseMerge._broadcast(shape2, shape1)
        if not shape2:
            return shape1
        out = list(shape1[: -len(shape2)])
        for i, j in zip(shape1[-len(shape2) :], shape2):
            if i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(
                    f"Inputs have incompatible shapes. Received shapes {shape1} and {shape2}"
                )
        return tuple(out)

    def _check_input_shapes(self, shapes):
        out = tuple(shapes[0][1:])
        for shape in shapes[1:]:
            out = self._broadcast(out, tuple(shape[1:]))

    def _make_core(self, dtype):
        return getattr(_core, f"ElementwiseMerge_{dtype}")(self._op)

    supports_masking = True

    def compute_mask(self, inputs, previous_mask):
        """Keras's rule: the logical or of the inputs' masks, when every input has one."""
        return masking.or_masks(list(previous_mask or []))


class Add(_ElementwiseMerge):
    """Element-wise sum of a list of inputs of the same shape (or shapes that broadcast:
    an axis of size 1 repeats, as in Keras).

    Input: a list of tensors. Output: one tensor of their (broadcast) shape.
    """

    _op = "add"


class Subtract(_ElementwiseMerge):
    """Element-wise difference `inputs[0] - inputs[1]` of exactly two inputs."""

    _op = "subtract"

    def _check_input_shapes(self, shapes):
        super()._check_input_shapes(shapes)
        if len(shapes) != 2:
            raise ValueError(
                "A `Subtract` layer should be called on exactly 2 inputs. "
                f"Received: input_shape={shapes}"
            )


class Multiply(_ElementwiseMerge):
    """Element-wise product of a list of inputs."""

    _op = "multiply"


class Average(_ElementwiseMerge):
    """Element-wise mean of a list of inputs."""

    _op = "average"


class Maximum(_ElementwiseMerge):
    """Element-wise maximum of a list of inputs. Its gradient goes to the first input holding
    the maximum (on ties the earliest input takes it all)."""

    _op = "maximum"


class Minimum(_ElementwiseMerge):
    """Element-wise minimum of a list of inputs. Its gradient goes to the first input holding
    the minimum (on ties the earliest input takes it all)."""

    _op = "minimum"


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis`; their shapes agree on every other axis.

    Args:
        axis: Axis along which to concatenate (default -1). Any axis but the batch axis.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not _is_int(axis):
            raise ValueError(f"Concatenate axis must be an integer, got {axis!r}")
        self.axis = int(axis)
        self._sample_axis = None

    def _not_a_list(self, input_shape) -> str:
        return (
            "A `Concatenate` layer should be called on a list of "
            f"at least 1 input. Received: input_shape={input_shape}"
        )

    def _check_input_shapes(self, shapes):
        error = (
            "A `Concatenate` layer requires inputs with matching shapes except for the "
            f"concatenation axis. Received: input_shape={shapes}"
        )
        rank = len(shapes[0])
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"Concatenate axis {self.axis} is out of range for inputs of rank {rank}. "
                f"Received: input_shape={shapes}"
            )
        axis = self.axis % rank
        if axis == 0:
            raise ValueError(
                "Concatenate along the batch axis (axis=0) is not supported by eigennet: "
                "concatenate along a sample axis"
            )
        for shape in shapes:
            if len(shape) != rank or any(
                d != axis and shape[d] != shapes[0][d] for d in range(1, rank)
            ):
                raise ValueError(error)
        self._sample_axis = axis - 1

    def _make_core(self, dtype):
        return getattr(_core, f"Concatenate_{dtype}")(self._sample_axis)

    supports_masking = True

    def compute_mask(self, inputs, previous_mask):
        """Keras's rule: each input's mask (all ones without one) broadcast over its shape,
        concatenated like the inputs; a step is kept when any of its values is."""
        from eigennet import ops

        masks = list(previous_mask or [])
        if all(m is None for m in masks):
            return None
        full = [
            ops.ones_like(x)
            if m is None
            else ops.logical_or(ops.expand_dims(m, -1), ops.zeros_like(x))
            for x, m in zip(inputs, masks)
        ]
        return ops.any(ops.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """Dot product of the samples of two inputs along `axes` (Keras's batch dot): for
    inputs of shapes (batch, n) it gives (batch, 1); for (batch, p, k) and (batch, k, s) with
    axes (2, 1) it gives (batch, p, s). The output's axes are the first input's remaining
    axes, then the second's.

    Args:
        axes: Integer or pair of integers: the axis of each input to contract (their sizes
            must match); not the batch axis. Negative values count from the end.
        normalize: Whether to L2-normalize both inputs along the contracted axes first (the
            output is then the cosine proximity).
    """

    supports_masking = True

    def compute_mask(self, inputs, previous_mask):
        return None  # (Keras: a dot product has no steps left to mask)

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not _is_int(axes):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(
                    "Invalid type for argument `axes`: it should be "
                    f"a list or an int. Received: axes={axes}"
                )
            if len(axes) != 2:
                raise ValueError(
                    "Invalid format for argument `axes`: it should contain "
                    f"two elements. Received: axes={axes}"
                )
            if not _is_int(axes[0]) or not _is_int(axes[1]):
                raise ValueError(
                    "Invalid format for argument `axes`: list elements should "
                    f"be integers. Received: axes={axes}"
                )
        self.axes = axes
        self.normalize = bool(normalize)
        self._sample_axes = None

    def _not_a_list(self, input_shape) -> str:
        return (
            "A `Dot` layer should be called on a list of 2 inputs. "
            f"Received: input_shape={input_shape}"
        )

    def _axes_for(self, shape1: tuple, shape2: tuple) -> list[int]:
        """Keras's axes for these shapes (batch axis included, not yet made positive)."""
        if _is_int(self.axes):
            axes = int(self.axes)
            return [axes % len(shape1), axes % len(shape2)] if axes < 0 else [axes, axes]
        return [int(a) for a in self.axes]

    def _check_input_shapes(self, shapes):
        if len(shapes) != 2:
            raise ValueError(self._not_a_list(shapes))
        shape1, shape2 = (tuple(s) for s in shapes)
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(
                "Cannot do batch_dot on inputs with rank < 2. "
                f"Received inputs with shapes {shape1} and {shape2}."
            )
        axes = self._axes_for(shape1, shape2)
        for axis, shape in zip(axes, (shape1, shape2)):
            if not -len(shape) <= axis < len(shape):
                raise ValueError(
                    f"Dot axes {self.axes!r} are out of range for inputs of shapes "
                    f"{shape1} and {shape2}"
                )
        if shape1[axes[0]] != shape2[axes[1]]:
            raise ValueError(
                "Incompatible input shapes: "
                f"axis values {shape1[axes[0]]} (at axis {axes[0]}) != "
                f"{shape2[axes[1]]} (at axis {axes[1]}). "
                f"Full input shapes: {shape1}, {shape2}"
            )
        axes = [axes[0] % len(shape1), axes[1] % len(shape2)]
        if 0 in axes:
            raise ValueError(
                "Cannot perform batch_dot over axis 0. "
                "If your inputs are not batched, "
                "add a dummy batch dimension to your "
                "inputs using keras.ops.expand_dims(x, 0)"
            )
        self._sample_axes = (axes[0] - 1, axes[1] - 1)

    def _make_core(self, dtype):
        return getattr(_core, f"Dot_{dtype}")(*self._sample_axes, self.normalize)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """Functional form of `Add`: `add([a, b])` is `Add(**kwargs)([a, b])`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of `Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Functional form of `Dot` (Keras's default axes=-1)."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
