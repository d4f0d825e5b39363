"""Models: Sequential, and loading helpers as they come."""

from eigennet.models.model import Model
from eigennet.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
