"""Custom metrics (`keras.metrics.Metric` subclasses) traced into native graphs.

A metric's `update_state(y_true, y_pred, sample_weight)` runs once on symbolic tensors: its
`assign`/`assign_add` calls on the variables made by `add_variable` record the variables' new
values; `result()` runs once on the variables alone. fit and evaluate then run both natively
per batch (GraphMetric), updating the same memory the Python variables read.
"""

from __future__ import annotations

from eigennet import _core


def native_metric(metric, dtype: str, y_true_shape: tuple, y_pred_shape: tuple):
    """The GraphMetric running `metric` in a trainer of `dtype`."""
    from eigennet.layers.input_layer import Input
    from eigennet.models.graph_builder import GraphBuilder, expand_nodes, nodes_between
    from eigennet.ops import symbolic

    sources = metric._state_sources
    if any(s.dtype != dtype for s in sources):
        raise ValueError(
            f"Metric {metric.name!r} has {sources[0].dtype} variables but the model computes in "
            f"{dtype}: create the metric with dtype={dtype!r}"
        )
    metric.reset_state()  # what a reset leaves, snapshotted for the native resets
    initial = [s._params.copy() for s in sources]
    y_true = Input(shape=tuple(y_true_shape[1:]), dtype=dtype, name="y_true")
    y_pred = Input(shape=tuple(y_pred_shape[1:]), dtype=dtype, name="y_pred")
    weight = Input(shape=(), dtype=dtype, name="sample_weight")
    metric._refuses_weights = None
    try:
        assigned = _traced_update(metric, [y_true, y_pred, weight], weight)
    except ValueError as weighted:
        # Keras passes sample_weight=None when fit has none: a metric that breaks only on a
        # (batch,) weight (the training guide's true-positives metric multiplies its (batch, 1)
        # values by it) runs without; fit and evaluate given weights then raise this error.
        assigned = _traced_update(metric, [y_true, y_pred, weight], None)
        metric._refuses_weights = str(weighted)
    state = [s for s in sources if id(s) in assigned]
    if not state:
        raise ValueError(f"Metric {metric.name!r}: update_state assigns none of its variables")
    values = []
    for s in state:
        value = symbolic.operand(assigned[id(s)], dtype)
        if value.batched or tuple(value.shape) != tuple(s.variable.shape):
            raise ValueError(
                f"Metric {metric.name!r}: variable {s.variable.name!r} of shape "
                f"{s.variable.shape} is assigned a value of shape {value.shape}; reduce over the "
                "batch (e.g. ops.sum) before assigning"
            )
        values.append(value if value is not s.tensor() else value * 1.0)
    inputs = [y_true, y_pred, weight]
    update = _graph(dtype, inputs, values, GraphBuilder, expand_nodes, nodes_between)
    dummy = Input(shape=(1,), dtype=dtype, name="unused")
    with symbolic.tracing(f"metric {metric.name}"):
        result = symbolic.operand(metric.result(), dtype)
    result_graph = _graph(dtype, [dummy], [result], GraphBuilder, expand_nodes, nodes_between)
    make = getattr(_core, f"GraphMetric_{dtype}")
    return make(update, result_graph, [s._core for s in state], [v.tolist() for v in initial])


def _traced_update(metric, inputs: list, weight) -> dict:
    """The variables' new values when update_state runs on symbolic (y_true, y_pred) with
    `weight` as sample_weight."""
    from eigennet.ops import symbolic

    tracing = symbolic.tracing(f"metric {metric.name}", inputs)
    with tracing, symbolic.assignments() as assigned:  # (one line: Python 3.9's grammar)
        metric.update_state(inputs[0], inputs[1], sample_weight=weight)
    return assigned


def check_weights_accepted(metrics: list) -> None:
    """Raises for a custom metric traced without sample weights (see native_metric) when the
    data comes with weights."""
    for metric in metrics:
        refused = getattr(metric, "_refuses_weights", None)
        if refused:
            raise ValueError(
                f"Metric {metric.name!r}: its update_state fails on sample weights of shape "
                f"(batch,), which fit and evaluate pass with sample_weight or class_weight: "
                f"{refused}"
            )


def _graph(dtype, inputs, outputs, builder_type, expand_nodes, nodes_between):
    builder = builder_type([t.shape for t in inputs])
    nodes = nodes_between(inputs, outputs)
    ids = expand_nodes(inputs, nodes, outputs, builder, list(range(len(inputs))), False)
    make = getattr(_core, f"Graph_{dtype}")
    return make([list(s) for s in builder.input_shapes], builder.nodes, ids, batched_outputs=False)
