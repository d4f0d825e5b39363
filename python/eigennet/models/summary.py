"""model.summary(): Keras 3's table of layers, output shapes and parameter counts."""

from __future__ import annotations

import re
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


def _row(cells, left="│", mid="│", right="│", widths=_WIDTHS, center_last=False) -> str:
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
            if center_last and i == len(widths) - 1:
                text = text.center(width - 2)
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


def _trainable_cell(layer) -> str:
    """Keras's Trainable column: "-" for a layer without weights."""
    if isinstance(layer, InputLayer) or not layer.weights:
        return "-"
    return "Y" if layer.trainable else "N"


def _rows(model, expand_nested=False, show_trainable=False, depth=0, functional=None):
    """(name (type), output shape, params[, connected to][, trainable]) per layer; with
    expand_nested, a nested model's layers follow it, indented as Keras indents them."""
    if functional is None:
        functional = hasattr(model, "_node_ids")
    for layer in model.layers:
        if isinstance(layer, InputLayer):
            shape, params = layer.output.shape, "0"
        elif layer.built:
            shape, params = layer.output_shape, f"{layer.count_params():,}"
        else:
            shape, params = "?", "0 (unbuilt)"
        name = f"{layer.name} ({type(layer).__name__})"
        row = ["   " * depth + "└ " + name if depth else name, shape, params]
        if functional:
            row.append(_connections(model, layer) if depth == 0 else "-")
        if show_trainable:
            row.append(_trainable_cell(layer))
        yield tuple(row)
        if expand_nested and getattr(layer, "layers", None) and hasattr(layer, "summary"):
            yield from _rows(layer, True, show_trainable, depth + 1, functional)


def _in_range(rows: list, layer_range, names: list) -> list:
    """The rows from the first layer whose name matches layer_range[0] to the last matching
    layer_range[1] (regular expressions, as Keras), both included."""
    if layer_range is None:
        return rows
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2:
        raise ValueError(
            f"layer_range must be a list or tuple of 2 strings. Received: {layer_range!r}"
        )
    starts = [i for i, n in enumerate(names) if re.match(layer_range[0], n)]
    ends = [i for i, n in enumerate(names) if re.match(layer_range[1], n)]
    if not starts or not ends or ends[-1] < starts[0]:
        raise ValueError(
            f"Passed layer_range {layer_range!r} does not match any layer range of the model"
        )
    return rows[starts[0] : ends[-1] + 1]


def _widths(base: tuple, show_trainable: bool, line_length, positions) -> tuple:
    """Column widths: Keras's layout (a narrower table plus the Trainable column), or the
    columns' cumulative `positions` (fractions of line_length, or characters)."""
    widths = tuple(base)
    if show_trainable:  # (Keras 3.15's table for a Sequential model; others scaled alike)
        widths = (29, 23, 12, 7) if base == _WIDTHS else tuple(round(w * 0.9) for w in base) + (7,)
    total = line_length or sum(widths) + len(widths) + 1
    if positions is not None:
        if len(positions) != len(widths):
            raise ValueError(
                f"positions must give {len(widths)} column ends. Received: positions={positions}"
            )
        ends = [p * total if p <= 1 else p for p in positions]
        widths = tuple(max(3, round(b - a)) for a, b in zip([0, *ends[:-1]], ends))
    elif line_length:
        room = line_length - len(widths) - 1
        scaled = [max(3, round(w * room / sum(widths))) for w in widths]
        scaled[0] += room - sum(scaled)  # (the rounding's remainder: the table is line_length)
        widths = tuple(scaled)
    return widths


def print_summary(
    model,
    print_fn=None,
    line_length=None,
    positions=None,
    expand_nested=False,
    show_trainable=False,
    layer_range=None,
) -> None:
    out = print_fn or print
    rows = list(_rows(model, expand_nested, show_trainable))
    names = [str(r[0]).split(" (")[0].lstrip(" └") for r in rows]
    rows = _in_range(rows, layer_range, names)
    functional = hasattr(model, "_node_ids")
    base = _FUNCTIONAL_WIDTHS if functional else _WIDTHS
    widths = _widths(base, show_trainable, line_length, positions)
    head = ("Layer (type)", "Output Shape", "Param #", "Connected to")[: len(base)]
    if show_trainable:
        head = (*head, "Trainable")
    out(f'Model: "{model.name}"')
    out(_rule("┏", "┳", "┓", "━", widths))
    out(_row(head, "┃", "┃", "┃", widths, show_trainable))
    out(_rule("┡", "╇", "┩", "━", widths))
    for i, row in enumerate(rows):
        out(_row(row, widths=widths, center_last=show_trainable))
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
