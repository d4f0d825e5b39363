"""Symbolic tensors: what `keras.Input` returns and what calling a layer on one returns.

A `KerasTensor` holds a shape (batch axis None), a dtype and the `Node` that produced it. A node
is one call of a layer (or a model) on symbolic tensors. Functional models walk these nodes
from their outputs back to their inputs and hand the native core a graph of layer calls; the
tensors themselves never hold data.
"""

from __future__ import annotations

from eigennet.tree import flatten


def _ops():
    from eigennet import ops

    return ops


def _tracing() -> bool:
    """Whether code Keras would run on real tensors is being traced (see __eq__)."""
    from eigennet.ops import symbolic

    return symbolic.tracing_layer() is not None


class Node:
    """One call of `layer` on the symbolic tensors `inputs` (an InputLayer's node has none)."""

    def __init__(self, layer, inputs: list[KerasTensor], multi_input: bool = False):
        self.layer = layer
        self.inputs = list(inputs)
        self.multi_input = multi_input  # the layer was called on a list
        self.outputs: list[KerasTensor] = []
        # The last `mask_count` inputs are masks of the others (Keras passes them implicitly:
        # configs list only the data inputs).
        self.mask_count = 0
        # Keras's `training` given at a call inside a traced call() (True or False fixes the
        # mode of the call and of what runs inside it; None follows the model: see
        # GraphBuilder.mode). At the level of a functional model Keras 3 lets fit, evaluate
        # and predict pass their own mode to every call, so it is not kept there.
        self.training = None
        # The call's positional and keyword arguments as given (symbolic tensors in place),
        # which a functional config records and replays as `layer(*args, **kwargs)`; None:
        # the data inputs alone (one tensor, or a list for a call on a list).
        self._call_args: tuple | None = None
        self._call_kwargs: dict | None = None

    @property
    def data_inputs(self) -> list[KerasTensor]:
        return self.inputs[: len(self.inputs) - self.mask_count]

    def set_call(self, args, kwargs) -> None:
        """Records the call's arguments (the tensors in them must be among the inputs)."""
        self._call_args = tuple(args)
        self._call_kwargs = dict(kwargs)

    @property
    def call_args(self) -> tuple:
        if self._call_args is not None:
            return self._call_args
        data = self.data_inputs
        if not data:
            return ()
        return (list(data),) if self.multi_input else (data[0],)

    @property
    def call_kwargs(self) -> dict:
        return dict(self._call_kwargs or {})


class KerasTensor:
    """A symbolic tensor: shape (batch axis first, None), dtype and name; no values."""

    def __init__(
        self,
        shape: tuple,
        dtype: str,
        node: Node,
        index: int = 0,
        name: str = "",
        batched: bool = True,
    ):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self._node = node
        self._index = index
        # Whether axis 0 is the batch axis (None in `shape`). A weight, a constant or a
        # reduction over the batch has none: its shape is fixed.
        self.batched = batched

    @property
    def ndim(self) -> int:
        return len(self.shape)

    # Keras's mask of the tensor's steps (a symbolic (batch, steps) tensor of 0 and 1), set by
    # Embedding(mask_zero=True), Masking and the layers that pass a mask on; see masking.py.
    _keras_mask = None

    # Operators record ops (eigennet.ops), as Keras's KerasTensor does; NumPy defers to
    # them (`array + x` calls x.__radd__ instead of converting x).
    __array_ufunc__ = None

    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().subtract(self, other)

    def __rsub__(self, other):
        return _ops().subtract(other, self)

    def __mul__(self, other):
        return _ops().multiply(self, other)

    def __rmul__(self, other):
        return _ops().multiply(other, self)

    def __truediv__(self, other):
        return _ops().divide(self, other)

    def __rtruediv__(self, other):
        return _ops().divide(other, self)

    def __floordiv__(self, other):
        return _ops().floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops().floor_divide(other, self)

    def __mod__(self, other):
        return _ops().mod(self, other)

    def __rmod__(self, other):
        return _ops().mod(other, self)

    def __pow__(self, other):
        return _ops().power(self, other)

    def __rpow__(self, other):
        return _ops().power(other, self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    # `==` compares element-wise where Keras runs the code on real tensors: in a layer's
    # call(), a metric's update_state() or a loss, which eigennet traces symbolically (`x == 0`
    # there would otherwise be False, a silent constant). Elsewhere (building a functional
    # model) it is identity, as Keras's KerasTensor, so tensors stay usable in sets, dict keys
    # and `in`. `!=` is element-wise everywhere, as in Keras.
    def __eq__(self, other):
        if _tracing():
            return _ops().equal(self, other)
        return self is other

    def __ne__(self, other):
        return _ops().not_equal(self, other)

    __hash__ = object.__hash__

    def __lt__(self, other):
        return _ops().less(self, other)

    def __le__(self, other):
        return _ops().less_equal(self, other)

    def __gt__(self, other):
        return _ops().greater(self, other)

    def __ge__(self, other):
        return _ops().greater_equal(self, other)

    def __and__(self, other):
        return _ops().logical_and(self, other)

    def __rand__(self, other):
        return _ops().logical_and(other, self)

    def __or__(self, other):
        return _ops().logical_or(self, other)

    def __ror__(self, other):
        return _ops().logical_or(other, self)

    def __xor__(self, other):
        return _ops().logical_xor(self, other)

    def __rxor__(self, other):
        return _ops().logical_xor(other, self)

    def __neg__(self):
        return _ops().negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops().absolute(self)

    def __invert__(self):
        return _ops().logical_not(self)

    def __getitem__(self, key):
        return _ops().get_item(self, key)

    @property
    def T(self):  # noqa: N802 (NumPy's name)
        return _ops().transpose(self)

    def __bool__(self):
        raise TypeError(
            "Cannot branch on a symbolic tensor (`if x > 0:` or `bool(x)`): its values are only "
            "known when the model runs. Use ops.where(condition, x, y) instead"
        )

    def __index__(self):
        raise TypeError(f"{self!r} is symbolic and cannot be used as a Python integer")

    def __iter__(self):
        raise TypeError(
            f"{self!r} is symbolic and cannot be iterated over; use ops.split or ops.unstack"
        )

    __hash__ = object.__hash__  # (== is not overridden: tensors are compared by identity)

    def __len__(self):
        raise TypeError(
            "A symbolic tensor has no length: its batch size is only known when the model "
            "runs. Use x.shape instead"
        )

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"{self!r} is symbolic (it holds no values): call the model on NumPy arrays, "
            "or build a model with keras.Model(inputs, outputs)"
        )

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


def is_symbolic(inputs) -> bool:
    """Whether `inputs` (a tensor or a list/tuple/dict of them) holds a symbolic tensor."""
    return any(isinstance(t, KerasTensor) for t in flatten(inputs))


def check_symbolic(what: str, tensors: list) -> None:
    """Raises unless every one of `tensors` is symbolic (a call mixing arrays and symbolic
    tensors has no meaning)."""
    for t in tensors:
        if not isinstance(t, KerasTensor):
            raise TypeError(
                f"{what} was called on a mix of symbolic tensors and {type(t).__name__}: pass "
                "keras.Input tensors (or layer outputs) only"
            )


def record_call(
    owner, tensors: list, multi_input: bool, output_shapes, dtype, names, batched: bool = True
):
    """Records a call of `owner` (a layer or a model) on symbolic `tensors`: the node and its
    output tensors, appended to the owner's calls. Returns the output tensors."""
    node = Node(owner, tensors, multi_input)
    node.outputs = [
        KerasTensor(shape, dtype, node, k, name=name, batched=batched)
        for k, (shape, name) in enumerate(zip(output_shapes, names))
    ]
    owner._inbound_nodes.append(node)
    return node.outputs
