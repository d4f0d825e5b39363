"""Keras 3's intersection-over-union metrics: IoU, MeanIoU, BinaryIoU, OneHotIoU and
OneHotMeanIoU. Each accumulates a (num_classes, num_classes) confusion matrix (rows: true
classes, columns: predicted) written with keras.ops, so in fit/evaluate it is traced and runs
natively; the result is Keras's: the mean over the target classes present of
`TP / (TP + FP + FN)`.

Labels outside [0, num_classes) and the `ignore_class` count for nothing. Sample weights may
have y_true's shape or one weight per sample (Keras asks for y_true's shape). As Keras, the
counts are integers unless `dtype` is a float one: sample weights are then truncated toward
zero (Keras warns of it)."""

from __future__ import annotations

import numbers

import numpy as np

from eigennet import config, ops
from eigennet._metric_base import Metric, auto_name


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _per_sample(x):
    """`x` as (batch, values of the sample): one row per sample."""
    shape = ops.shape(x)
    return ops.reshape(x, (shape[0], -1)) if len(shape) != 2 else x


class IoU(Metric):
    """Intersection-over-union of `target_class_ids`, averaged over those present.

    Args:
        num_classes: The number of classes.
        target_class_ids: The classes whose IoU is averaged.
        name, dtype: As every metric (float32 by default).
        ignore_class: A true class left out of the counts (None: none).
        sparse_y_true, sparse_y_pred: Whether labels / predictions are class ids (True) or
            scores along `axis` (argmax taken).
        axis: The class axis of scores (default -1).
    """

    _direction = "up"
    _per_position = True  # its counts add up over a segmentation's positions

    def __init__(
        self,
        num_classes,
        target_class_ids,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        super().__init__(name or auto_name(type(self)), dtype)
        self._counts = str(np.dtype(dtype)) if dtype is not None else "int32"  # (Keras's)
        state = self._counts if self._counts in ("float32", "float64") else "float32"
        self.num_classes = _positive_int(num_classes, "num_classes")
        ids = (
            list(target_class_ids) if not isinstance(target_class_ids, int) else [target_class_ids]
        )
        if not ids or any(not 0 <= int(i) < self.num_classes for i in ids):
            raise ValueError(
                f"target_class_ids must be class ids in [0, {self.num_classes}), "
                f"got {target_class_ids!r}"
            )
        self.target_class_ids = ids
        self.ignore_class = ignore_class
        self.sparse_y_true = bool(sparse_y_true)
        self.sparse_y_pred = bool(sparse_y_pred)
        self.axis = axis
        n = self.num_classes
        self.total_cm = self.add_variable((n, n), dtype=state, name="total_confusion_matrix")

    def _labels(self, y_true, y_pred):
        """(true, predicted) class ids, one row per sample."""
        if not self.sparse_y_true:
            y_true = ops.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = ops.argmax(y_pred, axis=self.axis)
        return y_true, y_pred

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = self._labels(y_true, y_pred)
        y_true = _per_sample(ops.cast(y_true, self._counts))
        y_pred = _per_sample(ops.cast(y_pred, self._counts))
        weights = ops.ones_like(y_true)
        if sample_weight is not None:
            w = ops.cast(sample_weight, self._counts)
            if len(ops.shape(w)) == 1:
                w = ops.expand_dims(w, -1)  # one per sample
            weights = weights * _per_sample(w) if len(ops.shape(w)) > 0 else weights * w
        n = float(self.num_classes)
        valid = ops.logical_and(
            ops.logical_and(ops.greater_equal(y_true, 0.0), ops.less(y_true, n)),
            ops.logical_and(ops.greater_equal(y_pred, 0.0), ops.less(y_pred, n)),
        )
        if self.ignore_class is not None:
            valid = ops.logical_and(valid, ops.not_equal(y_true, float(self.ignore_class)))
        zeros = ops.zeros_like(y_true)
        true_hot = ops.one_hot(ops.where(valid, y_true, zeros), self.num_classes)
        pred_hot = ops.one_hot(ops.where(valid, y_pred, zeros), self.num_classes)
        weighted = pred_hot * ops.expand_dims(ops.where(valid, weights, zeros), -1)
        per_sample = ops.einsum("npc,npd->ncd", true_hot, weighted)
        self.total_cm.assign(self.total_cm + ops.sum(per_sample, axis=0))

    def result(self):
        cm = self.total_cm
        n = self.num_classes
        true_positives = ops.sum(cm * np.eye(n, dtype="float32"), axis=0)
        denominator = ops.sum(cm, axis=0) + ops.sum(cm, axis=1) - true_positives
        ids = np.asarray(self.target_class_ids)
        selected = np.eye(n, dtype="float32")[:, ids]  # (n, targets): picks the targets
        true_positives = ops.matmul(ops.reshape(true_positives, (1, n)), selected)
        denominator = ops.matmul(ops.reshape(denominator, (1, n)), selected)
        valid = ops.cast(ops.greater(denominator, 1e-9), "float32")
        iou = valid * true_positives / (denominator + config.epsilon())
        return ops.sum(iou) / (ops.sum(valid) + config.epsilon())

    def get_config(self):
        return {
            **super().get_config(),
            "dtype": self._counts,
            "num_classes": self.num_classes,
            "target_class_ids": self.target_class_ids,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


class MeanIoU(IoU):
    """The IoU averaged over every class present."""

    def __init__(
        self,
        num_classes,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        n = _positive_int(num_classes, "num_classes")
        super().__init__(n, list(range(n)), name, dtype, ignore_class, sparse_y_true,
                         sparse_y_pred, axis)  # fmt: skip

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


class BinaryIoU(IoU):
    """IoU of binary labels, predictions counted as class 1 at `threshold` or above."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name, dtype)
        self.threshold = float(threshold)

    def update_state(self, y_true, y_pred, sample_weight=None):
        predicted = ops.cast(ops.greater_equal(y_pred, self.threshold), "float32")
        super().update_state(y_true, predicted, sample_weight)

    def get_config(self):
        return {
            "target_class_ids": self.target_class_ids,
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self._counts,
        }


class _OneHotLabels:
    """One-hot labels: Keras's config leaves `sparse_y_true` out."""

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotIoU(_OneHotLabels, IoU):
    """IoU of one-hot labels (and scores, unless `sparse_y_pred`)."""

    def __init__(
        self,
        num_classes,
        target_class_ids,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_pred=False,
        axis=-1,
    ):
        super().__init__(num_classes, target_class_ids, name, dtype, ignore_class, False,
                         sparse_y_pred, axis)  # fmt: skip


class OneHotMeanIoU(_OneHotLabels, MeanIoU):
    """The mean IoU of one-hot labels (and scores, unless `sparse_y_pred`)."""

    def __init__(
        self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1
    ):
        super().__init__(num_classes, name, dtype, ignore_class, False, sparse_y_pred, axis)
