"""`Model.export(filepath, format="onnx")`: the model as an ONNX graph for inference.

The model is expanded as for the native core (onnx_graph.OnnxBuilder), each layer, op and
source converted to ONNX nodes with the layers' current weights as initializers, in
inference mode, with a dynamic batch axis. Everything is converted and checked before the
file is written, atomically, so a model that cannot be exported leaves no file behind.
"""

from __future__ import annotations

import numpy as np

# A modern opset every supported onnxruntime (>= 1.14) runs.
DEFAULT_OPSET = 18


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError(
            'Exporting to ONNX needs the `onnx` package: pip install "eigennet[onnx]"'
        ) from None
    return onnx


def export_model(model, filepath, format="tf_saved_model", verbose=None, input_signature=None,
                 **kwargs) -> None:  # fmt: skip
    """Writes `model` to `filepath` as an ONNX model (see Model.export)."""
    if format != "onnx":
        raise ValueError(
            f"Unrecognized format={format!r}: eigennet exports only format='onnx' "
            "(Keras's tf_saved_model, openvino, litert and torch formats need their backends)"
        )
    opset = kwargs.pop("opset_version", None)
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments for format='onnx': {sorted(kwargs)}")
    if not model.built:
        raise ValueError(
            f"Model {model.name!r} must be built before export: call it on data or build() it"
        )
    onnx = _import_onnx()
    proto = to_onnx(model, input_signature, opset or DEFAULT_OPSET, onnx)
    if proto.ByteSize() >= 2**31:
        raise ValueError(
            f"Model {model.name!r} is too large for one ONNX file (protobuf's 2 GB limit); "
            "eigennet does not write ONNX external data files"
        )
    data = proto.SerializeToString()

    from eigennet.saving.file_io import atomic_write

    with atomic_write(str(filepath)) as f:
        f.write(data)
    if verbose is None or verbose:
        print(f"Saved artifact at '{filepath}'.")


def to_onnx(model, input_signature, opset: int, onnx):
    """The model as a checked `onnx.ModelProto`."""
    from eigennet.export.onnx_graph import OnnxBuilder, OnnxGraph

    samples = _input_samples(model, input_signature)
    dtype = getattr(model, "_dtype", None) or model._native_dtype
    graph = OnnxGraph(onnx, dtype)
    input_names = _unique(model.input_names)
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    input_types, graph_inputs = [], []
    graph.scope = "inputs"
    for name, t in zip(input_names, getattr(model, "inputs", None) or [None] * len(samples)):
        kind = np.dtype(str(getattr(t, "dtype", dtype)))
        if kind.kind in "iub":  # integer inputs (ids) keep their type; the graph computes in floats
            input_types.append(onnx.helper.np_dtype_to_tensor_dtype(kind))
            graph_inputs.append(graph.node("Cast", [name], to=elem))
        else:
            input_types.append(elem)
            graph_inputs.append(name)
    builder = OnnxBuilder(graph, [(None, *s) for s in samples], graph_inputs)
    outputs = model._expand(builder, list(range(len(samples))), False)

    output_names = _unique(model.output_names, taken=set(input_names))
    graph.scope = "outputs"
    for i, name in zip(outputs, output_names):
        graph.nodes.append(onnx.helper.make_node("Identity", [builder.names[i]], [name]))
    nodes, initializers = _needed(model, graph, output_names)

    def value_info(name, shape, kind=elem):
        dims = ["batch" if d is None or d < 0 else int(d) for d in shape]
        return onnx.helper.make_tensor_value_info(name, kind, dims)

    proto_graph = onnx.helper.make_graph(
        nodes,
        model.name,
        [value_info(n, (None, *s), k) for n, s, k in zip(input_names, samples, input_types)],
        [value_info(n, builder.shapes[i]) for n, i in zip(output_names, outputs)],
        initializer=initializers,
    )
    opsets = [onnx.helper.make_opsetid("", int(opset))]
    proto = onnx.helper.make_model(proto_graph, opset_imports=opsets, producer_name="eigennet")
    # the oldest IR version of the opset: older runtimes load the file too
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto)
    return proto


def _needed(model, graph, outputs: list[str]):
    """The nodes and initializers the outputs depend on (a traced call's training side, e.g.
    a random op, is left out); refuses outputs that depend on something not exportable."""
    producer = {}
    for node in graph.nodes:
        for name in node.output:
            producer[name] = node
    needed, stack = set(), list(outputs)
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        if name in graph.unavailable:
            op, why = graph.unavailable[name]
            layer = _layer_tracing(model, op)
            where = (
                f"Layer {layer.name!r} ({type(layer).__name__})"
                if layer
                else f"Model {model.name!r}"
            )
            raise NotImplementedError(f"{where} cannot be exported to ONNX: its {why}")
        node = producer.get(name)
        if node is not None:
            stack.extend(i for i in node.input if i)
    nodes = [n for n in graph.nodes if any(o in needed for o in n.output)]
    initializers = [t for t in graph.initializers if t.name in needed]
    return nodes, initializers


def _layer_tracing(model, op):
    """The innermost layer whose traced call() recorded `op` (None: the model's own ops)."""
    found, seen = None, set()

    def visit(layer, owner):
        nonlocal found
        if found is not None or id(layer) in seen:
            return
        seen.add(id(layer))
        traces = [getattr(n, "trace", None) for n in getattr(layer, "_inbound_nodes", [])]
        traces.append(getattr(layer, "_standalone_trace", None))
        for trace in filter(None, traces):
            for node in trace.nodes:
                if node.layer is op:
                    found = layer
                    return
                visit(node.layer, layer)
        for sub in getattr(layer, "layers", None) or []:
            visit(sub, owner)

    visit(model, None)
    return found if found is not model else None


def _unique(names: list[str], taken: set | None = None) -> list[str]:
    seen = set(taken or ())
    out = []
    for name in names:
        unique, k = name, 1
        while unique in seen:
            unique, k = f"{name}_{k}", k + 1
        seen.add(unique)
        out.append(unique)
    return out


def _input_samples(model, input_signature) -> list[tuple]:
    """The inputs' sample shapes (no batch axis): the model's, with `input_signature` (shapes,
    InputSpecs, KerasTensors or arrays, the batch axis first) fixing variable lengths."""
    shapes = [tuple(s) for s in model._input_shapes()]
    if input_signature is not None:
        given = input_signature
        if isinstance(given, dict):
            given = [given[k] for k in sorted(given)]
        if not isinstance(given, (list, tuple)) or (
            given and isinstance(given[0], (int, type(None)))
        ):
            given = [given]
        if len(given) != len(shapes):
            raise ValueError(
                f"input_signature has {len(given)} entries; model {model.name!r} has "
                f"{len(shapes)} inputs"
            )
        fixed = []
        for spec, shape in zip(given, shapes):
            s = tuple(getattr(spec, "shape", spec))
            ok = len(s) == len(shape) and all(
                a is None or b is None or int(a) == int(b) for a, b in zip(s[1:], shape[1:])
            )
            if not ok:
                raise ValueError(
                    f"input_signature shape {s} does not fit the model's input shape {shape}"
                )
            fixed.append((None, *(b if b is not None else a for a, b in zip(s[1:], shape[1:]))))
        shapes = fixed
    for shape in shapes:
        if any(d is None for d in shape[1:]):
            raise ValueError(
                f"Model {model.name!r} has an input of shape {shape} with a variable axis; "
                "only the batch axis may vary in an exported ONNX model: pass "
                "input_signature=[(None, ...lengths...)] with the lengths to export for"
            )
    return [tuple(int(d) for d in s[1:]) for s in shapes]
