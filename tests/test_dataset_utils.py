"""keras.utils.timeseries_dataset_from_array, split_dataset and normalize without
TensorFlow: batch contents and order as Keras's tf.data (written out from its documented
rules), fit on the result, and errors."""

import numpy as np
import pytest

import eigennet
from eigennet import utils


def test_timeseries_windows_targets_and_batches():
    data, targets = np.arange(100), np.arange(100) * 10
    ds = utils.timeseries_dataset_from_array(
        data,
        targets,
        sequence_length=10,
        sampling_rate=2,
        sequence_stride=3,
        batch_size=4,
        start_index=5,
        end_index=60,
    )
    starts = np.arange(0, 60 - 5 - 9 * 2, 3)
    assert len(ds) == -(-len(starts) // 4)
    x, y = ds[0]
    np.testing.assert_array_equal(x, [5 + s + np.arange(0, 20, 2) for s in starts[:4]])
    np.testing.assert_array_equal(y, targets[5 + starts[:4]])
    last_x, _ = ds[len(ds) - 1]
    assert len(last_x) == len(starts) - 4 * (len(ds) - 1)
    # Keras's docstring example: targets offset by the window length
    x_all = np.arange(50)
    ds = utils.timeseries_dataset_from_array(
        x_all[:-10], x_all[10:], sequence_length=10, batch_size=64
    )
    x, y = ds[0]
    np.testing.assert_array_equal(x[0], np.arange(10))
    assert y[0] == 10


def test_timeseries_shuffle_no_targets_and_fit():
    ds = utils.timeseries_dataset_from_array(
        np.arange(30.0)[:, None], None, 5, shuffle=True, seed=1, batch_size=8
    )
    firsts = np.concatenate([ds[i][:, 0, 0] for i in range(len(ds))])
    assert sorted(firsts.tolist()) == list(range(26)) and firsts.tolist() != list(range(26))
    series = np.sin(np.arange(400) / 5.0)[:, None].astype("float32")
    train = utils.timeseries_dataset_from_array(series[:-8], series[8:, 0], 8, batch_size=32)
    model = eigennet.Sequential(
        [eigennet.Input((8, 1)), eigennet.layers.Flatten(), eigennet.layers.Dense(1)]
    )
    model.compile("adam", "mse")
    history = model.fit(train, epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


def test_timeseries_bad_arguments():
    data = np.arange(20)
    for kwargs, name in [
        ({"sampling_rate": 0}, "sampling_rate"),
        ({"sequence_stride": 0}, "sequence_stride"),
        ({"start_index": 25}, "start_index"),
        ({"end_index": 30}, "end_index"),
        ({"batch_size": 0}, "batch_size"),
    ]:
        with pytest.raises(ValueError, match=name):
            utils.timeseries_dataset_from_array(data, None, 3, **kwargs)
    with pytest.raises(ValueError, match="sequence_length"):
        utils.timeseries_dataset_from_array(data, None, 0)
    with pytest.raises(ValueError, match="no window"):
        utils.timeseries_dataset_from_array(data, None, 25)


def test_split_dataset():
    x, y = np.arange(10), np.arange(10) * 2
    (lx, ly), (rx, ry) = utils.split_dataset((x, y), left_size=0.8)
    np.testing.assert_array_equal(lx, np.arange(8))
    np.testing.assert_array_equal(ry, [16, 18])
    left, right = utils.split_dataset(x, right_size=3, shuffle=True, seed=0)
    assert len(left) == 7 and len(right) == 3
    assert sorted(np.concatenate([left, right]).tolist()) == list(range(10))
    ds = utils.timeseries_dataset_from_array(np.arange(40), None, 2, batch_size=4)
    a, b = utils.split_dataset(ds, left_size=0.5)
    assert len(a) + len(b) == len(ds)
    np.testing.assert_array_equal(b[0], ds[len(a)])
    with pytest.raises(ValueError, match="left_size"):
        utils.split_dataset(x, left_size=1.5)
    with pytest.raises(ValueError, match="exceeds"):
        utils.split_dataset(x, left_size=6, right_size=6)
    with pytest.raises(ValueError, match="same length"):
        utils.split_dataset((x, y[:5]))


def test_normalize_matches_keras():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x, order=1), [[3 / 7, 4 / 7], [0.0, 0.0]])
    keras = pytest.importorskip("keras")
    np.testing.assert_allclose(utils.normalize(x, axis=0), keras.utils.normalize(x, axis=0))
