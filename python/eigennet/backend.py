"""`keras.backend`: the few backend utilities Keras 3 programs call."""

from __future__ import annotations

import collections

from eigennet.config import epsilon, floatx, set_floatx, set_image_data_format
from eigennet.dtype_names import is_float_dtype, is_int_dtype, result_type, standardize_dtype

_uids: collections.Counter = collections.Counter()


def backend() -> str:
    """The name of the backend."""
    return "eigennet"


def image_data_format() -> str:
    """Images are channels last (the only layout eigennet's layers take)."""
    return "channels_last"


def clear_session(free_memory: bool = True) -> None:
    """Resets the automatic layer names (Keras's main use of it) and, as Keras, the global
    dtype policy (new layers then follow floatx())."""
    from eigennet import dtype_policies
    from eigennet.layers.layer import _name_counts

    _name_counts.clear()
    _uids.clear()
    dtype_policies.reset()


def is_keras_tensor(x) -> bool:
    """Whether `x` is a symbolic tensor (`keras.Input` or what layers return on one)."""
    from eigennet.layers.keras_tensor import KerasTensor

    return isinstance(x, KerasTensor)


def get_uid(prefix: str = "") -> int:
    """1, 2, 3, ... for each prefix in turn (until clear_session)."""
    _uids[prefix] += 1
    return _uids[prefix]


__all__ = [
    "backend",
    "clear_session",
    "epsilon",
    "floatx",
    "get_uid",
    "image_data_format",
    "is_float_dtype",
    "is_int_dtype",
    "is_keras_tensor",
    "result_type",
    "set_floatx",
    "set_image_data_format",
    "standardize_dtype",
]
