"""Training and evaluation with the built-in methods, in the style of Keras's guide, on
scikit-learn's digits.

A custom loss (a function, and a `Loss` subclass with its config), a custom `Metric` subclass
written with `keras.ops`, a layer adding its own loss with `add_loss`, a learning-rate
schedule, sample and class weights, two outputs with a loss and weight per output, and a
checkpoint per epoch whose file loads back with the custom objects.
"""

import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(7)

digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target.astype("int64")
x_train, y_train, x_val, y_val = x[:1300], y[:1300], x[1300:], y[1300:]


def get_uncompiled_model():
    inputs = keras.Input(shape=(64,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


# ## A custom metric: how many samples were correctly classified as a given class


@keras.saving.register_keras_serializable(package="guide")
class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            values = ops.multiply(values, ops.reshape(sample_weight, (-1, 1)))
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0.0)


model = get_uncompiled_model()
model.compile(
    optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=[CategoricalTruePositives(), keras.metrics.SparseCategoricalAccuracy(name="acc")],
)
history = model.fit(x_train, y_train[:, None], batch_size=64, epochs=3, verbose=0)
print("true positives per epoch", history.history["categorical_true_positives"])
assert sorted(history.history) == ["acc", "categorical_true_positives", "loss"]
# The metric counts the samples its argmax gets right over the epoch: accuracy times samples.
np.testing.assert_allclose(
    history.history["categorical_true_positives"],
    np.array(history.history["acc"]) * len(x_train),
    rtol=1e-5,
)

# ## Custom losses: a function, and a subclass with a parameter and a config


def custom_mean_squared_error(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


@keras.saving.register_keras_serializable(package="guide")
class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor

    def get_config(self):
        return {"regularization_factor": self.regularization_factor, "name": self.name}


y_train_one_hot = np.eye(10, dtype="float32")[y_train]
for loss in (custom_mean_squared_error, CustomMSE()):
    model = get_uncompiled_model()
    model.compile(optimizer="adam", loss=loss)
    losses = model.fit(x_train, y_train_one_hot, batch_size=64, epochs=3, verbose=0).history["loss"]
    assert losses[-1] < losses[0], losses

# ## A layer adding a loss of its own (an activity penalty)


class ActivityRegularizationLayer(layers.Layer):
    def call(self, inputs):
        self.add_loss(1e-2 * ops.sum(inputs))
        return inputs


inputs = keras.Input(shape=(64,), name="digits")
h = layers.Dense(64, activation="relu")(inputs)
h = ActivityRegularizationLayer()(h)
outputs = layers.Dense(10, name="predictions")(h)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(
    optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
)
with_penalty = model.evaluate(x_val, y_val, verbose=0)
plain = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
    y_val, model.predict(x_val, verbose=0)
)
hidden = keras.Model(inputs, h).predict(x_val, verbose=0)
# The penalty is the sum over a batch of 32 (evaluate's default), averaged over the batches by
# their sizes, as the loss is.
starts = range(0, len(x_val), 32)
penalties = [1e-2 * hidden[i : i + 32].sum() for i in starts]
sizes = [len(hidden[i : i + 32]) for i in starts]
np.testing.assert_allclose(
    with_penalty, float(plain) + np.average(penalties, weights=sizes), rtol=1e-4
)
model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)

# ## Class weights, sample weights and a learning-rate schedule

lr_schedule = keras.optimizers.schedules.ExponentialDecay(
    initial_learning_rate=0.01, decay_steps=20, decay_rate=0.9, staircase=True
)
model = get_uncompiled_model()
model.compile(
    optimizer=keras.optimizers.RMSprop(learning_rate=lr_schedule),
    loss="sparse_categorical_crossentropy",
    metrics=["sparse_categorical_accuracy"],
)
class_weight = {i: 1.0 for i in range(10)}
class_weight[5] = 2.0  # twice the weight for class 5
model.fit(x_train, y_train, class_weight=class_weight, batch_size=64, epochs=2, verbose=0)
assert int(model.optimizer.iterations) == 2 * 21
np.testing.assert_allclose(
    float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)), 0.01 * 0.9**2, rtol=1e-6
)
sample_weight = np.ones(len(y_train), dtype="float32")
sample_weight[y_train == 5] = 2.0
model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64, epochs=1, verbose=0)

# ## Two outputs: a loss, a weight and metrics per output

image_input = keras.Input(shape=(8, 8, 1), name="img_input")
features_input = keras.Input(shape=(4,), name="features_input")
x1 = layers.Conv2D(3, 3)(image_input)
x1 = layers.GlobalMaxPooling2D()(x1)
x2 = layers.Dense(8, activation="relu")(features_input)
x = layers.concatenate([x1, x2])
score_output = layers.Dense(1, name="score_output")(x)
class_output = layers.Dense(10, name="class_output")(x)
model = keras.Model(inputs=[image_input, features_input], outputs=[score_output, class_output])
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "score_output": keras.losses.MeanSquaredError(),
        "class_output": keras.losses.CategoricalCrossentropy(from_logits=True),
    },
    metrics={
        "score_output": [keras.metrics.MeanAbsolutePercentageError()],
        "class_output": [keras.metrics.CategoricalAccuracy()],
    },
    loss_weights={"score_output": 2.0, "class_output": 1.0},
)
images = x_train.reshape(-1, 8, 8, 1)
extra = np.stack([x_train.mean(1), x_train.std(1), x_train.max(1), x_train.min(1)], 1)
score = (y_train >= 5).astype("float32")[:, None] + 1.0
history = model.fit(
    {"img_input": images, "features_input": extra},
    {"score_output": score, "class_output": y_train_one_hot},
    batch_size=32,
    epochs=2,
    verbose=0,
)
print(sorted(history.history))
assert sorted(history.history) == [
    "class_output_categorical_accuracy",
    "class_output_loss",
    "loss",
    "score_output_loss",
    "score_output_mean_absolute_percentage_error",
]
np.testing.assert_allclose(
    history.history["loss"][-1],
    2.0 * history.history["score_output_loss"][-1] + history.history["class_output_loss"][-1],
    rtol=1e-3,
)

# ## A checkpoint per epoch, loaded back with its custom metric

with tempfile.TemporaryDirectory() as checkpoint_dir:
    model = get_uncompiled_model()
    model.compile(
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=[CategoricalTruePositives()],
    )
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            filepath=os.path.join(checkpoint_dir, "model-{epoch:02d}-loss={loss:.2f}.keras"),
            save_freq="epoch",
        )
    ]
    model.fit(x_train, y_train[:, None], epochs=2, batch_size=64, verbose=0, callbacks=callbacks)
    saved = sorted(os.listdir(checkpoint_dir))
    assert len(saved) == 2 and all(name.endswith(".keras") for name in saved), saved
    restored = keras.models.load_model(os.path.join(checkpoint_dir, saved[-1]))
    np.testing.assert_allclose(
        restored.predict(x_val, verbose=0), model.predict(x_val, verbose=0), rtol=1e-6
    )
print("OK")
