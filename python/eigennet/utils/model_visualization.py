"""keras.utils.plot_model / model_to_dot: a model's layers as a Graphviz graph (through pydot).

One box per layer (a layer called several times is one box with an edge from each of its
inputs), one per `keras.ops` call recorded in a functional model, and one edge per connection.
Nested models are one box, or with `expand_nested=True` a dashed cluster of their own boxes.
A subclassed model is one box, as in Keras. pydot and Graphviz's `dot` are optional: they are
imported only here, when a model is plotted.
"""

from __future__ import annotations

import os
import re

_PYDOT_MISSING = "You must install pydot (`pip install pydot`) for `{}` to work."
_GRAPHVIZ_MISSING = (
    "You must install graphviz (the `dot` program: e.g. `apt-get install graphviz`, or see "
    "https://graphviz.gitlab.io/download/) for `plot_model` to work."
)


def _pydot(caller: str):
    """The pydot module, or an ImportError saying how to install it."""
    try:
        import pydot
    except ImportError:
        raise ImportError(_PYDOT_MISSING.format(caller)) from None
    return pydot


def _check_graphviz(pydot) -> None:
    """Raises an ImportError (as Keras) unless Graphviz's `dot` renders an empty graph."""
    try:
        pydot.Dot.create(pydot.Dot())
    except (OSError, pydot.PydotException):  # FileNotFoundError: no `dot` on the PATH
        raise ImportError(_GRAPHVIZ_MISSING) from None


# -- what the plot shows ---------------------------------------------------------------------
def _is_model(item) -> bool:
    from eigennet.models.model import Model

    return isinstance(item, Model)


def _expandable(item) -> bool:
    """Functional and Sequential models open into clusters; a subclassed model stays a box."""
    from eigennet.models.functional import Functional
    from eigennet.models.sequential import Sequential

    return isinstance(item, (Functional, Sequential))


def _is_op(item) -> bool:
    from eigennet.ops.symbolic import Operation

    return isinstance(item, Operation)


def _drawn(node) -> bool:
    """Whether a functional model's node gets a box: not a constant operand (drawn inside the
    op reading it, as Keras) nor an op computing a mask (implicit in Keras)."""
    layer = node.layer
    return not (_is_op(layer) and (not node.inputs or layer._for_mask))


def _class_name(item) -> str:
    if _is_op(item):  # Keras's op classes: add -> Add, get_item -> GetItem
        base = re.sub(r"_\d+$", "", item.name)
        return "".join(part.capitalize() for part in base.split("_"))
    return type(item).__name__


def _first_call(item, model):
    """The first call of `item` that belongs to `model` (a functional model), else its first."""
    nodes = list(getattr(item, "_inbound_nodes", []) or [])
    own = model._node_ids() if hasattr(model, "_node_ids") else set()
    inside = [n for n in nodes if id(n) in own]
    return (inside or nodes or [None])[0]


def _shapes(item, model) -> tuple:
    """(input shape, output shape) of `item` as Keras prints them; None where unknown."""
    node = _first_call(item, model)
    if node is not None and node.outputs:
        ins = [t.shape for t in node.data_inputs]
        outs = [t.shape for t in node.outputs]
        return (
            (ins if node.multi_input else ins[0]) if ins else None,
            outs if len(outs) > 1 else outs[0],
        )
    try:
        return item.input_shape, item.output_shape
    except (AttributeError, ValueError):
        return None, None


def _dtype(item, model):
    node = _first_call(item, model)
    if node is not None and node.outputs:
        dtypes = [t.dtype for t in node.outputs]
        return dtypes if len(dtypes) > 1 else dtypes[0]
    return getattr(item, "dtype", None)


def _activation_name(item):
    activation = getattr(item, "activation", None)
    if activation is None or _is_model(item):
        return None
    return getattr(activation, "name", None) or getattr(activation, "__name__", str(activation))


def _cell(text: str, color: str = "white", font: str = "") -> str:
    return f'<td bgcolor="{color}"><font point-size="14"{font}>{text}</font></td>'


def _label(item, model, options: dict) -> str:
    """Keras's HTML-like label: a black title row (name and class), then optional rows for the
    activation and for the shapes, dtype and trainable state."""
    cls = _class_name(item)
    title = f"<b>{item.name}</b> ({cls})" if options["show_layer_names"] else f"<b>{cls}</b>"
    cells = []
    if options["show_shapes"]:
        in_shape, out_shape = _shapes(item, model)
        if cls != "InputLayer":
            cells.append(_cell(f"Input shape: <b>{_shape_text(in_shape)}</b>"))
        cells.append(_cell(f"Output shape: <b>{_shape_text(out_shape)}</b>"))
    if options["show_dtype"]:
        cells.append(_cell(f"Output dtype: <b>{_dtype(item, model) or '?'}</b>"))
    if options["show_trainable"] and getattr(item, "weights", None):
        state, color = (
            ("Trainable", "forestgreen") if item.trainable else ("Non-trainable", "firebrick")
        )
        cells.append(_cell(f"<b>{state}</b>", color, ' color="white"'))
    # The title spans the columns asked for (Keras's count: an input layer's title spans two
    # shape columns although it has one).
    span = max(1, 2 * options["show_shapes"] + options["show_dtype"] + options["show_trainable"])
    rows = [
        f'<tr><td colspan="{span}" bgcolor="black">'
        f'<font point-size="16" color="white">{title}</font></td></tr>'
    ]
    activation = _activation_name(item) if options["show_layer_activations"] else None
    if activation:
        rows.append(
            f'<tr><td bgcolor="white" colspan="{span}"><font point-size="14">'
            f"Activation: <b>{activation}</b></font></td></tr>"
        )
    if cells:
        rows.append(f"<tr>{''.join(cells)}</tr>")
    table = '<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
    return f"<{table}{''.join(rows)}</table>>"


def _shape_text(shape) -> str:
    return "?" if shape is None else str(shape)


# -- the graph ---------------------------------------------------------------------------------
def _members(model) -> list:
    """The boxes of `model` in order: a Sequential's layers, or a functional model's layers
    and ops in the order the graph runs them."""
    if not hasattr(model, "_nodes"):
        return model.layers
    seen, members = set(), []
    for item in [t._node.layer for t in model.inputs] + [
        n.layer for n in model._nodes if _drawn(n)
    ]:
        if id(item) not in seen:
            seen.add(id(item))
            members.append(item)
    return members


def _connections(model) -> list[tuple]:
    """(source, output index, destination, input index) for every connection in `model`."""
    if not hasattr(model, "_nodes"):  # a Sequential: a chain
        layers = model.layers
        return [(a, 0, b, 0) for a, b in zip(layers, layers[1:])]
    edges = []
    for node in model._nodes:
        if not _drawn(node):
            continue
        for k, t in enumerate(node.data_inputs):
            if _drawn(t._node):
                edges.append((t._node.layer, t._index, node.layer, k))
    return edges


def _exit(item, index: int):
    """The box inside an expanded model that computes its output `index`."""
    while _expandable(item):
        if hasattr(item, "_nodes"):
            t = item.outputs[index]
            item, index = t._node.layer, t._index
        else:
            item, index = item.layers[-1], 0
    return item


def _entry(item, index: int):
    """The box inside an expanded model that receives its input `index`."""
    while _expandable(item):
        if hasattr(item, "_nodes"):
            item, index = item.inputs[index]._node.layer, 0
        else:
            item, index = item.layers[0], 0
    return item


def _add_edge(pydot, dot, source, destination) -> None:
    src, dst = str(id(source)), str(id(destination))
    if not dot.get_edge(src, dst):
        edge = pydot.Edge(src, dst)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _fill(pydot, dot, model, options: dict, expand_nested: bool) -> None:
    """Adds `model`'s boxes (nested models as clusters when expanding) and its edges."""
    if not _expandable(model):  # a subclassed model: one box, as Keras draws it
        members, edges = [model], []
    else:
        members, edges = _members(model), _connections(model)
    for item in members:
        if expand_nested and _expandable(item):
            cluster = pydot.Cluster(style="dashed", graph_name=item.name)
            cluster.set("label", item.name)
            cluster.set("labeljust", "l")
            _fill(pydot, cluster, item, options, expand_nested)
            dot.add_subgraph(cluster)
        else:
            node = pydot.Node(str(id(item)), label=_label(item, model, options))
            node.set("fontname", "Helvetica")
            node.set("border", "0")
            node.set("margin", "0")
            dot.add_node(node)
    for source, out_index, destination, in_index in edges:
        if expand_nested:
            source, destination = _exit(source, out_index), _entry(destination, in_index)
        _add_edge(pydot, dot, source, destination)


def _check_built(model) -> None:
    if not model.built:
        raise ValueError(
            "This model has not yet been built. Build the model first by calling `build()` or "
            "by calling the model on a batch of data."
        )


def _check_kwargs(kwargs: dict) -> None:
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")


def model_to_dot(
    model,
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    subgraph: bool = False,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    splines: str = "ortho",
    **kwargs,
):
    """The model as a `pydot.Dot` graph (a `pydot.Cluster` when `subgraph=True`).

    Args:
        model: A built model.
        show_shapes: Show each layer's input and output shapes.
        show_dtype: Show each layer's output dtype.
        show_layer_names: Show each layer's name before its class.
        rankdir: Graphviz's direction: "TB" (top to bottom) or "LR" (left to right).
        expand_nested: Draw nested functional and Sequential models as clusters of their
            layers rather than as one box.
        dpi: Resolution of the image.
        subgraph: Return a dashed `pydot.Cluster` named after the model.
        show_layer_activations: Show the activation of layers that have one.
        show_trainable: Show whether each layer with weights is trainable.
        splines: How Graphviz draws edges ("ortho", "curved", "polyline", "spline", "line").
    """
    _check_built(model)
    pydot = _pydot("model_to_dot")
    _check_kwargs(kwargs)
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    options = {
        "show_shapes": show_shapes,
        "show_dtype": show_dtype,
        "show_layer_names": show_layer_names,
        "show_layer_activations": show_layer_activations,
        "show_trainable": show_trainable,
    }
    _fill(pydot, dot, model, options, expand_nested)
    return dot


def plot_model(
    model,
    to_file: str = "model.png",
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = False,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    splines: str = "ortho",
    **kwargs,
):
    """Draws the model into `to_file`, in the format of its extension (png when it has none;
    also svg, pdf, dot, and whatever else Graphviz writes). Arguments as `model_to_dot`.
    Returns an `IPython.display.Image` of the file when IPython is installed (an
    `IPython.display.SVG` for svg, which Image cannot embed; nothing for pdf, dot and other
    formats a notebook cannot show inline).

    Raises:
        ImportError: pydot (`pip install pydot`) or Graphviz's `dot` program is missing.
    """
    _check_built(model)
    pydot = _pydot("plot_model")
    _check_graphviz(pydot)
    _check_kwargs(kwargs)
    dot = model_to_dot(
        model,
        show_shapes=show_shapes,
        show_dtype=show_dtype,
        show_layer_names=show_layer_names,
        rankdir=rankdir,
        expand_nested=expand_nested,
        dpi=dpi,
        show_layer_activations=show_layer_activations,
        show_trainable=show_trainable,
        splines=splines,
    )
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
    if extension not in ("png", "jpg", "jpeg", "gif", "svg"):
        return None  # pdf, dot, ...: nothing IPython can show inline
    try:
        from IPython import display
    except ImportError:
        return None
    if extension == "svg":
        return display.SVG(filename=to_file)
    return display.Image(filename=to_file, format="jpeg" if extension == "jpg" else extension)
