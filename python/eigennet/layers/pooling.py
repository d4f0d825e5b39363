"""Pooling layers (channels last; the global ones also channels first): max and average
pooling over windows or whole samples."""

from __future__ import annotations

from eigennet import _core, ops
from eigennet.layers._ops_layer import standardize_data_format
from eigennet.layers._spatial import (
    SpatialLayer,
    check_data_format,
    standardize_padding,
    standardize_tuple,
)


class BasePooling(SpatialLayer):
    """Max or average pooling over windows of `pool_size` moved by `strides`.

    Max pooling passes the gradient to the first maximum of each window. Average pooling
    divides by the number of window positions inside the data, so with padding="same" the
    border windows average only real values (Keras's rule; see the README for the installed
    Keras torch backend's older behaviour).
    """

    def __init__(
        self,
        rank,
        mode,
        pool_size,
        strides=None,
        padding="valid",
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.rank, self._mode = rank, mode
        self.pool_size = standardize_tuple(pool_size, rank, "pool_size", owner)
        self.strides = (
            self.pool_size
            if strides is None
            else standardize_tuple(strides, rank, "strides", owner)
        )
        self.padding = standardize_padding(padding, owner, ("valid", "same"))
        self.data_format = check_data_format(data_format, owner)

    def _make_core(self, dtype):
        return getattr(_core, f"Pool_{dtype}")(
            self.rank, self._mode, list(self.pool_size), list(self.strides), self.padding
        )

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        }


_POOL_DOC = """{what} pooling for {data}, channels last.

    Args:
        pool_size: int or tuple of {rank} ints, the window size{default}.
        strides: int, tuple of {rank} ints or None (default: pool_size).
        padding: "valid" (default) or "same" (output ceil(input / strides); the window
            covers the border as Keras pads it{same_note}).
        data_format: None or "channels_last" (the only supported layout).

    Input shape: `{shape_in}`.
    Output shape: `{shape_out}`.
    """


# Per rank: what the data is, and its spatial axes.
_DATA = {1: "temporal data", 2: "images", 3: "volumes"}
_AXES = {1: ("steps",), 2: ("rows", "cols"), 3: ("depth", "rows", "cols")}


def _batch_shape(rank, prefix=""):
    return f"(batch_size, {', '.join(prefix + a for a in _AXES[rank])}, channels)"


def _pool_doc(what, rank, default, same_note):
    return _POOL_DOC.format(
        what=what,
        data=_DATA[rank],
        rank=rank,
        default=default,
        same_note=same_note,
        shape_in=_batch_shape(rank),
        shape_out=_batch_shape(rank, "pooled_"),
    )


_MAX_NOTE = ", padding never wins the maximum"
_AVG_NOTE = ", and border windows average only the values inside the data"


class MaxPooling1D(BasePooling):
    __doc__ = _pool_doc("Max", 1, " (default 2)", _MAX_NOTE)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(1, "max", pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(BasePooling):
    __doc__ = _pool_doc("Max", 2, " (default (2, 2))", _MAX_NOTE)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(2, "max", pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(BasePooling):
    __doc__ = _pool_doc("Max", 3, " (default (2, 2, 2))", _MAX_NOTE)

    def __init__(
        self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs
    ):
        super().__init__(3, "max", pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(BasePooling):
    __doc__ = _pool_doc("Average", 1, "", _AVG_NOTE)

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(1, "average", pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(BasePooling):
    __doc__ = _pool_doc("Average", 2, "", _AVG_NOTE)

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(2, "average", pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(BasePooling):
    __doc__ = _pool_doc("Average", 3, "", _AVG_NOTE)

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(3, "average", pool_size, strides, padding, data_format, **kwargs)


class BaseGlobalPooling(SpatialLayer):
    """Max or average over all spatial positions of each channel."""

    def __init__(self, rank, mode, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.rank, self._mode = rank, mode
        self.data_format = standardize_data_format(data_format)
        self.keepdims = bool(keepdims)

    @property
    def _traced(self) -> bool:
        # channels_first (keras-io's timeseries transformer pools its features this way):
        # call() with keras.ops, traced; channels_last: the native layer.
        return self.data_format == "channels_first"

    def call(self, inputs, mask=None):
        """The channels_first pooling: max or mean over axes 2.. (unmasked steps only)."""
        axes = tuple(range(2, 2 + self.rank))
        if self._mode == "max":
            return ops.max(inputs, axis=axes, keepdims=self.keepdims)
        if mask is None:
            return ops.mean(inputs, axis=axes, keepdims=self.keepdims)
        keep = ops.expand_dims(ops.cast(mask, inputs.dtype), 1)
        total = ops.sum(inputs * keep, axis=axes, keepdims=self.keepdims)
        return total / ops.sum(keep, axis=axes, keepdims=self.keepdims)

    def _make_core(self, dtype):
        return getattr(_core, f"GlobalPool_{dtype}")(self.rank, self._mode, self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


_GLOBAL_DOC = """Global {what} pooling for {data}: the {what} of each channel over all {axes}.

    Args:
        data_format: "channels_last" (default: natively) or "channels_first" (channels on
            axis 1; computed with keras.ops, traced into the graph).
        keepdims: Whether to keep the spatial axes with length 1 (default False).

    Input shape: `{shape_in}`.
    Output shape: `(batch_size, channels)`, or with keepdims `{shape_keep}`.
    """


def _global_doc(what, rank):
    return _GLOBAL_DOC.format(
        what=what,
        data=_DATA[rank],
        axes=", ".join(_AXES[rank]),
        shape_in=_batch_shape(rank),
        shape_keep=f"(batch_size, {'1, ' * rank}channels)",
    )


class GlobalMaxPooling1D(BaseGlobalPooling):
    __doc__ = _global_doc("max", 1)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, "max", data_format, keepdims, **kwargs)


class GlobalMaxPooling2D(BaseGlobalPooling):
    __doc__ = _global_doc("max", 2)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, "max", data_format, keepdims, **kwargs)


class GlobalMaxPooling3D(BaseGlobalPooling):
    __doc__ = _global_doc("max", 3)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(3, "max", data_format, keepdims, **kwargs)


class GlobalAveragePooling1D(BaseGlobalPooling):
    __doc__ = (
        _global_doc("average", 1)
        + """
    With a Keras mask on its input, it averages the unmasked steps only.
    """
    )

    supports_masking = True

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, "average", data_format, keepdims, **kwargs)

    def compute_mask(self, inputs, previous_mask):
        return None

    def _call_symbolic(self, inputs, explicit_mask=None):
        mask = getattr(inputs, "_keras_mask", None) if explicit_mask is None else explicit_mask
        if mask is None:
            return super()._call_symbolic(inputs)
        from eigennet.layers import tracing

        if not self.built:
            self.build(inputs.shape)
        given = {} if explicit_mask is None else {"mask": explicit_mask}
        (out,) = self._record_trace(*tracing.trace_call(self, (inputs,), given, self._masked_mean))
        return out

    def _masked_mean(self, inputs, mask=None):
        """The mean over the unmasked steps (Keras's masked average), with ops."""
        from eigennet import ops

        keep = ops.expand_dims(mask, -1)
        total = ops.sum(inputs * keep, axis=1, keepdims=self.keepdims)
        return total / ops.sum(keep, axis=1, keepdims=self.keepdims)


class GlobalAveragePooling2D(BaseGlobalPooling):
    __doc__ = _global_doc("average", 2)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, "average", data_format, keepdims, **kwargs)


class GlobalAveragePooling3D(BaseGlobalPooling):
    __doc__ = _global_doc("average", 3)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(3, "average", data_format, keepdims, **kwargs)


# Keras's aliases.
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
)
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
)
