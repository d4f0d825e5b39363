"""Utilities: seeding, label encoding, data sets (from arrays, files and directories), image
files, progress bar, model plots."""

from __future__ import annotations

import numpy as np

from eigennet import _random
from eigennet.backend import clear_session
from eigennet.dtype_names import standardize_dtype
from eigennet.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from eigennet.saving.serialization_lib import deserialize_keras_object, serialize_keras_object
from eigennet.utils.data_tuples import (
    get_source_inputs,
    is_keras_tensor,
    pack_x_y_sample_weight,
    unpack_x_y_sample_weight,
)
from eigennet.utils.dataset_utils import normalize, split_dataset, timeseries_dataset_from_array
from eigennet.utils.directory_datasets import (
    audio_dataset_from_directory,
    image_dataset_from_directory,
    text_dataset_from_directory,
)
from eigennet.utils.file_utils import get_file
from eigennet.utils.image_utils import (
    array_to_img,
    img_to_array,
    load_img,
    save_img,
)
from eigennet.utils.model_visualization import model_to_dot, plot_model
from eigennet.utils.progbar import Progbar
from eigennet.utils.py_dataset import PyDataset, Sequence
from eigennet.utils.sequence_utils import pad_sequences


def set_random_seed(seed: int) -> None:
    """Seeds everything random in eigennet (weight initialisation, shuffling) as well as
    Python's `random` and NumPy's global generator, as `keras.utils.set_random_seed`."""
    _random.set_seed(seed)


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """One-hot encodes integer class labels: shape (..., num_classes), float64 as Keras."""
    x = np.asarray(x)
    if x.size and not np.issubdtype(x.dtype, np.integer):
        if not np.issubdtype(x.dtype, np.floating) or not np.all(x == np.floor(x)):
            raise ValueError("to_categorical expects integer class labels")
    x = x.astype(np.int64)
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    if x.size and x.min() < 0:
        raise ValueError(f"to_categorical got a negative label ({x.min()})")
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    elif x.size and x.max() >= num_classes:
        raise ValueError(f"label {x.max()} is out of range for num_classes={num_classes}")
    out = np.zeros((*x.shape, num_classes), dtype=np.float64)
    np.put_along_axis(out, x[..., None], 1.0, axis=-1)
    return out


__all__ = [
    "CustomObjectScope",
    "Progbar",
    "PyDataset",
    "Sequence",
    "array_to_img",
    "audio_dataset_from_directory",
    "clear_session",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_file",
    "get_registered_name",
    "get_registered_object",
    "get_source_inputs",
    "image_dataset_from_directory",
    "img_to_array",
    "is_keras_tensor",
    "load_img",
    "model_to_dot",
    "normalize",
    "pack_x_y_sample_weight",
    "pad_sequences",
    "plot_model",
    "register_keras_serializable",
    "save_img",
    "serialize_keras_object",
    "set_random_seed",
    "split_dataset",
    "standardize_dtype",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
    "to_categorical",
    "unpack_x_y_sample_weight",
]
