"""`keras.backend`: the few backend utilities Keras 3 programs call."""

from __future__ import annotations

from eigennet.config import epsilon, floatx, set_floatx


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
    dtype_policies.reset()


__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format", "set_floatx"]
