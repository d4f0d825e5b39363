"""`keras.preprocessing.sequence.pad_sequences` (the same function as `utils.pad_sequences`)."""

from eigennet.utils.sequence_utils import pad_sequences

__all__ = ["pad_sequences"]
