"""`keras.datasets.fashion_mnist`: 60,000 training and 10,000 test 28 x 28 uint8 pictures of
clothes in 10 classes, from Zalando's IDX files."""

import gzip
import os

import numpy as np

from eigennet.datasets import _loading
from eigennet.utils.file_utils import get_file

FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)


def _idx(path: str, header: int) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: not a readable dataset file ({e})") from None
    if len(data) < header:
        raise ValueError(f"{path}: not a readable dataset file (too short)")
    return np.frombuffer(data, np.uint8, offset=header)


def load_data():
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (N, 28, 28), uint8 labels."""
    folder = os.path.join("datasets", "fashion-mnist")
    paths = [get_file(f, origin=_loading.ORIGIN + f, cache_subdir=folder) for f in FILES]
    y_train, y_test = _idx(paths[0], 8), _idx(paths[2], 8)
    x_train, x_test = _idx(paths[1], 16), _idx(paths[3], 16)
    for x, y, path in ((x_train, y_train, paths[1]), (x_test, y_test, paths[3])):
        if x.size != len(y) * 28 * 28:
            raise ValueError(f"{path}: holds {x.size} pixels, not {len(y)} images of 28 x 28")
    return (x_train.reshape(-1, 28, 28), y_train), (x_test.reshape(-1, 28, 28), y_test)
