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


def _run(g, layer, x: str, shape, w: dict) -> tuple[str, str]:
    """Runs recurrent `layer` (weights `w`) on batch-major `x`; returns the ONNX op's
    sequence output Y (T, 1, B, u) and final state Y_h (1, B, u)."""
    from eigennet.layers import GRU, LSTM

    c = layer.get_config()
    units = int(c["units"])
    kind = "LSTM" if isinstance(layer, LSTM) else "GRU" if isinstance(layer, GRU) else "RNN"
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
    time_major = g.transpose(x, [1, 0, 2])
    inputs = [
        time_major,
        g.const(kernel.T[None], "W"),
        g.const(recurrent.T[None], "R"),
        g.const(bias[None], "B"),
    ]
    outputs = g.node(kind, inputs, outputs=2, **attributes)
    return outputs[0], outputs[1]


def _output(g, layer, y: str, y_h: str) -> str:
    if layer.get_config().get("return_sequences"):
        return g.transpose(g.node("Squeeze", [y, g.ints([1])]), [1, 0, 2])
    return g.node("Squeeze", [y_h, g.ints([0])])


def _check(layer, xs: list) -> None:
    c = layer.get_config()
    if len(xs) > 1:
        raise NotImplementedError(
            f"Layer {layer.name!r} ({type(layer).__name__}) with a mask or initial state "
            "cannot be exported to ONNX"
        )
    if c.get("stateful") or c.get("return_state"):
        raise NotImplementedError(
            f"Layer {layer.name!r} ({type(layer).__name__}): stateful=True and "
            "return_state=True cannot be exported to ONNX"
        )


def recurrent(g, layer, xs, shapes, out_shape):
    from eigennet.export.onnx_layers import weights

    _check(layer, xs)
    y, y_h = _run(g, layer, xs[0], shapes[0], weights(layer))
    return _output(g, layer, y, y_h)


def bidirectional(g, layer, xs, shapes, out_shape):
    from eigennet.export.onnx_layers import weights

    _check(layer, xs)
    _check(layer.forward_layer, xs)
    all_weights = weights(layer)
    results = []
    for direction, sub in (("forward_", layer.forward_layer), ("backward_", layer.backward_layer)):
        w = {k[len(direction) :]: v for k, v in all_weights.items() if k.startswith(direction)}
        y, y_h = _run(g, sub, xs[0], shapes[0], w)
        results.append(_output(g, sub, y, y_h))
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
