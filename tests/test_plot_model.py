"""keras.utils.plot_model / model_to_dot: one box per layer (and per recorded op), Keras's
edges for functional, Sequential, shared and nested models, labels, files in the extension's
format, and clear errors when pydot or Graphviz is missing."""

import importlib.util
import re
import shutil
import sys

import pytest

import eigennet as keras
from eigennet import layers, ops

needs_pydot = pytest.mark.skipif(
    importlib.util.find_spec("pydot") is None, reason="pydot is not installed"
)
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


def _branching():
    inputs = keras.Input((6,), name="features")
    trunk = layers.Dense(8, activation="relu", name="trunk")(inputs)
    left = layers.Dense(4, name="left")(trunk)
    right = layers.Dense(4, activation="tanh", name="right")(trunk)
    merged = layers.Concatenate(name="merge")([left, right])
    return keras.Model(inputs, layers.Dense(1, name="head")(merged), name="branchy")


def _graph(dot) -> tuple[dict, set]:
    """({node id: layer name}, {(source name, destination name)}) of a pydot graph, clusters
    included; names read from the labels' bold title."""
    names, edges = {}, set()

    def walk(graph):
        for node in graph.get_nodes():
            label = node.get("label")
            if label:
                names[node.get_name()] = re.search(r"<b>(.*?)</b>", label).group(1)
        for sub in graph.get_subgraphs():
            walk(sub)

    def walk_edges(graph):
        for edge in graph.get_edges():
            edges.add((names[edge.get_source()], names[edge.get_destination()]))
        for sub in graph.get_subgraphs():
            walk_edges(sub)

    walk(dot)
    walk_edges(dot)
    return names, edges


@needs_pydot
def test_one_box_per_layer_and_the_branch_edges():
    model = _branching()
    names, edges = _graph(keras.utils.model_to_dot(model))
    assert sorted(names.values()) == sorted(layer.name for layer in model.layers)
    assert edges == {
        ("features", "trunk"),
        ("trunk", "left"),
        ("trunk", "right"),
        ("left", "merge"),
        ("right", "merge"),
        ("merge", "head"),
    }


@needs_pydot
def test_graph_settings_follow_the_arguments():
    dot = keras.utils.model_to_dot(_branching(), rankdir="LR", dpi=96, splines="curved")
    assert dot.get("rankdir") == "LR" and str(dot.get("dpi")) == "96"
    assert dot.get("splines") == "curved"
    with pytest.raises(ValueError, match="layer_range"):
        keras.utils.model_to_dot(_branching(), layer_range=["a", "b"])
    with pytest.raises(ValueError, match="Unrecognized keyword"):
        keras.utils.model_to_dot(_branching(), show_colors=True)


@needs_pydot
def test_labels_show_what_is_asked():
    model = _branching()

    def label(name, **options):
        dot = keras.utils.model_to_dot(model, **options)
        labels = [n.get("label") or "" for n in dot.get_nodes()]
        return next(text for text in labels if f"<b>{name}</b>" in text)

    plain = label("trunk")
    assert "(Dense)" in plain and "shape" not in plain and "Activation" not in plain
    shapes = label("merge", show_shapes=True)
    assert "Input shape: <b>[(None, 4), (None, 4)]</b>" in shapes
    assert "Output shape: <b>(None, 8)</b>" in shapes
    input_label = label("features", show_shapes=True)
    assert "Input shape" not in input_label and "Output shape: <b>(None, 6)</b>" in input_label
    assert "Activation: <b>tanh</b>" in label("right", show_layer_activations=True)
    assert "Output dtype: <b>float32</b>" in label("head", show_dtype=True)
    model.get_layer("left").trainable = False
    assert "Non-trainable" in label("left", show_trainable=True)
    assert ">Trainable<" in label("right", show_trainable=True)
    dot = keras.utils.model_to_dot(model, show_layer_names=False)
    assert all("trunk" not in (n.get("label") or "") for n in dot.get_nodes())


@needs_pydot
def test_several_inputs_outputs_shared_layers_and_ops():
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = layers.Dense(4, name="shared")
    total = ops.relu(shared(a) + shared(b)) * 2.0  # ops: add, relu, multiply (a constant)
    model = keras.Model([a, b], [layers.Dense(1, name="out1")(total), shared(total)])
    mul = total._node.layer.name
    relu = total._node.inputs[0]._node.layer.name
    add = total._node.inputs[0]._node.inputs[0]._node.layer.name
    names, edges = _graph(keras.utils.model_to_dot(model, show_shapes=True))
    # One box per layer (one for the shared layer) and per op; none for the constant 2.0.
    assert sorted(names.values()) == sorted(
        [layer.name for layer in model.layers] + [add, relu, mul]
    )
    assert edges == {
        ("a", "shared"),
        ("b", "shared"),
        ("shared", add),
        (add, relu),
        (relu, mul),
        (mul, "out1"),
        (mul, "shared"),
    }


@needs_pydot
def test_sequential_and_nested_models():
    inner = keras.Sequential(
        [keras.Input((3,)), layers.Dense(4, name="i1"), layers.Dense(2, name="i2")], name="inner"
    )
    names, edges = _graph(keras.utils.model_to_dot(inner))
    assert sorted(names.values()) == ["i1", "i2"] and edges == {("i1", "i2")}

    sub_in = keras.Input((2,), name="sub_in")
    sub = keras.Model(sub_in, layers.Dense(5, name="s1")(sub_in), name="sub")
    x = keras.Input((3,), name="x")
    model = keras.Model(x, layers.Dense(1, name="head")(sub(inner(x))))
    names, edges = _graph(keras.utils.model_to_dot(model))
    assert edges == {("x", "inner"), ("inner", "sub"), ("sub", "head")}

    dot = keras.utils.model_to_dot(model, expand_nested=True)
    names, edges = _graph(dot)
    assert sorted(names.values()) == ["head", "i1", "i2", "s1", "sub_in", "x"]
    assert edges == {("x", "i1"), ("i1", "i2"), ("i2", "sub_in"), ("sub_in", "s1"), ("s1", "head")}
    clusters = {sub.get_name() for sub in dot.get_subgraphs()}
    assert clusters == {"cluster_inner", "cluster_sub"}


@needs_pydot
def test_subclassed_model_is_one_box_as_in_keras():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(4)
            self.out = layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

    net = Net()
    net.build((None, 3))
    names, edges = _graph(keras.utils.model_to_dot(net))
    assert list(names.values()) == [net.name] and not edges


@needs_pydot
def test_unbuilt_model_raises():
    with pytest.raises(ValueError, match="not yet been built"):
        keras.utils.model_to_dot(keras.Sequential([layers.Dense(2)]))


@needs_pydot
@needs_dot
def test_writes_png_svg_pdf_and_dot(tmp_path):
    model = _branching()
    keras.utils.plot_model(model, to_file=tmp_path / "model.png", show_shapes=True)
    assert (tmp_path / "model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keras.utils.plot_model(model, to_file=str(tmp_path / "model.svg"), show_layer_names=True)
    svg = (tmp_path / "model.svg").read_text()
    assert "<svg" in svg and all(layer.name in svg for layer in model.layers)
    keras.utils.plot_model(model, to_file=str(tmp_path / "model.pdf"))
    assert (tmp_path / "model.pdf").read_bytes()[:5] == b"%PDF-"
    keras.utils.plot_model(model, to_file=str(tmp_path / "model.dot"), expand_nested=True)
    assert (tmp_path / "model.dot").read_text().startswith("digraph")
    keras.utils.plot_model(model, to_file=str(tmp_path / "noext"))  # png, as Keras
    assert (tmp_path / "noext").read_bytes()[:4] == b"\x89PNG"


def test_missing_pydot_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydot", None)  # `import pydot` raises ImportError
    for plot in (keras.utils.plot_model, keras.utils.model_to_dot):
        with pytest.raises(ImportError, match=r"pip install pydot"):
            plot(_branching())


@needs_pydot
def test_missing_graphviz_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` program to run
    with pytest.raises(ImportError, match=r"graphviz.*apt-get install graphviz.*download"):
        keras.utils.plot_model(_branching(), to_file=str(tmp_path / "m.png"))
    assert not (tmp_path / "m.png").exists()
    keras.utils.model_to_dot(_branching())  # the graph itself needs no Graphviz


@needs_pydot
def test_same_boxes_and_edges_as_keras():
    real = pytest.importorskip("keras")

    def build(k):
        inputs = k.Input((6,), name="features")
        trunk = k.layers.Dense(8, name="trunk")(inputs)
        left = k.layers.Dense(4, name="left")(trunk)
        right = k.layers.Dense(4, name="right")(trunk)
        merged = k.layers.Concatenate(name="merge")([left, right])
        return k.Model(inputs, k.layers.Dense(1, name="head")(merged))

    options = {"show_shapes": True, "show_layer_activations": True}
    ours = keras.utils.model_to_dot(build(keras), **options)
    theirs = real.utils.model_to_dot(build(real), **options)
    assert _graph(ours)[1] == _graph(theirs)[1]
    assert sorted(n.get("label") for n in ours.get_nodes() if n.get("label")) == sorted(
        n.get("label") for n in theirs.get_nodes() if n.get("label")
    )


def _typed_graph(dot) -> tuple[list, set]:
    """The graph with boxes named by class (and by name for named layers): comparable across
    eigennet and Keras, whose automatic op names count separately."""
    names = {}
    for node in dot.get_nodes():
        label = node.get("label") or ""
        found = re.search(r"<b>(.*?)</b> \((\w+)\)", label)
        if found:
            name, cls = found.groups()
            names[node.get_name()] = f"{cls}:{name}" if cls in ("InputLayer", "Dense") else cls
    edges = {(names[e.get_source()], names[e.get_destination()]) for e in dot.get_edges()}
    return sorted(names.values()), edges


@needs_pydot
def test_ops_and_shared_layers_as_keras_draws_them():
    real = pytest.importorskip("keras")

    def build(k):
        a, b = k.Input((4,), name="a"), k.Input((4,), name="b")
        shared = k.layers.Dense(4, name="shared")
        total = k.ops.relu(shared(a) + shared(b)) * 2.0
        return k.Model([a, b], [k.layers.Dense(1, name="out1")(total), shared(total)])

    ours = keras.utils.model_to_dot(build(keras))
    assert _typed_graph(ours) == _typed_graph(real.utils.model_to_dot(build(real)))


@needs_pydot
@pytest.mark.parametrize("expand_nested", [False, True])
def test_nested_models_as_keras_draws_them(expand_nested):
    real = pytest.importorskip("keras")

    def build(k):
        inner = k.Sequential(
            [k.Input((3,)), k.layers.Dense(4, name="i1"), k.layers.Dense(2, name="i2")],
            name="inner",
        )
        sub_in = k.Input((2,), name="sub_in")
        sub = k.Model(sub_in, k.layers.Dense(5, name="s1")(sub_in), name="sub")
        x = k.Input((3,), name="x")
        hidden = inner(x)
        outputs = [
            k.layers.Dense(1, name="head")(sub(hidden)),
            k.layers.Dense(1, name="h2")(hidden),
        ]
        return k.Model(x, outputs)

    ours = _graph(keras.utils.model_to_dot(build(keras), expand_nested=expand_nested))
    theirs = _graph(real.utils.model_to_dot(build(real), expand_nested=expand_nested))
    assert sorted(ours[0].values()) == sorted(theirs[0].values()) and ours[1] == theirs[1]


@needs_pydot
def test_string_preprocessing_layers_are_boxes_of_the_model():
    text = keras.Input(shape=(1,), dtype="string", name="text")
    lookup = layers.StringLookup(vocabulary=["a", "b"], name="lookup")
    model = keras.Model(text, layers.Embedding(3, 2, name="embed")(lookup(text)))
    names, edges = _graph(keras.utils.model_to_dot(model, show_dtype=True))
    assert sorted(names.values()) == ["embed", "lookup", "text"]
    assert edges == {("text", "lookup"), ("lookup", "embed")}
