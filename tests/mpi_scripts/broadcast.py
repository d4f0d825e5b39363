"""Ranks initialised differently: BroadcastInitialState makes them one model; without it they
drift apart (the control)."""

import numpy as np
from _common import data, dist, keras, mlp, save, weights_dict

dist.init()
rank = dist.rank()
x, y = data()
xs, ys = dist.shard(x), dist.shard(y)

# Rank 0 "resumes": it has trained alone (Adam state: iterations and moments); rank 1 starts
# fresh from other initial weights and another learning rate.
if rank == 0:
    adam = keras.optimizers.Adam(0.01)
    model = mlp(adam, seed=1)
    model.fit(xs, ys, batch_size=8, epochs=1, verbose=0)
    model.compile(optimizer=dist.DistributedOptimizer(adam), loss="mse", metrics=["mae"])
else:
    model = mlp(dist.DistributedOptimizer(keras.optimizers.Adam(0.02)), seed=2)

seen = {}


def record(logs=None):
    opt = model.optimizer
    seen["iterations"] = opt.iterations
    seen["learning_rate"] = opt.learning_rate
    seen["moments"] = float(np.abs(opt._native.slot(0)).sum())
    seen["weights"] = float(sum(np.abs(w).sum() for w in model.get_weights()))


model.fit(
    xs,
    ys,
    batch_size=8,
    epochs=2,
    verbose=0,
    callbacks=[dist.BroadcastInitialState(), keras.callbacks.LambdaCallback(on_train_begin=record)],
)
save("broadcast", **weights_dict(model))
save("broadcast_begin", **seen)

control = mlp(dist.DistributedOptimizer("adam"), seed=10 + rank)
control.fit(xs, ys, batch_size=8, epochs=2, verbose=0)
save("control", **weights_dict(control))

# broadcast_weights by hand, on a built model.
direct = mlp("sgd", seed=20 + rank)
direct.build((None, x.shape[1]))
dist.broadcast_weights(direct, root=1)
save("direct", **weights_dict(direct))

# optimizer.apply (custom training loops) averages too: rank r's gradient is r + 1.
sgd = dist.DistributedOptimizer(keras.optimizers.SGD(learning_rate=1.0))
variable = np.zeros(3, dtype=np.float32)
sgd.apply([np.full(3, rank + 1.0, dtype=np.float32)], [variable])
save("apply", variable=variable)
