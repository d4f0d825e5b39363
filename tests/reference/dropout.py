"""NumPy reference of Dropout: the core's counter-based mask, reproduced bit for bit."""

import numpy as np

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def uniform01(seed: int, draw: int, n: int) -> np.ndarray:
    """The n uniforms of one draw: 24 random bits each, as float32."""
    with np.errstate(over="ignore"):
        index = np.arange(n, dtype=np.uint64)
        bits = _mix64(np.uint64(seed) ^ _mix64(np.uint64(draw) * _GOLDEN + index))
    return (bits >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / 16777216.0)


def keep(seed: int, draw: int, shape, rate: float) -> np.ndarray:
    """True where a value survives."""
    return (uniform01(seed, draw, int(np.prod(shape))) >= np.float32(rate)).reshape(shape)


def forward(x, seed, draw, rate):
    """Keras: x / keep_prob where kept, keep_prob = 1 - rate in the input's dtype."""
    if rate == 1:
        return np.zeros_like(x)
    kept = keep(seed, draw, x.shape, rate)
    return np.where(kept, x / x.dtype.type(1.0 - rate), x.dtype.type(0))


backward = forward  # d(x / keep_prob)/dx where kept, 0 elsewhere: the same map applied to dy
