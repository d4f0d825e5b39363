"""Subclassed models: `class MyModel(keras.Model)` with layers made in `__init__` and a
`call()` that uses them.

The model is built the first time it sees data (fit, predict, calling it) or by `build`: its
call() runs once on `keras.Input` tensors of the data's shapes, and the recorded graph becomes
a functional model held inside (`Model._traced_graph`), which the native core trains like any
other. The model's own layers are the ones assigned to its attributes, in order, as Keras.
"""

from __future__ import annotations


def track(owner, value) -> None:
    """Remembers the layers and models assigned to `owner`'s attributes (alone or in a list or
    tuple), in order: they are its layers (and their weights its weights)."""
    from eigennet.layers.layer import Layer
    from eigennet.models.model import Model

    values = value if isinstance(value, (list, tuple)) else [value]
    tracked = owner.__dict__.setdefault("_tracked_layers", [])
    for v in values:
        if isinstance(v, (Layer, Model)) and v is not owner and all(v is not t for t in tracked):
            tracked.append(v)


def _inputs_for(input_shape, dtype: str):
    """keras.Input tensors in the structure of `input_shape` (a shape, or a list/dict)."""
    from eigennet.layers.input_layer import Input

    def is_shape(s) -> bool:
        return isinstance(s, (list, tuple)) and all(d is None or isinstance(d, int) for d in s)

    if isinstance(input_shape, dict):
        return {k: Input(shape=tuple(v)[1:], dtype=dtype, name=k) for k, v in input_shape.items()}
    if is_shape(input_shape):
        return Input(shape=tuple(input_shape)[1:], dtype=dtype)
    if isinstance(input_shape, (list, tuple)) and all(is_shape(s) for s in input_shape):
        return [Input(shape=tuple(s)[1:], dtype=dtype) for s in input_shape]
    raise ValueError(
        f"Cannot build a model for input_shape={input_shape!r}: give a shape with the batch "
        "axis first, e.g. (None, 16), or a list or dict of such shapes"
    )


def build(model, input_shape) -> None:
    """Traces `model.call` on inputs of `input_shape` into its graph."""
    from eigennet import config
    from eigennet.layers import tracing
    from eigennet.models.functional import Functional
    from eigennet.ops import symbolic
    from eigennet.tree import flatten

    if model._traced_graph is not None:
        return
    if not model._subclassed:
        raise NotImplementedError(f"{type(model).__name__} must define call() to be built")
    if input_shape is None:
        raise ValueError(
            f"Model {model.name!r} is built from its inputs' shape: call model.build((None, "
            "...)) or fit/predict/call it on data first"
        )
    inputs = _inputs_for(input_shape, config.floatx())
    sources = flatten(inputs)
    dtype = symbolic.dtype_of(*sources)

    def run(mode):
        extra = {} if mode is None else {"training": mode}
        with symbolic.tracing(model.name, sources), symbolic.collecting_losses() as losses:
            result = model.call(inputs, **extra)
        return result, [symbolic.operand(o, dtype) for o in flatten(result)], losses

    if tracing.takes_training(model.call):  # Keras passes the mode: traced in each
        result, outputs, losses = tracing.select_by_mode(sources, run(True), run(False))
    else:
        result, outputs, losses = run(None)
    outputs = tracing.rebuild_structure(result, outputs)
    graph = Functional(inputs, outputs, name=model.name, trainable=model.trainable, _losses=losses)
    _hold(model, graph)


def adopt(model, inputs, outputs) -> None:
    """A Model subclass that called super().__init__(inputs=..., outputs=...): the functional
    model of those tensors, held like a traced one, its layers the model's."""
    from eigennet.models.functional import Functional

    graph = Functional(inputs, outputs, name=model.name, trainable=model.trainable)
    model.__dict__["_tracked_layers"] = list(graph.layers)
    _hold(model, graph)


def _hold(model, graph) -> None:
    model._traced_graph = graph
    model._build_network()
    model._outputs_struct = graph._outputs_struct  # how predict returns several outputs


def data_shape(x):
    """The input shape a subclassed model builds for, from the data `x` (an array, or a list
    or dict of arrays)."""
    import numpy as np

    if isinstance(x, dict):
        return {k: (None, *np.shape(v)[1:]) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [(None, *np.shape(v)[1:]) for v in x]
    return (None, *np.shape(x)[1:])
