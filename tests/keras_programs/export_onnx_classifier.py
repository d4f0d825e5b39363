"""Train a small review classifier on padded token sequences (masked Embedding, bidirectional
LSTM), export it with `model.export(..., format="onnx")` and serve it with onnxruntime: the
served model must give predict's probabilities for any batch size."""

import numpy as np
import onnxruntime

import eigennet as keras
from eigennet import layers

rng = np.random.default_rng(0)
VOCAB, LENGTH = 40, 14
GOOD, BAD = np.arange(2, 12), np.arange(12, 22)  # sentiment words; the rest are neutral


def reviews(n):
    tokens = rng.integers(22, VOCAB, size=(n, LENGTH))
    labels = rng.integers(0, 2, size=n)
    for i in range(n):
        words = rng.choice(GOOD if labels[i] else BAD, size=rng.integers(1, 4))
        tokens[i, rng.choice(LENGTH - 4, size=len(words), replace=False)] = words
        tokens[i, LENGTH - rng.integers(0, 5) :] = 0  # padding at the end of shorter reviews
    return tokens.astype("int32"), labels.astype("float32")


x_train, y_train = reviews(1200)
x_test, y_test = reviews(300)

inputs = keras.Input(shape=(LENGTH,), dtype="int32", name="tokens")
x = layers.Embedding(VOCAB, 16, mask_zero=True)(inputs)
x = layers.Bidirectional(layers.LSTM(12))(x)
x = layers.Dropout(0.2)(x)
outputs = layers.Dense(1, activation="sigmoid", name="positive")(x)
model = keras.Model(inputs, outputs)
model.compile(
    optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"]
)
model.fit(x_train, y_train, batch_size=32, epochs=6, verbose=0)
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.3f}")
assert accuracy > 0.9, accuracy

model.export("classifier.onnx", format="onnx")

session = onnxruntime.InferenceSession("classifier.onnx", providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
for batch in (1, 7, 300):
    (served,) = session.run(None, {name: x_test[:batch]})
    expected = model.predict(x_test[:batch], verbose=0)
    assert served.shape == expected.shape == (batch, 1), served.shape
    assert np.max(np.abs(served - expected)) < 1e-5, np.max(np.abs(served - expected))
print("OK")
