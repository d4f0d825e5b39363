"""TensorFlow's string hashes on NumPy arrays, computed natively (cpp/src/string_hash.cpp):
FarmHash Fingerprint64 (`tf.strings.to_hash_bucket_fast`) and keyed SipHash-2-4
(`tf.strings.to_hash_bucket_strong`). Integers are hashed as their decimal strings and
floats are truncated to integers first, as Keras's Hashing layer does (`tf.as_string`).
"""

from __future__ import annotations

import numpy as np

from eigennet import _core


def as_bytes(values) -> np.ndarray:
    """`values` as a NumPy bytes ("S") array of the same shape: strings UTF-8 encoded,
    numbers as TF's `as_string` writes them (floats truncated toward zero first)."""
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind == "O":  # Python objects: str or bytes elements
        values = np.asarray(values.tolist())
        kind = values.dtype.kind
    if kind == "S":
        return values
    if kind == "U":
        return np.char.encode(values, "utf-8")
    if kind == "f":
        values = np.trunc(values).astype(np.int64)
        kind = "i"
    if kind in "iub":
        return values.astype(np.int64).astype("S")
    raise ValueError(f"cannot hash values of dtype {values.dtype}")


def hash64(values, key=None) -> np.ndarray:
    """The uint64 hash of each element (Fingerprint64, or SipHash with `key`, a pair of
    ints), as an array of `values`' shape."""
    data = as_bytes(values)
    shape = data.shape
    flat = np.ascontiguousarray(data.reshape(-1))
    width = max(flat.dtype.itemsize, 1)
    if flat.dtype.itemsize == 0:  # only empty strings
        flat = flat.astype("S1")
    rows = flat.view(np.uint8).reshape(len(flat), width)
    lengths = np.char.str_len(flat).astype(np.int64)
    if key is not None:
        key = (int(key[0]) % 2**64, int(key[1]) % 2**64)
    return _core.hash_strings(rows, lengths, key).reshape(shape)


def hash_bucket(values, num_bins: int, key=None) -> np.ndarray:
    """`hash64(values) % num_bins` as int64 (TF's `to_hash_bucket_*`)."""
    return (hash64(values, key) % np.uint64(num_bins)).astype(np.int64)
