"""`keras.datasets.california_housing`: 20,640 districts, 8 features, median house values."""

from eigennet.datasets import _loading
from eigennet.utils.file_utils import get_file


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """`(x_train, y_train), (x_test, y_test)`; `version="small"` keeps the first 600
    districts; split as Keras splits them for `seed`."""
    _loading.check_test_split(test_split)
    if version not in ("small", "large"):
        raise ValueError(
            f"Argument `version` must be one of 'small', 'large'. Received: version={version}"
        )
    path = get_file(
        path,
        origin=f"{_loading.ORIGIN}california_housing.npz",
        file_hash="1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f",
    )
    x, y = _loading.entries(_loading.load_npz(path), path, "x", "y")
    if version == "small":
        x, y = x[:600], y[:600]
    return _loading.split(x, y, test_split, seed)
