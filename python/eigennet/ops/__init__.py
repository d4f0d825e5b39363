"""`keras.ops`: tensor operations on NumPy arrays and on symbolic tensors.

On arrays an op computes at once and returns an array. On symbolic tensors (`keras.Input`,
layer outputs, a custom layer's weights inside its traced `call()`) it records a native op of
the model's graph, so the model trains natively with no Python per batch. Operators on
symbolic tensors (`+ - * / @ ** -x`, `x[:, 0]`, comparisons) are these ops. An op that is not
here raises AttributeError listing the ones that are.
"""

from __future__ import annotations

from eigennet.ops import array_functions as _array_ops
from eigennet.ops import composed as _composed_ops
from eigennet.ops import core as _core_ops
from eigennet.ops import (
    image,  # noqa: F401 (keras.ops.image)
    linalg,  # (keras.ops.linalg; its functions are ops' too)
)
from eigennet.ops import nn as _nn_ops
from eigennet.ops import numpy as _numpy_ops
from eigennet.ops import sorting as _sorting_ops


def _public(module) -> dict:
    return {
        name: value
        for name, value in vars(module).items()
        if callable(value)
        and not name.startswith("_")
        and getattr(value, "__module__", None) == module.__name__
    }


_MODULES = (_numpy_ops, _nn_ops, _core_ops, _composed_ops, _sorting_ops, _array_ops, linalg)
for _module in _MODULES:
    globals().update(_public(_module))
__all__ = sorted({name for module in _MODULES for name in _public(module)})


def __getattr__(name: str):
    raise AttributeError(f"eigennet.ops has no {name!r}; it has: {', '.join(__all__)}")
