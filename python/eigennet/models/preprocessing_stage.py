"""A functional model's preprocessing stage: the string layers applied to its inputs.

TextVectorization, StringLookup, IntegerLookup and Hashing compute in Python on strings (see
layers/_stage_layer.py); the native graph holds numbers only. A model whose inputs feed such
layers (Keras's end-to-end text model: `keras.Input(shape=(1,), dtype="string")` then
`TextVectorization`) is split in two: the stage runs these layers on the whole input arrays
(once per fit/evaluate/predict call on arrays, per batch for a PyDataset or a generator), and
the native graph starts at their outputs, with the model's numeric inputs beside them.
"""

from __future__ import annotations

import numpy as np

from eigennet.layers.keras_tensor import KerasTensor


def _is_stage(node) -> bool:
    return getattr(node.layer, "_preprocessing_stage", False)


class PreprocessingStage:
    """The stage layers' calls (`nodes`) and the tensors the native graph starts from
    (`graph_inputs`: the model's numeric inputs, then each stage call's output)."""

    def __init__(self, inputs: list[KerasTensor], nodes: list, outputs: list[KerasTensor]):
        self.inputs = list(inputs)
        self.nodes = [n for n in nodes if _is_stage(n)]
        strings = {id(t) for t in inputs if t.dtype == "string"}
        for node in nodes:
            if not _is_stage(node) and any(id(t) in strings for t in node.inputs):
                name = next(t.name for t in node.inputs if id(t) in strings)
                raise ValueError(
                    f"Layer {node.layer.name!r} ({type(node.layer).__name__}) reads the string "
                    f"input {name!r}: a model's string inputs can only feed TextVectorization, "
                    "StringLookup or Hashing layers"
                )
        if any(id(t) in strings for t in outputs):
            raise ValueError("A model output cannot be one of its string inputs")
        numeric = [t for t in inputs if id(t) not in strings]
        self.graph_inputs = numeric + [n.outputs[0] for n in self.nodes]
        self.graph_input_names = [t._node.layer.name for t in numeric] + [
            n.layer.name for n in self.nodes
        ]

    def run(self, arrays: list, what: str) -> list:
        """The native graph's input arrays from the model's: the numeric ones as given, then
        each stage layer applied to its input."""
        if any(isinstance(a, KerasTensor) for a in arrays):
            raise ValueError(
                "A model with string preprocessing layers on its inputs cannot be called on "
                "symbolic tensors (used inside another model): call those layers in the outer "
                "model instead"
            )
        by_input = {id(t): a for t, a in zip(self.inputs, arrays)}
        numeric = self.graph_inputs[: len(self.graph_inputs) - len(self.nodes)]
        out = [by_input[id(t)] for t in numeric]
        for node in self.nodes:
            data = by_input[id(node.inputs[0])]
            if data is None:
                raise ValueError(f"{what} is None: pass an array of strings")
            if not isinstance(data, np.ndarray):
                data = np.asarray(data)  # a list of str
            out.append(node.layer._stage_apply(data))
        return out


def split(inputs: list[KerasTensor], nodes: list, outputs: list[KerasTensor]):
    """The model's preprocessing stage, or None when no stage layer reads its inputs (and no
    input holds strings)."""
    if not any(_is_stage(n) for n in nodes) and all(t.dtype != "string" for t in inputs):
        return None
    return PreprocessingStage(inputs, nodes, outputs)
