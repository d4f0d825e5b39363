"""EarlyStopping: Keras 3's rules (expected values recorded from keras 3.15 on the same
sequences of monitored values), and its effect inside fit."""

import numpy as np
import pytest

import eigennet as keras

# kwargs, monitored values per epoch ->
# (epochs run, stopped_epoch, best_epoch, wait, best) as Keras 3 reports them
CASES = [
    (dict(monitor="val_loss"), [1.0, 0.9, 0.95, 0.8], (3, 2, 1, 1, 0.9)),
    (dict(monitor="val_loss", patience=2), [1.0, 0.9, 0.95, 0.96, 0.5, 0.4], (4, 3, 1, 2, 0.9)),
    (
        dict(monitor="val_loss", patience=1, min_delta=0.1),
        [1.0, 0.95, 0.85, 0.84, 0.83],
        (2, 1, 0, 1, 1.0),
    ),
    (
        dict(monitor="val_loss", patience=3, baseline=0.5),
        [1.0, 0.9, 0.8, 0.7, 0.6],
        (5, 0, 4, 5, 0.6),
    ),
    (
        dict(monitor="val_loss", patience=1, baseline=0.85),
        [1.0, 0.9, 0.8, 0.79, 0.78, 0.9, 0.95],
        (6, 5, 4, 1, 0.78),
    ),
    (dict(monitor="val_accuracy", patience=1), [0.5, 0.6, 0.6, 0.7, 0.7, 0.7], (3, 2, 1, 1, 0.6)),
    (
        dict(monitor="val_loss", patience=1, start_from_epoch=2),
        [1.0, 2.0, 3.0, 2.5, 2.6, 2.7],
        (5, 4, 3, 1, 2.5),
    ),
    (dict(monitor="val_loss", mode="max", patience=0), [1.0, 2.0, 1.5], (3, 2, 1, 1, 2.0)),
]


def _model():
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["accuracy"])
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0)
    return model


@pytest.mark.parametrize(("kwargs", "values", "expected"), CASES)
def test_rules_match_keras(kwargs, values, expected):
    model = _model()
    cb = keras.callbacks.EarlyStopping(**kwargs)
    cb.set_model(model)
    model.stop_training = False
    cb.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        cb.on_epoch_end(epoch, {kwargs["monitor"]: value, "loss": 0.0})
        epochs += 1
        if model.stop_training:
            break
    assert (epochs, cb.stopped_epoch, cb.best_epoch, cb.wait) == expected[:4]
    assert cb.best == pytest.approx(expected[4])


def test_stops_fit_when_loss_stalls(capsys):
    rs = np.random.RandomState(0)
    x, y = rs.rand(32, 2), rs.rand(32, 1)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")  # the loss cannot improve
    es = keras.callbacks.EarlyStopping(monitor="loss", patience=2, verbose=1)
    history = model.fit(x, y, epochs=50, verbose=0, callbacks=[es])
    assert history.epoch == [0, 1, 2]
    assert "Epoch 3: early stopping" in capsys.readouterr().out


def test_restore_best_weights():
    rs = np.random.RandomState(1)
    x, y = rs.rand(64, 3), rs.rand(64, 1)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=0.5), "mse")
    snapshots = []

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append((logs["val_loss"], self.model.get_weights()))

    es = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    model.fit(
        x, y, epochs=40, validation_data=(x[:16], y[:16]), verbose=0, callbacks=[Snapshot(), es]
    )
    best_loss, best_weights = min(snapshots, key=lambda s: s[0])
    assert es.best == best_loss
    for got, want in zip(model.get_weights(), best_weights):
        np.testing.assert_array_equal(got, want)


def test_missing_monitor_warns_and_unknown_direction_raises():
    model = _model()
    cb = keras.callbacks.EarlyStopping(monitor="val_loss")
    cb.set_model(model)
    cb.on_train_begin()
    with pytest.warns(UserWarning, match="not available"):
        cb.on_epoch_end(0, {"loss": 1.0})
    cb = keras.callbacks.EarlyStopping(monitor="val_custom")
    cb.set_model(model)
    cb.on_train_begin()
    with pytest.raises(ValueError, match="mode='max'"):
        cb.on_epoch_end(0, {"val_custom": 1.0})
