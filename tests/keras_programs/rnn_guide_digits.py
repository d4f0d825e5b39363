"""Working with RNNs, in the style of Keras's guide, on scikit-learn's digits read row by row.

Built-in recurrent layers (SimpleRNN, GRU, LSTM) with `return_sequences`; `return_state` and
`initial_state` passing an encoder's states to a decoder; `layers.RNN` over an `LSTMCell`
computing what `LSTM` computes on the same weights; a cell called step by step; a cell of
one's own run by `layers.RNN`; `Bidirectional`; and saving an RNN-over-a-cell model.
"""

import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(5)

digits = load_digits()
x = (digits.images / 16.0).astype("float32")  # (samples, 8 rows = timesteps, 8 features)
y = digits.target.astype("int64")
x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]

# Built-in RNN layers: a GRU returning every step's output feeds a SimpleRNN.
model = keras.Sequential(
    [
        keras.Input(shape=(8, 8)),
        layers.GRU(32, return_sequences=True),
        layers.SimpleRNN(32),
        layers.Dense(10),
    ]
)
model.summary()
model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(x_train, y_train, validation_data=(x_test, y_test), batch_size=64, epochs=15, verbose=0)
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"GRU + SimpleRNN test accuracy: {accuracy:.3f}")
assert accuracy > 0.75, accuracy

# RNN state reuse: an encoder's final states start a decoder (the top and bottom halves of
# each digit as the two sequences).
encoder_input = keras.Input(shape=(4, 8))
output, state_h, state_c = layers.LSTM(32, return_state=True, name="encoder")(encoder_input)
decoder_input = keras.Input(shape=(4, 8))
decoder_output = layers.LSTM(32, name="decoder")(decoder_input, initial_state=[state_h, state_c])
halves = keras.Model([encoder_input, decoder_input], layers.Dense(10)(decoder_output))
halves.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
halves.fit([x_train[:, :4], x_train[:, 4:]], y_train, batch_size=64, epochs=15, verbose=0)
_, accuracy = halves.evaluate([x_test[:, :4], x_test[:, 4:]], y_test, verbose=0)
print(f"encoder-decoder test accuracy: {accuracy:.3f}")
assert accuracy > 0.6, accuracy

# RNN layers and RNN cells: layers.RNN(layers.LSTMCell(units)) computes what LSTM(units) does.
cell_model = keras.Sequential(
    [keras.Input((8, 8)), layers.RNN(layers.LSTMCell(16)), layers.Dense(10)]
)
lstm_model = keras.Sequential([keras.Input((8, 8)), layers.LSTM(16), layers.Dense(10)])
lstm_model.set_weights(cell_model.get_weights())
np.testing.assert_allclose(
    cell_model.predict(x_test, verbose=0), lstm_model.predict(x_test, verbose=0), atol=1e-6
)
rnn_layer = cell_model.layers[0]
assert rnn_layer.cell.kernel.shape == (8, 64) and rnn_layer.cell.state_size == [16, 16]

# A cell called step by step carries its states as the layer does over the sequence.
cell = layers.GRUCell(8)
states = [np.zeros((5, 8), "float32")]
outputs = []
for t in range(8):
    out, states = cell(x_test[:5, t], states)
    outputs.append(keras.ops.convert_to_numpy(out))
sequence = keras.Sequential([keras.Input((8, 8)), layers.GRU(8, return_sequences=True)])
sequence.set_weights([cell.kernel.numpy(), cell.recurrent_kernel.numpy(), cell.bias.numpy()])
np.testing.assert_allclose(np.stack(outputs, 1), sequence.predict(x_test[:5], verbose=0), atol=1e-5)


# A cell of one's own: one step written with keras.ops, run by layers.RNN over the sequence.
@keras.saving.register_keras_serializable(package="rnn_guide")
class MinimalRNNCell(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units), initializer="orthogonal", name="recurrent_kernel"
        )

    def call(self, inputs, states):
        previous = states[0]
        h = keras.ops.matmul(inputs, self.kernel)
        output = keras.ops.tanh(h + keras.ops.matmul(previous, self.recurrent_kernel))
        return output, [output]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


minimal = keras.Sequential([keras.Input((8, 8)), layers.RNN(MinimalRNNCell(32)), layers.Dense(10)])
minimal.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
minimal.fit(x_train, y_train, batch_size=64, epochs=15, verbose=0)
_, accuracy = minimal.evaluate(x_test, y_test, verbose=0)
print(f"custom cell test accuracy: {accuracy:.3f}")
assert accuracy > 0.75, accuracy
cell_path = os.path.join(tempfile.mkdtemp(), "minimal.keras")
minimal.save(cell_path)
np.testing.assert_allclose(
    keras.models.load_model(cell_path).predict(x_test, verbose=0),
    minimal.predict(x_test, verbose=0),
    atol=1e-6,
)

# Bidirectional RNNs, one of them over a cell, trained and saved.
bidirectional = keras.Sequential(
    [
        keras.Input((8, 8)),
        layers.Bidirectional(layers.LSTM(16, return_sequences=True)),
        layers.Bidirectional(layers.RNN(layers.GRUCell(16))),
        layers.Dense(10),
    ]
)
bidirectional.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
bidirectional.fit(x_train, y_train, batch_size=64, epochs=15, verbose=0)
_, accuracy = bidirectional.evaluate(x_test, y_test, verbose=0)
print(f"bidirectional test accuracy: {accuracy:.3f}")
assert accuracy > 0.75, accuracy

path = os.path.join(tempfile.mkdtemp(), "rnn.keras")
bidirectional.save(path)
restored = keras.models.load_model(path)
np.testing.assert_allclose(
    restored.predict(x_test, verbose=0), bidirectional.predict(x_test, verbose=0), atol=1e-6
)
print("OK")
