"""EinsumDense (Keras 3's layer): a dense layer whose product is an einsum equation, written
with keras.ops and traced into the graph (the einsum is one native op, forward and backward).

The kernel's shape comes from the equation, the input's shape and the partial output shape,
by Keras's rules: an axis of the kernel that the output has takes the output's size, one the
input has takes the input's. `bias_axes` (output axes) give the bias's shape. A
VarianceScaling kernel initializer (glorot_uniform by default) takes its fans over the
kernel's input and output axes, as Keras sets them.
"""

from __future__ import annotations

import re

from eigennet import activations, constraints, initializers, ops, regularizers
from eigennet.layers import quantization
from eigennet.layers._ops_layer import OpsLayer
from eigennet.layers.einsum_quantization import Int8Einsum


def _split(equation: str):
    """(input spec, kernel spec, output spec, whether the ellipsis is on the left), or a
    ValueError for an equation EinsumDense does not take."""
    plain = equation.replace("...", "0")
    for pattern, left in (
        (r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
        (r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
        (r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False),
    ):
        match = re.fullmatch(pattern, plain)
        if match:
            return (*match.groups(), left)
    raise ValueError(
        f"Invalid einsum equation '{equation}'. Equations must be in the form "
        "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]...."
    )


def _spelled_out(equation: str, rank: int) -> str:
    """The equation with its ellipsis replaced by letters it does not use, one per axis it
    stands for in inputs of `rank` axes (the native einsum takes letters only)."""
    if "..." not in equation:
        return equation
    input_spec = equation.split(",", 1)[0].replace("...", "")
    unused = [
        c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in equation
    ]
    return equation.replace("...", "".join(unused[: rank - len(input_spec)]))


def einsum_shapes(equation, bias_axes, input_shape, output_shape):
    """(kernel shape, bias shape or None, full output shape, kernel input axes, kernel output
    axes) of an EinsumDense on inputs of `input_shape` (batch first)."""
    input_spec, kernel_spec, output_spec, left = _split(equation)
    input_shape = list(input_shape)
    elided = len(input_shape) - len(input_spec)
    output = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    output.insert(0, input_shape[0])
    if elided > 0 and left:
        for i in range(1, elided):
            output.insert(1, input_shape[i])
    elif elided > 0:
        output.extend(input_shape[len(input_shape) - elided :])
    if left:
        input_at = {d: i + elided - len(input_shape) for i, d in enumerate(input_spec)}
        output_at = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        input_at = {d: i for i, d in enumerate(input_spec)}
        output_at = {d: i for i, d in enumerate(output_spec)}
    for d in input_spec:
        if d in output_at and output[output_at[d]] not in (None, input_shape[input_at[d]]):
            raise ValueError(
                f"Input shape and output shape do not match at shared dimension '{d}'. Input "
                f"shape is {input_shape[input_at[d]]}, and output shape is "
                f"{output[output_at[d]]}."
            )
    for d in output_spec:
        if d not in input_spec and d not in kernel_spec:
            raise ValueError(
                f"Dimension '{d}' was specified in the output '{output_spec}' but has no "
                f"corresponding dim in the input spec '{input_spec}' or weight spec "
                f"'{kernel_spec}'"
            )
    kernel, input_axes, output_axes = [], [], []
    for i, d in enumerate(kernel_spec):
        if d in output_at:
            kernel.append(output[output_at[d]])
            output_axes.append(i)
        elif d in input_at:
            kernel.append(input_shape[input_at[d]])
            input_axes.append(i)
        else:
            raise ValueError(
                f"Weight dimension '{d}' did not have a match in either the input spec "
                f"'{input_spec}' or the output spec '{output_spec}'. For this layer, the "
                "weight must be fully specified."
            )
    bias = None
    if bias_axes is not None:
        shift = elided if left else 0
        size_of = {d: output[i + shift] for i, d in enumerate(output_spec)}
        for d in bias_axes:
            if d not in output_spec:
                raise ValueError(
                    f"Bias dimension '{d}' was requested, but is not part of the output spec "
                    f"'{output_spec}'"
                )
        first = min(output_spec.find(d) for d in bias_axes)
        bias = [size_of[d] if d in bias_axes else 1 for d in output_spec[first:]]
        if not left:
            bias.extend([1] * max(elided, 0))
    if any(d is None for d in kernel):
        raise ValueError(
            f"EinsumDense '{equation}': the kernel's shape {tuple(kernel)} has an undefined "
            "dimension; give the input's or the output's size there"
        )
    return kernel, bias, output, input_axes, output_axes


class EinsumDense(OpsLayer):
    """A dense layer of any rank: `activation(einsum(equation, inputs, kernel) + bias)`.

    Args:
        equation: The einsum equation, `"ab,bc->ac"`, `"...b,bc->...c"` or `"ab...,bc->ac..."`
            style: the input's axes, the kernel's, the output's.
        output_shape: The output's shape without the batch axis (an int for one axis);
            None where the input gives the size.
        activation: Applied to the result (default None: linear).
        bias_axes: Output axes that get a bias (a string of their letters), or None.
        kernel_initializer, bias_initializer: default "glorot_uniform" and "zeros".
        kernel_regularizer, bias_regularizer: Optional regularizers.
        kernel_constraint, bias_constraint: Optional `eigennet.constraints`.
        lora_rank: must be None (not supported).
        quantization_config: None, or Keras's default int8 config (as Keras writes it for a
            quantized layer).

    Weights, in Keras order: `kernel`, then `bias` when `bias_axes` is given.

    `quantize("int8")` (or `model.quantize("int8")`), as Keras: the kernel becomes int8 with a
    scale per output element of the kernel, laid out as Keras lays it out; inputs are
    quantized at run time and the product runs in integers (einsum_quantization.py). Weights
    then: bias, kernel (int8), kernel_scale, saved as kernel, bias, kernel_scale (Keras's
    order); neither kernel nor scale trains.
    """

    def __init__(
        self,
        equation,
        output_shape,
        activation=None,
        bias_axes=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        lora_rank=None,
        lora_alpha=None,
        quantization_config=None,
        **kwargs,
    ):
        if lora_rank is not None:  # accepted as None so that Keras configs load
            raise ValueError("EinsumDense(lora_rank=...) is not supported by eigennet yet")
        quantization.check_config_argument("EinsumDense", quantization_config)
        super().__init__(**kwargs)
        _split(str(equation))  # the equation's form is checked at once, as Keras
        self.equation = str(equation)
        self.partial_output_shape = (
            (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        )
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)  # any: traced with the rest of call()
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel = self.bias = self.kernel_scale = None
        self.full_output_shape = None
        self._int8 = None

    def build(self, input_shape):
        kernel, bias, output, input_axes, output_axes = einsum_shapes(
            self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape
        )
        self.full_output_shape = tuple(output)
        self.input_shape = tuple(input_shape)
        if self.quantization_mode is not None:
            self._build_int8(tuple(kernel), bias)
            return
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling) and (
            init.input_axes is None or init.output_axes is None
        ):
            init = initializers.fresh(init, input_axes=input_axes, output_axes=output_axes)
        else:
            init = initializers.fresh(init)
        self.kernel = self.add_weight(
            shape=tuple(kernel), initializer=init, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel",
        )  # fmt: skip
        if bias is not None:
            self.bias = self.add_weight(
                shape=tuple(bias), initializer=initializers.fresh(self.bias_initializer),
                regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias",
            )  # fmt: skip

    def _build_int8(self, kernel_shape: tuple, bias_shape) -> None:
        """The quantized layer's weights, made in Keras's saving order (as Keras's
        _int8_build: the kernel zeros, the scale ones)."""
        quantization.check_supported(self.quantization_mode)
        self._int8 = Int8Einsum(self.equation, len(self.input_shape), f"EinsumDense {self.name!r}")
        self.kernel = self.add_weight(
            shape=kernel_shape, initializer="zeros", dtype="int8", trainable=False, name="kernel"
        )
        if bias_shape is not None:
            self.bias = self.add_weight(
                shape=tuple(bias_shape), initializer=initializers.fresh(self.bias_initializer),
                regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias",
            )  # fmt: skip
        self.kernel_scale = self.add_weight(
            shape=self._int8.scale_shape(kernel_shape), initializer="ones", trainable=False,
            name="kernel_scale",
        )  # fmt: skip

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantizes the kernel as Keras's EinsumDense.quantize (see the class docstring)."""
        mode = quantization.resolve_mode(mode, config)
        quantization.check_layer(self, mode)
        if type_check and type(self) is not EinsumDense:
            raise quantization.not_implemented(self)
        quantization.check_supported(mode)
        plan = Int8Einsum(self.equation, len(self.input_shape), f"EinsumDense {self.name!r}")
        kernel, scale = plan.quantize_kernel(self.kernel.numpy())
        bias = [self.bias.numpy()] if self.bias is not None else []
        self._requantize(mode, [kernel, *bias, scale])

    def call(self, inputs, training=None):
        if self._int8 is not None:
            x = self._int8(inputs, self.kernel, self.kernel_scale)
            if self.bias is not None:
                x = ops.add(x, self.bias)
            return x if self.activation is activations.linear else self.activation(x)
        rank = len(getattr(inputs, "shape", ()))
        x = ops.einsum(_spelled_out(self.equation, rank), inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        if self.activation is not activations.linear:
            x = self.activation(x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(
            einsum_shapes(
                self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape
            )[2]
        )

    def get_config(self):
        def serialized(module, obj):
            return None if obj is None else module.serialize(obj)

        return {
            **super().get_config(),
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": serialized(regularizers, self.kernel_regularizer),
            "bias_regularizer": serialized(regularizers, self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": quantization.config_entry(self),
        }
