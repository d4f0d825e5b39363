"""`PyDataset`: batches produced by Python code (Keras 3's `keras.utils.PyDataset`), and
the ordered fetching of its batches by worker threads or processes.

Worker processes start with `spawn`: GNU libgomp hangs in a child forked after the parent
ran an OpenMP region, which every eigennet training step does.

Workers never keep the interpreter alive: worker threads are daemons (ThreadPoolExecutor's
are joined at exit, so one `__getitem__` that never returns would hang the exit after `fit`
already raised), and worker processes are terminated when the fetcher closes.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import tempfile
import threading
import warnings
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from eigennet._checks import positive_int

WORKER_START_METHOD = "spawn"
MAX_WORKERS = 1024  # as the core's thread count; ProcessPoolExecutor overflows at 2**31


class PyDataset:
    """Base class of data sets written in Python: one batch per `__getitem__` call.

    Implement `__len__` (the number of batches; or the `num_batches` property, None for an
    infinite data set) and `__getitem__(index)` returning a whole batch: `(x, y)`,
    `(x, y, sample_weight)` or, for `predict`, `x` or `(x,)`. The last batch may be smaller.
    `on_epoch_begin()` and `on_epoch_end()` run before and after every epoch (e.g. to
    reshuffle).

    Args:
        workers: Number of threads (or processes) calling `__getitem__` in parallel
            (default 1: one background thread, which still overlaps loading with training).
        use_multiprocessing: Call `__getitem__` in worker processes (started with
            `spawn`; the data set must be picklable, and its module importable). Worth it
            when `__getitem__` is CPU-bound Python code.
        max_queue_size: How many batches may be prepared ahead of training (default 10).

    `fit`, `evaluate` and `predict` read these; the data set does not use them itself.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self) -> None:
        missing = False
        for name, default in (
            ("_workers", 1),
            ("_use_multiprocessing", False),
            ("_max_queue_size", 10),
        ):
            if not hasattr(self, name):
                setattr(self, name, default)
                missing = True
        if missing:
            warnings.warn(
                "Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
                "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
                "`max_queue_size`. Do not pass these arguments to `fit()`, as they will be "
                "ignored.",
                stacklevel=3,
            )

    @property
    def workers(self):
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        """The batch at position `index`."""
        raise NotImplementedError

    @property
    def num_batches(self):
        """Number of batches, or None for an infinite data set (default: `len(self)`)."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            "You need to implement the `num_batches` property:\n\n"
            "@property\ndef num_batches(self):\n  return ..."
        )

    def __iter__(self):
        count = self.num_batches
        for index in range(count) if count is not None else itertools.count():
            yield self[index]

    def on_epoch_begin(self):
        """Called at the beginning of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""


Sequence = PyDataset  # Keras's older name


def _overrides(dataset: PyDataset, hook: str) -> bool:
    return getattr(type(dataset), hook, None) is not getattr(PyDataset, hook)


def checked_num_batches(dataset: PyDataset) -> int | None:
    """The data set's `num_batches` (None: infinite), or an error naming the data set:
    len() refuses a negative, huge or non-integer `__len__` with messages that name
    neither, and a `num_batches` property is not checked by len() at all."""
    name = type(dataset).__name__
    try:
        count = dataset.num_batches
    except OverflowError as error:
        raise ValueError(
            f"{name}.__len__() returned more batches than Python can count ({error}): "
            "return at most 2**63 - 1, or None from num_batches for an endless data set"
        ) from error
    except (TypeError, ValueError) as error:
        raise (TypeError if isinstance(error, TypeError) else ValueError)(
            f"{name}.__len__() must return the number of batches as an integer >= 0 ({error})"
        ) from error
    if count is None:
        return None
    return positive_int(count, f"{name}.num_batches", allow_zero=True)


class _DaemonThreads:
    """The part of ThreadPoolExecutor that BatchFetcher uses, with daemon threads that
    nobody joins: a thread stuck in `__getitem__` must not keep the interpreter alive."""

    def __init__(self, workers: int, name: str):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._workers, self._name = workers, name
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        with self._lock:
            self._tasks.put((future, fn, args))
            if self._idle > 0:
                self._idle -= 1  # an idle thread takes this task
            elif len(self._threads) < self._workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            future, fn, args = task
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args)
                except BaseException as error:  # noqa: BLE001 - handed to the consumer
                    future.set_exception(error)
                else:
                    future.set_result(result)
                del future, fn, args, task  # no reference to the batch while idle
            with self._lock:
                self._idle += 1

    def shutdown(self) -> None:
        """Cancels the queued tasks and lets idle threads end; never waits."""
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                task[0].cancel()
        for _ in self._threads:
            self._tasks.put(None)


def _stop_processes(executor: ProcessPoolExecutor) -> None:
    """Shuts the pool down and ends its worker processes now: shutdown(wait=False) alone
    leaves a worker stuck in `__getitem__` running, and the interpreter waits for it at
    exit. The workers only load batches, so nothing is lost."""
    terminate = getattr(executor, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(executor, "_processes", None) or {}).values())  # shutdown drops it
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


# -- worker processes --------------------------------------------------------------------
_WORKER_STATE: dict = {"version": None, "dataset": None}


def _init_worker(version: int, payload: bytes) -> None:
    _WORKER_STATE.update(version=version, dataset=pickle.loads(payload))


def _worker_item(version: int, path: str | None, index: int):
    if _WORKER_STATE["version"] != version:  # the parent changed the data set: reload it
        with open(path, "rb") as f:
            _WORKER_STATE.update(version=version, dataset=pickle.load(f))
    return _WORKER_STATE["dataset"][index]


class BatchFetcher:
    """Fetches batches of a PyDataset by index, in order, `max_queue_size` ahead, with the
    data set's workers: threads, processes, or (workers <= 1) the calling thread.

    Worker processes live for the whole fit/evaluate/predict call; when the data set
    overrides `on_epoch_begin`/`on_epoch_end` (it may change between epochs) it is sent to
    them again at every epoch, as Keras does by restarting its pool.
    """

    def __init__(self, dataset: PyDataset):
        self.dataset = dataset
        name = type(dataset).__name__
        workers, depth = dataset.workers, dataset.max_queue_size
        # None and 0 keep their meaning: loading in the calling thread, one batch ahead.
        if workers is not None:
            workers = positive_int(workers, f"{name}.workers", allow_zero=True, maximum=MAX_WORKERS)
        if depth is not None:
            depth = positive_int(depth, f"{name}.max_queue_size", allow_zero=True)
        self._processes = bool(dataset.use_multiprocessing) and bool(workers)
        self._workers = max(1, workers or 0)
        self.depth = max(1, depth or 0)  # batches requested ahead of the one being used
        self._executor = None
        self._lock = threading.Lock()
        self._version = 0
        self._file = None
        self._epochs_started = 0

    @property
    def parallel(self) -> bool:
        """Whether worker threads or processes load the batches."""
        return self._processes or self._workers > 1

    def start_epoch(self) -> None:
        """Call after the data set's on_epoch_begin: later fetches see its current state."""
        self._epochs_started += 1
        mutable = _overrides(self.dataset, "on_epoch_end") or _overrides(
            self.dataset, "on_epoch_begin"
        )
        if self._processes and self._executor is not None and mutable:
            self._version += 1
            self._write_snapshot()

    def _write_snapshot(self) -> None:
        payload = pickle.dumps(self.dataset, protocol=pickle.HIGHEST_PROTOCOL)
        if self._file is None:
            fd, self._file = tempfile.mkstemp(prefix="eigennet-pydataset-", suffix=".pkl")
            os.close(fd)
        with open(self._file + ".tmp", "wb") as f:
            f.write(payload)
        os.replace(self._file + ".tmp", self._file)

    def _get_executor(self):
        with self._lock:
            if self._executor is None:
                if self._processes:
                    try:
                        payload = pickle.dumps(self.dataset, protocol=pickle.HIGHEST_PROTOCOL)
                    except Exception as error:
                        raise TypeError(
                            f"use_multiprocessing=True needs a picklable PyDataset, but "
                            f"{type(self.dataset).__name__} cannot be pickled ({error}); "
                            "use threads (use_multiprocessing=False) or make it picklable"
                        ) from error
                    self._executor = ProcessPoolExecutor(
                        self._workers,
                        mp_context=multiprocessing.get_context(WORKER_START_METHOD),
                        initializer=_init_worker,
                        initargs=(self._version, payload),
                    )
                else:
                    self._executor = _DaemonThreads(self._workers, "eigennet-pydataset")
            return self._executor

    def _submit(self, executor, index: int):
        if self._processes:
            return executor.submit(_worker_item, self._version, self._file, index)
        return executor.submit(self.dataset.__getitem__, index)

    def fetch(self, indices):
        """Yields (index, batch) for `indices`, in order."""
        if not self.parallel:
            for index in indices:
                yield index, call_getitem(self.dataset, index)
            return
        executor = self._get_executor()
        pending: deque = deque()
        indices = iter(indices)
        try:
            for index in itertools.islice(indices, self.depth):
                pending.append((index, self._submit(executor, index)))
            while pending:
                index, future = pending.popleft()
                try:
                    batch = future.result()
                except BrokenProcessPool as error:
                    raise RuntimeError(
                        f"a PyDataset worker process died while loading batch {index} "
                        "(killed, out of memory, crashed in native code, or could not load "
                        "the data set: with spawned workers its class must be importable "
                        "from a module, not defined in an interactive session)"
                    ) from error
                except Exception as error:
                    error.add_note(f"(raised by {type(self.dataset).__name__}[{index}])")
                    raise
                for nxt in itertools.islice(indices, 1):
                    pending.append((nxt, self._submit(executor, nxt)))
                yield index, batch
        finally:
            for _, future in pending:
                future.cancel()

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                # Not waiting: a __getitem__ that never returns must not hang fit(), nor
                # (a stuck worker process) the interpreter's exit.
                if self._processes:
                    _stop_processes(self._executor)
                else:
                    self._executor.shutdown()
                self._executor = None
        if self._file is not None:
            for path in (self._file, self._file + ".tmp"):
                if os.path.exists(path):
                    os.remove(path)
            self._file = None


def call_getitem(dataset: PyDataset, index: int):
    try:
        return dataset[index]
    except Exception as error:
        error.add_note(f"(raised by {type(dataset).__name__}[{index}])")
        raise
