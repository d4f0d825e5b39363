"""TensorBoard event files without TensorFlow: the record framing, CRC-32C, and a minimal
protobuf encoder for the few messages TensorBoard reads (Event, Summary, HistogramProto,
TensorProto, GraphDef).

A file is a sequence of records: uint64 length (little-endian), masked CRC-32C of those 8
bytes, the data (one serialized `Event`), masked CRC-32C of the data. Field numbers follow
tensorboard/compat/proto/{event,summary,histogram,tensor,graph,node_def}.proto.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
import weakref
import zlib

import numpy as np

# -- CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) ------------------------------


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C of `data` (records are small: a table-driven loop is fast enough)."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The CRC as TFRecord stores it: rotated right by 15 bits plus a constant, so that a
    CRC of data that itself holds CRCs is not degenerate."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame_record(data: bytes) -> bytes:
    """One TFRecord: header, its CRC, the data, its CRC."""
    header = struct.pack("<Q", len(data))
    return (
        header
        + struct.pack("<I", masked_crc32c(header))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


# -- protobuf wire format ---------------------------------------------------------------

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


def _varint(value: int) -> bytes:
    if value < 0:  # int32/int64 negatives are ten-byte two's complement
        value += 1 << 64
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint((field << 3) | wire_type)


def pb_varint(field: int, value: int) -> bytes:
    return _key(field, _VARINT) + _varint(int(value))


def pb_double(field: int, value: float) -> bytes:
    return _key(field, _FIXED64) + struct.pack("<d", float(value))


def pb_float(field: int, value: float) -> bytes:
    return _key(field, _FIXED32) + struct.pack("<f", float(value))


def pb_bytes(field: int, value: bytes | str) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return _key(field, _BYTES) + _varint(len(value)) + value


def pb_packed_doubles(field: int, values) -> bytes:
    return pb_bytes(field, np.asarray(values, dtype="<f8").tobytes())


# -- the messages -----------------------------------------------------------------------


def event(
    step: int = 0,
    *,
    wall_time: float | None = None,
    file_version=None,
    graph_def=None,
    summary=None,
) -> bytes:
    """An `Event`: wall_time=1 (double), step=2, then one of file_version=3,
    graph_def=4 (serialized GraphDef), summary=5."""
    out = pb_double(1, time.time() if wall_time is None else wall_time)
    if step:
        out += pb_varint(2, step)
    if file_version is not None:
        out += pb_bytes(3, file_version)
    if graph_def is not None:
        out += pb_bytes(4, graph_def)
    if summary is not None:
        out += pb_bytes(5, summary)
    return out


def summary(*values: bytes) -> bytes:
    """A `Summary` of serialized `Summary.Value`s (field 1, repeated)."""
    return b"".join(pb_bytes(1, v) for v in values)


def plugin_metadata(plugin_name: str, content: bytes = b"") -> bytes:
    """`SummaryMetadata` with `plugin_data` (1) {plugin_name (1), content (2)}."""
    data = pb_bytes(1, plugin_name) + (pb_bytes(2, content) if content else b"")
    return pb_bytes(1, data)


def scalar_value(tag: str, value: float) -> bytes:
    """`Summary.Value` {tag=1, simple_value=2}: what EventAccumulator.Scalars() reads and
    TensorBoard migrates to its scalars plugin."""
    return pb_bytes(1, tag) + pb_float(2, value)


def histogram_proto(values, bucket_count: int = 30) -> bytes:
    """`HistogramProto` {min=1, max=2, num=3, sum=4, sum_squares=5, bucket_limit=6,
    bucket=7} with `bucket_count` equal-width buckets between min and max (as
    tf.summary.histogram); bucket_limit holds each bucket's right edge."""
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        lo = hi = 0.0
        limits, counts = [0.0], [0.0]
    else:
        lo, hi = float(x.min()), float(x.max())
        if lo == hi:
            limits, counts = [hi], [float(x.size)]
        else:
            counts, edges = np.histogram(x, bins=bucket_count, range=(lo, hi))
            limits = edges[1:]
    return (
        pb_double(1, lo)
        + pb_double(2, hi)
        + pb_double(3, x.size)
        + pb_double(4, float(x.sum()))
        + pb_double(5, float(np.dot(x, x)))
        + pb_packed_doubles(6, limits)
        + pb_packed_doubles(7, counts)
    )


def histogram_value(tag: str, values) -> bytes:
    """`Summary.Value` {tag=1, histo=5}."""
    return pb_bytes(1, tag) + pb_bytes(5, histogram_proto(values))


def string_tensor_value(tag: str, text: str, plugin_name: str, content: bytes) -> bytes:
    """`Summary.Value` {tag=1, metadata=9, tensor=8}: a scalar DT_STRING (7) TensorProto
    {dtype=1, tensor_shape=2 (empty: a scalar), string_val=8}."""
    tensor = pb_varint(1, 7) + pb_bytes(2, b"") + pb_bytes(8, text)
    return (
        pb_bytes(1, tag) + pb_bytes(9, plugin_metadata(plugin_name, content)) + pb_bytes(8, tensor)
    )


def png(image: np.ndarray) -> bytes:
    """An 8-bit PNG of an (height, width, channels) uint8 array, channels 1, 3 or 4."""
    height, width, channels = image.shape
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = np.concatenate(
        [np.zeros((height, 1), np.uint8), image.reshape(height, width * channels)], axis=1
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes()))
        + chunk(b"IEND", b"")
    )


def image_value(tag: str, image: np.ndarray) -> bytes:
    """`Summary.Value` {tag=1, image=4 {height=1, width=2, colorspace=3,
    encoded_image_string=4}} of a uint8 (height, width, channels) array."""
    height, width, channels = image.shape
    data = (
        pb_varint(1, height)
        + pb_varint(2, width)
        + pb_varint(3, channels)
        + pb_bytes(4, png(image))
    )
    return pb_bytes(1, tag) + pb_bytes(4, data)


def graph_def(nodes) -> bytes:
    """A `GraphDef` {node=1 (NodeDef {name=1, op=2, input=3}), versions=4 {producer=1}}
    from (name, op, [input names]) triples."""
    out = b""
    for name, op, inputs in nodes:
        node = pb_bytes(1, name) + pb_bytes(2, op) + b"".join(pb_bytes(3, i) for i in inputs)
        out += pb_bytes(1, node)
    return out + pb_bytes(4, pb_varint(1, 22))


# -- the writer -------------------------------------------------------------------------

_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_file_counter = iter(range(1 << 62))
_counter_lock = threading.Lock()


def _file_name() -> str:
    """TensorFlow's v2 name: events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2."""
    with _counter_lock:
        n = next(_file_counter)
    return f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.{n}.v2"


def _close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


class EventFileWriter:
    """Appends events to a new event file in `logdir` (created if needed). Events are kept
    in memory until `flush()`, which writes whole records in one call; a failed write is cut
    back, so the file never ends in half a record."""

    def __init__(self, logdir: str):
        self.logdir = os.fspath(logdir)
        try:
            os.makedirs(self.logdir, exist_ok=True)
            self.path = os.path.join(self.logdir, _file_name())
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
        except OSError as e:
            raise type(e)(
                e.errno,
                f"TensorBoard cannot write its event files in {self.logdir!r} ({e.strerror}): "
                "pass a log_dir that is (or can be created as) a writable directory",
            ) from e
        self._size = 0
        self._pending = bytearray()
        self._finalizer = weakref.finalize(self, _close_fd, self._fd)
        self.add(event(file_version="brain.Event:2"))
        self.flush()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def add(self, serialized_event: bytes) -> None:
        if self.closed:
            raise ValueError(f"the event file {self.path!r} is closed")
        self._pending += frame_record(serialized_event)

    def flush(self) -> None:
        if self.closed or not self._pending:
            return
        data = bytes(self._pending)
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            os.ftruncate(self._fd, self._size)  # no half record
            os.lseek(self._fd, self._size, os.SEEK_SET)
            raise
        self._size += len(data)
        self._pending.clear()

    def close(self) -> None:
        if not self.closed:
            try:
                self.flush()
            finally:
                self._finalizer()
