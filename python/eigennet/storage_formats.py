"""The 16-bit float formats of Keras's "bfloat16" and "float16" variables (the dtype policies
of those names, `add_weight(dtype="bfloat16")`).

The core computes in float32, so such a weight lives in a float32 parameter block holding only
values of its format: rounded to nearest, ties to even (float16: beyond 65504 infinite), when
assigned and after every optimizer step, as the core rounds 16-bit product operands. Users
read it as Keras returns it: a NumPy float16 array, or an ml_dtypes bfloat16 array (Keras's
own bfloat16 type; where ml_dtypes is not installed, a float32 array of the same values).
Files hold float16 as float16 and bfloat16 as Keras writes it: 2-byte opaque values marked
`dtype="bfloat16"`.
"""

from __future__ import annotations

import numpy as np

from eigennet import _core

FORMATS = ("bfloat16", "float16")


def is_format(dtype) -> bool:
    return isinstance(dtype, str) and dtype in FORMATS


def native_dtype(dtype: str) -> str:
    """The core's dtype for weights (and computations) of `dtype`: float32 for a 16-bit one."""
    return "float32" if is_format(dtype) else dtype


def storage_format(dtype: str) -> str | None:
    """The 16-bit format of a variable dtype; None for float32, float64 and integers."""
    return dtype if is_format(dtype) else None


def itemsize(dtype: str) -> int:
    return 2 if is_format(dtype) else np.dtype(dtype).itemsize


def round_to(values, fmt: str) -> np.ndarray:
    """`values` as float32 rounded to `fmt`'s values (the core's rounding)."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    return _core.round_to_precision(fmt, values)


def _bfloat16_type():
    try:
        import ml_dtypes
    except ImportError:
        return None
    return ml_dtypes.bfloat16


def as_reported(values: np.ndarray, fmt: str) -> np.ndarray:
    """A copy of float32 `values` (already of the format) in the format's NumPy type."""
    if fmt == "float16":
        return values.astype(np.float16)
    bfloat16 = _bfloat16_type()
    return np.array(values, dtype=np.float32) if bfloat16 is None else values.astype(bfloat16)


def is_bfloat16_array(values) -> bool:
    return getattr(getattr(values, "dtype", None), "name", None) == "bfloat16"


def bfloat16_bits(values) -> np.ndarray:
    """bfloat16 values (float32 holding them, or ml_dtypes bfloat16) as the 2-byte opaque
    array that h5py writes for Keras's bfloat16 variables."""
    if is_bfloat16_array(values):
        return np.ascontiguousarray(values).view(np.uint16).view("V2")
    exact = round_to(values, "bfloat16")  # (exact already; rounding keeps NaN a NaN)
    return (exact.view(np.uint32) >> 16).astype(np.uint16).view("V2")


def from_bfloat16_bits(bits: np.ndarray) -> np.ndarray:
    """float32 values of a 2-byte opaque bfloat16 array (as Keras's files hold them)."""
    if bits.dtype.itemsize != 2:
        raise ValueError(f"bfloat16 entries have 2 bytes a value, got {bits.dtype}")
    words = np.ascontiguousarray(bits).view(np.uint16).astype(np.uint32) << 16
    return words.view(np.float32)


class VariableDtypes:
    """What a layer or model derives from its `dtype` (its variables'): the core's dtype and
    the 16-bit format its weights are kept in (None for float32 and float64)."""

    @property
    def _native_dtype(self) -> str:
        return native_dtype(self.dtype)

    @property
    def _storage_format(self) -> str | None:
        return storage_format(self.dtype)
