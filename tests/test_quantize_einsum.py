"""quantize("int8") of EinsumDense and MultiHeadAttention (Keras quantizes the attention's
EinsumDense projections): the einsum's int8 product against a NumPy reference written on the
einsum itself, the native op against the eager call, and parity with Keras 3 on the same
weights (variables bit for bit, predictions, files both ways)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigennet as keras
from eigennet.layers.einsum_quantization import Int8Einsum

# (equation, output_shape, bias_axes, input shape without the batch)
EQUATIONS = [
    ("ab,bc->ac", 5, "c", (8,)),
    ("abc,cd->abd", (6, 5), "d", (6, 8)),
    ("abc,cde->abde", (6, 2, 4), "de", (6, 8)),  # MultiHeadAttention's query projection
    ("abcd,cde->abe", (6, 5), "e", (6, 2, 4)),  # and its output projection
    ("abc,bcd->ad", 5, "d", (6, 8)),  # two contracted axes, one free: Keras squeezes
    ("abc,cd->adb", (5, 6), "d", (6, 8)),  # the output's axes in another order
]
KERAS_FAILS = [  # Keras 3.15's _analyze_quantization_info fails on an ellipsis (given an int)
    ("...b,bc->...c", (5,), None, (3, 6, 8)),
    ("ab...,bc->ac...", (5, 7), "c", (8, 7)),
]


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(0)


def _close_to_float(after, before):
    """int8 products stay within a few percent of the float layer's outputs."""
    np.testing.assert_allclose(after, before, atol=0.03 * np.abs(before).max())


def _reference(equation, x, kernel_int8, kernel_scale_full):
    """Keras's int8 einsum computed on the einsum itself: x quantized per contracted slice,
    the integer einsum, divided by both scales; `kernel_scale_full` is laid out as the
    kernel with its contracted axes of size 1."""
    spec_in, rest = equation.split(",")
    spec_k, spec_out = rest.split("->")
    reduced = tuple(n for n, c in enumerate(spec_in) if c not in spec_out)
    x_scale = 127 / (np.max(np.abs(x), axis=reduced, keepdims=True) + np.float32(1e-7))
    q = np.clip(np.round(x * x_scale.astype(np.float32)), -127, 127).astype(np.int64)
    acc = np.einsum(equation, q, kernel_int8.astype(np.int64)).astype(np.float32)
    free_in = "".join(c for c in spec_in if c in spec_out)
    free_k = "".join(c for c in spec_k if c in spec_out)
    xs = np.einsum(f"{spec_in}->{free_in}", x_scale.astype(np.float32))
    ks = np.einsum(f"{spec_k}->{free_k}", kernel_scale_full)
    scale = np.einsum(f"{free_in},{free_k}->{spec_out}", xs, ks)
    return acc / scale


def _model(lib, equation, output_shape, bias_axes, shape, name="ed"):
    inputs = lib.Input(shape)
    layer = lib.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, name=name)
    return lib.Model(inputs, layer(inputs))


def _quantize(*models):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the InputLayer has no quantize(), as in Keras
        for model in models:
            model.quantize("int8")


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape", EQUATIONS + KERAS_FAILS)
def test_native_and_eager_products_match_the_reference(equation, output_shape, bias_axes, shape):
    model = _model(keras, equation, output_shape, bias_axes, shape)
    layer = model.get_layer("ed")
    rng = np.random.default_rng(0)
    float_kernel = layer.kernel.numpy()
    x = rng.normal(size=(5, *shape)).astype("float32")
    x[1] = 0.0  # an all-zero input: scale 127 / epsilon
    before = model.predict(x, verbose=0)
    _quantize(model)
    assert layer.quantization_mode == "int8"
    native, eager = model.predict(x, verbose=0), layer(x)
    np.testing.assert_array_equal(native, eager)
    _close_to_float(native, before)

    # the kernel, quantized over its contracted axes
    spec_k, spec_out = equation.split(",")[1].split("->")
    reduced = tuple(n for n, c in enumerate(spec_k) if c not in spec_out)
    full_scale = 127 / (np.max(np.abs(float_kernel), axis=reduced, keepdims=True) + 1e-7)
    expected = np.clip(np.round(float_kernel * full_scale), -127, 127).astype(np.int8)
    np.testing.assert_array_equal(layer.kernel.numpy(), expected)
    stored = layer.kernel_scale.numpy()
    assert stored.size == full_scale.size
    spelled = equation
    if "..." in equation:  # the reference spells the ellipsis out
        rank = len(shape) + 1
        letters = [c for c in "zyxw" if c not in equation]
        count = rank - len(equation.split(",")[0].replace("...", ""))
        spelled = equation.replace("...", "".join(letters[:count]))
    bias = layer.bias.numpy() if layer.bias is not None else 0.0
    reference = _reference(spelled, x, expected, full_scale.astype(np.float32)) + bias
    np.testing.assert_allclose(native, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape", EQUATIONS)
def test_einsum_dense_matches_keras(equation, output_shape, bias_axes, shape, tmp_path):
    theirs = pytest.importorskip("keras")
    k_model = _model(theirs, equation, output_shape, bias_axes, shape)
    e_model = _model(keras, equation, output_shape, bias_axes, shape)
    e_model.set_weights(k_model.get_weights())
    _quantize(k_model, e_model)
    k_layer, e_layer = k_model.get_layer("ed"), e_model.get_layer("ed")
    assert [v.name for v in e_layer.weights] == [v.name for v in k_layer.weights]
    for k_var, e_var in zip(k_layer.weights, e_layer.weights):
        k_value = np.asarray(k_var.numpy())
        assert e_var.dtype == k_value.dtype and e_var.trainable == k_var.trainable, e_var.name
        np.testing.assert_array_equal(e_var.numpy(), k_value, err_msg=e_var.name)
    x = np.random.default_rng(1).normal(size=(6, *shape)).astype("float32")
    ours = e_model.predict(x, verbose=0)
    np.testing.assert_array_equal(ours, k_model.predict(x, verbose=0))
    assert e_layer.get_config()["dtype"] == k_layer.get_config()["dtype"]

    e_model.save(tmp_path / "ours.keras")
    np.testing.assert_array_equal(
        theirs.saving.load_model(tmp_path / "ours.keras").predict(x, verbose=0), ours
    )
    k_model.save(tmp_path / "theirs.keras")
    loaded = keras.models.load_model(tmp_path / "theirs.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), ours)
    assert loaded.get_layer("ed").quantization_mode == "int8"


def test_training_after_quantize_matches_keras():
    """As Keras: the bias and the layers before train, through the dequantized kernel; the
    int8 kernel and its scale stay."""
    theirs = pytest.importorskip("keras")

    def build(lib):
        inputs = lib.Input((4, 6))
        x = lib.layers.Dense(8, activation="tanh", name="before")(inputs)
        x = lib.layers.EinsumDense("abc,cd->abd", (4, 3), bias_axes="d", name="ed")(x)
        return lib.Model(inputs, lib.layers.Flatten()(x))

    k_model, e_model = build(theirs), build(keras)
    e_model.set_weights(k_model.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in (k_model, e_model):
            m.get_layer("ed").quantize("int8")
    for m, lib in ((k_model, theirs), (e_model, keras)):
        m.compile(lib.optimizers.SGD(0.1), "mse")
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(32, 4, 6)).astype("float32"), rng.normal(size=(32, 12))
    kernel = e_model.get_layer("ed").kernel.numpy()
    fit = dict(epochs=2, batch_size=8, shuffle=False, verbose=0)
    h_e, h_k = e_model.fit(x, y, **fit).history, k_model.fit(x, y, **fit).history
    np.testing.assert_allclose(h_e["loss"], h_k["loss"], rtol=1e-5)
    for name in ("before", "ed"):
        for k_var, e_var in zip(k_model.get_layer(name).weights, e_model.get_layer(name).weights):
            np.testing.assert_allclose(
                e_var.numpy(), np.asarray(k_var.numpy()), rtol=1e-5, atol=1e-6
            )
    np.testing.assert_array_equal(e_model.get_layer("ed").kernel.numpy(), kernel)


def test_input_gradient_goes_through_the_dequantized_kernel():
    """Backward of the int8 product: dL/dx = dL/dy · (kernel / kernel_scale)ᵀ, checked with
    a layer before it whose kernel gradient shows it (float64 NumPy reference)."""
    inputs = keras.Input((3, 5))
    before = keras.layers.Dense(4, use_bias=False, name="before")
    ed = keras.layers.EinsumDense("abc,cde->abde", (3, 2, 2), name="ed")
    model = keras.Model(inputs, keras.layers.Flatten()(ed(before(inputs))))
    ed.quantize("int8")
    model.compile(keras.optimizers.SGD(1.0), "mse")
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(8, 3, 5)).astype("float32"), rng.normal(size=(8, 12))
    w = before.kernel.numpy().astype(np.float64)
    hidden = x @ w
    out = ed(hidden.astype("float32")).reshape(8, 12).astype(np.float64)
    grad_out = 2 * (out - y) / out.size
    dequantized = ed.kernel.numpy() / ed.kernel_scale.numpy().reshape(1, 2, 2)
    grad_hidden = np.einsum("abde,cde->abc", grad_out.reshape(8, 3, 2, 2), dequantized)
    expected = w - np.einsum("abi,abj->ij", x, grad_hidden)
    model.train_on_batch(x, y)
    np.testing.assert_allclose(before.kernel.numpy(), expected, rtol=1e-4, atol=1e-6)


def test_weights_config_and_round_trip(tmp_path):
    model = _model(keras, "abc,cd->abd", (6, 5), "d", (6, 8))
    layer = model.get_layer("ed")
    _quantize(model)
    assert [(v.name, v.dtype, v.shape, v.trainable) for v in layer.weights] == [
        ("bias", "float32", (5,), True),
        ("kernel", "int8", (8, 5), False),
        ("kernel_scale", "float32", (1, 1, 5), False),
    ]
    config = layer.get_config()
    assert config["dtype"]["class_name"] == "QuantizedDTypePolicy"
    assert config["quantization_config"]["class_name"] == "Int8QuantizationConfig"
    again = keras.layers.EinsumDense.from_config(config)
    again.build((None, 6, 8))
    assert [(v.name, v.dtype, v.shape) for v in again.weights] == [
        (v.name, v.dtype, v.shape) for v in layer.weights
    ]
    x = np.random.default_rng(2).normal(size=(4, 6, 8)).astype("float32")
    model.save(tmp_path / "q.keras")
    loaded = keras.models.load_model(tmp_path / "q.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_sequential_nested_and_layer_alone():
    """The trace a Sequential model runs, a call inside a custom layer, and a layer quantized
    on its own inside a built model: each runs the int8 product afterwards."""

    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.proj = keras.layers.EinsumDense("abc,cd->abd", (6, 4), bias_axes="d")

        def call(self, x):
            return self.proj(x) * 2.0

    x = np.random.default_rng(3).normal(size=(5, 6, 8)).astype("float32")
    plain = keras.layers.EinsumDense("abc,cd->abd", (6, 4))
    sequential = keras.Sequential([keras.Input((6, 8)), plain])
    nested = keras.Sequential([keras.Input((6, 8)), Block()])
    for model, layer in ((sequential, plain), (nested, nested.layers[0].proj)):
        before = model.predict(x, verbose=0)
        _quantize(model)
        assert layer.quantization_mode == "int8"
        after = model.predict(x, verbose=0)
        assert not np.array_equal(after, before)
        _close_to_float(after, before)
    model = _model(keras, "abc,cd->abd", (6, 5), "d", (6, 8))
    before = model.predict(x, verbose=0)
    model.get_layer("ed").quantize("int8")
    after = model.predict(x, verbose=0)
    np.testing.assert_array_equal(after, model.get_layer("ed")(x))
    assert not np.array_equal(after, before)


def test_unsupported_equation_stays_float():
    """An axis shared by the input, the kernel and the output is not a matrix product: the
    layer refuses, and model.quantize warns and leaves it in float (as for layers without
    quantize)."""
    model = _model(keras, "abcd,cdb->ab", (6,), None, (6, 3, 4))
    layer = model.get_layer("ed")
    with pytest.raises(NotImplementedError, match="einsum 'abcd,cdb->ab' is not supported"):
        layer.quantize("int8")
    with pytest.warns(UserWarning, match="abcd,cdb->ab"):
        model.quantize("int8")
    assert layer.quantization_mode is None and layer.kernel.dtype == "float32"


def test_bad_input_and_errors(tmp_path):
    model = _model(keras, "abc,cd->abd", (6, 5), "d", (6, 8))
    layer = model.get_layer("ed")
    _quantize(model)
    x = np.ones((3, 6, 8), np.float32)
    x[2, 1, 3] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf \(first at sample 2\)"):
        model.predict(x, verbose=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        layer(x)
    with pytest.raises(ValueError, match="int8 variable ed/kernel: values must be whole"):
        layer.kernel.assign(np.full((8, 5), 0.5))
    with pytest.raises(ValueError, match="whole numbers in \\[-128, 127\\]"):
        layer.kernel.assign(np.full((8, 5), 300))
    with pytest.raises(ValueError, match="already quantized"):
        layer.quantize("int8")
    with pytest.raises(ValueError, match="EinsumDense\\(quantization_config=...\\) is not"):
        keras.layers.EinsumDense("ab,bc->ac", 3, quantization_config={"class_name": "X"})
    pytest.importorskip("onnx")
    with pytest.raises(NotImplementedError, match="cannot be exported to ONNX: its op 'int8_"):
        model.export(tmp_path / "q.onnx", format="onnx")
    assert not (tmp_path / "q.onnx").exists()


def test_int8_weights_of_custom_layers():
    """add_weight(dtype="int8") (Keras's signature): whole numbers, read back as int8, never
    trainable."""

    class Lookup(keras.layers.Layer):
        def build(self, input_shape):
            self.table = self.add_weight(
                shape=(input_shape[-1],), initializer="zeros", dtype="int8", trainable=False
            )

        def call(self, x):
            return x * self.table

    layer = Lookup()
    layer.build((None, 3))
    layer.table.assign(np.array([1, -2, 3], np.int8))
    assert layer.table.dtype == "int8" and layer.table.numpy().dtype == np.int8
    np.testing.assert_array_equal(layer(np.ones((2, 3), np.float32)), [[1, -2, 3]] * 2)
    with pytest.raises(ValueError, match="an int8 weight cannot be trainable"):
        keras.layers.Layer().add_weight(shape=(2,), dtype="int8")


# -- MultiHeadAttention ------------------------------------------------------------------------
MHA_CASES = [
    ((6, 8), {}),
    ((6, 8), {"use_bias": False, "output_shape": (3, 2)}),
    ((2, 3, 8), {}),  # two attention axes: Keras's scales have one more axis
    ((6, 8), {"use_gate": True}),
]


def _mha_model(lib, shape, kwargs):
    inputs = lib.Input(shape)
    layer = lib.layers.MultiHeadAttention(2, 4, name="mha", **kwargs)
    return lib.Model(inputs, layer(inputs, inputs))


@pytest.mark.parametrize("shape,kwargs", MHA_CASES)
def test_attention_matches_keras(shape, kwargs, tmp_path):
    theirs = pytest.importorskip("keras")
    k_model, e_model = _mha_model(theirs, shape, kwargs), _mha_model(keras, shape, kwargs)
    e_model.set_weights(k_model.get_weights())
    _quantize(k_model, e_model)
    theirs_vars = {v.path: np.asarray(v.numpy()) for v in k_model.weights}
    ours = {v.path: v for v in e_model.weights}
    assert sorted(ours) == sorted(theirs_vars)
    for path, value in theirs_vars.items():
        assert ours[path].dtype == value.dtype, path
        np.testing.assert_array_equal(ours[path].numpy(), value, err_msg=path)
    x = np.random.default_rng(6).normal(size=(4, *shape)).astype("float32")
    predicted = e_model.predict(x, verbose=0)
    np.testing.assert_allclose(predicted, k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    layer = e_model.get_layer("mha")
    np.testing.assert_allclose(layer(x, x), predicted, rtol=1e-5, atol=1e-6)
    assert layer.quantization_mode == "int8"
    assert all(w.name.endswith("bias") for w in layer.trainable_weights)
    e_model.save(tmp_path / "q.keras")
    loaded = keras.models.load_model(tmp_path / "q.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), predicted)


def test_we_load_a_transformer_keras_quantized(tmp_path):
    """Keras saves a quantized MultiHeadAttention with its float dtype policy (and cannot load
    the file itself); eigennet reads the projections' scales and loads it."""
    theirs = pytest.importorskip("keras")

    def build(lib):
        inputs = lib.Input((6, 8))
        x = lib.layers.MultiHeadAttention(2, 4)(inputs, inputs)
        x = lib.layers.LayerNormalization()(lib.layers.Add()([x, inputs]))
        return lib.Model(inputs, lib.layers.Dense(3)(lib.layers.GlobalAveragePooling1D()(x)))

    k_model = build(theirs)
    _quantize(k_model)
    x = np.random.default_rng(7).normal(size=(5, 6, 8)).astype("float32")
    k_model.save(tmp_path / "theirs.keras")
    loaded = keras.models.load_model(tmp_path / "theirs.keras")
    assert loaded.layers[1].quantization_mode == "int8"
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )


def test_plan_refuses_batch_axes():
    with pytest.raises(NotImplementedError, match="shares an axis"):
        Int8Einsum("abc,bcd->abd", 3, "EinsumDense 'x'")
