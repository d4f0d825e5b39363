"""Sequence labelling on padded batches: Embedding(mask_zero=True) -> LSTM(return_sequences)
-> a Dense per step. Each token is tagged 1 when it is larger than the token before it. The
padding must not count: the loss and the accuracy are computed over the real steps only, and
the program checks them against a manual masked computation."""

import numpy as np

import eigennet as keras

VOCAB, STEPS = 10, 12  # tokens 1..9, 0 pads
rng = np.random.default_rng(3)


def dataset(n):
    tokens = rng.integers(1, VOCAB, size=(n, STEPS))
    tags = np.zeros((n, STEPS), dtype="int64")
    tags[:, 1:] = tokens[:, 1:] > tokens[:, :-1]
    lengths = rng.integers(3, STEPS + 1, size=n)
    padding = np.arange(STEPS)[None, :] >= lengths[:, None]
    tokens[padding] = 0
    tags[padding] = rng.integers(0, 2, size=int(padding.sum()))  # garbage under the padding
    return tokens, tags


x, y = dataset(2000)
inputs = keras.Input(shape=(STEPS,), dtype="int32")
h = keras.layers.Embedding(VOCAB, 16, mask_zero=True)(inputs)
h = keras.layers.LSTM(32, return_sequences=True)(h)
outputs = keras.layers.TimeDistributed(keras.layers.Dense(2, activation="softmax"))(h)
model = keras.Model(inputs, outputs)
model.compile(
    optimizer=keras.optimizers.Adam(0.01),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
model.fit(x, y, batch_size=64, epochs=8, verbose=0)

# The loss and accuracy of one batch equal the masked mean computed by hand.
test_x, test_y = dataset(256)
loss, accuracy = model.evaluate(test_x, test_y, batch_size=256, verbose=0)
p = model.predict(test_x, verbose=0)
real = test_x != 0
step_loss = -np.log(np.clip(np.take_along_axis(p, test_y[..., None], -1)[..., 0], 1e-7, 1))
manual_loss = step_loss[real].mean()
manual_accuracy = (p.argmax(-1) == test_y)[real].mean()
print(
    f"loss {loss:.5f} (by hand {manual_loss:.5f}), accuracy {accuracy:.4f} "
    f"(by hand {manual_accuracy:.4f}, with the padding {(p.argmax(-1) == test_y).mean():.4f})"
)
assert abs(loss - manual_loss) < 1e-4 * max(1.0, manual_loss), (loss, manual_loss)
assert abs(accuracy - manual_accuracy) < 1e-5, (accuracy, manual_accuracy)
assert accuracy > 0.95, accuracy

# Changing what lies under the padding changes nothing.
shuffled = test_y.copy()
shuffled[~real] = 1 - shuffled[~real]
again = model.evaluate(test_x, shuffled, batch_size=256, verbose=0)
assert np.allclose(again, [loss, accuracy], rtol=1e-6), (again, loss, accuracy)
print("OK")
