"""Dropout layer."""

from __future__ import annotations

import numpy as np

from eigennet import _core, _random, random
from eigennet.layers.layer import Layer


class Dropout(Layer):
    """Randomly sets inputs to 0 with frequency `rate` during training, scaling the others by
    `1 / (1 - rate)` so that the expected sum is unchanged; the identity in inference
    (`predict`, `evaluate`, `model(x)`).

    Args:
        rate: Float in [0, 1], the fraction of inputs to drop.
        noise_shape: Optional shape of the draws, as Keras: None entries take the input's
            sizes, an axis of length 1 shares one draw (e.g. `(None, 1, features)` drops the
            same features at every time step).
        seed: Optional int; without one the seed comes from `eigennet.utils.set_random_seed`'s
            stream, so seeded programs stay reproducible.

    Input shape: any. Output shape: the same.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout rate must be a float in [0, 1], got {rate!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.rate, self.seed = float(rate), seed
        self.noise_shape = None if noise_shape is None else checked_noise_shape(noise_shape)
        # With a noise shape, a native random op drops (see _call_symbolic), seeded once.
        self._noise_seed = seed if seed is not None or noise_shape is None else _random.next_seed()

    @property
    def _needs_symbolic_call(self) -> bool:
        return self.noise_shape is not None

    def _call_builtin(self, inputs, training=None, mask=None):
        from eigennet.layers.keras_tensor import is_symbolic
        from eigennet.ops import symbolic

        if self.noise_shape is None or is_symbolic(inputs) or symbolic.tracing_layer():
            return super()._call_builtin(inputs, training, mask)
        x = np.asarray(inputs, dtype=self._native_dtype)
        return random.dropout(x, self.rate, self.noise_shape) if training else x

    def _call_symbolic(self, inputs, explicit_mask=None):
        if self.noise_shape is None:
            return super()._call_symbolic(inputs, explicit_mask)
        from eigennet.layers import tracing

        if not self.built:
            self.build(inputs.shape)
        (out,) = self._record_trace(*tracing.trace_call(self, (inputs,), {}, self._shared_draws))
        mask = inputs._keras_mask if explicit_mask is None else explicit_mask
        self._propagate_mask(inputs, mask, [out])
        return out

    def _shared_draws(self, inputs):
        """Dropout with one draw shared along the noise shape's axes of length 1: the native
        random op, which drops in training only."""
        return random.dropout(inputs, self.rate, self.noise_shape, seed=self._noise_seed)

    def _make_core(self, dtype):
        seed = self.seed if self.seed is not None else _random.next_seed()
        return getattr(_core, f"Dropout_{dtype}")(self.rate, seed)

    def _extra_state(self):
        if not self.built:
            return {}
        return {"rng_state": np.array(self._core.rng_state, dtype=np.uint64)}

    def _set_extra_state(self, state):
        seed, draws = (int(v) for v in state["rng_state"])
        self._core.rng_state = (seed, draws)

    def get_config(self):
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise, "seed": self.seed}


def checked_noise_shape(noise_shape) -> tuple:
    try:
        noise = tuple(noise_shape)
    except TypeError:
        raise ValueError(f"Dropout noise_shape must be a tuple, got {noise_shape!r}") from None
    for d in noise:
        if d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1):
            raise ValueError(
                f"Dropout noise_shape entries must be None or positive ints, got {noise_shape!r}"
            )
    return tuple(None if d is None else int(d) for d in noise)
