"""The string preprocessing layers (TextVectorization, StringLookup, IntegerLookup, Hashing) in
a functional model: their symbolic call records a node of the model's preprocessing stage.

They compute in Python on strings, which the native graph (numbers only) cannot hold. Applied
to a model input, such a layer is recorded with the shape and dtype of its output; the model
then runs it on the input arrays in Python before the native graph, which starts at its
output (see models/preprocessing_stage.py). Anywhere else in a model it raises.
"""

from __future__ import annotations

import numpy as np

from eigennet.layers.keras_tensor import KerasTensor, is_symbolic, record_call


class PreprocessingStageLayer:
    """Mixin of a layer that runs in a model's Python preprocessing stage."""

    _preprocessing_stage = True

    def __call__(self, *args, **kwargs):
        from eigennet.layers.layer import _tracing_any

        if not args or not is_symbolic(args[0]) or _tracing_any():
            return super().__call__(*args, **kwargs)  # arrays (or a traced call(): refused)
        inputs = args[0]
        if not isinstance(inputs, KerasTensor):
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) takes one input tensor, got "
                f"{type(inputs).__name__}"
            )
        from eigennet.layers.input_layer import InputLayer

        if isinstance(inputs._node.layer, InputLayer):
            problem = self._stage_problem(inputs.dtype)
        else:
            problem = (
                "it runs in Python before the model's graph, so it can only be applied to a "
                f"model input (keras.Input), not to the output of {inputs._node.layer.name!r}"
            )
        if problem:
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) in a model: {problem}. Apply it "
                "to the data first instead, and give the model its output."
            )
        shape, dtype = self._stage_output_spec(inputs)
        if len(shape) < 2:  # (the native graph's tensors have a feature axis)
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) would give one value per sample "
                f"(shape {shape}) on a model input of shape {inputs.shape}: give the input a "
                "feature axis, e.g. keras.Input(shape=(1,), ...)"
            )
        calls = len(self._inbound_nodes)
        (out,) = record_call(self, [inputs], False, [shape], dtype, [self.name])
        self._note_call(calls, args, kwargs)
        if self.input_shape is None:
            self.input_shape, self.output_shape = tuple(inputs.shape), shape
        self._built = True
        return out

    def _stage_problem(self, dtype: str) -> str | None:
        """Why a model input of `dtype` does not suit the layer (None: it does)."""
        if dtype == "string":
            return None
        return (
            'it reads a model input of strings, e.g. keras.Input(shape=(1,), dtype="string"), '
            f"got one of dtype {dtype}"
        )

    def _stage_output_spec(self, inputs: KerasTensor) -> tuple[tuple, str]:
        """The output's shape and dtype on model input `inputs`: the layer runs once on one
        blank sample (which also checks that it can run: a vocabulary is there when its
        output size needs one); axes the layer declares variable (TextVectorization's
        sequences without output_sequence_length) stay None."""
        sample = tuple(1 if d is None else d for d in inputs.shape[1:])
        blank = np.full((1, *sample), "" if inputs.dtype == "string" else 0)
        if inputs.dtype != "string":
            blank = blank.astype(inputs.dtype)
        try:
            probe = self._stage_apply(blank)
        except (RuntimeError, ValueError) as e:
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) cannot run on a model input of "
                f"shape {inputs.shape}: {e}"
            ) from None
        shape = (None, *probe.shape[1:])
        try:
            declared = tuple(self.compute_output_shape(inputs.shape))
        except (TypeError, ValueError):
            declared = ()
        if len(declared) == len(shape):
            shape = tuple(None if d is None else s for s, d in zip(shape, declared))
        return shape, probe.dtype.name

    def _stage_apply(self, data: np.ndarray) -> np.ndarray:
        """The layer on a batch of the model input. A batch of single values (input shape
        ()) is one value per sample, as in Keras's model; applied to an array, an encoding
        layer would read a 1-D array as the tokens of one sample."""
        mode = getattr(self, "output_mode", None) or getattr(self, "_output_mode", "int")
        if data.ndim == 1 and mode != "int":
            data = data[:, None]
        return np.asarray(super().__call__(data))
