"""Keras's `layers.RNN(cell)`: over the built-in cells `SimpleRNNCell`, `LSTMCell` and
`GRUCell`, over a cell of your own, and over `StackedRNNCells` (a list of cells).

A built-in cell holds a recurrent layer's per-step arguments; `RNN(cell)` runs it as the
matching native layer (SimpleRNN, LSTM, GRU) does: the same weights (under `cell` in files,
as Keras keeps them), the same loop in the core. A cell called on its own, `cell(x, states)`,
runs one step through an RNN of its own, so its weights persist between calls. Over any other
cell, RNN traces the cell's call() once per step (`_CellLoop`).
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from eigennet.layers.keras_tensor import is_symbolic
from eigennet.layers.layer import Layer, dtype_from_config
from eigennet.layers.recurrent import GRU, LSTM, SimpleRNN, _Recurrent


class _Cell(Layer):
    """The arguments of one step of a recurrent layer (Keras's cell config)."""

    _layer_class: type = _Recurrent
    _arguments = (
        "activation",
        "use_bias",
        "kernel_initializer",
        "recurrent_initializer",
        "bias_initializer",
        "kernel_regularizer",
        "recurrent_regularizer",
        "bias_regularizer",
        "kernel_constraint",
        "recurrent_constraint",
        "bias_constraint",
        "dropout",
        "recurrent_dropout",
        "seed",
    )

    def __init__(self, units, **kwargs):
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in self._arguments}
        super().__init__(**kwargs)
        # Validated (and normalized) by the layer the cell stands for.
        # (Named, so that it takes no automatic name from the layers a user makes.)
        self._template = self._layer_class(
            units, **cell_kwargs, dtype=self.dtype_policy, name=f"{self.name}_arguments"
        )
        self.units = self._template.units
        self._owner: RNN | None = None

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def _layer_arguments(self) -> dict:
        """The keyword arguments of the recurrent layer that runs this cell."""
        config = self._template.get_config()
        keep = ("units", *self._arguments, *self._own_arguments())
        return {k: config[k] for k in keep if k in config}

    def _own_arguments(self) -> tuple:
        return ()

    @property
    def weights(self):
        return self._owner.weights if self._owner is not None else []

    @property
    def built(self) -> bool:
        return self._owner is not None and self._owner.built

    @built.setter
    def built(self, value) -> None:  # (Layer.__init__ sets it)
        pass

    def __getattr__(self, name):
        # kernel, recurrent_kernel and bias: the weights of the RNN running the cell.
        if name in ("kernel", "recurrent_kernel", "bias"):
            owner = self.__dict__.get("_owner")
            if owner is not None and owner.built:
                for var in owner.weights:
                    if var.name == name:
                        return var
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __call__(self, inputs, states, training=None):
        """One step: `(output, new_states)` for inputs `(batch, features)` and the states."""
        from eigennet import ops

        if self._owner is None:
            RNN(self, return_state=True, name=f"{self.name}_step")
        if not self._owner.return_state:
            raise ValueError(
                f"Cell {self.name!r} runs inside the RNN layer {self._owner.name!r}; call "
                "that layer, or make another cell to call step by step"
            )
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if is_symbolic(inputs):
            x = ops.expand_dims(inputs, 1)
        else:
            x = np.asarray(inputs)[:, None]
        outputs = self._owner(x, initial_state=states, training=training)
        return outputs[0], list(outputs[1:])

    def get_config(self) -> dict:
        config = self._base_config()
        config.pop("activity_regularizer", None)
        template = self._template.get_config()
        config["units"] = self.units
        for key in self._config_order():
            config[key] = template[key]
        return config

    def _config_order(self) -> tuple:
        """The config's keys after `units`, in Keras's order."""
        return _Cell._arguments

    def get_build_config(self):
        return None


class SimpleRNNCell(_Cell):
    """One step of SimpleRNN, for `layers.RNN(SimpleRNNCell(units))` (Keras 3's arguments)."""

    _layer_class = SimpleRNN

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.seed = kwargs.get("seed")

    def _layer_arguments(self) -> dict:
        arguments = super()._layer_arguments()
        arguments["seed"] = self.seed  # (SimpleRNN's config has none; its cell's has)
        return arguments

    def get_config(self) -> dict:
        config = super().get_config()
        config["seed"] = self.seed
        return config

    def _config_order(self) -> tuple:
        return tuple(k for k in super()._config_order() if k != "seed")


class LSTMCell(_Cell):
    """One step of LSTM, for `layers.RNN(LSTMCell(units))` (Keras 3's arguments and gate
    order i, f, c, o). Its states are `[h, c]`."""

    _layer_class = LSTM
    _arguments = (*_Cell._arguments, "recurrent_activation", "unit_forget_bias")

    @property
    def state_size(self):
        return [self.units, self.units]

    def _config_order(self) -> tuple:
        order = list(super()._config_order())
        order.insert(1, "recurrent_activation")
        order.insert(3, "unit_forget_bias")
        return tuple(order)


class GRUCell(_Cell):
    """One step of GRU, for `layers.RNN(GRUCell(units))` (Keras 3's arguments, gate order
    z, r, h, `reset_after=True`)."""

    _layer_class = GRU
    _arguments = (*_Cell._arguments, "recurrent_activation", "reset_after")

    def _config_order(self) -> tuple:
        order = list(super()._config_order())
        order.insert(1, "recurrent_activation")
        order.insert(order.index("seed"), "reset_after")
        return tuple(order)


CELLS = {cls.__name__: cls for cls in (SimpleRNNCell, LSTMCell, GRUCell)}


def _serialize_cell(cell) -> dict:
    """A cell's config in Keras's nested form (built-in cells under keras.layers)."""
    from eigennet.saving import serialization_lib

    if not isinstance(cell, (_Cell, StackedRNNCells)):
        return serialization_lib.serialize_keras_object(cell)
    return {
        "module": "keras.layers",
        "class_name": type(cell).__name__,
        "config": cell.get_config(),
        "registered_name": None,
    }


def _loop_config(layer) -> dict:
    """An RNN's config: its own entries, then the cell's (Keras's keys and order)."""
    config = layer._base_config()
    config.pop("activity_regularizer", None)
    for key in ("return_sequences", "return_state", "go_backwards", "stateful", "unroll"):
        config[key] = getattr(layer, key)
    config["zero_output_for_mask"] = layer.zero_output_for_mask
    config["cell"] = _serialize_cell(layer.cell)
    return config


def _deserialize_cell(config):
    """A cell from an RNN's `cell` argument: a cell, or its config (built-in or registered)."""
    from eigennet.saving import serialization_lib

    cell = config
    if isinstance(config, dict):
        if config.get("class_name") == "StackedRNNCells":
            return StackedRNNCells.from_config(copy.deepcopy(config.get("config", {})))
        cls = CELLS.get(config.get("class_name"))
        if cls is not None:
            return cls.from_config(copy.deepcopy(config.get("config", {})))
        cell = serialization_lib.deserialize_keras_object(config)
    if isinstance(cell, _Cell):
        return cell
    if not (isinstance(cell, Layer) and cell._traced and hasattr(cell, "state_size")):
        raise ValueError(
            "Argument `cell` should have a `call` method and a `state_size` attribute "
            f"(a layer of your own, or SimpleRNNCell, LSTMCell, GRUCell). Received: cell={cell}"
        )
    return cell


class RNN(_Recurrent):
    """Keras's `layers.RNN(cell, return_sequences=False, return_state=False,
    go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False)` for a
    SimpleRNNCell, LSTMCell or GRUCell: the cell's recurrent layer, natively. Over a cell of
    your own, the cell's call() traced once per step (see _CellLoop)."""

    def __new__(cls, cell=None, *args, **kwargs):
        if cls is RNN:
            cell = StackedRNNCells(cell) if isinstance(cell, (list, tuple)) else cell
            cell = _deserialize_cell(cell)
            if not isinstance(cell, _Cell):
                loop = _CellLoop.__new__(_CellLoop, cell, *args, **kwargs)
                loop.__init__(cell, *args, **kwargs)
                return loop
        return super().__new__(cls, cell, *args, **kwargs)

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        cell = _deserialize_cell(cell)
        if cell._owner is not None:
            raise ValueError(
                f"Cell {cell.name!r} already runs in the RNN layer {cell._owner.name!r}: give "
                "each RNN layer a cell of its own"
            )
        layer = cell._layer_class
        self._kind = layer._kind
        self._gates = layer._gates
        self._has_recurrent_activation = layer._has_recurrent_activation
        arguments = cell._layer_arguments()
        self.unit_forget_bias = arguments.pop("unit_forget_bias", True)
        self.reset_after = arguments.pop("reset_after", True)
        kwargs.setdefault("dtype", cell.dtype_policy)
        super().__init__(
            **arguments,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )
        self.cell = cell
        cell._owner = self

    def _initial_bias(self, shape, dtype):
        if self._kind == "LSTM":
            return LSTM._initial_bias(self, shape, dtype)
        return super()._initial_bias(shape, dtype)

    def get_config(self) -> dict:
        return _loop_config(self)

    @classmethod
    def from_config(cls, config: dict):
        config = dtype_from_config(dict(config))
        return cls(**config)


def _state_template(cell):
    """The structure of a cell's states, with widths for tensors: a list (one entry per
    state), where an entry is a width, or a list for a cell inside StackedRNNCells whose
    state_size is a list."""

    def width(size) -> int:
        shape = tuple(size) if isinstance(size, (list, tuple)) else (size,)
        if len(shape) != 1 or isinstance(shape[0], bool) or not isinstance(shape[0], int):
            raise ValueError(
                "RNN: a cell's state_size must be an int or a list of ints (1-D states), got "
                f"{cell.state_size!r}"
            )
        return int(shape[0])

    if isinstance(cell, StackedRNNCells):
        return [_state_template(c) if _list_states(c) else width(c.state_size) for c in cell.cells]
    sizes = cell.state_size
    return [width(size) for size in (sizes if isinstance(sizes, (list, tuple)) else [sizes])]


def _list_states(cell) -> bool:
    """Whether a cell's states are a list (else one tensor) inside StackedRNNCells: as its
    state_size, as Keras's symbolic outputs have them."""
    return isinstance(cell.state_size, (list, tuple))


def _leaves(structure) -> list:
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _leaves(item)]
    return [structure]


def _pack(flat: list, template):
    """The items of `flat` in the nested structure of `template`."""
    items = iter(flat)

    def build(t):
        return [build(i) for i in t] if isinstance(t, list) else next(items)

    return build(template)


class StackedRNNCells(Layer):
    """Keras's StackedRNNCells(cells): one step of each cell in turn, each reading the output
    of the one before. `layers.RNN([cells])` makes one."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        cells = [_deserialize_cell(c) for c in cells]
        if not cells:
            raise ValueError("StackedRNNCells needs at least one cell")
        self.cells = cells

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        size = last.state_size
        return size[0] if isinstance(size, (list, tuple)) else size

    def call(self, inputs, states, training=None):
        new_states = []
        for cell, state in zip(self.cells, states):
            as_list = isinstance(state, (list, tuple))
            takes_training = isinstance(cell, _Cell) or (
                "training" in inspect.signature(cell.call).parameters
            )
            extra = {"training": training} if takes_training and training is not None else {}
            inputs, state = cell(inputs, list(state) if as_list else [state], **extra)
            state = list(state) if isinstance(state, (list, tuple)) else [state]
            new_states.append(state if as_list or len(state) != 1 else state[0])
        return inputs, new_states

    def get_config(self) -> dict:
        return {**self._base_config(), "cells": [_serialize_cell(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**dtype_from_config(dict(config)))


class _CellLoop(Layer):
    """`RNN(cell)` for a cell of your own (a layer with `call(inputs, states)` returning
    `(output, new_states)` and a `state_size`): its call() is traced once per step, all steps
    sharing the cell's weights, so the sequence length must be known. Masked steps keep the
    previous output and states, as Keras's loop does."""

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if stateful:
            raise ValueError(
                "RNN(stateful=True) is not supported: each batch starts from its "
                "initial_state (zeros unless given)"
            )
        self.cell = cell
        self._template = _state_template(cell)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True

    def compute_mask(self, inputs, previous_mask):
        mask = previous_mask if self.return_sequences else None
        return [mask] + [None] * len(self._template) if self.return_state else mask

    def call(self, sequences, initial_state=None, mask=None, training=None):
        from eigennet import ops

        steps = sequences.shape[1] if len(sequences.shape) >= 3 else None
        if steps is None:
            raise ValueError(
                f"Layer {self.name!r}: RNN over the cell {type(self.cell).__name__} needs "
                "inputs (batch, timesteps, features) with a known number of timesteps, got "
                f"{tuple(sequences.shape)}"
            )
        wanted = len(_leaves(self._template))
        if initial_state is None:
            zeros = [
                ops.broadcast_to(ops.zeros((n,), self._native_dtype), (None, n))
                for n in _leaves(self._template)
            ]
            states = _pack(zeros, self._template)
        else:
            given = _leaves(
                list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            )
            if len(given) != wanted:
                raise ValueError(
                    f"Layer {self.name!r} expects {wanted} initial state(s), got {len(given)}"
                )
            states = _pack(given, self._template)
        takes_training = "training" in inspect.signature(self.cell.call).parameters
        extra = {"training": training} if takes_training and training is not None else {}
        outputs, previous = [], None
        for t in reversed(range(steps)) if self.go_backwards else range(steps):
            output, new_states = self.cell(sequences[:, t], states, **extra)
            new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
            if len(_leaves(new_states)) != wanted:
                raise ValueError(
                    f"Layer {self.name!r}: the cell {type(self.cell).__name__} returned "
                    f"{len(_leaves(new_states))} states, its state_size says {wanted}"
                )
            widths = [tuple(state.shape)[-1] for state in _leaves(new_states)]
            if widths != _leaves(self._template):
                raise ValueError(
                    f"Layer {self.name!r}: the cell {type(self.cell).__name__} returned states "
                    f"of widths {widths}, its state_size says {_leaves(self._template)}"
                )
            new_states = _pack(_leaves(new_states), self._template)
            if mask is not None:
                keep = ops.expand_dims(ops.cast(mask[:, t], "bool"), -1)
                if previous is None or self.zero_output_for_mask:
                    previous = ops.zeros_like(output)
                output = ops.where(keep, output, previous)
                kept = [ops.where(keep, a, b) for a, b in zip(_leaves(new_states), _leaves(states))]
                new_states = _pack(kept, self._template)
            states, previous = new_states, output
            outputs.append(output)
        result = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [result, *states] if self.return_state else result

    def get_config(self) -> dict:
        return _loop_config(self)


# Keras knows both forms as "RNN": its name in configs, automatic names and weight files.
_CellLoop.__name__ = _CellLoop.__qualname__ = "RNN"
