"""IoU, MeanIoU, BinaryIoU, OneHotIoU and OneHotMeanIoU: equal to Keras 3 (values with and
without sample weights, ignore_class, labels out of range, configs, names), and in fit /
evaluate (traced, natively) equal to the same metric on the predictions, for a segmentation
output (batch, height, width, classes) and for a classifier."""

import os

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers

RNG = np.random.default_rng(30)
LABELS = RNG.integers(0, 3, size=(6, 4, 4))
LABELS[0, 0, :2] = [3, -1]  # out of range: counted nowhere
SCORES = RNG.normal(size=(6, 4, 4, 3)).astype("float32")
WEIGHTS = RNG.uniform(0.0, 3.0, size=(6, 4, 4)).astype("float32")


def _cases():
    probs = 1 / (1 + np.exp(-SCORES[..., 0]))
    one_hot = np.eye(3)[np.clip(LABELS, 0, 2)]
    return {
        "MeanIoU": ((3,), {"sparse_y_pred": False}, LABELS, SCORES),
        "MeanIoU-ids": ((3,), {}, LABELS, SCORES.argmax(-1)),
        "MeanIoU-float": ((3,), {"sparse_y_pred": False, "dtype": "float32"}, LABELS, SCORES),
        "IoU-ignore": ((3, [0, 2]), {"sparse_y_pred": False, "ignore_class": 1}, LABELS, SCORES),
        "OneHotIoU": ((3, [1]), {}, one_hot, SCORES),
        "OneHotMeanIoU": ((3,), {}, one_hot, SCORES),
        "BinaryIoU": ((), {"threshold": 0.3}, (LABELS > 0).astype("float32"), probs),
    }


@pytest.fixture(scope="module")
def kr():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("case", sorted(_cases()))
def test_iou_metrics_equal_keras(kr, case):
    args, kwargs, y_true, y_pred = _cases()[case]
    name = case.split("-")[0]
    ours = getattr(keras.metrics, name)(*args, **kwargs)
    theirs = getattr(kr.metrics, name)(*args, **kwargs)
    for metric in (ours, theirs):
        metric.update_state(y_true, y_pred)
        with np.errstate(all="ignore"):
            metric.update_state(y_true[:3], y_pred[:3], sample_weight=WEIGHTS[:3])
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)
    config = theirs.get_config()
    mine = ours.get_config()
    assert {k: v for k, v in mine.items() if k != "name"} == {
        k: v for k, v in config.items() if k != "name"
    }
    ours.reset_state()
    assert float(ours.result()) == 0.0


def test_default_names_count_up_as_keras():
    keras.utils.clear_session()
    assert keras.metrics.MeanIoU(2).name == "mean_io_u"
    assert keras.metrics.MeanIoU(2).name == "mean_io_u_1"
    assert keras.metrics.IoU(2, [0], name="road").name == "road"


def test_segmentation_fit_and_evaluate_equal_the_metric_on_predictions():
    keras.utils.set_random_seed(2)
    x = RNG.normal(size=(48, 8, 8, 2)).astype("float32")
    y = (x[..., 0] > 0).astype("int64") + (x[..., 1] > 1)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 2)),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.Conv2D(3, 1, activation="softmax"),
        ]
    )
    metrics = [
        keras.metrics.MeanIoU(3, sparse_y_pred=False, name="mean_io_u"),
        keras.metrics.IoU(3, [1, 2], sparse_y_pred=False, name="iou_12"),
    ]
    model.compile("adam", "sparse_categorical_crossentropy", metrics=metrics)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0).history
    assert history["mean_io_u"][-1] > history["mean_io_u"][0]
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0)
    for key, metric in (("mean_io_u", keras.metrics.MeanIoU(3, sparse_y_pred=False)),
                        ("iou_12", keras.metrics.IoU(3, [1, 2], sparse_y_pred=False))):  # fmt: skip
        metric.update_state(y, predicted)
        np.testing.assert_allclose(logs[key], float(metric.result()), rtol=1e-6)


def test_classifier_with_one_hot_iou_in_fit():
    x = RNG.normal(size=(60, 4)).astype("float32")
    y = np.eye(3)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)]
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax")])
    metric = keras.metrics.OneHotMeanIoU(3, name="one_hot_mean_io_u")
    model.compile("adam", "categorical_crossentropy", metrics=[metric])
    logs = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
    metric = keras.metrics.OneHotMeanIoU(3)
    metric.update_state(y, model.predict(x, verbose=0))
    np.testing.assert_allclose(logs["one_hot_mean_io_u"], float(metric.result()), rtol=1e-6)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_classes"):
        keras.metrics.MeanIoU(0)
    with pytest.raises(ValueError, match="target_class_ids"):
        keras.metrics.IoU(3, [3])
