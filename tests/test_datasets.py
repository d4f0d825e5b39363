"""`keras.datasets`: each loader against Keras's own loader on the same files (small files in
the published formats, served to both through `get_file` from `file://` URLs), the origins
and hashes Keras uses, and files that are corrupt or crafted to run code when unpickled."""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import tarfile
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

import eigennet as keras

RNG = np.random.default_rng(0)


def _sequences(n, low=0, high=60, longest=30):
    out = np.empty(n, dtype=object)
    out[:] = [[int(w) for w in RNG.integers(low, high, RNG.integers(1, longest))] for _ in range(n)]
    return out


def _tar(path: Path, folder: str, members: dict) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, value in members.items():
            data = pickle.dumps(value, protocol=4)  # (bytes without globals, as CIFAR's)
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _cifar_batch(n, keys):
    batch = {b"data": RNG.integers(0, 256, (n, 3072), dtype=np.uint8), b"batch_label": b"x"}
    for key, classes in keys.items():
        batch[key] = [int(v) for v in RNG.integers(0, classes, n)]
    return batch


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Small files in the formats Keras downloads, by their file name."""
    root = tmp_path_factory.mktemp("published")
    u8 = lambda *shape: RNG.integers(0, 256, shape, dtype=np.uint8)  # noqa: E731
    np.savez(root / "mnist.npz", x_train=u8(30, 28, 28), y_train=u8(30) % 10,
             x_test=u8(10, 28, 28), y_test=u8(10) % 10)  # fmt: skip
    for name, count, header, shape in (("train-labels-idx1-ubyte.gz", 12, 8, ()),
                                       ("train-images-idx3-ubyte.gz", 12, 16, (28, 28)),
                                       ("t10k-labels-idx1-ubyte.gz", 5, 8, ()),
                                       ("t10k-images-idx3-ubyte.gz", 5, 16, (28, 28))):  # fmt: skip
        with gzip.open(root / name, "wb") as f:
            f.write(bytes(header) + u8(count, *shape).tobytes())
    _tar(root / "cifar-10-python.tar.gz", "cifar-10-batches-py",
         {**{f"data_batch_{i}": _cifar_batch(10000, {b"labels": 10}) for i in range(1, 6)},
          "test_batch": _cifar_batch(20, {b"labels": 10})})  # fmt: skip
    fine = {b"fine_labels": 100, b"coarse_labels": 20}
    _tar(root / "cifar-100-python.tar.gz", "cifar-100-python",
         {"train": _cifar_batch(40, fine), "test": _cifar_batch(15, fine)})  # fmt: skip
    np.savez(root / "boston_housing.npz", x=RNG.normal(size=(50, 13)), y=RNG.normal(size=50))
    np.savez(root / "california_housing.npz", x=RNG.normal(size=(700, 8)), y=RNG.normal(size=700))
    np.savez(root / "imdb.npz", x_train=_sequences(40), y_train=RNG.integers(0, 2, 40),
             x_test=_sequences(30), y_test=RNG.integers(0, 2, 30))  # fmt: skip
    np.savez(root / "reuters.npz", x=_sequences(50), y=RNG.integers(0, 46, 50))
    for name in ("imdb_word_index.json", "reuters_word_index.json"):
        (root / name).write_text(json.dumps({"the": 1, "and": 2, "movie": 3}))
    return root


def _serve(monkeypatch, module, published: Path, cache: Path, calls: list):
    """Replaces `module.get_file` by the real one reading the published file from disk."""
    real = module.get_file

    def get_file(fname=None, origin=None, file_hash=None, **kwargs):
        calls.append((os.path.basename(urllib.parse.urlsplit(origin).path), file_hash))
        local = (published / os.path.basename(urllib.parse.urlsplit(origin).path)).as_uri()
        kwargs.pop("cache_dir", None)
        return real(fname, origin=local, cache_dir=str(cache), **kwargs)

    monkeypatch.setattr(module, "get_file", get_file)


CASES = [
    ("mnist", {}),
    ("fashion_mnist", {}),
    ("cifar10", {}),
    ("cifar100", {}),
    ("cifar100", {"label_mode": "coarse"}),
    ("boston_housing", {"test_split": 0.3, "seed": 5}),
    ("california_housing", {"version": "small"}),
    ("california_housing", {}),
    ("imdb", {}),
    ("imdb", {"num_words": 30, "skip_top": 4, "maxlen": 20, "seed": 3}),
    ("imdb", {"oov_char": None, "start_char": None, "index_from": 0, "num_words": 40}),
    ("reuters", {}),
    ("reuters", {"num_words": 25, "maxlen": 15, "test_split": 0.4}),
]


def _assert_same(ours, theirs):
    for a, b in zip(ours, theirs):
        if isinstance(a, tuple):
            _assert_same(a, b)
        elif a.dtype == object:
            assert [list(x) for x in a] == [list(x) for x in b]
        else:
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, kwargs", CASES)
def test_loaders_return_what_keras_returns(name, kwargs, published, tmp_path, monkeypatch):
    kr = pytest.importorskip("keras")
    import importlib

    ours_module = getattr(keras.datasets, name)
    theirs_module = importlib.import_module(f"keras.src.datasets.{name}")
    ours_calls, theirs_calls = [], []
    _serve(monkeypatch, ours_module, published, tmp_path / "ours", ours_calls)
    _serve(monkeypatch, theirs_module, published, tmp_path / "theirs", theirs_calls)
    if name.startswith("cifar"):
        from keras.src.datasets import cifar  # noqa: F401  (the module cifar10/100 read with)
    ours = ours_module.load_data(**kwargs)
    theirs = theirs_module.load_data(**kwargs)
    _assert_same(ours, theirs)
    assert ours_calls == theirs_calls  # the same files from the same places, same hashes
    if name in ("imdb", "reuters"):
        assert ours_module.get_word_index() == theirs_module.get_word_index()
    del kr


def test_reuters_label_names_match_keras():
    kr = pytest.importorskip("keras")
    assert keras.datasets.reuters.get_label_names() == tuple(kr.datasets.reuters.get_label_names())


def test_argument_errors():
    with pytest.raises(ValueError, match="label_mode"):
        keras.datasets.cifar100.load_data(label_mode="medium")
    with pytest.raises(ValueError, match="test_split"):
        keras.datasets.boston_housing.load_data(test_split=1.0)
    with pytest.raises(ValueError, match="version"):
        keras.datasets.california_housing.load_data(version="tiny")
    with pytest.raises(TypeError, match="Unrecognized"):
        keras.datasets.imdb.load_data(nb_words=10)


# -- hostile files ---------------------------------------------------------------------------
class _Gadget:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_crafted_pickle_is_refused_without_running(tmp_path, monkeypatch):
    from eigennet.datasets import _loading

    monkeypatch.chdir(tmp_path)
    evil = np.empty(1, dtype=object)
    evil[0] = _Gadget()
    np.savez(tmp_path / "evil.npz", x=evil, y=np.zeros(1))
    with pytest.raises(ValueError, match="Refusing to load `(posix|os|nt).system`"):
        _loading.load_npz(str(tmp_path / "evil.npz"))
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({b"data": _Gadget()}, f)
    with pytest.raises(ValueError, match="Refusing"):
        _loading.load_pickle(str(tmp_path / "evil.pkl"))
    assert not (tmp_path / "pwned").exists()


def test_corrupt_files_raise_value_errors(tmp_path, monkeypatch, published):
    from eigennet.datasets import _cifar, _loading

    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ValueError, match="not a readable dataset file"):
        _loading.load_npz(str(tmp_path / "bad.npz"))
    np.savez(tmp_path / "partial.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="has no y_train, x_test, y_test"):
        _loading.entries(_loading.load_npz(str(tmp_path / "partial.npz")), "partial.npz",
                         "x_train", "y_train", "x_test", "y_test")  # fmt: skip
    with open(tmp_path / "batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match="3 x 32 x 32"):
        _cifar.load_batch(str(tmp_path / "batch"))
    (tmp_path / "short.gz").write_bytes(gzip.compress(b"\x00\x01"))
    from eigennet.datasets import fashion_mnist

    with pytest.raises(ValueError, match="too short"):
        fashion_mnist._idx(str(tmp_path / "short.gz"), 8)
