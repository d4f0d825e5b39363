"""BackupAndRestore: resume an interrupted fit from its last backed-up epoch (Keras 3)."""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np

from eigennet._rank import distributed_job, is_primary
from eigennet.callbacks.core import Callback
from eigennet.callbacks.model_checkpoint import check_save_freq
from eigennet.saving.file_io import ArrayStore, LoadError, atomic_write, open_regular
from eigennet.saving.state import (
    TRAINING_METADATA,
    load_model_state,
    model_state,
    non_finite_entries,
)

EPOCH_KEY, BATCH_KEY = f"{TRAINING_METADATA}epoch", f"{TRAINING_METADATA}batch"


class BackupAndRestore(Callback):
    """Backs up the training state (weights, optimizer state, random streams, epoch) at the
    end of every epoch (or every `save_freq` batches) to `backup_dir`. When a fit with this
    callback starts and a backup exists, the state is restored and training resumes at the
    epoch after the last backed-up one. The backup is deleted when a fit completes.

    With `eigennet.utils.set_random_seed(s)` before each fit, a resumed fit continues
    bit-identically: the shuffling of an epoch depends only on the fit's seed and the epoch.

    Under MPI (eigennet.distributed) rank 0 writes, restores and deletes the backup, and
    sends the restored weights, optimizer state and epoch to the other ranks, so the folder
    need not be shared between machines.

    A backup is never replaced by a state holding NaN or inf (training diverged): the
    callback warns and keeps the last finite backup. A backup whose epoch is not an integer
    in 0..`epochs` of the resumed fit raises a ValueError before anything is restored (the
    backup is kept: fit again with more epochs to resume it, or delete `backup_dir`).

    Args:
        backup_dir: Folder for the backup; do not share it with other callbacks or runs.
        save_freq: "epoch", or an integer number of batches (a resumed fit restarts the
            epoch it was in, from the weights of the last backup, as Keras).
        double_checkpoint: Keep the previous backup too, and fall back to it when the
            latest cannot be loaded.
        delete_checkpoint: Delete `backup_dir` when training completes (default True).
    """

    def __init__(
        self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True
    ):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        check_save_freq(save_freq)
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        # One file holds the state and the epoch (Keras keeps the epoch in a second file,
        # which a crash between the two writes can leave out of step with the weights).
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.npz")
        self._prev_weights_path = self._weights_path + ".bkp"
        if save_freq != "epoch":  # batch events cost a Python call per batch: only then
            self.on_train_batch_end = self._on_train_batch_end

    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you "
                f"call `fit()`. Model {self.model.name!r} is unbuilt. You can build it "
                "beforehand by calling it on a batch of data."
            )
        if is_primary():
            self._restore()
        job = distributed_job()
        if job is not None:  # every rank resumes from rank 0's backup
            job.callbacks._broadcast_training_state(self.model, root=0)

    def _restore(self) -> None:
        try:
            self._load_model()
        except _EpochBeyondFit:
            raise  # a readable backup of a longer run: never replaced by the previous one
        except (OSError, ValueError):
            if not (self.double_checkpoint and os.path.exists(self._prev_weights_path)):
                raise
            # The latest backup is unreadable: fall back to the one before. Replaced by a
            # rename, so that a symlink in its place is replaced, not written through.
            with open_regular(self._prev_weights_path, "backup") as f:
                with atomic_write(self._weights_path) as out:
                    shutil.copyfileobj(f, out)
            self._load_model()

    def _load_model(self) -> None:
        path = self._weights_path
        if not os.path.exists(path):
            return
        # One read of the file for the epoch and the state; the epoch is checked before
        # the state is written, so a bad backup changes nothing.
        with open_regular(path, "backup") as f:
            store = ArrayStore.from_npz(f, path)
            try:
                epoch = self._backed_up_epoch(store) if EPOCH_KEY in store else None
                load_model_state(self.model, store, strict=True)
            finally:
                store.close()
        if epoch is not None:
            self.model._initial_epoch = epoch

    def _backed_up_epoch(self, store: ArrayStore) -> int:
        """The epoch to resume at: an integer in 0..epochs of this fit."""
        epoch = int(store.get(EPOCH_KEY, (), integer=True))  # integral: dtype checked
        if epoch < 0:
            raise LoadError(f"{store.source}: the backed-up epoch is {epoch} (negative)")
        epochs = self.params.get("epochs")
        if isinstance(epochs, int) and epoch > epochs:
            raise _EpochBeyondFit(
                f"{store.source}: the backup was taken after epoch {epoch}, but fit was asked "
                f"for {epochs} epochs: fit with epochs >= {epoch} to resume it, or delete "
                f"{self.backup_dir} to start over"
            )
        return epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_model()

    def _on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model()

    def _should_save_on_batch(self, batch) -> bool:
        if batch <= self._last_batch_seen:  # a new epoch: batches are zero-indexed
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save_model(self) -> None:
        if not is_primary():
            return
        bad = non_finite_entries(self.model)
        if bad:  # restoring it would resume a diverged run: keep the last finite backup
            warnings.warn(
                f"BackupAndRestore: the model's state holds NaN or inf ({', '.join(bad[:3])}"
                f"{', ...' if len(bad) > 3 else ''}) at epoch {self._current_epoch}; the "
                f"backup in {self.backup_dir} is not replaced",
                UserWarning,
                stacklevel=2,
            )
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            with open(self._weights_path, "rb") as f, atomic_write(self._prev_weights_path) as out:
                shutil.copyfileobj(f, out)
        state = model_state(self.model)
        state[EPOCH_KEY] = np.array(self._current_epoch, dtype=np.int64)
        state[BATCH_KEY] = np.array(self._last_batch_seen, dtype=np.int64)
        with atomic_write(self._weights_path) as f:
            np.savez(f, **state)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and is_primary() and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)


class _EpochBeyondFit(ValueError):
    """A readable backup from a fit of more epochs than the one resuming it."""
