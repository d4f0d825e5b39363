"""Noise and regularization layers written with keras.ops and keras.random: GaussianNoise,
GaussianDropout, AlphaDropout, SpatialDropout1D/2D and ActivityRegularization.

Traced into the graph like custom layers: the noise is drawn natively at every training batch
from the layer's `SeedGenerator` (seeded by `seed`, else by `utils.set_random_seed`'s stream),
and the layers are the identity in inference (`predict`, `evaluate`, `layer(x)`); they add
noise on arrays only when called with `training=True`, as in Keras. The random streams
restart from their seeds when a model is loaded (their position is not saved).
"""

from __future__ import annotations

import math

from eigennet import ops, random, regularizers
from eigennet.layers._ops_layer import OpsLayer, check_seed, standardize_data_format, unit_interval
from eigennet.layers.dropout import checked_noise_shape


class GaussianNoise(OpsLayer):
    """Adds zero-centred Gaussian noise of standard deviation `stddev` in training.

    Args:
        stddev: Float in [0, 1], the noise's standard deviation.
        seed: Optional int seeding the noise.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = unit_interval(stddev, "stddev")
        self.seed = check_seed(seed)
        if stddev > 0:
            self.seed_generator = random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if training and self.stddev > 0:
            noise = random.normal(
                ops.shape(inputs),
                0.0,
                self.stddev,
                dtype=self._native_dtype,
                seed=self.seed_generator,
            )
            return inputs + noise
        return inputs

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(OpsLayer):
    """Multiplies the inputs by Gaussian noise of mean 1 and standard deviation
    `sqrt(rate / (1 - rate))` in training.

    Args:
        rate: Float in [0, 1), the drop probability of the dropout it imitates (1 is
            accepted by the constructor, as Keras, but cannot train).
        seed: Optional int seeding the noise.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = unit_interval(rate, "rate")
        self.seed = check_seed(seed)
        if rate > 0:
            self.seed_generator = random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            if self.rate >= 1:
                raise ValueError(
                    f"GaussianDropout {self.name!r}: rate=1 has no finite noise scale "
                    "(sqrt(rate / (1 - rate))); use a rate below 1"
                )
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            noise = random.normal(
                ops.shape(inputs), 1.0, stddev, dtype=self._native_dtype, seed=self.seed_generator
            )
            return inputs * noise
        return inputs

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


# SELU's constants: dropped values are set to its negative saturation -scale * alpha.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(OpsLayer):
    """Dropout for self-normalizing (SELU) networks: in training, sets inputs to SELU's
    negative saturation with probability `rate`, then applies the affine map that restores
    the mean and variance of zero-mean unit-variance inputs (Keras 3's formula).

    Args:
        rate: Float in [0, 1), the fraction of inputs to drop (1 is accepted by the
            constructor, as Keras, but cannot train).
        noise_shape: Optional shape of the draws, as Dropout's: None entries take the input's
            sizes, an axis of length 1 shares one draw.
        seed: Optional int seeding the draws.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = unit_interval(rate, "rate")
        self.noise_shape = None if noise_shape is None else checked_noise_shape(noise_shape)
        self.seed = check_seed(seed)
        if rate > 0:
            self.seed_generator = random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.rate >= 1:
            raise ValueError(
                f"AlphaDropout {self.name!r}: rate=1 drops every input and has no affine "
                "correction ((1 - rate) ** -0.5); use a rate below 1"
            )
        shape = tuple(ops.shape(inputs))
        noise_shape = shape
        if self.noise_shape is not None:
            if len(self.noise_shape) != len(shape):
                raise ValueError(
                    f"AlphaDropout {self.name!r}: noise_shape {self.noise_shape} must have the "
                    f"inputs' rank {len(shape)}"
                )
            noise_shape = tuple(s if n is None else n for n, s in zip(self.noise_shape, shape))
        draws = random.uniform(noise_shape, dtype=self._native_dtype, seed=self.seed_generator)
        kept = ops.cast(ops.greater_equal(draws, self.rate), self._native_dtype)
        saturation = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * saturation**2)) ** -0.5
        b = -a * saturation * self.rate
        return a * (inputs * kept + saturation * (1 - kept)) + b

    def get_config(self):
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": noise}


class _SpatialDropout(OpsLayer):
    """Dropout of whole feature maps: one draw per sample and channel, shared along the
    other axes (`noise_shape`), kept values divided by `1 - rate`."""

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.rate = unit_interval(rate, "rate")
        self.seed = check_seed(seed)
        if rate > 0:
            self.seed_generator = random.SeedGenerator(seed)

    def _noise_shape(self, shape: tuple) -> tuple:
        raise NotImplementedError

    def call(self, inputs, training=False):
        shape = self._check_rank(inputs)
        if training and self.rate > 0:
            return random.dropout(
                inputs, self.rate, noise_shape=self._noise_shape(shape), seed=self.seed_generator
            )
        return inputs

    def get_config(self):  # Keras's: no `trainable`
        return {
            "rate": self.rate,
            "seed": self.seed,
            "name": self.name,
            "dtype": self._dtype_config(),
        }


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of `(batch, steps, channels)` inputs in training.

    Args:
        rate: Float in [0, 1], the fraction of channels to drop.
        seed: Optional int seeding the masks.
    """

    _input_ndim = 3

    def _noise_shape(self, shape: tuple) -> tuple:
        return (shape[0], 1, shape[2])


class SpatialDropout2D(_SpatialDropout):
    """Drops whole channels (feature maps) of images in training.

    Args:
        rate: Float in [0, 1], the fraction of channels to drop.
        data_format: "channels_last" (default) or "channels_first".
        seed: Optional int seeding the masks.
    """

    _input_ndim = 4

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = standardize_data_format(data_format)

    def _noise_shape(self, shape: tuple) -> tuple:
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1)
        return (shape[0], 1, 1, shape[3])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout3D(SpatialDropout2D):
    """Drops whole channels (feature maps) of volumes in training.

    Args:
        rate: Float in [0, 1], the fraction of channels to drop.
        data_format: "channels_last" (default) or "channels_first".
        seed: Optional int seeding the masks.
    """

    _input_ndim = 5

    def _noise_shape(self, shape: tuple) -> tuple:
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1, 1)
        return (shape[0], 1, 1, 1, shape[4])


class ActivityRegularization(OpsLayer):
    """The identity, adding `l1 * sum(|x|) + l2 * sum(x**2)` divided by the batch size to
    the loss (in training and evaluation, as Keras 3).

    Args:
        l1: Non-negative float, the L1 factor.
        l2: Non-negative float, the L2 factor.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2

    def call(self, inputs, training=None):
        return inputs

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}
