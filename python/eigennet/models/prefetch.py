"""A background thread that prepares the next pieces of data while the native core computes.

The core releases the GIL during compute, so reading, converting and checking the next chunk
(or calling a generator / PyDataset) in this thread overlaps training. Errors raised while
preparing an item are re-raised in the consuming thread, at the item where they happened.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

_POLL_S = 0.1  # how often blocked waits look at the stop flag


class Closed(Exception):
    """Raised inside the producer when the consumer closed the prefetcher."""


class BufferPool:
    """A fixed set of reusable buffers: the producer takes one, the consumer gives it back
    after use. Its size bounds the memory in flight."""

    def __init__(self, buffers: list):
        self._free: queue.Queue = queue.Queue()
        for b in buffers:
            self._free.put(b)
        self._closed = threading.Event()

    def acquire(self):
        while not self._closed.is_set():
            try:
                return self._free.get(timeout=_POLL_S)
            except queue.Empty:
                continue
        raise Closed

    def release(self, buffer) -> None:
        self._free.put(buffer)

    def close(self) -> None:
        self._closed.set()


class Prefetcher:
    """Iterates `items` in a daemon thread, at most `depth` items ahead of the consumer.

    Use as an iterator and close it (or use it as a context manager) when done: closing
    stops the thread at its next item even when the consumer stops early.
    """

    def __init__(
        self,
        items: Iterator,
        depth: int = 1,
        on_close: Callable[[], None] | None = None,
        join_timeout: float | None = 5 * _POLL_S,
        name: str = "eigennet-prefetch",
    ):
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._on_close = on_close
        self._join_timeout = join_timeout
        self._done = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except Closed:
            pass
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            self._put(("error", error))

    def _put(self, message) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(message, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        while True:
            try:
                kind, value = self._queue.get(timeout=_POLL_S)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self._done = True
                    raise RuntimeError("the data loading thread ended unexpectedly") from None
        if kind == "item":
            return value
        self._done = True
        if kind == "error":
            raise value
        raise StopIteration

    def close(self) -> None:
        self._stop.set()
        if self._on_close is not None:
            self._on_close()
        # The thread notices the flag within a poll. A thread stuck inside user code (a
        # generator that blocks) is a daemon and is waited for at most join_timeout.
        self._thread.join(timeout=self._join_timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
