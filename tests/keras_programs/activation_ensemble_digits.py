"""Activation layers and merge layers on scikit-learn's 8x8 digits.

Three small classifiers that differ by their activation layer (LeakyReLU, PReLU, ELU), each
ending in a `Softmax` layer, are trained and then ensembled the way the Functional API guide
shows: the same input through every model, their probabilities merged by `layers.average`
(and by `layers.Maximum` for a "most confident member" variant). A maxout network builds its
hidden units with `layers.Maximum` of two Dense layers.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(5)

digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = keras.utils.to_categorical(digits.target, 10)
x_train, x_test, y_train, y_test = train_test_split(
    x, y, test_size=0.3, random_state=4, stratify=digits.target
)
labels_test = y_test.argmax(axis=1)

# ## Members: one per activation layer


def get_model(activation_layer, name):
    inputs = keras.Input(shape=(64,))
    x = layers.Dense(32)(inputs)
    x = activation_layer(x)
    x = layers.Dense(10)(x)
    outputs = layers.Softmax()(x)
    return keras.Model(inputs, outputs, name=name)


members = [
    get_model(layers.LeakyReLU(negative_slope=0.1), "leaky"),
    get_model(layers.PReLU(name="prelu"), "prelu_net"),
    get_model(layers.ELU(alpha=1.0), "elu"),
]

prelu = members[1].get_layer("prelu")
assert [w.shape for w in prelu.get_weights()] == [(32,)]
assert np.all(prelu.get_weights()[0] == 0.0)  # PReLU's alpha starts at zero

accuracies = []
for member in members:
    member.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.003),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    member.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0)
    _, accuracy = member.evaluate(x_test, y_test, verbose=0)
    print(f"{member.name}: test accuracy {accuracy:.4f}")
    assert accuracy > 0.9, (member.name, accuracy)
    accuracies.append(accuracy)

# PReLU learned its slopes.
assert np.abs(prelu.get_weights()[0]).max() > 1e-3

# ## Ensembles: the same input through every member

inputs = keras.Input(shape=(64,))
member_outputs = [member(inputs) for member in members]
average_model = keras.Model(inputs, layers.average(member_outputs), name="average_ensemble")
maximum_model = keras.Model(inputs, layers.Maximum()(member_outputs), name="maximum_ensemble")
average_model.summary()

probabilities = [member.predict(x_test, verbose=0) for member in members]
for p in probabilities:
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)  # Softmax layer

averaged = average_model.predict(x_test, verbose=0)
np.testing.assert_allclose(averaged, np.mean(probabilities, axis=0), rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(averaged.sum(axis=1), 1.0, rtol=1e-5)
maximum = maximum_model.predict(x_test, verbose=0)
np.testing.assert_allclose(maximum, np.max(probabilities, axis=0), rtol=1e-5, atol=1e-6)

# A model made of trained models needs no training: compile it to evaluate it.
average_model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
_, ensemble_accuracy = average_model.evaluate(x_test, y_test, verbose=0)
print(f"average ensemble: test accuracy {ensemble_accuracy:.4f}")
assert ensemble_accuracy >= min(accuracies) - 0.01
assert abs(ensemble_accuracy - np.mean(averaged.argmax(axis=1) == labels_test)) < 1e-6
maximum_accuracy = np.mean(maximum.argmax(axis=1) == labels_test)
print(f"maximum ensemble: test accuracy {maximum_accuracy:.4f}")
assert maximum_accuracy > 0.9

# ## A maxout network: each hidden unit is the largest of two linear pieces


def maxout(x, units, pieces, name):
    candidates = [layers.Dense(units, name=f"{name}_piece{i}")(x) for i in range(pieces)]
    return layers.Maximum(name=name)(candidates)


inputs = keras.Input(shape=(64,), name="pixels")
x = maxout(inputs, 32, pieces=2, name="maxout1")
x = layers.Dropout(0.1)(x)
x = maxout(x, 16, pieces=3, name="maxout2")
x = layers.ReLU(max_value=6.0)(x)  # ReLU6
x = layers.Identity()(x)
outputs = layers.Dense(10, activation="softmax")(x)
maxout_model = keras.Model(inputs, outputs, name="maxout")
maxout_model.summary()
assert isinstance(maxout_model.get_layer("maxout2"), layers.Maximum)
assert maxout_model.get_layer("maxout2").output.shape == (None, 16)

maxout_model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = maxout_model.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0)
assert history.history["loss"][-1] < 0.2 * history.history["loss"][0], history.history["loss"]
_, maxout_accuracy = maxout_model.evaluate(x_test, y_test, verbose=0)
print(f"maxout: test accuracy {maxout_accuracy:.4f}")
assert maxout_accuracy > 0.9

# The hidden activations: maxout2's units are the elementwise maximum of its three pieces.
probe = keras.Model(
    maxout_model.input,
    [maxout_model.get_layer(f"maxout2_piece{i}").output for i in range(3)]
    + [maxout_model.get_layer("maxout2").output],
)
*pieces, hidden = probe.predict(x_test[:8], verbose=0)
np.testing.assert_allclose(hidden, np.maximum.reduce(pieces), rtol=1e-6)

# ## Save and reload: activation layers keep their options and weights

average_model.save("average_ensemble.keras")
reloaded = keras.models.load_model("average_ensemble.keras")
np.testing.assert_allclose(reloaded.predict(x_test, verbose=0), averaged, rtol=1e-5, atol=1e-6)
reloaded_prelu = reloaded.get_layer("prelu_net").get_layer("prelu")
np.testing.assert_array_equal(reloaded_prelu.get_weights()[0], prelu.get_weights()[0])
assert reloaded.get_layer("leaky").layers[2].get_config()["negative_slope"] == 0.1

print("OK")
