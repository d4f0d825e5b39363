"""keras.ops inside models (issue 14): every op computes the same result eagerly on NumPy
arrays as when it is recorded on symbolic tensors and run by the native graph
(`keras.Model(Input, op(...)).predict`), and the eager results equal NumPy / Keras's
formulas."""

import math

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops

RNG = np.random.default_rng(1414)
B = 5  # the batch of every case; predict runs it as one batch
W3 = RNG.normal(size=(3,)).astype("float32")  # a batchless operand broadcast over the batch
W34 = RNG.normal(size=(3, 4)).astype("float32")
W43 = RNG.normal(size=(4, 3)).astype("float32")
IDX = np.array([2, 0, 1, 2])


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _attention(q, k, v):
    scores = np.einsum("btnh,bsnh->bnts", q, k) / math.sqrt(q.shape[-1])
    return np.einsum("bnts,bsnh->btnh", _softmax(scores), v)


K1 = RNG.normal(size=(3, 3, 4)).astype("float32")
K2 = RNG.normal(size=(2, 2, 3, 4)).astype("float32")
KD = RNG.normal(size=(3, 2, 3, 2)).astype("float32")


def _positions(n, k, s, padding, d=1):
    """(input index or None, per tap) of each output position along one axis (TensorFlow's
    'same': the odd padding after the data)."""
    span = d * (k - 1) + 1
    out = -(-n // s) if padding == "same" else (n - span) // s + 1
    pad = max(0, (out - 1) * s + span - n) // 2 if padding == "same" else 0
    return [[o * s - pad + t * d if 0 <= o * s - pad + t * d < n else None for t in range(k)]
            for o in range(out)]  # fmt: skip


def _axes_positions(x, window, strides, padding, dilation=None):
    rank = len(window)
    strides = (strides,) * rank if isinstance(strides, int) else strides
    dilation = dilation or (1,) * rank
    return [
        _positions(x.shape[1 + a], window[a], strides[a], padding, dilation[a]) for a in range(rank)
    ]


def _conv_reference(x, k, strides, padding, dilation=None, depthwise=False):
    rank = x.ndim - 2
    axes = _axes_positions(x, k.shape[:rank], strides, padding, dilation)
    out_channels = k.shape[-2] * k.shape[-1] if depthwise else k.shape[-1]
    y = np.zeros((len(x), *[len(p) for p in axes], out_channels))
    for o in np.ndindex(*[len(p) for p in axes]):
        for tap in np.ndindex(*k.shape[:rank]):
            idx = [axes[a][o[a]][tap[a]] for a in range(rank)]
            if None in idx:
                continue
            v = x[(slice(None), *idx)]
            contribution = (v[:, :, None] * k[tap]).reshape(len(x), -1) if depthwise else v @ k[tap]
            y[(slice(None), *o)] += contribution
    return y


def _pool_reference(x, reduce, window, strides, padding):
    rank = x.ndim - 2
    axes = _axes_positions(x, window, strides, padding)
    y = np.zeros((len(x), *[len(p) for p in axes], x.shape[-1]))
    for o in np.ndindex(*[len(p) for p in axes]):
        values = [
            x[(slice(None), *idx)]
            for idx in __import__("itertools").product(*[axes[a][o[a]] for a in range(rank)])
            if None not in idx
        ]
        y[(slice(None), *o)] = reduce(np.stack(values), axis=0)
    return y


# id -> (the op on the inputs, the NumPy reference, the inputs' shapes without the batch)
CASES = {
    # element-wise unary
    "abs": (ops.abs, np.abs, [(3, 4)]),
    "negative": (ops.negative, np.negative, [(3, 4)]),
    "square": (ops.square, np.square, [(3, 4)]),
    "sqrt_of_abs": (lambda x: ops.sqrt(ops.abs(x) + 0.1), lambda x: np.sqrt(abs(x) + 0.1), [(4,)]),
    "exp": (ops.exp, np.exp, [(3, 4)]),
    "log_of_square": (lambda x: ops.log(ops.square(x) + 1.0), lambda x: np.log(x * x + 1), [(4,)]),
    "log1p_expm1": (lambda x: ops.log1p(ops.expm1(x)), lambda x: x, [(4,)]),
    "sin_cos": (lambda x: ops.sin(x) * ops.cos(x), lambda x: np.sin(x) * np.cos(x), [(4,)]),
    "tanh": (ops.tanh, np.tanh, [(3, 4)]),
    "sigmoid": (ops.sigmoid, lambda x: 1 / (1 + np.exp(-x)), [(3, 4)]),
    "relu": (ops.relu, lambda x: np.maximum(x, 0), [(3, 4)]),
    "relu6": (lambda x: ops.relu6(x * 4), lambda x: np.clip(x * 4, 0, 6), [(6,)]),
    "leaky_relu": (
        lambda x: ops.leaky_relu(x, negative_slope=0.1),
        lambda x: np.where(x > 0, x, 0.1 * x),
        [(6,)],
    ),
    "elu": (ops.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1), [(6,)]),
    "softplus": (ops.softplus, lambda x: np.log1p(np.exp(x)), [(6,)]),
    "softsign": (ops.softsign, lambda x: x / (1 + abs(x)), [(6,)]),
    "silu": (ops.silu, lambda x: x / (1 + np.exp(-x)), [(6,)]),
    "gelu_tanh": (
        ops.gelu,  # approximate=True is Keras's default
        lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
        [(6,)],
    ),
    "sign_floor_ceil_round": (
        lambda x: ops.sign(x) + ops.floor(x * 3) + ops.ceil(x * 3) + ops.round(x * 3),
        lambda x: np.sign(x) + np.floor(x * 3) + np.ceil(x * 3) + np.round(x * 3),
        [(6,)],
    ),
    # element-wise binary, with broadcasting, constants and batchless weights
    "add_broadcast": (ops.add, np.add, [(3, 4), (1, 4)]),
    "subtract_constant": (lambda x: ops.subtract(2.0, x), lambda x: 2.0 - x, [(3, 4)]),
    "multiply_batchless": (lambda x: ops.multiply(x, W3), lambda x: x * W3, [(4, 3)]),
    "divide_batchless": (
        lambda x: ops.divide(x, ops.abs(W3) + 1.0),
        lambda x: x / (abs(W3) + 1),
        [(2, 3)],
    ),
    "power": (lambda x: ops.power(ops.abs(x) + 0.5, 3.0), lambda x: (abs(x) + 0.5) ** 3, [(4,)]),
    "maximum_minimum": (
        lambda x, y: ops.maximum(x, y) - ops.minimum(x, 0.2),
        lambda x, y: np.maximum(x, y) - np.minimum(x, 0.2),
        [(3, 4), (3, 1)],
    ),
    "operators": (
        lambda x, y: (x + y) * 2.0 - y / 4.0 + (-x) ** 2,
        lambda x, y: (x + y) * 2.0 - y / 4.0 + x**2,
        [(3,), (3,)],
    ),
    # reductions
    "sum_axis": (lambda x: ops.sum(x, axis=1), lambda x: x.sum(axis=1), [(3, 4)]),
    "mean_keepdims": (
        lambda x: ops.mean(x, axis=-1, keepdims=True),
        lambda x: x.mean(axis=-1, keepdims=True),
        [(3, 4)],
    ),
    "max_min_axes": (
        lambda x: ops.max(x, axis=(1, 2)) - ops.min(x, axis=2)[:, 0],
        lambda x: x.max(axis=(1, 2)) - x.min(axis=2)[:, 0],
        [(3, 4)],
    ),
    "prod": (lambda x: ops.prod(x, axis=-1), lambda x: x.prod(axis=-1), [(3, 4)]),
    "std_var": (
        lambda x: ops.std(x, axis=-1) + ops.var(x, axis=1),
        lambda x: x.std(axis=-1) + x.var(axis=1),
        [(4, 4)],
    ),
    "logsumexp": (
        lambda x: ops.logsumexp(x, axis=-1),
        lambda x: np.log(np.exp(x).sum(axis=-1)),
        [(3, 4)],
    ),
    "norm": (lambda x: ops.norm(x, axis=-1), lambda x: np.linalg.norm(x, axis=-1), [(3, 4)]),
    "mean_over_the_batch": (  # centering across the batch, as a normalization layer would
        lambda x: x - ops.mean(x, axis=0, keepdims=True),
        lambda x: x - x.mean(axis=0, keepdims=True),
        [(4,)],
    ),
    "sum_over_the_batch": (
        lambda x: x / ops.sum(ops.abs(x), axis=0),
        lambda x: x / abs(x).sum(axis=0),
        [(4,)],
    ),
    "softmax": (lambda x: ops.softmax(x, axis=-1), _softmax, [(3, 4)]),
    "softmax_axis1": (
        lambda x: ops.softmax(x, axis=1),
        lambda x: _softmax(x, axis=1),
        [(3, 4)],
    ),
    "log_softmax": (
        lambda x: ops.log_softmax(x, axis=-1),
        lambda x: np.log(_softmax(x)),
        [(3, 4)],
    ),
    "cumsum": (lambda x: ops.cumsum(x, axis=-1), lambda x: np.cumsum(x, axis=-1), [(3, 4)]),
    # linear algebra
    "matmul_weight": (lambda x: ops.matmul(x, W34), lambda x: x @ W34, [(2, 3)]),
    "matmul_batched": (ops.matmul, np.matmul, [(2, 3), (3, 4)]),
    "matmul_operator": (lambda x, y: x @ y, np.matmul, [(2, 3), (3, 4)]),
    "matmul_transposed": (
        lambda x, y: ops.matmul(x, ops.transpose(y, (0, 2, 1))),
        lambda x, y: x @ y.transpose(0, 2, 1),
        [(2, 3), (4, 3)],
    ),
    "einsum_attention_scores": (
        lambda q, k: ops.einsum("btnh,bsnh->bnts", q, k),
        lambda q, k: np.einsum("btnh,bsnh->bnts", q, k),
        [(3, 2, 4), (5, 2, 4)],
    ),
    "einsum_dense": (
        lambda x: ops.einsum("btd,de->bte", x, W34),
        lambda x: np.einsum("btd,de->bte", x, W34),
        [(2, 3)],
    ),
    "tensordot": (
        lambda x: ops.tensordot(x, W43, axes=1),
        lambda x: np.tensordot(x, W43, axes=1),
        [(4,)],
    ),
    # Batch axes contracted together (keras-io's recommender): a batch-wide sum, added here
    # to a batched term so that the model's output keeps one row per sample.
    "tensordot_over_the_batch": (
        lambda x, y: ops.tensordot(x, y, 2) + ops.sum(x, axis=1, keepdims=True),
        lambda x, y: np.tensordot(x, y, 2) + x.sum(1, keepdims=True),
        [(4,), (4,)],
    ),
    "dot": (lambda x: ops.dot(x, W43), lambda x: np.dot(x, W43), [(4,)]),
    # shapes
    "reshape": (lambda x: ops.reshape(x, (-1, 2, 6)), lambda x: x.reshape(-1, 2, 6), [(3, 4)]),
    "expand_dims_squeeze": (
        lambda x: ops.squeeze(ops.expand_dims(x, 1), axis=1) + ops.expand_dims(x, -1)[..., 0],
        lambda x: 2 * x,
        [(3, 4)],
    ),
    "transpose": (
        lambda x: ops.transpose(x, (0, 2, 1, 3)),
        lambda x: x.transpose(0, 2, 1, 3),
        [(2, 3, 4)],
    ),
    "concatenate": (
        lambda x, y: ops.concatenate([x, y, x], axis=1),
        lambda x, y: np.concatenate([x, y, x], axis=1),
        [(2, 4), (3, 4)],
    ),
    "stack": (
        lambda x, y: ops.stack([x, y], axis=1),
        lambda x, y: np.stack([x, y], axis=1),
        [(3,), (3,)],
    ),
    "split": (
        lambda x: ops.split(x, 2, axis=-1)[1] - ops.split(x, [1], axis=1)[1][..., :2],
        lambda x: np.split(x, 2, axis=-1)[1] - np.split(x, [1], axis=1)[1][..., :2],
        [(2, 4)],
    ),
    "repeat": (lambda x: ops.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, axis=1), [(3, 2)]),
    "tile": (lambda x: ops.tile(x, (1, 2, 3)), lambda x: np.tile(x, (1, 2, 3)), [(3, 2)]),
    "broadcast_to": (
        lambda x: ops.broadcast_to(ops.expand_dims(x, 1), (ops.shape(x)[0], 3, 4)),
        lambda x: np.broadcast_to(x[:, None], (B, 3, 4)),
        [(4,)],
    ),
    "pad": (
        lambda x: ops.pad(x, ((0, 0), (1, 2), (0, 1))),
        lambda x: np.pad(x, ((0, 0), (1, 2), (0, 1))),
        [(3, 2)],
    ),
    "take": (
        lambda x: ops.take(x, IDX, axis=1),
        lambda x: np.take(x, IDX, axis=1),
        [(3, 2)],
    ),
    "take_along_axis": (
        lambda x: ops.take_along_axis(x, IDX[None, :3], axis=1),
        lambda x: np.take_along_axis(x, IDX[None, :3], axis=1),
        [(3,)],
    ),
    "get_item": (
        lambda x: x[:, 1:3, ::2] + x[:, 0:1, 1::2] * x[:, -1, None, :2],
        lambda x: x[:, 1:3, ::2] + x[:, 0:1, 1::2] * x[:, -1, None, :2],
        [(4, 4)],
    ),
    "get_item_int_and_ellipsis": (
        lambda x: x[..., 0] + x[:, 2],
        lambda x: x[..., 0] + x[:, 2],
        [(3, 3)],
    ),
    "where": (
        lambda x, y: ops.where(x > y, x, y * 0.5),
        lambda x, y: np.where(x > y, x, y * 0.5),
        [(3, 4), (1, 4)],
    ),
    "clip": (lambda x: ops.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), [(3, 4)]),
    "one_hot": (
        lambda x: ops.one_hot(ops.argmax(x, axis=-1), 4),
        lambda x: np.eye(4)[x.argmax(axis=-1)],
        [(3, 4)],
    ),
    "dot_product_attention": (
        ops.dot_product_attention,
        _attention,
        [(3, 2, 4), (6, 2, 4), (6, 2, 4)],
    ),
    # convolution and pooling: the kernel a batchless operand (see _conv_reference)
    "conv1d_same_strided": (
        lambda x: ops.conv(x, K1, strides=2, padding="same"),
        lambda x: _conv_reference(x, K1, 2, "same"),
        [(7, 3)],
    ),
    "conv2d_valid_dilated": (
        lambda x: ops.conv(x, K2, dilation_rate=(2, 1)),
        lambda x: _conv_reference(x, K2, 1, "valid", dilation=(2, 1)),
        [(6, 5, 3)],
    ),
    "depthwise_conv2d_same": (
        lambda x: ops.depthwise_conv(x, KD, strides=(1, 2), padding="same"),
        lambda x: _conv_reference(x, KD, (1, 2), "same", depthwise=True),
        [(5, 6, 3)],
    ),
    "max_pool2d_same": (
        lambda x: ops.max_pool(x, 2, strides=1, padding="same"),
        lambda x: _pool_reference(x, np.max, (2, 2), (1, 1), "same"),
        [(4, 5, 3)],
    ),
    "average_pool1d_same": (
        lambda x: ops.average_pool(x, 3, strides=2, padding="same"),
        lambda x: _pool_reference(x, np.mean, (3,), (2,), "same"),
        [(7, 2)],
    ),
    "max_pool1d_valid": (
        lambda x: ops.max_pool(x, 2),
        lambda x: _pool_reference(x, np.max, (2,), (2,), "valid"),
        [(7, 2)],
    ),
    "average_pool2d_valid": (
        lambda x: ops.average_pool(x, (2, 3), strides=(2, 1)),
        lambda x: _pool_reference(x, np.mean, (2, 3), (2, 1), "valid"),
        [(5, 6, 2)],
    ),
}


def _data(shapes):
    return [RNG.normal(size=(B, *s)).astype("float32") for s in shapes]


def _traced(fn, arrays):
    inputs = [keras.Input(a.shape[1:]) for a in arrays]
    model = keras.Model(inputs if len(inputs) > 1 else inputs[0], fn(*inputs))
    return model.predict(arrays if len(arrays) > 1 else arrays[0], batch_size=B, verbose=0)


@pytest.mark.parametrize("case", list(CASES))
def test_eager_result_equals_traced_result(case):
    fn, _, shapes = CASES[case]
    arrays = _data(shapes)
    eager = np.asarray(fn(*arrays))
    traced = _traced(fn, arrays)
    assert traced.shape == eager.shape
    np.testing.assert_allclose(traced, eager, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_eager_result_equals_numpy(case):
    fn, reference, shapes = CASES[case]
    arrays = _data(shapes)
    got = fn(*arrays)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, reference(*arrays), rtol=1e-5, atol=1e-6)


# -- inside a custom layer: the weights of add_weight are batchless operands ------------------
class Affine(layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="random_normal")
        self.table = self.add_weight(shape=(input_shape[-1], 3), initializer="random_normal")

    def call(self, x):
        z = ops.exp(self.scale) * x + ops.sum(self.table, axis=-1)
        logits = ops.matmul(z, self.table)
        return ops.log_softmax(logits - ops.mean(logits, axis=0), axis=-1)


def test_ops_on_weights_inside_a_custom_layer_eager_equals_traced():
    layer = Affine()
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layer(inputs))
    x = RNG.normal(size=(B, 4)).astype("float32")
    scale, table = layer.scale.numpy(), layer.table.numpy()
    z = np.exp(scale) * x + table.sum(axis=-1)
    logits = z @ table
    logits = logits - logits.mean(axis=0)
    expected = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    np.testing.assert_allclose(layer(x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(x, batch_size=B, verbose=0), expected, 1e-5, 1e-6)


def test_shape_of_a_symbolic_tensor_gives_the_static_dims():
    x = keras.Input((3, 4))
    assert tuple(x.shape) == (None, 3, 4)
    assert ops.shape(x)[1:] == (3, 4)
    assert ops.shape(np.zeros((2, 3))) == (2, 3)


# -- a convolution layer written with ops.conv and add_weight ---------------------------------
class OpsConv2D(layers.Layer):
    """A Conv2D with its kernel made by add_weight, then a depthwise conv and a pool."""

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(2, 2, input_shape[-1], 3), initializer="glorot_uniform"
        )
        self.depthwise = self.add_weight(shape=(2, 1, 3, 2), initializer="glorot_uniform")

    def call(self, x):
        h = ops.relu(ops.conv(x, self.kernel, padding="same"))
        h = ops.depthwise_conv(h, self.depthwise, strides=(1, 2))
        return ops.average_pool(ops.max_pool(h, 2, strides=1), 2, padding="same")


def test_a_conv_layer_made_of_ops_trains_and_matches_finite_differences():
    from gradient_check import assert_gradients_match_finite_differences

    keras.config.set_floatx("float64")
    try:
        inputs = keras.Input((5, 6, 2))
        layer = OpsConv2D()
        outputs = layers.Dense(1)(ops.reshape(layer(inputs), (-1, 2 * 1 * 6)))
        model = keras.Model(inputs, outputs)
        x, y = RNG.normal(size=(4, 5, 6, 2)), RNG.normal(size=(4, 1))
        np.testing.assert_allclose(layer(x).shape, (4, 2, 1, 6))
        model.compile(optimizer="adam", loss="mse")
        assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)
        before = model.evaluate(x, y, verbose=0)
        model.fit(x, y, epochs=30, batch_size=4, verbose=0)
        assert model.evaluate(x, y, verbose=0) < before
        traced = model.predict(x, verbose=0)
        eager = model.layers[-1](np.reshape(layer(x), (4, -1)))
        np.testing.assert_allclose(traced, eager, rtol=1e-10, atol=1e-10)
    finally:
        keras.config.set_floatx("float32")


def test_conv_ops_bad_arguments():
    x = keras.Input((5, 3))
    with pytest.raises(ValueError, match="kernel"):
        ops.conv(x, np.zeros((2, 4, 1), dtype="float32"))
    with pytest.raises(ValueError, match="channels_last"):
        ops.conv(np.zeros((1, 5, 3)), np.zeros((2, 3, 1)), data_format="channels_first")
    with pytest.raises(ValueError, match="padding"):
        ops.max_pool(x, 2, padding="causal")
    with pytest.raises(ValueError, match="1-D and 2-D"):
        ops.average_pool(np.zeros((1, 2, 2, 2, 1)), 2)
    with pytest.raises(ValueError, match="dilation_rate"):
        ops.conv(np.zeros((1, 9, 3)), np.zeros((2, 3, 1)), strides=2, dilation_rate=2)


# -- dot_product_attention: fused without bias, with a mask shared by the heads -------------
def _reference_attention(q, k, v, scale=None, is_causal=False, mask=None, bias=None):
    groups = q.shape[2] // k.shape[2]
    k, v = np.repeat(k, groups, axis=2), np.repeat(v, groups, axis=2)
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = np.einsum("btnh,bsnh->bnts", q, k) * scale
    if bias is not None:
        scores = scores + bias
    keep = np.ones(scores.shape[-2:], dtype=bool)
    if is_causal:
        keep = np.tril(keep)
    if mask is not None:
        keep = keep & mask
    return np.einsum("bnts,bsnh->btnh", _softmax(np.where(keep, scores, -1e9)), v)


MASK = RNG.random((4, 6)) > 0.3
MASK[:, 0] = True
BIAS = RNG.normal(size=(1, 2, 4, 6)).astype("float32")


@pytest.mark.parametrize(
    "kwargs, fused",
    [
        ({}, True),
        ({"is_causal": True}, True),
        ({"scale": 0.3, "is_causal": True}, True),
        ({"mask": MASK}, True),
        ({"mask": MASK[None, None], "is_causal": True}, True),
        ({"mask": np.stack([MASK, ~MASK])[None]}, False),  # a mask per head: unfused
        ({"bias": BIAS, "is_causal": True}, False),
    ],
    ids=["plain", "causal", "scale_causal", "mask", "mask_causal", "mask_per_head", "bias_causal"],
)
@pytest.mark.parametrize("kv_heads", [2, 1], ids=["mha", "gqa"])
def test_dot_product_attention_traced_equals_eager(kwargs, fused, kv_heads):
    shapes = [(4, 2, 3), (6, kv_heads, 3), (6, kv_heads, 5)]
    arrays = _data(shapes)
    inputs = [keras.Input(s) for s in shapes]
    out = ops.dot_product_attention(*inputs, **kwargs)
    assert (type(out._node.layer._core).__name__ == "DotProductAttentionOp_float32") == fused
    model = keras.Model(inputs, out)
    traced = model.predict(arrays, batch_size=B, verbose=0)
    eager = ops.dot_product_attention(*arrays, **kwargs)
    assert traced.shape == eager.shape == (B, 4, 2, 5)
    np.testing.assert_allclose(traced, eager, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eager, _reference_attention(*arrays, **kwargs), rtol=1e-5, atol=1e-6)


class _Comparisons(layers.Layer):
    """x == 0 and x != 0 as Keras users write them in call() (Keras runs call() on real
    tensors, where they compare element by element)."""

    def call(self, x):
        return ops.concatenate(
            [
                ops.cast(x == 0.0, "float32"),
                ops.cast(x != 0.0, "float32"),
                ops.cast(x == x, "float32"),
            ],
            axis=-1,
        )


def test_equality_operators_compare_element_wise_in_a_traced_call():
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]], dtype="float32")
    inputs = keras.Input((3,))
    model = keras.Model(inputs, _Comparisons()(inputs))
    expected = np.concatenate([x == 0, x != 0, np.ones_like(x, bool)], axis=-1).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)
    np.testing.assert_array_equal(_Comparisons()(x), expected)  # eager, on arrays


def test_equality_in_a_traced_metric_counts_matches():
    class Matches(keras.metrics.Metric):
        def __init__(self, name="matches", **kwargs):
            super().__init__(name=name, **kwargs)
            self.count = self.add_variable(shape=(), name="count", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            predicted = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
            same = ops.cast(y_true, "int32") == ops.cast(predicted, "int32")
            self.count.assign_add(ops.sum(ops.cast(same, "float32")))

        def result(self):
            return self.count

    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(4, activation="softmax")(inputs))
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=[Matches()])
    x = RNG.normal(size=(16, 4)).astype("float32")
    y = RNG.integers(0, 4, size=(16, 1))
    logs = model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0).argmax(1)
    assert logs["matches"] == float((predicted == y[:, 0]).sum())


def test_symbolic_tensors_keep_identity_equality_outside_a_trace():
    a, b = keras.Input((2,)), keras.Input((2,))
    assert a == a and not (a == b)
    assert a in [b, a] and len({a, b, a}) == 2 and {a: 1}[a] == 1
    difference = a != b  # element-wise, as Keras's KerasTensor
    model = keras.Model([a, b], ops.cast(difference, "float32"))
    out = model.predict([np.array([[1.0, 2.0]]), np.array([[1.0, 3.0]])], verbose=0)
    np.testing.assert_array_equal(out, [[0.0, 1.0]])
