"""Chains of layers and ops that the core runs as one native node (models/fusion.py), only in
the graph the core runs: a residual block's end, Dense (linear) → Add → activation (the Dense
layer's product with the residual added and the activation applied before the store), and an
einsum that is a matmul of flattened axes with its bias (MultiHeadAttention's projections, an
EinsumDense) as a DenseOp. They must train exactly as the unfused graph does, and chains that
are not those patterns must stay apart."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers
from eigennet.models import graph_builder
from gradient_check import assert_gradients_match_finite_differences


def _unfused(monkeypatch):
    monkeypatch.setattr(graph_builder.GraphBuilder, "native_fusions", False)


def _residual_model(width, end, seed=0, swap=False):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(width,))
    h = layers.Dense(width, activation="relu")(inputs)
    for _ in range(2):
        block = layers.Dense(width, activation="relu")(h)
        block = layers.Dense(width)(block)
        h = layers.Add()([h, block] if swap else [block, h])
        if end is not None:
            h = end()(h)
    model = keras.Model(inputs, layers.Dense(3, activation="softmax")(h))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(n, width, dtype="float32"):
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, width)).astype(dtype), rng.integers(0, 3, n)


def _node_count(model):
    return len(model._network_nodes())


def _train(model, x, y, batch):
    history = model.fit(x, y, batch_size=batch, epochs=3, verbose=0).history
    return history, model.get_weights(), model.predict(x, verbose=0)


def _assert_same_training(fused, plain):
    """The same history, weights and predictions (of _train), bit for bit."""
    assert fused[0] == plain[0]
    for a, b in zip(fused[1], plain[1], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fused[2], plain[2])


@pytest.fixture
def float64():
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx("float32")


ENDS = {
    "relu": layers.ReLU,
    "activation-gelu": lambda: layers.Activation("gelu"),
    "activation-tanh": lambda: layers.Activation("tanh"),
    "none": None,
}


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("end", sorted(ENDS))
@pytest.mark.parametrize("width, n, batch", [(40, 300, 64), (256, 768, 256)])
def test_fused_block_trains_bit_identically(monkeypatch, end, swap, width, n, batch):
    """Fused and unfused: the same history, weights and predictions, bit for bit (256 wide:
    products threaded, the kernel adding bias and residual in registers)."""
    x, y = _data(n, width)
    fused_model = _residual_model(width, ENDS[end], swap=swap)
    fused_nodes = _node_count(fused_model)
    fused = _train(fused_model, x, y, batch)
    _unfused(monkeypatch)
    plain_model = _residual_model(width, ENDS[end], swap=swap)
    plain = _train(plain_model, x, y, batch)
    # Each block's Dense, Add (and activation) became one node.
    assert fused_nodes == _node_count(plain_model) - 2 * (1 if end == "none" else 2)
    _assert_same_training(fused, plain)


def test_fused_block_under_mixed_bfloat16_trains_bit_identically(monkeypatch):
    """bf16 products (AVX512_BF16, AMX or the emulation) add bias and residual after the
    product, as the unfused layers do."""
    x, y = _data(384, 256)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        fused = _train(_residual_model(256, layers.ReLU), x, y, 128)
        _unfused(monkeypatch)
        plain = _train(_residual_model(256, layers.ReLU), x, y, 128)
    finally:
        keras.backend.clear_session()  # no policy set: later tests' layers follow floatx()
    _assert_same_training(fused, plain)


def test_fused_block_in_float64_matches_finite_differences(float64):
    model = _residual_model(6, layers.ReLU)
    x, y = _data(5, 6, "float64")
    assert_gradients_match_finite_differences(model, x, y)


def _not_fusable(kind):
    inputs = keras.Input(shape=(8,))
    h = layers.Dense(8, activation="relu")(inputs)
    if kind == "dense-activation":  # the Dense activates before the sum
        s = layers.Add()([layers.Dense(8, activation="tanh")(h), h])
    elif kind == "three-inputs":
        s = layers.Add()([layers.Dense(8)(h), h, h])
    elif kind == "broadcast":  # the residual is not of the output's shape
        s = layers.Add()([layers.Dense(8)(h), layers.Dense(1)(h)])
    elif kind == "regularized":  # the penalty is on the Dense's own output
        s = layers.Add()([layers.Dense(8, activity_regularizer="l2")(h), h])
    elif kind == "used-twice":  # the Dense's output is also read elsewhere
        d = layers.Dense(8)(h)
        s = layers.Concatenate()([layers.Add()([d, h]), d])
    else:
        raise AssertionError(kind)
    model = keras.Model(inputs, layers.Dense(2)(s))
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize(
    "kind", ["dense-activation", "three-inputs", "broadcast", "regularized", "used-twice"]
)
def test_other_chains_are_not_fused(monkeypatch, kind):
    nodes = _node_count(_not_fusable(kind))
    _unfused(monkeypatch)
    assert nodes == _node_count(_not_fusable(kind))


def test_a_clipped_relu_after_the_sum_stays_a_layer():
    """ReLU(max_value=6) is not the product's relu: only the Dense and the Add fuse."""
    inputs = keras.Input(shape=(8,))
    h = layers.Dense(8)(inputs)
    out = layers.ReLU(max_value=6.0)(layers.Add()([layers.Dense(8)(h), h]))
    model = keras.Model(inputs, out)
    kinds = [type(core).__name__ for core, _ in model._network_nodes()]
    assert kinds == ["Dense_float32", "Dense_float32", "ElementwiseActivation_float32"]
    x = np.full((2, 8), 10.0, "float32")
    assert model.predict(x, verbose=0).max() <= 6.0


def test_shared_dense_on_both_inputs_of_the_sum():
    """Add(dense(a), dense(b)) with one Dense: one call fuses, the other stays."""
    a, b = keras.Input((8,)), keras.Input((8,))
    dense = layers.Dense(4)
    model = keras.Model([a, b], layers.Add()([dense(a), dense(b)]))
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(3, 8)).astype("float32"), rng.normal(size=(3, 8)).astype("float32")
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(
        model.predict([xa, xb], verbose=0), xa @ kernel + xb @ kernel + 2 * bias, rtol=1e-5
    )
    assert _node_count(model) == 2


def test_onnx_export_keeps_the_layers(tmp_path):
    """The ONNX export writes each layer's own nodes (the fusion is the core's)."""
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = _residual_model(16, layers.ReLU)
    x, _ = _data(4, 16)
    path = str(tmp_path / "residual.onnx")
    model.export(path, format="onnx")
    session = onnxruntime.InferenceSession(path)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def _self_residual_model(width, seed=0):
    """h + Dense(h): the fused node reads one tensor as its input and as its residual."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(width,))
    h = layers.Dense(width, activation="tanh")(inputs)
    h = layers.ReLU()(layers.Add()([layers.Dense(width)(h), h]))
    model = keras.Model(inputs, layers.Dense(3, activation="softmax")(h))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("width, n, batch", [(12, 200, 50), (256, 512, 256)])
def test_a_dense_whose_input_is_its_residual(monkeypatch, width, n, batch):
    x, y = _data(n, width)
    fused = _train(_self_residual_model(width), x, y, batch)
    _unfused(monkeypatch)
    plain = _train(_self_residual_model(width), x, y, batch)
    _assert_same_training(fused, plain)


def test_a_dense_whose_input_is_its_residual_matches_finite_differences(float64):
    x, y = _data(5, 4, "float64")
    assert_gradients_match_finite_differences(_self_residual_model(4), x, y)


# -- einsum + bias -------------------------------------------------------------------------
def _attention_model(width=32, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(16, width))
    attended = layers.MultiHeadAttention(4, width // 4)(inputs, inputs)
    x = layers.LayerNormalization()(layers.Add()([inputs, attended]))
    x = layers.EinsumDense("abc,cd->abd", output_shape=(None, 2 * width), bias_axes="d")(x)
    pooled = layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, layers.Dense(2, activation="softmax")(pooled))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def _kinds(model):
    return [type(core).__name__ for core, _ in model._network_nodes()]


def test_einsum_projections_with_their_bias_train_bit_identically(monkeypatch):
    """MultiHeadAttention's four projections and the EinsumDense become DenseOps; training
    matches the einsum + add graph bit for bit."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(96, 16, 32)).astype("float32")
    y = rng.integers(0, 2, 96)
    fused_model = _attention_model()
    kinds = _kinds(fused_model)
    fused = _train(fused_model, x, y, 32)
    _unfused(monkeypatch)
    plain_model = _attention_model()
    assert kinds.count("DenseOp_float32") == 5 and "EinsumOp_float32" not in kinds
    assert _kinds(plain_model).count("EinsumOp_float32") == 5
    plain = _train(plain_model, x, y, 32)
    _assert_same_training(fused, plain)


def test_fused_einsum_in_float64_matches_finite_differences(float64):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(3, 4))
    x = layers.MultiHeadAttention(2, 2)(inputs, inputs)
    model = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(x)))
    model.compile(optimizer="sgd", loss="mse")
    assert "DenseOp_float64" in _kinds(model)
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 2))
    assert_gradients_match_finite_differences(model, xs, ys)


@pytest.mark.parametrize(
    "equation, bias_axes, output_shape, fuses",
    [
        ("abc,bcd->ad", "d", (5,), True),  # x's last two axes against the kernel's first two
        ("abc,cde->abde", "e", (None, 4, 3), False),  # the bias covers part of the output axes
        ("abc,dc->abd", "d", (None, 5), False),  # the kernel's contracted axis is not its first
    ],
)
def test_einsum_dense_forms(monkeypatch, equation, bias_axes, output_shape, fuses):
    keras.utils.set_random_seed(0)
    layer = layers.EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes)
    inputs = keras.Input(shape=(6, 8))
    model = keras.Model(inputs, layer(inputs))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 8)).astype("float32")
    kernel, bias = layer.get_weights()
    want = np.einsum(equation, x, kernel) + bias  # every bias here is on the last axis
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    assert ("DenseOp_float32" in _kinds(model)) == fuses
    fused_kinds = _kinds(model)
    _unfused(monkeypatch)
    assert (fused_kinds == _kinds(model)) != fuses


def test_a_fused_matmul_keeps_mixed_bfloat16_products(monkeypatch):
    """A custom layer's matmul + bias + relu under mixed_bfloat16 fuses into a DenseOp that
    computes in bfloat16 as the unfused ops do (the same predictions, bit for bit)."""

    class Projection(layers.Layer):
        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], 40), initializer="glorot_uniform")
            self.bias = self.add_weight(shape=(40,), initializer="random_normal")

        def call(self, x):
            return keras.ops.relu(keras.ops.matmul(x, self.kernel) + self.bias)

    def predict():
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(64,))
        model = keras.Model(inputs, Projection()(inputs))
        x = np.random.default_rng(0).normal(size=(8, 64)).astype("float32")
        return _kinds(model), model.predict(x, verbose=0)

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        kinds, fused = predict()
        _unfused(monkeypatch)
        monkeypatch.setattr(graph_builder, "dense_chains", lambda *a, **k: ({}, set()))
        plain_kinds, plain = predict()
    finally:
        keras.backend.clear_session()  # no policy set: later tests' layers follow floatx()
    assert "DenseOp_float32" in kinds and "DenseOp_float32" not in plain_kinds
    np.testing.assert_array_equal(fused, plain)
