"""A convolutional autoencoder for scikit-learn's 8x8 digits, built from two models.

The encoder and the decoder are each a `keras.Model`; the autoencoder calls one after the
other on a new input ("all models are callable, just like layers"), so all three share the
same weights. After training, the frozen encoder's codes feed a small classifier, and the
autoencoder is saved and reloaded with its nested models.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(3)
latent_dim = 12

digits = load_digits()
images = (digits.images / 16.0).astype("float32")[..., np.newaxis]
x_train, x_test, y_train, y_test = train_test_split(
    images, digits.target, test_size=0.25, random_state=1
)

# ## The encoder: image -> code

encoder_input = keras.Input(shape=(8, 8, 1), name="original_img")
x = layers.Conv2D(16, 3, activation="relu", padding="same")(encoder_input)
x = layers.MaxPooling2D(2)(x)
x = layers.Conv2D(16, 3, activation="relu", padding="same")(x)
x = layers.Flatten()(x)
encoder_output = layers.Dense(latent_dim, name="code")(x)
encoder = keras.Model(encoder_input, encoder_output, name="encoder")
encoder.summary()

# ## The decoder: code -> image

decoder_input = keras.Input(shape=(latent_dim,), name="encoded_img")
x = layers.Dense(64, activation="relu")(decoder_input)
x = layers.Dense(64, activation="sigmoid")(x)
decoder_output = layers.Reshape((8, 8, 1))(x)
decoder = keras.Model(decoder_input, decoder_output, name="decoder")
decoder.summary()

# ## The autoencoder: the two models called in turn

autoencoder_input = keras.Input(shape=(8, 8, 1), name="img")
encoded_img = encoder(autoencoder_input)
decoded_img = decoder(encoded_img)
autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
autoencoder.summary()

assert encoded_img.shape == (None, latent_dim)
assert decoded_img.shape == (None, 8, 8, 1)
assert autoencoder.get_layer("encoder") is encoder
assert autoencoder.get_layer("decoder") is decoder
assert len(autoencoder.trainable_weights) == len(encoder.trainable_weights) + len(
    decoder.trainable_weights
)
assert autoencoder.count_params() == encoder.count_params() + decoder.count_params()

autoencoder.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse")
history = autoencoder.fit(
    x_train, x_train, epochs=25, batch_size=32, validation_data=(x_test, x_test), verbose=2
)
losses = history.history["loss"]
assert losses[-1] < 0.5 * losses[0], losses

# Predicting the mean image is the baseline a useful code must beat by far.
baseline = float(np.mean((x_test - x_train.mean(axis=0)) ** 2))
reconstruction = autoencoder.predict(x_test, verbose=0)
mse = float(np.mean((reconstruction - x_test) ** 2))
print(f"reconstruction mse: {mse:.4f} (mean-image baseline {baseline:.4f})")
assert reconstruction.shape == x_test.shape
assert mse < 0.5 * baseline, (mse, baseline)
assert abs(autoencoder.evaluate(x_test, x_test, verbose=0) - mse) < 1e-4

# The trained weights live in the encoder and decoder models themselves.
codes = encoder.predict(x_test, verbose=0)
assert codes.shape == (len(x_test), latent_dim)
np.testing.assert_allclose(decoder.predict(codes, verbose=0), reconstruction, atol=1e-5)

# ## Reuse the encoder, frozen, under a classifier head

encoder.trainable = False
classifier_input = keras.Input(shape=(8, 8, 1))
features = encoder(classifier_input)
x = layers.Dense(32, activation="relu")(features)
classifier_output = layers.Dense(10, activation="softmax")(x)
classifier = keras.Model(classifier_input, classifier_output, name="classifier")
classifier.summary()
assert len(classifier.trainable_weights) == 4  # the head's two kernels and two biases

encoder_weights = [w.copy() for w in encoder.get_weights()]
classifier.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
classifier.fit(x_train, y_train, epochs=25, batch_size=32, verbose=0)
_, accuracy = classifier.evaluate(x_test, y_test, verbose=0)
print(f"classifier on frozen codes: accuracy {accuracy:.4f}")
assert accuracy > 0.8, accuracy
for before, after in zip(encoder_weights, encoder.get_weights()):
    np.testing.assert_array_equal(before, after)

# ## Save and reload the autoencoder with its nested models

autoencoder.save("autoencoder.keras")
reloaded = keras.models.load_model("autoencoder.keras")
assert [layer.name for layer in reloaded.layers] == ["img", "encoder", "decoder"]
np.testing.assert_allclose(reloaded.predict(x_test, verbose=0), reconstruction, atol=1e-5)
np.testing.assert_allclose(
    reloaded.get_layer("encoder").predict(x_test, verbose=0), codes, atol=1e-5
)

print("OK")
