"""The Layer base class and Variable, a view of one weight tensor in the native core."""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from eigennet import _core, config, regularizers

_name_counts: dict[str, int] = defaultdict(int)


def unique_name(prefix: str) -> str:
    """Keras-style auto names: dense, dense_1, dense_2, ..."""
    count = _name_counts[prefix]
    _name_counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def snake_case(name: str) -> str:
    """Keras's layer-name rule: Dense -> dense, InputLayer -> input_layer, Conv2D -> conv2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def normalize_shape(shape, what: str = "shape") -> tuple[int, ...]:
    """A sample shape (no batch axis) as a tuple of positive ints."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of positive integers, got {shape!r}") from None
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d <= 0:
            raise ValueError(f"{what} must be a tuple of positive integers, got {shape!r}")
    return tuple(int(d) for d in shape)


def dtype_from_config(config: dict) -> dict:
    """A config whose dtype is a name: Keras writes a DTypePolicy dict instead."""
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        name = (dtype.get("config") or {}).get("name")
        if dtype.get("class_name") != "DTypePolicy" or name not in ("float32", "float64"):
            raise ValueError(f"Unsupported dtype policy {dtype!r}: use float32 or float64")
        config = {**config, "dtype": name}
    return config


def assign_all(owner: str, variables: list, values) -> None:
    """Sets every variable or none: all values are checked before the first write."""
    values = list(values)
    if len(values) != len(variables):
        raise ValueError(f"{owner} expects {len(variables)} weight arrays, got {len(values)}")
    checked = [var._checked(value) for var, value in zip(variables, values)]
    for var, value in zip(variables, checked):
        var._layer._params[var._slice] = value.ravel()


class Variable:
    """One weight tensor of a built layer (e.g. a Dense kernel). It reads and writes the
    layer's parameters in the native core: `numpy()` returns a copy, `assign` writes."""

    def __init__(
        self, layer: Layer, name: str, shape: tuple, offset: int, size: int, trainable: bool
    ):
        self._layer, self.name, self.shape = layer, name, tuple(shape)
        self._slice = slice(offset, offset + size)
        self._trainable = trainable  # False for state such as batch-norm moving statistics

    @property
    def path(self) -> str:
        return f"{self._layer.name}/{self.name}"

    @property
    def dtype(self) -> str:
        return str(self._layer._params.dtype)

    @property
    def trainable(self) -> bool:
        return self._trainable and self._layer.trainable

    def _view(self) -> np.ndarray:
        """A writable view of the weight's memory in the core (for the optimizer)."""
        return self._layer._params[self._slice].reshape(self.shape)

    def numpy(self) -> np.ndarray:
        return self._layer._params[self._slice].reshape(self.shape).copy()

    @property
    def value(self) -> np.ndarray:
        return self.numpy()

    def _checked(self, value) -> np.ndarray:
        value = np.asarray(value)
        if value.shape != self.shape:
            raise ValueError(
                f"Cannot assign a value of shape {value.shape} to variable "
                f"{self.path} of shape {self.shape}"
            )
        if not np.issubdtype(value.dtype, np.number):
            raise TypeError(
                f"Cannot assign non-numeric values (dtype {value.dtype}) to {self.path}"
            )
        if not np.all(np.isfinite(value)):
            raise ValueError(f"Cannot assign NaN or inf to {self.path}")
        return value

    def assign(self, value) -> None:
        self._layer._params[self._slice] = self._checked(value).ravel()

    def __array__(self, dtype=None, copy=None):
        return self.numpy() if dtype is None else self.numpy().astype(dtype)

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"


class Layer:
    """Base layer. A layer is configured in Python and, once built for an input shape,
    computes in the native core. Subclasses implement `_make_core(dtype)` and
    `_initialize(weights)`, and report their config."""

    def __init__(
        self,
        name: str | None = None,
        trainable: bool = True,
        dtype=None,
        input_shape=None,
        input_dim=None,
        activity_regularizer=None,
        **kwargs,
    ):
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword argument(s) passed to {type(self).__name__}: "
                f"{', '.join(sorted(kwargs))}"
            )
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a string, got {name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._core = None
        self.trainable = bool(trainable)
        if dtype is not None and str(np.dtype(dtype)) not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        self._dtype = None if dtype is None else str(np.dtype(dtype))
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        self._input_shape_arg = (
            None if input_shape is None else normalize_shape(input_shape, "input_shape")
        )
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._params = None
        self._eager_network = None  # runs `layer(x)`: its own copy of the layer (see __call__)
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None

    @property
    def trainable(self) -> bool:
        """Whether training updates this layer's weights. Read at every training step, as in
        Keras 3 (no recompile needed); a frozen BatchNormalization also runs in inference
        mode."""
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self._trainable = bool(value)
        if self._core is not None:
            self._core.trainable = self._trainable

    # -- building --------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self._core is not None

    @property
    def dtype(self) -> str:
        return self._dtype or config.floatx()

    def build(self, input_shape) -> None:
        """Creates the weights for inputs of `input_shape` (batch axis first, may be None)."""
        if self.built:
            return
        sample_shape = normalize_shape(tuple(input_shape)[1:], "input shape")
        core = self._make_core(self.dtype)
        try:
            out = core.build(list(sample_shape))
        except MemoryError as e:
            raise MemoryError(
                f"Layer {self.name!r} on inputs {(None, *sample_shape)}: {e}"
            ) from None
        core.set_regularizers(
            [regularizers.native(r) for r in self._weight_regularizers()],
            regularizers.native(self.activity_regularizer),
        )
        core.trainable = self._trainable
        self._core = core
        self._params = core.params()
        self.input_shape = (None, *sample_shape)
        self.output_shape = (None, *out)
        self._initialize()

    def _make_core(self, dtype: str):
        raise NotImplementedError

    def _weight_regularizers(self) -> list:
        """One regularizer (or None) per weight, in weights order."""
        return []

    def _initialize(self) -> None:
        """Fills the freshly built weights (zeros in the core) from the initializers."""

    def _check_input(self, x, what: str) -> None:
        """Checks a model's input array when this layer comes first (e.g. index ranges)."""

    def compute_output_shape(self, input_shape) -> tuple:
        if not self.built:
            self.build(input_shape)
        return (tuple(input_shape)[0], *self.output_shape[1:])

    # -- weights ---------------------------------------------------------------------
    @property
    def weights(self) -> list[Variable]:
        if not self.built:
            return []
        return [Variable(self, *spec) for spec in self._core.weights()]

    @property
    def trainable_weights(self) -> list[Variable]:
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [w for w in self.weights if not w.trainable]

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights) -> None:
        assign_all(f"Layer {self.name!r}", self.weights, weights)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"Layer {self.name!r} is not built yet, so its weights do not exist")
        return int(self._core.param_count)

    # -- inference -------------------------------------------------------------------
    def __call__(self, inputs, training: bool = False):
        """Applies the layer to a NumPy batch and returns the result. It runs in a native
        network of this layer alone, with its own per-call buffers, so it is safe while a
        model holding the layer trains in another thread."""
        from eigennet.models import data as data_utils  # array conversion and checks only

        if not self.built:
            arr = data_utils._numeric(inputs, "inputs")
            if arr.ndim < 2:
                data_utils.as_features(arr, "float32", "inputs")  # raises the rank error
            self.build((None, *arr.shape[1:]))
        x = data_utils.as_features(inputs, self.dtype, "inputs")
        if x.shape[1:] != tuple(self.input_shape[1:]):
            raise ValueError(
                f"Layer {self.name!r} expects inputs of shape {self.input_shape}, got "
                f"{(None, *x.shape[1:])}"
            )
        self._check_input(x, "inputs")
        if self._eager_network is None:
            self._eager_network = getattr(_core, f"Graph_{self.dtype}").chain([self._core])
        out = np.empty((len(x), *self.output_shape[1:]), dtype=self.dtype)
        self._eager_network.predict(x, max(len(x), 1), out, None, bool(training))
        return out

    # -- state beyond the weights -------------------------------------------------------
    def _extra_state(self) -> dict[str, np.ndarray]:
        """Arrays besides the weights that decide what the layer computes next (e.g.
        Dropout's random stream), saved with the model. Empty for most layers."""
        return {}

    def _set_extra_state(self, state: dict[str, np.ndarray]) -> None:
        """Restores what `_extra_state` returned (keys and shapes already checked)."""

    # -- serialization -----------------------------------------------------------------
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.activity_regularizer is not None:  # Keras lists it only when set
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    def get_build_config(self) -> dict | None:
        """Keras's build config: the input shape, for layers that have weights."""
        if not self.built or not self.weights:
            return None
        return {"input_shape": list(self.input_shape)}

    def build_from_config(self, config: dict) -> None:
        self.build(tuple(config["input_shape"]))

    @classmethod
    def from_config(cls, config: dict):
        return cls(**dtype_from_config(config))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
