"""A Wide & Deep classifier with two inputs (scikit-learn's bundled breast cancer data set),
built with the Functional API.

The wide input is a sparse one-hot vector: every measurement cut into quantile buckets. The deep
input is the standardized measurements, through Dense(32, relu) -> Dropout -> Dense(16, relu).
``layers.concatenate`` joins the raw wide vector and the deep features under one sigmoid unit:
a linear model over the buckets plus what the deep part learns. Trained with Adam on
binary_crossentropy from a dict of the two inputs; prints the test accuracy and AUC and exits
with status 1 if the accuracy is below 0.93.

    python examples/wide_and_deep.py [--epochs 30] [--verbose 1]
"""

import argparse
import sys
import time

import numpy as np

import eigennet as keras
from eigennet import layers

THRESHOLD = 0.93
NUM_BUCKETS = 5


def load_data(seed=0, test_fraction=0.25):
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x, y = data.data, data.target.astype("float32")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]

    # Statistics from the training samples only.
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    edges = np.quantile(x[train], np.linspace(0, 1, NUM_BUCKETS + 1)[1:-1], axis=0)

    def features(rows):
        deep = ((x[rows] - mean) / std).astype("float32")
        buckets = (x[rows][:, None, :] > edges[None, :, :]).sum(axis=1)  # 0..NUM_BUCKETS-1
        wide = np.eye(NUM_BUCKETS, dtype="float32")[buckets].reshape(len(rows), -1)
        return {"wide": wide, "deep": deep}

    return (features(train), y[train]), (features(test), y[test])


def build_model(num_features):
    wide_input = keras.Input(shape=(num_features * NUM_BUCKETS,), name="wide")
    deep_input = keras.Input(shape=(num_features,), name="deep")
    deep = layers.Dense(32, activation="relu")(deep_input)
    deep = layers.Dropout(0.2)(deep)
    deep = layers.Dense(16, activation="relu")(deep)
    merged = layers.concatenate([wide_input, deep], name="wide_and_deep")
    output = layers.Dense(1, activation="sigmoid", name="malignant")(merged)
    model = keras.Model(inputs=[wide_input, deep_input], outputs=output, name="wide_and_deep")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.003),
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_data(seed=args.seed)
    model = build_model(num_features=x_train["deep"].shape[1])
    model.summary()

    start = time.perf_counter()
    model.fit(
        x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose
    )
    train_seconds = time.perf_counter() - start
    loss, accuracy, auc = model.evaluate(x_test, y_test, verbose=0)
    print(f"train samples: {len(y_train)}, test samples: {len(y_test)}")
    print(f"training time: {train_seconds:.2f} s")
    print(f"test loss: {loss:.4f}")
    print(f"test auc: {auc:.4f}")
    print(f"test accuracy: {accuracy:.4f}")
    if accuracy < THRESHOLD:
        print(f"FAILED: test accuracy {accuracy:.4f} < {THRESHOLD}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
