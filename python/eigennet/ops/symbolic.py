"""How an op applied to symbolic tensors becomes a node of the native graph.

An op call on symbolic tensors (`keras.Input`, layer outputs, a custom layer's weights while its
`call()` is traced) builds the native op for the operands' full shapes (the batch axis is -1),
which checks the shapes and infers the output's, and records one `Node` whose owner is an
`Operation`. Constant operands (`x * 2.0`, `ops.arange(n)`) become constant source nodes, a
custom layer's weight a weight source node (see `eigennet.layers.layer.Variable`).
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from eigennet import _core, config
from eigennet.layers import variable_axes
from eigennet.layers.keras_tensor import KerasTensor, Node
from eigennet.layers.layer import Variable, unique_name
from eigennet.ops.variable_length import VariableLength


class _TraceState(threading.local):
    """What is being traced, per thread (two threads may build two models at once)."""

    def __init__(self):
        self.names: list[str] = []  # the layers whose call() is traced, innermost last
        self.inputs: list[list] = []  # their symbolic inputs, likewise
        self.assigned: list[dict] = []  # a metric's update_state: id(source) -> new value
        self.losses: list[list] = []  # a call()'s add_loss values, per trace
        self.for_mask = 0  # > 0 while ops compute a mask (see computing_mask)
        self.compute_dtypes: list = []  # the traced layers' compute dtypes (None: not a layer)


_state = _TraceState()
# Native ops that take their kind (or equation) before the operands' shapes.
_KIND_FIRST = {
    "UnaryOp",
    "BinaryOp",
    "ReduceOp",
    "SoftmaxOp",
    "CumulativeOp",
    "EinsumOp",
    "RandomOp",
    "PoolOp",
}


@contextlib.contextmanager
def tracing(layer_name: str, inputs=(), compute_dtype: str | None = None):
    """While a layer's call() is traced: its weights are symbolic operands of ops, and its
    symbolic `inputs` give a random draw of a shape with a batch axis its batch size. The
    ops run their products in the layer's `compute_dtype` (bfloat16, float16 or
    its variables')."""
    _state.names.append(layer_name)
    _state.inputs.append([t for t in inputs if isinstance(t, KerasTensor)])
    _state.compute_dtypes.append(compute_dtype)
    try:
        yield
    finally:
        _state.names.pop()
        _state.inputs.pop()
        _state.compute_dtypes.pop()


def _product_precision() -> str:
    """The precision of the products of an op recorded now: its innermost traced layer's
    compute dtype, else (ops between a functional model's layers) the global policy's."""
    from eigennet import dtype_policies

    declared = [d for d in _state.compute_dtypes if d is not None]
    compute = declared[-1] if declared else dtype_policies.dtype_policy().compute_dtype
    return dtype_policies.product_precision(compute)


@contextlib.contextmanager
def computing_mask():
    """While ops compute a Keras mask: their nodes are the model's, but its config leaves
    them out (a mask is recomputed from the layers that make it)."""
    _state.for_mask += 1
    try:
        yield
    finally:
        _state.for_mask -= 1


def tracing_layer() -> str | None:
    """The name of the layer whose call() is being traced (innermost), else None."""
    return _state.names[-1] if _state.names else None


def added_losses() -> list | None:
    """Where add_loss puts its values while a call() is traced, else None."""
    return _state.losses[-1] if _state.losses else None


def batch_reference() -> KerasTensor | None:
    """A tensor of the innermost trace with the batch axis (its inputs'), else any of them;
    None when not tracing or the trace has no symbolic input."""
    for inputs in reversed(_state.inputs):
        for t in inputs:
            if t.batched:
                return t
    for inputs in reversed(_state.inputs):
        if inputs:
            return inputs[0]
    return None


@contextlib.contextmanager
def collecting_losses():
    """While a layer's call() is traced: what its add_loss calls (and its sublayers') add."""
    _state.losses.append([])
    try:
        yield _state.losses[-1]
    finally:
        _state.losses.pop()


@contextlib.contextmanager
def assignments():
    """While a metric's update_state is traced: variable assignments are recorded here (the
    variable's later reads in the trace see its new value)."""
    _state.assigned.append({})
    try:
        yield _state.assigned[-1]
    finally:
        _state.assigned.pop()


def record_assignment(variable, value) -> bool:
    """Records `variable = value` when tracing a metric; False when not tracing one."""
    if not _state.assigned:
        return False
    if not hasattr(variable._layer, "tensor"):
        raise TypeError(f"{variable.path} cannot be assigned inside a traced update_state")
    _state.assigned[-1][id(variable._layer)] = value
    return True


def is_symbolic(*operands) -> bool:
    """Whether an op on `operands` records a node (else it computes on arrays)."""
    for x in operands:
        if isinstance(x, (KerasTensor, VariableLength)) or (
            _state.names and isinstance(x, Variable)
        ):
            return True
        if isinstance(x, (list, tuple)) and is_symbolic(*x):
            return True
    return False


class Operation:
    """The owner of one op node: a leaf of the graph with a native op and no weights."""

    trainable = True
    _is_source = True  # (when it has no inputs: a constant)
    weights: list = []
    trainable_weights: list = []
    non_trainable_weights: list = []

    CLASS_NAME = "__operation__"  # how a functional config lists an op call

    def __init__(self, name: str, core, dtype: str, spec: dict):
        self.name = unique_name(name)
        self._core = core
        self.dtype = dtype
        self._spec = spec  # how to make the op again: see serialize()
        self._copies = variable_axes.RecentCache(16)  # for other lengths (see core_for)
        self._for_mask = _state.for_mask > 0
        self._inbound_nodes: list[Node] = []

    def core_for(self, shapes: list) -> object:
        """The native op for operands of these concrete full shapes: its own, or one made
        again for another length of a variable axis."""
        key = tuple(tuple(s) for s in shapes)
        if key == tuple(tuple(s) for s in self._core.full_input_shapes):
            return self._core
        core = self._copies.get(key)
        if core is None:
            spec = self._spec
            try:
                core = _make_core(
                    spec["native"], self.dtype, shapes, spec["attributes"], spec["as_list"],
                    spec.get("product_precision", "float32"),
                )  # fmt: skip
            except ValueError as e:
                raise ValueError(f"{e} (op {self.name!r} on inputs of other lengths)") from None
            self._copies.put(key, core)
        return core

    def serialize(self) -> dict:
        """The op in a functional config: the native op and its attributes (a constant: its
        values). eigennet's own entry; it replays through `deserialize`."""
        return {"module": "eigennet.ops", "class_name": self.CLASS_NAME, "config": self._spec}

    @classmethod
    def deserialize(cls, entry: dict):
        """A callable that records the op again when called on its inputs (a functional
        config's replay calls it like a layer)."""
        spec = entry.get("config")
        if not isinstance(spec, dict) or not isinstance(spec.get("native"), str):
            raise ValueError(f"Invalid op entry in a functional config: {entry!r}")
        name = str(entry.get("name", spec["native"]))
        if spec["native"] == "ConstantSource":
            values = np.asarray(spec.get("values"), dtype=spec.get("dtype", "float32"))
            return lambda inputs: constant(values, values.dtype.name)
        if not spec["native"].endswith("Op"):
            raise ValueError(f"Unknown op {spec['native']!r} in a functional config")
        attributes = list(spec.get("attributes", []))
        as_list = bool(spec.get("as_list", False))

        def replay(inputs):
            operands = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            return record(
                name, spec["native"], operands, *attributes, as_list=as_list,
                precision=spec.get("product_precision", "float32"),
            )  # fmt: skip

        return replay

    @property
    def built(self) -> bool:
        return True

    def count_params(self) -> int:
        return 0

    def _check_input(self, x, what: str) -> None:
        """Model inputs read by an op are not checked beyond their shape."""

    def __repr__(self) -> str:
        return f"<Operation {self.name}>"


def full_shape(t: KerasTensor) -> list:
    """The native op's view of a tensor's shape: -1 for the batch axis (None stays for an
    axis of variable length, see variable_axes)."""
    shape = list(t.shape)
    if t.batched:
        shape[0] = -1
    return shape


def _where() -> str:
    return f" in layer {_state.names[-1]!r}" if _state.names else ""


def dtype_of(*operands) -> str:
    """The floating dtype an op computes in: its symbolic operands' (float64 when one is),
    constants following them."""
    symbolic = [x for x in operands if isinstance(x, (KerasTensor, Variable))]
    dtypes = {str(x.dtype) for x in symbolic}
    if "float64" in dtypes:
        return "float64"
    if not symbolic or not any(d.startswith("float") for d in dtypes):
        return config.floatx()  # (integer inputs compute in the model's float type)
    return "float32"


def _has_symbolic(operands) -> bool:
    return any(isinstance(x, (KerasTensor, Variable)) for x in operands)


def constant(value, dtype: str) -> KerasTensor:
    """A constant operand as a symbolic tensor without a batch axis."""
    values = np.asarray(value)
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise TypeError(f"An op's operand must be numeric, got {type(value).__name__}")
    values = np.array(values, dtype=dtype, order="C")  # (ascontiguousarray would make 0-d 1-d)
    if values.size == 0:
        raise ValueError(
            f"An op's constant operand has no elements (shape {values.shape}){_where()}. If "
            "its size was meant to be an axis's length, read it with ops.shape(x) (an axis "
            "of variable length comes out as a length usable in ops: ops.arange(length))"
        )
    core = getattr(_core, f"ConstantSource_{dtype}")(values)
    spec = {"native": "ConstantSource", "values": values.tolist(), "dtype": dtype}
    op = Operation("constant", core, dtype, spec)
    node = Node(op, [])
    node.outputs = [KerasTensor(values.shape, dtype, node, name=op.name, batched=False)]
    op._inbound_nodes.append(node)
    return node.outputs[0]


def operand(x, dtype: str) -> KerasTensor:
    """`x` as a symbolic tensor: itself, a traced weight's source, or a constant."""
    if isinstance(x, KerasTensor):
        return x
    if isinstance(x, VariableLength):  # ops.shape's length of an axis of variable length
        return x.scalar()
    if isinstance(x, Variable):
        if _state.assigned and id(x._layer) in _state.assigned[-1]:  # read after an assignment
            return operand(_state.assigned[-1][id(x._layer)], dtype)
        return x._symbolic()
    return constant(x, dtype)


def _make_core(
    native: str, dtype: str, shapes: list, attributes: tuple, as_list: bool, precision: str
):
    """The native op `native` for operands of these full shapes, its products in
    `precision`."""
    make = getattr(_core, f"{native}_{dtype}")
    shapes = [list(s) for s in shapes]
    if as_list:
        core = make(shapes, *attributes)
    elif native in _KIND_FIRST:
        core = make(attributes[0], *shapes, *attributes[1:])
    else:
        core = make(*shapes, *attributes)
    core.product_precision = precision
    return core


def record(
    name: str,
    native: str,
    operands: list,
    *attributes,
    as_list: bool = False,
    precision: str | None = None,
):
    """Records op `name` (native class `native`) on `operands`; the native op takes the
    operands' shapes (one argument each, or one list when `as_list`) then `attributes`.
    Its products run in `precision` (None: as _product_precision says). Returns its symbolic
    output."""
    dtype = dtype_of(*operands)
    tensors = [operand(x, dtype) for x in operands]
    shapes = [full_shape(t) for t in tensors]
    precision = precision or _product_precision()
    try:
        if variable_axes.has_variable(shapes):  # made at both probe lengths, see variable_axes
            core, second = (
                _make_core(
                    native, dtype, [variable_axes.at_length(s, n) for s in shapes],
                    attributes, as_list, precision,
                )
                for n in variable_axes.PROBES
            )  # fmt: skip
            out = list(variable_axes.merged(core.full_output_shape, second.full_output_shape))
        else:
            core = _make_core(native, dtype, shapes, attributes, as_list, precision)
            out = list(core.full_output_shape)
    except ValueError as e:
        raise ValueError(f"{e}{_where()}") from None
    spec = {"native": native, "attributes": list(attributes), "as_list": as_list}
    if precision != "float32":
        spec["product_precision"] = precision
    op = Operation(name, core, dtype, spec)
    batched = bool(out) and out[0] == -1
    if batched:
        out[0] = None
    node = Node(op, tensors, multi_input=len(tensors) > 1)
    node.outputs = [KerasTensor(tuple(out), dtype, node, name=op.name, batched=batched)]
    op._inbound_nodes.append(node)
    return node.outputs[0]
