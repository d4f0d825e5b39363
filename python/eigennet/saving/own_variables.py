"""Keras's per-layer saving hooks, `save_own_variables(store)` and `load_own_variables(store)`.

A layer that overrides either one decides what is saved under its `vars` group: its variables
as "0", "1", ... (what `super()` writes) and any other numeric arrays it keys itself, such as
state kept outside its weights. `store` is dict-like, as Keras's H5 entry is.
"""

from __future__ import annotations

import numpy as np


def own_variables(layer) -> list:
    """The variables Keras's default hooks save for `layer`, in its order: its own (not its
    sublayers'), trainable first."""
    from eigennet.saving.state import _keras_ordered, _OwnWeights

    return _keras_ordered(_OwnWeights(layer) if layer._traced else layer)


def hook_owner(entry):
    """The layer behind a saved entry when its class overrides a saving hook, else None."""
    from eigennet.layers.layer import Layer
    from eigennet.saving.state import _OwnWeights

    layer = entry.layer if isinstance(entry, _OwnWeights) else entry
    if not isinstance(layer, Layer):
        return None
    cls = type(layer)
    overridden = (
        cls.save_own_variables is not Layer.save_own_variables
        or cls.load_own_variables is not Layer.load_own_variables
    )
    return layer if overridden else None


class VariablesStore:
    """The arrays of one layer's `vars` group: filled by `save_own_variables`, read by
    `load_own_variables`. Values are kept as numeric NumPy arrays (what a weights file holds)."""

    def __init__(self, layer_name: str, values: dict | None = None):
        self._layer_name = layer_name
        self._values = dict(values or {})

    def __setitem__(self, key, value) -> None:
        if not isinstance(key, str) or not key or "/" in key:
            raise ValueError(
                f"save_own_variables of layer {self._layer_name!r}: keys are names without "
                f"'/', got {key!r}"
            )
        array = np.array(value)  # a copy: a later change to the layer does not reach the file
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"save_own_variables of layer {self._layer_name!r}: {key!r} holds {array.dtype} "
                "values; a weights file holds numeric arrays"
            )
        self._values[key] = array

    def __getitem__(self, key) -> np.ndarray:
        if key not in self._values:
            raise KeyError(
                f"Layer {self._layer_name!r}: the weights file has no entry {key!r} for it "
                f"(it has {sorted(self._values)})"
            )
        return self._values[key]

    def __contains__(self, key) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self):
        return iter(self._values)

    def keys(self):
        return self._values.keys()

    def items(self):
        return self._values.items()

    def values(self):
        return self._values.values()

    def get(self, key, default=None):
        return self._values.get(key, default)
