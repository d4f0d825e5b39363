"""model.summary(): Keras 3's table of layers, output shapes and parameter counts."""

from __future__ import annotations

import textwrap

import numpy as np

from eigennet import storage_formats
from eigennet.layers.input_layer import InputLayer

_WIDTHS = (33, 24, 15)
# A functional model adds Keras's "Connected to" column.
_FUNCTIONAL_WIDTHS = (29, 22, 13, 26)


def _bytes(count: int, itemsize: int) -> str:
    size = float(count * itemsize)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"


def _nbytes(weight) -> int:
    return int(np.prod(weight.shape)) * storage_formats.itemsize(weight.dtype)


def _row(cells, left="│", mid="│", right="│", widths=_WIDTHS) -> str:
    """One table row. As Keras (rich) draws it, a cell too long for its column wraps at spaces
    onto more lines, and a word longer than the column is cut with an ellipsis."""

    def wrap(text, width):
        lines = textwrap.wrap(text, width, break_long_words=False) or [""]
        return [line if len(line) <= width else line[: width - 1] + "…" for line in lines]

    wrapped = [wrap(str(c), w - 2) for c, w in zip(cells, widths)]
    lines = []
    for k in range(max(len(w) for w in wrapped)):
        parts = []
        for i, (cell, width) in enumerate(zip(wrapped, widths)):
            text = cell[k] if k < len(cell) else ""
            parts.append(" " + (text.rjust(width - 2) if i == 2 else text.ljust(width - 2)) + " ")
        lines.append(left + mid.join(parts) + right)
    return "\n".join(lines)


def _rule(left: str, mid: str, right: str, fill: str, widths=_WIDTHS) -> str:
    return left + mid.join(fill * w for w in widths) + right


def _connections(model, layer) -> str:
    """Keras's "Connected to": each input of the layer's calls in this model as
    name[node index][tensor index]; "-" for an input layer."""
    calls = [n for n in getattr(layer, "_inbound_nodes", []) if id(n) in model._node_ids()]
    names = [
        f"{t._node.layer.name}[{t._node.layer._inbound_nodes.index(t._node)}][{t._index}]"
        for node in calls
        for t in node.inputs
    ]
    return ", ".join(names) or "-"


def _rows(model):
    """(name (type), output shape, params[, connected to]) per layer."""
    functional = hasattr(model, "_node_ids")
    for layer in model.layers:
        if isinstance(layer, InputLayer):
            shape, params = layer.output.shape, "0"
        elif layer.built:
            shape, params = layer.output_shape, f"{layer.count_params():,}"
        else:
            shape, params = "?", "0 (unbuilt)"
        row = (f"{layer.name} ({type(layer).__name__})", shape, params)
        yield (*row, _connections(model, layer)) if functional else row


def print_summary(model, print_fn=None) -> None:
    out = print_fn or print
    rows = list(_rows(model))
    widths = _FUNCTIONAL_WIDTHS if hasattr(model, "_node_ids") else _WIDTHS
    head = ("Layer (type)", "Output Shape", "Param #", "Connected to")[: len(widths)]
    out(f'Model: "{model.name}"')
    out(_rule("┏", "┳", "┓", "━", widths))
    out(_row(head, "┃", "┃", "┃", widths))
    out(_rule("┡", "╇", "┩", "━", widths))
    for i, row in enumerate(rows):
        out(_row(row, widths=widths))
        if i + 1 < len(rows):
            out(_rule("├", "┼", "┤", "─", widths))
    out(_rule("└", "┴", "┘", "─", widths))
    itemsize = np.dtype(model._native_dtype).itemsize  # (optimizer state: float32)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    # Bytes by each weight's dtype (a quantized kernel's int8 takes one byte), as Keras.
    trainable_bytes = sum(_nbytes(w) for w in model.trainable_weights)
    frozen_bytes = sum(_nbytes(w) for w in model.non_trainable_weights)
    optimizer_params = 0
    opt = model.optimizer
    if opt is not None and opt._native is not None and opt._native.built:
        # Keras also counts the iteration counter and the learning rate.
        optimizer_params = sum(v.size for v in opt.variables[1:]) + 2
    total = trainable + frozen + optimizer_params
    total_bytes = trainable_bytes + frozen_bytes + optimizer_params * itemsize
    out(f" Total params: {total:,} ({_bytes(total_bytes, 1)})")
    out(f" Trainable params: {trainable:,} ({_bytes(trainable_bytes, 1)})")
    out(f" Non-trainable params: {frozen:,} ({_bytes(frozen_bytes, 1)})")
    if optimizer_params:
        out(f" Optimizer params: {optimizer_params:,} ({_bytes(optimizer_params, itemsize)})")
