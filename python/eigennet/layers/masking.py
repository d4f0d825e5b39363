"""Keras's masks: which time steps of a sequence are padding.

A mask is a symbolic `(batch, steps)` tensor of ones and zeros attached to a symbolic tensor
(`KerasTensor._keras_mask`); it is computed with ops in the model's graph, so it costs one
comparison per step and no Python per batch. As in Keras 3:
- `Embedding(mask_zero=True)` and `Masking(mask_value)` make one;
- a layer that supports masking passes it on through `compute_mask(inputs, previous_mask)`
  (by default unchanged: Dense, Dropout, normalization and activation layers); merge layers
  combine them; a layer that does not support masking drops it, with Keras's warning;
- recurrent layers take it as a second input of their native core (masked steps carry the state
  over), `GlobalAveragePooling1D` averages the unmasked steps, attention reads the masks of its
  query and value, and a custom layer whose `call()` has a `mask` argument receives it.
Configs do not list masks: loading a model recomputes them from the layers that make them.
"""

from __future__ import annotations

import warnings

from eigennet.layers.layer import Layer
from eigennet.tree import flatten


def propagate(layer, inputs, mask, outputs: list) -> None:
    """Sets the outputs' masks from `layer.compute_mask(inputs, mask)` when the layer supports
    masking; otherwise a mask given is dropped with Keras's warning."""
    from eigennet.ops import symbolic

    given = [m for m in (mask if isinstance(mask, (list, tuple)) else [mask]) if m is not None]
    if not layer.supports_masking:
        if given:
            warnings.warn(
                f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input "
                "with a mask attached to it. However, this layer does not support masking and "
                "will therefore destroy the mask information. Downstream layers will not see "
                "the mask.",
                stacklevel=4,
            )
        return
    with symbolic.computing_mask():
        result = layer.compute_mask(inputs, mask)
    if result is None:
        return
    for tensor, m in zip(outputs, flatten(result)):
        if m is not None and tensor._keras_mask is None:
            tensor._keras_mask = as_float_mask(m)


def as_float_mask(m):
    """A mask as the graph holds it: a float tensor of ones and zeros."""
    from eigennet import ops

    return m if str(m.dtype).startswith("float") else ops.cast(m, "float32")


def or_masks(masks: list):
    """Keras's merge rule: None unless every input has a mask, else their logical or."""
    from eigennet import ops

    if not masks or any(m is None for m in masks):
        return None
    out = masks[0]
    for m in masks[1:]:
        out = ops.logical_or(out, m)
    return out


class Masking(Layer):
    """Masks the time steps whose features all equal `mask_value` (Keras 3's `Masking`): those
    steps are set to zero and the output carries a mask that skips them downstream.

    Args:
        mask_value: The padding value (default 0.0).

    Input: `(batch, steps, features)`. Output: the same shape, with a mask `(batch, steps)`.
    """

    supports_masking = True
    _needs_symbolic_call = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def _keep(self, inputs):
        from eigennet import ops

        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        from eigennet import ops

        keep = ops.cast(ops.expand_dims(self._keep(inputs), -1), inputs.dtype)
        return inputs * keep

    def compute_mask(self, inputs, previous_mask=None):
        return self._keep(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}
