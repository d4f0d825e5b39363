"""Reading row ranges of (possibly memory-mapped) arrays into preallocated buffers.

Streaming must not let the data set into the process's memory. Rows of a memory-mapped
array (`np.memmap`, `np.load(..., mmap_mode=...)`, or a view of one) are read with explicit
I/O (`os.preadv` straight into the buffer) when they are contiguous in the file and the
mapping is shared, so the file's pages never enter the resident set. Other mapped views
(strided slices, copy-on-write mappings, arrays built on an `mmap` by hand) are copied out of
the mapping; for shared mappings the consumed pages are then released with
`madvise(MADV_DONTNEED)` (the file keeps the data), for copy-on-write ones they are left
alone, since releasing them would discard the user's in-memory changes. Arrays already in
memory are copied row range by row range, so conversions never copy a whole array.

Measured here (400 MB float32 file in the page cache, 16 MB reads, busy 2-core machine):
pread 1.2-1.4 GB/s with RSS flat; mapped copy + madvise 1.3 GB/s with RSS bounded by
one read; mapped copy alone 1.3 GB/s with the whole file piling up in RSS.
"""

from __future__ import annotations

import mmap
import os

import numpy as np


def mapped_root(a) -> tuple[np.ndarray, mmap.mmap] | None:
    """(the array that owns the mapping, the mmap) when `a` views a memory map, else None."""
    if not isinstance(a, np.ndarray):
        return None
    owner, base = a, a.base
    while isinstance(base, np.ndarray):
        owner, base = base, base.base
    if isinstance(base, mmap.mmap):
        return owner, base
    return None


def is_mapped(a) -> bool:
    return mapped_root(a) is not None


def _byte_span(a: np.ndarray) -> tuple[int, int]:
    """[lowest, highest + 1) of the addresses that the (non-empty) array `a` reads."""
    low = high = a.ctypes.data
    for n, stride in zip(a.shape, a.strides):
        if stride < 0:
            low += (n - 1) * stride
        else:
            high += (n - 1) * stride
    return low, high + a.itemsize


def _check_span(owner: np.ndarray, mm: mmap.mmap, a: np.ndarray, what: str) -> None:
    """OSError when the file under the mapping `mm` (of which `owner` is the array) ends
    before the last byte of `a`. Touching a page past the end of the file kills the
    process with SIGBUS, so the size is read (one fstat) before every window is touched."""
    if not a.size:
        return
    try:
        size = mm.size()  # fstat of the mapped file itself, even if renamed or replaced
    except (OSError, ValueError):  # an anonymous or closed mapping: nothing to check
        return
    _, high = _byte_span(a)
    offset = getattr(owner, "offset", None)  # np.memmap: owner starts at `offset` in the file
    if offset is not None:
        end = int(offset) + high - owner.ctypes.data
    elif len(mm):  # mapped by hand: assume the mapping starts the file (checks less)
        end = high - np.frombuffer(mm, dtype=np.uint8).ctypes.data
    else:
        return
    if size < end:
        name = getattr(owner, "filename", None)
        source = f"the file {name!r}" if name else "its file"
        raise OSError(
            f"{what} cannot be read: it is memory-mapped from {source}, which is now {size} "
            f"bytes long but the data reaches byte {end}: the file was truncated after it "
            "was mapped. Reading the missing part would crash the process (SIGBUS); "
            "reopen the file (np.load(..., mmap_mode=...)) once it is complete"
        )


def check_mapped_rows(a, what: str) -> None:
    """Raises OSError when `a` views a memory-mapped file that was truncated below the
    bytes of `a` (no-op for arrays in memory)."""
    root = mapped_root(a)
    if root is not None:
        _check_span(*root, a, what)


class RowReader:
    """Copies rows [start, stop) of `array` into (rows, columns) buffers of `dtype`, where
    columns is the product of the array's trailing dimensions (a row-major flattening).

    `strategy` tells how ("pread", "madvise" or "copy"); chosen once per array. With
    `in_place`, rows may instead be used where they are mapped (`view`, then `release`),
    which saves the copy.
    """

    def __init__(self, array: np.ndarray, dtype, max_rows: int, what: str = "the array"):
        self.array = array
        self.what = what
        self.dtype = np.dtype(dtype)
        self.columns = int(np.prod(array.shape[1:], dtype=np.int64)) if array.ndim > 1 else 1
        self.row_shape = array.shape[1:]
        self._fd = None
        self._staging = None
        self._mmap = None
        self.strategy = "copy"
        self.in_place = False
        self._filename = None
        self._root = root = mapped_root(array)
        if root is None:
            return
        owner, mm = root
        self._filename = getattr(owner, "filename", None)
        shared = getattr(owner, "mode", None) in ("r", "r+", "w+")
        if not shared:
            return
        self._mmap = mm
        self._map_address = np.frombuffer(mm, dtype=np.uint8).ctypes.data if len(mm) else 0
        self.strategy = "madvise"
        filename = getattr(owner, "filename", None)
        if filename and array.flags.c_contiguous and array.size:
            # The file offset of this view: the owner starts at its `offset` in the file.
            self._file_offset = int(owner.offset) + (array.ctypes.data - owner.ctypes.data)
            self._row_bytes = array.itemsize * self.columns
            if self._open(filename, array):
                self.strategy = "pread"
                # Rows already in the model's dtype may also be used in place (`view`).
                self.in_place = array.dtype == self.dtype
                if not self.in_place:  # read raw, then convert
                    self._staging = np.empty(max_rows * self.columns, dtype=array.dtype)

    def _open(self, filename, array) -> bool:
        """Opens the mapped file for reading; False when it no longer holds the mapped data
        (the file was replaced or truncated), in which case the mapping is read instead."""
        try:
            fd = os.open(filename, os.O_RDONLY)
        except OSError:
            return False
        end = self._file_offset + len(array) * self._row_bytes
        first = np.empty(self._row_bytes, dtype=np.uint8)
        ok = os.fstat(fd).st_size >= end and self._pread(fd, first, self._file_offset)
        if ok:
            ok = first.tobytes() == np.ascontiguousarray(array[0]).tobytes()
        if not ok:
            os.close(fd)
            return False
        self._fd = fd
        return True

    @staticmethod
    def _pread(fd: int, out: np.ndarray, offset: int) -> bool:
        view = out.reshape(-1).view(np.uint8)
        done = 0
        while done < view.nbytes:  # preadv may return short counts (e.g. above 2 GiB)
            got = os.preadv(fd, [view[done:]], offset + done)
            if got <= 0:
                return False
            done += got
        return True

    def read(self, start: int, stop: int, out: np.ndarray) -> None:
        """Fills `out` (a C-contiguous (stop - start, columns) array of `dtype`)."""
        rows = stop - start
        if self.strategy == "pread":
            raw = out if self._staging is None else self._staging[: rows * self.columns]
            if not self._pread(self._fd, raw, self._file_offset + start * self._row_bytes):
                raise OSError(
                    f"could not read rows [{start}, {stop}) of {self.what} from "
                    f"{self._filename!r}: the file is shorter than the array (it was "
                    "truncated after it was mapped)"
                )
            if self._staging is not None:
                np.copyto(out.reshape(-1), raw, casting="unsafe")
            return
        source = self.array[start:stop]
        self._check_file(source, start, stop)
        np.copyto(out.reshape((rows, *self.row_shape)), source, casting="unsafe")
        if self.strategy == "madvise":
            self._release(source)

    def view(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) in place: a (rows, columns) view of the mapping (`in_place`
        readers only). Reading it faults the pages in; `release` drops them again."""
        rows = self.array[start:stop]
        self._check_file(rows, start, stop)
        return rows.reshape(stop - start, self.columns)

    def _check_file(self, rows: np.ndarray, start: int, stop: int) -> None:
        """OSError, not SIGBUS, when the mapped file no longer holds these rows."""
        if self._root is not None:
            _check_span(*self._root, rows, f"rows [{start}, {stop}) of {self.what}")

    def release(self, start: int, stop: int) -> None:
        """Drops the mapped pages of rows [start, stop) from the resident set."""
        if self._mmap is not None:
            self._release(self.array[start:stop])

    def _release(self, source: np.ndarray) -> None:
        """Drops the mapped pages [source's first byte, last byte) from the resident set."""
        if not source.size or min(source.strides, default=0) < 0:
            return  # reversed views are rare: leave their pages to the kernel
        low = source.ctypes.data - self._map_address
        span = sum((n - 1) * s for n, s in zip(source.shape, source.strides)) + source.itemsize
        begin = low - low % mmap.PAGESIZE
        end = low + span
        end -= end % mmap.PAGESIZE
        if end > begin:
            self._mmap.madvise(mmap.MADV_DONTNEED, begin, end - begin)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        self.close()
