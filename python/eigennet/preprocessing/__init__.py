"""`keras.preprocessing`: the utilities Keras 3 still exposes here (sequences, the directory
data sets and the image file functions, the same as in `keras.utils`)."""

from eigennet.preprocessing import image, sequence
from eigennet.utils.directory_datasets import (
    image_dataset_from_directory,
    text_dataset_from_directory,
)

__all__ = ["image", "image_dataset_from_directory", "sequence", "text_dataset_from_directory"]
