"""What the dataset loaders share: Keras's download folder, reading `.npz` files and CIFAR's
pickled batches without running code from them, the seeded train/test split and the word
index processing of the sequence datasets (IMDB, Reuters).

Ragged sequences (IMDB, Reuters) and CIFAR's batches are stored as pickles; they are read by
an unpickler that builds NumPy arrays and plain Python values only, and refuses any other
global (a crafted file cannot run code), as Keras reads them.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

_ARRAY_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
    }
)


class ArrayUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and plain values; any other global raises UnpicklingError."""

    def find_class(self, module, name):
        if (module, name) in _ARRAY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Refusing to load `{module}.{name}` from a dataset file: the file is corrupted "
            "or not what Keras publishes"
        )


def _read_member(stream) -> np.ndarray:
    """One `.npy` member: numeric arrays without pickle, object arrays with ArrayUnpickler."""
    data = io.BytesIO(stream.read())
    try:
        return np.lib.format.read_array(data, allow_pickle=False)
    except ValueError:
        data.seek(0)
        major, _ = np.lib.format.read_magic(data)
        if major == 1:
            np.lib.format.read_array_header_1_0(data)
        elif major in (2, 3):
            np.lib.format.read_array_header_2_0(data)
        else:
            raise ValueError(f"unsupported .npy version {major}") from None
        value = ArrayUnpickler(data).load()
        if not isinstance(value, np.ndarray):
            raise ValueError("an .npy member holds something other than an array") from None
        return value


def load_npz(path: str) -> dict[str, np.ndarray]:
    """The arrays of an `.npz` file; a file that is not one raises ValueError naming it."""
    try:
        with zipfile.ZipFile(path) as archive:
            arrays = {}
            for member in archive.namelist():
                if member.endswith(".npy"):
                    with archive.open(member) as stream:
                        arrays[member[: -len(".npy")]] = _read_member(stream)
            return arrays
    except (zipfile.BadZipFile, ValueError, pickle.UnpicklingError, EOFError) as e:
        raise ValueError(f"{path}: not a readable dataset file ({e})") from None


def load_pickle(path: str):
    """A pickled file of arrays and plain values (CIFAR's batches), keys read as bytes."""
    try:
        with open(path, "rb") as f:
            return ArrayUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        raise ValueError(f"{path}: not a readable dataset file ({e})") from None


def entries(arrays: dict, path: str, *names: str) -> list[np.ndarray]:
    missing = [n for n in names if n not in arrays]
    if missing:
        raise ValueError(f"{path}: the dataset file has no {', '.join(missing)}")
    return [arrays[n] for n in names]


def check_test_split(test_split) -> None:
    if not 0 <= test_split < 1:
        raise ValueError(
            f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1 "
            "(exclusive of 1)."
        )


def split(x, y, test_split: float, seed: int):
    """Keras's split: the samples shuffled by `np.random.RandomState(seed)`, the first
    `int(n * (1 - test_split))` for training."""
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))


def index_sequences(xs, start_char, index_from) -> list:
    """Keras's word indices as lists: each offset by `index_from`, after a `start_char`."""
    if start_char is not None:
        xs = [[start_char] + [int(w) + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[int(w) + index_from for w in x] for x in xs]
    else:
        xs = [[int(w) for w in x] for x in xs]
    return xs


def limit_words(xs: list, num_words, skip_top, oov_char) -> list:
    """The words outside [skip_top, num_words) replaced by `oov_char` (dropped when it is
    None); no `num_words` keeps every word."""
    if not num_words:
        num_words = max((max(x) for x in xs if len(x)), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def drop_long(maxlen, xs: list, labels) -> tuple[list, list]:
    """The sequences shorter than `maxlen` (Keras keeps `len(x) < maxlen`)."""
    kept = [(x, y) for x, y in zip(xs, labels) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def as_objects(xs: list) -> np.ndarray:
    out = np.empty(len(xs), dtype=object)
    out[:] = xs
    return out
