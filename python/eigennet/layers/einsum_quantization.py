"""Keras's int8 quantization of an einsum product: `EinsumDense.quantize("int8")`, and the
projections of `MultiHeadAttention` (which Keras makes of EinsumDense layers).

As Keras: the kernel becomes int8 with one abs-max scale per output element of the kernel
(over the axes the einsum contracts), laid out so that it broadcasts against the output
(Keras's `_analyze_quantization_info`); the input is quantized at run time over the same
contracted axes; the product runs in integers and is divided by both scales.

Natively the product is one Int8MatMulOp: the input's axes are arranged as (free axes in the
input's order, contracted axes) and the kernel's as (contracted axes in the same order, free
axes in the output's order), so that the einsum is a matrix product of int8 operands.
Equations that are not such a product (an axis shared by the input, the kernel and the output)
are not supported: `quantize` raises NotImplementedError, which `model.quantize` reports as a
warning, leaving the layer in float.
"""

from __future__ import annotations

import re
import string

import numpy as np

from eigennet.layers import quantization
from eigennet.ops import symbolic


def _specs(equation: str, rank: int) -> tuple[str, str, str]:
    """The input's, the kernel's and the output's letters, an ellipsis spelled out for an
    input of `rank` axes."""
    plain = equation.replace("...", "0")
    input_spec, kernel_spec, output_spec = re.fullmatch(
        r"(0?[a-zA-Z]+0?),([a-zA-Z]+)->(0?[a-zA-Z]+0?)", plain
    ).groups()
    free = sorted(set(string.ascii_letters) - set(plain))
    elided = rank - len(input_spec.replace("0", ""))
    filler = "".join(free[:elided])
    return input_spec.replace("0", filler), kernel_spec, output_spec.replace("0", filler)


class Int8Einsum:
    """The int8 form of `equation` on inputs of `rank` axes (batch included)."""

    def __init__(self, equation: str, rank: int, owner: str):
        i, k, o = _specs(equation, rank)
        shared = [c for c in k if c in i and c in o]
        if shared or not i or i[0] not in o or any(c not in k and c not in o for c in i):
            raise NotImplementedError(
                f"{owner}: quantize('int8') of the einsum '{equation}' is not supported by "
                "eigennet: its kernel shares an axis with the input and the output, or an "
                "input axis is summed alone"
            )
        self.contracted = [c for c in i if c not in o]
        free_in = [c for c in i if c in o]
        free_kernel = [c for c in o if c in k]
        self.input_order = [i.index(c) for c in free_in + self.contracted]
        self.kernel_order = [k.index(c) for c in self.contracted + free_kernel]
        product = free_in + free_kernel
        self.output_order = [product.index(c) for c in o]
        self.kernel_reduced = tuple(k.index(c) for c in self.contracted)
        self._scale_layout = _keras_scale_layout(i, k, o)

    def quantize_kernel(self, kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The int8 kernel and its scale in Keras's layout (EinsumDense.quantize)."""
        values, scale = quantization.abs_max_quantize(kernel, axis=self.kernel_reduced)
        transpose, expand, squeeze = self._scale_layout
        scale = np.transpose(scale, transpose)
        if expand:
            scale = np.expand_dims(scale, tuple(expand))
        if squeeze:
            scale = np.squeeze(scale, tuple(squeeze))
        return values, scale

    def scale_shape(self, kernel_shape) -> tuple:
        """The shape of the kernel's scale (Keras's _get_kernel_scale_shape)."""
        shape = np.array(kernel_shape)
        shape[list(self.kernel_reduced)] = 1
        return self.quantize_kernel(np.ones(tuple(shape), np.float32))[1].shape

    def __call__(self, x, kernel, kernel_scale):
        """The de-scaled int8 product of x and the int8 `kernel` (whole numbers) with
        `kernel_scale` in Keras's layout: a native op on symbolic tensors, NumPy on arrays."""
        if not symbolic.is_symbolic(x):
            return self._numpy(np.asarray(x), np.asarray(kernel), np.asarray(kernel_scale))
        from eigennet import ops

        x = _transposed(ops, x, self.input_order)
        kernel = _transposed(ops, kernel, self.kernel_order)
        y = symbolic.record(
            "int8_matmul", "Int8MatMulOp", [x, kernel, kernel_scale], len(self.contracted)
        )
        return _transposed(ops, y, self.output_order)

    def _numpy(self, x, kernel, kernel_scale):
        m = len(self.contracted)
        x = np.transpose(x, self.input_order)
        kernel = np.transpose(kernel, self.kernel_order)
        rows, inner = x.shape[: x.ndim - m], int(np.prod(x.shape[x.ndim - m :], dtype=np.int64))
        columns = kernel.shape[m:]
        x2 = x.reshape(-1, inner)
        if not np.all(np.isfinite(x2)):
            raise ValueError(
                "an int8 EinsumDense product got NaN or inf in its input: int8 quantization "
                "needs finite values"
            )
        q, x_scale = quantization.abs_max_quantize(x2, axis=-1)
        k2 = np.clip(np.rint(kernel.reshape(inner, -1)), -128, 127).astype(np.int32)
        product = (q.astype(np.int32) @ k2).astype(x.dtype)
        y = product / (x_scale * kernel_scale.reshape(1, -1).astype(x.dtype))
        return np.transpose(y.reshape(*rows, *columns), self.output_order)


def _transposed(ops, x, order: list[int]):
    return x if order == sorted(order) else ops.transpose(x, order)


def _keras_scale_layout(i: str, k: str, o: str) -> tuple[list, list, list]:
    """Keras's transpose, expand and squeeze axes that lay a kernel's scale (the kernel's
    shape with the contracted axes 1) out against the output. An axis that finds no place
    to expand into is squeezed and goes where the previous one went, as Keras does."""
    reduced = [n for n, c in enumerate(k) if c not in o]
    expand = [n for n, c in enumerate(o) if c not in k]
    transpose = [k.index(c) for c in o if c in k]
    squeeze = []
    # Keras reuses its last position when none is left: that of the input's last contracted
    # axis, else the output position of the kernel's last letter.
    input_expand = [n for n, c in enumerate(o) if c not in i]
    input_reduced = [n for n, c in enumerate(i) if c not in o]
    position = o.find(k[-1])
    for _ in input_reduced:
        if input_expand:
            position = input_expand.pop(0)
    for axis in reduced:
        if expand:
            position = expand.pop(0)
        else:
            squeeze.append(axis)
        transpose.insert(position, axis)
    return transpose, expand, squeeze
