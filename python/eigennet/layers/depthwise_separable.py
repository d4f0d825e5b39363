"""DepthwiseConv1D/2D and SeparableConv1D/2D (channels last), Keras 3's layers.

Written with keras.ops and traced into the native graph: a depthwise convolution is the
native `ops.depthwise_conv` (direct loops: its products are too thin for a GEMM), plus the
bias and the activation; a separable convolution is that depthwise step followed by a 1x1
`ops.conv` (one GEMM over all the pixels of the batch) with the pointwise kernel. Weights as
Keras: DepthwiseConv `kernel (k..., in, depth_multiplier)`, `bias (in * depth_multiplier,)`;
SeparableConv `depthwise_kernel (k..., in, depth_multiplier)`, `pointwise_kernel (1...,
in * depth_multiplier, filters)`, `bias (filters,)`.
"""

from __future__ import annotations

import numpy as np

from eigennet import activations, constraints, initializers, ops, regularizers
from eigennet.layers._ops_layer import OpsLayer, serialized
from eigennet.layers._spatial import (
    check_data_format,
    input_channels,
    spatial_axes,
    standardize_padding,
    standardize_tuple,
    window_config,
)


def _positive(value, name: str):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly positive value. "
            f"Received {name}={value}."
        )
    return int(value)


def _ser_init(init):
    return initializers.serialize(init) if isinstance(init, initializers.Initializer) else None


class _BaseWindowed(OpsLayer):
    """Shared arguments of the depthwise and separable convolutions."""

    rank = 2

    def __init__(
        self,
        rank,
        kernel_size,
        strides,
        padding,
        depth_multiplier,
        data_format,
        dilation_rate,
        activation,
        use_bias,
        bias_initializer,
        bias_regularizer,
        activity_regularizer,
        bias_constraint,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__
        self.rank = rank
        self.depth_multiplier = _positive(depth_multiplier, "depth_multiplier")
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = standardize_tuple(strides, rank, "strides", owner)
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate", owner)
        self.padding = standardize_padding(padding, owner, ("valid", "same"))
        self.data_format = check_data_format(data_format, owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: strides > 1 is not supported with dilation_rate > 1, got "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}"
            )
        self.activation = activations.get(activation)  # any: traced with the rest of call()
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)

    def _input_channels(self, input_shape) -> int:
        return input_channels(self, input_shape, self.rank + 2, spatial_axes(self.rank))

    def _depthwise(self, inputs, kernel):
        return ops.depthwise_conv(
            inputs,
            kernel,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
        )

    def _finish(self, x):
        if self.use_bias:
            x = ops.add(x, self.bias)
        if self.activation is not activations.linear:
            x = self.activation(x)
        return x  # the activity penalty is added by Layer (as for every traced layer)

    def _common_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {
            **config,
            **window_config(self),
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
        }


class BaseDepthwiseConv(_BaseWindowed):
    """N-D depthwise convolution (N = `rank`), channels last. See DepthwiseConv2D."""

    def __init__(
        self,
        rank,
        depth_multiplier=1,
        kernel_size=3,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            rank,
            kernel_size,
            strides,
            padding,
            depth_multiplier,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint,
            **kwargs,
        )
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=initializers.fresh(self.depthwise_initializer),
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
            name="kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(channels * self.depth_multiplier,),
                initializer=initializers.fresh(self.bias_initializer),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.input_shape = tuple(input_shape)

    def call(self, inputs, training=None):
        self._input_channels(getattr(inputs, "shape", np.shape(inputs)))
        return self._finish(self._depthwise(inputs, self.kernel))

    def get_config(self):
        return {
            **self._common_config(),
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": _ser_init(self.depthwise_initializer),
            "bias_initializer": _ser_init(self.bias_initializer),
            "depthwise_regularizer": serialized(regularizers, self.depthwise_regularizer),
            "bias_regularizer": serialized(regularizers, self.bias_regularizer),
            "activity_regularizer": serialized(regularizers, self.activity_regularizer),
            "depthwise_constraint": serialized(constraints, self.depthwise_constraint),
            "bias_constraint": serialized(constraints, self.bias_constraint),
        }


class BaseSeparableConv(_BaseWindowed):
    """N-D separable convolution (N = `rank`), channels last. See SeparableConv2D."""

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            rank,
            kernel_size,
            strides,
            padding,
            depth_multiplier,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint,
            **kwargs,
        )
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(
                "Invalid value for argument `filters`. Expected a strictly positive value. "
                f"Received filters={filters}."
            )
        self.filters = int(filters)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=initializers.fresh(self.depthwise_initializer),
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
            name="depthwise_kernel",
        )
        self.pointwise_kernel = self.add_weight(
            shape=(*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            initializer=initializers.fresh(self.pointwise_initializer),
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
            name="pointwise_kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.filters,),
                initializer=initializers.fresh(self.bias_initializer),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.input_shape = tuple(input_shape)

    def call(self, inputs, training=None):
        self._input_channels(getattr(inputs, "shape", np.shape(inputs)))
        x = self._depthwise(inputs, self.depthwise_kernel)
        return self._finish(ops.conv(x, self.pointwise_kernel))

    def get_config(self):
        return {
            **self._common_config(),
            "depth_multiplier": self.depth_multiplier,
            "filters": self.filters,
            "depthwise_initializer": _ser_init(self.depthwise_initializer),
            "pointwise_initializer": _ser_init(self.pointwise_initializer),
            "bias_initializer": _ser_init(self.bias_initializer),
            "depthwise_regularizer": serialized(regularizers, self.depthwise_regularizer),
            "pointwise_regularizer": serialized(regularizers, self.pointwise_regularizer),
            "bias_regularizer": serialized(regularizers, self.bias_regularizer),
            "activity_regularizer": serialized(regularizers, self.activity_regularizer),
            "depthwise_constraint": serialized(constraints, self.depthwise_constraint),
            "pointwise_constraint": serialized(constraints, self.pointwise_constraint),
            "bias_constraint": serialized(constraints, self.bias_constraint),
        }


_DOC_ARGS = """
    Args:
{filters}        kernel_size: int or tuple of {rank} ints, the size of the window.
        strides: int or tuple of {rank} ints (default 1); strides > 1 excludes
            dilation_rate > 1.
        padding: "valid" (default) or "same", Keras's rules.
        depth_multiplier: Output channels per input channel of the depthwise step (default 1).
        data_format: None or "channels_last" (the only supported layout).
        dilation_rate: int or tuple of {rank} ints (default 1).
        activation: Activation name or function (default None: linear).
        use_bias: Whether the layer adds a bias vector (default True).
        *_initializer, *_regularizer, activity_regularizer: As Keras.
        *_constraint: Optional `eigennet.constraints`.
"""
_FILTERS = "        filters: Positive integer, the output channels of the pointwise step.\n"


class DepthwiseConv1D(BaseDepthwiseConv):
    __doc__ = (
        "1-D depthwise convolution: each input channel convolved with its own "
        "`depth_multiplier` filters. Inputs `(batch, steps, channels)`.\n"
        + _DOC_ARGS.format(rank=1, filters="")
    )
    rank = 1

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            1,
            depth_multiplier=depth_multiplier,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )


class DepthwiseConv2D(BaseDepthwiseConv):
    __doc__ = (
        "2-D depthwise convolution: each input channel convolved with its own "
        "`depth_multiplier` filters. Inputs `(batch, rows, cols, channels)`.\n"
        + _DOC_ARGS.format(rank=2, filters="")
    )
    rank = 2

    def __init__(
        self,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            2,
            depth_multiplier=depth_multiplier,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )


def _separable_init(rank):
    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        BaseSeparableConv.__init__(
            self,
            rank,
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            depth_multiplier=depth_multiplier,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            pointwise_constraint=pointwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )

    return __init__


class SeparableConv1D(BaseSeparableConv):
    __doc__ = (
        "1-D separable convolution: a depthwise convolution, then a pointwise (1x1) one "
        "mixing channels into `filters`. Inputs `(batch, steps, channels)`.\n"
        + _DOC_ARGS.format(rank=1, filters=_FILTERS)
    )
    rank = 1
    __init__ = _separable_init(1)


class SeparableConv2D(BaseSeparableConv):
    __doc__ = (
        "2-D separable convolution: a depthwise convolution, then a pointwise (1x1) one "
        "mixing channels into `filters`. Inputs `(batch, rows, cols, channels)`.\n"
        + _DOC_ARGS.format(rank=2, filters=_FILTERS)
    )
    rank = 2
    __init__ = _separable_init(2)


SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
