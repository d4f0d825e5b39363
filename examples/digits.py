"""Handwritten digits (8x8 images from scikit-learn's bundled ``load_digits``) with eigennet.

A small dense network: 64 pixels -> Dense(64, relu) -> Dense(10, softmax), trained with Adam on
sparse_categorical_crossentropy. Prints the test accuracy and exits with status 1 if it is
below 0.95. ``--dtype-policy mixed_bfloat16`` trains with bfloat16 products (Keras's mixed
precision); ``--quantize int8`` also evaluates the trained model after
``model.quantize("int8")``.

    python examples/digits.py [--epochs 30] [--verbose 1] [--dtype-policy mixed_bfloat16]
                              [--quantize int8]
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
    x = (digits.data / 16.0).astype("float32")  # pixel values are 0..16
    y = digits.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def build_model():
    model = keras.Sequential(
        [
            keras.Input(shape=(64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype-policy", default=None, help='e.g. "mixed_bfloat16"')
    parser.add_argument("--quantize", choices=["int8"], default=None)
    args = parser.parse_args(argv)

    if args.dtype_policy:
        keras.mixed_precision.set_global_policy(args.dtype_policy)
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_data(seed=args.seed)
    model = build_model()

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
    if args.quantize:
        model.quantize(args.quantize)
        loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
        print(f"test accuracy after quantize({args.quantize!r}): {accuracy:.4f}")
    if accuracy < THRESHOLD:
        print(f"FAILED: test accuracy {accuracy:.4f} < {THRESHOLD}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
