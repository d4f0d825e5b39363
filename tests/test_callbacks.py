"""ReduceLROnPlateau, LearningRateScheduler, TerminateOnNaN, LambdaCallback, CSVLogger.
Expected learning-rate trajectories were recorded from keras 3.15 on the same sequences."""

import csv

import numpy as np
import pytest

import eigennet as keras

# kwargs, monitored values -> (logged learning_rate, optimizer learning_rate) after each epoch
PLATEAU_CASES = [
    (
        dict(patience=1),
        [1.0] * 5,
        [(0.1, 0.1), (0.1, 0.01), (0.01, 0.001), (0.001, 0.0001), (0.0001, 1e-05)],
    ),
    (
        dict(patience=2, factor=0.5, cooldown=1),
        [1.0] + [0.9] * 7,
        [
            (0.1, 0.1),
            (0.1, 0.1),
            (0.1, 0.1),
            (0.1, 0.05),
            (0.05, 0.05),
            (0.05, 0.025),
            (0.025, 0.025),
            (0.025, 0.0125),
        ],
    ),
    (
        dict(patience=0, factor=0.5, min_lr=0.03),
        [1.0, 1.1, 1.2, 1.3, 1.4, 1.5],
        [(0.1, 0.1), (0.1, 0.05), (0.05, 0.03), (0.03, 0.03), (0.03, 0.03), (0.03, 0.03)],
    ),
    (
        dict(patience=1, min_delta=0.05),
        [1.0, 0.97, 0.9, 0.89, 0.88],
        [(0.1, 0.1), (0.1, 0.01), (0.01, 0.01), (0.01, 0.001), (0.001, 0.0001)],
    ),
    (
        dict(monitor="val_accuracy", patience=1, factor=0.5),
        [0.5, 0.5, 0.6, 0.6, 0.6],
        [(0.1, 0.1), (0.1, 0.05), (0.05, 0.05), (0.05, 0.025), (0.025, 0.0125)],
    ),
]


def _model(lr=0.1):
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(lr), "mse", metrics=["accuracy"])
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0)
    return model


@pytest.mark.parametrize(("kwargs", "values", "expected"), PLATEAU_CASES)
def test_reduce_lr_on_plateau_matches_keras(kwargs, values, expected):
    model = _model()
    cb = keras.callbacks.ReduceLROnPlateau(**kwargs)
    cb.set_model(model)
    cb.on_train_begin()
    seen = []
    for epoch, value in enumerate(values):
        logs = {cb.monitor: value}
        cb.on_epoch_end(epoch, logs)
        seen.append((logs["learning_rate"], model.optimizer.learning_rate))
    np.testing.assert_allclose(seen, expected, rtol=1e-6)


def test_reduce_lr_in_fit_logs_learning_rate():
    rs = np.random.RandomState(0)
    x, y = rs.rand(16, 2), rs.rand(16, 1)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.0), "mse")  # no progress: reduce every epoch
    cb = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, min_lr=0.0)
    model.optimizer.learning_rate = 0.0
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    assert history.history["learning_rate"] == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="factor"):
        keras.callbacks.ReduceLROnPlateau(factor=1.0)


def test_learning_rate_scheduler_sets_rate_before_each_epoch():
    rs = np.random.RandomState(1)
    x, y = rs.rand(16, 2), rs.rand(16, 1)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    frozen = []

    def schedule(epoch, lr):
        return 0.0 if epoch >= 1 else 0.05

    class Weights(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            frozen.append(self.model.get_weights()[0].copy())

    history = model.fit(
        x,
        y,
        epochs=3,
        verbose=0,
        shuffle=False,
        callbacks=[keras.callbacks.LearningRateScheduler(schedule), Weights()],
    )
    assert history.history["learning_rate"] == pytest.approx([0.05, 0.0, 0.0])
    np.testing.assert_array_equal(frozen[1], frozen[2])  # lr 0 from epoch 1 on
    bad = keras.callbacks.LearningRateScheduler(lambda epoch: "fast")
    with pytest.raises(ValueError, match="float"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[bad])


def test_terminate_on_nan(capsys):
    x = np.full((64, 2), 1e3, dtype="float32")
    y = np.zeros((64, 1), dtype="float32")
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(1e10), "mse")  # diverges to inf within a few batches
    history = model.fit(
        x, y, epochs=20, batch_size=4, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()]
    )
    assert len(history.epoch) == 1
    assert "Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        model.fit(
            x,
            y,
            epochs=2,
            batch_size=4,
            verbose=0,
            callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True)],
        )


def test_lambda_callback_hooks():
    calls = []
    cb = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: calls.append(("epoch", epoch, sorted(logs))),
        on_train_batch_end=lambda batch, logs: calls.append(("batch", batch)),
    )
    model = _model()
    model.fit(np.zeros((6, 2)), np.zeros((6, 1)), epochs=2, batch_size=4, verbose=0, callbacks=[cb])
    assert calls == [
        ("batch", 0),
        ("batch", 1),
        ("epoch", 0, ["accuracy", "loss"]),
        ("batch", 0),
        ("batch", 1),
        ("epoch", 1, ["accuracy", "loss"]),
    ]
    with pytest.raises(TypeError, match="unknown hook"):
        keras.callbacks.LambdaCallback(on_nothing=print)


def test_csv_logger_writes_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    rs = np.random.RandomState(2)
    x, y = rs.rand(20, 2), rs.rand(20, 1)
    model = _model()
    model.fit(
        x,
        y,
        epochs=2,
        verbose=0,
        validation_split=0.25,
        callbacks=[keras.callbacks.CSVLogger(path)],
    )
    model.fit(
        x,
        y,
        epochs=1,
        verbose=0,
        validation_split=0.25,
        callbacks=[keras.callbacks.CSVLogger(path, append=True)],
    )
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"]  # one header, three epochs
    assert all(float(v) >= 0 for r in rows[1:] for v in r[2:])


class _PredictOutputs(keras.callbacks.Callback):
    """Keeps every predict batch's outputs: logs["outputs"], or the logs themselves for a
    dict of outputs, as Keras 3 passes them."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def on_predict_batch_end(self, batch, logs=None):
        self.batches.append((batch, logs.get("outputs", logs)))  # a dict of outputs: the logs


def _rows(batches, key=None):
    assert [b for b, _ in batches] == list(range(len(batches)))
    return np.concatenate([out if key is None else out[key] for _, out in batches])


def test_predict_batch_logs_hold_the_batch_outputs():
    model = _model()
    x = np.random.RandomState(0).standard_normal((10, 2)).astype("float32")
    seen = _PredictOutputs()
    out = model.predict(x, batch_size=4, verbose=0, callbacks=[seen])
    assert [len(o) for _, o in seen.batches] == [4, 4, 2]
    np.testing.assert_array_equal(_rows(seen.batches), out)
    out[:] = 0  # the logs are the batch's own copy
    assert np.abs(_rows(seen.batches)).sum() > 0


def test_predict_batch_outputs_of_several_outputs_and_of_streamed_data(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(
        inputs, {"a": keras.layers.Dense(2)(inputs), "b": keras.layers.Dense(1)(inputs)}
    )
    x = np.random.RandomState(1).standard_normal((9, 3)).astype("float32")
    seen = _PredictOutputs()
    out = model.predict(x, batch_size=4, verbose=0, callbacks=[seen])
    assert sorted(seen.batches[0][1]) == ["a", "b"]  # Keras flattens the dict into the logs
    for key in ("a", "b"):
        np.testing.assert_array_equal(_rows(seen.batches, key), out[key])

    single = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    expected = single.predict(x, verbose=0)
    np.save(tmp_path / "x.npy", x)
    memmap = np.load(tmp_path / "x.npy", mmap_mode="r")

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[3 * i : 3 * i + 3]

    for data, batch_size in ((memmap, 4), (Batches(), None)):
        seen = _PredictOutputs()
        single.predict(data, batch_size=batch_size, verbose=0, callbacks=[seen])
        np.testing.assert_allclose(_rows(seen.batches), expected, rtol=1e-6)
