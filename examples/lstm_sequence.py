"""An LSTM learns the "adding problem" (Hochreiter & Schmidhuber 1997) with eigennet.

Each sample is a sequence of ``--steps`` pairs (value, marker): values are uniform in [0, 1),
and exactly two markers are 1. The target is the sum of the two marked values, wherever they
are, so the network must remember what it saw many steps earlier. A model that ignores the
markers can do no better than predicting the mean, 1.0, with mean squared error 1/6 ~ 0.167.

    Input(steps, 2) -> LSTM(32) -> Dense(1), MSE, Adam

Prints the test mean squared error next to that baseline and exits with status 1 unless the
error is below a tenth of it.

    python examples/lstm_sequence.py [--steps 20] [--samples 6000] [--epochs 20]
"""

import argparse
import sys
import time

import numpy as np

import eigennet as keras

BASELINE_MSE = 1.0 / 6.0  # variance of the sum of two uniform values


def make_data(samples, steps, rng):
    values = rng.uniform(0.0, 1.0, size=(samples, steps))
    markers = np.zeros((samples, steps))
    for i in range(samples):
        markers[i, rng.choice(steps, size=2, replace=False)] = 1.0
    x = np.stack([values, markers], axis=-1).astype("float32")
    y = (values * markers).sum(axis=1, keepdims=True).astype("float32")
    return x, y


def build_model(steps, units):
    model = keras.Sequential(
        [
            keras.Input(shape=(steps, 2)),
            keras.layers.LSTM(units),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005), loss="mse")
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x_train, y_train = make_data(args.samples, args.steps, rng)
    x_test, y_test = make_data(max(1, args.samples // 5), args.steps, rng)
    model = build_model(args.steps, args.units)

    start = time.perf_counter()
    model.fit(
        x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose
    )
    train_seconds = time.perf_counter() - start
    mse = model.evaluate(x_test, y_test, verbose=0)
    sample = model.predict(x_test[:3], verbose=0).ravel()
    print(f"train samples: {len(x_train)}, test samples: {len(x_test)}, steps: {args.steps}")
    print(f"training time: {train_seconds:.2f} s")
    for predicted, target in zip(sample, y_test[:3, 0]):
        print(f"  sum of the marked values: {target:.3f}, predicted: {predicted:.3f}")
    print(f"baseline mse (predict the mean): {BASELINE_MSE:.4f}")
    print(f"test mse: {mse:.4f}")
    if mse >= 0.1 * BASELINE_MSE:
        print(f"FAILED: test mse {mse:.4f} is not below a tenth of the baseline", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
