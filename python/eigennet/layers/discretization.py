"""Discretization: numeric features bucketed by bin boundaries (Keras 3), with `adapt`.

The bucketing is written with keras.ops (an index is the number of boundaries <= x, as
`np.digitize`), so it runs natively in a model and directly on arrays. `adapt` computes
the boundaries with Keras's own approximate quantile summary (the same algorithm, so the
same boundaries as Keras on the same data and batches): each batch is summarized in about
`1 / epsilon` weighted points and merged into a running summary, so memory stays bounded
whatever the data's size; memmaps and PyDatasets are read batch by batch.
"""

from __future__ import annotations

import numpy as np

from eigennet import ops
from eigennet.layers import _adapt_data, _categorical
from eigennet.layers._ops_layer import OpsLayer
from eigennet.layers.keras_tensor import is_symbolic


def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """About 1/epsilon evenly spaced order statistics of `values`, each weighted by the
    number of values it stands for: a (2, n) array of (values, weights)."""
    values = np.sort(values.reshape(-1))
    step = max(values.size / (1.0 / epsilon), 1)  # (Keras's expression: same rounding)
    picked = values[int(step - 1) :: int(step)]
    return np.stack([picked, np.full_like(picked, step)])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """The summary re-sampled at the cumulative-weight fractions epsilon, 2*epsilon, ... 1
    (linear interpolation); unchanged when it has fewer than 1/epsilon points."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    share = cumulative / cumulative[-1]
    points = np.interp(fractions, share, summary[0])
    weights = np.diff(np.interp(fractions, share, cumulative), prepend=0.0)
    return np.stack([points, weights]).astype("float32")


def _merge(first: np.ndarray, second: np.ndarray, epsilon: float) -> np.ndarray:
    merged = np.concatenate([first, second], axis=1)
    return _compress(merged[:, np.argsort(merged[0])], epsilon)


class Discretization(OpsLayer):
    """Buckets numeric inputs by boundaries: index i for `bins[i-1] <= x < bins[i]`.

    Args:
        bin_boundaries: Sorted list of boundaries (n boundaries make n + 1 bins), or None
            with `num_bins` and `adapt()`.
        num_bins: The number of bins `adapt()` computes (quantiles of the data).
        epsilon: The error tolerance of adapt's quantiles (0 < epsilon < 1; about 1/epsilon
            points are kept per batch). Default 0.01.
        output_mode: "int" (bin indices, int32 on arrays), "one_hot", "multi_hot" or "count".
        sparse: Only False.
    """

    def __init__(
        self,
        bin_boundaries=None,
        num_bins=None,
        epsilon=0.01,
        output_mode="int",
        sparse=False,
        dtype=None,
        name=None,
        **kwargs,
    ):
        super().__init__(name=name, dtype=dtype, **kwargs)
        layer = "Discretization"
        self.output_mode = _categorical.check_output_mode(
            layer, output_mode, ("int", *_categorical.OUTPUT_MODES)
        )
        if sparse:
            raise ValueError(f"{layer}: `sparse=True` is not supported by eigennet")
        if num_bins is not None:
            _categorical.check_positive_int(layer, "num_bins", num_bins, minimum=0)
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(
                f"{layer}: both `num_bins` and `bin_boundaries` should not be set. Received: "
                f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`"
            )
        if num_bins is None and bin_boundaries is None:
            raise ValueError(f"{layer}: you need to set either `num_bins` or `bin_boundaries`.")
        if (
            isinstance(epsilon, bool)
            or not isinstance(epsilon, (int, float))
            or not (0 < epsilon < 1)
        ):
            raise ValueError(
                f"{layer}: `epsilon` must be a number in (0, 1). Received: epsilon={epsilon!r}"
            )
        if bin_boundaries is not None:
            bounds = np.asarray(bin_boundaries, dtype=np.float64)
            if bounds.ndim != 1 or not np.isfinite(bounds).all():
                raise ValueError(
                    f"{layer}: `bin_boundaries` must be a flat list of finite numbers. "
                    f"Received: bin_boundaries={bin_boundaries}"
                )
            if np.any(np.diff(bounds) < 0):
                raise ValueError(
                    f"{layer}: `bin_boundaries` must be sorted in increasing order. Received: "
                    f"bin_boundaries={bin_boundaries}"
                )
            bin_boundaries = bounds.tolist()
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.sparse = False

    @property
    def _depth(self) -> int:
        return len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins

    def adapt(self, data, steps=None):
        """Computes `num_bins` quantile boundaries of `data` (an array, a memmap, a
        PyDataset or an iterable of batches; see the module docstring).

        Raises:
            ValueError: a layer made with `bin_boundaries`; empty data; NaN or inf.
        """
        if self.num_bins is None:
            raise ValueError(
                f"Discretization {self.name!r}: cannot adapt a layer initialized with "
                "`bin_boundaries`; use `num_bins` instead."
            )
        summary = np.array([[], []], dtype="float32")
        for batch in _adapt_data.batches("Discretization", data, steps):
            values = np.asarray(batch)
            if values.size == 0:
                continue
            if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
                raise TypeError(
                    f"Discretization {self.name!r}: adapt() needs numeric data, got dtype "
                    f"{values.dtype}"
                )
            values = values.astype("float32")
            if not np.isfinite(values).all():
                raise ValueError(
                    f"Discretization {self.name!r}: adapt() `data` holds NaN or inf values"
                )
            summary = _merge(_summarize(values, self.epsilon), summary, self.epsilon)
        if summary.shape[1] == 0:
            raise ValueError(f"Discretization {self.name!r}: adapt() received empty data")
        self.bin_boundaries = _compress(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, inputs, training=None):
        if self.bin_boundaries is None:
            raise ValueError(
                f"Discretization {self.name!r}: you need to either pass the `bin_boundaries` "
                "argument at construction time or call `adapt(dataset)` before you can start "
                "using the layer."
            )
        bounds = np.asarray(self.bin_boundaries, dtype="float32")
        if is_symbolic(inputs):
            if bounds.size == 0:
                indices = ops.multiply(inputs, 0.0)
            else:
                above = ops.greater_equal(ops.expand_dims(inputs, -1), bounds)
                indices = ops.sum(ops.cast(above, self._native_dtype), axis=-1)
        else:
            values = np.asarray(inputs)
            if not np.issubdtype(values.dtype, np.number):
                raise ValueError(
                    f"Discretization {self.name!r}: inputs must be numeric, got dtype "
                    f"{values.dtype}"
                )
            # float32 as Keras (its input dtype): values equal to a boundary in float32 fall
            # in the bin above it, as there.
            indices = np.searchsorted(bounds, values.astype("float32"), side="right")
            if self.output_mode == "int":
                return indices.astype("int32")
        if self.output_mode == "int":
            return indices
        return _categorical.encode(indices, self.output_mode, self._depth, self._native_dtype)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return _categorical.output_shape(input_shape, self.output_mode, self._depth)

    def get_config(self):
        return {
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "name": self.name,
            "dtype": self._dtype_config(),
        }

    @classmethod
    def from_config(cls, config):
        from eigennet.layers.layer import dtype_from_config

        config = dtype_from_config(dict(config))
        config.pop("trainable", None)
        bounds = config.get("bin_boundaries")
        if bounds is not None and config.get("num_bins") is not None:
            config.pop("bin_boundaries")  # an adapted layer: both set, as Keras saves it
            layer = cls(**config)
            layer.bin_boundaries = list(bounds)
            return layer
        return cls(**config)
