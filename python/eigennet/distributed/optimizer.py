"""DistributedOptimizer: the wrapped optimizer, plus one allreduce of the gradients per step."""

from __future__ import annotations

import time

import numpy as np
from mpi4py import MPI

from eigennet import optimizers
from eigennet.distributed._comm import communicator

_CLASSES: dict = {}


class _GradientAverager:
    """The trainer's gradient hook: sums the flat gradient buffer over the ranks in place
    (one MPI_Allreduce, no copy) and divides by the number of ranks. Every rank ends with the
    same bits (MPICH's algorithms add the same operands on both partners of an exchange, or
    compute an element once and send it; the tests check it), so the optimizer steps keep the
    ranks' weights identical. It holds no reference to the trainer (the trainer holds it), so
    no reference cycle goes through the native object."""

    def __init__(self, comm: MPI.Comm):
        self.comm, self.ranks = comm, comm.Get_size()
        self.seconds, self.steps = 0.0, 0  # time spent communicating, for benchmarks

    def __call__(self, grads: np.ndarray) -> None:
        start = time.perf_counter()
        self.comm.Allreduce(MPI.IN_PLACE, grads, op=MPI.SUM)
        np.divide(grads, self.ranks, out=grads)  # exact for 2, 4, 8... ranks
        self.seconds += time.perf_counter() - start
        self.steps += 1


class _FitSync:
    """The collective decisions of one data-parallel fit(): every rank must run the same
    number of steps (each one allreduces), and a stop asked for by any rank stops all of
    them, so no rank is left waiting in a collective the others never reach."""

    def __init__(self, comm: MPI.Comm, steps: int, may_stop_at_batches: bool):
        self.comm = comm
        views = comm.allgather((int(steps), bool(may_stop_at_batches)))
        counts = [s for s, _ in views]
        if len(set(counts)) > 1:
            raise ValueError(
                "Data-parallel fit needs the same number of steps per epoch on every rank (each "
                f"step averages the gradients of all ranks); steps per epoch by rank: {counts}. "
                "Give every rank the same number of samples, e.g. with "
                "eigennet.distributed.shard(x, drop_remainder=True)."
            )
        # A callback on one rank may stop training mid-epoch: then every rank checks each batch.
        self.may_stop_at_batches = any(wants for _, wants in views)
        self._flag = np.zeros(1, dtype=np.int32)

    def check_epochs(self, initial_epoch: int, epochs: int) -> None:
        """After on_train_begin (BackupAndRestore may move the first epoch): every rank
        must run the same epochs."""
        views = self.comm.allgather((int(initial_epoch), int(epochs)))
        if len(set(views)) > 1:
            raise ValueError(
                "Data-parallel fit needs the same epochs on every rank; (initial_epoch, "
                f"epochs) by rank: {views}. Pass the same epochs and initial_epoch everywhere "
                "(BackupAndRestore sends rank 0's resume epoch to all ranks)."
            )

    def any(self, stop: bool) -> bool:
        """True on every rank when `stop` is true on at least one."""
        self._flag[0] = bool(stop)
        self.comm.Allreduce(MPI.IN_PLACE, self._flag, op=MPI.MAX)
        return bool(self._flag[0])


class _Averaging:
    """Mixed in front of an optimizer class: the hooks the base Optimizer leaves empty."""

    def _attach_trainer(self, trainer) -> None:
        if self._averager.ranks > 1:
            trainer.set_gradient_hook(self._averager)

    def _reduce_gradients(self, flat: np.ndarray) -> None:
        if self._averager.ranks > 1:
            self._averager(flat)

    def _fit_sync(self, steps: int, may_stop_at_batches: bool):
        if self._averager.ranks == 1:
            return None
        return _FitSync(self._averager.comm, steps, may_stop_at_batches)


def _averaging_class(cls: type) -> type:
    """Adam -> a subclass of Adam that averages; it keeps the name "Adam", so configs and
    saved files name the optimizer itself (Horovod does the same)."""
    if cls not in _CLASSES:
        _CLASSES[cls] = type(
            cls.__name__,
            (_Averaging, cls),
            {"__module__": cls.__module__, "__qualname__": cls.__qualname__},
        )
    return _CLASSES[cls]


def DistributedOptimizer(optimizer="rmsprop") -> optimizers.Optimizer:  # noqa: N802  (Horovod's name)
    """Wraps an optimizer (instance, class or name) for data-parallel training.

    At every training step, between backward and the update, the gradients are averaged
    over all ranks with one in-place allreduce of the model's flat gradient buffer; then the
    wrapped optimizer applies its rule (clipping and weight decay included) identically on
    every rank. `optimizer.apply(grads, variables)` averages too. The result is an instance
    of the wrapped optimizer's class and shares its state (learning rate, slots, iterations).

    The gradient is the mean over ranks of each rank's batch mean: with equal batches it is
    the gradient of the union of the ranks' batches, so the effective batch size is
    `size() * batch_size`; scale the learning rate accordingly (see the README). All ranks
    must run the same number of steps; fit() checks it at the start.
    """
    comm = communicator()
    optimizer = optimizers.get(optimizer)
    if isinstance(optimizer, _Averaging):
        return optimizer
    wrapped = object.__new__(_averaging_class(type(optimizer)))
    wrapped.__dict__ = optimizer.__dict__  # one state, whichever object the user keeps
    wrapped._averager = _GradientAverager(comm)
    return wrapped
