"""Stop decisions taken on one rank only must stop every rank at the same place."""

import numpy as np
from _common import data, dist, keras, mlp, save

dist.init()
rank = dist.rank()
x, y = data(n=128)
xs, ys = dist.shard(x), dist.shard(y)
results = {}

# 1. Epoch level: rank 1 alone asks to stop at the end of epoch 1.
model = mlp(dist.DistributedOptimizer("sgd"))


def stop_at_epoch_1(epoch, logs):
    if epoch == 1:
        model.stop_training = True


callbacks = [keras.callbacks.LambdaCallback(on_epoch_end=stop_at_epoch_1)] if rank == 1 else []
history = model.fit(xs, ys, batch_size=8, epochs=6, verbose=0, callbacks=callbacks)
results["epoch_stop_epochs"] = len(history.history["loss"])
results["epoch_stop_steps"] = model.optimizer._averager.steps

# 2. Batch level: rank 1 alone stops at batch 2 of the first epoch; rank 0 has no batch hooks.
model = mlp(dist.DistributedOptimizer("sgd"))


def stop_at_batch_2(batch, logs):
    if batch == 2:
        model.stop_training = True


callbacks = [keras.callbacks.LambdaCallback(on_train_batch_end=stop_at_batch_2)] if rank else []
history = model.fit(xs, ys, batch_size=8, epochs=3, verbose=0, callbacks=callbacks)
results["batch_stop_epochs"] = len(history.history["loss"])
results["batch_stop_steps"] = model.optimizer._averager.steps
results["batch_stop_weights"] = float(sum(np.abs(w).sum() for w in model.get_weights()))

# 3. EarlyStopping on averaged logs: the same epoch everywhere.
model = mlp(dist.DistributedOptimizer(keras.optimizers.SGD(0.01)))
early = keras.callbacks.EarlyStopping(monitor="loss", min_delta=0.05, patience=1)
history = model.fit(
    xs, ys, batch_size=8, epochs=30, verbose=0, callbacks=[dist.MetricAverage(), early]
)
results["early_epochs"] = len(history.history["loss"])
results["early_stopped_epoch"] = early.stopped_epoch
results["early_loss"] = history.history["loss"]

# 4. Shards that give different step counts: a clear error on every rank, not a hang.
model = mlp(dist.DistributedOptimizer("sgd"))
uneven = x[: 64 + 8 * (1 - rank) + 1]  # rank 0: 73 rows (10 steps), rank 1: 65 (9 steps)
try:
    model.fit(uneven, y[: len(uneven)], batch_size=8, verbose=0)
    results["uneven_error"] = None
except ValueError as error:
    results["uneven_error"] = str(error)

# 5. Horovod's idiom: a progress bar on rank 0 only (batch hooks on one rank, none that stop).
model = mlp(dist.DistributedOptimizer("sgd"))
model.fit(xs, ys, batch_size=8, epochs=2, verbose=1 if rank == 0 else 0)
results["verbose_rank0_steps"] = model.optimizer._averager.steps
results["verbose_rank0_weights"] = float(sum(np.abs(w).sum() for w in model.get_weights()))

# 6. Different epochs on the ranks: a clear error on every rank, not a hang.
model = mlp(dist.DistributedOptimizer("sgd"))
try:
    model.fit(xs, ys, batch_size=8, epochs=2 + rank, verbose=0)
    results["epochs_error"] = None
except ValueError as error:
    results["epochs_error"] = str(error)

save("stopping", **results)
