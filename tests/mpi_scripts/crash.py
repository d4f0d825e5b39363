"""Rank 1 fails before training while rank 0 waits in the first gradient allreduce: the job
must end with an error (MPI_Abort), not hang."""

from _common import data, dist, mlp

dist.init()
x, y = data()
model = mlp(dist.DistributedOptimizer("sgd"))
if dist.rank() == 1:
    raise RuntimeError("rank 1 failed on purpose")
model.fit(dist.shard(x), dist.shard(y), batch_size=8, epochs=50, verbose=0)
