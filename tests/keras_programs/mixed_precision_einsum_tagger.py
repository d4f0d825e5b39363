"""Mixed precision training in the style of Keras's mixed precision guide, on a small token
tagger built from EinsumDense projections (as in Keras's own attention code): the global
policy is mixed_bfloat16, the output layer's softmax stays float32, and the model is saved,
reloaded and evaluated. Run with `import eigennet as keras` (or `import keras`)."""

import numpy as np

import eigennet as keras
from eigennet import layers

keras.mixed_precision.set_global_policy("mixed_bfloat16")
keras.utils.set_random_seed(2)

# Sequences of 12 random tokens; a token's tag says whether it exceeds its left neighbour.
VOCAB, LENGTH = 40, 12
rng = np.random.default_rng(0)
tokens = rng.integers(1, VOCAB, size=(1536, LENGTH))
previous = np.concatenate([np.zeros((len(tokens), 1), tokens.dtype), tokens[:, :-1]], axis=1)
tags = (tokens > previous).astype("int64")

inputs = keras.Input(shape=(LENGTH,), dtype="int32")
x = layers.Embedding(VOCAB, 32)(inputs)
left = layers.ZeroPadding1D((1, 0))(x)[:, :-1, :]  # each step sees its left neighbour too
x = layers.Concatenate()([x, left])
x = layers.EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d", activation="relu")(x)
x = layers.EinsumDense("abc,cd->abd", output_shape=(None, 2), bias_axes="d")(x)
outputs = layers.Activation("softmax", dtype="float32")(x)
model = keras.Model(inputs, outputs)

hidden = model.layers[4]
assert hidden.dtype_policy.name == "mixed_bfloat16", hidden.dtype_policy
assert hidden.compute_dtype == "bfloat16" and hidden.variable_dtype == "float32"
assert hidden.kernel.dtype == "float32"
assert model.layers[-1].compute_dtype == "float32"

model.compile(
    optimizer=keras.optimizers.Adam(3e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(tokens[:1280], tags[:1280], batch_size=64, epochs=12, verbose=0)
loss, accuracy = model.evaluate(tokens[1280:], tags[1280:], verbose=0)
print(f"held-out accuracy {accuracy:.3f}")
assert accuracy > 0.85, accuracy
predictions = model.predict(tokens[1280:], verbose=0)
assert str(predictions.dtype) == "float32", predictions.dtype

model.save("tagger.keras")
restored = keras.saving.load_model("tagger.keras")
assert restored.layers[4].dtype_policy.name == "mixed_bfloat16"
np.testing.assert_allclose(restored.predict(tokens[1280:], verbose=0), predictions, atol=1e-6)
print("OK")
