"""Next-frame prediction with ConvLSTM2D, in the style of keras-io's "Next-frame video
prediction with convolutional LSTMs": clips of squares drifting across a 16 x 16 frame, a
stack of ConvLSTM2D + BatchNormalization layers and a Conv3D head predicting every next frame,
trained with early stopping, then used to roll a clip forward frame by frame, each new frame
predicted from the last seven. (The example's model takes clips of any length,
`Input(shape=(None, ...))`; eigennet's ConvLSTM needs a known number of timesteps, so the
model here reads windows of seven frames.)
Run with `import eigennet as keras` (or `import keras`)."""

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(1)
rng = np.random.default_rng(1)
frames, size, count = 12, 16, 96
window = 7


def clip():
    """A 3 x 3 square moving one pixel a frame in a random direction, bouncing off walls."""
    video = np.zeros((frames, size, size, 1), "float32")
    row, col = rng.integers(0, size - 3, 2)
    d_row, d_col = rng.choice([-1, 1], 2)
    for t in range(frames):
        video[t, row : row + 3, col : col + 3, 0] = 1.0
        if not 0 <= row + d_row <= size - 3:
            d_row = -d_row
        if not 0 <= col + d_col <= size - 3:
            d_col = -d_col
        row, col = row + d_row, col + d_col
    return video


dataset = np.stack([clip() for _ in range(count)])
train, val = dataset[:80], dataset[80:]


def shifted(data):
    return data[:, :window], data[:, 1 : window + 1]  # frames 0..6 predict frames 1..7


x_train, y_train = shifted(train)
x_val, y_val = shifted(val)
print("training clips:", x_train.shape, "targets:", y_train.shape)

inputs = keras.Input(shape=(window, size, size, 1))
x = layers.ConvLSTM2D(
    filters=16, kernel_size=(5, 5), padding="same", return_sequences=True, activation="relu"
)(inputs)
x = layers.BatchNormalization()(x)
x = layers.ConvLSTM2D(
    filters=16, kernel_size=(3, 3), padding="same", return_sequences=True, activation="relu"
)(x)
x = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid", padding="same")(x)
model = keras.Model(inputs, x)
model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam(3e-3))
model.summary()

early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)
history = model.fit(
    x_train,
    y_train,
    batch_size=8,
    epochs=25,
    validation_data=(x_val, y_val),
    callbacks=[early_stopping],
    verbose=2,
)
losses = history.history["val_loss"]
print(f"validation loss: {losses[0]:.4f} -> {min(losses):.4f}")
assert min(losses) < 0.6 * losses[0]

# The next frame of every validation clip: its nine brightest predicted pixels against the
# true square.
predicted = model.predict(x_val, verbose=0)[:, -1, :, :, 0]
truth = y_val[:, -1, :, :, 0] > 0.5
brightest = np.argsort(predicted.reshape(len(predicted), -1), axis=1)[:, -9:]
hits = np.take_along_axis(truth.reshape(len(truth), -1), brightest, axis=1).mean()
print(f"share of the brightest predicted pixels on the true square: {hits:.2f}")
assert hits > 0.5

# Roll one clip forward: each next frame is the last prediction from the last seven frames.
example = val[0]
known = example[:window]
for _ in range(frames - window):
    predicted = model.predict(known[None, -window:], verbose=0)[0]
    known = np.concatenate([known, predicted[-1:]])
print("rolled-out frames:", known[window:].shape)
print("OK")
