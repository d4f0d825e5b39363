"""`keras.preprocessing`: the sequence utilities Keras 3 still exposes here."""

from eigennet.preprocessing import sequence

__all__ = ["sequence"]
