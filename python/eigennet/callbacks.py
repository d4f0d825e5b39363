"""Callbacks: Keras's hooks around training, evaluation and prediction.

`fit` calls into Python only for the hooks a callback actually overrides, so callbacks
cost nothing when absent.
"""

from __future__ import annotations

from eigennet.utils.progbar import Progbar

_BATCH_HOOKS = (
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


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
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...


def _overrides(callback: Callback, hook: str) -> bool:
    return getattr(type(callback), hook, None) is not getattr(Callback, hook)


class CallbackList(Callback):
    """Dispatches every hook to a list of callbacks."""

    def __init__(self, callbacks, model, **params):
        super().__init__()
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
        self.model, self.params = model, params

    def wants(self, hook: str) -> bool:
        return any(_overrides(cb, hook) for cb in self.callbacks)

    def wants_batches(self, mode: str) -> bool:
        return self.wants(f"on_{mode}_batch_begin") or self.wants(f"on_{mode}_batch_end")

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

    def record(self, epochs, names, rows) -> None:
        """Appends many epochs at once (rows of values in `names` order)."""
        self.epoch.extend(epochs)
        if not rows:
            return
        for i, name in enumerate(names):
            self.history.setdefault(name, []).extend(float(row[i]) for row in rows)
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints a progress bar per epoch (verbose=1) or a line per epoch (verbose=2)."""

    def __init__(self):
        super().__init__()
        self._bar = None
        self._verbose, self._epochs = 1, 1

    def set_params(self, params):
        super().set_params(params)
        self._verbose = params.get("verbose", 1)
        self._epochs = params.get("epochs", 1)

    def _start(self, target):
        self._bar = Progbar(target=target, verbose=self._verbose, unit_name="step")

    def on_epoch_begin(self, epoch, logs=None):
        if self._verbose and self._epochs > 1:
            print(f"Epoch {epoch + 1}/{self._epochs}", flush=True)
        self._start(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        if self._verbose == 1:
            self._bar.update(batch + 1, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self._bar.update(self.params.get("steps") or 0, list((logs or {}).items()), finalize=True)

    def on_test_begin(self, logs=None):
        if self.model is not None and not getattr(self.model, "_in_fit", False):
            self._start(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if self._verbose == 1 and not getattr(self.model, "_in_fit", False):
            self._bar.update(batch + 1, list((logs or {}).items()), finalize=False)

    def on_test_end(self, logs=None):
        if not getattr(self.model, "_in_fit", False):
            self._bar.update(
                self.params.get("steps") or 0, list((logs or {}).items()), finalize=True
            )

    def on_predict_begin(self, logs=None):
        self._start(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        if self._verbose == 1:
            self._bar.update(batch + 1, finalize=False)

    def on_predict_end(self, logs=None):
        self._bar.update(self.params.get("steps") or 0, finalize=True)
