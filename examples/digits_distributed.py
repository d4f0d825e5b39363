"""The digits classifier of examples/digits.py, trained data-parallel over MPI.

Every rank trains on its own shard of the training set; DistributedOptimizer averages the
gradients of every step over the ranks, so all ranks hold the same model. Rank 0 prints the
progress bar and the result. Needs the `mpi` extra (`pip install "eigennet[mpi]"`):

    mpiexec -n 2 python examples/digits_distributed.py [--epochs 30]
    python examples/digits_distributed.py              # one process works too
"""

import argparse
import sys

import eigennet as keras
import eigennet.distributed as dist
from digits import THRESHOLD, load_data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32, help="per rank")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    dist.init()  # one rank per core share: threads = cores on the node / ranks on the node
    (x_train, y_train), (x_test, y_test) = load_data(seed=0)
    model = keras.Sequential(
        [
            keras.Input(shape=(64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    # The effective batch is size() * batch_size: scale the learning rate with it.
    optimizer = keras.optimizers.Adam(learning_rate=0.001 * dist.size())
    model.compile(
        optimizer=dist.DistributedOptimizer(optimizer),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        dist.shard(x_train, drop_remainder=True),  # equal shards: equal steps on every rank
        dist.shard(y_train, drop_remainder=True),
        batch_size=args.batch_size,
        epochs=args.epochs,
        # Rank 0's initial weights everywhere (needed when ranks are not seeded alike), and
        # epoch logs averaged over the ranks (first, so the progress bar shows the averages).
        callbacks=[dist.MetricAverage(), dist.BroadcastInitialState()],
    )
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    if dist.is_primary():
        print(f"ranks: {dist.size()}, threads per rank: {keras.config.get_num_threads()}")
        print(f"test accuracy: {accuracy:.4f}")
    if accuracy < THRESHOLD:
        print(f"FAILED: test accuracy {accuracy:.4f} < {THRESHOLD}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
