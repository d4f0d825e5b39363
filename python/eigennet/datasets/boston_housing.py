"""`keras.datasets.boston_housing`: 506 houses, 13 features, their prices."""

from eigennet.datasets import _loading
from eigennet.utils.file_utils import get_file


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """`(x_train, y_train), (x_test, y_test)`, split as Keras splits them for `seed`."""
    _loading.check_test_split(test_split)
    path = get_file(
        path,
        origin=f"{_loading.ORIGIN}boston_housing.npz",
        file_hash="f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
    )
    x, y = _loading.entries(_loading.load_npz(path), path, "x", "y")
    return _loading.split(x, y, test_split, seed)
