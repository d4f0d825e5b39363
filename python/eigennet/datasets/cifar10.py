"""`keras.datasets.cifar10`: 50,000 training and 10,000 test 32 x 32 colour images in 10
classes, from the Toronto archive."""

import os

import numpy as np

from eigennet.datasets import _cifar
from eigennet.utils.file_utils import get_file


def load_data():
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (N, 32, 32, 3), uint8 labels of
    shape (N, 1)."""
    path = get_file(
        fname="cifar-10-batches-py-target",
        origin="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        extract=True,
        file_hash="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    )
    folder = os.path.join(path, "cifar-10-batches-py")
    parts = [_cifar.load_batch(os.path.join(folder, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    x_test, y_test = _cifar.load_batch(os.path.join(folder, "test_batch"))
    y_train, y_test = y_train.astype(np.uint8), y_test.astype(np.uint8)  # (cifar100's: int64)
    return _cifar.finish(x_train, y_train, x_test, y_test)
