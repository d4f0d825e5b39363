"""Model.export(path, format="onnx"): every layer family, ops in traced layers, functional
graphs with branches and several inputs/outputs, exported and run in onnxruntime with
predictions equal to `predict` (max abs error <= 1e-5, fp32) at several batch sizes (the batch
axis is dynamic); errors for what cannot be exported, raised before any file is written."""

from __future__ import annotations

import os

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

BATCHES = (1, 4, 7)
TOLERANCE = 1e-5


def _randomize(model, seed=0):
    """Random weights (positive where they are variances), so every weight matters."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = []
        for w in getattr(layer, "weights", []):
            v = rng.normal(scale=0.4, size=w.shape)
            if "variance" in w.name:
                v = np.abs(v) + 0.5
            values.append(v.astype(w.dtype))
        if values:
            layer.set_weights(values)


def _inputs(session, batch, seed=1, integers=None):
    rng = np.random.default_rng(seed)
    out = []
    for shape in [i.shape for i in session.get_inputs()]:
        if integers is not None:
            out.append(rng.integers(0, integers, size=(batch, *shape[1:])).astype("float32"))
        else:
            out.append(rng.normal(size=(batch, *shape[1:])).astype("float32"))
    return out


def assert_exports(model, tmp_path, integers=None, randomize=True, input_signature=None, x=None):
    """Exports `model`, runs it in onnxruntime at several batch sizes and compares with
    predict. Returns the inference session."""
    if randomize:
        _randomize(model)
    path = str(tmp_path / "model.onnx")
    model.export(path, format="onnx", verbose=False, input_signature=input_signature)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"
    for batch in BATCHES:
        xs = x if x is not None else _inputs(session, batch, integers=integers)
        feeds = {i.name: a for i, a in zip(session.get_inputs(), xs)}
        got = session.run(None, feeds)
        want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0, batch_size=batch)
        want = want if isinstance(want, list) else [want]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, atol=TOLERANCE, rtol=0)
        if x is not None:
            break
    return session


def sequential(input_shape, *stack):
    return keras.Sequential([keras.Input(input_shape), *stack])


# -- layers running as one native node ------------------------------------------------------
ACTIVATIONS = [
    "linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "selu", "gelu",
    "softplus", "swish", "silu",
]  # fmt: skip


@pytest.mark.parametrize("activation", [*ACTIVATIONS, "mish", "relu6"])  # (the last two
def test_dense_activations(activation, tmp_path):  # computed after the product, traced)
    model = sequential((6,), layers.Dense(5, activation=activation), layers.Dense(3))
    assert_exports(model, tmp_path)


@pytest.mark.parametrize(
    "layer",
    [
        lambda: layers.ReLU(max_value=0.6, negative_slope=0.1, threshold=0.2),
        lambda: layers.ReLU(),
        lambda: layers.LeakyReLU(negative_slope=0.3),
        lambda: layers.ELU(alpha=0.7),
        lambda: layers.PReLU(),
        lambda: layers.Softmax(axis=1),
        lambda: layers.Softmax(axis=(1, 2)),
        lambda: layers.Identity(),
        lambda: layers.Activation("gelu"),
        lambda: layers.Dropout(0.5),
    ],
    ids=[
        "relu_args",
        "relu",
        "leaky",
        "elu",
        "prelu",
        "softmax",
        "softmax2",
        "identity",
        "act",
        "dropout",
    ],  # fmt: skip
)
def test_activation_layers(layer, tmp_path):
    assert_exports(sequential((4, 3), layer()), tmp_path)


CONVS = [
    ((9, 3), lambda: layers.Conv1D(4, 3, strides=2, padding="same")),
    ((9, 3), lambda: layers.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu")),
    ((9, 4), lambda: layers.Conv1D(4, 2, use_bias=False)),
    ((7, 6, 2), lambda: layers.Conv2D(3, (3, 2), strides=(2, 1), padding="same")),
    ((7, 6, 2), lambda: layers.Conv2D(3, 3, dilation_rate=2, activation="tanh")),
    ((5, 4, 4, 2), lambda: layers.Conv3D(2, 2, padding="same")),
    ((6, 2), lambda: layers.Conv1DTranspose(3, 3, strides=2)),
    ((6, 2), lambda: layers.Conv1DTranspose(3, 4, strides=2, padding="same")),
    ((6, 2), lambda: layers.Conv1DTranspose(3, 3, strides=3, padding="same", output_padding=1)),
    ((4, 5, 2), lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same")),
    ((4, 5, 2), lambda: layers.Conv2DTranspose(2, 2, strides=3)),
    ((4, 5, 2), lambda: layers.Conv2DTranspose(2, 3, dilation_rate=2, activation="relu")),
    ((3, 3, 3, 2), lambda: layers.Conv3DTranspose(2, 2, strides=2, padding="same")),
    ((9, 3), lambda: layers.DepthwiseConv1D(3, depth_multiplier=2, padding="same")),
    ((7, 6, 2), lambda: layers.DepthwiseConv2D(3, strides=2, activation="relu")),
    ((9, 3), lambda: layers.SeparableConv1D(4, 3, padding="same")),
    ((7, 6, 2), lambda: layers.SeparableConv2D(4, 3, depth_multiplier=2)),
]


@pytest.mark.parametrize("shape,layer", CONVS, ids=[str(i) for i in range(len(CONVS))])
def test_convolutions(shape, layer, tmp_path):
    assert_exports(sequential(shape, layer()), tmp_path)


POOLS = [
    ((9, 3), lambda: layers.MaxPooling1D(2)),
    ((9, 3), lambda: layers.AveragePooling1D(3, strides=2, padding="same")),
    ((7, 6, 2), lambda: layers.MaxPooling2D(2, padding="same")),
    ((7, 6, 2), lambda: layers.AveragePooling2D((3, 2))),
    ((5, 4, 4, 2), lambda: layers.MaxPooling3D(2)),
    ((5, 4, 4, 2), lambda: layers.AveragePooling3D(2, padding="same")),
    ((9, 3), lambda: layers.GlobalMaxPooling1D()),
    ((9, 3), lambda: layers.GlobalAveragePooling1D(keepdims=True)),
    ((7, 6, 2), lambda: layers.GlobalMaxPooling2D(keepdims=True)),
    ((7, 6, 2), lambda: layers.GlobalAveragePooling2D()),
    ((5, 4, 4, 2), lambda: layers.GlobalMaxPooling3D()),
    ((5, 4, 4, 2), lambda: layers.GlobalAveragePooling3D()),
]


@pytest.mark.parametrize("shape,layer", POOLS, ids=[str(i) for i in range(len(POOLS))])
def test_pooling(shape, layer, tmp_path):
    assert_exports(sequential(shape, layer()), tmp_path)


NORMALIZATIONS = [
    ((6,), lambda: layers.BatchNormalization()),
    ((5, 4, 3), lambda: layers.BatchNormalization(center=False)),
    ((5, 6), lambda: layers.LayerNormalization()),
    ((5, 6), lambda: layers.LayerNormalization(scale=False, epsilon=0.1)),
    ((4, 4, 6), lambda: layers.GroupNormalization(groups=3)),
    ((5, 6), lambda: layers.UnitNormalization()),
]


@pytest.mark.parametrize(
    "shape,layer", NORMALIZATIONS, ids=[str(i) for i in range(len(NORMALIZATIONS))]
)
def test_normalization(shape, layer, tmp_path):
    assert_exports(sequential(shape, layer()), tmp_path)


RESHAPING = [
    ((4, 3, 2), lambda: layers.Flatten()),
    ((4, 6), lambda: layers.Reshape((3, -1))),
    ((4, 3, 2), lambda: layers.Permute((3, 1, 2))),
    ((5,), lambda: layers.RepeatVector(3)),
    ((5, 4, 2), lambda: layers.ZeroPadding2D(((1, 0), (2, 1)))),
    ((5, 4, 2), lambda: layers.Cropping2D(((1, 0), (1, 1)))),
    ((5, 3), lambda: layers.UpSampling1D(2)),
    ((3, 4, 2), lambda: layers.UpSampling2D((2, 3))),
    ((3, 4), lambda: layers.Rescaling(0.5, offset=-1.0)),
    ((6, 3), lambda: layers.TimeDistributed(layers.Dense(4, activation="relu"))),
]


@pytest.mark.parametrize("shape,layer", RESHAPING, ids=[str(i) for i in range(len(RESHAPING))])
def test_reshaping_and_wrappers(shape, layer, tmp_path):
    assert_exports(sequential(shape, layer()), tmp_path)


def test_embedding(tmp_path):
    model = sequential(
        (5,), layers.Embedding(11, 4), layers.Flatten(), layers.Dense(2, activation="sigmoid")
    )
    assert_exports(model, tmp_path, integers=11)


def test_integer_input_keeps_its_type(tmp_path):
    ids = keras.Input((5,), dtype="int32", name="ids")
    model = keras.Model(ids, layers.GlobalAveragePooling1D()(layers.Embedding(9, 3)(ids)))
    path = str(tmp_path / "m.onnx")
    model.export(path, format="onnx", verbose=False)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].type == "tensor(int32)"
    x = np.random.default_rng(0).integers(0, 9, size=(6, 5)).astype("int32")
    (got,) = session.run(None, {"ids": x})
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=TOLERANCE, rtol=0)


RECURRENT = [
    lambda: layers.SimpleRNN(4),
    lambda: layers.SimpleRNN(4, return_sequences=True, go_backwards=True, activation="relu"),
    lambda: layers.LSTM(5),
    lambda: layers.LSTM(5, return_sequences=True),
    lambda: layers.LSTM(3, go_backwards=True, use_bias=False),
    lambda: layers.GRU(4),
    lambda: layers.GRU(4, reset_after=False, return_sequences=True),
    lambda: layers.GRU(4, go_backwards=True, return_sequences=True),
    lambda: layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
    lambda: layers.Bidirectional(layers.GRU(3), merge_mode="sum"),
    lambda: layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True), merge_mode="ave"),
    lambda: layers.Bidirectional(layers.LSTM(2), merge_mode="mul"),
    lambda: layers.RNN(layers.LSTMCell(3), return_sequences=True),
    lambda: layers.RNN(layers.GRUCell(3, reset_after=False), go_backwards=True),
    lambda: layers.Bidirectional(layers.RNN(layers.SimpleRNNCell(2))),
]


@pytest.mark.parametrize("layer", RECURRENT, ids=[str(i) for i in range(len(RECURRENT))])
def test_recurrent(layer, tmp_path):
    assert_exports(sequential((6, 3), layer()), tmp_path)


MASKED_RECURRENT = [
    lambda: layers.SimpleRNN(3, return_sequences=True),
    lambda: layers.LSTM(3),
    lambda: layers.LSTM(3, return_sequences=True, go_backwards=True),
    lambda: layers.LSTM(3, return_sequences=True, zero_output_for_mask=True),
    lambda: layers.GRU(3, return_sequences=True),
    lambda: layers.GRU(3, reset_after=False, go_backwards=True),
    lambda: layers.Bidirectional(layers.LSTM(2, return_sequences=True)),
    lambda: layers.Bidirectional(layers.GRU(2), merge_mode="sum"),
]


@pytest.mark.parametrize(
    "layer", MASKED_RECURRENT, ids=[str(i) for i in range(len(MASKED_RECURRENT))]
)
def test_masked_recurrent(layer, tmp_path):
    model = sequential((6,), layers.Embedding(9, 4, mask_zero=True), layer())
    _randomize(model)
    ids = np.random.default_rng(3).integers(1, 9, size=(5, 6)).astype("float32")
    ids[0, 4:] = 0  # padding after, before, in the middle, everywhere
    ids[1, :2] = 0
    ids[2, 2:4] = 0
    ids[3] = 0
    assert_exports(model, tmp_path, randomize=False, x=[ids])


def test_recurrent_return_state(tmp_path):
    x = keras.Input((5, 3))
    sequence, h, c = layers.LSTM(4, return_sequences=True, return_state=True)(x)
    last, h2 = layers.GRU(4, return_state=True, go_backwards=True)(sequence)
    _, h3 = layers.SimpleRNN(4, return_state=True)(x)
    assert_exports(keras.Model(x, [sequence, h, c, last, h2, h3]), tmp_path)


def test_recurrent_initial_state(tmp_path):
    x, h0, c0 = keras.Input((5, 3)), keras.Input((4,)), keras.Input((4,))
    encoded = layers.LSTM(4, return_sequences=True)(x, initial_state=[h0, c0])
    decoded = layers.GRU(4)(x, initial_state=[layers.Dense(4)(h0)])
    assert_exports(keras.Model([x, h0, c0], [encoded, decoded]), tmp_path)


def test_masked_recurrent_with_states(tmp_path):
    ids, h0 = keras.Input((6,)), keras.Input((3,))
    x = layers.Embedding(9, 4, mask_zero=True)(ids)
    out, h, c = layers.LSTM(3, return_state=True)(x, initial_state=[h0, h0])
    model = keras.Model([ids, h0], [out, h, c])
    _randomize(model)
    rng = np.random.default_rng(4)
    tokens = rng.integers(1, 9, size=(4, 6)).astype("float32")
    tokens[0, 3:] = 0
    tokens[2] = 0
    states = rng.normal(size=(4, 3)).astype("float32")
    assert_exports(model, tmp_path, randomize=False, x=[tokens, states])


def test_stacked_recurrent_with_time_distributed(tmp_path):
    model = sequential(
        (7, 3),
        layers.LSTM(4, return_sequences=True),
        layers.GRU(4, return_sequences=True),
        layers.TimeDistributed(layers.Dense(2)),
    )
    assert_exports(model, tmp_path)


# -- attention -------------------------------------------------------------------------------
def test_multi_head_attention_self_and_causal(tmp_path):
    x = keras.Input((6, 8))
    y = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    z = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=5)(y, x, use_causal_mask=True)
    assert_exports(keras.Model(x, layers.LayerNormalization()(z + x)), tmp_path)


def test_multi_head_attention_cross_with_scores(tmp_path):
    q, v = keras.Input((4, 6)), keras.Input((7, 5))
    out, scores = layers.MultiHeadAttention(num_heads=3, key_dim=2)(
        q, v, return_attention_scores=True
    )
    assert_exports(keras.Model([q, v], [out, scores]), tmp_path)


def test_attention_layer(tmp_path):
    q, v = keras.Input((4, 6)), keras.Input((5, 6))
    model = keras.Model([q, v], layers.Attention()([q, v]))
    assert_exports(model, tmp_path)


def test_masked_attention_from_embedding(tmp_path):
    ids = keras.Input((6,))
    x = layers.Embedding(10, 8, mask_zero=True)(ids)
    y = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    model = keras.Model(ids, layers.Dense(3)(y))
    _randomize(model)
    x = [np.random.default_rng(2).integers(1, 10, size=(5, 6)).astype("float32")]
    x[0][:, 4:] = 0  # padding at the end of every sequence, a fully padded row too
    x[0][1] = 0
    assert_exports(model, tmp_path, randomize=False, x=x)


# -- merging and functional graphs -------------------------------------------------------------
MERGES = [
    lambda a, b: layers.Add()([a, b]),
    lambda a, b: layers.Subtract()([a, b]),
    lambda a, b: layers.Multiply()([a, b]),
    lambda a, b: layers.Average()([a, b]),
    lambda a, b: layers.Maximum()([a, b]),
    lambda a, b: layers.Minimum()([a, b]),
    lambda a, b: layers.Concatenate()([a, b]),
    lambda a, b: layers.Concatenate(axis=1)([a, b]),
    lambda a, b: layers.Dot(axes=2)([a, b]),
    lambda a, b: layers.Dot(axes=(1, 1), normalize=True)([a, b]),
]


@pytest.mark.parametrize("merge", MERGES, ids=[str(i) for i in range(len(MERGES))])
def test_merge_layers(merge, tmp_path):
    a, b = keras.Input((3, 4)), keras.Input((3, 4))
    assert_exports(keras.Model([a, b], merge(a, b)), tmp_path)


def test_dot_of_vectors(tmp_path):
    a, b = keras.Input((5,)), keras.Input((5,))
    assert_exports(keras.Model([a, b], layers.Dot(axes=1)([a, b])), tmp_path)


def test_functional_branches_two_inputs_two_outputs(tmp_path):
    image, meta = keras.Input((8, 8, 2), name="image"), keras.Input((3,), name="meta")
    x = layers.Conv2D(4, 3, activation="relu")(image)
    x = layers.BatchNormalization()(x)
    left = layers.GlobalAveragePooling2D()(x)
    right = layers.Flatten()(layers.MaxPooling2D()(x))
    right = layers.Dense(6, activation="gelu")(right)
    joined = layers.Concatenate()([left, right, layers.Dense(4)(meta)])
    shared = layers.Dense(5, activation="tanh")
    out_a = layers.Dense(2, activation="softmax", name="class")(shared(joined))
    out_b = layers.Add(name="value")([shared(layers.Dense(14)(meta)), shared(joined)])
    model = keras.Model([image, meta], [out_a, out_b])
    session = assert_exports(model, tmp_path)
    assert [i.name for i in session.get_inputs()] == ["image", "meta"]
    assert [o.name for o in session.get_outputs()] == ["class", "value"]


def test_nested_models(tmp_path):
    inner = sequential((4,), layers.Dense(3, activation="relu"), layers.Dense(3))
    x = keras.Input((4,))
    model = keras.Model(x, layers.Dense(2)(layers.Add()([inner(x), inner(x * 2.0)])))
    assert_exports(model, tmp_path)


# -- traced custom layers and ops --------------------------------------------------------------
class OpsBlock(layers.Layer):
    """A custom layer whose call() uses many op kinds."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 6), initializer="glorot_uniform")
        self.bias = self.add_weight(shape=(6,), initializer="zeros")
        self.scale = self.add_weight(shape=(2, 3), initializer="ones")

    def call(self, x):
        h = ops.relu(ops.matmul(x, self.kernel) + self.bias)  # fused in the native graph
        g = ops.reshape(h, (-1, x.shape[1], 2, 3))
        g = ops.transpose(g, (0, 1, 3, 2)) * ops.transpose(self.scale)
        e = ops.einsum("btij,btij->bt", g, g)
        s = ops.softmax(ops.sum(g, axis=-1), axis=1)
        m = ops.max(h, axis=-1, keepdims=True) - ops.mean(h, axis=-1, keepdims=True)
        sliced = h[:, 1:, ::2]
        parts = ops.concatenate([ops.reshape(s, (-1, x.shape[1] * 3)), e, sliced[:, 0]], axis=-1)
        clipped = ops.clip(parts, -0.5, 2.0) + ops.sqrt(ops.abs(parts)) * ops.exp(-(parts**2))
        gate = ops.where(parts > 0.1, ops.tanh(parts), ops.sigmoid(parts))
        return ops.log1p(ops.square(clipped)) + gate + ops.std(m, axis=1)


def test_traced_custom_layer(tmp_path):
    x = keras.Input((5, 4))
    model = keras.Model(x, OpsBlock()(x))
    assert_exports(model, tmp_path)


def _positive(x):
    return ops.abs(x) + 0.5


OPS = {
    "negative": ops.negative, "abs": ops.abs, "square": ops.square,
    "sqrt": lambda x: ops.sqrt(_positive(x)), "rsqrt": lambda x: ops.rsqrt(_positive(x)),
    "reciprocal": lambda x: ops.reciprocal(_positive(x)), "exp": ops.exp,
    "log": lambda x: ops.log(_positive(x)), "log1p": lambda x: ops.log1p(ops.abs(x)),
    "expm1": ops.expm1, "sin": ops.sin, "cos": ops.cos, "tanh": ops.tanh, "sign": ops.sign,
    "floor": ops.floor, "ceil": ops.ceil, "round": lambda x: ops.round(x * 3.0), "erf": ops.erf,
    "trunc": lambda x: ops.cast(x * 3.0, "int32"), "clip": lambda x: ops.clip(x, -0.3, 0.4),
    "relu6": lambda x: ops.relu6(x * 5.0), "softsign": ops.softsign,
    "hard_sigmoid": ops.hard_sigmoid, "hard_silu": ops.hard_silu,
    "log_sigmoid": ops.log_sigmoid, "gelu_tanh": lambda x: ops.gelu(x, approximate=True),
    "gelu": lambda x: ops.gelu(x, approximate=False),
    "leaky_relu": lambda x: ops.leaky_relu(x, 0.1), "elu": lambda x: ops.elu(x, 0.5),
    "silu": ops.silu, "selu": ops.selu, "softplus": ops.softplus, "sigmoid": ops.sigmoid,
    "log_softmax": lambda x: ops.log_softmax(x, axis=1), "softmax": ops.softmax,
    "isfinite": lambda x: ops.isfinite(ops.log(x)), "isnan": lambda x: ops.isnan(ops.log(x)),
    "logical_not": lambda x: ops.logical_not(x > 0.2),
    "subtract": lambda x: 1.5 - x, "divide": lambda x: x / _positive(x[:, :1]),
    "power": lambda x: ops.power(_positive(x), 1.5), "maximum": lambda x: ops.maximum(x, 0.1),
    "minimum": lambda x: ops.minimum(x, x * 0.5),
    "floor_divide": lambda x: ops.floor_divide(x * 4.0, 1.5), "mod": lambda x: ops.mod(x, 0.7),
    "equal": lambda x: ops.equal(ops.round(x), 0.0),
    "not_equal": lambda x: ops.not_equal(ops.round(x), 0.0),
    "less": lambda x: x < 0.3, "greater_equal": lambda x: x >= -0.2,
    "logical_and": lambda x: ops.logical_and(x > 0, x < 1),
    "logical_xor": lambda x: ops.logical_xor(x > 0, x > 0.5),
    "where": lambda x: ops.where(x > 0, x, -x * 2.0),
    "sum": lambda x: ops.sum(x, axis=1), "mean": lambda x: ops.mean(x, axis=(1, 2)),
    "max": lambda x: ops.max(x, axis=-1, keepdims=True), "min": lambda x: ops.min(x, axis=1),
    "prod": lambda x: ops.prod(x, axis=-1), "var": lambda x: ops.var(x, axis=1),
    "std": lambda x: ops.std(x, axis=-1), "logsumexp": lambda x: ops.logsumexp(x, axis=-1),
    "norm": lambda x: ops.norm(x, axis=-1), "argmax": lambda x: ops.argmax(x, axis=-1),
    "argmin": lambda x: ops.argmin(x, axis=1), "all": lambda x: ops.all(x > -1, axis=-1),
    "any": lambda x: ops.any(x > 1, axis=1), "reshape": lambda x: ops.reshape(x, (-1, 2, 12)),
    "transpose": lambda x: ops.transpose(x, (0, 2, 1)),
    "expand_squeeze": lambda x: ops.squeeze(ops.expand_dims(x, 2) * 2.0, axis=2),
    "concatenate": lambda x: ops.concatenate([x, x * 2.0], axis=1),
    "stack": lambda x: ops.stack([x, -x], axis=1), "tile": lambda x: ops.tile(x, (1, 2, 1)),
    "repeat": lambda x: ops.repeat(x, 2, axis=2),
    "broadcast_to": lambda x: ops.broadcast_to(np.arange(6.0, dtype="float32"), (4, 6)) * x,
    "pad": lambda x: ops.pad(x, ((0, 0), (1, 2), (0, 1)), constant_values=0.5),
    "getitem": lambda x: x[:, 1:3, ::2] * x[:, 0:1, 1:6:2],
    "take": lambda x: ops.take(x, np.array([2, 0, 2]), axis=2),
    "take_along_axis": lambda x: ops.take_along_axis(
        x, ops.cast(ops.argmax(x, axis=-1, keepdims=True), "int32"), axis=-1
    ),
    "one_hot": lambda x: ops.one_hot(ops.argmax(x, axis=-1), 6),
    "cumsum": lambda x: ops.cumsum(x, axis=1),
    "slice_update": lambda x: ops.slice_update(x, (0, 1, 2), x[:, :2, :3] * 3.0),
    "matmul": lambda x: ops.matmul(x, np.linspace(-1, 1, 12).reshape(6, 2).astype("float32")),
    "einsum": lambda x: ops.einsum("btd,bsd->bts", x, x * 0.5),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(OPS))
def test_ops(name, tmp_path):
    x = keras.Input((4, 6))
    assert_exports(keras.Model(x, OPS[name](x)), tmp_path)


def test_traced_training_branch_and_noise(tmp_path):
    class Noisy(layers.Layer):
        def call(self, x, training=None):
            if training:
                return x + keras.random.normal(ops.shape(x))
            return x * 2.0

    model = sequential(
        (5,), layers.GaussianNoise(0.3), layers.Dense(4), Noisy(), layers.GaussianDropout(0.2)
    )
    assert_exports(model, tmp_path)


def test_subclassed_model(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.a = layers.Dense(8, activation="relu")
            self.b = layers.Dense(3)

        def call(self, x):
            return self.b(self.a(x) + ops.sin(x[:, :1]))

    model = Net()
    model.build((None, 5))
    assert_exports(model, tmp_path)


def test_variable_length_needs_a_signature(tmp_path):
    model = sequential((None, 3), layers.LSTM(4))
    with pytest.raises(ValueError, match="input_signature"):
        model.export(str(tmp_path / "m.onnx"), format="onnx", verbose=False)
    assert not os.listdir(tmp_path)
    assert_exports(model, tmp_path, input_signature=[(None, 6, 3)])


# -- errors and the file ---------------------------------------------------------------------
def test_other_formats_are_refused(tmp_path):
    model = sequential((3,), layers.Dense(2))
    for format in ("tf_saved_model", "torch", "litert"):
        with pytest.raises(ValueError, match="onnx"):
            model.export(str(tmp_path / "m"), format=format)
    with pytest.raises(ValueError, match="tf_saved_model"):
        model.export(str(tmp_path / "m"))
    assert not os.listdir(tmp_path)


def test_unsupported_layer_names_it_and_writes_nothing(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous")
    model = sequential((4, 3), layers.Dense(3), layers.LSTM(2, activation="selu", name="odd"))
    with pytest.raises(NotImplementedError, match=r"'odd' \(LSTM\).*selu"):
        model.export(str(path), format="onnx", verbose=False)
    assert path.read_bytes() == b"previous"  # untouched, and no temporary file left
    assert os.listdir(tmp_path) == ["model.onnx"]


def test_unsupported_op_names_it(tmp_path):
    class Cumulative(layers.Layer):
        def call(self, x):
            return ops.cumprod(x, axis=1)

    model = sequential((4,), Cumulative(name="cumulative"))
    with pytest.raises(NotImplementedError, match=r"'cumulative' \(Cumulative\).*cumprod"):
        model.export(str(tmp_path / "m.onnx"), format="onnx", verbose=False)
    assert not os.listdir(tmp_path)


def test_unbuilt_model_and_bad_keywords(tmp_path):
    model = keras.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="built"):
        model.export(str(tmp_path / "m.onnx"), format="onnx")
    built = sequential((3,), layers.Dense(2))
    with pytest.raises(ValueError, match="unknown_option"):
        built.export(str(tmp_path / "m.onnx"), format="onnx", unknown_option=1)


def test_onnx_is_imported_only_by_export():
    import subprocess
    import sys

    code = (
        "import sys, eigennet as keras; m = keras.Sequential([keras.Input((2,)), "
        "keras.layers.Dense(1)]); m.predict([[1.0, 2.0]], verbose=0); "
        "assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_onnx_package(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    model = sequential((3,), layers.Dense(2))
    with pytest.raises(ImportError, match=r"pip install \"eigennet\[onnx\]\""):
        model.export(str(tmp_path / "m.onnx"), format="onnx")
    assert not os.listdir(tmp_path)


def test_verbose_message_and_opset(tmp_path, capsys):
    model = sequential((3,), layers.Dense(2))
    path = tmp_path / "m.onnx"
    model.export(path, format="onnx", opset_version=17)
    assert f"Saved artifact at '{path}'." in capsys.readouterr().out
    assert onnx.load(str(path)).opset_import[0].version == 17
