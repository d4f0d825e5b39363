"""Global settings: float type, epsilon and thread count (Keras's `keras.config`), and which
instruction-set variant of the native core is in use."""

from __future__ import annotations

from eigennet import _core, _dispatch

_FLOATX = "float32"
_SUPPORTED_FLOATX = ("float32", "float64")
_THREADS_SET_BY_USER = False  # eigennet.distributed leaves an explicit choice alone


def floatx() -> str:
    """Returns the default float type of new layers and models, as a string."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Sets the default float type: "float32" (default) or "float64".

    Models built afterwards use it for weights, computation and outputs.
    """
    global _FLOATX
    value = str(value)
    if value not in _SUPPORTED_FLOATX:
        raise ValueError(
            f"Unknown floatx {value!r}. eigennet supports: {', '.join(_SUPPORTED_FLOATX)}"
        )
    _FLOATX = value


def set_dtype_policy(policy) -> None:
    """Sets the dtype policy of new layers ("float32", "mixed_bfloat16", a DTypePolicy)."""
    from eigennet import dtype_policies

    dtype_policies.set_dtype_policy(policy)


def dtype_policy():
    """The dtype policy of new layers."""
    from eigennet import dtype_policies

    return dtype_policies.dtype_policy()


def epsilon() -> float:
    """The fuzz factor of losses and optimizers (Keras: 1e-7)."""
    return 1e-7


def enable_unsafe_deserialization() -> None:
    """Keras's switch for loading Lambda layers' code; eigennet never stores or loads code
    (a Lambda layer cannot be saved), so there is nothing to enable: kept so that programs
    calling it run."""


def set_num_threads(n: int) -> None:
    """Sets how many threads the native core (OpenMP loops and Eigen GEMM) may use.

    The default honours `OMP_NUM_THREADS`, else the number of cores (under MPI, the node's
    cores divided by its ranks). Never ask for more threads than free cores: an
    oversubscribed GEMM slows down several-fold.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"num_threads must be an integer >= 1, got {n!r}")
    global _THREADS_SET_BY_USER
    _THREADS_SET_BY_USER = True
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """Returns the number of threads the native core uses."""
    return _core.get_num_threads()


def isa() -> str:
    """The instruction-set variant of the native core in use: "baseline" (x86-64, SSE2),
    "v3" (AVX2+FMA), "v4" (AVX-512) or "native" (a source build for this machine).

    Chosen at import as the most capable variant this CPU runs; the environment variable
    `EIGENNET_ISA=baseline|v3|v4|native` (set before importing eigennet) overrides it.
    """
    return _dispatch.CHOSEN


# Streaming (memmaps, PyDatasets, generators): the unit of reading and of shuffling.
_STREAMING = {"chunk_bytes": 8 * 2**20, "shuffle_window": 4}


def set_streaming(chunk_bytes: int | None = None, shuffle_window: int | None = None) -> None:
    """Sets how `fit`, `evaluate` and `predict` stream memory-mapped arrays.

    Args:
        chunk_bytes: Approximate size of one chunk (default 8 MiB); a chunk holds a whole
            number of batches (at least one).
        shuffle_window: With `shuffle=True`, how many chunks (taken in a shuffled order)
            are mixed row by row (default 4). Two windows are in memory at once (one
            training, one loading), so memory is about 2 * shuffle_window * chunk_bytes.
    """
    for name, value in (("chunk_bytes", chunk_bytes), ("shuffle_window", shuffle_window)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
        _STREAMING[name] = value


def get_streaming() -> dict:
    """The streaming settings: {"chunk_bytes": ..., "shuffle_window": ...}."""
    return dict(_STREAMING)


def backend() -> str:
    """The name of the backend: "eigennet" (Keras's `keras.config.backend()`)."""
    from eigennet import backend as _backend

    return _backend.backend()


def image_data_format() -> str:
    """Images are channels last (see `backend.image_data_format`)."""
    from eigennet import backend as _backend

    return _backend.image_data_format()


def set_image_data_format(data_format: str) -> None:
    """Only "channels_last" (the layout every image layer takes here)."""
    if data_format != "channels_last":
        raise ValueError(
            f"set_image_data_format({data_format!r}): eigennet's layers take channels_last "
            "images only"
        )
