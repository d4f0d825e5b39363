"""`keras.datasets.cifar100`: 50,000 training and 10,000 test 32 x 32 colour images in 100
fine (20 coarse) classes, from the Toronto archive."""

import os

from eigennet.datasets import _cifar
from eigennet.utils.file_utils import get_file


def load_data(label_mode="fine"):
    """`(x_train, y_train), (x_test, y_test)` as cifar10's, with the "fine" or "coarse"
    labels."""
    if label_mode not in ("fine", "coarse"):
        raise ValueError(
            f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode={label_mode}.'
        )
    path = get_file(
        fname="cifar-100-python-target",
        origin="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        extract=True,
        file_hash="85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    )
    folder = os.path.join(path, "cifar-100-python")
    key = f"{label_mode}_labels"
    x_train, y_train = _cifar.load_batch(os.path.join(folder, "train"), label_key=key)
    x_test, y_test = _cifar.load_batch(os.path.join(folder, "test"), label_key=key)
    return _cifar.finish(x_train, y_train, x_test, y_test)
