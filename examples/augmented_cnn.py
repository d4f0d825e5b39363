"""Image classification with data augmentation inside the model, in the style of keras-io's
"Image classification from scratch", on scikit-learn's bundled handwritten digits (8x8 pixels
valued 0..16, upsampled to 16x16x1) with eigennet.

The augmentation layers (RandomRotation, RandomZoom, RandomTranslation) and Rescaling are the
first layers of the model: they run natively per batch inside fit (seeded, drawing new
transforms at every batch) and are the identity in evaluate and predict. Prints the test
accuracy and exits with status 1 if it is below 0.9.

    python examples/augmented_cnn.py [--epochs 15] [--verbose 1]
"""

import argparse
import sys
import time

import numpy as np

import eigennet as keras

THRESHOLD = 0.9


def load_data(seed=0, test_fraction=0.25):
    from sklearn.datasets import load_digits

    digits = load_digits()
    # (n, 8, 8) values 0..16 -> (n, 16, 16, 1), each pixel repeated 2x2 (raw values: the
    # model rescales them).
    x = np.repeat(np.repeat(digits.images, 2, axis=1), 2, axis=2).astype("float32")[..., None]
    y = digits.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def build_model(input_shape=(16, 16, 1), num_classes=10):
    layers = keras.layers
    data_augmentation = keras.Sequential(
        [
            layers.RandomRotation(0.05, fill_mode="constant"),
            layers.RandomZoom(0.1, fill_mode="constant"),
            layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
        ],
        name="data_augmentation",
    )
    inputs = keras.Input(shape=input_shape)
    x = data_augmentation(inputs)
    x = layers.Rescaling(1.0 / 16)(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.003),
        loss="sparse_categorical_crossentropy",
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
    return 0 if accuracy >= THRESHOLD else 1


if __name__ == "__main__":
    sys.exit(main())
