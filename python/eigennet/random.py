"""`keras.random`: random tensors, dropout and shuffling, and `SeedGenerator`.

Eagerly (on shapes and arrays) each function returns a NumPy array. On symbolic tensors, or
inside a traced `call()` (a custom layer's, a subclassed model's, a Python loss's), it records
a native random op that draws new values at every forward (every batch) from a counter-based
generator (the Dropout layer's: the values do not depend on the thread count).

Seeds follow Keras 3: `seed` is an int (eagerly: the same values at every call), a
`SeedGenerator` (new values at every call, reproducible from its seed) or None (the global
stream that `eigennet.utils.set_random_seed` resets). A native op takes one seed when it is
recorded and then advances its own stream batch by batch.

eigennet's differences: `dropout` on symbolic tensors drops only in training (`fit`) and is the
identity in `predict`/`evaluate`, like the Dropout layer; the native ops' streams restart from
their seeds when a model is loaded (their position is not saved, unlike the Dropout layer's);
symbolic draws compute in the model's float dtype (`randint` gives whole numbers as floats).
"""

from __future__ import annotations

import numpy as np

from eigennet import _random, config
from eigennet.layers.keras_tensor import KerasTensor

__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "dropout",
    "gamma",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]


class SeedGenerator:
    """A stream of seeds: each random call given it draws with the next one, so repeated calls
    differ while the whole sequence is reproducible from `seed` (None: from the global stream
    of `eigennet.utils.set_random_seed`)."""

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs):
        if seed is None:
            seed = _random.next_seed()
        elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(
                f"SeedGenerator: seed must be a non-negative integer or None, got {seed!r}"
            )
        self._initial_seed = int(seed)
        self.name = name or "seed_generator"
        # Keras's layout: (seed, calls so far).
        self.state = np.array([self._initial_seed, 0], dtype=np.int64)

    def next(self, ordered: bool = True) -> int:
        """The next seed (a 63-bit int), advancing the generator."""
        seed, count = (int(v) for v in self.state)
        self.state[1] += 1
        return int(np.random.default_rng([seed, count]).integers(1, 2**63 - 1))

    def get_config(self) -> dict:
        return {"seed": self._initial_seed}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator seed={self._initial_seed}>"


def _seed(seed) -> int:
    """An int seed for one call (Keras's draw_seed): an int as is, a SeedGenerator's next, or
    the global stream's next."""
    if seed is None:
        return _random.next_seed()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(
            f"seed must be a non-negative int, a keras.random.SeedGenerator or None, got {seed!r}"
        )
    return int(seed)


def _shape(shape, what: str) -> tuple:
    """`shape` as a tuple of ints, None allowed only first (the batch axis)."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(None if d is None else int(d) for d in shape)
    except TypeError:
        raise TypeError(f"random.{what}: shape must be a tuple of ints, got {shape!r}") from None
    for i, d in enumerate(dims):
        if (d is None and i != 0) or (d is not None and d < 0):
            raise ValueError(
                f"random.{what}: invalid shape {shape!r} (only the first axis, the batch, may "
                "be None)"
            )
    return dims


def _reference() -> KerasTensor | None:
    """While a call() is traced: a symbolic tensor of the trace (a batched one if any) that a
    draw reads for its batch size; None when not tracing."""
    from eigennet.ops import symbolic

    return symbolic.batch_reference() if symbolic.tracing_layer() is not None else None


def _draw(kind: str, shape, a: float, b: float, dtype, seed, eager):
    dims = _shape(shape, kind)
    reference = _reference()
    if reference is None:
        if None in dims:
            raise ValueError(
                f"random.{kind}: shape {dims} has a batch axis (None); outside a layer's traced "
                "call() give a concrete shape, or draw inside call() (a custom layer or "
                "layers.Lambda)"
            )
        dtype = config.floatx() if dtype is None else str(np.dtype(dtype))
        return np.asarray(eager(np.random.default_rng(_seed(seed)), dims), dtype=dtype)
    from eigennet.ops.symbolic import record

    full = [-1 if d is None else d for d in dims]
    return record(f"random_{kind}", "RandomOp", [reference], kind, full, _seed(seed), a, b)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Values from the normal distribution N(mean, stddev**2)."""
    mean, stddev = float(mean), float(stddev)
    return _draw("normal", shape, mean, stddev, dtype, seed, lambda g, s: g.normal(mean, stddev, s))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Values uniform in [minval, maxval)."""
    minval, maxval = float(minval), float(maxval)
    if not minval < maxval:
        raise ValueError(f"random.uniform: minval {minval} must be less than maxval {maxval}")
    return _draw(
        "uniform", shape, minval, maxval, dtype, seed, lambda g, s: g.uniform(minval, maxval, s)
    )


def _truncated(g, mean: float, stddev: float, shape) -> np.ndarray:
    out = g.normal(size=shape)
    bad = np.abs(out) > 2
    while bad.any():  # redraw beyond 2 stddev, as Keras
        out[bad] = g.normal(size=int(bad.sum()))
        bad = np.abs(out) > 2
    return mean + stddev * out


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal values, those more than two standard deviations from the mean redrawn."""
    mean, stddev = float(mean), float(stddev)
    return _draw(
        "truncated_normal",
        shape,
        mean,
        stddev,
        dtype,
        seed,
        lambda g, s: _truncated(g, mean, stddev, s),
    )


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers uniform in [minval, maxval) (symbolically: whole numbers in the model's float
    dtype)."""
    minval, maxval = int(minval), int(maxval)
    if not minval < maxval:
        raise ValueError(f"random.randint: minval {minval} must be less than maxval {maxval}")
    dtype = "int32" if dtype is None else dtype
    return _draw(
        "randint",
        shape,
        float(minval),
        float(maxval),
        dtype,
        seed,
        lambda g, s: g.integers(minval, maxval, s),
    )


def _noise_shape(noise_shape, shape: tuple) -> tuple:
    """Keras's rule: None entries take the inputs' sizes."""
    if noise_shape is None:
        return tuple(shape)
    noise = tuple(noise_shape)
    if len(noise) != len(shape):
        raise ValueError(
            f"random.dropout: noise_shape {noise_shape} must have the inputs' rank {len(shape)}"
        )
    return tuple(s if n is None else int(n) for n, s in zip(noise, shape))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Each value zeroed with probability `rate`, the others divided by `1 - rate`; with
    `noise_shape`, one draw is shared along its axes of length 1. On symbolic tensors it drops
    in training only (the Dropout layer's rule)."""
    rate = float(rate)
    if not 0 <= rate <= 1:
        raise ValueError(f"random.dropout: rate must be in [0, 1], got {rate}")
    from eigennet.ops import symbolic

    if symbolic.is_symbolic(inputs):
        t = symbolic.operand(inputs, symbolic.dtype_of(inputs))
        noise = _noise_shape(noise_shape, t.shape)
        full = [-1 if n is None else n for n in noise]
        return symbolic.record("dropout", "DropoutOp", [t], rate, full, _seed(seed))
    x = np.asarray(inputs)
    if x.dtype.kind != "f":
        x = x.astype(config.floatx())
    noise = _noise_shape(noise_shape, x.shape)
    keep = np.random.default_rng(_seed(seed)).uniform(size=noise) >= rate
    if rate == 1:
        return np.zeros_like(x)
    return np.where(keep, x / x.dtype.type(1 - rate), x.dtype.type(0)).astype(x.dtype)


def shuffle(x, axis: int = 0, seed=None):
    """`x` with its entries along `axis` in a random order."""
    from eigennet.ops import symbolic

    if symbolic.is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        if not -len(t.shape) <= int(axis) < len(t.shape):
            raise ValueError(f"random.shuffle: axis {axis} is out of range for {t.shape}")
        return symbolic.record("shuffle", "ShuffleOp", [t], int(axis), _seed(seed))
    x = np.asarray(x)
    if not -x.ndim <= int(axis) < max(x.ndim, 1):
        raise ValueError(f"random.shuffle: axis {axis} is out of range for shape {x.shape}")
    return np.random.default_rng(_seed(seed)).permutation(x, axis=int(axis))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """`num_samples` class indices per row of `logits` (batch, classes), drawn with the
    probabilities softmax(logits) gives (a class of logit -inf is never drawn): shape
    (batch, num_samples). Inside a traced call() it records Gumbel-max draws (native uniform
    noise, then argmax), new at every batch."""
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise ValueError(f"random.categorical: num_samples must be an int, got {num_samples!r}")
    if num_samples < 1:
        raise ValueError(f"random.categorical: num_samples must be positive, got {num_samples}")
    from eigennet import ops
    from eigennet.ops import symbolic

    if symbolic.is_symbolic(logits):
        shape = ops.shape(logits)
        if len(shape) != 2:
            raise ValueError(f"random.categorical: logits must be 2-D, got shape {shape}")
        tiny = float(np.finfo(np.float32).tiny)
        u = uniform((shape[0], int(num_samples), shape[1]), tiny, 1.0, seed=seed)
        gumbel = -ops.log(-ops.log(u))
        return ops.argmax(ops.expand_dims(logits, 1) + gumbel, axis=-1)
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"random.categorical: logits must be 2-D, got shape {z.shape}")
    if np.isnan(z).any() or np.isposinf(z).any():
        raise ValueError("random.categorical: logits contain NaN or +inf")
    if z.shape[1] == 0 or np.isneginf(z).all(axis=1).any():
        raise ValueError("random.categorical: every row needs a class with a finite logit")
    p = np.exp(z - z.max(axis=1, keepdims=True))
    cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = np.random.default_rng(_seed(seed)).uniform(size=(z.shape[0], int(num_samples)))
    drawn = (cdf[:, None, :] <= u[..., None]).sum(axis=-1)  # the first class whose cdf > u
    last = z.shape[1] - 1 - np.argmax(np.isfinite(z[:, ::-1]), axis=1)  # (rounding at 1)
    return np.minimum(drawn, last[:, None]).astype(dtype)


def _eager_only(what: str):
    if _reference() is not None:
        raise ValueError(
            f"random.{what} draws on arrays only: inside a traced call() use normal, uniform, "
            "truncated_normal, randint, dropout, shuffle or categorical"
        )


def gamma(shape, alpha, dtype=None, seed=None):
    """Values from the gamma distribution of shape parameter `alpha` (scale 1)."""
    _eager_only("gamma")
    if not float(alpha) > 0:
        raise ValueError(f"random.gamma: alpha must be positive, got {alpha}")
    dims = _shape(shape, "gamma")
    dtype = config.floatx() if dtype is None else str(np.dtype(dtype))
    return np.random.default_rng(_seed(seed)).gamma(float(alpha), size=dims).astype(dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):  # noqa: A002 (Keras's names)
    """Values from the beta distribution of parameters `alpha` and `beta`."""
    _eager_only("beta")
    if not (float(alpha) > 0 and float(beta) > 0):
        raise ValueError(f"random.beta: alpha and beta must be positive, got {alpha}, {beta}")
    dims = _shape(shape, "beta")
    dtype = config.floatx() if dtype is None else str(np.dtype(dtype))
    g = np.random.default_rng(_seed(seed))
    return g.beta(float(alpha), float(beta), size=dims).astype(dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """The number of successes in `counts` trials of success probability `probabilities`
    (broadcast to `shape`), as floats of `dtype`."""
    _eager_only("binomial")
    p = np.asarray(probabilities, dtype=np.float64)
    n = np.asarray(counts)
    if np.any((p < 0) | (p > 1)) or np.any(n < 0) or np.any(n != np.floor(n)):
        raise ValueError(
            "random.binomial: counts must be whole numbers >= 0, probabilities in [0, 1]"
        )
    dims = _shape(shape, "binomial")
    dtype = config.floatx() if dtype is None else str(np.dtype(dtype))
    g = np.random.default_rng(_seed(seed))
    draws = g.binomial(np.broadcast_to(n.astype(np.int64), dims), np.broadcast_to(p, dims))
    return draws.astype(dtype)
