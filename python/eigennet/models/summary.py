"""model.summary(): Keras 3's table of layers, output shapes and parameter counts."""

from __future__ import annotations

import textwrap

import numpy as np

_WIDTHS = (33, 24, 15)


def _bytes(count: int, itemsize: int) -> str:
    size = float(count * itemsize)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"


def _row(cells, left="│", mid="│", right="│") -> str:
    """One table row. As Keras (rich) draws it, a cell too long for its column wraps at spaces
    onto more lines, and a word longer than the column is cut with an ellipsis."""

    def wrap(text, width):
        lines = textwrap.wrap(text, width, break_long_words=False) or [""]
        return [line if len(line) <= width else line[: width - 1] + "…" for line in lines]

    wrapped = [wrap(str(c), w - 2) for c, w in zip(cells, _WIDTHS)]
    lines = []
    for k in range(max(len(w) for w in wrapped)):
        parts = []
        for i, (cell, width) in enumerate(zip(wrapped, _WIDTHS)):
            text = cell[k] if k < len(cell) else ""
            parts.append(" " + (text.rjust(width - 2) if i == 2 else text.ljust(width - 2)) + " ")
        lines.append(left + mid.join(parts) + right)
    return "\n".join(lines)


def _rule(left: str, mid: str, right: str, fill: str) -> str:
    return left + mid.join(fill * w for w in _WIDTHS) + right


def print_summary(model, print_fn=None) -> None:
    out = print_fn or print
    layers = model.layers
    out(f'Model: "{model.name}"')
    out(_rule("┏", "┳", "┓", "━"))
    out(_row(("Layer (type)", "Output Shape", "Param #"), "┃", "┃", "┃"))
    out(_rule("┡", "╇", "┩", "━"))
    for i, layer in enumerate(layers):
        shape = layer.output_shape if layer.built else "?"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        out(_row((f"{layer.name} ({type(layer).__name__})", shape, params)))
        if i + 1 < len(layers):
            out(_rule("├", "┼", "┤", "─"))
    out(_rule("└", "┴", "┘", "─"))
    itemsize = np.dtype(model.dtype).itemsize
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    optimizer_params = 0
    opt = model.optimizer
    if opt is not None and opt._native is not None and opt._native.built:
        # Keras also counts the iteration counter and the learning rate.
        optimizer_params = sum(v.size for v in opt.variables[1:]) + 2
    total = trainable + frozen + optimizer_params
    out(f" Total params: {total:,} ({_bytes(total, itemsize)})")
    out(f" Trainable params: {trainable:,} ({_bytes(trainable, itemsize)})")
    out(f" Non-trainable params: {frozen:,} ({_bytes(frozen, itemsize)})")
    if optimizer_params:
        out(f" Optimizer params: {optimizer_params:,} ({_bytes(optimizer_params, itemsize)})")
