"""Understanding masking and padding, in the style of Keras's guide, on made-up sequences.

Padding with `utils.pad_sequences`; masks made by `Embedding(mask_zero=True)` and
`Masking`, read from `_keras_mask`, and followed by an LSTM; custom layers that make a mask
(`compute_mask`), pass it on (`supports_masking`), split it, or use it in `call(inputs,
mask=None)` (a masked softmax over time).
"""

import numpy as np

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(17)

raw_inputs = [
    [711, 632, 71],
    [73, 8, 3215, 55, 927],
    [83, 91, 1, 645, 1253, 927],
]
padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
assert padded_inputs.tolist() == [
    [711, 632, 71, 0, 0, 0],
    [73, 8, 3215, 55, 927, 0],
    [83, 91, 1, 645, 1253, 927],
]

embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
masked_output = embedding(padded_inputs)
expected_mask = padded_inputs != 0
np.testing.assert_array_equal(
    ops.convert_to_numpy(embedding.compute_mask(padded_inputs)), expected_mask
)

masking_layer = layers.Masking()
unmasked_embedding = np.broadcast_to(padded_inputs[..., None].astype("float32"), (3, 6, 32)).copy()
masked_embedding = masking_layer(unmasked_embedding)
np.testing.assert_array_equal(
    ops.convert_to_numpy(masking_layer.compute_mask(unmasked_embedding)), expected_mask
)

# ## Masks through a functional model: the LSTM skips the padded steps

inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
outputs = layers.LSTM(32)(x)
model = keras.Model(inputs, outputs)
# Padding more zeros at the end changes nothing.
longer = keras.utils.pad_sequences(raw_inputs, maxlen=9, padding="post")
np.testing.assert_allclose(
    model.predict(padded_inputs, verbose=0), model.predict(longer, verbose=0), rtol=1e-5, atol=1e-6
)


class MyLayer(layers.Layer):
    """A layer that makes a mask of its own, as Embedding(mask_zero=True) does."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
        self.lstm = layers.LSTM(32)

    def call(self, inputs):
        x = self.embedding(inputs)
        mask = self.embedding.compute_mask(inputs)
        return self.lstm(x, mask=mask)


layer = MyLayer()
out = ops.convert_to_numpy(layer(padded_inputs))
assert out.shape == (3, 32)


class CustomEmbedding(layers.Layer):
    def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.mask_zero = mask_zero

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer="random_normal", dtype="float32"
        )

    def call(self, inputs):
        inputs = ops.cast(inputs, "int32")
        return ops.take(self.embeddings, inputs, axis=0)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)


layer = CustomEmbedding(10, 32, mask_zero=True)
x = np.random.randint(0, 10, size=(3, 10))
y = layer(x)
mask = layer.compute_mask(x)
np.testing.assert_array_equal(ops.convert_to_numpy(mask), x != 0)


class MyActivation(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # passes the mask on unchanged

    def call(self, inputs):
        return ops.relu(inputs)


class TemporalSoftmax(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        assert mask is not None
        broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
        inputs_exp = ops.exp(inputs) * broadcast_float_mask
        inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=-1, keepdims=True)
        return inputs_exp / inputs_sum


inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
x = MyActivation()(x)  # the mask passes through
x = layers.Dense(1)(x)
outputs = TemporalSoftmax()(x)
model = keras.Model(inputs, outputs)
data = np.random.randint(0, 10, size=(32, 100))
y = model(data)
probabilities = ops.convert_to_numpy(y)
assert probabilities.shape == (32, 100, 1)
# An unmasked step's value is exp(x) / exp(x) = 1 (the sum is over the last axis, of size 1,
# as in the guide); a masked one is 0 / 0.
np.testing.assert_allclose(probabilities[data != 0], 1.0, rtol=1e-6)
assert np.isnan(probabilities[data == 0]).all()
print("OK")
