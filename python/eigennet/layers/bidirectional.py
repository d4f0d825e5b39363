"""Bidirectional wrapper for recurrent layers."""

from __future__ import annotations

import copy

import numpy as np

from eigennet import _core
from eigennet.layers.layer import Layer, dtype_from_config
from eigennet.layers.recurrent import (
    _TO_THE_END,
    RECURRENT_LAYERS,
    _CallsWithStates,
    _Recurrent,
)
from eigennet.layers.rnn_cells import RNN

_MERGE_MODES = ("concat", "sum", "mul", "ave")


def _serialize(layer: _Recurrent) -> dict:
    """Keras's nested form: module, class_name, config, registered_name."""
    return {
        "module": "keras.layers",
        "class_name": type(layer).__name__,
        "config": layer.get_config(),
        "registered_name": None,
    }


def _deserialize(config) -> _Recurrent:
    if isinstance(config, _Recurrent):
        return config
    name = config.get("class_name") if isinstance(config, dict) else None
    cls = RNN if name == "RNN" else RECURRENT_LAYERS.get(name)
    if cls is None:
        raise ValueError(f"Bidirectional wraps SimpleRNN, LSTM, GRU or RNN, got {name!r}")
    return cls.from_config(copy.deepcopy(config.get("config", {})))


def _copy_with(layer: _Recurrent, **changes) -> _Recurrent:
    config = {**layer.get_config(), **changes}
    return type(layer).from_config(config)


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


class Bidirectional(_CallsWithStates, Layer):
    """Runs a recurrent layer over the sequence forwards and a copy of it backwards, and
    merges their outputs (Keras 3's Bidirectional).

    Args:
        layer: A SimpleRNN, LSTM or GRU instance. A fresh copy named `forward_<name>` runs
            forwards; another, `backward_<name>`, with go_backwards=True, runs backwards.
        merge_mode: How the two outputs combine: "concat" (default), "sum", "mul", "ave", or
            None (the two outputs, `[output, output_reversed]`).
        weights: Optional initial weights (the forward layer's, then the backward layer's).
        backward_layer: Optional recurrent layer to run backwards instead of the copy; it
            must have go_backwards=True and the same return_sequences and return_state.

    Call arguments: `inputs`, `initial_state` (the forward layer's states then the backward
    layer's, e.g. `[fh, fc, bh, bc]` for LSTM), `mask`, `training`. With the wrapped layer's
    return_state=True the call returns `[output, *forward states, *backward states]` (two
    outputs first with merge_mode=None), as Keras.

    Input shape: `(batch, timesteps, features)`.
    Output shape: the wrapped layer's, with the last axis doubled for "concat"; with
    return_sequences the backward outputs are flipped back into input order.
    Weights: the forward layer's (kernel, recurrent_kernel, bias), then the backward
    layer's.
    """

    # Keras's mask: both directions skip masked steps; masked outputs are zeros.
    supports_masking = True
    _mask_input = True

    def compute_mask(self, inputs, previous_mask):
        mask = previous_mask if self.forward_layer.return_sequences else None
        masks = [mask] * (1 if self.merge_mode else 2) + [None] * (
            2 * self._state_count if self.return_state else 0
        )
        return masks if len(masks) > 1 else mask

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, _Recurrent):
            raise ValueError(
                f"Bidirectional wraps a SimpleRNN, LSTM or GRU layer instance, got {layer!r}"
            )
        if backward_layer is not None and not isinstance(backward_layer, _Recurrent):
            raise ValueError(
                "Bidirectional backward_layer must be a SimpleRNN, LSTM or GRU instance, got "
                f"{backward_layer!r}"
            )
        if merge_mode is not None and merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Invalid merge mode {merge_mode!r}: use one of {', '.join(_MERGE_MODES)} or None"
            )
        super().__init__(**kwargs)
        self.forward_layer = _copy_with(layer, name=f"forward_{_strip(layer.name, 'forward_')}")
        if backward_layer is None:
            backward_layer = _copy_with(
                layer, go_backwards=True, name=f"backward_{_strip(layer.name, 'backward_')}"
            )
        self.backward_layer = backward_layer
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` value, "
                f"got {fwd.go_backwards} for both"
            )
        for attribute in ("return_sequences", "return_state"):
            values = getattr(fwd, attribute), getattr(bwd, attribute)
            if values[0] != values[1]:
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value for "
                    f"{attribute}, got {values[0]} and {values[1]}"
                )
        if fwd.return_state and fwd._state_count != bwd._state_count:
            raise ValueError(
                "Bidirectional with return_state needs forward and backward layers with the "
                f"same states, got {fwd._kind} and {bwd._kind}"
            )
        if merge_mode not in ("concat", None) and fwd.units != bwd.units:
            raise ValueError(
                f"Bidirectional merge_mode={merge_mode!r} needs layers with the same units, got "
                f"{fwd.units} and {bwd.units}"
            )
        for sub in (fwd, bwd):
            if sub.activity_regularizer is not None:
                raise ValueError(
                    "Bidirectional: give the activity_regularizer to the Bidirectional layer, "
                    f"not to {sub.name!r}"
                )
        self.merge_mode = merge_mode
        self.return_sequences = fwd.return_sequences
        self.return_state = fwd.return_state
        self.stateful = False
        self._initial_weights = None if weights is None else list(weights)

    # -- calls with Keras's initial_state / return_state (see _CallsWithStates) -------------
    @property
    def _state_count(self) -> int:
        """States per direction."""
        return self.forward_layer._state_count

    @property
    def _returns_several(self) -> bool:
        return self.return_state or self.merge_mode is None

    def _state_shapes(self) -> list[tuple]:
        return self.forward_layer._state_shapes() + self.backward_layer._state_shapes()

    def _state_names(self) -> list[str]:
        layers = (("forward", self.forward_layer), ("backward", self.backward_layer))
        return [f"{direction}_{name}" for direction, sub in layers for name in sub._state_names()]

    def _unpack(self, packed, take):
        """The call's outputs from the packed core's (see _CallsWithStates). The core merges
        the outputs itself except with return_state or merge_mode None: then it concatenates
        them, after the states' steps [forward state k | backward state k]."""
        if not self.return_state and self.merge_mode is not None:
            return packed
        n = self._state_count if self.return_state else 0
        uf, width = self.forward_layer.units, self.forward_layer.units + self.backward_layer.units
        steps = (n, _TO_THE_END) if self.return_state or self.return_sequences else None
        squeeze = self.return_state and not self.return_sequences

        def output(first, stop):
            return take(steps, (first, stop), squeeze)

        if self.merge_mode is None:
            outputs = [output(0, uf), output(uf, width)]
        elif self.merge_mode == "concat":
            outputs = [output(0, width)]
        else:
            y, y_rev = output(0, uf), output(uf, width)
            merged = {"sum": lambda: y + y_rev, "mul": lambda: y * y_rev}
            outputs = [merged.get(self.merge_mode, lambda: (y + y_rev) / 2)()]
        if self.return_state:
            for columns in ((0, uf), (uf, width)):
                outputs += [take((k, k + 1), columns, True) for k in range(n)]
        return outputs

    def build(self, input_shape) -> None:
        if self.built:
            return
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(
                f"Layer {self.name!r} (Bidirectional) expects inputs of shape "
                f"(batch, timesteps, features), got {shape} (rank {len(shape)})"
            )
        super().build(shape)

    def _make_core(self, dtype):
        return getattr(_core, f"Bidirectional_{dtype}")(
            self.forward_layer._native_config(),
            self.backward_layer._native_config(),
            self.merge_mode or "concat",  # None: the outputs concatenated, then split
        )

    def _weight_regularizers(self):
        return (
            self.forward_layer._weight_regularizers() + self.backward_layer._weight_regularizers()
        )

    def _weight_constraints(self):
        return self.forward_layer._weight_constraints() + self.backward_layer._weight_constraints()

    def _initialize(self):
        weights = self.weights
        n = len(self.forward_layer._weight_regularizers())
        values = self.forward_layer._initial_values(
            [w.shape for w in weights[:n]], self._native_dtype
        ) + self.backward_layer._initial_values([w.shape for w in weights[n:]], self._native_dtype)
        for var, value in zip(weights, values):
            var.assign(value)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def _extra_state(self):
        if not self.built:
            return {}
        layers = (self.forward_layer, self.backward_layer)
        if not any(sub.dropout or sub.recurrent_dropout for sub in layers):
            return {}
        return {"rng_state": np.array(self._core.rng_state, dtype=np.uint64)}

    def _set_extra_state(self, state):
        (fs, fd), (bs, bd) = (tuple(int(v) for v in row) for row in state["rng_state"])
        self._core.rng_state = ((fs, fd), (bs, bd))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": _serialize(self.forward_layer),
            "backward_layer": _serialize(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dtype_from_config(dict(config))
        config["layer"] = _deserialize(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"])
        return cls(**config)
