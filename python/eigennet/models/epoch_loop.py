"""The one epoch loop of fit, evaluate and predict, over a data source (`sources.py`):
arrays in memory, memory-mapped arrays (`np.memmap`, `np.load(..., mmap_mode="r")`, views of
them), `eigennet.utils.PyDataset`s and Python generators.

Arrays in memory are one piece per epoch (one native call; with nothing in Python listening
to epochs, every epoch runs in a single native call). Streamed data comes in pieces, each one
native `Trainer.run_chunk` call (the core releases the GIL while it computes, so the next
piece is read and checked meanwhile in a background thread). Callbacks see the same events
and logs whatever the source.

Batch events reach Python only when a callback needs them: after every batch for a callback
with batch hooks, as progress reports (at most every PROGRESS_INTERVAL seconds, timed by the
native loop, and after the last batch of each pass) when only a progress bar shows them.
"""

from __future__ import annotations

import math
import types
import warnings

import numpy as np

from eigennet import _random
from eigennet import callbacks as callbacks_module
from eigennet._traced_metric import check_weights_accepted
from eigennet.models import data as data_utils
from eigennet.models.sources import (
    RAN_OUT_MESSAGE,
    ArraySource,
    GeneratorSource,
    MemorySource,
    PyDatasetSource,
)
from eigennet.models.stream_io import is_mapped
from eigennet.utils.py_dataset import PyDataset


def is_iterator(obj) -> bool:
    return isinstance(obj, types.GeneratorType) or (
        hasattr(obj, "__next__") and not isinstance(obj, np.ndarray)
    )


def is_streamed(obj) -> bool:
    return isinstance(obj, PyDataset) or is_iterator(obj) or is_mapped(obj)


def handles(*data, validation_data=None, steps=()) -> bool:
    """Whether these arguments of fit/evaluate/predict stream (are not arrays in memory)."""
    if isinstance(validation_data, (tuple, list)):
        data = (*data, *validation_data)
    elif validation_data is not None:
        data = (*data, validation_data)
    return any(s is not None for s in steps) or any(is_streamed(d) for d in data)


def _optional_steps(value, what: str):
    return None if value is None else data_utils.positive_int(value, what)


def _no_targets(y, sample_weight, kind: str) -> None:
    for name, value, described in (
        ("y", y, "the targets"),
        ("sample_weight", sample_weight, "the sample weights"),
    ):
        if value is not None:
            raise ValueError(
                f"When providing `x` as a {kind}, `{name}` should not be passed. Instead, "
                f"{described} should be included as part of the {kind}."
            )


def make_source(
    model,
    x,
    y=None,
    sample_weight=None,
    *,
    batch_size: int = 32,
    steps=None,
    class_weight=None,
    shuffle: bool = False,
    seed: int = 0,
    what: str = "x",
    predict: bool = False,
):
    """The source for one data argument; the model is built from it if needed."""
    needs_example = not model.built or (not predict and model._trainer is None)
    label = "" if what == "x" else f" ({what})"
    if isinstance(x, PyDataset):
        _no_targets(y, sample_weight, "PyDataset")
        source = PyDatasetSource(
            model, x, steps, class_weight, shuffle, seed, what=label, predict=predict
        )
    elif is_iterator(x):
        _no_targets(y, sample_weight, "generator")
        if class_weight is not None:
            raise ValueError(
                "Argument `class_weight` is not supported for Python generator inputs: "
                "yield (x, y, sample_weight) batches instead"
            )
        source = GeneratorSource(model, x, steps, what=label, predict=predict)
    else:
        if steps is not None:
            raise ValueError(
                "steps_per_epoch, validation_steps and steps apply to PyDatasets and "
                "generators; with arrays (in memory or memory-mapped) an epoch is one pass "
                "over the data: choose batch_size, or pass a slice of the arrays"
            )
        mapped = any(is_mapped(a) for a in (x, y, sample_weight) if a is not None)
        kind = ArraySource if mapped else MemorySource
        return kind(model, x, y, sample_weight, batch_size, class_weight, shuffle, what, predict)
    if needs_example:
        source.prepare_model()
    return source


def _switch(model, trainer, samples, where: str) -> None:
    """Points the model (and `trainer`, which must follow) at its graph for inputs of these
    sample shapes (None: they do not change)."""
    if samples is None:
        return
    model._use_input_shapes(samples)
    if model._trainer is not trainer:
        raise ValueError(
            f"{where}: for inputs of shapes {[(None, *s) for s in samples]} the model's "
            f"outputs have shapes {model._run_shapes}, unlike the earlier batches'; the "
            "batches of one fit() or evaluate() must give outputs of one shape (pad them to "
            "one length, or run the lengths in separate calls)"
        )


def _run_pass(
    model, trainer, source, learn: bool, epoch=0, seed=0, on_batch=None, report_every=0.0
) -> bool:
    """Runs one epoch's pieces through the trainer; True when a callback stopped it.
    on_batch runs after every batch, or as progress reports every `report_every` seconds."""
    _switch(model, trainer, source.samples, source.what)
    if isinstance(source, MemorySource):
        source.run(trainer, learn, epoch, seed, on_batch, report_every)
        return False  # a stop shows in model.stop_training
    step, stopped = 0, False
    with source.pieces(epoch, seed) as pieces:
        for piece in pieces:
            try:
                if piece.samples is not None:  # (batches of a PyDataset or generator)
                    _switch(model, trainer, piece.samples, source._where(piece.start))
                # x as a list: blocks of rows used in place (see ArraySource._fill).
                run = trainer.run_chunk_blocks if isinstance(piece.x, list) else trainer.run_chunk
                stopped = run(
                    piece.x,
                    piece.y,
                    piece.sample_weight,
                    piece.batch_size,
                    piece.shuffle,
                    piece.seed,
                    step,
                    learn,
                    on_batch,
                    report_every,
                )
            finally:
                piece.done()
            step += piece.batches
            if stopped:
                break
    source.end_epoch()
    return stopped


def _validation_source(model, validation_data, batch_size, steps):
    if isinstance(validation_data, PyDataset) or is_iterator(validation_data):
        vx, vy, vsw = validation_data, None, None
    elif isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        vx, vy, *rest = validation_data
        vsw = rest[0] if rest else None
        if vy is None:
            raise ValueError(
                "validation_data needs targets: (x_val, y_val) or (x_val, y_val, sample_weight)"
            )
    else:
        raise ValueError(
            "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight), "
            "a PyDataset or a generator"
        )
    return make_source(model, vx, vy, vsw, batch_size=batch_size, steps=steps, what="validation x")


def _evaluate_source(
    model, trainer, source, on_batch=None, what="validation", report_every=0.0
) -> dict:
    if not source.has_data():
        steps = "validation_steps" if what == "validation" else "steps"
        raise ValueError(
            f"The {what} generator ran out of data: pass {steps} and a generator that yields "
            f"at least {steps} batches per evaluation (an endless one), or a PyDataset"
        )
    if source.samples is not None:  # the trainer of its outputs' shapes
        model._use_input_shapes(source.samples)
        trainer = model._ensure_trainer(source.y_example)
    trainer.reset_metrics()
    _run_pass(model, trainer, source, learn=False, on_batch=on_batch, report_every=report_every)
    if source.ran_out:
        warnings.warn(RAN_OUT_MESSAGE, stacklevel=4)
    return model._logs(trainer.logs())


def _split(data, validation_split: float):
    """Keras's validation_split: the last fraction of the samples of every array (x, y and
    sample_weight, each one array or a list or dict of them); views, never copies."""
    x, y, sample_weight = data
    if isinstance(x, PyDataset) or is_iterator(x):
        raise ValueError(
            "validation_split is only supported for arrays (in memory or memory-mapped), not "
            "for PyDatasets or generators: pass validation_data instead"
        )

    def arrays(value, what):
        if isinstance(value, dict):
            return {k: arrays(v, f"{what}[{k!r}]") for k, v in value.items()}
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], np.ndarray):
            return [arrays(v, f"{what}[{i}]") for i, v in enumerate(value)]
        if value is None or is_mapped(value):
            return value
        return data_utils.rows_of(value, what)

    x, y, sample_weight = arrays(x, "x"), arrays(y, "y"), arrays(sample_weight, "sample_weight")
    counts = {len(a) for a in _leaves((x, y, sample_weight))}
    if len(counts) != 1:
        raise ValueError(
            f"x, y and sample_weight hold different numbers of samples: {sorted(counts)}"
        )
    n = counts.pop()
    split = int(math.floor(n * (1.0 - float(validation_split))))
    if split == 0 or split == n:
        raise ValueError(
            f"validation_split={validation_split} leaves no training or no validation "
            f"samples out of {n}"
        )

    def part(value, rows):
        if isinstance(value, dict):
            return {k: part(v, rows) for k, v in value.items()}
        if isinstance(value, list):
            return [part(v, rows) for v in value]
        return None if value is None else value[rows]

    train = tuple(part(a, slice(0, split)) for a in (x, y, sample_weight))
    val = tuple(part(a, slice(split, None)) for a in (x, y, sample_weight))
    return train, val if sample_weight is not None else val[:2]


def _leaves(value) -> list:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [] if value is None else [value]


def fit(
    model,
    x,
    y,
    *,
    batch_size,
    epochs,
    verbose,
    callbacks,
    validation_split,
    validation_data,
    shuffle,
    class_weight,
    sample_weight,
    initial_epoch,
    steps_per_epoch,
    validation_steps,
    validation_batch_size,
    validation_freq,
):
    """Model.fit (arguments already checked by Model.fit)."""
    if not model.compiled:
        raise RuntimeError("You must call `compile()` before training the model")
    y = targets_or_none(model, x, y, "fit")
    steps_per_epoch = _optional_steps(steps_per_epoch, "steps_per_epoch")
    validation_steps = _optional_steps(validation_steps, "validation_steps")
    if validation_split and validation_data is None:
        (x, y, sample_weight), validation_data = _split((x, y, sample_weight), validation_split)
    if is_iterator(x) and shuffle:
        warnings.warn(
            "`shuffle=True` was passed, but will be ignored since the data `x` was provided "
            "as a generator. The generator is expected to yield already-shuffled data.",
            stacklevel=3,
        )
    seed = _random.next_seed()
    sources = []
    try:
        train = make_source(
            model,
            x,
            y,
            sample_weight,
            batch_size=batch_size,
            steps=steps_per_epoch,
            class_weight=class_weight,
            shuffle=bool(shuffle),
            seed=seed,
        )
        sources.append(train)
        trainer = model._training_trainer(train.y_example)
        if sample_weight is not None or class_weight is not None:
            check_weights_accepted(model._metrics)
        val = None
        if validation_data is not None:
            val = _validation_source(
                model, validation_data, validation_batch_size or batch_size, validation_steps
            )
            sources.append(val)
        return _fit_epochs(
            model,
            trainer,
            train,
            val,
            epochs,
            initial_epoch,
            verbose,
            callbacks,
            validation_freq,
            seed,
        )
    finally:
        for source in sources:
            source.close()


def _fit_epochs(
    model, trainer, train, val, epochs, initial_epoch, verbose, callbacks, validation_freq, seed
):
    total_epochs = epochs
    history = callbacks_module.History()
    # Keras's order: the user's callbacks, then History, then the progress bar, so that what a
    # callback adds to the logs (e.g. learning_rate) is recorded and shown.
    cbs = [*(callbacks or []), history]
    if verbose:
        cbs.append(callbacks_module.ProgbarLogger())
    cb_list = callbacks_module.CallbackList(
        cbs, model, verbose=verbose, epochs=epochs, steps=train.steps
    )
    # Data-parallel training (eigennet.distributed), as in Model.fit: equal steps on every
    # rank, and stop decisions taken together. None when training alone.
    quiet = (callbacks_module.ProgbarLogger,)  # never stops training
    steps = -1 if train.steps is None else train.steps
    sync = model.optimizer._fit_sync(steps, cb_list.wants_batches("train", ignore=quiet))
    if sync is not None and train.steps is None:
        raise ValueError(
            "Data-parallel fit on a generator needs steps_per_epoch (every rank must run the "
            "same steps), and generators that yield at least steps_per_epoch * epochs batches"
        )
    collective_stop = sync is not None and sync.may_stop_at_batches
    interval = cb_list.batch_interval("train")
    if collective_stop:  # every rank takes part in every batch's decision
        interval = 0.0
    logs_of = _logs_function(model)
    on_batch = None
    if interval is not None:
        # The hooks of the callbacks that take batch events, bound once (the least Python
        # per report).
        takers = [cb for cb in cbs if cb._batch_interval("train") is not None]
        begins = [cb.on_train_batch_begin for cb in takers]
        ends = [cb.on_train_batch_end for cb in takers]

        def on_batch(batch, values):
            logs = logs_of(values)
            for begin in begins:
                begin(batch)
            for end in ends:
                end(batch, logs)
            if collective_stop:
                model.stop_training = sync.any(model.stop_training)
            return model.stop_training

    def together(flag: bool) -> bool:
        return flag if sync is None else sync.any(flag)

    model.stop_training = False
    model._in_fit = True
    try:
        cb_list.on_train_begin()
        # BackupAndRestore may have restored a later epoch (used once, as Model.fit).
        initial_epoch, model._initial_epoch = model._initial_epoch or initial_epoch, None
        if sync is not None:
            sync.check_epochs(initial_epoch, epochs)
        printers = [cb for cb in cbs if type(cb) is callbacks_module.ProgbarLogger]
        native_epochs = (
            isinstance(train, MemorySource)
            and sync is None
            and val is None
            and all(type(cb) is callbacks_module.History for cb in cbs if cb not in printers)
        )
        if native_epochs:
            # Nothing in Python acts on epoch events (History records them all at the end,
            # progress bars only print): every epoch runs in one native call.
            _switch(model, trainer, train.samples, "x")
            on_epoch = None
            if printers and initial_epoch < epochs:
                on_epoch = _printed_epochs(printers, logs_of, epochs)
                for printer in printers:
                    printer.on_epoch_begin(initial_epoch)
            try:  # rows: one row of native logs per epoch
                rows = trainer.fit(
                    train.x, train.y, train.sample_weight, train.batch_size, initial_epoch,
                    epochs, train.shuffle, seed, on_epoch, on_batch, interval or 0.0,
                )  # fmt: skip
            finally:  # the epochs' lines gathered so far, also when the fit stops on an error
                for printer in printers:
                    printer._flush(now=True)
            if _logs_are_native_values(model):  # the logs are the table's columns
                columns = rows.T.tolist()
            else:
                columns = list(zip(*(model._log_values(row) for row in rows)))
            history.record(
                range(initial_epoch, initial_epoch + len(rows)), model.metrics_names, columns
            )
            history.history = dict(sorted(history.history.items()))
            epochs = initial_epoch  # the loop below has nothing left to run
        for epoch in range(initial_epoch, epochs):
            if together(not train.has_data()):  # a generator ended at an epoch boundary
                warnings.warn(RAN_OUT_MESSAGE, stacklevel=3)
                break
            cb_list.on_epoch_begin(epoch)
            trainer.reset_metrics()
            _run_pass(model, trainer, train, True, epoch, seed, on_batch, interval or 0.0)
            logs = logs_of(trainer.logs())
            if train.ran_out:
                warnings.warn(RAN_OUT_MESSAGE, stacklevel=3)
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = _evaluate_source(model, trainer, val)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cb_list.on_epoch_end(epoch, logs)
            exhausted = train.ran_out and isinstance(train, GeneratorSource)
            model.stop_training = together(model.stop_training or exhausted)
            if model.stop_training:
                break
        cb_list.on_train_end()
    finally:
        model._in_fit = False
    history.params = {"verbose": verbose, "epochs": total_epochs, "steps": train.steps}
    model.history = history
    return history


def _logs_are_native_values(model) -> bool:
    """Whether every log is one float, in the names' order (the usual case): then the native
    values (Python floats) are the logs as they are, which halved the Python an epoch of a
    tiny fit takes to report."""
    logged, _, sizes = model._log_layout
    return (
        not logged
        and len(sizes) + 1 == len(model.metrics_names)
        and all(size == 1 for size in sizes)
    )


def _logs_function(model):
    """model._logs with the names of the logs read once (they do not change during a fit)."""
    names = model.metrics_names
    values_of = None if _logs_are_native_values(model) else model._log_values
    if names == sorted(names):
        if values_of is None:
            return lambda values: dict(zip(names, values))
        return lambda values: dict(zip(names, values_of(values)))
    if values_of is None:
        return lambda values: dict(sorted(zip(names, values)))
    return lambda values: dict(sorted(zip(names, values_of(values))))


def _printed_epochs(printers, logs_of, epochs):
    """The native fit's epoch callback when only progress bars (`printers`) watch epochs: the
    end of the epoch, then the start of the next, the least Python per epoch. (The native
    loop leaves an epoch's last batch to this callback; the epoch's final line shows it.)"""
    ends = [printer.on_epoch_end for printer in printers]
    ends_and_begins = [printer.end_and_begin for printer in printers]

    def on_epoch(epoch, values):
        logs = logs_of(values)
        for end in ends_and_begins if epoch + 1 < epochs else ends:
            end(epoch, logs)
        return False

    return on_epoch


def targets_or_none(model, x, y, what: str):
    """y, or for arrays without y the empty targets of a model that trains on its add_loss
    terms alone (compiled without a loss); ValueError when the model needs targets."""
    if y is not None or isinstance(x, PyDataset) or is_iterator(x):
        return y
    if model.compiled and all(spec is None for spec in model._output_losses()):
        model._prepare(x, switch=False)  # builds the model's graph: are there add_loss terms?
        if model._takes_no_targets():
            return model._no_targets(len(model._input_list(x, "x")[0]))
    raise ValueError(f"{what}() needs targets y")


def evaluate(model, x, y, *, batch_size, verbose, sample_weight, steps, callbacks, return_dict):
    """Model.evaluate."""
    if not model.compiled:
        raise RuntimeError("You must call `compile()` before evaluating the model")
    y = targets_or_none(model, x, y, "evaluate")
    steps = _optional_steps(steps, "steps")
    source = make_source(model, x, y, sample_weight, batch_size=batch_size, steps=steps)
    try:
        trainer = model._ensure_trainer(source.y_example)
        if sample_weight is not None:
            check_weights_accepted(model._metrics)
        cbs = list(callbacks or []) + ([callbacks_module.ProgbarLogger()] if verbose else [])
        cb_list = callbacks_module.CallbackList(
            cbs, model, verbose=verbose, epochs=1, steps=source.steps
        )
        interval = cb_list.batch_interval("test")
        on_batch = None
        if interval is not None:

            def on_batch(batch, values):
                cb_list.on_test_batch_begin(batch)
                cb_list.on_test_batch_end(batch, model._logs(values))
                return False

        cb_list.on_test_begin()
        logs = _evaluate_source(model, trainer, source, on_batch, "evaluation", interval or 0.0)
        cb_list.on_test_end(logs)
    finally:
        source.close()
    return model._format_result(logs, return_dict)


def predict(model, x, *, batch_size, verbose, steps, callbacks) -> np.ndarray:
    """Model.predict; the outputs are returned in memory."""
    steps = _optional_steps(steps, "steps")
    source = make_source(model, x, batch_size=batch_size, steps=steps, predict=True)
    try:
        cbs = list(callbacks or []) + ([callbacks_module.ProgbarLogger()] if verbose else [])
        cb_list = callbacks_module.CallbackList(
            cbs, model, verbose=verbose, epochs=1, steps=source.steps
        )
        interval = cb_list.batch_interval("predict")
        cb_list.on_predict_begin()
        out = _predict_pieces(model, source, interval is not None and cb_list, interval or 0.0)
        cb_list.on_predict_end()
    finally:
        source.close()
    return out


def _predict_batch_logs(outputs) -> dict:
    """A predict batch's logs as Keras gives them: {"outputs": the batch's outputs}, or for a
    dict of outputs that dict itself (Keras flattens nested logs)."""
    return dict(outputs) if isinstance(outputs, dict) else {"outputs": outputs}


def _predict_pieces(model, source, cb_list, report_every) -> np.ndarray:
    if isinstance(source, MemorySource):
        on_batch = None
        if cb_list:

            def on_batch(batch, outputs):
                cb_list.on_predict_batch_begin(batch)
                cb_list.on_predict_batch_end(batch, _predict_batch_logs(outputs))
                return False

        model._use_input_shapes(source.samples)
        return model._run_network(source.x, source.batch_size, on_batch, False, report_every)
    whole = None
    if isinstance(source, ArraySource):  # rows land in place in one output array
        whole = np.empty((source.n, *model._run_shapes[0][1:]), dtype=model._native_dtype)
    parts, step = [], 0
    with source.pieces() as pieces:
        for piece in pieces:
            try:
                on_batch = None
                if cb_list:

                    def on_batch(batch, outputs, first=step):
                        cb_list.on_predict_batch_begin(first + batch)
                        cb_list.on_predict_batch_end(first + batch, _predict_batch_logs(outputs))
                        return False

                if piece.samples is not None:
                    model._use_input_shapes(piece.samples)
                if whole is not None:
                    out = whole[piece.start : piece.start + len(piece.x)]
                    model._network.predict(
                        piece.x,
                        piece.batch_size,
                        out,
                        model._batch_outputs_callback(on_batch, out, piece.batch_size),
                        False,
                        report_every,
                    )
                else:  # one array, or a list/dict for several outputs
                    parts.append(
                        model._run_network(piece.x, piece.batch_size, on_batch, False, report_every)
                    )
            finally:
                piece.done()
            step += piece.batches
    source.end_epoch()
    if whole is not None:
        return whole
    if not parts:
        raise ValueError("predict() got no batches: the generator yielded nothing")
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if isinstance(parts[0], list):
        return [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]
    return np.concatenate(parts)
