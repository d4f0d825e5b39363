"""Starting every rank from the same state, and reporting the same numbers on every rank."""

from __future__ import annotations

import numbers

from eigennet.callbacks import Callback
from eigennet.distributed._comm import communicator


def _check_root(root) -> int:
    ranks = communicator().Get_size()
    if isinstance(root, bool) or not isinstance(root, int) or not 0 <= root < ranks:
        raise ValueError(f"root must be a rank between 0 and {ranks - 1}, got {root!r}")
    return root


def _agree(comm, root: int, mine, what: str):
    """Gathers `mine` from every rank and raises the same error on all of them when a rank
    differs from the root (so a mismatch never leaves a rank waiting)."""
    every = comm.allgather(mine)
    differ = [r for r, theirs in enumerate(every) if theirs != every[root]]
    if differ:
        raise ValueError(
            f"{what} differs between ranks: rank {root} has {every[root]}, rank {differ[0]} "
            f"has {every[differ[0]]}. Every rank must build the same model and optimizer."
        )
    return every[root]


def broadcast_weights(model, root: int = 0) -> None:
    """Overwrites the weights of `model` on every rank with those of rank `root` (in place,
    one broadcast per layer). Collective: call it on every rank."""
    if not hasattr(model, "_flat_layers"):
        raise TypeError(f"broadcast_weights() needs an eigennet model, got {type(model)}")
    comm, root = communicator(), _check_root(root)
    built = _agree(comm, root, bool(model.built), "Whether the model is built")
    if not built:
        raise ValueError(
            f"Model {model.name!r} is not built, so it has no weights to broadcast: call "
            "model.build(input_shape) first, or use the BroadcastInitialState callback"
        )
    owners = [owner for owner, _ in model._weight_owners()]
    blocks = [owner._params for owner in owners if owner._params is not None]
    _agree(comm, root, [(str(b.dtype), b.size) for b in blocks], "The model's weight layout")
    for block in blocks:
        comm.Bcast(block, root=root)
    for owner in owners:  # written from outside the training step (see write_values)
        if getattr(owner, "_core", None) is not None:
            owner._core.params_changed()


def _broadcast_optimizer_state(optimizer, root: int) -> None:
    comm = communicator()
    native = optimizer._native if optimizer is not None else None
    built = native is not None and native.built
    slots = [native.slot(i) for i in range(len(native.slot_names()))] if built else []
    _agree(comm, root, [(str(s.dtype), s.size) for s in slots], "The optimizer's state layout")
    if native is None:
        return
    iterations, learning_rate = comm.bcast(
        (native.iterations, float(optimizer.learning_rate)), root=root
    )
    native.iterations = iterations
    if optimizer._schedule is None:  # a schedule's rate follows from the iterations
        optimizer.learning_rate = learning_rate
    for slot in slots:
        comm.Bcast(slot, root=root)


def _broadcast_training_state(model, root: int) -> None:
    """Weights, optimizer state and the epoch a restored fit resumes at (BackupAndRestore)."""
    broadcast_weights(model, root)
    _broadcast_optimizer_state(model.optimizer, root)
    model._initial_epoch = communicator().bcast(model._initial_epoch, root=root)


class BroadcastInitialState(Callback):
    """At the start of training, sets every rank's weights and optimizer state (iteration
    count, learning rate, slots such as Adam's moments) to those of rank `root`.

    Ranks initialised differently (different seeds, or a checkpoint loaded on rank 0 only)
    then train as one model. Horovod's BroadcastGlobalVariablesCallback."""

    def __init__(self, root: int = 0):
        super().__init__()
        self.root = _check_root(root)

    def on_train_begin(self, logs=None):
        broadcast_weights(self.model, self.root)
        _broadcast_optimizer_state(self.model.optimizer, self.root)


class MetricAverage(Callback):
    """Replaces every number in the epoch logs with its mean over the ranks (in rank order,
    so every rank computes the same bits), so that all ranks report, record and decide on the
    same values. List it first in `callbacks`: the callbacks after it (EarlyStopping,
    CSVLogger, History, the progress bar) then see the averages. Horovod's
    MetricAverageCallback.

    Each rank's value is the mean over its own shard; the plain mean over ranks equals the
    value of the whole data set when the shards have equal sizes."""

    def __init__(self):
        super().__init__()
        self._comm = communicator()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or self._comm.Get_size() == 1:
            return
        mine = {k: float(v) for k, v in logs.items() if isinstance(v, numbers.Real)}
        every = self._comm.allgather(mine)
        keys = [sorted(theirs) for theirs in every]
        if any(k != keys[0] for k in keys):
            raise ValueError(f"MetricAverage: the ranks log different keys: {keys}")
        for key in mine:
            total = 0.0
            for theirs in every:
                total += theirs[key]
            logs[key] = total / len(every)
