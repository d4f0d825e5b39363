"""Progress output and files come from rank 0 only. Each rank's stdout goes to its own file."""

import os

from _common import OUT, data, dist, keras, mlp, save

out_file = open(os.path.join(OUT, f"stdout.rank{dist.rank()}.txt"), "w")
os.dup2(out_file.fileno(), 1)  # fd level: print and the progress bar both land here

from eigennet import _rank  # noqa: E402

dist.init()
x, y = data()
model = mlp(dist.DistributedOptimizer("sgd"))
csv_path = os.path.join(OUT, f"log.rank{dist.rank()}.csv")  # distinct paths reveal writers
model.fit(
    dist.shard(x),
    dist.shard(y),
    batch_size=8,
    epochs=2,
    verbose=1,
    callbacks=[
        dist.MetricAverage(),
        keras.callbacks.CSVLogger(csv_path),
        keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0, verbose=1),
    ],
)
model.fit(dist.shard(x), dist.shard(y), batch_size=8, epochs=1, verbose=2)
model.evaluate(x, y, verbose=1)

# Saving: per-rank paths again, so that a write by rank 1 would show.
rank = dist.rank()
checkpoint = keras.callbacks.ModelCheckpoint(
    os.path.join(OUT, f"ckpt.rank{rank}", "model-{epoch}.keras"), monitor="loss", verbose=1
)
model.fit(dist.shard(x), dist.shard(y), batch_size=8, epochs=2, verbose=0, callbacks=[checkpoint])
model.save(os.path.join(OUT, f"model.rank{rank}.keras"))
model.save_weights(os.path.join(OUT, f"model.rank{rank}.weights.npz"))

# BackupAndRestore with a folder per rank (as on machines without a shared file system):
# rank 0 backs up; a later fit resumes on every rank from rank 0's backup.
backup = keras.callbacks.BackupAndRestore(
    os.path.join(OUT, f"backup.rank{rank}"), delete_checkpoint=False
)
model.fit(dist.shard(x), dist.shard(y), batch_size=8, epochs=2, verbose=0, callbacks=[backup])
resumed = model.fit(
    dist.shard(x), dist.shard(y), batch_size=8, epochs=4, verbose=0, callbacks=[backup]
)
save(
    "writes",
    primary=_rank.is_primary(),
    public=dist.is_primary(),
    resumed_epochs=resumed.epoch,
    weights=float(sum(abs(w).sum() for w in model.get_weights())),
)
