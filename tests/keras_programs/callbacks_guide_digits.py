"""Writing your own callbacks, in the style of Keras's guide, on scikit-learn's digits.

Callbacks that read the batch and epoch logs of fit, evaluate and predict; one that stops
training at the loss's minimum and restores the best weights it kept with `get_weights`; one
that changes the optimizer's learning rate from a schedule at the start of each epoch; and
Keras's own `LambdaCallback`, `CSVLogger`, `LearningRateScheduler` and `TerminateOnNaN`.
"""

import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import eigennet as keras

keras.utils.set_random_seed(3)

digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target.astype("int64")
x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]


def get_model():
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


class CustomCallback(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin", sorted(logs or {})))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, sorted(logs)))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("train_batch_end", batch, sorted(logs)))

    def on_test_batch_end(self, batch, logs=None):
        self.events.append(("test_batch_end", batch, sorted(logs)))

    def on_predict_batch_end(self, batch, logs=None):
        self.events.append(("predict_batch_end", batch, sorted(logs)))


model = get_model()
recorder = CustomCallback()
model.fit(x_train[:256], y_train[:256], batch_size=64, epochs=2, verbose=0, callbacks=[recorder])
model.evaluate(x_test[:128], y_test[:128], batch_size=64, verbose=0, callbacks=[recorder])
predictions = model.predict(x_test[:128], batch_size=64, verbose=0, callbacks=[recorder])
kinds = [e[0] for e in recorder.events]
assert kinds.count("train_batch_end") == 8, kinds
assert kinds.count("epoch_end") == 2
assert kinds.count("test_batch_end") == 2
assert kinds.count("predict_batch_end") == 2
assert ("train_batch_end", 0, ["accuracy", "loss"]) in recorder.events
assert ("epoch_end", 1, ["accuracy", "loss"]) in recorder.events
predict_logs = [e for e in recorder.events if e[0] == "predict_batch_end"]
assert predict_logs[0][2] == ["outputs"], predict_logs
assert predictions.shape == (128, 10)


class LossAndErrorPrintingCallback(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.lines = []

    def on_train_batch_end(self, batch, logs=None):
        self.lines.append(f"Up to batch {batch}, the average loss is {logs['loss']:7.2f}.")

    def on_epoch_end(self, epoch, logs=None):
        self.lines.append(
            f"The average loss for epoch {epoch} is {logs['loss']:7.2f} "
            f"and accuracy is {logs['accuracy']:7.2f}."
        )


printer = LossAndErrorPrintingCallback()
get_model().fit(x_train, y_train, batch_size=128, epochs=2, verbose=0, callbacks=[printer])
print("\n".join(printer.lines[-2:]))
assert len(printer.lines) == 2 * 11 + 2


class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
    """Stops when the loss is at its min, i.e. the loss stops decreasing, and restores the
    weights of the best epoch."""

    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf

    def on_epoch_end(self, epoch, logs=None):
        current = logs.get("loss")
        if np.less(current, self.best):
            self.best = current
            self.wait = 0
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                self.model.set_weights(self.best_weights)


# A learning rate this high makes the loss rise after a few epochs.
model = get_model()
model.optimizer.learning_rate = 0.5
stopper = EarlyStoppingAtMinLoss(patience=1)
history = model.fit(x_train, y_train, batch_size=64, epochs=30, verbose=0, callbacks=[stopper])
print("stopped at epoch", stopper.stopped_epoch, "best loss", stopper.best)
assert len(history.history["loss"]) == stopper.stopped_epoch + 1 < 30
restored = model.get_weights()
assert all(np.array_equal(a, b) for a, b in zip(restored, stopper.best_weights))

LR_SCHEDULE = [(3, 0.05), (6, 0.01), (9, 0.005)]


def lr_schedule(epoch, lr):
    """The learning rate for an epoch from the schedule (lr until the first entry)."""
    if epoch < LR_SCHEDULE[0][0] or epoch > LR_SCHEDULE[-1][0]:
        return lr
    for start, rate in LR_SCHEDULE:
        if epoch == start:
            return rate
    return lr


class CustomLearningRateScheduler(keras.callbacks.Callback):
    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        scheduled_lr = self.schedule(epoch, lr)
        self.model.optimizer.learning_rate = scheduled_lr
        self.rates.append(scheduled_lr)


scheduler = CustomLearningRateScheduler(lr_schedule)
get_model().fit(x_train, y_train, batch_size=64, epochs=10, verbose=0, callbacks=[scheduler])
assert np.allclose(scheduler.rates, [0.01] * 3 + [0.05] * 3 + [0.01] * 3 + [0.005]), scheduler.rates

# Keras's own: a lambda, a CSV log, a per-epoch schedule and a NaN guard.
epochs_seen = []
with tempfile.TemporaryDirectory() as tmp:
    log_path = os.path.join(tmp, "training.csv")
    model = get_model()
    history = model.fit(
        x_train,
        y_train,
        batch_size=64,
        epochs=4,
        verbose=0,
        validation_split=0.2,
        callbacks=[
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch)
            ),
            keras.callbacks.CSVLogger(log_path),
            keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr),
            keras.callbacks.TerminateOnNaN(),
        ],
    )
    with open(log_path) as f:
        header, *rows = f.read().strip().splitlines()
assert epochs_seen == [0, 1, 2, 3]
# The schedule adds learning_rate to the logs after CSVLogger (before it in the list) wrote them.
assert header.split(",") == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"], header
assert len(rows) == 4
assert np.allclose(history.history["learning_rate"], [0.01, 0.005, 0.0025, 0.00125])
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.3f}")
assert accuracy > 0.8
print("OK")
