"""Convolution layers: Conv1D, Conv2D and Conv3D (channels last), natively by im2col + GEMM."""

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


class BaseConv(KernelBiasMixin, SpatialLayer):
    """N-D convolution (N = `rank`), channels last. See Conv1D, Conv2D and Conv3D."""

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
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
            raise ValueError(f"{owner} filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = standardize_tuple(strides, rank, "strides", owner)
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate", owner)
        allowed = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
        self.padding = standardize_padding(padding, owner, allowed)
        self.data_format = check_data_format(data_format, owner)
        if groups != 1:
            raise ValueError(f"{owner} supports only groups=1, got groups={groups!r}")
        self.groups = 1
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: strides > 1 is not supported with dilation_rate > 1, got "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}"
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
        return getattr(_core, f"Conv_{dtype}")(
            self.rank,
            self.filters,
            list(self.kernel_size),
            list(self.strides),
            self.padding,
            list(self.dilation_rate),
            self._activation_name,
            self.use_bias,
            self.quantization_mode == "int8",
        )

    def quantize(self, mode=None, type_check=True, config=None):
        """int8 quantization, an eigennet extension of Keras's (Keras 3.15 quantizes no
        convolution): the kernel int8 with a `kernel_scale` per filter, as Dense's per output
        channel; each output pixel's receptive field is quantized at run time and the product
        runs in integers. Weights then: kernel, bias, kernel_scale; the bias still trains.
        Keras cannot load such a layer."""
        exact = type(self).__module__ == BaseConv.__module__  # not a user's subclass
        self._quantize_kernel(mode, type_check, config, exact)

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
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
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


_CONV_ARGS = """
    Args:
        filters: Positive integer, the number of output channels.
        kernel_size: int or tuple of {rank} ints, the size of the convolution window.
        strides: int or tuple of {rank} ints (default 1). strides > 1 excludes
            dilation_rate > 1.
        padding: "valid" (no padding, default), "same" (output length ceil(input / stride);
            zeros split as Keras does, the odd one after the data){causal}. Case-insensitive.
        data_format: None or "channels_last" (the only supported layout).
        dilation_rate: int or tuple of {rank} ints (default 1), the spacing of kernel taps.
        groups: Must be 1 (grouped convolutions are not supported).
        activation: Activation name or function of `eigennet.activations` (default None:
            linear).
        use_bias: Whether the layer adds a bias vector (default True).
        kernel_initializer: Initializer of the kernel (default "glorot_uniform").
        bias_initializer: Initializer of the bias (default "zeros").
        kernel_regularizer, bias_regularizer, activity_regularizer: Optional
            `eigennet.regularizers` (L1, L2, L1L2).
        kernel_constraint, bias_constraint: Optional `eigennet.constraints`, applied after
            each optimizer step.
"""


class Conv1D(BaseConv):
    __doc__ = (
        """1-D convolution over steps (temporal convolution), channels last.

    Computes `activation(correlate(inputs, kernel) + bias)` with Keras 3's output lengths and
    padding. Weights, in Keras order: kernel `(kernel_size, input_channels, filters)`, then
    bias `(filters,)`.
"""
        + _CONV_ARGS.format(
            rank=1,
            causal=', or "causal" (dilation_rate * (kernel_size - 1) zeros before the '
            "data: output t sees inputs <= t)",
        )
        + """
    Input shape: `(batch_size, steps, channels)`.
    Output shape: `(batch_size, new_steps, filters)`.
    """
    )

    rank = 1

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
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
            data_format=data_format,
            dilation_rate=dilation_rate,
            groups=groups,
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


class Conv2D(BaseConv):
    __doc__ = (
        """2-D convolution over images, channels last.

    Computes `activation(correlate(inputs, kernel) + bias)` with Keras 3's output sizes and
    padding. Weights, in Keras order: kernel `(kernel_rows, kernel_cols, input_channels,
    filters)`, then bias `(filters,)`.
"""
        + _CONV_ARGS.format(rank=2, causal="")
        + """
    Input shape: `(batch_size, rows, cols, channels)`.
    Output shape: `(batch_size, new_rows, new_cols, filters)`.
    """
    )

    rank = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        groups=1,
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
            data_format=data_format,
            dilation_rate=dilation_rate,
            groups=groups,
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


class Conv3D(BaseConv):
    __doc__ = (
        """3-D convolution over volumes (e.g. scans, or frames of a video), channels last.

    Computes `activation(correlate(inputs, kernel) + bias)` with Keras 3's output sizes and
    padding. Weights, in Keras order: kernel `(kernel_depth, kernel_rows, kernel_cols,
    input_channels, filters)`, then bias `(filters,)`.
"""
        + _CONV_ARGS.format(rank=3, causal="")
        + """
    Input shape: `(batch_size, depth, rows, cols, channels)`.
    Output shape: `(batch_size, new_depth, new_rows, new_cols, filters)`.
    """
    )

    rank = 3

    # Keras's leading arguments in its order; the others and their defaults are BaseConv's.
    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1, 1),
        groups=1,
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
            data_format=data_format,
            dilation_rate=dilation_rate,
            groups=groups,
            activation=activation,
            use_bias=use_bias,
            **kwargs,
        )


Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
