"""ModelCheckpoint and BackupAndRestore (Keras 3 behaviour)."""

import os

import numpy as np
import pytest

import eigennet as keras


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x @ rng.normal(size=(4, 1))).astype("float32")


def _model(seed=1, dropout=0.3):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(6, activation="tanh"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def _same_weights(a, b) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


# -- ModelCheckpoint ------------------------------------------------------------------------
def test_filepath_is_formatted_with_epoch_and_logs(tmp_path):
    x, y = _data()
    model = _model()
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.keras")
    history = model.fit(
        x,
        y,
        epochs=3,
        validation_split=0.25,
        callbacks=[keras.callbacks.ModelCheckpoint(pattern)],
        verbose=0,
    )
    expected = [
        f"ckpt-{epoch + 1:02d}-{loss:.2f}.keras"
        for epoch, loss in zip(history.epoch, history.history["val_loss"])
    ]
    assert sorted(os.listdir(tmp_path)) == sorted(expected)
    last = keras.models.load_model(tmp_path / expected[-1])
    assert _same_weights(last, model)
    assert last.optimizer.iterations == model.optimizer.iterations


def _drive(callback, model, values, monitor="val_loss"):
    """Epoch ends with the given monitored values (no training needed)."""
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {monitor: value, "loss": 1.0})


def _saved_epochs(folder) -> list[int]:
    return sorted(int(name.split("-")[1].split(".")[0]) for name in os.listdir(folder))


@pytest.mark.parametrize(
    "mode, monitor, threshold, expected",
    [
        ("min", "val_loss", None, [1, 2, 4]),
        ("auto", "val_loss", None, [1, 2, 4]),
        ("max", "val_loss", None, [1, 3]),
        ("auto", "val_mae", None, [1, 2, 4]),  # an error metric goes down
        ("min", "val_loss", 2.5, [2, 4]),
        ("max", "val_loss", 3.5, [3]),
    ],
)
def test_save_best_only(tmp_path, mode, monitor, threshold, expected):
    model = _model()
    model.fit(*_data(), epochs=1, verbose=0)  # resolves the metrics (mode="auto")
    callback = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "m-{epoch}.keras"),
        monitor=monitor,
        save_best_only=True,
        mode=mode,
        initial_value_threshold=threshold,
    )
    _drive(callback, model, [3.0, 2.0, 4.0, 1.0], monitor)
    assert _saved_epochs(tmp_path) == expected


def test_save_best_only_overwrites_one_file(tmp_path):
    x, y = _data()
    model = _model()
    path = tmp_path / "best.keras"
    callback = keras.callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True)
    history = model.fit(x, y, epochs=4, callbacks=[callback], verbose=0)
    assert os.listdir(tmp_path) == ["best.keras"]
    assert callback.best == min(history.history["loss"])


def test_save_best_only_without_the_monitored_value_saves_and_warns(tmp_path):
    model = _model()
    callback = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "m-{epoch}.keras"), monitor="val_loss", save_best_only=True
    )
    with pytest.warns(UserWarning, match="val_loss available"):
        model.fit(*_data(), epochs=2, callbacks=[callback], verbose=0)
    assert _saved_epochs(tmp_path) == [1, 2]


def test_auto_mode_needs_a_known_direction(tmp_path):
    model = _model()
    callback = keras.callbacks.ModelCheckpoint(tmp_path / "m.keras", monitor="mystery")
    with pytest.raises(ValueError, match="mode='max'"):
        model.fit(*_data(), epochs=1, callbacks=[callback], verbose=0)


def test_save_weights_only(tmp_path):
    x, y = _data()
    model = _model()
    callback = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "w-{epoch}.weights.npz"), save_weights_only=True, verbose=1
    )
    model.fit(x, y, epochs=2, callbacks=[callback], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["w-1.weights.npz", "w-2.weights.npz"]
    other = _model(seed=9)
    other.load_weights(tmp_path / "w-2.weights.npz")
    assert _same_weights(model, other)


@pytest.mark.parametrize(
    "filepath, weights_only, fragment",
    [
        ("m.h5", True, ".weights.h5"),
        ("m.keras", True, ".weights.h5"),
        ("m.h5", False, ".keras"),
        ("m.weights.npz", False, ".keras"),
    ],
)
def test_filepath_suffix_rules(tmp_path, filepath, weights_only, fragment):
    with pytest.raises(ValueError, match=fragment.replace(".", r"\.")):
        keras.callbacks.ModelCheckpoint(tmp_path / filepath, save_weights_only=weights_only)


def test_bad_save_freq_and_placeholder(tmp_path):
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        keras.callbacks.ModelCheckpoint(tmp_path / "m.keras", save_freq="batch")
    callback = keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{accuracy}.keras"))
    with pytest.raises(KeyError, match="Failed to format"):
        _model().fit(*_data(), epochs=1, callbacks=[callback], verbose=0)


def test_save_freq_in_batches(tmp_path):
    x, y = _data(n=40)  # 5 batches of 8 per epoch
    model = _model()
    callback = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "m-{epoch}-{batch}.keras"), save_freq=2
    )
    model.fit(x, y, batch_size=8, epochs=2, callbacks=[callback], verbose=0)
    # Every 2 batches, counting across epochs: batches 2, 4 of epoch 1, then 1, 3, 5.
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["m-1-2.keras", "m-1-4.keras", "m-2-1.keras", "m-2-3.keras", "m-2-5.keras"]
    )


def test_epoch_checkpoints_do_not_ask_for_batch_events(tmp_path):
    callback = keras.callbacks.ModelCheckpoint(tmp_path / "m.keras")
    cb_list = keras.callbacks.CallbackList([callback], _model())
    assert not cb_list.wants_batches("train")


# -- BackupAndRestore -----------------------------------------------------------------------
class _Interrupt(keras.callbacks.Callback):
    """Raises in the middle of an epoch, as a crash would."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise RuntimeError("interrupted")


FIT = dict(batch_size=8, shuffle=True, verbose=0)


def _uninterrupted(x, y, epochs=6):
    model = _model()
    keras.utils.set_random_seed(7)
    model.fit(x, y, epochs=epochs, **FIT)
    return model


@pytest.mark.parametrize("same_model", [True, False])
def test_resume_after_an_interruption(tmp_path, same_model):
    x, y = _data()
    straight = _uninterrupted(x, y)
    backup = tmp_path / "backup"
    model = _model()
    keras.utils.set_random_seed(7)
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(
            x,
            y,
            epochs=6,
            callbacks=[keras.callbacks.BackupAndRestore(backup), _Interrupt(3, 2)],
            **FIT,
        )
    assert os.listdir(backup) == ["latest.weights.npz"]
    if not same_model:  # a new process: a freshly built model with other weights
        model = _model(seed=123)
    keras.utils.set_random_seed(7)
    history = model.fit(x, y, epochs=6, callbacks=[keras.callbacks.BackupAndRestore(backup)], **FIT)
    assert history.epoch == [3, 4, 5]  # epochs 0-2 were backed up, epoch 3 was cut short
    assert _same_weights(model, straight)
    assert model.optimizer.iterations == straight.optimizer.iterations
    assert not backup.exists()  # deleted when the fit completed


def test_completed_fit_starts_from_scratch_next_time(tmp_path):
    x, y = _data()
    model = _model()
    callback = keras.callbacks.BackupAndRestore(tmp_path / "backup")
    model.fit(x, y, epochs=2, callbacks=[callback], **FIT)
    history = model.fit(x, y, epochs=2, callbacks=[callback], **FIT)
    assert history.epoch == [0, 1]
    assert model._initial_epoch is None


def test_keep_the_backup_and_batch_frequency(tmp_path):
    x, y = _data()
    model = _model()
    callback = keras.callbacks.BackupAndRestore(
        tmp_path / "backup", save_freq=5, delete_checkpoint=False
    )
    model.fit(x, y, epochs=2, callbacks=[callback], **FIT)  # 5 batches per epoch
    restored = _model(seed=50)
    restored.load_weights(tmp_path / "backup" / "latest.weights.npz")
    assert _same_weights(restored, model)  # saved after batch 5 of epoch 2, the last


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    x, y = _data()
    backup = tmp_path / "backup"
    model = _model()
    callback = keras.callbacks.BackupAndRestore(backup, double_checkpoint=True)
    with pytest.raises(RuntimeError):
        model.fit(x, y, epochs=5, callbacks=[callback, _Interrupt(2, 0)], **FIT)
    assert sorted(os.listdir(backup)) == ["latest.weights.npz", "latest.weights.npz.bkp"]
    (backup / "latest.weights.npz").write_bytes(b"corrupted")
    history = model.fit(x, y, epochs=5, callbacks=[callback], **FIT)
    assert history.epoch == [1, 2, 3, 4]  # the previous backup was taken after epoch 0


def test_backup_needs_a_built_model(tmp_path):
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callback = keras.callbacks.BackupAndRestore(tmp_path / "b")
    callback.set_model(model)
    with pytest.raises(ValueError, match="must be built"):
        callback.on_train_begin()
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        keras.callbacks.BackupAndRestore("")
