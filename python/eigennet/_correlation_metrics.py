"""Keras 3's correlation metrics: PearsonCorrelation and ConcordanceCorrelation, the weighted
mean over samples of a per-sample coefficient along `axis`. The coefficients are keras.ops
formulas (Keras's), so in fit/evaluate they are traced and run natively."""

from __future__ import annotations

from eigennet import config, ops
from eigennet._more_losses import prepare


def pearson_correlation(y_true, y_pred, axis=-1):
    """Per sample: the Pearson correlation of y_true and y_pred along `axis` (population
    standard deviations, as Keras)."""
    y_true, y_pred = prepare("pearson_correlation", y_true, y_pred)
    t = y_true - ops.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - ops.mean(y_pred, axis=axis, keepdims=True)
    t = t / ops.std(t, axis=axis, keepdims=True)
    p = p / ops.std(p, axis=axis, keepdims=True)
    return ops.mean(t * p, axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Per sample: Lin's concordance correlation of y_true and y_pred along `axis`, as Keras
    computes it (its covariance term centres y_true on y_pred's mean)."""
    y_true, y_pred = prepare("concordance_correlation", y_true, y_pred)
    true_mean = ops.mean(y_true, axis=axis, keepdims=True)
    pred_mean = ops.mean(y_pred, axis=axis, keepdims=True)
    true_var = ops.var(y_true - true_mean, axis=axis, keepdims=True)
    pred_var = ops.var(y_pred - pred_mean, axis=axis, keepdims=True)
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + ops.square(true_mean - pred_mean)
    return ops.mean(2.0 * covariance / (norm + config.epsilon()), axis=axis)


def _wrapper_class(name: str, fn, doc: str):
    from eigennet.metrics import MeanMetricWrapper

    class Correlation(MeanMetricWrapper):
        _direction = "up"

        def __init__(self, name=name, dtype=None, axis=-1):
            super().__init__(fn, name, dtype, axis=axis)
            self.axis = axis

        def get_config(self):
            return {**super().get_config(), "axis": self.axis}

    Correlation.__name__ = Correlation.__qualname__ = "".join(
        part.title() for part in name.split("_")
    )
    Correlation.__doc__ = doc
    return Correlation
