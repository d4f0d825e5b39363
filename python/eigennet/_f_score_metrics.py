"""FBetaScore and F1Score (Keras 3's f_score_metrics), accumulated natively."""

from __future__ import annotations

import numpy as np

from eigennet._metric_base import NativeMetric, rows_and_weights

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(NativeMetric):
    """F-beta score: (1 + beta^2) * precision * recall / (beta^2 * precision + recall).

    For multi-class and multi-label classification with targets shaped like the predictions
    (one-hot or multi-hot). As Keras 3, Keras's epsilon 1e-7 guards every division.

    Args:
        average: None (default: one score per class), "micro" (global counts), "macro"
            (mean of the class scores) or "weighted" (mean weighted by each class's support).
        beta: Weight of recall, a Python float > 0 (default 1.0).
        threshold: Predictions above it are 1 (a float in (0, 1]); with None (default) each
            sample's highest prediction is 1 (all of them when tied, none when all are 0).
        name: Name in the logs (default "fbeta_score").
        dtype: "float32" (default) or "float64".
    """

    _native = "fbeta_score"
    _direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in _AVERAGES:
            raise ValueError(
                "Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                f"'weighted'}}. Received: average={average}"
            )
        if not isinstance(beta, float):
            raise ValueError(
                "Invalid `beta` argument value. It should be a Python float. "
                f"Received: beta={beta} of type '{type(beta)}'"
            )
        if beta <= 0.0:
            raise ValueError(
                f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}"
            )
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    "Invalid `threshold` argument value. It should be a Python float. "
                    f"Received: threshold={threshold} of type '{type(threshold)}'"
                )
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(
                    "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                    f"Received: threshold={threshold}"
                )
        super().__init__(name, dtype)
        self.average, self.beta, self.threshold = average, float(beta), threshold

    def _config(self) -> dict:
        return {
            "average": self.average or "",
            "beta": self.beta,
            "threshold": None if self.threshold is None else float(self.threshold),
        }

    def _rows(self, y_true, y_pred, sample_weight):
        if y_pred.ndim != 2 or y_true.ndim != 2:
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs with shape (batch_size, output_dim). "
                f"Received input shapes: y_pred.shape={y_pred.shape} and "
                f"y_true.shape={y_true.shape}."
            )
        return rows_and_weights(type(self).__name__, y_true, y_pred, sample_weight, False)

    def result(self):
        if self._accumulator is None and self.average is None:
            return np.zeros(0, dtype=self._compute_dtype)  # no class seen yet
        return super().result()

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """F1 score: 2 * precision * recall / (precision + recall). Arguments as `FBetaScore`
    without beta (default name "f1_score")."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config
