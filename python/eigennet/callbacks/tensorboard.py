"""keras.callbacks.TensorBoard, writing TensorBoard event files without TensorFlow
(the format is in `_event_file.py`)."""

from __future__ import annotations

import os
import time
import warnings

import numpy as np

from eigennet._rank import is_primary
from eigennet.callbacks import _event_file as ef
from eigennet.callbacks.core import Callback


class TensorBoard(Callback):
    """Logs for TensorBoard (`tensorboard --logdir=logs`), laid out as Keras 3 lays them
    out: `log_dir/train` and `log_dir/validation` event files with the scalars
    `epoch_<metric>` (step: the epoch) and `epoch_learning_rate`, the validation scalars
    `evaluation_<metric>_vs_iterations` (step: optimizer iterations), `batch_<metric>`
    every `update_freq` batches (step: batches since training began, from 1), weight
    histograms `<layer>/<weight>/histogram` every `histogram_freq` epochs, the model's graph
    (one node per layer) and its Keras config.

    Args:
        log_dir: Directory of the logs (created if needed).
        histogram_freq: Epochs between weight histograms (0: none).
        write_graph: Write the model's graph and config (at the start of training).
        write_images: Write the weights as images alongside the histograms.
        write_steps_per_second: Log training steps per second (`epoch_steps_per_second`,
            and `batch_steps_per_second` with batch updates).
        update_freq: "epoch", "batch" or an integer N: also log the batch logs every N
            batches. Batch logging costs a Python call per batch; "epoch" costs none.
        profile_batch: Must be 0: eigennet has no profiler to trace with.
        embeddings_freq: Must be 0: the embedding projector is not supported.
        embeddings_metadata: Ignored unless embeddings_freq (kept for Keras's signature).
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(
                f"TensorBoard histogram_freq must be a non-negative integer, got {histogram_freq!r}"
            )
        self.histogram_freq = histogram_freq
        self.write_graph, self.write_images = bool(write_graph), bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(
                'TensorBoard update_freq must be "epoch", "batch" or a positive integer, got '
                f"{update_freq!r}"
            )
        self.update_freq = update_freq
        if profile_batch not in (0, None, "0", (0, 0), [0, 0]):
            raise ValueError(
                f"TensorBoard profile_batch={profile_batch!r}: profiling is not supported by "
                "eigennet (there is no TensorFlow/JAX profiler to trace with); pass "
                "profile_batch=0"
            )
        if embeddings_freq:
            raise NotImplementedError(
                f"TensorBoard embeddings_freq={embeddings_freq!r}: the embedding projector is "
                "not supported by eigennet; pass embeddings_freq=0"
            )
        self.embeddings_freq, self.embeddings_metadata = embeddings_freq, embeddings_metadata
        if update_freq != "epoch":
            # Batch hooks as instance attributes: with update_freq="epoch" the callback has
            # none, so fit stays off the per-batch path (see CallbackList.wants_batches).
            self.on_train_batch_end = self._on_train_batch_end
        self._writers: dict[str, ef.EventFileWriter] = {}
        self._global_train_batch = 0
        self._epoch_start_time = self._last_batch_time = 0.0
        self._previous_epoch_iterations = 0

    # -- writers ------------------------------------------------------------------------
    @property
    def _train_dir(self) -> str:
        return os.path.join(self.log_dir, "train")

    @property
    def _val_dir(self) -> str:
        return os.path.join(self.log_dir, "validation")

    def _writer(self, which: str) -> ef.EventFileWriter | None:
        """The writer of "train" or "validation", opened on first use (None off rank 0)."""
        if not is_primary():
            return None
        writer = self._writers.get(which)
        if writer is None or writer.closed:
            writer = ef.EventFileWriter(self._train_dir if which == "train" else self._val_dir)
            self._writers[which] = writer
        return writer

    def _write(self, which: str, step: int, values: list[bytes]) -> None:
        writer = self._writer(which)
        if writer is not None and values:
            writer.add(ef.event(int(step), summary=ef.summary(*values)))

    def _scalars(self, which: str, step: int, logs: dict, prefix: str, suffix="") -> None:
        values = []
        for name, value in logs.items():
            scalar = _scalar(value)
            if scalar is not None:
                values.append(ef.scalar_value(f"{prefix}{name}{suffix}", scalar))
        self._write(which, step, values)

    def _flush(self) -> None:
        for writer in self._writers.values():
            writer.flush()

    def _close_writers(self) -> None:
        writers, self._writers = self._writers, {}
        for writer in writers.values():
            writer.close()

    # -- hooks --------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._close_writers()
        self._global_train_batch = 0
        self._previous_epoch_iterations = self._iterations()
        # Opens the train writer now: an unwritable log_dir fails before any training.
        writer = self._writer("train")
        if writer is not None and self.write_graph:
            self._write_graph(writer)
            writer.flush()

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start_time = self._last_batch_time = time.perf_counter()
        self._previous_epoch_iterations = self._iterations()

    def _on_train_batch_end(self, batch, logs=None):
        self._global_train_batch += 1
        now = time.perf_counter()
        elapsed, self._last_batch_time = now - self._last_batch_time, now
        if self._global_train_batch % self.update_freq:
            return
        logs = dict(logs or {})
        if self.write_steps_per_second and elapsed > 0:
            # The batches reach Python after the native step: the time since the previous
            # batch (or the epoch's start) is one step's time.
            logs["steps_per_second"] = 1.0 / elapsed
        self._scalars("train", self._global_train_batch, logs, "batch_")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        learning_rate = self._learning_rate()
        if learning_rate is not None:
            train["learning_rate"] = learning_rate
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._epoch_start_time
            steps = self._iterations() - self._previous_epoch_iterations
            train["steps_per_second"] = steps / seconds if seconds > 0 else 0.0
        self._scalars("train", epoch, train, "epoch_")
        if val:
            self._scalars("validation", epoch, val, "epoch_")
            # Keras's fit validates through evaluate(), whose on_test_end logs these.
            self._scalars("validation", self._iterations(), val, "evaluation_", "_vs_iterations")
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        self._flush()

    def on_test_end(self, logs=None):
        if getattr(self.model, "_in_fit", False) or not logs:
            return  # (validation within fit is logged at the epoch's end)
        self._scalars("validation", self._iterations(), logs, "evaluation_", "_vs_iterations")
        self._flush()

    # -- contents -----------------------------------------------------------------------
    def _iterations(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        return int(getattr(optimizer, "iterations", 0) or 0)

    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            return None
        return _scalar(optimizer.learning_rate)

    def _log_weights(self, epoch: int) -> None:
        values = []
        for layer in self.model.layers:
            for weight in getattr(layer, "weights", []):
                name = weight.path.replace(":", "_")
                array = np.asarray(weight)
                values.append(ef.histogram_value(f"{name}/histogram", array))
                if self.write_images:
                    values += _weight_images(f"{name}/image", array)
        self._write("train", epoch, values)

    def _write_graph(self, writer: ef.EventFileWriter) -> None:
        """The layers as a GraphDef (one node per layer, its inputs the layers it is called
        on), and, as Keras writes for functional and Sequential models, the model's JSON
        config under the tag "keras" for TensorBoard's conceptual graph."""
        try:
            config = self.model.get_config()
            text = self.model.to_json()
        except Exception as exc:  # a model that cannot serialize still trains
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {exc}", stacklevel=2)
            return
        writer.add(ef.event(0, graph_def=ef.graph_def(_graph_nodes(self.model, config))))
        if type(self.model).__name__ in ("Functional", "Sequential"):  # as Keras
            meta = ef.string_tensor_value("keras", text, "graph_keras_model", b"1")
            writer.add(ef.event(0, summary=ef.summary(meta)))


def _scalar(value):
    """A log value as a float, or None for what is not one number (per-class arrays)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(array) if array.size == 1 else None


def _histories(value) -> list[str]:
    """The names of the layers whose outputs a serialized call argument refers to."""
    if isinstance(value, dict):
        history = value.get("config", {}).get("keras_history") if "config" in value else None
        if value.get("class_name") == "__keras_tensor__" and history:
            return [history[0]]
        return [name for v in value.values() for name in _histories(v)]
    if isinstance(value, (list, tuple)):
        return [name for v in value for name in _histories(v)]
    return []


def _graph_nodes(model, config) -> list[tuple[str, str, list[str]]]:
    """(name, op, inputs) per layer: a functional model's edges from its config, a
    Sequential's from its order, none for a subclassed model."""
    entries = config.get("layers") if isinstance(config, dict) else None
    if entries and all("inbound_nodes" in e for e in entries):
        nodes = []
        for entry in entries:
            inputs = list(dict.fromkeys(_histories(entry["inbound_nodes"])))
            nodes.append((entry["name"], entry["class_name"], inputs))
        return nodes
    layers = list(getattr(model, "layers", []))
    if type(model).__name__ == "Sequential" and entries:
        names = [e.get("config", {}).get("name", f"layer_{i}") for i, e in enumerate(entries)]
        return [
            (name, e["class_name"], [names[i - 1]] if i else [])
            for i, (name, e) in enumerate(zip(names, entries))
        ]
    return [(layer.name, type(layer).__name__, []) for layer in layers]


def _weight_images(tag: str, weight: np.ndarray) -> list[bytes]:
    """A weight as images, as Keras's TensorBoard shapes them: a vector as a column, a
    matrix with its long side down, a 3-D kernel as one image per channel; values are
    clipped to [0, 1] (tf.summary.image of floats), at most 3 images."""
    w = np.squeeze(weight)
    if w.ndim == 1:
        w = w.reshape(1, w.shape[0], 1, 1)
    elif w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        w = w.reshape(1, *w.shape, 1)
    elif w.ndim == 3:
        w = np.transpose(w, (2, 0, 1))[..., None]
    if w.ndim != 4 or w.shape[-1] not in (1, 3, 4):
        return []
    pixels = np.clip(np.floor(w.astype(np.float64) * 255.5), 0, 255).astype(np.uint8)
    images = pixels[:3]
    if len(images) == 1:
        return [ef.image_value(tag, images[0])]
    return [ef.image_value(f"{tag}/{i}", image) for i, image in enumerate(images)]
