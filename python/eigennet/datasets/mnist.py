"""`keras.datasets.mnist`: 60,000 training and 10,000 test digits, 28 x 28 uint8."""

from eigennet.datasets import _loading
from eigennet.utils.file_utils import get_file


def load_data(path="mnist.npz"):
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (N, 28, 28) and uint8 labels,
    downloaded once into `~/.keras/datasets` (checked against Keras's sha256)."""
    path = get_file(
        fname=path,
        origin=f"{_loading.ORIGIN}mnist.npz",
        file_hash="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    )
    arrays = _loading.load_npz(path)
    x_train, y_train, x_test, y_test = _loading.entries(
        arrays, path, "x_train", "y_train", "x_test", "y_test"
    )
    return (x_train, y_train), (x_test, y_test)
