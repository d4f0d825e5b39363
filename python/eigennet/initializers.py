"""Weight initializers with Keras 3's distributions.

An initializer is called as `init(shape, dtype=None)` and returns a NumPy array. With a
`seed` it returns the same values on every call; without one it draws a seed from the
global stream (`eigennet.utils.set_random_seed`).
"""

from __future__ import annotations

import math

import numpy as np

from eigennet import _core, _random, config

# stddev of a unit normal truncated to [-2, 2] (Keras's correction constant)
_TRUNCATED_STDDEV = 0.87962566103423978


def _dtype(dtype) -> np.dtype:
    return np.dtype(dtype or config.floatx())


def _truncated_normal(rng: np.random.Generator, shape, mean: float, stddev: float) -> np.ndarray:
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return mean + stddev * values


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple[float, float]:
    """Keras's fan-in and fan-out of a weight shape (kernels: (..., in, out)), or the
    products of the sizes of `input_axes` and `output_axes` when both are given (an
    EinsumDense kernel's)."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return float(math.prod(shape[a] for a in input_axes)), float(
            math.prod(shape[a] for a in output_axes)
        )
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class InitialValues(np.ndarray):
    """What an initializer returns: an array that, like a Keras tensor, converts to a Python
    number when it holds one element (NumPy 2 refuses `float()` of a (1, 1) array)."""

    def __float__(self) -> float:
        return float(self.reshape(-1)[0]) if self.size == 1 else np.ndarray.__float__(self)

    def __int__(self) -> int:
        return int(self.reshape(-1)[0]) if self.size == 1 else np.ndarray.__int__(self)


class Initializer:
    """Base class: subclasses implement `__call__(shape, dtype=None)`."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__call__" in cls.__dict__:
            draw = cls.__dict__["__call__"]

            def call(self, shape, dtype=None, **kw):
                return np.asarray(draw(self, shape, dtype, **kw)).view(InitialValues)

            call.__doc__ = draw.__doc__
            cls.__call__ = call

    def __call__(self, shape, dtype=None) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


class _Seeded(Initializer):
    def __init__(self, seed: int | None = None):
        self.seed = seed

    def _rng(self) -> np.random.Generator:
        return _random.generator(self.seed)

    def get_config(self) -> dict:
        return {"seed": self.seed}


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(shape, dtype=_dtype(dtype))


class Constant(Initializer):
    """All `value` (default 0.0)."""

    def __init__(self, value: float = 0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype=_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class RandomNormal(_Seeded):
    """Normal distribution, default mean 0.0 and stddev 0.05."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return self._rng().normal(self.mean, self.stddev, shape).astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Seeded):
    """Uniform distribution on [minval, maxval), default [-0.05, 0.05)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return self._rng().uniform(self.minval, self.maxval, shape).astype(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(_Seeded):
    """Normal distribution cut at two standard deviations, default mean 0.0, stddev 0.05."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return _truncated_normal(self._rng(), shape, self.mean, self.stddev).astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(_Seeded):
    """Keras's VarianceScaling: variance `scale / n` with n from `mode`
    ("fan_in", "fan_out", "fan_avg") and `distribution` "truncated_normal",
    "untruncated_normal" or "uniform"."""

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
        input_axes=None,
        output_axes=None,
    ):
        super().__init__(seed)
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid mode {mode!r}: use fan_in, fan_out or fan_avg")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                f"Invalid distribution {distribution!r}: use truncated_normal, untruncated_normal "
                "or uniform"
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution
        # Keras 3.1x: the axes whose sizes make the fans (set by EinsumDense)
        self.input_axes, self.output_axes = input_axes, output_axes

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            values = _truncated_normal(rng, shape, 0.0, math.sqrt(variance) / _TRUNCATED_STDDEV)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, shape)
        return values.astype(_dtype(dtype))

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
            **self._axes_config(),
        }

    def _axes_config(self) -> dict:
        """The fan axes, listed (as Keras lists them) when set."""
        if self.input_axes is None and self.output_axes is None:
            return {}
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}


def _preset(name: str, scale: float, mode: str, distribution: str, doc: str):
    def __init__(self, seed: int | None = None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, **self._axes_config()}

    return type(
        name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc}
    )


GlorotUniform = _preset(
    "GlorotUniform",
    1.0,
    "fan_avg",
    "uniform",
    "Uniform in [-limit, limit], limit = sqrt(6 / (fan_in + fan_out)).",
)
GlorotNormal = _preset(
    "GlorotNormal",
    1.0,
    "fan_avg",
    "truncated_normal",
    "Truncated normal, stddev = sqrt(2 / (fan_in + fan_out)).",
)
HeNormal = _preset(
    "HeNormal", 2.0, "fan_in", "truncated_normal", "Truncated normal, stddev = sqrt(2 / fan_in)."
)
HeUniform = _preset(
    "HeUniform", 2.0, "fan_in", "uniform", "Uniform in [-limit, limit], limit = sqrt(6 / fan_in)."
)
LecunNormal = _preset(
    "LecunNormal", 1.0, "fan_in", "truncated_normal", "Truncated normal, stddev = sqrt(1 / fan_in)."
)
LecunUniform = _preset(
    "LecunUniform",
    1.0,
    "fan_in",
    "uniform",
    "Uniform in [-limit, limit], limit = sqrt(3 / fan_in).",
)


class Orthogonal(_Seeded):
    """Keras's Orthogonal: the Q of the QR factorisation of a normal matrix (signs fixed by
    R's diagonal), reshaped to `shape` (the last axis are the columns), times `gain`.
    Rows or columns are orthonormal, whichever are fewer."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal initializes tensors of rank >= 2, got shape {shape} of rank "
                f"{len(shape)}"
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q = _core.orthogonal_factor(a)  # QR with R's diagonal made positive, natively
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"seed": self.seed, "gain": self.gain}


class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(
                "Identity matrix initializer can only be used for 2D matrices. "
                f"Received: shape={tuple(shape)} of rank {len(shape)}."
            )
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))

    def get_config(self):
        return {} if self.gain == 1.0 else {"gain": self.gain}  # (Keras writes {})


_BY_NAME = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "lecun_normal": LecunNormal,
    "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal,
    "identity": Identity,
}
_BY_CLASS_NAME = {cls.__name__: cls for cls in _BY_NAME.values()}
# Keras's lowercase names of the classes: keras.initializers.he_normal(seed=1).
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal, identity = VarianceScaling, Orthogonal, Identity
OrthogonalInitializer, IdentityInitializer = Orthogonal, Identity  # Keras's other names
glorot_uniform, glorot_normal, he_normal, he_uniform = (
    GlorotUniform,
    GlorotNormal,
    HeNormal,
    HeUniform,
)
lecun_normal, lecun_uniform = LecunNormal, LecunUniform
_ALIASES = {"normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros}  # Keras's


def serialize(initializer: Initializer | None) -> dict | None:
    """Keras's serialized form: module, class_name, config, registered_name."""
    if initializer is None:
        return None
    if not isinstance(initializer, Initializer):
        raise TypeError(
            f"Cannot serialize the initializer {initializer!r}: only eigennet.initializers "
            "objects can be saved in a model config"
        )
    return {
        "module": "keras.initializers",
        "class_name": type(initializer).__name__,
        "config": initializer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict) -> Initializer:
    return get(config)


def get(identifier):
    """Returns an initializer from a name ("glorot_uniform", "GlorotUniform"), a config dict,
    an Initializer or any callable `(shape, dtype) -> array`."""
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_CLASS_NAME.get(identifier) or _ALIASES.get(identifier)
        if cls is None:
            valid = ", ".join(sorted(_BY_NAME))
            raise ValueError(f"Unknown initializer {identifier!r}. Valid initializers: {valid}")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _BY_CLASS_NAME.get(identifier["class_name"]) or _BY_NAME.get(identifier["class_name"])
        if cls is None:
            raise ValueError(f"Unknown initializer class {identifier['class_name']!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer {identifier!r}")


def fresh(initializer, **changes):
    """A new instance of `initializer` (as Keras: a seeded initializer gives each weight its
    own values rather than the same draw), with config entries replaced by `changes`."""
    if hasattr(initializer, "get_config") and hasattr(type(initializer), "from_config"):
        return type(initializer).from_config({**initializer.get_config(), **changes})
    return initializer
