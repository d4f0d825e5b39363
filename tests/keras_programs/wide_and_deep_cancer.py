"""Wide & Deep classification of scikit-learn's breast cancer data set.

Two named inputs: the standardized measurements (the wide, linear part) and the same
measurements cut into quantile buckets (integer ids embedded for the deep part). The two
parts are joined with `layers.concatenate`. Trained from a dict of inputs with early stopping,
evaluated, and predicted from a dict and from a list.
"""

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(7)

NUM_BUCKETS = 8  # quantile buckets per feature
BUCKETED_FEATURES = [0, 1, 2, 3, 6, 7, 20, 21, 22, 27]  # radius, texture, ..., concave points

# ## Data

data = load_breast_cancer()
x_train, x_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.3, random_state=0, stratify=data.target
)
scaler = StandardScaler().fit(x_train)
numeric_train = scaler.transform(x_train).astype("float32")
numeric_test = scaler.transform(x_test).astype("float32")

# Bucket boundaries from the training data only; feature i's buckets get ids
# i * NUM_BUCKETS ... i * NUM_BUCKETS + NUM_BUCKETS - 1, so that one Embedding serves them all.
quantiles = np.linspace(0, 1, NUM_BUCKETS + 1)[1:-1]
edges = [np.quantile(x_train[:, f], quantiles) for f in BUCKETED_FEATURES]


def bucketize(x):
    ids = [
        np.digitize(x[:, f], e) + i * NUM_BUCKETS
        for i, (f, e) in enumerate(zip(BUCKETED_FEATURES, edges))
    ]
    return np.stack(ids, axis=1).astype("int32")


buckets_train, buckets_test = bucketize(x_train), bucketize(x_test)
vocabulary_size = NUM_BUCKETS * len(BUCKETED_FEATURES)
assert buckets_train.max() < vocabulary_size

# ## Model


def create_wide_and_deep_model(hidden_units=(32, 16), dropout_rate=0.2):
    numeric = keras.Input(shape=(data.data.shape[1],), name="numeric")
    buckets = keras.Input(shape=(len(BUCKETED_FEATURES),), dtype="int32", name="buckets")

    wide = layers.BatchNormalization(name="wide_bn")(numeric)

    deep = layers.Embedding(vocabulary_size, 4, name="bucket_embedding")(buckets)
    deep = layers.Flatten()(deep)
    for units in hidden_units:
        deep = layers.Dense(units)(deep)
        deep = layers.BatchNormalization()(deep)
        deep = layers.ReLU()(deep)
        deep = layers.Dropout(dropout_rate)(deep)

    merged = layers.concatenate([wide, deep], name="wide_and_deep")
    outputs = layers.Dense(1, activation="sigmoid", name="malignant")(merged)
    return keras.Model(inputs=[numeric, buckets], outputs=outputs, name="wide_and_deep")


model = create_wide_and_deep_model()
model.summary()
assert model.get_layer("wide_and_deep").output.shape == (None, 30 + 16)
assert model.get_layer("bucket_embedding").output.shape == (None, len(BUCKETED_FEATURES), 4)
assert len(model.inputs) == 2

model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=0.005),
    loss=keras.losses.BinaryCrossentropy(),
    metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")],
)

history = model.fit(
    {"numeric": numeric_train, "buckets": buckets_train},
    y_train,
    batch_size=32,
    epochs=40,
    validation_split=0.15,
    callbacks=[
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    ],
    verbose=2,
)
losses = history.history["loss"]
assert losses[-1] < losses[0], losses
assert set(history.history) >= {"loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc"}

results = model.evaluate(
    {"numeric": numeric_test, "buckets": buckets_test}, y_test, verbose=0, return_dict=True
)
print("test:", results)
assert results["accuracy"] > 0.9, results
assert results["auc"] > 0.95, results

# Inputs can be given as a dict (by name) or as a list (in the order of model.inputs).
from_dict = model.predict({"numeric": numeric_test, "buckets": buckets_test}, verbose=0)
from_list = model.predict([numeric_test, buckets_test], verbose=0)
assert from_dict.shape == (len(y_test), 1)
np.testing.assert_allclose(from_dict, from_list, rtol=1e-6)
assert ((from_dict >= 0) & (from_dict <= 1)).all()
accuracy = np.mean((from_dict[:, 0] > 0.5) == y_test)
assert abs(accuracy - results["accuracy"]) < 1e-6

# The wide part alone (a model over one of the inputs) is a model too.
wide_only = keras.Model(model.get_layer("numeric").output, model.get_layer("wide_bn").output)
assert wide_only.predict(numeric_test[:4], verbose=0).shape == (4, 30)

print("OK")
