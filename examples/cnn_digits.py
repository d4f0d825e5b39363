"""A small convolutional network on handwritten digits (scikit-learn's bundled 8x8
``load_digits``, reshaped as 8x8x1 images) with eigennet.

Conv2D(16, 3, relu, same) -> MaxPooling2D -> Conv2D(32, 3, relu, same) -> MaxPooling2D ->
Flatten -> Dense(64, relu) -> Dense(10, softmax), trained with Adam on
sparse_categorical_crossentropy. Prints the test accuracy and exits with status 1 if it is
below 0.95.

    python examples/cnn_digits.py [--epochs 20] [--verbose 1]
"""

import argparse
import sys
import time

import numpy as np

import eigennet as keras

THRESHOLD = 0.95


def load_data(seed=0, test_fraction=0.25):
    from sklearn.datasets import load_digits

    digits = load_digits()
    # (n, 64) pixel values 0..16 -> (n, rows, cols, channels) images in [0, 1]
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def build_model():
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.002),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_data(seed=args.seed)
    model = build_model()
    model.summary()

    start = time.perf_counter()
    model.fit(
        x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose
    )
    train_seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"train samples: {len(x_train)}, test samples: {len(x_test)}")
    print(f"training time: {train_seconds:.2f} s")
    print(f"test loss: {loss:.4f}")
    print(f"test accuracy: {accuracy:.4f}")
    if accuracy < THRESHOLD:
        print(f"FAILED: test accuracy {accuracy:.4f} < {THRESHOLD}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
