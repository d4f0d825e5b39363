"""Data-parallel runs of 2 ranks: weights per rank, and (rank 0) the single-process run whose
batches are the union of the ranks' batches."""

import numpy as np
from _common import data, dist, keras, mlp, save, weights_dict

dist.init()
ranks = dist.size()
EPOCHS, BATCH = 3, 16  # BATCH: union batch; each rank takes BATCH // ranks rows per step


def union_of_shards(a, per_rank):
    """Rows reordered so that batch j of one process holds batch j of every rank's shard."""
    shards = [a[r * len(a) // ranks : (r + 1) * len(a) // ranks] for r in range(ranks)]
    steps = len(shards[0]) // per_rank
    return np.concatenate(
        [s[j * per_rank : (j + 1) * per_rank] for j in range(steps) for s in shards]
    )


cases = {
    "sgd": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "sgd_clip": lambda: keras.optimizers.SGD(0.1, global_clipnorm=0.5),
    "adam_scaled": lambda: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01), 8.0, 4),
}
for floatx in ("float32", "float64"):
    keras.config.set_floatx(floatx)
    x, y = data()
    for name, make in cases.items():
        tag = f"{name}_{floatx}"
        optimizer = dist.DistributedOptimizer(make())
        model = mlp(optimizer)
        history = model.fit(
            dist.shard(x),
            dist.shard(y),
            batch_size=BATCH // ranks,
            epochs=EPOCHS,
            shuffle=False,
            verbose=0,
            callbacks=[dist.MetricAverage()],
        ).history
        steps = optimizer._averager.steps
        save(tag, **weights_dict(model), loss=np.array(history["loss"]), steps=np.array(steps))
        if dist.rank() == 0:
            alone = mlp(make())
            history = alone.fit(
                union_of_shards(x, BATCH // ranks),
                union_of_shards(y, BATCH // ranks),
                batch_size=BATCH,
                epochs=EPOCHS,
                shuffle=False,
                verbose=0,
            ).history
            save(f"{tag}_single", **weights_dict(alone), loss=np.array(history["loss"]))

# Shuffled, with dropout: the ranks see different rows and masks, yet hold the same weights.
keras.config.set_floatx("float32")
x, y = data()
model = mlp(dist.DistributedOptimizer("adam"), dropout=0.3)
model.fit(dist.shard(x), dist.shard(y), batch_size=8, epochs=2, verbose=0)
save("shuffled", **weights_dict(model))

# mixed_float16: compile wraps the distributed optimizer in a LossScaleOptimizer, which must
# still average every step's gradients (and take the same skip decisions on every rank).
keras.mixed_precision.set_global_policy("mixed_float16")
optimizer = dist.DistributedOptimizer(keras.optimizers.Adam(0.01))
model = mlp(optimizer)
assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
model.fit(dist.shard(x), dist.shard(y), batch_size=8, epochs=3, verbose=0, shuffle=False)
scale = np.array(model.optimizer.dynamic_scale)
save("mixed_float16", **weights_dict(model), steps=np.array(optimizer._averager.steps), scale=scale)
keras.mixed_precision.set_global_policy("float32")
