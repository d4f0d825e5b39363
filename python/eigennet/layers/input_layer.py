"""InputLayer and Input: declare the shape of a model's samples."""

from __future__ import annotations

from eigennet import config as config_module
from eigennet.layers.keras_tensor import KerasTensor, Node
from eigennet.layers.layer import dtype_from_config, normalize_shape, unique_name


class InputLayer:
    """Declares the input of a model. It has no weights; a Sequential model does not list it
    in `model.layers`, a functional model does (first), as Keras.

    Args:
        shape: Shape of one sample, without the batch axis, e.g. `(784,)`.
        batch_size: Optional fixed batch size (informational).
        name: Optional name.
        batch_shape: Keras's alternative to shape + batch_size: `(batch_size, *shape)`.
        sparse, ragged, optional: Keras arguments; only False is supported.
    """

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        name=None,
        input_shape=None,
        batch_shape=None,
        sparse=False,
        ragged=False,
        optional=False,
        **kwargs,
    ):
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword argument(s) passed to InputLayer: {', '.join(kwargs)}"
            )
        for arg, value in (("sparse", sparse), ("ragged", ragged), ("optional", optional)):
            if value:
                raise ValueError(f"InputLayer({arg}=True) is not supported by eigennet")
        if batch_shape is not None:
            if shape is not None or input_shape is not None:
                raise ValueError("Give InputLayer either shape or batch_shape, not both")
            batch_shape = tuple(batch_shape)
            if not batch_shape:
                raise ValueError("InputLayer batch_shape needs a batch axis, e.g. (None, 4)")
            batch_size, shape = batch_shape[0], batch_shape[1:]
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. InputLayer(shape=(4,))")
        # None: an axis of variable length (see variable_axes)
        self.shape = normalize_shape(shape, "InputLayer shape", variable=True)
        self.batch_size = batch_size
        self.dtype = dtype
        self.name = name or unique_name("input_layer")
        # The symbolic tensor a functional model starts from (what `Input` returns).
        node = Node(self, [])
        self.output = KerasTensor(
            (None, *self.shape), dtype or config_module.floatx(), node, name=self.name
        )
        node.outputs = [self.output]
        self._inbound_nodes = [node]

    def _weight_owners(self, trains: bool = True) -> list[tuple]:
        return []  # an input has no weights

    @property
    def batch_shape(self) -> tuple:
        return (self.batch_size, *self.shape)

    def get_config(self) -> dict:
        """Keras 3's InputLayer config (batch_shape, dtype, sparse, ragged, name, optional)."""
        return {
            "batch_shape": list(self.batch_shape),
            "dtype": self.dtype or config_module.floatx(),
            "sparse": False,
            "ragged": False,
            "name": self.name,
            "optional": False,
        }

    @classmethod
    def from_config(cls, config: dict) -> InputLayer:
        return cls(**dtype_from_config(config))


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None) -> KerasTensor:  # noqa: N802 (Keras name)
    """A symbolic model input of `shape` (no batch axis): call layers on it and build a
    `keras.Model(inputs, outputs)`, or start a Sequential model with it:
    `Sequential([Input(shape=(4,)), Dense(1)])`."""
    return InputLayer(
        shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape
    ).output
