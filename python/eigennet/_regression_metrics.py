"""R2Score (Keras 3's regression_metrics), accumulated natively."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from eigennet._metric_base import NativeMetric, rows_and_weights, squeeze_or_expand

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(NativeMetric):
    """The coefficient of determination, 1 - SS_res / SS_tot, per output then aggregated.

    As Keras 3: a constant target gives 0 when the fit is imperfect and NaN when it is
    perfect (0/0); sample weights weight the sums.

    Args:
        class_aggregation: "uniform_average" (default), "variance_weighted_average", or None
            (one score per output).
        num_regressors: Independent regressors p for the adjusted R2 (default 0: plain R2);
            n counts the target values seen. With p >= n - 1 the plain R2 is returned with a
            warning.
        name: Name in the logs (default "r2_score").
        dtype: "float32" (default) or "float64".
    """

    _native = "r2_score"
    _direction = "up"

    def __init__(
        self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None
    ):
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                "Invalid value for argument `class_aggregation`. Expected one of "
                f"{_AGGREGATIONS}. Received: class_aggregation={class_aggregation}"
            )
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, numbers.Integral):
            raise ValueError(f"num_regressors must be an integer >= 0, got {num_regressors!r}")
        if num_regressors < 0:
            raise ValueError(
                "Invalid value for argument `num_regressors`. Expected a value >= 0. "
                f"Received: num_regressors={num_regressors}"
            )
        super().__init__(name, dtype)
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        self._num_samples = 0

    def _config(self) -> dict:
        return {
            "class_aggregation": self.class_aggregation or "",
            "num_regressors": self.num_regressors,
        }

    def _rows(self, y_true, y_pred, sample_weight):
        y_true, y_pred = squeeze_or_expand(y_true, y_pred)
        if y_pred.ndim != 2 or y_true.ndim != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                f"shapes: y_pred.shape={y_pred.shape} and y_true.shape={y_true.shape}."
            )
        rows = rows_and_weights("R2Score", y_true, y_pred, sample_weight, False)
        self._num_samples += y_true.size  # Keras's n: target values, unweighted
        return rows

    def result(self):
        if self._accumulator is None:
            return np.zeros(0, dtype=self._compute_dtype) if self.class_aggregation is None else 0.0
        if self.num_regressors:
            n = self._num_samples
            if self.num_regressors > n - 1:
                warnings.warn(
                    "More independent predictors than datapoints in adjusted R2 score. "
                    "Falling back to standard R2 score.",
                    stacklevel=2,
                )
            elif self.num_regressors == n - 1:
                warnings.warn(
                    "Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                    stacklevel=2,
                )
        return super().result()

    def reset_state(self) -> None:
        super().reset_state()
        self._num_samples = 0

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
