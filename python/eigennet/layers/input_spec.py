"""`keras.layers.InputSpec`: what a layer accepts (rank, a minimum or maximum rank, sizes of
given axes, a shape with None wildcards, a dtype). A layer that sets `self.input_spec` (one
spec, or a list for several inputs) has every call checked against it before it runs, with
Keras's ValueError messages. The dtype is kept but not checked: eigennet converts inputs to
the layer's float type as it runs them."""

from __future__ import annotations

import numpy as np


class InputSpec:
    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):  # fmt: skip
        self.dtype = None if dtype is None else str(np.dtype(dtype))
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.optional = name, optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        try:
            self.axes = {int(k): v for k, v in (axes or {}).items()}
        except (ValueError, TypeError):
            raise TypeError(
                f"Argument `axes` must be a dict with integer keys. Received: axes={axes}"
            ) from None
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            top = (self.ndim if self.ndim is not None else self.max_ndim) - 1
            if max(self.axes) > top:
                raise ValueError(
                    f"Axis {max(self.axes)} is greater than the maximum allowed value: {top}"
                )

    def __repr__(self) -> str:
        parts = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape),
                 ("ndim", self.ndim), ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim),
                 ("axes", self.axes or None)) if v is not None]  # fmt: skip
        return f"InputSpec({', '.join(parts)})"

    def get_config(self) -> dict:
        names = ("dtype", "shape", "ndim", "max_ndim", "min_ndim", "axes")
        return {name: getattr(self, name) for name in names}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def check_inputs(input_spec, inputs, layer_name: str) -> None:
    """Raises Keras's ValueError when `inputs` do not fit `input_spec`."""
    specs = list(input_spec) if isinstance(input_spec, (list, tuple)) else [input_spec]
    tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if len(tensors) != len(specs):
        raise ValueError(
            f'Layer "{layer_name}" expects {len(specs)} input(s), but it received '
            f"{len(tensors)} input tensors."
        )
    for index, (spec, x) in enumerate(zip(specs, tensors)):
        if spec is None or (x is None and spec.optional):
            continue
        shape = tuple(getattr(x, "shape", np.shape(x)))
        where = f'Input {index} of layer "{layer_name}" is incompatible with the layer:'
        rank = len(shape)
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and rank != spec.ndim:
            raise ValueError(
                f"{where} expected ndim={spec.ndim}, found ndim={rank}. Full shape received: "
                f"{shape}"
            )
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(f"{where} expected max_ndim={spec.max_ndim}, found ndim={rank}")
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(
                f"{where} expected min_ndim={spec.min_ndim}, found ndim={rank}. Full shape "
                f"received: {shape}"
            )
        for axis, value in spec.axes.items():
            if value is not None and -rank <= axis < rank:
                size = shape[axis]
                if size is not None and size != value:
                    raise ValueError(
                        f"{where} expected axis {axis} of input shape to have value {value}, "
                        f"but received input with shape {shape}"
                    )
        if spec.shape is not None and rank == len(spec.shape):
            for want, got in zip(spec.shape, shape):
                if want is not None and got is not None and want != got:
                    raise ValueError(f"{where} expected shape={spec.shape}, found shape={shape}")
