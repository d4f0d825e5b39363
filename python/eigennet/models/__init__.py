"""Models: Sequential, and saving/loading them (as `keras.models`)."""

from eigennet.models.cloning import clone_model
from eigennet.models.model import Model
from eigennet.models.sequential import Sequential
from eigennet.saving.saving_lib import load_model, model_from_json, save_model

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]
