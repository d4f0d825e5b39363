"""Validation and one-time conversion of user arrays at the Python boundary."""

from __future__ import annotations

import math

import numpy as np

from eigennet import _core
from eigennet._checks import non_negative_number
from eigennet._checks import positive_int as positive_int  # Model's checks use data_utils's
from eigennet.models.stream_io import check_mapped_rows


def check_dtype(dtype: np.dtype, what: str) -> None:
    """TypeError unless `dtype` is bool, integer or real floating point (timedelta64 is an
    integer subtype to NumPy, but not a number to train on)."""
    if dtype.kind == "c":
        raise TypeError(f"{what} must be real-valued, got dtype {dtype}")
    if dtype.kind not in "biuf":
        raise TypeError(f"{what} must be a numeric array, got dtype {dtype}")


def _numeric(a, what: str) -> np.ndarray:
    if a is None:
        raise ValueError(f"{what} is None: pass a NumPy array")
    if isinstance(a, dict):  # np.asarray would make it a 0-d object array
        raise TypeError(f"{what} must be an array, got a dict")
    try:
        arr = np.asarray(a)
    except ValueError as error:  # NumPy refuses ragged nested sequences
        raise ValueError(
            f"{what} is ragged (its rows have different lengths) or not array-like: pad "
            f"it to a rectangular array ({error})"
        ) from None
    check_dtype(arr.dtype, what)
    check_mapped_rows(arr, what)  # a truncated file would crash the reads below (SIGBUS)
    return arr


def rows_of(a, what: str) -> np.ndarray:
    """`a` as an array to take samples from: numeric (checked as `_numeric`), or strings,
    which a functional model's preprocessing stage reads (see preprocessing_stage)."""
    if isinstance(a, (list, tuple, np.ndarray)):
        arr = np.asarray(a)
        if arr.dtype.kind in "USO":
            return arr
    return _numeric(a, what)


def check_finite(arr: np.ndarray, what: str) -> None:
    """Raises ValueError naming the first sample that holds NaN or inf (one native pass)."""
    if arr.dtype not in (np.float32, np.float64) or not arr.flags.c_contiguous:
        if np.issubdtype(arr.dtype, np.floating):
            arr = np.ascontiguousarray(arr, dtype=np.float64)
        else:
            return
    bad = _core.first_non_finite(arr.reshape(-1))
    if bad >= 0:
        sample = bad // max(1, arr[0].size) if arr.ndim > 1 else bad
        raise ValueError(
            f"{what} contains NaN or inf (first at sample {sample}); "
            "clean or impute the data before training"
        )


def as_features(x, dtype: str, what: str = "x", finite: bool = True) -> np.ndarray:
    """x as a C-contiguous array of `dtype` with at least 2 dimensions, checked (for NaN and
    inf too unless `finite` is False: the caller's native pass checks them)."""
    arr = _numeric(x, what)
    if arr.ndim < 2:
        raise ValueError(
            f"{what} must have a batch axis and a feature axis (rank >= 2), got shape "
            f"{arr.shape}; for one feature per sample use x.reshape(-1, 1)"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{what} is empty (0 samples)")
    if arr.size == 0:
        raise ValueError(f"{what} has samples with no features (shape {arr.shape})")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if finite:
        check_finite(arr, what)
    return arr


def as_targets(
    y, n: int, output_shape: tuple, sparse: bool, dtype: str, what: str = "y", free=False
) -> np.ndarray:
    """y as a (n, columns) C-contiguous array the native loss accepts, checked. `free`: a
    custom loss takes targets of any shape (checked against the traced loss by the core)."""
    arr = _numeric(y, what)
    if arr.ndim == 0:
        raise ValueError(f"{what} must hold one target per sample, got a scalar")
    if arr.shape[0] != n:
        raise ValueError(f"x and {what} hold different numbers of samples: {n} and {arr.shape[0]}")
    if free:
        check_finite(arr, what)
        return np.ascontiguousarray(arr.reshape(n, -1), dtype=dtype)
    out = tuple(output_shape)
    if sparse:
        if arr.shape[1:] not in (out[:-1], out[:-1] + (1,)):
            raise ValueError(
                f"{what} must hold one integer class label per sample for "
                f"sparse_categorical_crossentropy, got shape {arr.shape}"
            )
        classes = out[-1]
        labels = arr.reshape(n, -1)
        if np.issubdtype(labels.dtype, np.floating):
            check_finite(labels, what)
            if not np.all(labels == np.floor(labels)):
                raise ValueError(f"{what} holds non-integer class labels")
        low, high = labels.min(), labels.max()
        if low < 0 or high >= classes:
            raise ValueError(
                f"{what} holds class labels in [{low}, {high}] but the model outputs "
                f"{classes} classes: labels must be in [0, {classes - 1}]"
            )
        return np.ascontiguousarray(labels.reshape(n, -1), dtype=dtype)
    if arr.shape[1:] != out:
        if arr.shape[1:] + (1,) == out:  # Keras expands (batch,) to (batch, 1)
            arr = arr[..., None]
        else:
            raise ValueError(
                f"{what} has shape {arr.shape} but the model outputs samples of shape "
                f"{out}: targets must have shape {(n, *out)}"
            )
    arr = np.ascontiguousarray(arr.reshape(n, -1), dtype=dtype)
    check_finite(arr, what)
    return arr


def as_sample_weight(sample_weight, n: int, dtype: str) -> np.ndarray | None:
    if sample_weight is None:
        return None
    arr = _numeric(sample_weight, "sample_weight").reshape(-1)
    if arr.shape[0] != n:
        raise ValueError(f"sample_weight must hold one weight per sample ({n}), got {arr.shape[0]}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    check_finite(arr.reshape(n, 1), "sample_weight")
    if (arr < 0).any():
        raise ValueError("sample_weight must be non-negative")
    return arr


def as_class_weight(class_weight) -> dict[int, float] | None:
    """class_weight as {class index: weight}, checked before any training as sample_weight
    is: a NaN, inf or negative weight would only show as a NaN loss."""
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"class_weight must be a dict {{class index: weight}}, got "
            f"{type(class_weight).__name__}"
        )
    checked = {}
    for cls, weight in class_weight.items():
        # Keras looks weights up by int(label): 1.0 finds class 1, but "1" or 1.5 find none.
        integral = isinstance(cls, (float, np.floating)) and math.isfinite(cls) and cls == int(cls)
        if isinstance(cls, bool) or not (isinstance(cls, (int, np.integer)) or integral):
            raise TypeError(f"class_weight keys must be integer class indices, got {cls!r}")
        if cls < 0:
            raise ValueError(f"class_weight keys must be class indices >= 0, got {cls}")
        checked[int(cls)] = non_negative_number(weight, f"class_weight[{cls!r}]")
    return checked


def as_validation_split(value) -> float:
    """validation_split as a float in [0, 1), or a TypeError / ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"validation_split must be a number in [0, 1), got {value!r}")
    if not 0 <= float(value) < 1:  # NaN fails this too
        raise ValueError(f"validation_split must be in [0, 1), got {value}")
    return float(value)
