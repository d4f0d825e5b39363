"""Transposed convolution layers: Conv1DTranspose, Conv2DTranspose and Conv3DTranspose
(channels last),
computed natively as the adjoint of the convolution (GEMM + col2im; see
cpp/include/eigennet/layers/conv_transpose.hpp)."""

from __future__ import annotations

import numpy as np

from eigennet import _core, activations, constraints, initializers, regularizers
from eigennet.layers._spatial import (
    SpatialLayer,
    check_data_format,
    standardize_padding,
    standardize_tuple,
)
from eigennet.layers.activation import take_activation
from eigennet.layers.kernel_bias import KernelBiasMixin


def _output_padding(value, rank: int, strides: tuple, owner: str):
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,) * rank
    try:
        values = tuple(value)
    except TypeError:
        values = None
    ok = values is not None and len(values) == rank
    ok = ok and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)
    if not ok or any(v < 0 for v in values):
        raise ValueError(
            f"{owner} argument `output_padding` must be None, a non-negative integer or a "
            f"tuple of {rank} non-negative integers, got output_padding={value!r}"
        )
    for i, (op, s) in enumerate(zip(values, strides)):
        if op >= s:
            raise ValueError(
                "`output_padding` must be strictly less than `strides` for all dimensions. "
                f"At dimension {i}, `output_padding` is {op} but `strides` is {s}. "
                f"Received: output_padding={tuple(values)}, strides={strides}"
            )
    return tuple(int(v) for v in values)


class BaseConvTranspose(KernelBiasMixin, SpatialLayer):
    """N-D transposed convolution (N = `rank`), channels last. See Conv1DTranspose,
    Conv2DTranspose and Conv3DTranspose."""

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__
        self.rank = rank
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(
                "Invalid value for argument `filters`. Expected a strictly positive value. "
                f"Received filters={filters}."
            )
        self.filters = int(filters)
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = standardize_tuple(strides, rank, "strides", owner)
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate", owner)
        self.padding = standardize_padding(padding, owner, ("valid", "same"))
        self.output_padding = _output_padding(output_padding, rank, self.strides, owner)
        self.data_format = check_data_format(data_format, owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}"
            )
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        take_activation(self, activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)

    def _make_core(self, dtype):
        return getattr(_core, f"ConvTranspose_{dtype}")(
            self.rank,
            self.filters,
            list(self.kernel_size),
            list(self.strides),
            self.padding,
            [] if self.output_padding is None else list(self.output_padding),
            list(self.dilation_rate),
            self._activation_name,
            self.use_bias,
        )

    def get_config(self):
        def ser(module, obj):
            return None if obj is None else module.serialize(obj)

        init = self.kernel_initializer, self.bias_initializer
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(init[0])
            if isinstance(init[0], initializers.Initializer)
            else None,
            "bias_initializer": initializers.serialize(init[1])
            if isinstance(init[1], initializers.Initializer)
            else None,
            "kernel_regularizer": ser(regularizers, self.kernel_regularizer),
            "bias_regularizer": ser(regularizers, self.bias_regularizer),
            "activity_regularizer": ser(regularizers, self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


_ARGS = """
    Args:
        filters: Positive integer, the number of output channels.
        kernel_size: int or tuple of {rank} ints, the size of the window.
        strides: int or tuple of {rank} ints (default 1); strides > 1 excludes
            dilation_rate > 1.
        padding: "valid" (default) or "same" (output size input * strides), case-insensitive.
        output_padding: None (default) or int or tuple of {rank} ints, each less than its
            stride: the amount added to the output along each axis (Keras 3's rule).
        data_format: None or "channels_last" (the only supported layout).
        dilation_rate: int or tuple of {rank} ints (default 1).
        activation: Activation name or function (default None: linear).
        use_bias: Whether the layer adds a bias vector (default True).
        kernel_initializer, bias_initializer: default "glorot_uniform" and "zeros".
        kernel_regularizer, bias_regularizer, activity_regularizer: Optional regularizers.
        kernel_constraint, bias_constraint: Optional `eigennet.constraints`, applied after
            each optimizer step.
"""


class Conv1DTranspose(BaseConvTranspose):
    __doc__ = """1-D transposed convolution ("deconvolution"), channels last.

    The adjoint of a Conv1D: maps `(batch, steps, channels)` to `(batch, new_steps,
    filters)` with Keras 3's output lengths. Weights, in Keras order: kernel
    `(kernel_size, filters, input_channels)`, then bias `(filters,)`.
""" + _ARGS.format(rank=1)

    rank = 1

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            1,
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            output_padding=output_padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )


class Conv2DTranspose(BaseConvTranspose):
    __doc__ = """2-D transposed convolution ("deconvolution"), channels last.

    The adjoint of a Conv2D: maps `(batch, rows, cols, channels)` to `(batch, new_rows,
    new_cols, filters)` with Keras 3's output sizes. Weights, in Keras order: kernel
    `(kernel_rows, kernel_cols, filters, input_channels)`, then bias `(filters,)`.
""" + _ARGS.format(rank=2)

    rank = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            2,
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            output_padding=output_padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )


class Conv3DTranspose(BaseConvTranspose):
    __doc__ = """3-D transposed convolution ("deconvolution") of volumes, channels last.

    The adjoint of a Conv3D: maps `(batch, depth, rows, cols, channels)` to `(batch,
    new_depth, new_rows, new_cols, filters)` with Keras 3's output sizes. Weights, in Keras
    order: kernel `(kernel_depth, kernel_rows, kernel_cols, filters, input_channels)`, then
    bias `(filters,)`.
""" + _ARGS.format(rank=3)

    rank = 3

    # Keras's leading arguments in its order (data_format before output_padding here); the
    # others and their defaults are BaseConvTranspose's.
    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1, 1),
        padding="valid",
        data_format=None,
        output_padding=None,
        dilation_rate=(1, 1, 1),
        activation=None,
        use_bias=True,
        **kwargs,
    ):
        super().__init__(
            3,
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            output_padding=output_padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            **kwargs,
        )


Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (
    Conv1DTranspose,
    Conv2DTranspose,
    Conv3DTranspose,
)
