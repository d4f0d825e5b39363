"""The Layer base class and Variable, a view of one weight tensor in the native core."""

from __future__ import annotations

import functools
import re
import warnings
from collections import defaultdict

import numpy as np

from eigennet import (
    _auto_config,
    _core,
    config,
    constraints,
    dtype_policies,
    regularizers,
    storage_formats,
)
from eigennet.layers import quantization, variable_axes
from eigennet.layers.keras_tensor import (
    KerasTensor,
    Node,
    check_symbolic,
    flatten,
    is_symbolic,
    record_call,
)

_name_counts: dict[str, int] = defaultdict(int)


def layer_tree(root, children) -> list:
    """root, then each child's _layer_tree() (an InputLayer's: itself), depth first, each
    layer once."""
    tree, seen = [root], {id(root)}
    for child in children:
        subtree = child._layer_tree() if hasattr(child, "_layer_tree") else [child]
        for layer in subtree:
            if id(layer) not in seen:
                seen.add(id(layer))
                tree.append(layer)
    return tree


def losses_of(tree: list, dtype: str) -> list:
    """Keras's `losses` of the layers in `tree` (a layer or model and its sublayers): what
    add_loss added in their last calls on arrays, then the penalties of the regularizers of
    their trainable weights."""
    added = [loss for layer in tree for loss in layer.__dict__.get("_eager_losses", [])]
    penalties = [
        np.asarray(regularizer(variable.numpy()), dtype=dtype)
        for layer in tree
        if hasattr(layer, "_regularized_weights")
        for variable, regularizer in layer._regularized_weights()
        if variable.trainable
    ]
    return added + penalties


def unique_name(prefix: str) -> str:
    """Keras-style auto names: dense, dense_1, dense_2, ..."""
    count = _name_counts[prefix]
    _name_counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def snake_case(name: str) -> str:
    """Keras's layer-name rule: Dense -> dense, InputLayer -> input_layer, Conv2D -> conv2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def checked_name(obj, name, unknown_kwargs: dict) -> str:
    """The name of a new layer or model (Keras's automatic one when None), after refusing
    keyword arguments its constructor does not know."""
    if unknown_kwargs:
        raise ValueError(  # (Keras 3's type and wording)
            f"Unrecognized keyword arguments passed to {type(obj).__name__}: {unknown_kwargs}"
        )
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}")
    return name or unique_name(snake_case(type(obj).__name__))


def normalize_shape(shape, what: str = "shape", variable: bool = False) -> tuple:
    """A sample shape (no batch axis) as a tuple of positive ints; with `variable`, None
    stands for an axis of variable length."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{what} must be a tuple of positive integers, got {shape!r}") from None
    for d in shape:
        if d is None and variable:
            continue
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d <= 0:
            raise ValueError(f"{what} must be a tuple of positive integers, got {shape!r}")
    return tuple(None if d is None else int(d) for d in shape)


def dtype_from_config(config: dict) -> dict:
    """A config whose dtype is a name: Keras writes a DTypePolicy dict instead."""
    dtype = config.get("dtype")
    if isinstance(dtype, dict) and dtype.get("class_name") == "QuantizedDTypePolicy":
        return config  # Layer.__init__ reads it (quantization.parse_policy)
    if isinstance(dtype, dict):
        config = {**config, "dtype": dtype_policies.deserialize(dtype).name}
    return config


def _product_precision(policy) -> str:
    """The native layer's product precision under `policy`."""
    return dtype_policies.product_precision(policy.compute_dtype)


def _shape_list(input_shape, name: str) -> list[tuple]:
    """The input shapes of a layer with several inputs (a list of shapes with batch axes)."""
    if not isinstance(input_shape, (list, tuple)) or not all(
        isinstance(s, (list, tuple)) for s in input_shape
    ):
        raise ValueError(
            f"Layer {name!r} takes a list of inputs: build it with a list of shapes, "
            f"got {input_shape!r}"
        )
    return [tuple(s) for s in input_shape]


def _described(samples: list[tuple]) -> str:
    shapes = [(None, *s) for s in samples]
    return str(shapes[0]) if len(shapes) == 1 else str(shapes)


def assign_all(owner: str, variables: list, values) -> None:
    """Sets every variable or none: all values are checked before the first write."""
    values = list(values)
    if len(values) != len(variables):
        raise ValueError(f"{owner} expects {len(variables)} weight arrays, got {len(values)}")
    checked = [var._checked(value) for var, value in zip(variables, values)]
    for var, value in zip(variables, checked):
        write_values(var, value)


def _integer_dtype(dtype: np.dtype) -> str:
    """Keras's dtype for an integer value (bool as int32 too)."""
    return "int32" if dtype.kind == "b" or dtype.itemsize <= 4 else str(dtype)


def _whole_range(dtype: str, held_in: np.dtype) -> tuple[int, int]:
    """The whole numbers an integer variable of `dtype` holds exactly in its float storage."""
    info = np.iinfo(dtype)
    exact = 2 ** (np.finfo(held_in).nmant + 1)
    return max(int(info.min), -exact), min(int(info.max), exact)


def _dtype_name(dtype) -> str:
    """A weight dtype's name: a NumPy dtype's, or a 16-bit float format's."""
    return dtype if storage_formats.is_format(dtype) else str(np.dtype(dtype))


def _integer_name(dtype: str) -> str | None:
    """`dtype` if it is an integer type, else None."""
    return None if storage_formats.is_format(dtype) or np.dtype(dtype).kind not in "iu" else dtype


def write_values(var, value: np.ndarray) -> None:
    """Writes a variable's values into its layer's parameter block, and tells the native layer
    (which may keep a copy derived from them: a packed int8 kernel). Every write from Python
    goes through here; a 16-bit weight's values are rounded to its format."""
    stored = getattr(var._layer, "_storage_format", None)
    if stored is not None and var.dtype == stored:  # (not an int8 kernel of such a layer)
        value = storage_formats.round_to(value, stored)
    var._layer._params[var._slice] = value.ravel()
    core = getattr(var._layer, "_core", None)
    if core is not None:
        core.params_changed()


class _Unowned:
    """What a `keras.Variable` made on its own belongs to until a layer adopts it."""

    name = ""
    trainable = True


class Variable:
    """One weight tensor (e.g. a Dense kernel), reading and writing its layer's parameters in
    the native core: `numpy()` returns a copy, `assign` writes.

    `keras.Variable(initializer, shape=None, dtype=None, trainable=True, name=None)` makes
    one on its own (a value, or an initializer and a shape). Assigned to an attribute of a
    custom layer or model (in `__init__` or `build`), it becomes that layer's weight, as
    `add_weight` would make it; an integer one is held as whole numbers, not trained."""

    def __init__(
        self,
        initializer=None,
        shape=None,
        dtype=None,
        trainable: bool = True,
        autocast: bool = True,
        aggregation: str = "none",
        synchronization: str = "auto",
        name: str | None = None,
    ):
        from eigennet import initializers
        from eigennet.layers.tracing import WeightSource

        if initializer is None:
            raise ValueError("keras.Variable needs an initializer: a value or an initializer")
        if isinstance(initializer, str) or callable(initializer):
            if shape is None:
                raise ValueError("keras.Variable: an initializer needs a `shape` (or pass a value)")
            shape = normalize_shape(shape, "Variable shape") if shape else ()
            float_type = (
                config.floatx()
                if dtype is None
                else storage_formats.native_dtype(_dtype_name(dtype))
            )
            value = np.asarray(initializers.get(initializer)(shape, dtype=float_type))
        else:
            value = np.asarray(initializer)
            if shape is not None and tuple(shape) != value.shape:
                raise ValueError(
                    f"keras.Variable: the initial value has shape {value.shape}, not {shape}"
                )
        if dtype is None and value.dtype.kind in "fiub":
            dtype = config.floatx() if value.dtype.kind == "f" else _integer_dtype(value.dtype)
        dtype = _dtype_name(dtype if dtype is not None else value.dtype)
        if not storage_formats.is_format(dtype) and np.dtype(dtype).kind not in "fiu":
            raise ValueError(f"keras.Variable: dtype must be a float or integer, got {dtype!r}")
        integer = _integer_name(dtype)
        if integer and trainable:
            raise ValueError(
                f"keras.Variable: an {integer} variable cannot be trainable; pass trainable=False"
            )
        core = config.floatx() if integer else dtype  # (a 16-bit one: float32, rounded)
        WeightSource(_Unowned(), name or "variable", value.shape, core, bool(trainable),
                     integer=integer, variable=self)  # fmt: skip
        self.assign(value.astype(integer) if integer else value)  # (booleans as 0 and 1)

    @classmethod
    def _at(cls, layer, name: str, shape: tuple, offset: int, size: int, trainable: bool,
            variable=None):  # fmt: skip
        """The variable of `layer`'s parameters [offset, offset + size) (or `variable` made
        to be it)."""
        self = variable if variable is not None else cls.__new__(cls)
        self._layer, self.name, self.shape = layer, name, tuple(shape)
        self._slice = slice(offset, offset + size)
        self._trainable = trainable  # False for state such as batch-norm moving statistics
        return self

    @property
    def path(self) -> str:
        return f"{self._layer.name}/{self.name}" if self._layer.name else self.name

    @property
    def dtype(self) -> str:
        special = getattr(self._layer, "_weight_dtypes", dict)()  # (owners besides Layer)
        stored = getattr(self._layer, "_storage_format", None)
        return special.get(self.name) or stored or str(self._layer._params.dtype)

    @property
    def trainable(self) -> bool:
        return self._trainable and self._layer.trainable

    @property
    def constraint(self):
        """The constraint applied after each optimizer step that updates the variable."""
        owned = getattr(self._layer, "_weight_constraints", list)()
        index = [w.name for w in self._layer.weights].index(self.name)
        return owned[index] if index < len(owned) else None

    def _view(self) -> np.ndarray:
        """A writable view of the weight's memory in the core (for the optimizer)."""
        return self._layer._params[self._slice].reshape(self.shape)

    def numpy(self) -> np.ndarray:
        value = self._layer._params[self._slice].reshape(self.shape)
        if storage_formats.is_format(self.dtype):  # float16, or Keras's bfloat16 type
            return storage_formats.as_reported(value, self.dtype)
        return value.astype(self.dtype)  # a copy; int8 for a quantized kernel

    @property
    def value(self) -> np.ndarray:
        return self.numpy()

    def _checked(self, value) -> np.ndarray:
        value = np.asarray(value)
        if storage_formats.is_bfloat16_array(value):  # ml_dtypes' type (Keras's get_weights)
            value = value.astype(np.float32)
        if value.shape != self.shape:
            raise ValueError(
                f"Cannot assign a value of shape {value.shape} to variable "
                f"{self.path} of shape {self.shape}"
            )
        if not np.issubdtype(value.dtype, np.number):
            raise TypeError(
                f"Cannot assign non-numeric values (dtype {value.dtype}) to {self.path}"
            )
        if _integer_name(self.dtype):
            low, high = _whole_range(self.dtype, self._layer._params.dtype)
            if not (np.all(value == np.rint(value)) and np.all((value >= low) & (value <= high))):
                raise ValueError(
                    f"Cannot assign to the {self.dtype} variable {self.path}: values must be "
                    f"whole numbers in [{low}, {high}]"
                )
        if not np.all(np.isfinite(value)):  # allowed, as Keras and as loading a file
            warnings.warn(f"Assigning NaN or inf to {self.path}", UserWarning, stacklevel=4)
        return value

    def assign(self, value) -> None:
        from eigennet.ops import symbolic

        if symbolic.record_assignment(self, value):  # inside a metric's traced update_state
            return
        write_values(self, self._checked(value))

    def assign_add(self, value) -> None:
        """`self += value` (recorded inside a metric's traced update_state)."""
        self.assign(self + value)

    def assign_sub(self, value) -> None:
        """`self -= value` (recorded inside a metric's traced update_state)."""
        self.assign(self - value)

    def __array__(self, dtype=None, copy=None):
        return self.numpy() if dtype is None else self.numpy().astype(dtype)

    def _symbolic(self):
        """The weight as an operand of ops inside a traced call(): a custom layer's own
        weight, or a view of a built-in layer's (e.g. a tied embedding table)."""
        if hasattr(self._layer, "tensor"):
            return self._layer.tensor()
        from eigennet.layers.tracing import WeightView

        index = [w.name for w in self._layer.weights].index(self.name)
        return WeightView.of(self._layer, index).tensor()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"

    # Arithmetic is keras.ops: on values outside a traced call(), on the weight inside one.
    def _op(self, name: str, *operands):
        from eigennet import ops

        return getattr(ops, name)(*operands)

    def __add__(self, other):
        return self._op("add", self, other)

    def __radd__(self, other):
        return self._op("add", other, self)

    def __sub__(self, other):
        return self._op("subtract", self, other)

    def __rsub__(self, other):
        return self._op("subtract", other, self)

    def __mul__(self, other):
        return self._op("multiply", self, other)

    def __rmul__(self, other):
        return self._op("multiply", other, self)

    def __truediv__(self, other):
        return self._op("divide", self, other)

    def __rtruediv__(self, other):
        return self._op("divide", other, self)

    def __pow__(self, other):
        return self._op("power", self, other)

    def __matmul__(self, other):
        return self._op("matmul", self, other)

    def __rmatmul__(self, other):
        return self._op("matmul", other, self)

    def __neg__(self):
        return self._op("negative", self)

    def __getitem__(self, key):
        return self._op("get_item", self, key)


class Layer(storage_formats.VariableDtypes):
    """Base layer. A layer is configured in Python and, once built for an input shape,
    computes in the native core. Subclasses implement `_make_core(dtype)` and
    `_initialize(weights)`, and report their config."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Keras: a layer that defines compute_mask supports masking unless it says otherwise.
        if "compute_mask" in cls.__dict__ and "supports_masking" not in cls.__dict__:
            cls.supports_masking = True
        # A custom layer's build() runs once and marks the layer built, however it is reached
        # (its first call, Sequential, build_from_config or the user), as Keras's wrapper does.
        if "build" in cls.__dict__ and cls.call is not Layer.call:
            user_build = cls.__dict__["build"]

            @functools.wraps(user_build)
            def build(self, *args, **kw):
                if self._built:
                    return None
                result = user_build(self, *args, **kw)
                self._built = True
                if self.input_shape is None and args:
                    self.input_shape = args[0]
                return result

            cls.build = build

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        # For a custom layer's default get_config (see _auto_config).
        instance.__dict__["_auto_config"] = _auto_config.capture(cls, args, kwargs)
        return instance

    def __init__(
        self,
        name: str | None = None,
        trainable: bool = True,
        dtype=None,
        input_shape=None,
        input_dim=None,
        activity_regularizer=None,
        autocast: bool = True,  # Keras's mixed-precision flag (in its configs): no effect here
        **kwargs,
    ):
        self.name = checked_name(self, name, kwargs)
        self._core = None
        # Keras's quantized dtype policy ("int8_from_float32"): the float dtype and the mode.
        dtype, self._quantization_mode = quantization.parse_policy(dtype)
        self.trainable = bool(trainable)
        # The dtype policy; None follows floatx() when no global policy was set.
        if dtype is None and dtype_policies.global_policy_was_set():
            dtype = dtype_policies.dtype_policy()
        self._policy = None if dtype is None else dtype_policies.get(dtype)
        if self._policy is not None and self._policy.quantization_mode is not None:
            self._quantization_mode = self._policy.quantization_mode
            self._policy = dtype_policies.get(self._policy.variable_dtype)
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        self._input_shape_arg = (
            None
            if input_shape is None
            else normalize_shape(input_shape, "input_shape", variable=True)
        )
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._params = None
        self._eager_network = None  # runs `layer(x)`: its own copy of the layer (see __call__)
        self._inbound_nodes: list[Node] = []  # its calls on symbolic tensors, in order
        # A custom layer (one that defines call()): its add_weight weights, its built flag and
        # the trace a Sequential model runs (see tracing.py).
        self._own_weights: list = []
        self._built = False
        self._standalone_trace = None
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
        for layer in self.__dict__.get("_tracked_layers", []):  # Keras sets sublayers' too
            layer.trainable = self._trainable

    # -- custom layers: sublayers tracked, weights made by add_weight, call() traced -------
    @property
    def _traced(self) -> bool:
        """Whether this is a custom layer whose call() is traced into the graph."""
        return type(self).call is not Layer.call

    def call(self, *args, **kwargs):
        """A custom layer's computation, written with sublayers and keras.ops."""
        raise NotImplementedError(f"Layer {type(self).__name__} does not define call()")

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, Variable) and isinstance(value._layer._owner, _Unowned):
            self._adopt(value)
        if not name.startswith("_"):
            found = [v for v in (value if isinstance(value, (list, tuple)) else [value])
                     if isinstance(v, Layer) or hasattr(v, "_expand")]  # fmt: skip
            tracked = self.__dict__.setdefault("_tracked_layers", [])
            for layer in found:
                if all(layer is not t for t in tracked):
                    tracked.append(layer)
        super().__setattr__(name, value)

    def add_weight(
        self,
        shape=None,
        initializer=None,
        dtype=None,
        trainable: bool = True,
        autocast: bool = True,
        regularizer=None,
        constraint=None,
        aggregation: str = "none",
        overwrite_with_gradient: bool = False,
        name: str | None = None,
    ) -> Variable:
        """A new weight of this custom layer (Keras 3's signature): filled by `initializer`
        (glorot_uniform by default), trained unless `trainable=False`, penalized by
        `regularizer`. Inside call() it is an operand of keras.ops."""
        from eigennet import initializers
        from eigennet.layers.tracing import WeightSource

        constraint = constraints.get(constraint)
        if self._built and not _tracing_layer(self):
            raise ValueError(
                f"Layer {self.name!r}: add_weight after the layer was built; make weights in "
                "build() (or __init__)"
            )
        shape = normalize_shape(shape, "add_weight shape") if shape else ()  # None: a scalar
        dtype = self.dtype if dtype is None else _dtype_name(dtype)
        integer = _integer_name(dtype)  # whole numbers, held in the layer's float dtype
        if integer and trainable:
            raise ValueError(f"add_weight: an {integer} weight cannot be trainable")
        dtype = self.dtype if integer else dtype
        if dtype not in ("float32", "float64", *storage_formats.FORMATS):
            raise ValueError(
                "add_weight: dtype must be float32, float64, bfloat16, float16 or an integer "
                f"type, got {dtype!r}"
            )
        name = name or f"variable_{len(self._own_weights)}"
        source = WeightSource(self, name, shape, dtype, bool(trainable), integer=integer)
        init = initializers.get(initializer or ("zeros" if integer else "glorot_uniform"))
        native = source._dtype
        source.variable.assign(np.asarray(init(shape, dtype=native), dtype=native).reshape(shape))
        if regularizer is not None:
            source.regularizer = regularizers.get(regularizer)
            source._core.set_regularizers([regularizers.native(source.regularizer)],
                                          regularizers.native(None))  # fmt: skip
        if constraint is not None:
            source.constraint = constraint
            source._core.set_constraints([constraints.native(constraint)])
        self._own_weights.append(source)
        return source.variable

    def _adopt(self, var: Variable) -> None:
        """Makes a `keras.Variable` made on its own one of this custom layer's weights (the
        same object, in the layer's float dtype), as Keras tracks it."""
        from eigennet.layers.tracing import WeightSource

        if not self._traced:
            raise ValueError(
                f"Layer {self.name!r}: a keras.Variable becomes a weight of a custom layer or "
                "model (one that defines call()) only"
            )
        if self._built and not _tracing_layer(self):
            raise ValueError(
                f"Layer {self.name!r}: a keras.Variable assigned after the layer was built; "
                "make weights in build() (or __init__)"
            )
        source = var._layer
        if (source._dtype, source._storage_format) != (self._native_dtype, self._storage_format):
            value = var.numpy()
            source = WeightSource(self, var.name, var.shape, self.dtype, var._trainable,
                                  integer=source._integer, variable=var)  # fmt: skip
            var.assign(value)
        source._owner = self
        self._own_weights.append(source)

    def add_loss(self, loss) -> None:
        """Adds `loss` (a scalar computed in call() with keras.ops) to the training loss, as
        Keras: traced, it is part of the native graph, with its gradient."""
        from eigennet.ops import symbolic

        collected = symbolic.added_losses()
        if collected is not None and symbolic.is_symbolic(loss):
            value = symbolic.operand(loss, self._native_dtype)
            if value.batched or tuple(value.shape) != ():
                raise ValueError(
                    f"Layer {self.name!r}: add_loss needs a scalar (reduce with ops.mean or "
                    f"ops.sum), got shape {value.shape}"
                )
            if not value._node.inputs:  # a constant or a weight itself: a node of its own
                value = symbolic.record("add_loss", "UnaryOp", [value], "identity", 0.0, 0.0)
            collected.append(value)
            return
        self.__dict__.setdefault("_eager_losses", []).append(np.asarray(loss))

    @property
    def losses(self) -> list:
        """Keras's: what add_loss added in the last call on arrays, this layer's then its
        sublayers', then the penalties of the trainable weights' regularizers."""
        return losses_of(self._layer_tree(), self._native_dtype)

    def _layer_tree(self) -> list:
        """This layer and its sublayers, depth first, each once."""
        return layer_tree(self, self.__dict__.get("_tracked_layers", []))

    def _regularized_weights(self) -> list[tuple]:
        """(variable, regularizer) for this layer's own weights that have one."""
        if self._traced:
            owned = [(o.variable, getattr(o, "regularizer", None)) for o in self._own_weights]
        elif self.built:
            owned = list(zip(self.weights, self._weight_regularizers()))
        else:
            owned = []
        return [(v, r) for v, r in owned if r is not None]

    def _call_traced(self, *args, **kwargs):
        """A custom layer's call: traced on symbolic tensors, run directly on arrays."""
        from eigennet.layers import tracing

        if not args and not kwargs:
            raise ValueError(f"Layer {self.name!r} was called without inputs")
        first = args[0] if args else next(iter(kwargs.values()))
        training = kwargs.get("training")
        if "training" in kwargs and not tracing.takes_training(self.call):
            kwargs = {k: v for k, v in kwargs.items() if k != "training"}  # Keras drops it
        if not is_symbolic([args, kwargs]):
            self._build_custom(_shapes_of(first))
            for layer in self._layer_tree():  # Keras clears them all when a call starts
                layer.__dict__["_eager_losses"] = []
            result = self.call(*args, **kwargs)
            self._add_activity_penalty(flatten(result))
            return result
        self._build_custom(_shapes_of(first))
        if not _tracing_any():  # in a functional model the model's mode reaches call(), as
            training = None  # Keras 3 (training= holds inside a traced call(): Node.training)
            kwargs = {k: v for k, v in kwargs.items() if k != "training"}
        outputs = self._record_trace(*tracing.trace_call(self, args, kwargs))
        if training is not None:  # also the mode of what runs inside, as Keras's call context
            outputs[0]._node.training = bool(training)
        if self.input_shape is None:
            self.input_shape = _shapes_of(first)
        if self.output_shape is None:  # (also for a layer whose build() set input_shape)
            self.output_shape = outputs[0].shape
        mask = first._keras_mask if isinstance(first, KerasTensor) else None
        self._propagate_mask(first, mask, outputs)
        return tracing.rebuild_structure(self._inbound_nodes[-1].trace.structure, outputs)

    def _record_trace(self, tensors: list, trace) -> list:
        """Records a traced call of this layer on `tensors` (its Keras masks last); returns
        the output tensors."""
        node = Node(self, tensors, multi_input=len(tensors) - trace.mask_count > 1)
        node.mask_count = trace.mask_count
        node.trace = trace
        node.outputs = [
            KerasTensor(t.shape, t.dtype, node, k, name=self.name, batched=t.batched)
            for k, t in enumerate(trace.outputs)
        ]
        self._inbound_nodes.append(node)
        return node.outputs

    def _add_activity_penalty(self, outputs: list) -> None:
        """Keras adds a custom layer's activity penalty of every output to its losses."""
        for output in outputs:
            penalty = regularizers.activity_penalty(self.activity_regularizer, output)
            if penalty is not None:
                self.add_loss(penalty)

    def _build_custom(self, input_shape) -> None:
        if not self._built:
            self.build(input_shape)
            self._built = True

    def _build_in_stack(self, input_shape: tuple) -> tuple:
        """Builds the layer as one step of a Sequential model; returns its output shape."""
        if not self._traced:
            self.build(input_shape)
            return (None, *self._output_for([tuple(input_shape)[1:]]))
        from eigennet.layers.input_layer import Input

        out = self(Input(shape=tuple(input_shape)[1:], dtype=self._native_dtype))
        node = self._inbound_nodes[-1]
        self._standalone_trace = node.trace
        if len(node.outputs) != 1:
            raise ValueError(f"Layer {self.name!r} in a Sequential model must return one tensor")
        self.input_shape, self.output_shape = tuple(input_shape), out.shape
        return out.shape

    def _weight_owners(self, trains: bool = True) -> list[tuple]:
        """(owner, trains) for the objects whose weights are this layer's, in Keras's
        weights order: the layer itself; or a custom layer's own weights (trainable ones
        first), then its sublayers'."""
        trains = trains and self.trainable
        if not self._traced:
            return [(self, trains)]
        own = sorted(self._own_weights, key=lambda o: not o.variable._trainable)
        owners = [(o, trains) for o in own]
        for layer in self.__dict__.get("_tracked_layers", []):
            owners.extend(layer._weight_owners(trains))
        return owners

    @property
    def built(self) -> bool:
        return self._built if self._traced else self._core is not None

    @built.setter
    def built(self, value) -> None:  # custom layers' build() may say `self.built = True`
        self._built = bool(value)

    @property
    def dtype(self) -> str:
        """The dtype of the layer's variables (Keras: the policy's variable dtype)."""
        return self.dtype_policy.variable_dtype

    @property
    def dtype_policy(self):
        if self.quantization_mode is not None:
            return dtype_policies.QuantizedDTypePolicy(
                self.quantization_mode, self._float_policy.name
            )
        return self._float_policy

    @dtype_policy.setter
    def dtype_policy(self, value) -> None:
        policy = dtype_policies.get(value)
        if self.built and policy.variable_dtype != self.dtype:
            raise ValueError(
                f"Layer {self.name!r} is built with {self.dtype} variables; its dtype policy "
                f"can change the compute dtype only, got {policy.name!r}"
            )
        self._policy = policy
        if self._core is not None:  # its copies in models' graphs share the setting
            self._core.product_precision = _product_precision(policy)

    @property
    def _float_policy(self):
        """The policy without its quantization: the one given, else floatx()'s."""
        return self.__dict__.get("_policy") or dtype_policies.DTypePolicy(config.floatx())

    @property
    def compute_dtype(self) -> str:
        return self.dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self.dtype_policy.variable_dtype

    def _dtype_config(self):
        """The dtype entry of the config: a name, or Keras's policy dict for a mixed or
        quantized policy."""
        if self.quantization_mode is not None:
            return quantization.policy_config(self)
        if self.compute_dtype != self.dtype:
            return dtype_policies.serialize(self.dtype_policy)
        return self.dtype

    @property
    def quantization_mode(self) -> str | None:
        """The quantization mode of this layer ("int8"), None if not quantized."""
        return self.__dict__.get("_quantization_mode")

    def _weight_dtypes(self) -> dict[str, str]:
        """Weights whose dtype is not the layer's (a quantized kernel's int8), by name."""
        return {}

    def _requantize(self, mode: str, values: list) -> None:
        """Makes the layer again in quantization `mode` for the same inputs and sets its
        weights to `values`: a native core (see _make_core), in the new core's weights order;
        or a layer written with ops, whose build() makes its weights for the mode, in the
        order it makes them, and whose calls are traced again."""
        self._quantization_mode = mode
        if self._traced:
            build_config = self.get_build_config()
            self._own_weights = []
            self._built = False
            self.build_from_config(build_config)
            self._built = True
            assign_all(f"Layer {self.name!r}", [o.variable for o in self._own_weights], values)
            self._trace_again()
        else:
            input_shape = self.input_shape
            self._core = None
            self._eager_network = None
            self.build(input_shape)
            assign_all(f"Layer {self.name!r}", self.weights, values)
        quantization.note_requantized()  # the models running this layer rebuild their graph

    def _trace_again(self) -> None:
        """Traces every recorded call of this layer again, from the arguments its node
        keeps (after its weights changed kind: quantize)."""
        from eigennet.layers import tracing

        for node in self._inbound_nodes:
            old = getattr(node, "trace", None)
            if old is None:
                continue
            args, kwargs = self._traced_arguments(node.call_args, node._call_kwargs or {})
            kwargs = {k: v for k, v in kwargs.items() if k != "training"}
            if node.training is not None:
                kwargs["training"] = node.training
            tensors, node.trace = tracing.trace_call(self, args, kwargs)
            if [id(t) for t in tensors] != [id(t) for t in node.inputs]:
                raise RuntimeError(f"Layer {self.name!r}: a call traced again read other inputs")
            if old is self._standalone_trace:  # the call a Sequential model runs
                self._standalone_trace = node.trace

    def _traced_arguments(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """The arguments call() is traced with, from those a call was given (the same here;
        a layer whose __call__ rewrites them says how)."""
        return args, kwargs

    # Merge layers (Add, Concatenate, ...) take a list of inputs; every other layer one.
    _multi_input = False

    def build(self, input_shape) -> None:
        """Creates the weights for inputs of `input_shape` (batch axis first, may be None);
        a list of such shapes for a layer of several inputs."""
        if self._traced:  # a custom layer's build() makes its weights with add_weight
            self._built = True
            if self.input_shape is None:
                self.input_shape = input_shape
            return
        if self.built:
            return
        if self._multi_input:
            shapes = _shape_list(input_shape, self.name)
            samples = [normalize_shape(s[1:], "input shape", variable=True) for s in shapes]
            self._check_input_shapes([(None, *s) for s in samples])
        else:
            samples = [normalize_shape(tuple(input_shape)[1:], "input shape", variable=True)]
        core = self._make_core(self._native_dtype)
        core.product_precision = _product_precision(self.dtype_policy)
        core.storage_precision = self._storage_format or "float32"
        # Variable axes (None): the weights are made for the first probe length (see
        # variable_axes); copies for other lengths share them.
        first = [variable_axes.at_length(s, variable_axes.PROBES[0]) for s in samples]
        try:
            core.build_inputs([list(s) for s in first])
        except MemoryError as e:
            raise MemoryError(f"Layer {self.name!r} on inputs {_described(samples)}: {e}") from None
        core.set_regularizers(
            [regularizers.native(r) for r in self._weight_regularizers()],
            regularizers.native(self.activity_regularizer),
        )
        core.set_constraints([constraints.native(c) for c in self._weight_constraints()])
        core.trainable = self._trainable
        self._core = core
        self._copies = variable_axes.RecentCache(16)
        self._params = core.params()
        inputs = [(None, *s) for s in samples]
        self.input_shape = inputs if self._multi_input else inputs[0]
        self.output_shape = (None, *self._output_for(samples))
        self._initialize()

    def _core_for(self, samples: list[tuple]):
        """The native layer for inputs of these concrete sample shapes: the layer's own, or
        a copy sharing its weights (for another length of a variable axis)."""
        key = tuple(tuple(s) for s in samples)
        if key == tuple(tuple(s) for s in self._core.input_shapes):
            return self._core
        core = self._copies.get(key)
        if core is None:
            try:
                core = self._core.for_input_shapes([list(s) for s in key])
            except ValueError as e:
                given = [(None, *s) for s in key]
                raise ValueError(
                    f"Input of layer {self.name!r} is incompatible with the layer: it was "
                    f"built for inputs of shape {self.input_shape}, got "
                    f"{given if self._multi_input else given[0]}: {e}"
                ) from None
            self._copies.put(key, core)
        return core

    def _output_for(self, samples: list[tuple]) -> tuple:
        """The output's sample shape for inputs of these sample shapes (None in them for a
        variable axis: then the output's variable axes are None too)."""
        if not variable_axes.has_variable(samples):
            return tuple(self._core_for(samples).output_shape)
        first, second = (
            tuple(self._core_for([variable_axes.at_length(s, n) for s in samples]).output_shape)
            for n in variable_axes.PROBES
        )
        return variable_axes.merged(first, second)

    def _check_input_shapes(self, shapes: list[tuple]) -> None:
        """A multi-input layer's Keras shape rules, raising Keras's errors (before building)."""

    def _make_core(self, dtype: str):
        raise NotImplementedError

    def _weight_regularizers(self) -> list:
        """One regularizer (or None) per weight, in weights order."""
        return []

    def _weight_constraints(self) -> list:
        """One constraint (or None) per weight, in weights order (applied after each
        optimizer step)."""
        return []

    def _initialize(self) -> None:
        """Fills the freshly built weights (zeros in the core) from the initializers."""

    def _check_input(self, x, what: str) -> None:
        """Checks a model's input array when this layer comes first (e.g. index ranges)."""

    def compute_output_shape(self, input_shape) -> tuple:
        if self._traced:
            from eigennet.layers.input_layer import Input

            return self(Input(shape=tuple(input_shape)[1:], dtype=self._native_dtype)).shape
        if not self.built:
            self.build(input_shape)
        return (tuple(input_shape)[0], *self.output_shape[1:])

    # -- weights ---------------------------------------------------------------------
    @property
    def weights(self) -> list[Variable]:
        if self._traced:
            return [w for o, _ in _unique_owners(self._weight_owners()) for w in o.weights]
        if not self.built:
            return []
        return [Variable._at(self, *spec) for spec in self._core.weights()]

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
        if self._traced:
            return sum(int(np.prod(w.shape, dtype=np.int64)) for w in self.weights)
        if not self.built:
            raise ValueError(f"Layer {self.name!r} is not built yet, so its weights do not exist")
        return int(self._core.param_count)

    # -- calling ---------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        spec = self.__dict__.get("input_spec")  # (a custom layer's keras.layers.InputSpec)
        if spec is not None and args:
            from eigennet.layers.input_spec import check_inputs

            check_inputs(spec, args[0], self.name)
        calls = len(self._inbound_nodes)
        if self._traced:
            result = self._call_traced(*args, **kwargs)
        else:
            result = self._call_builtin(*args, **kwargs)
        self._note_call(calls, args, kwargs)
        return result

    def _note_call(self, calls: int, args, kwargs) -> None:
        """Keeps the arguments of the call that recorded node `calls` (if one did) on it, as
        Keras's Node does: a functional config records and replays them. A subclass whose
        `__call__` rewrites its arguments before Layer's calls this again with the user's."""
        if len(self._inbound_nodes) > calls:
            self._inbound_nodes[calls].set_call(args, kwargs)

    def _call_builtin(self, inputs, training=None, mask=None):
        """On symbolic tensors (`keras.Input` and what layers return on them): records this
        call in the functional graph and returns the symbolic output. On NumPy arrays: the
        result of the layer, computed natively in a graph of this layer alone with its own
        per-call buffers (so it is safe while a model holding the layer trains in another
        thread). A merge layer takes a list of inputs."""
        if is_symbolic(inputs) or _tracing_any():  # (inside a traced call(): constants too)
            out = self._call_symbolic(inputs, mask)
            if training is not None and _tracing_any():  # (see Node.training)
                out._node.training = bool(training)
            return out
        if mask is not None and not self._mask_input:
            passes_only = (  # its values do not depend on the mask (Dense, activations, ...)
                self.supports_masking
                and not self._needs_symbolic_call
                and type(self)._call_symbolic is Layer._call_symbolic
            )
            if not passes_only:
                raise ValueError(
                    f"Layer {self.name!r}: mask= applies to symbolic tensors (in a model); on "
                    "arrays call the model, whose masks come from its Embedding or Masking layers"
                )
            mask = None
        from eigennet.models import data as data_utils  # array conversion and checks only

        arrays = self._input_list(inputs)
        if mask is not None:  # a recurrent layer skipping masked steps: its core's 2nd input
            arrays.append(self._eager_mask(mask, arrays[0]))
        if not self.built:
            shapes = []
            for a in arrays:
                arr = data_utils._numeric(a, "inputs")
                if arr.ndim < 2:
                    data_utils.as_features(arr, "float32", "inputs")  # raises the rank error
                shapes.append((None, *arr.shape[1:]))
            self.build(shapes if self._multi_input else shapes[0])
        xs = [data_utils.as_features(a, self._native_dtype, "inputs") for a in arrays]
        expected = self.input_shape if self._multi_input else [self.input_shape]
        samples = [x.shape[1:] for x in xs]
        if len(samples) != len(expected) + (mask is not None) or any(
            len(x) != len(xs[0]) for x in xs
        ):
            got = [(len(x), *x.shape[1:]) for x in xs]
            raise ValueError(
                f"Layer {self.name!r} expects inputs of shape {self.input_shape}, got "
                f"{got if self._multi_input else got[0]}"
            )
        core = self._core_for(samples)
        self._check_input(xs[0], "inputs")
        key = tuple(samples)
        if self._eager_network is None or self._eager_network[0] != key:
            graph = getattr(_core, f"Graph_{self._native_dtype}")
            n = len(samples)
            network = graph([list(s) for s in samples], [(core, list(range(n)))], [n])
            self._eager_network = (key, network)
        x = xs[0] if len(xs) == 1 else np.concatenate([a.reshape(len(a), -1) for a in xs], 1)
        out = np.empty((len(x), *core.output_shape), dtype=self._native_dtype)
        self._eager_network[1].predict(x, max(len(x), 1), out, None, bool(training))
        after = getattr(self, "_activation_after", None)  # (see layers.activation)
        return out if after is None else after(out)

    def _eager_mask(self, mask, x) -> np.ndarray:
        """mask= of a call on arrays as the core's mask input: 0/1 per step of x."""
        mask = np.asarray(mask)
        x = np.asarray(x)
        if mask.shape != x.shape[:2] or not (mask.dtype == bool or mask.dtype.kind in "iuf"):
            raise ValueError(
                f"Layer {self.name!r}: mask= must be a boolean array of shape {x.shape[:2]} "
                f"(batch, steps), got {mask.dtype} of shape {mask.shape}"
            )
        return (mask != 0).astype(self._native_dtype)

    def _input_list(self, inputs) -> list:
        """The call's inputs as a list: a merge layer takes a list of two or more."""
        if not self._multi_input:
            return [inputs]
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) should be called on a list of "
                f"at least 2 inputs. Received: inputs={inputs!r}"
            )
        return list(inputs)

    def _call_symbolic(self, inputs, explicit_mask=None) -> KerasTensor:
        tensors = self._input_list(inputs)
        if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) and len(tensors[0]) == 1:
            tensors = list(tensors[0])  # Keras accepts [x] for a layer of one input
        what = f"Layer {self.name!r}"
        if _tracing_any():  # a constant or a weight read by a sublayer inside a traced call()
            from eigennet.ops import symbolic

            tensors = [symbolic.operand(t, self._native_dtype) for t in tensors]
        check_symbolic(what, tensors)
        shapes = [t.shape for t in tensors]
        if not self.built:
            self.build(shapes if self._multi_input else shapes[0])
        expected = self.input_shape if self._multi_input else [self.input_shape]
        if len(expected) != len(shapes):
            raise ValueError(
                f"Input of layer {self.name!r} is incompatible with the layer: it was built "
                f"for inputs of shape {self.input_shape}, got {shapes}"
            )
        # Another length of an axis is another copy of the layer (raises when the weights
        # would differ). A tensor without a batch axis (a constant, a weight) gives one: its
        # rows are its first axis.
        # A layer that consumes Keras's mask natively (recurrent) takes it as one more input.
        masks = [t._keras_mask for t in tensors]
        if explicit_mask is not None:  # layer(x, mask=m), as Keras
            masks = list(explicit_mask) if self._multi_input else [explicit_mask]
        mask = masks if self._multi_input else masks[0]
        consumed = [masks[0]] if self._mask_input and masks[0] is not None else []
        samples = [tuple(s[1:]) for s in shapes] + [tuple(m.shape[1:]) for m in consumed]
        out_sample = self._output_for(samples)
        batched = tensors[0].batched
        out_shape = (None if batched else shapes[0][0], *out_sample)
        (out,) = record_call(
            self, tensors + consumed, self._multi_input, [out_shape], self._native_dtype,
            [self.name], batched,
        )  # fmt: skip
        out._node.mask_count = len(consumed)
        self._propagate_mask(inputs, mask, [out])
        return out

    # -- masks (Keras's rules: see masking.py) ------------------------------------------
    supports_masking = False  # whether the layer passes a mask on (compute_mask)
    _mask_input = False  # whether its native core takes the mask as a second input
    # Whether the layer computes only through symbolic calls (it makes a mask, or runs ops
    # for an option its native core lacks): a Sequential holding one records its calls.
    _needs_symbolic_call = False

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs (Keras): the input's, for a layer that supports masking."""
        return previous_mask

    def _propagate_mask(self, inputs, mask, outputs: list) -> None:
        """Sets the outputs' Keras masks from the layer's compute_mask when it supports
        masking; a layer that does not drops the mask, with Keras's warning."""
        from eigennet.layers import masking

        masking.propagate(self, inputs, mask, outputs)

    @property
    def input(self):
        """The symbolic input of the layer's first call on symbolic tensors."""
        node = self._first_node("input")
        return node.inputs if node.multi_input else node.inputs[0]

    @property
    def output(self) -> KerasTensor:
        """The symbolic output of the layer's first call on symbolic tensors."""
        return self._first_node("output").outputs[0]

    def _first_node(self, what: str) -> Node:
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer {self.name!r} has never been called on symbolic tensors and thus has "
                f"no defined {what}"
            )
        return self._inbound_nodes[0]

    # -- state beyond the weights -------------------------------------------------------
    def _extra_state(self) -> dict[str, np.ndarray]:
        """Arrays besides the weights that decide what the layer computes next (e.g.
        Dropout's random stream), saved with the model. Empty for most layers."""
        return {}

    def _set_extra_state(self, state: dict[str, np.ndarray]) -> None:
        """Restores what `_extra_state` returned (keys and shapes already checked)."""

    def save_own_variables(self, store) -> None:
        """Keras's saving hook: writes this layer's own variables into `store` as "0", "1",
        ... (trainable first). Override it, calling super(), to save more arrays."""
        from eigennet.saving.own_variables import own_variables

        for i, var in enumerate(own_variables(self)):
            store[str(i)] = var.numpy()

    def load_own_variables(self, store) -> None:
        """Keras's loading hook: sets this layer's own variables from what
        `save_own_variables` wrote."""
        from eigennet.saving.own_variables import own_variables

        variables = own_variables(self)
        if len(store.keys()) != len(variables):
            raise ValueError(
                f"Layer '{self.name}' expected {len(variables)} variables, but received "
                f"{len(store.keys())} variables during loading. Expected: "
                f"{[v.name for v in variables]}"
            )
        for i, var in enumerate(variables):
            var.assign(store[str(i)])

    # -- serialization -----------------------------------------------------------------
    def get_config(self) -> dict:
        config = self._base_config()
        if self._traced and type(self).__init__ is not Layer.__init__:
            return _auto_config.merged(config, self._auto_config, f"Layer {self.name!r}")
        return config

    def _base_config(self) -> dict:
        """The entries every layer's config has (a custom layer's arguments aside)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype_config()}
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


def _tracing_any() -> bool:
    from eigennet.ops import symbolic

    return symbolic.tracing_layer() is not None


def _tracing_layer(layer) -> bool:
    from eigennet.ops import symbolic

    return symbolic.tracing_layer() == layer.name


def _shapes_of(value):
    """The shape (or structure of shapes) of a call's first argument, as build() gets it."""
    if isinstance(value, (list, tuple)) and not isinstance(value, KerasTensor):
        return [_shapes_of(v) for v in value]
    if isinstance(value, dict):
        return {k: _shapes_of(v) for k, v in value.items()}
    return tuple(getattr(value, "shape", np.shape(value)))


def _unique_owners(owners: list[tuple]) -> list[tuple]:
    seen, out = set(), []
    for owner, trains in owners:
        if id(owner) not in seen:
            seen.add(id(owner))
            out.append((owner, trains))
    return out
