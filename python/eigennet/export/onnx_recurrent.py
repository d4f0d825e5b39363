"""ONNX converters of SimpleRNN, LSTM, GRU and Bidirectional, as ONNX's RNN, LSTM and GRU ops.

ONNX's ops take time-major inputs and their own weight layouts: (directions, gates * units,
inputs) matrices (Keras's transposed), LSTM gates in the order i, o, f, c (Keras: i, f, c, o),
GRU gates z, r, h as Keras, with `linear_before_reset` for Keras's `reset_after=True`, and
the input and recurrent biases side by side. `go_backwards` reverses the input and keeps
the outputs in the order they were computed, as Keras returns them.
"""

from __future__ import annotations

import numpy as np

# Keras activation -> (ONNX RNN activation, its alpha, beta)
_ACTIVATIONS = {
    "tanh": ("Tanh", 0.0, 0.0),
    "sigmoid": ("Sigmoid", 0.0, 0.0),
    "relu": ("Relu", 0.0, 0.0),
    "softplus": ("Softplus", 0.0, 0.0),
    "linear": ("Affine", 1.0, 0.0),
    "leaky_relu": ("LeakyRelu", 0.2, 0.0),
    "elu": ("Elu", 1.0, 0.0),
}
_LSTM_ORDER = [0, 3, 1, 2]  # ONNX's gate k is Keras's gate _LSTM_ORDER[k]


def _activations(layer, names: list[str]) -> dict:
    found = []
    for name in names:
        if name not in _ACTIVATIONS:
            raise NotImplementedError(
                f"Layer {layer.name!r} ({type(layer).__name__}): activation {name!r} has no "
                f"ONNX recurrent form (supported: {', '.join(sorted(_ACTIVATIONS))})"
            )
        found.append(_ACTIVATIONS[name])
    return {
        "activations": [f for f, _, _ in found],
        "activation_alpha": [a for _, a, _ in found],
        "activation_beta": [b for _, _, b in found],
    }


def _gates(matrix: np.ndarray, order: list[int]) -> np.ndarray:
    """The gate blocks of the last axis of `matrix` in `order`."""
    blocks = np.split(matrix, len(order), axis=-1)
    return np.concatenate([blocks[k] for k in order], axis=-1)


def _run(
    g, layer, x: str, shape, w: dict, mask=None, zero_output: bool = False, initial=None
) -> tuple[str, list[str]]:
    """Runs recurrent `layer` (weights `w`) on batch-major `x`, with a Keras `mask` (B, T) of
    0/1 floats or None (`zero_output`: masked steps output zeros, else the states they keep)
    and the initial states `initial` ((B, u) each) or None (zeros). Returns the ONNX op's
    sequence output Y (T, 1, B, u) and the final states ((1, B, u) each: h, and LSTM's c)."""
    c = layer.get_config()
    if "cell" in c:  # layers.RNN(cell): the cell's arguments beside the RNN's
        c = {**c, **c.pop("cell")["config"]}
    units = int(c["units"])
    kind = {"LSTM": "LSTM", "GRU": "GRU"}.get(layer._kind, "RNN")
    kernel, recurrent = w["kernel"], w["recurrent_kernel"]
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    attributes = {"hidden_size": units}
    if kind == "LSTM":
        kernel, recurrent = _gates(kernel, _LSTM_ORDER), _gates(recurrent, _LSTM_ORDER)
        act, rec = c["activation"], c["recurrent_activation"]
        attributes.update(_activations(layer, [rec, act, act]))
    elif kind == "GRU":
        attributes["linear_before_reset"] = int(bool(c.get("reset_after", True)))
        attributes.update(_activations(layer, [c["recurrent_activation"], c["activation"]]))
    else:
        attributes.update(_activations(layer, [c["activation"]]))
    bias = np.zeros(2 * gates * units, dtype=kernel.dtype)
    if "bias" in w:
        b = w["bias"]
        if kind == "LSTM":
            b = _gates(b, _LSTM_ORDER)
        bias[: b.size] = b.reshape(-1)  # (GRU reset_after: input then recurrent biases)
    if c.get("go_backwards"):
        x = g.flip(x, 1)
        mask = None if mask is None else g.flip(mask, 1)
    time_major = g.transpose(x, [1, 0, 2])
    weights = [
        g.const(kernel.T[None], "W"),
        g.const(recurrent.T[None], "R"),
        g.const(bias[None], "B"),
    ]
    count = 2 if kind == "LSTM" else 1
    if initial is not None:
        states = [g.node("Unsqueeze", [s, g.ints([0])]) for s in initial]
    else:
        batch = g.node("Shape", [time_major], start=1, end=2)
        state_shape = g.node("Concat", [g.ints([1]), batch, g.ints([units])], axis=0)
        states = [g.node("Expand", [g.const(np.zeros((1, 1, units)), "zero"), state_shape])]
        states = states * count
    if mask is None:
        outputs = g.node(kind, [time_major, *weights, "", *states], outputs=1 + count, **attributes)
        return outputs[0], outputs[1:]
    zero_output = zero_output or bool(c.get("zero_output_for_mask"))
    return _masked_steps(g, kind, time_major, mask, weights, attributes, shape[1], states,
                         zero_output)  # fmt: skip


def _masked_steps(g, kind, x, mask, weights, attributes, steps: int, states, zero_output):
    """The recurrence one step at a time (one ONNX op call per step, its states passed on),
    a masked step keeping the states (and giving them or zeros as its output), as Keras."""
    keep = g.node("Cast", [g.transpose(mask, [1, 0])], to=g.onnx.TensorProto.BOOL)  # (T, B)
    keep = g.node("Unsqueeze", [keep, g.ints([1, 3])])  # (T, 1, B, 1)
    zero = g.node("Mul", [states[0], g.const(0.0)]) if zero_output else None
    outputs = []
    for t in range(steps):
        x_t = g.node("Slice", [x, g.ints([t]), g.ints([t + 1]), g.ints([0])])
        keep_t = g.node("Slice", [keep, g.ints([t]), g.ints([t + 1]), g.ints([0])])
        keep_t = g.node("Squeeze", [keep_t, g.ints([0])])
        results = g.node(kind, [x_t, *weights, "", *states], outputs=1 + len(states), **attributes)
        states = [g.node("Where", [keep_t, new, old]) for new, old in zip(results[1:], states)]
        outputs.append(g.node("Where", [keep_t, states[0], zero]) if zero_output else states[0])
    sequence = g.node("Concat", outputs, axis=0) if len(outputs) > 1 else outputs[0]
    return g.node("Unsqueeze", [sequence, g.ints([1])]), states


def _output(g, layer, y: str, states: list[str]) -> str:
    """The layer's output (B, T, u) or (B, u) from the ONNX op's."""
    if layer.get_config().get("return_sequences"):
        return g.transpose(g.node("Squeeze", [y, g.ints([1])]), [1, 0, 2])
    return g.node("Squeeze", [states[0], g.ints([0])])


def _check(layer) -> None:
    if layer.get_config().get("stateful"):
        raise NotImplementedError(
            f"Layer {layer.name!r} ({type(layer).__name__}): stateful=True cannot be "
            "exported to ONNX"
        )


def recurrent(g, layer, xs, shapes, out_shape):
    """A SimpleRNN/LSTM/GRU call: inputs x and the mask, if any."""
    from eigennet.export.onnx_layers import weights

    _check(layer)
    mask = xs[1] if len(xs) > 1 else None
    y, states = _run(g, layer, xs[0], shapes[0], weights(layer), mask)
    return _output(g, layer, y, states)


def state_call(g, call, xs, shapes, out_shape):
    """A call with initial_state and/or return_state: inputs x, the initial states if given,
    the mask if any; the output packs the final states as steps before the layer's output
    ((B, states + T, u), or (B, states + 1, u) without return_sequences)."""
    from eigennet.export.onnx_layers import weights

    layer = call._param_owner
    _check(layer)
    initial_state, return_state = call._flags
    count = layer._state_count
    initial = xs[1 : 1 + count] if initial_state else None
    rest = xs[1 + count :] if initial_state else xs[1:]
    mask = rest[0] if rest else None
    y, states = _run(g, layer, xs[0], shapes[0], weights(layer), mask, initial=initial)
    output = _output(g, layer, y, states)
    if not return_state:
        return output
    if len(out_shape) == 3 and not layer.get_config().get("return_sequences"):
        output = g.node("Unsqueeze", [output, g.ints([1])])
    finals = [g.transpose(s, [1, 0, 2]) for s in states]  # (B, 1, u) each
    return g.node("Concat", [*finals, output], axis=1)


def bidirectional(g, layer, xs, shapes, out_shape):
    from eigennet.export.onnx_layers import weights

    mask = xs[1] if len(xs) > 1 else None
    all_weights = weights(layer)
    results = []
    for direction, sub in (("forward_", layer.forward_layer), ("backward_", layer.backward_layer)):
        _check(sub)
        w = {k[len(direction) :]: v for k, v in all_weights.items() if k.startswith(direction)}
        # Keras's Bidirectional: masked steps of returned sequences are zeros
        sequences = bool(sub.get_config().get("return_sequences"))
        y, states = _run(g, sub, xs[0], shapes[0], w, mask, zero_output=sequences)
        results.append(_output(g, sub, y, states))
    forward, backward = results
    if layer.forward_layer.get_config().get("return_sequences"):
        backward = g.flip(backward, 1)  # Keras aligns the backward sequence with the input
    mode = layer.get_config()["merge_mode"]
    if mode == "concat":
        return g.node("Concat", [forward, backward], axis=-1)
    if mode == "sum":
        return g.node("Add", [forward, backward])
    if mode == "mul":
        return g.node("Mul", [forward, backward])
    if mode == "ave":
        return g.node("Mul", [g.node("Add", [forward, backward]), g.const(0.5)])
    raise NotImplementedError(f"Layer {layer.name!r}: merge_mode {mode!r} cannot be exported")
