"""Making new layers and models via subclassing, in the style of Keras's guide: layers with
weights (trainable and not), layers in layers, `add_loss`, a `training` argument, a
`compute_mask`, configs, and the guide's end-to-end variational autoencoder (a Sampling
layer drawing with a `SeedGenerator`, its KL term added with `add_loss`) on scikit-learn's
digits.
"""

import numpy as np
from sklearn.datasets import load_digits

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(9)


class Linear(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


linear = Linear(4)
x = np.ones((2, 2), dtype="float32")
y = linear(x)
assert y.shape == (2, 4) and len(linear.weights) == 2 and len(linear.trainable_weights) == 2
again = Linear.from_config(linear.get_config())
assert again.units == 4 and again.name == linear.name


class ComputeSum(layers.Layer):
    """A non-trainable weight: the running sum of the inputs, updated by each call."""

    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(
            initializer="zeros", shape=(input_dim,), trainable=False, name="total"
        )

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        return self.total


my_sum = ComputeSum(2)
np.testing.assert_allclose(ops.convert_to_numpy(my_sum(x)), [2.0, 2.0])
np.testing.assert_allclose(ops.convert_to_numpy(my_sum(x)), [4.0, 4.0])
assert len(my_sum.weights) == 1 and len(my_sum.non_trainable_weights) == 1
assert my_sum.trainable_weights == []


class MLPBlock(layers.Layer):
    def __init__(self):
        super().__init__()
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = ops.relu(self.linear_1(inputs))
        x = ops.relu(self.linear_2(x))
        return self.linear_3(x)


mlp = MLPBlock()
y = mlp(ops.ones(shape=(3, 64)))
assert y.shape == (3, 1) and len(mlp.weights) == 6 and len(mlp.trainable_weights) == 6


class ActivityRegularizationLayer(layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs


class OuterLayer(layers.Layer):
    def __init__(self):
        super().__init__()
        self.activity_reg = ActivityRegularizationLayer(1e-2)

    def call(self, inputs):
        return self.activity_reg(inputs)


layer = OuterLayer()
assert len(layer.losses) == 0  # no call yet
_ = layer(np.zeros((1, 1), dtype="float32"))
assert len(layer.losses) == 1  # the loss of the last call
_ = layer(np.zeros((1, 1), dtype="float32"))
assert len(layer.losses) == 1  # reset at the start of each call


class CustomDropout(layers.Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs, training=None):
        if training:
            return keras.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
        return inputs


dropout = CustomDropout(0.5)
ones = np.ones((4, 100), dtype="float32")
assert np.array_equal(ops.convert_to_numpy(dropout(ones)), ones)
dropped = ops.convert_to_numpy(dropout(ones, training=True))
assert set(np.unique(dropped)) <= {0.0, 2.0} and 0 < (dropped == 0).mean() < 1


# ## The variational autoencoder


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class Encoder(layers.Layer):
    """Maps digits to a triplet (z_mean, z_log_var, z)."""

    def __init__(self, latent_dim=8, intermediate_dim=32, name="encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_mean = layers.Dense(latent_dim)
        self.dense_log_var = layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean = self.dense_mean(x)
        z_log_var = self.dense_log_var(x)
        z = self.sampling((z_mean, z_log_var))
        return z_mean, z_log_var, z


class Decoder(layers.Layer):
    """Converts z, the encoded digit vector, back into a readable digit."""

    def __init__(self, original_dim, intermediate_dim=32, name="decoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_output = layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        x = self.dense_proj(inputs)
        return self.dense_output(x)


class VariationalAutoEncoder(keras.Model):
    """Combines the encoder and decoder into an end-to-end model for training."""

    def __init__(
        self, original_dim, intermediate_dim=32, latent_dim=8, name="autoencoder", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.original_dim = original_dim
        self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)
        # Add the KL divergence regularization loss.
        kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
        self.add_loss(kl_loss)
        return reconstructed


digits = (load_digits().data / 16.0).astype("float32")
original_dim = digits.shape[1]
vae = VariationalAutoEncoder(original_dim, 32, 8)
vae.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=keras.losses.MeanSquaredError()
)
history = vae.fit(digits, digits, epochs=8, batch_size=64, verbose=0)
losses = history.history["loss"]
print("VAE loss per epoch", [round(v, 4) for v in losses])
assert losses[-1] < losses[0]
assert len(vae.weights) == 10 and len(vae.encoder.weights) == 6
reconstructed = vae.predict(digits[:16], verbose=0)
assert reconstructed.shape == (16, 64) and 0.0 <= reconstructed.min() <= reconstructed.max() <= 1.0
codes = ops.convert_to_numpy(vae.encoder(digits[:16])[0])
assert codes.shape == (16, 8)
print("OK")
