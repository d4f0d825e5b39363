"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot): forward
and input gradients against NumPy references, float64 finite differences, broadcasting, Keras's
shape errors, configs, and parity with Keras 3 (torch backend) when it is installed."""

import json
import os

import numpy as np
import pytest

import eigennet
from eigennet import layers
from gradient_check import layer_graph_predict, layer_input_finite_differences, layer_vjp
from keras_parity import assert_trains_like_keras

core = eigennet._core
rng = np.random.default_rng(7)


# -- helpers ------------------------------------------------------------------------------


def _build(layer, xs):
    layer.build([(None, *x.shape[1:]) for x in xs])
    return layer


def vjp(layer, xs, dy=None, dtype="float64"):
    """(y, [dL/dx_i]) with L = sum(dy * y); dy random when not given."""
    if dy is None:
        dy = rng.standard_normal((len(xs[0]), *layer.output_shape[1:]))
    y, _, grads = layer_vjp(layer, xs, dy, dtype)
    return y, grads


graph_predict = layer_graph_predict
finite_differences = layer_input_finite_differences


def expand(x, rank):
    """Keras's alignment of a lower-rank input: new axes after the batch axis."""
    return x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:])


def unbroadcast(g, shape):
    """The gradient of an input of `shape` broadcast to g's shape: summed over repeats."""
    rank = g.ndim
    target = (shape[0],) + (1,) * (rank - len(shape)) + tuple(shape[1:])
    axes = tuple(d for d in range(1, rank) if target[d] == 1 and g.shape[d] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def _first_winner(values, y):
    """One-hot masks of the first input equal to y at each position."""
    taken = np.zeros(y.shape, dtype=bool)
    masks = []
    for v in values:
        m = (v == y) & ~taken
        taken |= m
        masks.append(m)
    return masks


def reference(op, xs, dy):
    """NumPy forward and input gradients of an element-wise merge."""
    rank = max(x.ndim for x in xs)
    vs = [expand(x, rank) for x in xs]
    shape = np.broadcast_shapes(*(v.shape for v in vs))
    vs = [np.broadcast_to(v, shape) for v in vs]
    n = len(vs)
    if op == "add":
        y, contrib = sum(vs[1:], vs[0].copy()), [dy] * n
    elif op == "subtract":
        y, contrib = vs[0] - vs[1], [dy, -dy]
    elif op == "average":
        y, contrib = sum(vs[1:], vs[0].copy()) / n, [dy / n] * n
    elif op == "multiply":
        y = np.prod(vs, axis=0)
        contrib = [dy * np.prod([v for k, v in enumerate(vs) if k != i], axis=0) for i in range(n)]
    elif op in ("maximum", "minimum"):
        y = (np.maximum if op == "maximum" else np.minimum).reduce(vs)
        contrib = [dy * m for m in _first_winner(vs, y)]
    return y, [unbroadcast(c, x.shape) for c, x in zip(contrib, xs)]


ELEMENTWISE = {
    "add": layers.Add,
    "subtract": layers.Subtract,
    "multiply": layers.Multiply,
    "average": layers.Average,
    "maximum": layers.Maximum,
    "minimum": layers.Minimum,
}
FUNCTIONS = {
    "add": layers.add,
    "subtract": layers.subtract,
    "multiply": layers.multiply,
    "average": layers.average,
    "maximum": layers.maximum,
    "minimum": layers.minimum,
}

SHAPE_CASES = {
    "equal": [(4, 3, 5), (4, 3, 5)],
    "three": [(4, 6), (4, 6), (4, 6)],
    "broadcast_middle": [(4, 3, 1), (4, 1, 5)],
    "broadcast_one_side": [(4, 3, 5), (4, 1, 5), (4, 3, 1)],
    "lower_rank": [(4, 5), (4, 3, 5)],
    "rank4": [(2, 2, 3, 4), (2, 2, 1, 4)],
}


def _inputs(shapes):
    return [rng.standard_normal(s) for s in shapes]


# -- element-wise merges ---------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(SHAPE_CASES))
@pytest.mark.parametrize("op", sorted(ELEMENTWISE))
def test_elementwise_matches_numpy(op, case):
    shapes = SHAPE_CASES[case]
    if op == "subtract" and len(shapes) != 2:
        shapes = shapes[:2]
    xs = _inputs(shapes)
    layer = _build(ELEMENTWISE[op](dtype="float64"), xs)
    dy = rng.standard_normal((shapes[0][0], *layer.output_shape[1:]))
    y, grads = vjp(layer, xs, dy)
    ref_y, ref_grads = reference(op, xs, dy)
    assert layer.output_shape == (None, *ref_y.shape[1:])
    np.testing.assert_allclose(y, ref_y, rtol=1e-12, atol=1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(graph_predict(layer, xs), ref_y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", sorted(ELEMENTWISE))
def test_elementwise_float32(op):
    xs = _inputs([(5, 4, 1), (5, 4, 6)])
    layer = _build(ELEMENTWISE[op](dtype="float32"), xs)
    dy = rng.standard_normal((5, 4, 6))
    y, grads = vjp(layer, xs, dy, dtype="float32")
    assert y.dtype == np.float32
    ref_y, ref_grads = reference(op, [x.astype(np.float32) for x in xs], dy.astype(np.float32))
    np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-6)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", ["broadcast_middle", "lower_rank", "three"])
@pytest.mark.parametrize("op", sorted(ELEMENTWISE))
def test_elementwise_finite_differences(op, case):
    shapes = SHAPE_CASES[case][: 2 if op == "subtract" else None]
    shapes = [(2, *s[1:]) for s in shapes]
    xs = _inputs(shapes)
    layer = _build(ELEMENTWISE[op](dtype="float64"), xs)
    dy = rng.standard_normal((2, *layer.output_shape[1:]))
    _, grads = vjp(layer, xs, dy)
    for g, fd in zip(grads, finite_differences(layer, xs, dy)):
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_extreme_ties_go_to_the_first_input(op):
    a = np.array([[1.0, 2.0, 3.0]])
    xs = [a, a.copy(), np.array([[0.0, 2.0, 5.0]])]
    layer = _build(ELEMENTWISE[op](dtype="float64"), xs)
    dy = np.array([[1.0, 10.0, 100.0]])
    y, grads = vjp(layer, xs, dy)
    if op == "maximum":
        np.testing.assert_array_equal(y, [[1.0, 2.0, 5.0]])
        expected = [[[1.0, 10.0, 0.0]], [[0.0, 0.0, 0.0]], [[0.0, 0.0, 100.0]]]
    else:
        np.testing.assert_array_equal(y, [[0.0, 2.0, 3.0]])
        expected = [[[0.0, 10.0, 100.0]], [[0.0, 0.0, 0.0]], [[1.0, 0.0, 0.0]]]
    for g, e in zip(grads, expected):
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("op", sorted(ELEMENTWISE))
def test_large_batches_run_in_parallel_blocks(op):
    # Past the parallel grain (2^18 values): row blocks on several threads.
    shapes = [(300, 40, 30), (300, 1, 30)] if op != "average" else [(300, 1200)] * 3
    xs = _inputs(shapes)
    layer = _build(ELEMENTWISE[op](dtype="float64"), xs)
    dy = rng.standard_normal((300, *layer.output_shape[1:]))
    y, grads = vjp(layer, xs, dy)
    ref_y, ref_grads = reference(op, xs, dy)
    np.testing.assert_allclose(y, ref_y, rtol=1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


def test_large_concatenate_and_dot():
    a, b = _inputs([(300, 40, 30), (300, 40, 20)])
    y, _ = vjp(_build(layers.Concatenate(dtype="float64"), [a, b]), [a, b], np.zeros((300, 40, 50)))
    np.testing.assert_array_equal(y, np.concatenate([a, b], axis=-1))
    layer = _build(layers.Dot((1, 1), dtype="float64"), [a, b])
    y, _ = vjp(layer, [a, b], np.zeros((300, 30, 20)))
    np.testing.assert_allclose(y, np.einsum("bki,bkj->bij", a, b), rtol=1e-12, atol=1e-12)


def test_maximum_propagates_nan():
    xs = [np.array([[np.nan, 1.0]]), np.array([[0.0, np.nan]])]
    y, _ = vjp(_build(layers.Maximum(dtype="float64"), xs), xs)
    assert np.isnan(y).all()


def test_same_tensor_twice():
    x = rng.standard_normal((3, 4))
    layer = _build(layers.Multiply(dtype="float64"), [x, x])
    graph = core.Graph_float64([[4]], [(layer._core, [0, 0])], [1])
    out = np.empty((3, 4))
    graph.predict(x, 3, out, None, False)
    np.testing.assert_allclose(out, x * x)


def test_one_input_is_accepted_as_keras():
    x = rng.standard_normal((3, 4))
    layer = _build(layers.Add(dtype="float64"), [x])
    y, (g,) = vjp(layer, [x], np.ones((3, 4)))
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(g, np.ones((3, 4)))


@pytest.mark.parametrize("op", sorted(ELEMENTWISE))
def test_eager_call_and_functional_form(op):
    xs = _inputs([(4, 3, 1), (4, 1, 5)])
    ref, _ = reference(op, xs, np.zeros((4, 3, 5)))
    layer = ELEMENTWISE[op](dtype="float64")
    np.testing.assert_allclose(layer(xs), ref, rtol=1e-12)
    out = FUNCTIONS[op](xs, dtype="float64", name=f"my_{op}")
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    assert out.dtype == np.float64


def test_eager_calls_of_concatenate_and_dot():
    a, b = _inputs([(4, 3, 5), (4, 5, 2)])
    np.testing.assert_allclose(layers.dot([a, b], axes=(2, 1)), a @ b, rtol=1e-6)
    np.testing.assert_allclose(
        layers.dot([a, a], axes=2, normalize=True), layers.Dot(2, normalize=True)([a, a])
    )
    np.testing.assert_allclose(layers.concatenate([a, a], axis=1), np.concatenate([a, a], 1))
    assert layers.Add()([a]).shape == a.shape  # a list of one, as Keras
    with pytest.raises(ValueError, match=r"Received: input_shape=\(4, 3, 5\) \(not a list"):
        layers.Add()(a)


# -- Keras's shape rules and errors ---------------------------------------------------------


def test_incompatible_shapes():
    message = r"Inputs have incompatible shapes. Received shapes \(3,\) and \(4,\)"
    with pytest.raises(ValueError, match=message):
        layers.Add().build([(None, 3), (None, 4)])
    with pytest.raises(ValueError, match="Inputs have incompatible shapes"):
        layers.Multiply().build([(None, 2, 3), (None, 3, 3)])


def test_not_a_list():
    with pytest.raises(ValueError, match="A merge layer should be called on a list of inputs"):
        layers.Add().build((None, 3))
    with pytest.raises(ValueError, match="A `Concatenate` layer should be called on a list"):
        layers.Concatenate().build((None, 3))
    with pytest.raises(ValueError, match="A `Dot` layer should be called on a list of 2 inputs"):
        layers.Dot(1).build((None, 3))


def test_different_batch_sizes():
    with pytest.raises(ValueError, match="Cannot merge tensors with different batch sizes"):
        layers.Add().build([(2, 3), (5, 3)])


def test_subtract_needs_two_inputs():
    with pytest.raises(ValueError, match="A `Subtract` layer should be called on exactly 2 inputs"):
        layers.Subtract().build([(None, 3)] * 3)


def test_absurd_broadcast_is_a_memory_error():
    with pytest.raises(MemoryError, match="broadcast index"):
        layers.Add().build([(None, 100000, 100000, 1000, 1), (None, 1000)])


def test_output_shapes():
    layer = layers.Add()
    assert layer.compute_output_shape([(8, 3, 1), (None, 1, 4)]) == (8, 3, 4)
    assert layer.input_shape == [(None, 3, 1), (None, 1, 4)]
    cat = layers.Concatenate(axis=1)
    assert cat.compute_output_shape([(None, 2, 5), (None, 3, 5)]) == (None, 5, 5)


# -- Concatenate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shapes, axis",
    [
        ([(3, 4), (3, 2)], -1),
        ([(3, 2, 4), (3, 5, 4), (3, 1, 4)], 1),
        ([(3, 2, 4), (3, 2, 3)], 2),
        ([(3, 2, 4), (3, 2, 3)], -1),
        ([(2, 2, 3, 4), (2, 2, 1, 4)], 2),
        ([(2, 3, 4)], 1),
    ],
)
def test_concatenate_matches_numpy(shapes, axis):
    xs = _inputs(shapes)
    layer = _build(layers.Concatenate(axis=axis, dtype="float64"), xs)
    ref = np.concatenate(xs, axis=axis)
    assert layer.output_shape == (None, *ref.shape[1:])
    dy = rng.standard_normal(ref.shape)
    y, grads = vjp(layer, xs, dy)
    np.testing.assert_array_equal(y, ref)
    splits = np.cumsum([x.shape[axis] for x in xs])[:-1]
    for g, r in zip(grads, np.split(dy, splits, axis=axis)):
        np.testing.assert_array_equal(g, r)
    np.testing.assert_array_equal(graph_predict(layer, xs, batch_size=2), ref)


def test_concatenate_float32():
    xs = [x.astype(np.float32) for x in _inputs([(4, 3, 2), (4, 3, 5)])]
    layer = _build(layers.Concatenate(), xs)
    y, _ = vjp(layer, xs, np.zeros((4, 3, 7), np.float32), dtype="float32")
    np.testing.assert_array_equal(y, np.concatenate(xs, axis=-1))


def test_concatenate_errors():
    error = "A `Concatenate` layer requires inputs with matching shapes except for the concat"
    with pytest.raises(ValueError, match=error):
        layers.Concatenate(axis=-1).build([(None, 2, 3), (None, 4, 3)])
    with pytest.raises(ValueError, match=error):
        layers.Concatenate(axis=1).build([(None, 2, 3), (None, 2)])
    with pytest.raises(ValueError, match="batch axis"):
        layers.Concatenate(axis=0).build([(None, 2), (None, 2)])
    with pytest.raises(ValueError, match="out of range"):
        layers.Concatenate(axis=3).build([(None, 2), (None, 2)])


# -- Dot ------------------------------------------------------------------------------------


def dot_reference(a, b, axes, normalize):
    """Keras's batch_dot (rank-2 and rank-3 inputs and beyond) in NumPy, per sample."""
    if normalize:
        a = a / np.maximum(np.linalg.norm(a, axis=axes[0], keepdims=True), 1e-7)
        b = b / np.maximum(np.linalg.norm(b, axis=axes[1], keepdims=True), 1e-7)
    pairs = (axes[0] - 1, axes[1] - 1)
    out = np.stack([np.tensordot(a[i], b[i], axes=pairs) for i in range(len(a))])
    return out.reshape(len(a), -1) if out.ndim == 1 else out


DOT_CASES = [
    ((4, 5), (4, 5), 1),
    ((4, 5), (4, 5), -1),
    ((4, 3, 5), (4, 5, 2), (2, 1)),
    ((4, 3, 5), (4, 2, 5), (2, 2)),
    ((4, 5, 3), (4, 5, 2), 1),
    ((4, 3, 5), (4, 3, 2), (1, 1)),
    ((4, 3, 5), (4, 5), (2, 1)),
    ((4, 5), (4, 5, 2), (1, 1)),
    ((4, 2, 5, 3), (4, 5, 2), (2, 1)),
    ((4, 2, 5, 3), (4, 3, 5, 2), (2, 2)),
    ((4, 2, 3), (4, 2, 3), (1, -2)),
]


def _dot_axes(layer, a, b):
    if isinstance(layer.axes, int):
        return [layer.axes % a.ndim, layer.axes % b.ndim]
    return [ax % x.ndim for ax, x in zip(layer.axes, (a, b))]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("sa, sb, axes", DOT_CASES)
def test_dot_matches_numpy(sa, sb, axes, normalize):
    a, b = _inputs([sa, sb])
    layer = _build(layers.Dot(axes, normalize=normalize, dtype="float64"), [a, b])
    ref = dot_reference(a, b, _dot_axes(layer, a, b), normalize)
    assert layer.output_shape == (None, *ref.shape[1:])
    dy = rng.standard_normal(ref.shape)
    y, grads = vjp(layer, [a, b], dy)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(graph_predict(layer, [a, b]), ref, rtol=1e-12, atol=1e-12)
    if not normalize:  # bilinear: sum(dy * dot(a, b)) is linear in a, its gradient exact
        for i, x in enumerate((a, b)):
            basis = np.zeros_like(x)
            for idx in np.ndindex(x.shape[1:]):
                basis[(slice(None), *idx)] = 1.0
                pair = (basis, b) if i == 0 else (a, basis)
                expected = (dy * dot_reference(*pair, _dot_axes(layer, a, b), False)).reshape(
                    len(a), -1
                )
                np.testing.assert_allclose(
                    grads[i][(slice(None), *idx)], expected.sum(axis=1), rtol=1e-12, atol=1e-12
                )
                basis[(slice(None), *idx)] = 0.0


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("sa, sb, axes", DOT_CASES)
def test_dot_finite_differences(sa, sb, axes, normalize):
    a, b = _inputs([(2, *sa[1:]), (2, *sb[1:])])
    layer = _build(layers.Dot(axes, normalize=normalize, dtype="float64"), [a, b])
    dy = rng.standard_normal((2, *layer.output_shape[1:]))
    _, grads = vjp(layer, [a, b], dy)
    for g, fd in zip(grads, finite_differences(layer, [a, b], dy)):
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_dot_normalize_zero_vector():
    a = np.zeros((1, 3))
    b = np.array([[1.0, 2.0, 3.0]])
    layer = _build(layers.Dot(1, normalize=True, dtype="float64"), [a, b])
    y, (ga, gb) = vjp(layer, [a, b], np.ones((1, 1)))
    assert y[0, 0] == 0.0
    # The clamped norm: a / 1e-7, so dL/da = b / ||b|| / 1e-7.
    np.testing.assert_allclose(ga, b / np.linalg.norm(b) / 1e-7)
    np.testing.assert_array_equal(gb, 0.0)


def test_dot_same_input_twice():
    x = rng.standard_normal((3, 4))
    layer = _build(layers.Dot(1, normalize=True, dtype="float64"), [x, x])
    graph = core.Graph_float64([[4]], [(layer._core, [0, 0])], [1])
    out = np.empty((3, 1))
    graph.predict(x, 3, out, None, False)
    np.testing.assert_allclose(out, 1.0)


def test_dot_float32():
    a, b = (x.astype(np.float32) for x in _inputs([(4, 3, 5), (4, 5, 2)]))
    layer = _build(layers.Dot((2, 1)), [a, b])
    y, _ = vjp(layer, [a, b], np.zeros((4, 3, 2), np.float32), dtype="float32")
    np.testing.assert_allclose(y, a @ b, rtol=1e-5, atol=1e-6)


def test_dot_errors():
    with pytest.raises(TypeError, match="Invalid type for argument `axes`"):
        layers.Dot(axes="1")
    with pytest.raises(ValueError, match="it should contain two elements"):
        layers.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="list elements should be integers"):
        layers.Dot(axes=(1, 2.0))
    with pytest.raises(ValueError, match=r"Incompatible input shapes: axis values 3 \(at axis 1\)"):
        layers.Dot(1).build([(None, 3), (None, 4)])
    with pytest.raises(ValueError, match="A `Dot` layer should be called on a list of 2 inputs"):
        layers.Dot(1).build([(None, 3)] * 3)
    with pytest.raises(ValueError, match="Cannot perform batch_dot over axis 0"):
        layers.Dot(0).build([(None, 3), (None, 3)])
    with pytest.raises(ValueError, match="out of range"):
        layers.Dot(3).build([(None, 3), (None, 3)])


# -- configs ----------------------------------------------------------------------------------


CONFIG_CASES = [
    (layers.Add, {}),
    (layers.Subtract, {}),
    (layers.Multiply, {}),
    (layers.Average, {}),
    (layers.Maximum, {}),
    (layers.Minimum, {}),
    (layers.Concatenate, {"axis": 1}),
    (layers.Dot, {"axes": (1, 2), "normalize": True}),
    (layers.Dot, {"axes": -1}),
]


@pytest.mark.parametrize("cls, kwargs", CONFIG_CASES)
def test_config_round_trip(cls, kwargs):
    layer = cls(name="merge_x", dtype="float64", **kwargs)
    config = layer.get_config()
    assert {"name", "trainable", "dtype"} <= set(config)
    for key, value in kwargs.items():
        assert config[key] == value
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == config


@pytest.mark.parametrize("cls, kwargs", CONFIG_CASES)
def test_deserialized_by_name(cls, kwargs):
    from eigennet.saving import serialization_lib

    layer = cls(**kwargs)
    restored = serialization_lib.deserialize_keras_object(
        serialization_lib.serialize_keras_object(layer)
    )
    # JSON has no tuples: axes (1, 2) come back as [1, 2], as in Keras.
    assert type(restored) is cls
    assert json.dumps(restored.get_config()) == json.dumps(layer.get_config())


def test_defaults():
    assert layers.Concatenate().axis == -1
    assert layers.Dot(1).normalize is False
    assert layers.Add().name.startswith("add")
    assert layers.Concatenate().get_config().keys() == {"name", "trainable", "dtype", "axis"}
    assert layers.Dot(1).get_config().keys() == {"name", "trainable", "dtype", "axes", "normalize"}


# -- in functional models ---------------------------------------------------------------------


def _merged_model(merge, shapes=((3,), (3,)), head=True):
    """Dense branches into `merge`, then a Dense head: every weight learns through the merge."""
    inputs = [eigennet.Input(s) for s in shapes]
    branches = [layers.Dense(4, activation="tanh")(i) for i in inputs]
    merged = merge(branches)
    if head:
        merged = layers.Dense(2)(layers.Flatten()(merged) if len(merged.shape) > 2 else merged)
    return eigennet.Model(inputs, merged)


MODEL_MERGES = {
    **{name: cls for name, cls in ELEMENTWISE.items()},
    "add_three": lambda ts: layers.Add()([*ts, ts[0]]),
    "concatenate": lambda ts: layers.Concatenate()(ts),
    "dot": lambda ts: layers.Dot(1)(ts),
    "dot_normalize": lambda ts: layers.Dot(1, normalize=True)(ts),
    "reshape_then_dot": lambda ts: layers.Dot((2, 2))(
        [layers.Reshape((2, 2))(ts[0]), layers.Reshape((2, 2))(ts[1])]
    ),
    "reshape_then_concatenate": lambda ts: layers.Concatenate(axis=1)(
        [layers.Reshape((2, 2))(ts[0]), layers.Reshape((2, 2))(ts[1])]
    ),
}


@pytest.mark.parametrize("name", sorted(MODEL_MERGES))
def test_model_gradients_match_finite_differences(float64, name):
    from gradient_check import assert_gradients_match_finite_differences

    merge = MODEL_MERGES[name]
    if isinstance(merge, type):
        cls = merge
        merge = lambda ts: cls()(ts)  # noqa: E731
    eigennet.utils.set_random_seed(5)
    model = _merged_model(merge)
    model.compile(optimizer="sgd", loss="mse")
    x = [rng.standard_normal((6, 3)), rng.standard_normal((6, 3))]
    y = rng.standard_normal((6, 2))
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-6, atol=1e-9)


def test_model_trains_through_merges():
    eigennet.utils.set_random_seed(2)
    inputs = [eigennet.Input((3,)), eigennet.Input((3,))]
    a = layers.Dense(8, activation="relu")(inputs[0])
    b = layers.Dense(8, activation="relu")(inputs[1])
    merged = layers.concatenate([layers.add([a, b]), layers.multiply([a, b])])
    model = eigennet.Model(inputs, layers.Dense(1)(merged))
    model.compile(optimizer=eigennet.optimizers.Adam(0.02), loss="mse")
    data = np.random.default_rng(0)
    x = [data.standard_normal((64, 3)), data.standard_normal((64, 3))]
    y = (x[0] * x[1]).sum(axis=1, keepdims=True)
    losses = model.fit(x, y, epochs=40, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0]


def test_model_config_round_trip():
    inputs = [eigennet.Input((3,)), eigennet.Input((3,))]
    a, b = (layers.Dense(4)(i) for i in inputs)
    merged = layers.concatenate([layers.maximum([a, b]), layers.subtract([a, b])], axis=-1)
    dotted = layers.Dot(axes=(1, 1), normalize=True)([merged, layers.Dense(8)(inputs[0])])
    model = eigennet.Model(inputs, layers.Average()([dotted, layers.Dense(1)(merged)]))
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = type(model).from_config(config)
    rebuilt.set_weights(model.get_weights())
    assert [type(layer).__name__ for layer in rebuilt.layers] == [
        type(layer).__name__ for layer in model.layers
    ]
    x = [rng.standard_normal((5, 3)), rng.standard_normal((5, 3))]
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))


# -- parity with Keras 3 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_ref():
    os.environ["KERAS_BACKEND"] = "torch"
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


def keras_vjp(keras_layer, xs, dy):
    import torch

    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    out = keras_layer(ts)
    (out * torch.tensor(dy)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


PARITY_CASES = [
    *[(name, {}, [(4, 3, 5), (4, 3, 5)]) for name in ELEMENTWISE],
    *[(name, {}, [(4, 3, 1), (4, 1, 5)]) for name in ("add", "multiply", "maximum")],
    ("add", {}, [(4, 5), (4, 3, 5)]),
    ("average", {}, [(4, 6), (4, 6), (4, 6)]),
    ("concatenate", {"axis": 1}, [(4, 2, 5), (4, 3, 5)]),
    ("concatenate", {"axis": -1}, [(4, 2, 5), (4, 2, 1)]),
    ("dot", {"axes": 1}, [(4, 5), (4, 5)]),
    ("dot", {"axes": (2, 1)}, [(4, 3, 5), (4, 5, 2)]),
    ("dot", {"axes": (1, 1), "normalize": True}, [(4, 3, 5), (4, 3, 2)]),
    ("dot", {"axes": (2, 2), "normalize": True}, [(4, 3, 5), (4, 2, 5)]),
    ("dot", {"axes": -1}, [(4, 3, 5), (4, 5)]),
]


@pytest.mark.parametrize("name, kwargs, shapes", PARITY_CASES)
def test_parity_with_keras(keras_ref, name, kwargs, shapes):
    # In float32: Keras 3's torch backend computes maximum and dot in float32 even for a
    # float64 layer.
    cls_name = {"dot": "Dot", "concatenate": "Concatenate"}.get(name, name.capitalize())
    xs = [x.astype(np.float32) for x in _inputs(shapes)]
    k_layer = getattr(keras_ref.layers, cls_name)(**kwargs)
    e_layer = _build(getattr(layers, cls_name)(dtype="float32", **kwargs), xs)
    dy = rng.standard_normal((shapes[0][0], *e_layer.output_shape[1:])).astype(np.float32)
    k_y, k_grads = keras_vjp(k_layer, xs, dy)
    e_y, e_grads = vjp(e_layer, xs, dy, dtype="float32")
    assert e_y.shape == k_y.shape
    np.testing.assert_allclose(e_y, k_y, rtol=1e-5, atol=1e-6)
    for e, k in zip(e_grads, k_grads):
        np.testing.assert_allclose(e, k, rtol=1e-5, atol=1e-6)
    assert set(e_layer.get_config()) == set(k_layer.get_config())
    k_shape = k_layer.compute_output_shape([(None, *s[1:]) for s in shapes])
    assert tuple(k_shape) == e_layer.output_shape


def _functional(lib):
    inputs = [lib.Input((3,)), lib.Input((3,))]
    a = lib.layers.Dense(4, activation="tanh")(inputs[0])
    b = lib.layers.Dense(4, activation="tanh")(inputs[1])
    merged = lib.layers.concatenate([lib.layers.add([a, b]), lib.layers.maximum([a, b])])
    dotted = lib.layers.dot([merged, lib.layers.Dense(8)(inputs[0])], axes=1, normalize=True)
    out = lib.layers.Dense(1)(lib.layers.average([dotted, lib.layers.Dense(1)(merged)]))
    return lib.Model(inputs, out)


def test_model_parity_with_keras(keras_ref):
    keras_ref.utils.set_random_seed(1)
    k_model, e_model = _functional(keras_ref), _functional(eigennet)
    e_model.set_weights([np.array(w) for w in k_model.get_weights()])
    x = [rng.standard_normal((32, 3)).astype(np.float32) for _ in range(2)]
    y = rng.standard_normal((32, 1)).astype(np.float32)
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    for lib, model in ((keras_ref, k_model), (eigennet, e_model)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
    assert_trains_like_keras(e_model, k_model, x, y, rtol=1e-4)
