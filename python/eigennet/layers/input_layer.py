"""InputLayer and Input: declare the shape of a model's samples."""

from __future__ import annotations

from eigennet.layers.layer import normalize_shape, unique_name


class InputLayer:
    """Declares the input shape of a Sequential model. It has no weights and is not listed in
    `model.layers`.

    Args:
        shape: Shape of one sample, without the batch axis, e.g. `(784,)`.
        batch_size: Optional fixed batch size (informational).
        name: Optional name.
    """

    def __init__(
        self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None, **kwargs
    ):
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword argument(s) passed to InputLayer: {', '.join(kwargs)}"
            )
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. InputLayer(shape=(4,))")
        self.shape = normalize_shape(shape, "InputLayer shape")
        self.batch_size = batch_size
        self.dtype = dtype
        self.name = name or unique_name("input_layer")

    def get_config(self) -> dict:
        return {"shape": self.shape, "batch_size": self.batch_size, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, name=None) -> InputLayer:  # noqa: N802 (Keras name)
    """Declares a model input of `shape` (no batch axis), to start a Sequential model:
    `Sequential([Input(shape=(4,)), Dense(1)])`."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name)
