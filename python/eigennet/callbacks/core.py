"""The Callback base, CallbackList and the callbacks that need no saving.

`fit` calls into Python only for the hooks a callback actually overrides, so callbacks
cost nothing when absent. Batch hooks that only show progress (the progress bar's) are called
by the native loop at most every PROGRESS_INTERVAL seconds and after the last batch of a pass
(see Callback._batch_interval).
"""

from __future__ import annotations

import csv
import os
import time
import warnings

import numpy as np

from eigennet._rank import is_primary, say
from eigennet.utils.progbar import Progbar, flush_stdout, write

# Seconds between two progress reports of the native loop to a callback whose batch hooks only
# show progress: about ten a second, as often as a progress bar is worth redrawing.
PROGRESS_INTERVAL = 0.1


def _batch_hooks(mode: str) -> tuple:
    hooks = (f"on_{mode}_batch_begin", f"on_{mode}_batch_end")
    return (*hooks, "on_batch_begin", "on_batch_end") if mode == "train" else hooks


class Callback:
    """Base class. Override any hook; `self.model` is the model being trained and
    `self.params` holds `verbose`, `epochs` and `steps`."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...

    # Keras: the training-batch hooks forward to the older on_batch_* names.
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    def _batch_interval(self, mode: str):
        """How often fit/evaluate/predict must call this callback's batch hooks of `mode`
        ("train", "test" or "predict"): None (never: it has none), 0.0 (after every batch),
        or, for hooks that only show progress, the seconds between two reports (the native
        loop then also reports the last batch of every pass)."""
        return 0.0 if any(_overrides(self, hook) for hook in _batch_hooks(mode)) else None


def _overrides(callback: Callback, hook: str) -> bool:
    """Whether `hook` does something (a subclass method or, as LambdaCallback sets them, an
    instance attribute)."""
    return hook in vars(callback) or getattr(type(callback), hook, None) is not getattr(
        Callback, hook
    )


class CallbackList(Callback):
    """Dispatches every hook to a list of callbacks."""

    def __init__(self, callbacks, model, **params):
        super().__init__()
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
        self.model, self.params = model, params

    def wants(self, hook: str, ignore: tuple = ()) -> bool:
        return any(_overrides(cb, hook) for cb in self.callbacks if not isinstance(cb, ignore))

    def batch_interval(self, mode: str, ignore: tuple = ()):
        """How often the native loop must report batches of `mode` to these callbacks (those
        not instances of a class in `ignore`): None, never; 0.0, after every batch; else the
        seconds between progress reports (see Callback._batch_interval)."""
        intervals = [
            cb._batch_interval(mode) for cb in self.callbacks if not isinstance(cb, ignore)
        ]
        return min((i for i in intervals if i is not None), default=None)

    def wants_batches(self, mode: str, ignore: tuple = ()) -> bool:
        """Whether a callback (not an instance of a class in `ignore`) has batch hooks."""
        return self.batch_interval(mode, ignore) is not None

    def _call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def __getattribute__(self, name):
        if name.startswith("on_"):
            return lambda *args: self._call(name, *args)
        return super().__getattribute__(name)


class History(Callback):
    """Records the logs of every epoch: `history.history["loss"]`, `history.epoch`."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self

    def record(self, epochs, names, columns) -> None:
        """Appends many epochs at once: one column of logs (floats or arrays) per name."""
        self.epoch.extend(epochs)
        if not epochs:
            return
        for name, column in zip(names, columns):
            self.history.setdefault(name, []).extend(column)
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints a progress bar per epoch (verbose=1) or a line per epoch (verbose=2). Under
    MPI (eigennet.distributed) only rank 0 prints.

    When the number of steps is unknown (a generator without steps_per_epoch) the bar
    counts up, and the count it reached becomes the target of the next bars, as in Keras."""

    def __init__(self):
        super().__init__()
        self._bar = None
        self._verbose, self._epochs = 1, 1
        self._seen, self._target = 0, None
        self._flushed_at = float("-inf")
        self._pending: list[str] = []  # lines gathered by end_and_begin, written by _flush

    def set_params(self, params):
        super().set_params(params)
        self._verbose = params.get("verbose", 1) if is_primary() else 0
        self._epochs = params.get("epochs", 1)
        self._target = params.get("steps")

    def _batch_interval(self, mode):
        # The bar moves on progress reports; with verbose=2 (a line per epoch) they only
        # count the steps, needed when their number is not known beforehand.
        if self._verbose == 1 or (self._verbose and self._target is None):
            return PROGRESS_INTERVAL
        return None

    def _start(self):
        self._seen = 0
        if self._bar is None:  # one bar, started over each epoch (cheap for tiny epochs)
            self._bar = Progbar(target=self._target, verbose=self._verbose, unit_name="step")
            self._bar._flush_final = False  # see _flush
        else:
            self._bar.target = self._target
            self._bar._restart()

    def _step(self, batch, logs=None):
        self._seen = batch + 1
        if self._bar is not None and self._bar._live:  # (else only the final line is drawn)
            self._bar.update(self._seen, logs, finalize=False)

    def _finish(self, logs=None):
        self._write_pending()
        if self._target is None:
            self._target = self._bar.target = self._seen
        self._bar.update(self._target, logs or {}, finalize=True)
        self._flush()

    def _flush(self, now=False):
        """Flushes the lines written at most every PROGRESS_INTERVAL seconds (a line per
        epoch of a thousand tiny epochs costs no system call each), and at the end."""
        clock = time.monotonic()
        if now or clock - self._flushed_at >= PROGRESS_INTERVAL:
            self._write_pending()
            flush_stdout()
            self._flushed_at = clock

    def _write_pending(self):
        if self._pending:
            write("".join(self._pending), flush=False)
            self._pending.clear()

    def _header(self, epoch) -> str:
        return f"Epoch {epoch + 1}/{self._epochs}\n" if self._verbose and self._epochs > 1 else ""

    def on_epoch_begin(self, epoch, logs=None):
        header = self._header(epoch)
        if header:
            self._write_pending()
            write(header, flush=False)
            self._flush()
        self._start()

    def end_and_begin(self, epoch, logs):
        """on_epoch_end(epoch), then on_epoch_begin(epoch + 1): a native fit that only
        progress bars watch calls this once per epoch. On a display that is not live, the
        epoch's line and the next header are gathered and written with the flushes (every
        PROGRESS_INTERVAL s, and at the end): the least Python between tiny epochs."""
        bar = self._bar
        if bar is None or bar._live or bar._averaging or not self._target or not self._verbose:
            self.on_epoch_end(epoch, logs)
            self.on_epoch_begin(epoch + 1)
            return
        now = time.monotonic()  # (the bar's clock)
        self._pending.append(bar.finished_line(logs, now) + self._header(epoch + 1))
        self._seen = 0
        bar._restart()
        if now - self._flushed_at >= PROGRESS_INTERVAL:
            self._flush(now=True)

    def on_train_batch_end(self, batch, logs=None):
        self._step(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_train_end(self, logs=None):
        self._flush(now=True)

    def _in_fit(self) -> bool:
        return self.model is not None and getattr(self.model, "_in_fit", False)

    def on_test_begin(self, logs=None):
        if self.model is not None and not self._in_fit():
            self._start()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit():
            self._step(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit():
            self._finish(logs)
            self._flush(now=True)

    def on_predict_begin(self, logs=None):
        self._start()

    def on_predict_batch_end(self, batch, logs=None):
        self._step(batch)

    def on_predict_end(self, logs=None):
        self._finish()
        self._flush(now=True)


class MonitorCallback(Callback):
    """Base of callbacks that watch one logged quantity (Keras's MonitorCallback): `mode`
    "min", "max" or "auto" (loss and error metrics go down, accuracies go up) and
    `min_delta`, the smallest change that counts as an improvement."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode {mode!r} is unknown, fallback to auto mode.",
                stacklevel=2,
            )
            mode = "auto"
        self.monitor, self.mode, self.best = monitor, mode, baseline
        self.min_delta = abs(min_delta)
        self._lower_is_better = None

    def _set_direction(self) -> None:
        if self.mode != "auto":
            self._lower_is_better = self.mode == "min"
            return
        name = self.monitor.removeprefix("val_")
        if name == "loss":
            self._lower_is_better = True
        for metric in getattr(self.model, "_metrics", None) or []:
            if metric.name == name:
                self._lower_is_better = metric._direction == "down"
        if self._lower_is_better is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, but eigennet "
                "cannot tell whether it should be maximized or minimized: pass mode='max' or "
                "mode='min'"
            )

    def _is_improvement(self, value, reference) -> bool:
        if self._lower_is_better is None:
            self._set_direction()
        if reference is None:
            return True
        if self._lower_is_better:
            return value + self.min_delta < reference
        return value - self.min_delta > reference


class EarlyStopping(MonitorCallback):
    """Stops training when `monitor` has stopped improving (Keras 3 semantics).

    Args:
        monitor: Logged quantity to watch (default "val_loss").
        min_delta: Smallest change that counts as an improvement (default 0).
        patience: Epochs without improvement before stopping (default 0).
        verbose: 1 prints when it stops and when it restores weights.
        mode: "auto" (default), "min" or "max".
        baseline: A value the monitored quantity must beat; until it does, `wait` keeps
            counting from the first monitored epoch.
        restore_best_weights: At the end of training, set the weights of the best epoch.
        start_from_epoch: Epochs to wait before monitoring starts (warm-up).
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = None
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs or {})}",
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            say(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                say(
                    f"Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)


def _set_learning_rate_log(model, logs) -> None:
    if logs is not None:
        logs["learning_rate"] = float(model.optimizer.learning_rate)


class ReduceLROnPlateau(MonitorCallback):
    """Multiplies the learning rate by `factor` when `monitor` has not improved for
    `patience` epochs (Keras 3 semantics; adds "learning_rate" to the epoch logs).

    Args:
        monitor: Quantity to watch (default "val_loss").
        factor: New rate = rate * factor, factor < 1 (default 0.1).
        patience: Epochs without improvement before reducing (default 10).
        verbose: 1 prints every reduction.
        mode: "auto", "min" or "max".
        min_delta: Smallest change that counts as an improvement (default 1e-4).
        cooldown: Epochs to wait after a reduction before counting again.
        min_lr: Lower bound of the learning rate.
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)
        if kwargs:
            raise TypeError(f"Unexpected ReduceLROnPlateau argument(s): {', '.join(kwargs)}")
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        self.factor, self.min_lr, self.patience = factor, min_lr, patience
        self.verbose, self.cooldown = verbose, cooldown
        self.cooldown_counter = self.wait = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        _set_learning_rate_log(self.model, logs)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                f"which is not available. Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best, self.wait = current, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(self.model.optimizer.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        say(
                            f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                            f"to {new_lr}."
                        )
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch to `schedule(epoch, lr)` (or
    `schedule(epoch)`), and logs it as "learning_rate"."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # the one-argument form
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        optimizer.learning_rate = lr
        if self.verbose > 0:
            say(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        _set_learning_rate_log(self.model, logs)


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or inf (or raises RuntimeError
    with `raise_error=True`). It asks for batch events, so it costs a Python call per batch."""

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or Inf loss encountered at batch {batch}. "
                    f"Loss value: {loss}. Terminating training immediately."
                )
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`.
    Accepts any hook name as a keyword."""

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        hooks = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
            **kwargs,
        )
        for name, fn in hooks.items():
            if not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback got an unknown hook {name!r}")
            if fn is not None:
                setattr(self, name, fn)


def _csv_value(value):
    """Keras's CSV cell: a metric with several values (per class or threshold) as "[a, b]"."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Writes each epoch's logs as a CSV row (`epoch` then the sorted keys), flushed every
    epoch; `append=True` continues an existing file without repeating its header. Under MPI
    (eigennet.distributed) only rank 0 writes."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep, self.filename, self.append = separator, os.fspath(filename), append
        self.keys = self.writer = self.csv_file = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        if not is_primary():
            return
        mode = "w"
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")  # kept open for the whole run
        self.writer, self.keys = None, None

    def on_epoch_end(self, epoch, logs=None):
        if not is_primary():
            return
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            dialect = type("Dialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch", *self.keys], dialect=dialect
            )
            if self.append_header:
                self.writer.writeheader()
        self.writer.writerow(
            {"epoch": epoch, **{k: _csv_value(logs.get(k, "NA")) for k in self.keys}}
        )
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
