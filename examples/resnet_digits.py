"""A small residual network on handwritten digits (scikit-learn's bundled 8x8 ``load_digits``,
as 8x8x1 images), built with the Functional API.

Conv2D(32) stem -> two residual blocks (Conv-BN-ReLU-Conv-BN, added to the block's input with
``layers.add``, then ReLU), the second after MaxPooling2D -> GlobalAveragePooling2D ->
Dense(10) logits, trained with Adam on SparseCategoricalCrossentropy(from_logits=True).
Prints the test accuracy and exits with status 1 if it is below 0.9.

    python examples/resnet_digits.py [--epochs 15] [--verbose 1]
"""

import argparse
import sys
import time

import numpy as np

import eigennet as keras
from eigennet import layers

THRESHOLD = 0.9


def load_data(seed=0, test_fraction=0.25):
    from sklearn.datasets import load_digits

    digits = load_digits()
    # (n, 8, 8) pixel values 0..16 -> (n, rows, cols, channels) images in [0, 1]
    x = (digits.images / 16.0).astype("float32")[..., None]
    y = digits.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def residual_block(x, filters, name):
    """Two 3x3 convolutions whose output is added to the block's input (same shape)."""
    shortcut = x
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    # momentum 0.9: the moving statistics settle within the few hundred steps of this run
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn1")(x)
    x = layers.ReLU(name=f"{name}_relu1")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn2")(x)
    x = layers.add([x, shortcut], name=f"{name}_add")
    return layers.ReLU(name=f"{name}_out")(x)


def build_model(filters=32):
    inputs = keras.Input(shape=(8, 8, 1), name="image")
    x = layers.Conv2D(filters, 3, padding="same", activation="relu", name="stem")(inputs)
    x = residual_block(x, filters, "block1")
    x = layers.MaxPooling2D(2, name="pool")(x)  # 8x8 -> 4x4
    x = residual_block(x, filters, "block2")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(10, name="logits")(x)
    model = keras.Model(inputs, outputs, name="resnet_digits")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.003),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
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
