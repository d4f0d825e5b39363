"""Preprocessing of numeric features: Rescaling and Normalization (with `adapt`).

Written with keras.ops and traced into the model's graph like the layers of
`_ops_layer.OpsLayer`, so they run natively inside a model and directly on NumPy arrays.
`Normalization.adapt` computes its statistics in Python, over arrays, memory-mapped arrays
(in chunks of `config.get_streaming()["chunk_bytes"]`, never the whole file at once),
`utils.PyDataset`s and iterables of batches, and stores them in Keras's non-trainable
weights `mean`, `variance` and `count`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from eigennet import ops
from eigennet.layers._ops_layer import OpsLayer


class Rescaling(OpsLayer):
    """Computes `inputs * scale + offset` (e.g. `Rescaling(1 / 255)` for images).

    Args:
        scale: Float, or a list/array broadcast against the inputs (per channel). With
            `backend.image_data_format() == "channels_first"` a non-scalar scale is
            broadcast over the trailing spatial axes, as Keras.
        offset: Float or list/array added after scaling.

    The output has the layer's dtype (float32 by default) whatever the input dtype, as Keras.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("scale", scale), ("offset", offset)):
            try:
                np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Rescaling: `{name}` must be a number or a list of numbers. Received: "
                    f"{name}={value!r}"
                ) from None
        self.scale = scale
        self.offset = offset

    def call(self, inputs, training=None):
        dtype = self._native_dtype
        scale = np.asarray(self.scale, dtype=dtype)
        offset = np.asarray(self.offset, dtype=dtype)
        if scale.ndim > 0:
            from eigennet.backend import image_data_format

            if image_data_format() == "channels_first":
                scale = scale.reshape(scale.shape + (1,) * (3 - scale.ndim))
        return ops.cast(inputs, dtype) * scale + offset

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "scale": _plain(self.scale), "offset": _plain(self.offset)}


def _plain(value):
    """A config value as JSON holds it (NumPy arrays and scalars as lists and floats)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


class Normalization(OpsLayer):
    """Shifts and scales inputs to zero mean and unit variance: `(x - mean) / sqrt(var)`
    (the square root floored at `config.epsilon()`, 1e-7, as Keras), or the inverse with
    `invert=True`.

    Args:
        axis: Int, tuple of ints or None: the axes that keep a separate mean and variance
            per index (default -1, the features). None: one mean and variance for all.
        mean, variance: Optional fixed statistics (both or neither), broadcast to the kept
            axes. Without them, `adapt(data)` computes them.
        invert: Whether to undo the normalization (`mean + x * sqrt(var)`).

    Weights (adapted layers only, as Keras): `mean`, `variance` (the kept axes' shape) and
    `count` (a scalar Keras 3 leaves at 0), all non-trainable.
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axis = (int(axis),)
        else:
            try:
                axis = tuple(axis)
            except TypeError:
                raise TypeError(
                    "Normalization: `axis` must be an int, a tuple of ints or None. Received: "
                    f"axis={axis!r}"
                ) from None
            if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
                raise TypeError(
                    "Normalization: `axis` must be an int, a tuple of ints or None. Received: "
                    f"axis={axis!r}"
                )
            axis = tuple(int(a) for a in axis)
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert
        self._build_input_shape = None
        self._fixed = None  # (mean, variance) as arrays of the broadcast shape, when given
        if (mean is not None) != (variance is not None):
            raise ValueError(
                "When setting values directly, both `mean` and `variance` must be set. "
                f"Received: mean={mean} and variance={variance}"
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    "When setting values directly, `mean` and `variance` must have the same "
                    f"shape. Received: mean shape {np.shape(mean)} and variance shape "
                    f"{np.shape(variance)}"
                )
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(
                    "The rank of `mean` must be less than or equal to the number of axes "
                    f"({len(self.axis)}). Received: mean shape {np.shape(mean)} for axis "
                    f"{self.axis}"
                )

    # -- shapes and weights --------------------------------------------------------------
    def build(self, input_shape):
        if input_shape is None:
            return
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(
                "All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                f"ndim={ndim}, while axis={self.axis}"
            )
        self._build_input_shape = input_shape
        keep = tuple(sorted(a % ndim for a in self.axis))
        for d in keep:
            if input_shape[d] is None:
                raise ValueError(
                    "All `axis` values to be kept must have a known shape. Received "
                    f"axis={self.axis}, inputs.shape={input_shape}, with unknown axis at index "
                    f"{d}"
                )
        self._keep_axis = keep
        self._reduce_axis = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast_shape = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        self._mean_and_var_shape = tuple(input_shape[d] for d in keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(
                name="mean", shape=self._mean_and_var_shape, initializer="zeros", trainable=False
            )
            self.adapt_variance = self.add_weight(
                name="variance",
                shape=self._mean_and_var_shape,
                initializer="ones",
                trainable=False,
            )
            # Keras's count is an int64 scalar that Keras 3 never updates; eigennet's weights
            # are floating point, so it is a float 0 here (set_weights and files convert).
            self.count = self.add_weight(
                name="count", shape=(), initializer="zeros", trainable=False
            )
        else:
            mean = np.asarray(self.input_mean, dtype=np.float64)
            variance = np.asarray(self.input_variance, dtype=np.float64)
            if mean.ndim:
                expanded = [1] * ndim
                for i in range(1, mean.ndim + 1):
                    expanded[keep[-i]] = mean.shape[-i]
                mean, variance = mean.reshape(expanded), variance.reshape(expanded)
            try:
                self._fixed = tuple(
                    np.broadcast_to(v, self._broadcast_shape).astype(self._native_dtype)
                    for v in (mean, variance)
                )
            except ValueError:
                raise ValueError(
                    f"Normalization {self.name!r}: `mean` of shape {np.shape(self.input_mean)} "
                    f"does not broadcast to the kept axes {self._mean_and_var_shape} of inputs "
                    f"of shape {input_shape}"
                ) from None
        self.built = True

    def _statistics(self, batched: bool):
        """(mean, variance) as operands broadcasting against the inputs (without their
        batch axis when the batch axis is not kept)."""
        drop_batch = batched and 0 not in self._keep_axis
        shape = self._broadcast_shape[1:] if drop_batch else self._broadcast_shape
        if self._fixed is not None:
            return tuple(v.reshape(shape) for v in self._fixed)
        return ops.reshape(self.adapt_mean, shape), ops.reshape(self.adapt_variance, shape)

    def call(self, inputs, training=None):
        from eigennet import config
        from eigennet.ops.symbolic import is_symbolic

        shape = tuple(getattr(inputs, "shape", np.shape(inputs)))
        if len(shape) != len(self._broadcast_shape):
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                f"ndim={len(self._broadcast_shape)}, found ndim={len(shape)}. Full shape "
                f"received: {shape}"
            )
        for d in self._keep_axis:
            if shape[d] is not None and shape[d] != self._broadcast_shape[d]:
                raise ValueError(
                    f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                    f"axis {d} of input shape to have value {self._broadcast_shape[d]}, but "
                    f"received input with shape {shape}"
                )
        x = ops.cast(inputs, self._native_dtype)
        mean, variance = self._statistics(batched=is_symbolic(inputs))
        scale = ops.maximum(ops.sqrt(variance), config.epsilon())
        if self.invert:
            return mean + x * scale
        return (x - mean) / scale

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    # -- adapt ----------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Computes the mean and variance of `data` over the axes not kept and stores them
        in the layer's weights.

        Args:
            data: A NumPy array (the statistics of the whole array, as Keras), a memory-mapped
                array (read in chunks of about `config.get_streaming()["chunk_bytes"]`, or
                `batch_size` samples), a `utils.PyDataset` or an iterable of batches (each an
                array or an `(x, y, ...)` tuple whose `x` is used).
            batch_size: Optional int: read arrays this many samples at a time (memmaps
                are always read in chunks).
            steps: Optional int: use only the first `steps` batches of a PyDataset or an
                iterable.

        Raises:
            ValueError: a layer given `mean` and `variance`; empty data; NaN or inf in the
                data; data whose kept axes differ from the layer's.
            TypeError: data that is neither an array nor batches of arrays.
        """
        from eigennet.utils.py_dataset import PyDataset

        if self.input_mean is not None:
            raise ValueError(
                f"Normalization {self.name!r}: adapt() cannot change a layer given `mean` and "
                "`variance`; make the layer without them to adapt it"
            )
        for name, value in (("batch_size", batch_size), ("steps", steps)):
            if value is not None and (
                not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1
            ):
                raise ValueError(
                    f"Normalization.adapt: `{name}` must be a positive int or None. Received: "
                    f"{name}={value!r}"
                )
        if isinstance(data, np.ndarray):
            batches, input_shape = self._array_chunks(data, batch_size), data.shape
        elif isinstance(data, PyDataset):
            count = data.num_batches if steps is None else steps
            if count is None:
                raise ValueError(
                    "Normalization.adapt: an endless PyDataset (num_batches None) needs `steps`"
                )
            batches = (_first(data[i]) for i in range(count))
            input_shape = None
        elif hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict)):
            batches = (_first(b) for b in iter(data))
            if steps is not None:
                import itertools

                batches = itertools.islice(batches, steps)
            input_shape = None
        else:
            raise TypeError(
                f"Unsupported data type: {type(data)}. `adapt` supports `np.ndarray`, "
                "`keras.utils.PyDataset`, and iterables of batches (e.g. list, generator)."
            )
        if isinstance(data, np.ndarray) and data.size == 0:
            raise ValueError(f"Normalization {self.name!r}: adapt() received empty data")
        total_mean = total_var = None
        total_count = 0
        for batch in batches:
            batch = np.asarray(batch)
            if input_shape is None:
                input_shape = batch.shape
            if not self.built or self._build_input_shape is None:
                self._build_for_data(tuple(input_shape))
            self._check_adapt_shape(batch.shape)
            if batch.size == 0:
                continue
            if not np.issubdtype(batch.dtype, np.number) or np.issubdtype(
                batch.dtype, np.complexfloating
            ):
                raise TypeError(
                    f"Normalization {self.name!r}: adapt() needs numeric data, got dtype "
                    f"{batch.dtype}"
                )
            values = batch.astype(np.float64, copy=False)
            if not np.isfinite(values).all():
                raise ValueError(
                    f"Normalization {self.name!r}: adapt() `data` holds NaN or inf values"
                )
            batch_mean = values.mean(axis=self._reduce_axis)
            batch_var = values.var(axis=self._reduce_axis)
            batch_count = math.prod(batch.shape[d] for d in self._reduce_axis)
            if total_mean is None:
                total_mean, total_var, total_count = batch_mean, batch_var, batch_count
                continue
            total_count += batch_count
            weight = batch_count / total_count
            new_mean = total_mean * (1.0 - weight) + batch_mean * weight
            total_var = (total_var + (total_mean - new_mean) ** 2) * (1.0 - weight) + (
                batch_var + (batch_mean - new_mean) ** 2
            ) * weight
            total_mean = new_mean
        if total_mean is None:
            raise ValueError(
                f"Normalization {self.name!r}: adapt() received an empty data set (no batches "
                "or no samples)"
            )
        self.adapt_mean.assign(np.asarray(total_mean).reshape(self._mean_and_var_shape))
        self.adapt_variance.assign(np.asarray(total_var).reshape(self._mean_and_var_shape))

    def _build_for_data(self, shape: tuple) -> None:
        """Builds for data of `shape` as Keras (its build config is the data's shape), but
        for inputs of any size along the reduced axes, so the layer then fits a model whose
        inputs differ from the data there (another batch size, a variable length)."""
        ndim = len(shape)
        keep = {a % ndim for a in self.axis if -ndim <= a < ndim}
        self.build(tuple(n if d in keep else None for d, n in enumerate(shape)))
        self._build_input_shape = shape

    def _array_chunks(self, data: np.ndarray, batch_size):
        """An in-memory array whole (Keras's statistics of the array, to its rounding) unless
        `batch_size` is given; a memmap in chunks of bounded size."""
        from eigennet import config

        if not isinstance(data, np.memmap) and batch_size is None:
            yield data
            return
        if data.ndim == 0:
            yield np.asarray(data)
            return
        rows = batch_size
        if rows is None:
            sample_bytes = max(1, data.itemsize * math.prod(data.shape[1:]))
            rows = max(1, config.get_streaming()["chunk_bytes"] // sample_bytes)
        for start in range(0, max(len(data), 1), rows):
            yield np.asarray(data[start : start + rows])

    def _check_adapt_shape(self, shape: tuple) -> None:
        if len(shape) != len(self._build_input_shape):
            raise ValueError(
                f"The layer was built with input_shape={self._build_input_shape}, but adapt() "
                f"is being called with data with an incompatible shape, data.shape={shape}"
            )
        for d in self._keep_axis:
            if shape[d] != self._build_input_shape[d]:
                raise ValueError(
                    f"The layer was built with input_shape={self._build_input_shape}, but "
                    f"adapt() is being called with data with an incompatible shape, "
                    f"data.shape={shape}"
                )

    # -- config ----------------------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        }

    @classmethod
    def from_config(cls, config):
        from eigennet.layers.layer import dtype_from_config

        return cls(**dtype_from_config(config))

    def get_build_config(self):
        if self._build_input_shape:
            return {"input_shape": list(self._build_input_shape)}
        return None

    def build_from_config(self, config):
        if config:
            self.build(tuple(config["input_shape"]))


def _first(batch):
    """A batch's inputs: the first element of an `(x, y, ...)` tuple."""
    if isinstance(batch, tuple):
        return batch[0]
    return batch
