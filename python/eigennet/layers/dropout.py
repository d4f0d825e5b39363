"""Dropout layer."""

from __future__ import annotations

import numpy as np

from eigennet import _core, _random
from eigennet.layers.layer import Layer


class Dropout(Layer):
    """Randomly sets inputs to 0 with frequency `rate` during training, scaling the others by
    `1 / (1 - rate)` so that the expected sum is unchanged; the identity in inference
    (`predict`, `evaluate`, `model(x)`).

    Args:
        rate: Float in [0, 1], the fraction of inputs to drop.
        noise_shape: Not supported yet (must be None: every value gets its own draw).
        seed: Optional int; without one the seed comes from `eigennet.utils.set_random_seed`'s
            stream, so seeded programs stay reproducible.

    Input shape: any. Output shape: the same.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout rate must be a float in [0, 1], got {rate!r}")
        if noise_shape is not None:
            raise ValueError("Dropout(noise_shape=...) is not supported yet")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.rate, self.noise_shape, self.seed = float(rate), None, seed

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
        return {**super().get_config(), "rate": self.rate, "noise_shape": None, "seed": self.seed}
