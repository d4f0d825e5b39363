"""Model: compile, fit, evaluate and predict over a native network.

Subclasses (Sequential) provide the structure: `build`, `_flat_layers`, `_network`,
`input_shape`, `output_shape`, `dtype`. Training runs in the native trainer; Python only
validates, converts once, and serves callbacks.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from eigennet import _core, _random, losses, optimizers
from eigennet import callbacks as callbacks_module
from eigennet import metrics as metrics_module
from eigennet.layers.layer import assign_all
from eigennet.models import data as data_utils
from eigennet.models import streaming
from eigennet.models.graph_builder import GraphBuilder
from eigennet.models.summary import print_summary


class Model:
    """Base of eigennet models (Keras's `Model` API over a layer stack)."""

    def __init__(self, name: str, trainable: bool = True):
        self.name = name
        self._trainable = bool(trainable)
        self._network = None
        self._trainer = None
        self._dtype = None
        self.optimizer = None
        self.loss = None
        self._loss_spec = None
        self._metric_ids: list = []
        self._metrics = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._in_fit = False
        self._compile_options: dict = {}
        # Set by BackupAndRestore in on_train_begin: the epoch fit resumes at (Keras's name).
        self._initial_epoch = None

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        """Sets the flag of the model and of every layer in it, as Keras 3 does. Training
        reads the flags at every step: a change needs no recompile."""
        self._trainable = bool(value)
        for layer in self._layers:
            layer.trainable = self._trainable

    # -- structure ---------------------------------------------------------------------
    def _flat_layers(self, parent_trainable: bool = True) -> list[tuple]:
        """Every leaf layer at each place it is called, with whether it trains there (it
        and all its containers are trainable): the native graph's nodes, in order."""
        builder = GraphBuilder(self._input_shapes())
        self._expand(builder, list(range(len(builder.input_shapes))), parent_trainable)
        return builder.places

    def _input_shapes(self) -> list[tuple]:
        return [self.input_shape]

    # -- weights -----------------------------------------------------------------------
    def _unique_layers(self) -> list[tuple]:
        """`_flat_layers()` with each layer once, at its first place (a layer used twice has
        one set of weights, as in Keras; the core's trainer follows the same rule)."""
        seen, unique = set(), []
        for layer, trains in self._flat_layers():
            if id(layer) not in seen:
                seen.add(id(layer))
                unique.append((layer, trains))
        return unique

    @property
    def weights(self) -> list:
        return [w for layer, _ in self._unique_layers() for w in layer.weights]

    @property
    def trainable_weights(self) -> list:
        return [
            w for layer, trains in self._unique_layers() if trains for w in layer.trainable_weights
        ]

    @property
    def non_trainable_weights(self) -> list:
        return [
            w
            for layer, trains in self._unique_layers()
            for w in (layer.non_trainable_weights if trains else layer.weights)
        ]

    @property
    def variables(self) -> list:
        return self.weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights, in Keras order (per layer: kernel, then bias)."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Sets all weights from a list like the one `get_weights` returns."""
        assign_all(f"Model {self.name!r}", self.weights, weights)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"Model {self.name!r} is not built yet: call build() or fit() first")
        return sum(layer.count_params() for layer, _ in self._unique_layers())

    def summary(self, print_fn=None) -> None:
        """Prints a table of the layers, output shapes and parameter counts."""
        print_summary(self, print_fn)

    # -- compile -----------------------------------------------------------------------
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        run_eagerly=False,
        steps_per_execution=1,
        jit_compile="auto",
        auto_scale_loss=True,
    ) -> None:
        """Configures the model for training.

        Args:
            optimizer: Name or optimizer instance (default "rmsprop", as Keras).
            loss: Name, function of `eigennet.losses` or loss instance.
            metrics: List of metric names ("accuracy", "mae", ...) or metric objects.
        The other Keras arguments are accepted; loss_weights and weighted_metrics are not
        supported for single-output models and must stay None.
        """
        if loss_weights is not None or weighted_metrics is not None:
            raise ValueError("loss_weights and weighted_metrics are not supported by eigennet yet")
        self.optimizer = optimizers.get(optimizer)
        self._loss_spec = None if loss is None else losses.spec_of(loss)
        self.loss = loss
        if metrics is None:
            metrics = []
        if isinstance(metrics, (str, metrics_module.Metric)) or callable(metrics):
            metrics = [metrics]
        self._metric_ids = list(metrics)
        for m in self._metric_ids:  # fail at compile on names that can never resolve
            metrics_module.check(m)
        self._metrics = None
        self._trainer = None
        self._compile_options = {
            "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile,
        }
        self.compiled = True

    @property
    def metrics_names(self) -> list[str]:
        names = ["loss"]
        if self._metrics is not None:
            names += metrics_module.unique_names([m.name for m in self._metrics])
        return names

    def _prepare(self, x, y=None, sample_weight=None, what: str = "x"):
        """Builds on first use and converts the arrays once."""
        if not self.built:
            arr = data_utils._numeric(x, what)
            if arr.ndim < 2:
                data_utils.as_features(arr, "float32", what)  # raises the rank error
            self.build((None, *arr.shape[1:]))
        x_arr = data_utils.as_features(x, self.dtype, what)
        if x_arr.shape[1:] != tuple(self.input_shape[1:]):
            raise ValueError(
                f"Model {self.name!r} expects inputs of shape {self.input_shape}, got "
                f"{(None, *x_arr.shape[1:])}"
            )
        self._flat_layers()[0][0]._check_input(x_arr, what)
        if y is None:
            return x_arr, None, None
        sparse = (
            self._loss_spec is not None
            and self._loss_spec.name == "sparse_categorical_crossentropy"
        )
        y_arr = data_utils.as_targets(y, len(x_arr), self.output_shape[1:], sparse, self.dtype)
        sw = data_utils.as_sample_weight(sample_weight, len(x_arr), self.dtype)
        return x_arr, y_arr, sw

    def _ensure_trainer(self, y_raw):
        if not self.compiled:
            raise RuntimeError("You must call `compile()` before training or evaluating the model")
        if self._loss_spec is None:
            raise ValueError("The model was compiled without a loss: pass loss=... to compile()")
        if self._trainer is None:
            y_shape = np.shape(y_raw)
            self._metrics = [
                metrics_module.resolve(m, y_shape, self.output_shape) for m in self._metric_ids
            ]
            flags = self._trainable_flags()
            self._trainer = getattr(_core, f"Trainer_{self.dtype}")(
                self._network,
                [self._loss_spec.core_config()],
                [1.0],
                self.optimizer._core_for(self.dtype),
                [(0, *m.native_spec()) for m in self._metrics],
                flags,
            )
            self.optimizer._built_for(self.trainable_weights)
            self.optimizer._attach_trainer(self._trainer)
        self._sync_trainable()
        return self._trainer

    def _trainable_flags(self) -> list[bool]:
        return [trains for _, trains in self._flat_layers()]

    def _sync_trainable(self) -> None:
        """Keras 3 reads `trainable` at every step: the trainer follows the flags."""
        flags = self._trainable_flags()
        if flags != self._trainer.trainable:
            self._trainer.trainable = flags  # the optimizer rejects weights it was not built for

    def _training_trainer(self, y_raw):
        trainer = self._ensure_trainer(y_raw)
        if not self.trainable_weights:
            warnings.warn("The model does not have any trainable weights.", stacklevel=3)
        return trainer

    def _log_values(self, values) -> list:
        """The native logs as one float (or per-class/threshold array) per metrics_names."""
        return metrics_module.log_values(values, self._metrics, self._trainer.metric_sizes())

    def _logs(self, values) -> dict:
        """Logs as Keras reports them: keys sorted by name."""
        return dict(sorted(zip(self.metrics_names, self._log_values(values))))

    # -- training ----------------------------------------------------------------------
    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
    ):
        """Trains the model for `epochs` epochs (Keras semantics: shuffles every epoch,
        the last partial batch included, the epoch loss is the batch-size-weighted mean of the
        batch losses). Returns a `History`.

        Supported: x, y, batch_size (default 32), epochs, verbose ("auto"=1, 0, 1, 2),
        callbacks, validation_split, validation_data, shuffle, class_weight, sample_weight,
        initial_epoch, validation_batch_size, validation_freq; steps_per_epoch and
        validation_steps for PyDatasets and generators. Memory-mapped arrays, PyDatasets
        and generators are streamed (see `eigennet.models.streaming`).
        """
        epochs = data_utils.positive_int(epochs, "epochs", allow_zero=True)
        initial_epoch = data_utils.positive_int(initial_epoch, "initial_epoch", allow_zero=True)
        batch_size = 32 if batch_size is None else data_utils.positive_int(batch_size, "batch_size")
        verbose = _verbosity(verbose)
        if streaming.handles(
            x,
            y,
            sample_weight,
            validation_data=validation_data,
            steps=(steps_per_epoch, validation_steps),
        ):  # memmaps, PyDatasets, generators: fed to the core in chunks
            return streaming.fit(
                self,
                x,
                y,
                batch_size=batch_size,
                epochs=epochs,
                verbose=verbose,
                callbacks=callbacks,
                validation_split=validation_split,
                validation_data=validation_data,
                shuffle=shuffle,
                class_weight=class_weight,
                sample_weight=sample_weight,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch,
                validation_steps=validation_steps,
                validation_batch_size=validation_batch_size,
                validation_freq=validation_freq,
            )
        if y is None:
            raise ValueError("fit() needs targets y")
        if not self.compiled:
            raise RuntimeError("You must call `compile()` before training the model")
        if not 0 <= float(validation_split) < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")

        if validation_split and validation_data is None:
            x_all, y_all = data_utils._numeric(x, "x"), data_utils._numeric(y, "y")
            if len(x_all) != len(y_all):
                raise ValueError(
                    f"x and y hold different numbers of samples: {len(x_all)} and {len(y_all)}"
                )
            split = int(math.floor(len(x_all) * (1.0 - float(validation_split))))
            if split == 0 or split == len(x_all):
                raise ValueError(
                    f"validation_split={validation_split} leaves no training or no "
                    f"validation samples out of {len(x_all)}"
                )
            sw_all = None if sample_weight is None else np.asarray(sample_weight)
            validation_data = (
                (x_all[split:], y_all[split:])
                if sw_all is None
                else (x_all[split:], y_all[split:], sw_all[split:])
            )
            x, y = x_all[:split], y_all[:split]
            sample_weight = None if sw_all is None else sw_all[:split]

        x_arr, y_arr, sw = self._prepare(x, y, sample_weight)
        sw = self._apply_class_weight(class_weight, y_arr, sw)
        trainer = self._training_trainer(y)
        val = None
        if validation_data is not None:
            val = self._validation_arrays(validation_data)

        steps = math.ceil(len(x_arr) / batch_size)
        history = callbacks_module.History()
        # Keras's order: the user's callbacks, then History, then the progress bar, so that
        # what a callback adds to the logs (e.g. learning_rate) is recorded and shown.
        cbs = [*(callbacks or []), history]
        if verbose:
            cbs.append(callbacks_module.ProgbarLogger())
        cb_list = callbacks_module.CallbackList(
            cbs, self, verbose=verbose, epochs=epochs, steps=steps
        )
        # Data-parallel training (eigennet.distributed): every rank must take the same steps
        # and stop together, so stop decisions become collective (at batches only when a
        # callback that may stop has batch hooks). None when training alone.
        quiet = (callbacks_module.ProgbarLogger,)  # never stops training
        sync = self.optimizer._fit_sync(steps, cb_list.wants_batches("train", ignore=quiet))
        seed = _random.next_seed()
        self.stop_training = False
        self._in_fit = True
        try:
            cb_list.on_train_begin()
            # BackupAndRestore may have restored a later epoch (used once, unlike Keras,
            # where it stays set for every later fit).
            initial_epoch, self._initial_epoch = self._initial_epoch or initial_epoch, None
            if sync is not None:
                sync.check_epochs(initial_epoch, epochs)
            python_epochs = (
                sync is not None
                or val is not None
                or any(not isinstance(cb, callbacks_module.History) for cb in cbs)
            )
            if not python_epochs:
                # Nothing in Python needs epoch events: every epoch runs in one native call.
                rows = trainer.fit(
                    x_arr, y_arr, sw, batch_size, initial_epoch, epochs, bool(shuffle), seed
                )
                history.record(
                    range(initial_epoch, initial_epoch + len(rows)),
                    self.metrics_names,
                    [self._log_values(row) for row in rows],
                )
                history.history = dict(sorted(history.history.items()))
            else:
                on_batch = None
                collective_stop = sync is not None and sync.may_stop_at_batches
                if cb_list.wants_batches("train") or collective_stop:

                    def on_batch(batch, values):
                        cb_list.on_train_batch_begin(batch)
                        cb_list.on_train_batch_end(batch, self._logs(values))
                        if collective_stop:
                            self.stop_training = sync.any(self.stop_training)
                        return self.stop_training

                for epoch in range(initial_epoch, epochs):
                    cb_list.on_epoch_begin(epoch)
                    rows = trainer.fit(
                        x_arr,
                        y_arr,
                        sw,
                        batch_size,
                        epoch,
                        epoch + 1,
                        bool(shuffle),
                        seed,
                        None,
                        on_batch,
                    )
                    logs = self._logs(rows[0])
                    if val is not None and (epoch + 1) % validation_freq == 0:
                        val_values = trainer.evaluate(*val, validation_batch_size or batch_size)
                        logs.update({f"val_{k}": v for k, v in self._logs(val_values).items()})
                    cb_list.on_epoch_end(epoch, logs)
                    if sync is not None:
                        self.stop_training = sync.any(self.stop_training)
                    if self.stop_training:
                        break
            cb_list.on_train_end()
        finally:
            self._in_fit = False
        history.params = {"verbose": verbose, "epochs": epochs, "steps": steps}
        self.history = history
        return history

    def _validation_arrays(self, validation_data):
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight)"
            )
        x_val, y_val, *rest = validation_data
        return self._prepare(x_val, y_val, rest[0] if rest else None, what="validation x")

    def _apply_class_weight(self, class_weight, y_arr, sw):
        if class_weight is None:
            return sw
        if not isinstance(class_weight, dict):
            raise TypeError("class_weight must be a dict {class index: weight}")
        labels = y_arr[:, 0] if y_arr.shape[1] == 1 else np.argmax(y_arr, axis=1)
        if y_arr.shape[1] == 1 and self.output_shape[-1] == 1:
            labels = np.round(labels)
        weights = np.ones(len(y_arr), dtype=y_arr.dtype)
        for cls, w in class_weight.items():
            weights[labels == cls] = w
        return weights if sw is None else sw * weights

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
    ):
        """Returns the loss (a float) when compiled without metrics, else the list
        [loss, metric...]; with return_dict=True a dict {name: value}."""
        batch_size = 32 if batch_size is None else data_utils.positive_int(batch_size, "batch_size")
        if streaming.handles(x, y, sample_weight, steps=(steps,)):
            return streaming.evaluate(
                self,
                x,
                y,
                batch_size=batch_size,
                verbose=_verbosity(verbose),
                sample_weight=sample_weight,
                steps=steps,
                callbacks=callbacks,
                return_dict=return_dict,
            )
        if not self.compiled:
            raise RuntimeError("You must call `compile()` before evaluating the model")
        if y is None:
            raise ValueError("evaluate() needs targets y")
        verbose = _verbosity(verbose)
        x_arr, y_arr, sw = self._prepare(x, y, sample_weight)
        trainer = self._ensure_trainer(y)
        steps = math.ceil(len(x_arr) / batch_size)
        cbs = list(callbacks or []) + ([callbacks_module.ProgbarLogger()] if verbose else [])
        cb_list = callbacks_module.CallbackList(cbs, self, verbose=verbose, epochs=1, steps=steps)
        on_batch = None
        if cb_list.wants_batches("test"):

            def on_batch(batch, values):
                cb_list.on_test_batch_begin(batch)
                cb_list.on_test_batch_end(batch, self._logs(values))
                return False

        cb_list.on_test_begin()
        logs = self._logs(trainer.evaluate(x_arr, y_arr, sw, batch_size, on_batch))
        cb_list.on_test_end(logs)
        return self._format_result(logs, return_dict)

    def _format_result(self, logs: dict, return_dict: bool):
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]  # Keras: loss, then compile order
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None) -> np.ndarray:
        """Returns the model's outputs for `x`, computed in batches (default 32)."""
        batch_size = 32 if batch_size is None else data_utils.positive_int(batch_size, "batch_size")
        verbose = _verbosity(verbose)
        if streaming.handles(x, steps=(steps,)):
            return streaming.predict(
                self, x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks
            )
        x_arr, _, _ = self._prepare(x)
        steps = math.ceil(len(x_arr) / batch_size)
        cbs = list(callbacks or []) + ([callbacks_module.ProgbarLogger()] if verbose else [])
        cb_list = callbacks_module.CallbackList(cbs, self, verbose=verbose, epochs=1, steps=steps)
        on_batch = None
        if cb_list.wants_batches("predict"):

            def on_batch(batch, _values):
                cb_list.on_predict_batch_begin(batch)
                cb_list.on_predict_batch_end(batch, {})
                return False

        cb_list.on_predict_begin()
        out = self._run_network(x_arr, batch_size, on_batch)
        cb_list.on_predict_end()
        return out

    def _run_network(self, x_arr, batch_size: int, on_batch=None, training=False) -> np.ndarray:
        out = np.empty((len(x_arr), *self.output_shape[1:]), dtype=self.dtype)
        self._network.predict(x_arr, batch_size, out, on_batch, bool(training))
        return out

    def __call__(self, x, training: bool = False) -> np.ndarray:
        """The outputs for a batch, as one NumPy array (no progress output). With
        training=True, training-mode layers are active (Dropout drops)."""
        x_arr, _, _ = self._prepare(x)
        return self._run_network(x_arr, len(x_arr), training=training)

    def predict_on_batch(self, x) -> np.ndarray:
        return self(x)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns that batch's loss (and metrics)."""
        x_arr, y_arr, sw = self._prepare(x, y, sample_weight)
        sw = self._apply_class_weight(class_weight, y_arr, sw)
        logs = self._logs(self._training_trainer(y).train_on_batch(x_arr, y_arr, sw))
        return self._format_result(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) of one batch, without training."""
        x_arr, y_arr, sw = self._prepare(x, y, sample_weight)
        logs = self._logs(self._ensure_trainer(y).test_on_batch(x_arr, y_arr, sw))
        return self._format_result(logs, return_dict)

    def _compute_gradients(self, x, y):
        """(loss, gradients of the trainable weights in get_weights order), no update."""
        x_arr, y_arr, _ = self._prepare(x, y)
        loss, flat = self._ensure_trainer(y).compute_gradients(x_arr, y_arr)
        grads, offset = [], 0
        for var in self.trainable_weights:
            size = int(np.prod(var.shape))
            grads.append(flat[offset : offset + size].reshape(var.shape))
            offset += size
        return float(loss), grads

    # -- saving (the work is in eigennet.saving) ----------------------------------------
    def save(self, filepath, overwrite: bool = True, zipped=None, **kwargs) -> None:
        """Saves the model as one `.keras` zip: config.json (architecture and compile
        config), metadata.json and model.weights.npz (weights, optimizer state, random
        state). Written to a temporary file then renamed: a crash never leaves a broken
        file. Load it with `eigennet.models.load_model`. Under MPI only rank 0 writes."""
        from eigennet.saving import saving_lib

        saving_lib.save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite: bool = True, max_shard_size=None) -> None:
        """Saves the weights, the optimizer state and the layers' random state to a
        `.weights.npz` file (Keras writes `.weights.h5`; eigennet has no HDF5 dependency).
        Under MPI only rank 0 writes."""
        from eigennet.saving import saving_lib

        saving_lib.save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch: bool = False, **kwargs) -> None:
        """Loads weights saved by `save_weights` (`.weights.npz`) or `save` (`.keras`); also
        Keras's `.weights.h5` when h5py is installed. The optimizer state is restored too
        when the model is compiled. All or nothing: a mismatch raises before any change."""
        from eigennet.saving import saving_lib

        saving_lib.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def to_json(self, **kwargs) -> str:
        """The model's serialized config (Keras form) as a JSON string; `kwargs` go to
        `json.dumps`. `eigennet.models.model_from_json` rebuilds the model (no weights)."""
        import json

        from eigennet.saving.serialization_lib import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    def get_build_config(self) -> dict | None:
        return {"input_shape": list(self.input_shape)} if self.built else None

    def build_from_config(self, config: dict) -> None:
        self.build(tuple(config["input_shape"]))

    def get_compile_config(self) -> dict | None:
        """What `compile` was given, in Keras's serialized form (None if not compiled)."""
        if not self.compiled:
            return None
        from eigennet.saving.serialization_lib import serialize_keras_object

        return {
            "optimizer": serialize_keras_object(self.optimizer),
            "loss": serialize_keras_object(self.loss),
            "loss_weights": None,
            "metrics": serialize_keras_object(self._metric_ids) if self._metric_ids else None,
            "weighted_metrics": None,
            **self._compile_options,
        }

    def compile_from_config(self, config: dict, build_optimizer: bool = True) -> None:
        """Compiles as `get_compile_config()` describes. As Keras, the optimizer is then
        built for the trainable weights (when the model is built)."""
        from eigennet.saving.serialization_lib import deserialize_keras_object

        known = (
            "optimizer",
            "loss",
            "loss_weights",
            "metrics",
            "weighted_metrics",
            "run_eagerly",
            "steps_per_execution",
            "jit_compile",
        )
        if not isinstance(config, dict):
            raise ValueError(f"A compile config must be a dict, got {type(config).__name__}")
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise ValueError(f"Unknown compile config key(s): {', '.join(unknown)}")
        args = dict(config)
        args["optimizer"] = deserialize_keras_object(config.get("optimizer"), "optimizers")
        args["loss"] = deserialize_keras_object(config.get("loss"), "losses")
        args["metrics"] = deserialize_keras_object(config.get("metrics"), "metrics")
        if args["optimizer"] is None:
            args.pop("optimizer")
        self.compile(**args)
        if build_optimizer and self.built and self.trainable_weights:
            self.optimizer.build(self.trainable_weights)


def _shared_dtype(places: list[tuple]) -> str:
    """The one dtype of a model's layers."""
    dtypes = {layer.dtype for layer, _ in places}
    if len(dtypes) > 1:
        raise ValueError(f"All layers of a model must share one dtype, got {sorted(dtypes)}")
    return dtypes.pop()


def _verbosity(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)
