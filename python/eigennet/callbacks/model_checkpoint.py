"""ModelCheckpoint: saves the model (or its weights) during training, as Keras 3's."""

from __future__ import annotations

import os
import warnings

from eigennet._rank import is_primary, say
from eigennet.callbacks.core import MonitorCallback
from eigennet.saving.state import non_finite_entries

WEIGHTS_SUFFIXES = (".weights.h5", ".weights.npz")  # Keras's HDF5 (needs h5py), NumPy


def check_save_freq(save_freq) -> None:
    if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)):
        raise ValueError(
            f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or integer values"
        )


class ModelCheckpoint(MonitorCallback):
    """Saves the model or its weights at the end of every epoch, or every `save_freq`
    batches, optionally only when `monitor` improves. Under MPI (eigennet.distributed) only
    rank 0 writes and prints.

    Args:
        filepath: Where to save; may hold `{epoch}` (1-based) and any logged quantity,
            e.g. `"ckpt-{epoch:02d}-{val_loss:.2f}.keras"`. It must end in `.keras`, or with
            `save_weights_only=True` in `.weights.h5` (as Keras; needs h5py) or
            `.weights.npz` (NumPy, eigennet only).
        monitor: Quantity compared with `save_best_only` (default "val_loss").
        verbose: 1 prints a line each time the callback saves or skips.
        save_best_only: Save only when `monitor` improves on the best value so far.
        save_weights_only: `model.save_weights` instead of `model.save`.
        mode: "auto" (loss and errors go down, accuracies up), "min" or "max".
        save_freq: "epoch", or an integer number of batches (costs a Python call per batch).
        initial_value_threshold: The value `monitor` must beat for the first save.

    A state holding NaN or inf (training diverged) is not saved: the callback warns and a
    fixed `filepath` keeps the last finite checkpoint. (`model.save` and `save_weights`
    called directly save what they are given.)
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        check_save_freq(save_freq)
        if save_weights_only:
            if not self.filepath.endswith(WEIGHTS_SUFFIXES):
                raise ValueError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                    "provided must end in `.weights.h5` (or eigennet's NumPy `.weights.npz`). "
                    f"Received: filepath={self.filepath}"
                )
        elif not self.filepath.endswith(".keras"):
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras model format). "
                f"Received: filepath={self.filepath}"
            )
        if save_freq != "epoch":  # batch events cost a Python call per batch: only then
            self.on_train_batch_end = self._on_train_batch_end

    def _on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self._lower_is_better is None:  # as Keras: needs a direction even to save always
            self._set_direction()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch) -> bool:
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            add_batches = batch + 1  # a new epoch: batches are zero-indexed
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath) -> bool:
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                say(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                say(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            say(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch, batch, logs) -> None:
        filepath = self._get_file_path(epoch, batch, logs or {})
        # Every rank decides (and tracks the best value); under MPI only rank 0 writes.
        if not self._should_save_model(epoch, logs, filepath) or not is_primary():
            return
        if os.path.isdir(filepath):
            raise OSError(
                "Please specify a non-directory filepath for ModelCheckpoint. "
                f"Filepath used is an existing directory: {filepath}"
            )
        bad = non_finite_entries(self.model)
        if bad:  # never replace a good checkpoint with the state of a diverged run
            warnings.warn(
                f"ModelCheckpoint: the model's state holds NaN or inf ({', '.join(bad[:3])}"
                f"{', ...' if len(bad) > 3 else ''}) at epoch {epoch + 1}; not saving it to "
                f"{filepath}",
                UserWarning,
                stacklevel=3,
            )
            return
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            say(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch, batch, logs) -> str:
        """The filepath with `{epoch}` (1-based), `{batch}` and logged values filled in."""
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}'
            ) from None
