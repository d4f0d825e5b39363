"""Recurrent layers: SimpleRNN, LSTM and GRU, computed in the native core (forward and
backpropagation through time) with Keras 3's weight layouts and gate orders."""

from __future__ import annotations

import numpy as np

from eigennet import _core, _random, activations, constraints, initializers, regularizers
from eigennet._checks import non_negative_number
from eigennet.layers import variable_axes
from eigennet.layers.keras_tensor import KerasTensor, is_symbolic, record_call
from eigennet.layers.layer import Layer, _tracing_any


class _CallsWithStates:
    """Keras's RNN call, `layer(x, initial_state=[...], mask=..., training=...)` returning
    `[output, *final states]` with return_state, shared by the recurrent layers and
    Bidirectional. Such calls are traced (docs/graph.md): a copy of the layer's core
    (`with_states`, see _StateCall) reads x, the initial states (and the mask) and packs the
    final states as steps before the output's, which the layer's `_unpack` slices apart. The
    layer gives `_returns_several`, `_state_shapes()`, `_state_names()` and `_unpack`."""

    def _call_builtin(self, inputs, initial_state=None, mask=None, training=None):
        """Keras's RNN call: `layer(x, initial_state=[h, c], mask=..., training=...)`; with
        return_state it returns `[output, *final states]`. Without either, the plain call."""
        if initial_state is None and not self._returns_several:
            return super()._call_builtin(inputs, training=training, mask=mask)
        states = self._checked_states(initial_state)
        if is_symbolic([inputs, states]) or _tracing_any():
            return self._call_with_states(inputs, states, mask, training)
        if mask is not None:
            raise ValueError(
                f"Layer {self.name!r}: mask= applies to symbolic tensors (in a model); on "
                "arrays call the model, whose masks come from its Embedding or Masking layers"
            )
        return self._eager_with_states(inputs, states, training)

    def _checked_states(self, initial_state) -> list:
        if initial_state is None:
            return []
        states = (
            list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        )
        kind, wanted = type(self).__name__, self._state_shapes()
        if len(states) != len(wanted):
            raise ValueError(
                f"Layer {self.name!r} ({kind}) expects {len(wanted)} initial state(s) "
                f"([{', '.join(self._state_names())}]), got {len(states)}"
            )
        for k, (state, (units,)) in enumerate(zip(states, wanted)):
            shape = tuple(np.shape(state)) if not isinstance(state, KerasTensor) else state.shape
            if len(shape) != 2 or shape[1] != units:
                raise ValueError(
                    f"Layer {self.name!r} ({kind}): initial_state[{k}] must have shape "
                    f"(batch, {units}), got {shape}"
                )
        return states

    def _state_call(self, initial: bool) -> _StateCall:
        calls = self.__dict__.setdefault("_state_calls", {})
        if initial not in calls:
            calls[initial] = _StateCall(self, initial, self.return_state)
        return calls[initial]

    def _call_with_states(self, inputs, states: list, mask, training):
        """Records a traced call (a node with a trace, like a custom layer's): the native
        core reads x, the initial states and the mask and writes the final states as steps
        before the output's, which slices split into the call's outputs. The node keeps the
        call's arguments, so configs are Keras's (`initial_state` among its kwargs)."""
        from eigennet.layers import tracing

        if not self.built:
            self.build(tuple(inputs.shape))
        kwargs = {"initial_state": states} if states else {}
        if mask is not None:
            kwargs["mask"] = mask
        # As Keras 3: a call with several tensor arguments (initial_state) is not given its
        # input's mask implicitly (only mask=...), though its output carries that mask on.
        split = self._split_states
        if states and mask is None:

            def split(inputs, initial_state=None):
                return self._split_states(inputs, initial_state)

        tensors, trace = tracing.trace_call(self, (inputs,), kwargs, split)
        outputs = self._record_trace(tensors, trace)
        if training is not None and _tracing_any():
            outputs[0]._node.training = bool(training)
        previous = getattr(inputs, "_keras_mask", None) if mask is None else mask
        self._propagate_mask(inputs, previous, outputs)
        return outputs if self._returns_several else outputs[0]

    def _split_states(self, inputs, initial_state=None, mask=None):
        """The traced call: the packed core, then its outputs and final states apart."""
        from eigennet import ops
        from eigennet.ops import symbolic

        states = list(initial_state or [])
        tensors = [inputs, *states] + ([mask] if mask is not None else [])
        packed = self._state_call(bool(states))(tensors)
        rank = len(packed.shape)

        def take(steps, columns, squeeze):  # (a stop past the end: to the end, any length)
            steps = steps or ()  # (None: a packed (batch, units) has no steps axis)
            begin, end = [0, *steps[:1], columns[0]], [-1, *steps[1:], columns[1]]
            part = symbolic.record("slice", "SliceOp", [packed], begin, end, [1] * rank)
            return ops.reshape(part, (-1, columns[1] - columns[0])) if squeeze else part

        return self._unpack(packed, take)

    def _eager_with_states(self, inputs, states: list, training):
        """On arrays: the packed core in a graph of its own, its output split."""
        from eigennet.models import data as data_utils

        x = data_utils.as_features(inputs, self._native_dtype, "inputs")
        if not self.built:
            self.build((None, *x.shape[1:]))
        hs = [data_utils.as_features(h, self._native_dtype, "initial_state") for h in states]
        if any(len(h) != len(x) for h in hs):
            raise ValueError(
                f"Layer {self.name!r}: initial_state must hold one state per sample ({len(x)})"
            )
        samples = [tuple(x.shape[1:])] + [tuple(h.shape[1:]) for h in hs]
        call = self._state_call(bool(hs))
        core = call._core_for(samples)
        networks = self.__dict__.setdefault("_state_networks", {})
        key = (bool(hs), tuple(samples))
        if key not in networks:
            n = len(samples)
            graph = getattr(_core, f"Graph_{self._native_dtype}")
            networks[key] = graph([list(s) for s in samples], [(core, list(range(n)))], [n])
        flat = [a.reshape(len(a), -1) for a in [x, *hs]]
        packed_in = flat[0] if len(flat) == 1 else np.ascontiguousarray(np.concatenate(flat, 1))
        packed = np.empty((len(x), *core.output_shape), dtype=self._native_dtype)
        networks[key].predict(packed_in, max(len(x), 1), packed, None, bool(training))

        def take(steps, columns, squeeze):
            part = packed[(slice(None), *([slice(*steps)] if steps else []), slice(*columns))]
            return part[:, 0] if squeeze else part

        return self._unpack(packed, take)


class _Recurrent(_CallsWithStates, Layer):
    """Arguments and behaviour shared by SimpleRNN, LSTM and GRU (Keras's `RNN` base)."""

    _keras_cell_weights = True  # (files keep the weights under `cell`, as Keras's)
    _gates = 1
    _has_recurrent_activation = False
    # Keras's mask: masked steps carry the state over (a second input of the native core).
    supports_masking = True
    _mask_input = True

    def compute_mask(self, inputs, previous_mask):
        mask = previous_mask if self.return_sequences else None
        return [mask] + [None] * self._state_count if self.return_state else mask

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        use_cudnn="auto",
        implementation=2,
        **kwargs,
    ):
        super().__init__(**kwargs)
        kind = type(self).__name__
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"{kind} units must be a positive integer, got {units!r}")
        self.units = int(units)
        self._activation_name = activations.native_name(activation)
        self.activation = activations.get(self._activation_name)
        self._recurrent_activation_name = activations.native_name(recurrent_activation)
        self.recurrent_activation = activations.get(self._recurrent_activation_name)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = self._rate(dropout, "dropout")
        self.recurrent_dropout = self._rate(recurrent_dropout, "recurrent_dropout")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0
        ):
            raise ValueError(f"{kind} seed must be a non-negative integer or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.return_sequences = bool(return_sequences)
        self.go_backwards = bool(go_backwards)
        self.unroll = bool(unroll)  # the native loop is the same either way
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.return_state = bool(return_state)
        if stateful:
            raise ValueError(
                f"{kind}(stateful=True) is not supported: each batch starts from its "
                "initial_state (zeros unless given)"
            )
        self.stateful = False
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"use_cudnn must be 'auto', True or False, got {use_cudnn!r}")
        self.use_cudnn = use_cudnn
        if implementation not in (1, 2):
            raise ValueError(f"implementation must be 1 or 2, got {implementation!r}")
        self.implementation = implementation  # the same numbers either way

    def _rate(self, value, name: str) -> float:
        rate = non_negative_number(value, f"{type(self).__name__} {name}", ValueError)
        if rate >= 1:
            raise ValueError(
                f"{type(self).__name__} {name} must be in [0, 1), got {rate}: a rate of 1 "
                "would drop every value"
            )
        return rate

    # -- building ----------------------------------------------------------------------
    def build(self, input_shape) -> None:
        if self.built:
            return
        shape = tuple(input_shape)
        if len(shape) != 3:
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) expects inputs of shape "
                f"(batch, timesteps, features), got {shape} (rank {len(shape)})"
            )
        super().build(shape)

    def _native_config(self, go_backwards: bool | None = None):
        needs_seed = self.dropout > 0 or self.recurrent_dropout > 0
        seed = self.seed if self.seed is not None else (_random.next_seed() if needs_seed else 0)
        return _core.RecurrentConfig(
            kind=self._kind,
            units=self.units,
            activation=self._activation_name,
            recurrent_activation=self._recurrent_activation_name,
            use_bias=self.use_bias,
            return_sequences=self.return_sequences,
            go_backwards=self.go_backwards if go_backwards is None else go_backwards,
            reset_after=getattr(self, "reset_after", True),
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            seed=seed,
            zero_output_for_mask=self.zero_output_for_mask,
        )

    def _make_core(self, dtype):
        return getattr(_core, f"Recurrent_{dtype}")(self._native_config())

    def _weight_regularizers(self):
        regs = [self.kernel_regularizer, self.recurrent_regularizer, self.bias_regularizer]
        return regs[: 2 + self.use_bias]

    def _weight_constraints(self):
        found = [self.kernel_constraint, self.recurrent_constraint, self.bias_constraint]
        return found[: 2 + self.use_bias]

    def _initial_values(self, shapes: list[tuple], dtype: str) -> list[np.ndarray]:
        """Initial kernel, recurrent kernel (and bias) for weight shapes in Keras order."""
        values = [
            self.kernel_initializer(shapes[0], dtype),
            self.recurrent_initializer(shapes[1], dtype),
        ]
        if self.use_bias:
            values.append(self._initial_bias(shapes[2], dtype))
        return values

    def _initial_bias(self, shape, dtype):
        return self.bias_initializer(shape, dtype)

    def _initialize(self):
        weights = self.weights
        values = self._initial_values([w.shape for w in weights], self._native_dtype)
        for var, value in zip(weights, values):
            var.assign(value)

    def reset_state(self) -> None:
        """Keras's reset of a stateful layer's states: a no-op, every batch starts from zero
        states (stateful=False)."""

    reset_states = reset_state

    # -- calls with Keras's initial_state / return_state (see _CallsWithStates) -------------
    @property
    def _state_count(self) -> int:
        return 2 if self._kind == "LSTM" else 1

    @property
    def _returns_several(self) -> bool:
        return self.return_state

    def _state_shapes(self) -> list[tuple]:
        return [(self.units,)] * self._state_count

    def _state_names(self) -> list[str]:
        return ["h", "c"][: self._state_count]

    def _unpack(self, packed, take):
        """The call's outputs from the packed core's (see _StateCall); `take(steps, columns,
        squeeze)` slices packed[:, steps, columns] (dropping the steps axis on `squeeze`)."""
        if not self.return_state:
            return packed
        u, n = self.units, self._state_count
        output = take((n, _TO_THE_END), (0, u), not self.return_sequences)
        return [output] + [take((k, k + 1), (0, u), True) for k in range(n)]

    # -- dropout's random stream -------------------------------------------------------------
    def _extra_state(self):
        if not self.built or not (self.dropout or self.recurrent_dropout):
            return {}
        return {"rng_state": np.array(self._core.rng_state, dtype=np.uint64)}

    def _set_extra_state(self, state):
        seed, draws = (int(v) for v in state["rng_state"])
        self._core.rng_state = (seed, draws)

    # -- config --------------------------------------------------------------------------
    def get_config(self) -> dict:
        base = super().get_config()
        base.pop("activity_regularizer", None)  # Keras lists it later, always
        config = {
            **base,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "units": self.units,
            "activation": activations.serialize(self.activation),
        }
        if self._has_recurrent_activation:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config.update(
            {
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
            }
        )
        config.update(self._extra_config_after_initializers())
        config.update(
            {
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
            }
        )
        config.update(self._extra_config_at_end())
        return config

    def _extra_config_after_initializers(self) -> dict:
        return {}

    def _extra_config_at_end(self) -> dict:
        return {"seed": self.seed}


class SimpleRNN(_Recurrent):
    """Fully-connected RNN where the output is fed back as the next input:
    `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation name or function (default "tanh"; None: linear).
        use_bias: Whether the layer uses a bias vector (default True).
        kernel_initializer: Initializer of the input kernel (default "glorot_uniform").
        recurrent_initializer: Initializer of the recurrent kernel (default "orthogonal").
        bias_initializer: Initializer of the bias (default "zeros").
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer:
            Optional `eigennet.regularizers`.
        dropout: Fraction in [0, 1) of the inputs dropped in training (default 0); one mask
            per batch, the same at every step, as Keras.
        recurrent_dropout: Fraction in [0, 1) of the recurrent state dropped in training.
        seed: Optional int seeding the dropout masks.
        return_sequences: Return the output of every step (default False: the last one).
        go_backwards: Process the sequence backwards (and return the reversed sequence).
        return_state, stateful: Must be False (not supported yet).
        unroll: Accepted for compatibility; the native loop is the same.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, timesteps, units)` with return_sequences, else `(batch, units)`.
    Weights, in Keras order: kernel `(features, units)`, recurrent_kernel `(units, units)`,
    bias `(units,)`.
    """

    _kind = "SimpleRNN"

    def __init__(self, units, activation="tanh", **kwargs):
        if "recurrent_activation" in kwargs:
            raise ValueError(  # (Keras 3: an unrecognized keyword argument)
                "Unrecognized keyword arguments passed to SimpleRNN: recurrent_activation "
                "(a SimpleRNN has no gates)"
            )
        super().__init__(units, activation=activation, **kwargs)

    def _extra_config_at_end(self):
        return {}  # Keras's SimpleRNN config has no seed


class LSTM(_Recurrent):
    """Long Short-Term Memory layer (Hochreiter 1997), Keras 3's gate order i, f, c, o:
    `z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias`, `i, f, o =
    recurrent_activation(z_i, z_f, z_o)`, `c_t = f * c_{t-1} + i * activation(z_c)`,
    `h_t = o * activation(c_t)`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate and the cell output (default "tanh").
        recurrent_activation: Activation of the gates (default "sigmoid").
        use_bias: Whether the layer uses a bias vector (default True).
        kernel_initializer, recurrent_initializer, bias_initializer: Defaults
            "glorot_uniform", "orthogonal", "zeros".
        unit_forget_bias: Add 1 to the forget gate's bias at initialization (default True).
        kernel_regularizer, recurrent_regularizer, bias_regularizer, activity_regularizer:
            Optional `eigennet.regularizers`.
        dropout, recurrent_dropout: Fractions in [0, 1) dropped in training, one mask per
            batch kept over time (with recurrent dropout each gate has its own masks, as
            Keras's implementation 1).
        seed: Optional int seeding the dropout masks.
        return_sequences, go_backwards, unroll: As Keras (see SimpleRNN).
        return_state, stateful: Must be False (not supported yet).

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, timesteps, units)` with return_sequences, else `(batch, units)`.
    Weights: kernel `(features, 4 * units)`, recurrent_kernel `(units, 4 * units)`, bias
    `(4 * units,)`, gate blocks in the order i, f, c, o.
    """

    _kind = "LSTM"
    _gates = 4
    _has_recurrent_activation = True

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        unit_forget_bias=True,
        **kwargs,
    ):
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation, **kwargs
        )
        self.unit_forget_bias = bool(unit_forget_bias)

    def _initial_bias(self, shape, dtype):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype)
        u = self.units
        return np.concatenate(
            [
                self.bias_initializer((u,), dtype),
                np.ones((u,), dtype=dtype),
                self.bias_initializer((2 * u,), dtype),
            ]
        ).astype(dtype)

    def _extra_config_after_initializers(self):
        return {"unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Gated Recurrent Unit (Cho et al. 2014), Keras 3's gate order z, r, h:
    `z, r = recurrent_activation(...)`, `hh = activation(x_t @ K_h + r * (h_{t-1} @ R_h +
    b_rec_h) + b_h)` with reset_after=True (Keras's default, bias `(2, 3 * units)`: input row,
    recurrent row), or `activation(x_t @ K_h + (r * h_{t-1}) @ R_h + b_h)` with
    reset_after=False (bias `(3 * units,)`); `h_t = z * h_{t-1} + (1 - z) * hh`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate (default "tanh").
        recurrent_activation: Activation of the gates (default "sigmoid").
        reset_after: Apply the reset gate after the recurrent product (default True).
        Others as LSTM.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, timesteps, units)` with return_sequences, else `(batch, units)`.
    Weights: kernel `(features, 3 * units)`, recurrent_kernel `(units, 3 * units)`, bias.
    """

    _kind = "GRU"
    _gates = 3
    _has_recurrent_activation = True

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        reset_after=True,
        **kwargs,
    ):
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation, **kwargs
        )
        self.reset_after = bool(reset_after)

    def _extra_config_at_end(self):
        return {"reset_after": self.reset_after, "seed": self.seed}


_TO_THE_END = 2**31 - 1  # a slice's stop meaning the end of its axis (the native SliceOp's)


class _StateCall:
    """The native core of a recurrent layer's calls with Keras's initial_state and/or
    return_state: copies of the layer's core sharing its weights (one per input shapes) whose
    inputs are x, the initial states (and the mask), and whose output packs the final states
    as steps before the output's: (states + steps, units) per sample. It is a node of the
    layer's traced call only; its place in the graph is the layer's (`_param_owner`), so the
    trainer sums its gradient into the layer's weights as for a layer called twice."""

    def __init__(self, layer: _Recurrent, initial_state: bool, return_state: bool):
        self._param_owner = layer
        self._flags = (initial_state, return_state)
        self._copies = variable_axes.RecentCache(16)
        self._inbound_nodes: list = []

    name = property(lambda self: self._param_owner.name)
    dtype = property(lambda self: self._param_owner.dtype)
    _native_dtype = property(lambda self: self._param_owner._native_dtype)
    trainable = property(lambda self: self._param_owner.trainable)

    @property
    def _core(self):
        layer = self._param_owner
        return self._core_for([tuple(s) for s in layer._core.input_shapes[:1]] + self._states())

    def _states(self) -> list[tuple]:
        return self._param_owner._state_shapes() if self._flags[0] else []

    def _check_input(self, x, what: str) -> None:
        self._param_owner._check_input(x, what)

    def _core_for(self, samples: list[tuple]):
        key = tuple(tuple(s) for s in samples)
        core = self._copies.get(key)
        if core is None:
            try:
                core = self._param_owner._core.with_states(*self._flags, [list(s) for s in key])
            except ValueError as e:
                raise ValueError(f"Layer {self.name!r}: {e}") from None
            self._copies.put(key, core)
        return core

    def __call__(self, tensors: list):
        samples = [tuple(t.shape[1:]) for t in tensors]
        if variable_axes.has_variable(samples):
            first, second = (
                tuple(self._core_for([variable_axes.at_length(s, n) for s in samples]).output_shape)
                for n in variable_axes.PROBES
            )
            out = variable_axes.merged(first, second)
        else:
            out = tuple(self._core_for(samples).output_shape)
        (packed,) = record_call(
            self, tensors, True, [(None, *out)], self._native_dtype, [self.name]
        )
        return packed


RECURRENT_LAYERS = {cls.__name__: cls for cls in (SimpleRNN, LSTM, GRU)}
