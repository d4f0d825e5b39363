"""A model with several inputs and two outputs, as in the Functional API guide: it ranks
support tickets by priority and routes them to a department.

Inputs: the ticket's title and body (sequences of word ids) and its tags (a binary vector).
Outputs: a priority logit and department logits, compiled with a dict of losses, a dict of
loss weights and a dict of metrics, trained on dicts of inputs and targets.

The data is random but follows a rule the model can learn: a ticket is urgent when its title
holds the word "urgent" (id 1), and its department is given by the body's words and the tags.
"""

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(42)

num_tags = 12  # Number of unique issue tags
num_words = 200  # Size of the vocabulary
num_departments = 4  # Number of departments for predictions
title_length, body_length = 8, 20

# ## Data


def make_tickets(n, rng):
    title = rng.integers(2, num_words, size=(n, title_length))
    urgent = rng.random(n) < 0.4
    where = rng.integers(0, title_length, size=n)
    title[urgent, where[urgent]] = 1  # the word "urgent"
    department = rng.integers(0, num_departments, size=n)
    # Each department has its own block of 50 words; half of the body comes from it.
    body = rng.integers(2, num_words, size=(n, body_length))
    own = rng.random((n, body_length)) < 0.5
    block = 50 * department[:, None] + rng.integers(0, 50, size=(n, body_length))
    body = np.where(own, np.maximum(block, 2), body)
    # Tags: noise, plus the department's tag on most tickets.
    tags = (rng.random((n, num_tags)) < 0.1).astype("float32")
    tagged = rng.random(n) < 0.7
    tags[tagged, department[tagged]] = 1.0
    inputs = {"title": title, "body": body, "tags": tags}
    targets = {
        "priority": urgent.astype("float32")[:, None],
        "department": np.eye(num_departments, dtype="float32")[department],
    }
    return inputs, targets


rng = np.random.default_rng(0)
train_inputs, train_targets = make_tickets(1200, rng)
test_inputs, test_targets = make_tickets(400, rng)

# ## Model

title_input = keras.Input(shape=(title_length,), name="title")  # Sequences of word ids
body_input = keras.Input(shape=(body_length,), name="body")  # Sequences of word ids
tags_input = keras.Input(shape=(num_tags,), name="tags")  # Binary vectors of size `num_tags`

# Embed each word in the title and in the body into a 16-dimensional vector
title_features = layers.Embedding(num_words, 16)(title_input)
body_features = layers.Embedding(num_words, 16)(body_input)

# Reduce the sequence of embedded words in the title to a single 16-dimensional vector,
# and the body's to an 8-dimensional one
title_features = layers.LSTM(16)(title_features)
body_features = layers.GRU(8)(body_features)

# Merge all available features into a single large vector via concatenation
x = layers.concatenate([title_features, body_features, tags_input])

# Stick a logistic regression for priority prediction on top of the features
priority_pred = layers.Dense(1, name="priority")(x)
# Stick a department classifier on top of the features
department_pred = layers.Dense(num_departments, name="department")(x)

# Instantiate an end-to-end model predicting both priority and department
model = keras.Model(
    inputs=[title_input, body_input, tags_input],
    outputs=[priority_pred, department_pred],
)
model.summary()
assert model.output_shape == [(None, 1), (None, num_departments)]
assert [t.shape for t in model.inputs] == [(None, 8), (None, 20), (None, num_tags)]

# ## Compile with one loss per output, by output name

model.compile(
    optimizer=keras.optimizers.RMSprop(3e-3),
    loss={
        "priority": keras.losses.BinaryCrossentropy(from_logits=True),
        "department": keras.losses.CategoricalCrossentropy(from_logits=True),
    },
    loss_weights={"priority": 1.0, "department": 0.2},
    metrics={
        "priority": [keras.metrics.BinaryAccuracy(name="acc", threshold=0.0)],
        "department": ["categorical_accuracy"],
    },
)

before = model.evaluate(test_inputs, test_targets, verbose=0, return_dict=True)
history = model.fit(
    train_inputs,
    train_targets,
    epochs=8,
    batch_size=32,
    validation_data=(test_inputs, test_targets),
    verbose=2,
)
expected_logs = {
    "loss",
    "priority_loss",
    "department_loss",
    "priority_acc",
    "department_categorical_accuracy",
}
assert set(history.history) == expected_logs | {f"val_{k}" for k in expected_logs}, sorted(
    history.history
)
assert history.history["loss"][-1] < 0.5 * history.history["loss"][0], history.history["loss"]

after = model.evaluate(test_inputs, test_targets, verbose=0, return_dict=True)
print("before:", before)
print("after:", after)
# The total loss is the weighted sum of the per-output losses.
weighted = after["priority_loss"] + 0.2 * after["department_loss"]
assert abs(after["loss"] - weighted) < 1e-3 * max(1.0, weighted), (after, weighted)
assert after["loss"] < before["loss"]
assert after["priority_acc"] > 0.9, after
assert after["department_categorical_accuracy"] > 0.85, after

# ## Predict: one array per output, in the order of model.outputs

priority_logits, department_logits = model.predict(test_inputs, verbose=0)
assert priority_logits.shape == (400, 1)
assert department_logits.shape == (400, num_departments)
predicted_urgent = priority_logits[:, 0] > 0
assert np.mean(predicted_urgent == (test_targets["priority"][:, 0] == 1)) > 0.9

# Inputs given as a list, in the order of model.inputs, predict the same.
as_list = model.predict([test_inputs["title"], test_inputs["body"], test_inputs["tags"]], verbose=0)
np.testing.assert_allclose(as_list[1], department_logits, rtol=1e-6)

# ## Save the trained model and reload it, compiled as it was

model.save("ticket_classifier.keras")
reloaded = keras.models.load_model("ticket_classifier.keras")
reloaded_priority, reloaded_department = reloaded.predict(test_inputs, verbose=0)
np.testing.assert_allclose(reloaded_priority, priority_logits, rtol=1e-5, atol=1e-5)
np.testing.assert_allclose(reloaded_department, department_logits, rtol=1e-5, atol=1e-5)
reloaded_logs = reloaded.evaluate(test_inputs, test_targets, verbose=0, return_dict=True)
for name, value in after.items():
    assert abs(reloaded_logs[name] - value) < 1e-4, (name, reloaded_logs, after)

print("OK")
