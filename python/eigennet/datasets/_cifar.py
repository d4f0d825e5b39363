"""CIFAR's pickled batches (cifar10, cifar100)."""

import numpy as np

from eigennet.datasets import _loading


def load_batch(path: str, label_key: str = "labels"):
    """(images (N, 3, 32, 32) uint8, integer labels) of one batch file."""
    batch = _loading.load_pickle(path)
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: not a CIFAR batch (a dict of arrays)")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data, labels = _loading.entries(batch, path, "data", label_key)
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: the images are not rows of 3 x 32 x 32 bytes")
    labels = np.asarray(labels)
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise ValueError(f"{path}: expected {len(data)} integer labels")
    return data.reshape(len(data), 3, 32, 32), labels


def finish(x_train, y_train, x_test, y_test):
    """Labels as (N, 1) columns, images channels last (eigennet's only image layout)."""
    y_train, y_test = y_train.reshape(-1, 1), y_test.reshape(-1, 1)
    return (x_train.transpose(0, 2, 3, 1), y_train), (x_test.transpose(0, 2, 3, 1), y_test)
