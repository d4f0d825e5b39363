"""Embedding layer: integer indices to dense vectors."""

from __future__ import annotations

import numpy as np

from eigennet import _core, constraints, initializers, regularizers
from eigennet.layers import quantization
from eigennet.layers.layer import Layer


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


class Embedding(Layer):
    """Turns indices into dense vectors: row `i` of the `embeddings` table for index `i`.

    Args:
        input_dim: Size of the vocabulary (indices lie in `[0, input_dim)`).
        output_dim: Size of each vector.
        embeddings_initializer: Default "uniform" (RandomUniform(-0.05, 0.05)), as Keras.
        embeddings_regularizer: Optional regularizer of the table.
        mask_zero: Whether index 0 is padding: the output then carries a mask that skips
            those steps downstream (recurrent layers, pooling, attention), as in Keras.

    Input shape: `(batch_size, ...)` of integer indices (any integer or float dtype holding
    whole numbers). An index outside `[0, input_dim)` raises a ValueError.
    Output shape: `(batch_size, ..., output_dim)`. Weights: `embeddings (input_dim, output_dim)`.
    The first layer of a model only: indices have no gradient.
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        weights=None,
        quantization_config=None,
        **kwargs,
    ):
        self.input_dim = _positive_int(input_dim, "input_dim")
        self.output_dim = _positive_int(output_dim, "output_dim")
        kwargs.pop("input_length", None)  # deprecated in Keras 3, ignored
        super().__init__(**kwargs)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        quantization.check_config_argument("Embedding", quantization_config)
        if self._native_dtype == "float32" and self.input_dim > 2**24:
            raise ValueError(
                f"Embedding input_dim={self.input_dim} exceeds 2**24, the largest index float32 "
                "inputs hold exactly: use dtype='float64' for the model"
            )
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero  # (as Keras: it makes the mask)
        self._initial_weights = weights

    def _check_input(self, x, what: str) -> None:
        bad = (x < 0) | (x >= self.input_dim) | (x != np.floor(x))
        if bad.any():
            value = x[bad].flat[0]
            raise ValueError(
                f"Layer {self.name!r} takes integer indices in [0, {self.input_dim}); {what} "
                f"holds {value!r} (input_dim={self.input_dim})"
            )

    def _make_core(self, dtype):
        kind = "Int8Embedding" if self.quantization_mode == "int8" else "Embedding"
        return getattr(_core, f"{kind}_{dtype}")(self.input_dim, self.output_dim)

    def _weight_dtypes(self):
        return {"embeddings": "int8"} if self.quantization_mode == "int8" else {}

    def quantize(self, mode=None, type_check=True, config=None):
        """As Keras's Embedding.quantize("int8"): each row of the table becomes int8 with its
        own float scale (`embeddings_scale (input_dim,)`); nothing trains afterwards."""
        mode = quantization.resolve_mode(mode, config)
        quantization.check_layer(self, mode)
        if type_check and type(self) is not Embedding:
            raise quantization.not_implemented(self)
        quantization.check_supported(mode)
        table, scale = quantization.abs_max_quantize(self.weights[0].numpy(), axis=-1)
        self._requantize(mode, [table, scale[:, 0]])

    def _weight_regularizers(self):
        return [self.embeddings_regularizer]

    def _weight_constraints(self):
        return [self.embeddings_constraint]

    def _initialize(self):
        if self.quantization_mode is not None:  # as Keras's _int8_build: zeros, scale ones
            self.weights[1].assign(np.ones(self.weights[1].shape, self._native_dtype))
            return
        table = self.weights[0]
        if self._initial_weights is not None:
            weights = self._initial_weights
            table.assign(weights[0] if isinstance(weights, list) else weights)
        else:
            table.assign(self.embeddings_initializer(table.shape, self._native_dtype))

    @property
    def _needs_symbolic_call(self) -> bool:
        return self.mask_zero

    def _call_builtin(self, inputs, training=None, mask=None):
        """As Keras, a 1-D array of ids (`layer(np.arange(n))`) gives one vector per id."""
        if isinstance(inputs, (np.ndarray, list, tuple)) and np.ndim(inputs) == 1:
            return super()._call_builtin(np.asarray(inputs)[:, None], training, mask)[:, 0]
        return super()._call_builtin(inputs, training, mask)

    def compute_mask(self, inputs, previous_mask=None):
        """With mask_zero, index 0 is padding: the steps where it is are masked."""
        from eigennet import ops

        return ops.not_equal(inputs, 0) if self.mask_zero else None

    @property
    def embeddings(self):
        return self.weights[0]

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer)
            if isinstance(self.embeddings_initializer, initializers.Initializer)
            else None,
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "quantization_config": quantization.config_entry(self),
        }
