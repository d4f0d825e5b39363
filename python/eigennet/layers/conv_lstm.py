"""ConvLSTM1D and ConvLSTM2D (channels last), Keras 3's convolutional LSTMs.

Written with keras.ops and traced into the native graph, one step per timestep (so the number
of timesteps must be known): each gate convolves the step's input with its part of `kernel`
(`ops.conv` with the layer's strides, padding and dilation, plus its bias) and the previous
output with its part of `recurrent_kernel` ("same" padding, stride 1), as Keras's
ConvLSTMCell. Gates i, f, c, o in that order; weights as Keras's, stored under `cell` in
files: `kernel (k..., in, 4 filters)`, `recurrent_kernel (k..., filters, 4 filters)`,
`bias (4 filters,)` (the forget part starts at one with `unit_forget_bias`).

Dropout draws one mask per gate for each sample of a batch and keeps it over the steps (Keras 3
draws one mask and gives gate g the mask of the batch's sample g, broadcast over the batch).
`stateful=True` raises a ValueError; ConvLSTM3D is not provided (ops.conv is 1-D and 2-D).
"""

from __future__ import annotations

import numpy as np

from eigennet import activations, constraints, initializers, ops, random, regularizers
from eigennet.layers._ops_layer import OpsLayer, serialized
from eigennet.layers._spatial import (
    check_data_format,
    input_channels,
    standardize_padding,
    standardize_tuple,
    window_config,
)
from eigennet.ops.symbolic import is_symbolic


def _rate(value, name: str) -> float:
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={value}")
    return float(value)


class _ConvLSTM(OpsLayer):
    """N-D convolutional LSTM (N = `rank`, 1 or 2) over (batch, time, spatial..., channels)."""

    _keras_cell_weights = True  # (files keep the weights under `cell`, as Keras's)

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
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
        zero_output_for_mask=False,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__
        if stateful:
            raise ValueError(f"{owner}(stateful=True) is not supported: each batch starts at zero")
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"{owner}: `filters` must be a positive int. Received: {filters}")
        self.rank = rank
        self.filters = int(filters)
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = standardize_tuple(strides, rank, "strides", owner)
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate", owner)
        self.padding = standardize_padding(padding, owner, ("valid", "same"))
        self.data_format = check_data_format(data_format, owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: strides > 1 is not supported with dilation_rate > 1, got "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}"
            )
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(dropout, "dropout")
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout")
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.stateful = False

    def _check_inputs(self, shape) -> int:
        layout = "(batch, time, spatial..., channels)"
        return input_channels(self, shape, self.rank + 3, layout)

    def build(self, input_shape):
        channels = self._check_inputs(tuple(input_shape))
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, channels, 4 * self.filters),
            initializer=initializers.fresh(self.kernel_initializer),
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self.recurrent_kernel = self.add_weight(
            shape=(*self.kernel_size, self.filters, 4 * self.filters),
            initializer=initializers.fresh(self.recurrent_initializer),
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
            name="recurrent_kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(4 * self.filters,),
                initializer=self._bias_initializer(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.input_shape = tuple(input_shape)

    def _output_spatial(self, sizes) -> tuple:
        """The states' spatial sizes: the input convolution's output sizes."""
        if None in sizes:
            raise ValueError(
                f"Layer {self.name!r}: {type(self).__name__} needs known spatial sizes, got "
                f"{tuple(sizes)}"
            )
        out = []
        for n, k, s, d in zip(sizes, self.kernel_size, self.strides, self.dilation_rate):
            span = d * (k - 1) + 1
            out.append(-(-n // s) if self.padding == "same" else max(0, (n - span) // s + 1))
        return tuple(out)

    def _bias_initializer(self):
        init = initializers.fresh(self.bias_initializer)
        if not self.unit_forget_bias:
            return init
        n = self.filters

        def unit_forget(shape, dtype=None):
            return np.concatenate(
                [np.asarray(init((n,), dtype)), np.ones(n, dtype or "float32"),
                 np.asarray(init((2 * n,), dtype))]
            )  # fmt: skip

        return unit_forget

    def _masks(self, like, rate, training):
        """Four masks (one per gate) scaled by 1 / (1 - rate), or None."""
        if not (training and rate > 0):
            return None
        masks = []
        for _ in range(4):
            draw = random.uniform(
                ops.shape(like), dtype=self._native_dtype, seed=self.seed_generator
            )
            masks.append(ops.cast(ops.greater_equal(draw, rate), self._native_dtype) / (1 - rate))
        return masks

    def _step(self, x, h, c, input_masks, state_masks):
        n = self.filters
        gates = []
        for g in range(4):
            xg = x if input_masks is None else x * input_masks[g]
            hg = h if state_masks is None else h * state_masks[g]
            kernel = self.kernel[..., g * n : (g + 1) * n]
            recurrent = self.recurrent_kernel[..., g * n : (g + 1) * n]
            z = ops.conv(xg, kernel, strides=self.strides, padding=self.padding,
                         dilation_rate=self.dilation_rate)  # fmt: skip
            if self.use_bias:
                z = z + self.bias[g * n : (g + 1) * n]
            gates.append(z + ops.conv(hg, recurrent, strides=1, padding="same"))
        i = self.recurrent_activation(gates[0])
        f = self.recurrent_activation(gates[1])
        c = f * c + i * self.activation(gates[2])
        o = self.recurrent_activation(gates[3])
        return o * self.activation(c), c

    def call(self, inputs, initial_state=None, mask=None, training=None):
        shape = tuple(getattr(inputs, "shape", np.shape(inputs)))
        self._check_inputs(shape)
        steps = shape[1]
        if steps is None:
            raise ValueError(
                f"Layer {self.name!r}: {type(self).__name__} needs a known number of "
                f"timesteps, got inputs of shape {shape}"
            )
        first = inputs[:, 0]
        if initial_state is None:
            state = (*self._output_spatial(shape[2:-1]), self.filters)
            if is_symbolic(inputs):  # (any batch size)
                h = c = ops.broadcast_to(ops.zeros(state, self._native_dtype), (None, *state))
            else:
                h = c = np.zeros((shape[0], *state), self._native_dtype)
        else:
            if not isinstance(initial_state, (list, tuple)) or len(initial_state) != 2:
                raise ValueError(
                    f"Layer {self.name!r} expects initial_state=[h, c], got {initial_state!r}"
                )
            h, c = initial_state
        input_masks = self._masks(first, self.dropout, training)
        state_masks = self._masks(h, self.recurrent_dropout, training)
        outputs = []
        for t in reversed(range(steps)) if self.go_backwards else range(steps):
            new_h, new_c = self._step(inputs[:, t], h, c, input_masks, state_masks)
            output = new_h
            if mask is not None:  # masked steps keep the states (and output zeros, or the last)
                keep = ops.cast(mask[:, t], self._native_dtype)
                keep = ops.reshape(keep, (-1,) + (1,) * (self.rank + 1))
                previous = 0.0 if self.zero_output_for_mask or not outputs else outputs[-1]
                output = keep * new_h + (1 - keep) * previous
                new_h = keep * new_h + (1 - keep) * h
                new_c = keep * new_c + (1 - keep) * c
            h, c = new_h, new_c
            outputs.append(output)
        result = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [result, h, c] if self.return_state else result

    def compute_mask(self, inputs, previous_mask):
        mask = previous_mask if self.return_sequences else None
        return [mask, None, None] if self.return_state else mask

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {
            **config,
            "filters": self.filters,
            **window_config(self),
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": serialized(regularizers, self.kernel_regularizer),
            "recurrent_regularizer": serialized(regularizers, self.recurrent_regularizer),
            "bias_regularizer": serialized(regularizers, self.bias_regularizer),
            "activity_regularizer": serialized(regularizers, self.activity_regularizer),
            "kernel_constraint": serialized(constraints, self.kernel_constraint),
            "recurrent_constraint": serialized(constraints, self.recurrent_constraint),
            "bias_constraint": serialized(constraints, self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": False,
            "unroll": False,
            "zero_output_for_mask": self.zero_output_for_mask,
        }


class ConvLSTM1D(_ConvLSTM):
    """1-D convolutional LSTM over (batch, time, steps, channels)."""

    def __init__(self, filters, kernel_size, **kwargs):
        kwargs.pop("unroll", None)  # (Keras's config holds it; every step is traced anyway)
        super().__init__(1, filters, kernel_size, **kwargs)


class ConvLSTM2D(_ConvLSTM):
    """2-D convolutional LSTM over (batch, time, rows, cols, channels)."""

    def __init__(self, filters, kernel_size, **kwargs):
        kwargs.pop("unroll", None)
        super().__init__(2, filters, kernel_size, **kwargs)
