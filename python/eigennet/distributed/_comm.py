"""The MPI job as eigennet sees it: ranks, eigennet's own communicator, threads, shards."""

from __future__ import annotations

import os
import sys
import time

from mpi4py import MPI

from eigennet import _core, config

_ABORT_GRACE_SECONDS = 0.5  # before MPI_Abort, for mpiexec to forward the traceback
_comm = None  # a duplicate of COMM_WORLD: eigennet's collectives never mix with the user's


def init() -> None:
    """Joins the MPI job. Collective: call it on every rank (at the top of the script);
    calling it again does nothing. The other functions that communicate call it themselves.

    - Gives this rank its share of the node's cores: (cores on the node) / (ranks on the
      node) threads, at least 1, unless `OMP_NUM_THREADS` is set or
      `eigennet.config.set_num_threads` was called (then that wins). Two ranks that each
      run two threads on two cores slow each other down several-fold.
    - With more than one rank, an uncaught exception on any rank aborts the whole job
      (`MPI_Abort`, as `python -m mpi4py` does) instead of leaving the other ranks waiting
      forever in a collective.
    """
    global _comm
    if _comm is not None:
        return
    _comm = MPI.COMM_WORLD.Dup()
    node = MPI.COMM_WORLD.Split_type(MPI.COMM_TYPE_SHARED)
    ranks_on_node = node.Get_size()
    node.Free()
    _default_threads(ranks_on_node)
    if _comm.Get_size() > 1:
        _abort_on_uncaught_exception()


def communicator() -> MPI.Comm:
    init()
    return _comm


def rank() -> int:
    """This process's rank in the job, 0 to size() - 1 (0 without mpiexec)."""
    return MPI.COMM_WORLD.Get_rank()


def size() -> int:
    """How many processes train together (1 without mpiexec)."""
    return MPI.COMM_WORLD.Get_size()


def is_primary() -> bool:
    """True on rank 0, the rank that prints progress and writes files."""
    return rank() == 0


def shard(array, drop_remainder: bool = False):
    """This rank's contiguous slice of `array` along its first axis: rows
    [rank * n // size, (rank + 1) * n // size), so shard sizes differ by at most one.

    A NumPy array gives a view (no copy); a `np.memmap` gives a memmap of the same file.
    With `drop_remainder=True` every rank gets n // size rows (the last n % size rows are
    left out): equal shards give every rank the same number of steps per epoch, which
    data-parallel `fit` requires.
    """
    if not hasattr(array, "__len__") or not hasattr(array, "__getitem__"):
        raise TypeError(f"shard() needs an array (or sequence) of samples, got {type(array)}")
    n, ranks, r = len(array), size(), rank()
    if n < ranks:
        raise ValueError(f"Cannot shard {n} samples over {ranks} ranks: every rank needs one")
    if drop_remainder:
        per_rank = n // ranks
        return array[r * per_rank : (r + 1) * per_rank]
    return array[r * n // ranks : (r + 1) * n // ranks]


def _default_threads(ranks_on_node: int) -> None:
    if ranks_on_node < 2 or config._THREADS_SET_BY_USER or os.environ.get("OMP_NUM_THREADS"):
        return
    cores = os.cpu_count() or 1
    # A rank pinned by the launcher can use the cores it is pinned to; an unpinned one shares.
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    _core.set_num_threads(max(1, min(usable, cores // ranks_on_node)))


def _abort_on_uncaught_exception() -> None:
    previous = sys.excepthook

    def abort(kind, value, traceback):
        previous(kind, value, traceback)
        sys.stderr.flush()
        # mpiexec forwards each rank's output from a pipe; Abort can kill the job before it has
        # read the traceback (seen under load: the user got no message). A short pause on this
        # failure path lets it arrive.
        time.sleep(_ABORT_GRACE_SECONDS)
        MPI.COMM_WORLD.Abort(1)

    sys.excepthook = abort
