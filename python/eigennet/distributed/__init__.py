"""Data-parallel training over MPI, Horovod's recipe on mpi4py.

Launch one process per share of the machine(s) with `mpiexec -n N python train.py`; every rank
runs the same script on its own shard of the data, and `DistributedOptimizer` averages the
gradients of every step across the ranks, so all ranks hold the same weights:

    import eigennet as keras
    import eigennet.distributed as dist

    dist.init()
    model.compile(optimizer=dist.DistributedOptimizer(keras.optimizers.Adam(1e-3 * dist.size())),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(dist.shard(x), dist.shard(y), batch_size=64,
              callbacks=[dist.MetricAverage(), dist.BroadcastInitialState()])

Needs the `mpi` extra (mpi4py and the MPICH wheel, which brings `mpiexec`).
"""

try:
    from mpi4py import MPI  # noqa: F401  (initialises MPI)
except ImportError as error:
    raise ImportError(
        "eigennet.distributed needs mpi4py and an MPI library. Install them with "
        '`pip install "eigennet[mpi]"` (mpi4py and the MPICH wheel, which provides '
        f"`mpiexec`). The import failed with: {error}"
    ) from error

from eigennet.distributed._comm import init, is_primary, rank, shard, size
from eigennet.distributed.callbacks import BroadcastInitialState, MetricAverage, broadcast_weights
from eigennet.distributed.optimizer import DistributedOptimizer

__all__ = [
    "BroadcastInitialState",
    "DistributedOptimizer",
    "MetricAverage",
    "broadcast_weights",
    "init",
    "is_primary",
    "rank",
    "shard",
    "size",
]
