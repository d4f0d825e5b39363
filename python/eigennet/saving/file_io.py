"""Safe file access for saving: atomic writes, and reading npz/zip/h5 without pickle, with
every failure turned into a ValueError that names the file."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import zipfile

import numpy as np


class LoadError(ValueError):
    """A file could not be loaded; the message names the file and the problem."""


@contextlib.contextmanager
def atomic_write(path: str):
    """Yields a binary file in `path`'s folder; on success it is flushed, fsynced and
    renamed over `path` (os.replace), so readers see the old file or the complete new one,
    never a partial one. On failure the temporary file is removed and `path` is untouched."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Makes the rename itself durable (best effort: not every platform allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _array_header(member) -> tuple[tuple, np.dtype]:
    """(shape, dtype) from an .npy header, without reading the data."""
    version = np.lib.format.read_magic(member)
    read = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, _, dtype = read(member)
    return shape, dtype


class ArrayStore:
    """Named arrays of an npz (or h5) file, read one at a time after checking the declared
    shape: a corrupt or hostile header can never make us allocate more than expected."""

    def __init__(self, arrays: dict, source: str, npz: np.lib.npyio.NpzFile | None = None):
        self._arrays, self._npz, self.source = arrays, npz, source

    @classmethod
    def from_npz(cls, fileobj, source: str) -> ArrayStore:
        try:
            npz = np.load(fileobj, allow_pickle=False)
        except Exception as e:  # zipfile/npy errors of many kinds
            raise LoadError(f"{source}: the weights are not a readable .npz file ({e})") from None
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise LoadError(f"{source}: expected an .npz archive of arrays, found a single array")
        return cls(dict.fromkeys(npz.files), source, npz)

    @classmethod
    def from_h5(cls, fileobj, source: str) -> ArrayStore:
        """Keras's .weights.h5 layout (groups like layers/dense/vars holding datasets 0, 1..)."""
        try:
            import h5py
        except ImportError:
            raise LoadError(
                f"{source}: reading Keras's HDF5 weights needs the h5py package "
                "(pip install h5py); eigennet itself saves .npz weights"
            ) from None
        arrays = {}
        try:
            with h5py.File(fileobj, "r") as f:

                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset):
                        if obj.dtype.kind not in "biuf":
                            raise LoadError(f"{source}: {name} is not numeric ({obj.dtype})")
                        arrays[name] = obj[()]

                f.visititems(visit)
        except LoadError:
            raise
        except Exception as e:
            raise LoadError(f"{source}: the weights are not a readable HDF5 file ({e})") from None
        return cls({k: np.asarray(v) for k, v in arrays.items()}, source)

    def keys(self) -> list[str]:
        return list(self._arrays)

    def __contains__(self, key: str) -> bool:
        return key in self._arrays

    def get(self, key: str, shape: tuple | None = None, integer: bool = False) -> np.ndarray:
        """The array `key`, checked to have `shape` (when given) and a numeric dtype."""
        if key not in self._arrays:
            raise LoadError(f"{self.source}: the entry {key!r} is missing")
        if self._npz is not None:
            try:
                with self._npz.zip.open(f"{key}.npy") as member:
                    declared, dtype = _array_header(member)
                self._check(key, declared, dtype, shape, integer)
                value = self._npz[key]
            except LoadError:
                raise
            except Exception as e:
                raise LoadError(f"{self.source}: the entry {key!r} cannot be read ({e})") from None
        else:
            value = self._arrays[key]
            self._check(key, value.shape, value.dtype, shape, integer)
        return value

    def _check(self, key, declared, dtype, shape, integer) -> None:
        kinds = "iu" if integer else "biuf"
        if np.dtype(dtype).kind not in kinds:
            raise LoadError(
                f"{self.source}: the entry {key!r} has dtype {dtype}, expected "
                f"{'an integer' if integer else 'a numeric'} array"
            )
        if shape is not None and tuple(declared) != tuple(shape):
            raise LoadError(
                f"{self.source}: the entry {key!r} has shape {tuple(declared)} but the model "
                f"expects {tuple(shape)}: the file does not match the model's architecture"
            )

    def close(self) -> None:
        if self._npz is not None:
            self._npz.close()


def open_zip(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path, "r")
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LoadError(f"{path}: is a folder, not a .keras file") from None
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise LoadError(
            f"{path}: not a valid .keras archive (not a zip file, or truncated): {e}"
        ) from None


def read_member(zf: zipfile.ZipFile, name: str, source: str, limit: int = 1 << 30) -> bytes:
    """A (small) zip member's bytes, refusing absurd declared sizes (zip bombs)."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise LoadError(
            f"{source}: the archive has no {name} (entries: {', '.join(zf.namelist()) or 'none'})"
            "; it is not a model saved by eigennet or Keras 3"
        ) from None
    if info.file_size > limit:
        raise LoadError(f"{source}: {name} declares {info.file_size} bytes, refusing to read it")
    try:
        return zf.read(name)
    except Exception as e:  # CRC errors, truncated data
        raise LoadError(f"{source}: {name} is corrupt ({e})") from None


def read_json_member(zf: zipfile.ZipFile, name: str, source: str):
    try:
        return json.loads(read_member(zf, name, source).decode("utf-8"))
    except LoadError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LoadError(f"{source}: {name} is not valid JSON ({e})") from None


def member_file(zf: zipfile.ZipFile, name: str, source: str):
    """A seekable file over a zip member (npz and h5 readers seek)."""
    return io.BytesIO(read_member(zf, name, source, limit=1 << 40))
