"""Convolutional autoencoder for image denoising, after keras-io's example of that name
(Conv2D + MaxPooling2D encoder, Conv2DTranspose decoder), on scikit-learn's 8x8 digits.

The autoencoder first learns to reconstruct the clean digits, then is trained further to map
noisy digits to clean ones; its denoised output must be much closer to the clean images than
the noisy input was. The model is saved and reloaded.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(7)


def preprocess(array):
    """Normalizes the supplied array and reshapes it into the appropriate format."""
    array = array.astype("float32") / 16.0
    return np.reshape(array, (len(array), 8, 8, 1))


def noise(array, noise_factor=0.4, seed=0):
    """Adds random noise to each image in the supplied array."""
    rng = np.random.default_rng(seed)
    noisy_array = array + noise_factor * rng.normal(loc=0.0, scale=1.0, size=array.shape)
    return np.clip(noisy_array, 0.0, 1.0).astype("float32")


digits = load_digits()
train_data, test_data = train_test_split(digits.images, test_size=0.25, random_state=0)
train_data, test_data = preprocess(train_data), preprocess(test_data)
noisy_train_data = noise(train_data, seed=1)
noisy_test_data = noise(test_data, seed=2)

# ## Build the autoencoder

input = layers.Input(shape=(8, 8, 1))

# Encoder
x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(input)
x = layers.MaxPooling2D((2, 2), padding="same")(x)
x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(x)
x = layers.MaxPooling2D((2, 2), padding="same")(x)

# Decoder
x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)

# Autoencoder
autoencoder = keras.Model(input, x)
autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
autoencoder.summary()

assert autoencoder.output_shape == (None, 8, 8, 1)
transpose = autoencoder.layers[5]
assert isinstance(transpose, layers.Conv2DTranspose)
assert transpose.kernel.shape == (3, 3, 32, 32)  # (rows, cols, filters, input channels)
assert transpose.output.shape == (None, 4, 4, 32)
assert transpose.get_config()["output_padding"] is None

# ## Train it to reconstruct the clean digits

history = autoencoder.fit(
    x=train_data,
    y=train_data,
    epochs=20,
    batch_size=64,
    shuffle=True,
    validation_data=(test_data, test_data),
    verbose=2,
)
losses = history.history["loss"]
assert losses[-1] < 0.8 * losses[0], losses

# ## Then to map noisy digits to clean ones

autoencoder.fit(
    x=noisy_train_data,
    y=train_data,
    epochs=30,
    batch_size=64,
    shuffle=True,
    validation_data=(noisy_test_data, test_data),
    verbose=2,
)

denoised = autoencoder.predict(noisy_test_data, verbose=0)
noisy_mse = float(np.mean((noisy_test_data - test_data) ** 2))
denoised_mse = float(np.mean((denoised - test_data) ** 2))
print(f"mse to the clean digits: noisy {noisy_mse:.4f}, denoised {denoised_mse:.4f}")
assert denoised.shape == test_data.shape
assert denoised_mse < 0.5 * noisy_mse, (denoised_mse, noisy_mse)

# ## Save and reload

autoencoder.save("denoiser.keras")
reloaded = keras.models.load_model("denoiser.keras")
np.testing.assert_allclose(reloaded.predict(noisy_test_data, verbose=0), denoised, atol=1e-5)

print("OK")
