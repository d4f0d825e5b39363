"""Sequence-to-sequence with a bidirectional encoder (keras-io's pattern): a Bidirectional
LSTM reads a digit string and returns its forward and backward final states; concatenated,
they start an LSTM decoder of twice the units, trained with teacher forcing to write the
string reversed. Inference reuses the trained layers in an encoder model and a step-by-step
decoder model fed its own states, decoding greedily."""

import numpy as np

import eigennet as keras

DIGITS, LENGTH, LATENT = 10, 5, 32
START = DIGITS  # the decoder's start token, one past the digits
rng = np.random.default_rng(11)


def one_hot(ids, depth):
    return np.eye(depth, dtype="float32")[ids]


def dataset(n):
    source = rng.integers(0, DIGITS, size=(n, LENGTH))
    target = source[:, ::-1]
    teacher = np.concatenate([np.full((n, 1), START), target[:, :-1]], axis=1)  # shifted
    return one_hot(source, DIGITS), one_hot(teacher, DIGITS + 1), target


enc_x, dec_x, target = dataset(3000)

# -- training model: the encoder's concatenated states start the decoder -------------------
encoder_inputs = keras.Input(shape=(None, DIGITS))
encoder = keras.layers.Bidirectional(keras.layers.LSTM(LATENT, return_state=True))
_, forward_h, forward_c, backward_h, backward_c = encoder(encoder_inputs)
state_h = keras.layers.Concatenate()([forward_h, backward_h])
state_c = keras.layers.Concatenate()([forward_c, backward_c])
encoder_states = [state_h, state_c]

decoder_inputs = keras.Input(shape=(None, DIGITS + 1))
decoder_lstm = keras.layers.LSTM(2 * LATENT, return_sequences=True, return_state=True)
decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
decoder_dense = keras.layers.Dense(DIGITS, activation="softmax")
decoder_outputs = decoder_dense(decoder_outputs)

model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
model.compile(
    optimizer=keras.optimizers.Adam(0.01),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(
    [enc_x, dec_x], target, batch_size=64, epochs=10, validation_split=0.1, verbose=0
)
accuracy = history.history["val_accuracy"][-1]
print(f"teacher-forced validation accuracy per digit: {accuracy:.3f}")
assert accuracy > 0.95, history.history

# -- inference models built from the same layers ------------------------------------------
encoder_model = keras.Model(encoder_inputs, encoder_states)

decoder_state_input_h = keras.Input(shape=(2 * LATENT,))
decoder_state_input_c = keras.Input(shape=(2 * LATENT,))
decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
step_outputs, step_h, step_c = decoder_lstm(decoder_inputs, initial_state=decoder_states_inputs)
step_outputs = decoder_dense(step_outputs)
decoder_model = keras.Model(
    [decoder_inputs] + decoder_states_inputs, [step_outputs, step_h, step_c]
)


def decode(sources):
    """Greedy decoding: one step at a time, each fed the previous prediction and states."""
    states = encoder_model.predict(sources, verbose=0)
    token = one_hot(np.full((len(sources), 1), START), DIGITS + 1)
    written = []
    for _ in range(LENGTH):
        probabilities, h, c = decoder_model.predict([token] + list(states), verbose=0)
        best = probabilities[:, -1].argmax(-1)
        written.append(best)
        token = one_hot(best[:, None], DIGITS + 1)
        states = [h, c]
    return np.stack(written, axis=1)


test_x, _, test_target = dataset(200)
decoded = decode(test_x)
exact = float(np.mean(np.all(decoded == test_target, axis=1)))
print(f"exactly reversed strings: {exact:.3f}")
print("example:", test_x[0].argmax(-1), "->", decoded[0])
assert exact > 0.8, exact
print("OK")
