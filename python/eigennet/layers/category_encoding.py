"""CategoryEncoding: integer features as one-hot, multi-hot or count vectors (Keras 3).

Written with keras.ops (see _categorical.py): it runs natively inside a model and directly
on arrays, with Keras's shape rules for scalars, rank-1 and rank-2 inputs.
"""

from __future__ import annotations

import numpy as np

from eigennet.layers import _categorical
from eigennet.layers._ops_layer import OpsLayer
from eigennet.layers.keras_tensor import is_symbolic


class CategoryEncoding(OpsLayer):
    """Encodes integer indices in `[0, num_tokens)`.

    Args:
        num_tokens: The number of tokens (the output's last axis).
        output_mode: "multi_hot" (default, Keras's), "one_hot" or "count"; "binary" is an
            alias of "multi_hot".
        sparse: Only False (eigennet has no sparse tensors).

    Call arguments:
        inputs: Integer indices, a scalar, a rank-1 array (one sample, or in "one_hot" mode
            a batch of indices) or a rank-2 array (a batch of samples).
        count_weights: Optional weights of the same shape, summed in "count" mode.

    On arrays, values outside `[0, num_tokens)` raise ValueError (Keras checks them); inside
    a model they encode as zero vectors.
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        output_mode = _categorical.check_output_mode(
            "CategoryEncoding", output_mode, _categorical.OUTPUT_MODES
        )
        if num_tokens is None:
            raise ValueError(
                "CategoryEncoding: `num_tokens` must be set to use this layer. If the number of "
                "tokens is not known beforehand, use the IntegerLookup layer instead."
            )
        self.num_tokens = _categorical.check_positive_int(
            "CategoryEncoding", "num_tokens", num_tokens
        )
        if sparse:
            raise ValueError("CategoryEncoding: `sparse=True` is not supported by eigennet")
        self.output_mode = output_mode
        self.sparse = False

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(
                "`count_weights` is not used when `output_mode` is not `'count'`. Received "
                f"`count_weights={count_weights}`."
            )
        if not is_symbolic(inputs):
            inputs = np.asarray(inputs)
            if inputs.size and (
                not np.issubdtype(inputs.dtype, np.number)
                or inputs.min() < 0
                or inputs.max() >= self.num_tokens
            ):
                raise ValueError(
                    f"CategoryEncoding {self.name!r}: input values must be integers in the "
                    f"range 0 <= values < num_tokens with num_tokens={self.num_tokens}. "
                    f"Received: inputs={inputs}"
                )
        elif len(inputs.shape) > 2 and self.output_mode != "one_hot":
            raise ValueError(
                f"CategoryEncoding {self.name!r}: `output_mode={self.output_mode!r}` takes "
                f"inputs of rank 1 or 2 (a batch of samples), got shape {inputs.shape}"
            )
        return _categorical.encode(
            inputs, self.output_mode, self.num_tokens, self._native_dtype, count_weights
        )

    def compute_output_shape(self, input_shape):
        return _categorical.output_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        return {
            **super().get_config(),
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode,
        }
