"""Safe file access for saving: atomic writes, and reading npz/zip/h5 without pickle, with
every failure turned into a ValueError that names the file.

Reading never trusts a file: only regular files are opened (a device or FIFO could be read
forever), zip members are read in chunks up to a bound, JSON is refused when nested too
deeply, an array's shape and dtype are checked from its header before its data is read,
and HDF5 files may not point outside themselves (external storage, virtual datasets,
external or soft links) or use filters outside the standard set."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import tempfile
import zipfile

import numpy as np

from eigennet import storage_formats

# config.json and metadata.json: a large model's config is a few hundred KB.
MAX_JSON_BYTES = 16 << 20
# Nesting of config.json (a model nested in models adds about four levels per model);
# deeper nesting would exhaust Python's recursion limit while loading.
MAX_JSON_DEPTH = 100
_CHUNK = 1 << 20


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
        with os.fdopen(fd, "w+b") as f:  # readable too: h5py reads back what it writes
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


def _refuse_non_regular(mode: int, path: str, what: str) -> None:
    if stat.S_ISDIR(mode):
        raise LoadError(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(mode):
        raise LoadError(
            f"{path}: is not a regular file (a device, FIFO or socket, possibly behind a "
            f"symlink); eigennet loads a {what} from regular files only"
        )


def open_regular(path: str, what: str = "file"):
    """`path` opened for binary reading, if it is a regular file once symlinks are
    resolved: /dev/zero or a FIFO would be read until memory runs out (or forever). Checked
    before opening (opening a device can have effects) and again on the open file, so a
    swap in between changes nothing. O_NONBLOCK: opening a FIFO must not wait for a writer."""
    try:
        _refuse_non_regular(os.stat(path).st_mode, path, what)
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file") from None
    except OSError as e:
        raise LoadError(f"{path}: cannot be read ({e})") from None
    try:
        _refuse_non_regular(os.fstat(fd).st_mode, path, what)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def parse_json(data: bytes | bytearray | str, source: str, name: str):
    """JSON text as Python values; malformed, non-UTF-8 or too deeply nested text raises
    LoadError (the json module would raise RecursionError on deep nesting, and walking a
    deep config later would too)."""
    try:
        value = json.loads(data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data)
    except RecursionError:
        raise _too_deep(source, name) from None
    except (UnicodeDecodeError, ValueError) as e:  # ValueError: also over-long integers
        raise LoadError(f"{source}: {name} is not valid JSON ({e})") from None
    # Iterative, so that the check itself cannot overflow the stack.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep(source, name)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return value


def _too_deep(source: str, name: str) -> LoadError:
    return LoadError(
        f"{source}: {name} is nested more than {MAX_JSON_DEPTH} levels deep, which no saved "
        "model's config is (the file is corrupt or crafted)"
    )


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


H5PY_MISSING = 'the h5py package is not installed: pip install "eigennet[h5]" (or pip install h5py)'


def import_h5py(purpose: str):
    """The h5py module, or an ImportError saying how to install it."""
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{purpose} needs HDF5, but {H5PY_MISSING}") from None
    return h5py


def h5py_available() -> bool:
    try:
        import h5py  # noqa: F401
    except ImportError:
        return False
    return True


def write_h5(fileobj, arrays: dict) -> None:
    """Writes `arrays` ("layers/dense/vars/0" -> array) to `fileobj` as HDF5 in Keras 3's
    `.weights.h5` layout: each key's folders are groups, its last part a dataset (Keras reads
    group `<path>/vars`, datasets "0", "1", ...). Uncompressed, as Keras writes them."""
    h5py = import_h5py("Writing .weights.h5")
    with h5py.File(fileobj, "w") as f:
        for key, value in arrays.items():
            folder, _, name = key.rpartition("/")
            group = f.require_group(folder) if folder else f
            value = np.asarray(value)
            if _is_bfloat16_bits(value.dtype):  # as Keras writes bfloat16 variables
                group.create_dataset(name, data=value).attrs["dtype"] = "bfloat16"
            else:
                group.create_dataset(name, data=value)


def _is_bfloat16_bits(dtype) -> bool:
    """2-byte opaque values: bfloat16 as Keras's files (and eigennet's) hold them."""
    return dtype.kind == "V" and dtype.itemsize == 2 and dtype.fields is None


# HDF5 filters that only compress or checksum (deflate/gzip, shuffle, fletcher32, lzf).
_H5_FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 32000: "lzf"}


class ArrayStore:
    """Named arrays of an npz (or h5) file, read one at a time after checking the declared
    shape: a corrupt or hostile header can never make us allocate more than expected."""

    def __init__(self, entries: dict, source: str, npz=None, closers=()):
        # entries: name -> None (npz) or an h5py.Dataset, read only in get().
        self._entries, self._npz, self.source = entries, npz, source
        self._closers = list(closers)

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
        """Keras's .weights.h5 layout (groups like layers/dense/vars holding datasets 0, 1..).
        Only metadata is read here; each dataset's data is read by get() after its shape
        and dtype were checked."""
        h5py = import_h5py(f"Reading the weights of {source}")
        datasets = {}
        try:
            f = h5py.File(fileobj, "r")
        except Exception as e:
            raise LoadError(f"{source}: the weights are not a readable HDF5 file ({e})") from None
        try:

            def visit(name, obj):  # hard links only: each object once, cycles included
                if isinstance(obj, h5py.Group):
                    _check_h5_links(obj, name, source, h5py)
                elif isinstance(obj, h5py.Dataset):
                    _check_h5_dataset(obj, name, source)
                    datasets[name] = obj

            _check_h5_links(f, "/", source, h5py)
            f.visititems(visit)
        except LoadError:
            f.close()
            raise
        except Exception as e:
            f.close()
            raise LoadError(f"{source}: the weights are not a readable HDF5 file ({e})") from None
        return cls(datasets, source, closers=[f.close])

    def keys(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str, shape: tuple | None = None, integer: bool = False) -> np.ndarray:
        """The array `key`, checked to have `shape` (when given) and a numeric dtype."""
        if key not in self._entries:
            raise LoadError(f"{self.source}: the entry {key!r} is missing")
        try:
            if self._npz is not None:
                with self._npz.zip.open(f"{key}.npy") as member:
                    declared, dtype = _array_header(member)
                self._check(key, declared, dtype, shape, integer)
                value = self._npz[key]
            else:
                dataset = self._entries[key]
                self._check(key, dataset.shape, dataset.dtype, shape, integer)
                value = np.asarray(dataset[()])
            if _is_bfloat16_bits(value.dtype):
                value = storage_formats.from_bfloat16_bits(value)
        except LoadError:
            raise
        except Exception as e:
            raise LoadError(f"{self.source}: the entry {key!r} cannot be read ({e})") from None
        return value

    def _check(self, key, declared, dtype, shape, integer) -> None:
        kinds = "iu" if integer else "biuf"
        if np.dtype(dtype).kind not in kinds and (
            integer or not _is_bfloat16_bits(np.dtype(dtype))
        ):
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
        for close in self._closers:
            with contextlib.suppress(Exception):
                close()


def _check_h5_links(group, name: str, source: str, h5py) -> None:
    """Refuses links other than hard links: an external link names another file, a soft
    link a path that may not exist (Keras writes hard links only)."""
    for child in group:
        link = group.get(child, getlink=True)
        if not isinstance(link, h5py.HardLink):
            kind = type(link).__name__
            path = f"{name.rstrip('/')}/{child}".lstrip("/")
            raise LoadError(
                f"{source}: {path} is an HDF5 {kind}; weights files may hold only their own "
                "groups and datasets"
            )


def _check_h5_dataset(dataset, name: str, source: str) -> None:
    """Refuses datasets whose data lives outside the file or passes through filters other
    than compression and checksums; and non-numeric data."""
    if dataset.external:
        raise LoadError(
            f"{source}: the dataset {name} keeps its data in external files "
            f"({', '.join(str(e[0]) for e in dataset.external[:3])}), which eigennet refuses "
            "to read"
        )
    if dataset.is_virtual:
        raise LoadError(
            f"{source}: the dataset {name} is a virtual dataset (its data is in other "
            "datasets or files), which eigennet refuses to read"
        )
    plist = dataset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code, _, _, filter_name = plist.get_filter(i)
        if code not in _H5_FILTERS:
            name_text = filter_name.decode("ascii", "replace") if filter_name else "?"
            raise LoadError(
                f"{source}: the dataset {name} uses the HDF5 filter {code} ({name_text}); "
                f"eigennet reads only {', '.join(_H5_FILTERS.values())}"
            )
    if dataset.dtype.kind not in "biuf" and not _is_bfloat16_bits(dataset.dtype):
        raise LoadError(f"{source}: {name} is not numeric ({dataset.dtype})")


class _OwnedZip(zipfile.ZipFile):
    """A ZipFile that closes the file object it was opened on."""

    def __init__(self, fileobj):
        self._owned = fileobj
        super().__init__(fileobj, "r")

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._owned.close()


def open_zip(path: str) -> zipfile.ZipFile:
    fileobj = open_regular(path, ".keras file")
    try:
        return _OwnedZip(fileobj)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        fileobj.close()
        raise LoadError(
            f"{path}: not a valid .keras archive (not a zip file, or truncated): {e}"
        ) from None
    except BaseException:
        fileobj.close()
        raise


def read_member(
    zf: zipfile.ZipFile, name: str, source: str, limit: int = MAX_JSON_BYTES, what: str = ""
) -> io.BytesIO:
    """A zip member's bytes, at most `limit` of them: the declared size is checked first,
    then the inflated data is counted as it is read, so a zip bomb stops at the bound."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise LoadError(
            f"{source}: the archive has no {name} (entries: {', '.join(zf.namelist()) or 'none'})"
            "; it is not a model saved by eigennet or Keras 3"
        ) from None

    def too_large(size: str):
        return LoadError(
            f"{source}: {name} {size} bytes, more than the {limit} it may hold"
            f"{what}; refusing to read it (a corrupt or crafted file)"
        )

    if info.file_size > limit:
        raise too_large(f"declares {info.file_size}")
    out, total = io.BytesIO(), 0
    try:
        with zf.open(info) as member:
            while chunk := member.read(min(_CHUNK, limit + 1 - total)):
                total += len(chunk)
                if total > limit:
                    raise too_large("inflates to over")
                out.write(chunk)
    except LoadError:
        raise
    except Exception as e:  # CRC errors, truncated data, encryption, unknown compression
        raise LoadError(f"{source}: {name} is corrupt ({e})") from None
    out.seek(0)
    return out


def read_json_member(zf: zipfile.ZipFile, name: str, source: str):
    return parse_json(read_member(zf, name, source).getvalue(), source, name)
