"""model.quantize("int8") (Keras 3's int8 quantization of Dense and Embedding): the int8
product against NumPy on both kernels (AVX512-VNNI and the C++ reference), the quantized
layers against Keras on the same weights, a trained classifier's argmax, saving, training
after quantization and the errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import eigennet as keras
from eigennet import _core

KERNELS = ["reference", "vnni", "amx"]


def _supported(kernel: str) -> bool:
    return kernel == "reference" or getattr(_core, f"int8_{kernel}_supported")()


def _kernel_or_skip(kernel: str) -> str:
    if not _supported(kernel):
        pytest.skip(f"this CPU has no int8 {kernel} kernel")
    return kernel


# -- the int8 product ----------------------------------------------------------------------
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(
    "m,k,n",
    [
        (1, 1, 1),
        (5, 7, 3),
        (4, 4, 16),
        (9, 17, 65),
        (37, 130, 77),
        (64, 784, 256),
        (3, 0, 5),
        # VNNI: uneven blocks of K, several row chunks per thread, a last 16-column panel
        (301, 1030, 48),
        (200, 513, 33),
    ],
)
def test_int8_gemm_matches_numpy(kernel, m, k, n):
    kernel = _kernel_or_skip(kernel)
    rng = np.random.default_rng(m * 1000 + k + n)
    a = rng.integers(-128, 128, (m, k)).astype(np.int8)
    b = rng.integers(-128, 128, (k, n)).astype(np.int8)
    c = _core.int8_gemm(a, b, kernel)
    assert c.dtype == np.int32
    np.testing.assert_array_equal(c, a.astype(np.int64) @ b.astype(np.int64))


@pytest.mark.parametrize("kernel", KERNELS)
def test_int8_gemm_extremes_do_not_saturate(kernel):
    kernel = _kernel_or_skip(kernel)
    for va, vb in ((-128, -128), (-128, 127), (127, -128), (127, 127)):
        a = np.full((3, 1000), va, np.int8)
        b = np.full((1000, 20), vb, np.int8)
        np.testing.assert_array_equal(
            _core.int8_gemm(a, b, kernel), np.full((3, 20), va * vb * 1000)
        )


def test_int8_kernel_environment(monkeypatch):
    monkeypatch.setenv("EIGENNET_INT8_KERNEL", "reference")
    assert _core.int8_kernel() == "reference"
    monkeypatch.setenv("EIGENNET_INT8_KERNEL", "fastest")
    with pytest.raises(ValueError, match="EIGENNET_INT8_KERNEL"):
        _core.int8_kernel()
    monkeypatch.delenv("EIGENNET_INT8_KERNEL")
    best = next(k for k in ("amx", "vnni", "reference") if _supported(k))
    assert _core.int8_kernel() == best
    with pytest.raises(ValueError, match="int8_gemm"):
        _core.int8_gemm(np.zeros((2, 3), np.int8), np.zeros((4, 2), np.int8))


def _mlp(lib, inputs=20, activation="relu", use_bias=True):
    return lib.Sequential(
        [
            lib.Input((inputs,)),
            lib.layers.Dense(32, activation=activation, use_bias=use_bias),
            lib.layers.Dense(7, use_bias=use_bias),
        ]
    )


def test_predict_is_bit_identical_on_every_kernel(monkeypatch):
    kernels = [k for k in KERNELS if _supported(k)]
    if len(kernels) < 2:
        pytest.skip("this CPU has only the reference int8 kernel")
    model = _mlp(keras, inputs=150)  # more than one AMX tile of K, an edge of rows
    model.quantize("int8")
    x = np.random.default_rng(0).normal(size=(300, 150)).astype("float32")
    out = {}
    for kernel in kernels:
        monkeypatch.setenv("EIGENNET_INT8_KERNEL", kernel)
        out[kernel] = model.predict(x, verbose=0)
    for kernel in kernels[1:]:
        np.testing.assert_array_equal(out[kernel], out["reference"])


def _int8_dense_reference(x, kernel, kernel_scale, bias):
    """Keras's _int8_call in NumPy: rows quantized by abs-max, integer product, de-scaled."""
    x_scale = np.float32(127) / (np.abs(x).max(-1, keepdims=True) + np.float32(1e-7))
    x_q = np.clip(np.round(x * x_scale), -127, 127).astype(np.int64)
    product = (x_q @ kernel.astype(np.int64)).astype(np.float32)
    return product / (kernel_scale * x_scale) + bias


def test_dense_matches_numpy_reference_and_follows_assigned_weights():
    layer = keras.layers.Dense(24)
    model = keras.Sequential([keras.Input((40,)), layer])
    x = np.random.default_rng(8).normal(size=(33, 40)).astype("float32")
    model.quantize("int8")
    kernel, bias, scale = layer.get_weights()
    assert kernel.dtype == np.int8 and np.abs(kernel).max() == 127
    np.testing.assert_array_equal(
        model.predict(x, verbose=0), _int8_dense_reference(x, kernel, scale, bias)
    )
    # The packed kernel is remade when the weights change (here: assigned from Python).
    new_kernel = np.random.default_rng(9).integers(-127, 128, kernel.shape).astype(np.int8)
    layer.kernel.assign(new_kernel)
    np.testing.assert_array_equal(
        model.predict(x, verbose=0), _int8_dense_reference(x, new_kernel, scale, bias)
    )


def test_large_batch_matches_numpy_reference():
    """A batch large enough for both threads and several chunks of rows each, rows whose
    length is not a multiple of 64, and halves that round to even (max 127: a scale of 1)."""
    layer = keras.layers.Dense(40)
    model = keras.Sequential([keras.Input((200,)), layer])
    rng = np.random.default_rng(21)
    x = rng.normal(size=(1500, 200)).astype("float32")
    x[::3] = rng.integers(-126, 127, size=(500, 200)) + np.float32(0.5)
    x[::3, 7] = 127
    model.quantize("int8")
    kernel, bias, scale = layer.get_weights()
    np.testing.assert_array_equal(
        model.predict(x, batch_size=1500, verbose=0), _int8_dense_reference(x, kernel, scale, bias)
    )


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "gelu", "softmax", "elu", "softplus"])
def test_activation_after_the_int8_product(activation):
    """The activation applies to the de-scaled product plus bias, as a linear layer's."""
    x = np.random.default_rng(13).normal(size=(40, 30)).astype("float32")
    linear = keras.Sequential([keras.Input((30,)), keras.layers.Dense(20)])
    model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(20, activation=activation)])
    model.set_weights(linear.get_weights())
    linear.quantize("int8")
    model.quantize("int8")
    expected = np.asarray(keras.activations.get(activation)(linear.predict(x, verbose=0)))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-7)


def test_quantize_a_standalone_layer():
    layer = keras.layers.Dense(5, activation="relu")
    x = np.random.default_rng(10).normal(size=(4, 6)).astype("float32")
    layer(x)  # builds it
    layer.quantize("int8")
    kernel, bias, scale = layer.get_weights()
    expected = np.maximum(_int8_dense_reference(x, kernel, scale, bias), 0)
    np.testing.assert_array_equal(np.asarray(layer(x)), expected)


def test_layer_quantize_inside_a_built_model():
    """Keras allows quantizing the layers one by one: the model then runs them quantized."""
    model = _mlp(keras)
    model.compile("adam", "mse")
    x = np.random.default_rng(12).normal(size=(16, 20)).astype("float32")
    model.fit(x, np.zeros((16, 7)), epochs=1, verbose=0)
    first = model.layers[0]
    first.quantize("int8")
    kernel, bias, scale = first.get_weights()
    hidden = np.maximum(_int8_dense_reference(x, kernel, scale, bias), 0)
    expected = hidden @ model.layers[1].kernel.numpy() + model.layers[1].bias.numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    model.fit(x, np.zeros((16, 7)), epochs=1, verbose=0)  # its optimizer is built anew


# -- against Keras ---------------------------------------------------------------------------
def _quantized_pair(build):
    theirs = pytest.importorskip("keras")
    k_model, e_model = build(theirs), build(keras)
    e_model.set_weights(k_model.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns for its InputLayer
        k_model.quantize("int8")
        e_model.quantize("int8")
    return k_model, e_model


def _assert_same_variables(k_layer, e_layer):
    theirs = {v.name: np.asarray(v.numpy()) for v in k_layer.weights}
    ours = {v.name: v.numpy() for v in e_layer.weights}
    assert sorted(theirs) == sorted(ours)
    for name, value in theirs.items():
        assert ours[name].dtype == value.dtype, name
        np.testing.assert_array_equal(ours[name], value, err_msg=name)


@pytest.mark.parametrize("activation,use_bias", [(None, True), ("relu", True), ("tanh", False)])
def test_dense_matches_keras(activation, use_bias):
    k_model, e_model = _quantized_pair(lambda lib: _mlp(lib, 20, activation, use_bias))
    for k_layer, e_layer in zip(k_model.layers, e_model.layers):
        _assert_same_variables(k_layer, e_layer)
        assert e_layer.quantization_mode == "int8"
    x = (np.random.default_rng(1).normal(size=(64, 20)) * 3).astype("float32")
    x[3] = 0.0  # an all-zero row: scale 127 / epsilon
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-6, atol=1e-6
    )


def test_dense_on_rank3_inputs_matches_keras():
    def build(lib):
        return lib.Sequential([lib.Input((5, 12)), lib.layers.Dense(9)])

    k_model, e_model = _quantized_pair(build)
    x = np.random.default_rng(2).normal(size=(8, 5, 12)).astype("float32")
    np.testing.assert_array_equal(e_model.predict(x, verbose=0), k_model.predict(x, verbose=0))


def test_embedding_matches_keras():
    def build(lib):
        dtype = {"dtype": "int32"} if lib is not keras else {}
        return lib.Sequential([lib.Input((6,), **dtype), lib.layers.Embedding(40, 8)])

    k_model, e_model = _quantized_pair(build)
    _assert_same_variables(k_model.layers[0], e_model.layers[0])
    assert not e_model.layers[0].trainable_weights
    x = np.random.default_rng(3).integers(0, 40, (10, 6))
    np.testing.assert_array_equal(e_model.predict(x, verbose=0), k_model.predict(x, verbose=0))


def test_training_after_quantize_matches_keras():
    """As Keras: the bias (and unquantized layers) train, through the dequantized kernel."""
    theirs = pytest.importorskip("keras")

    def build(lib):
        return lib.Sequential(
            [
                lib.Input((10,)),
                lib.layers.Dense(12, activation="relu"),
                lib.layers.Dense(3, activation="softmax"),
            ]
        )

    k_model, e_model = _quantized_pair(build)
    for m, lib in ((k_model, theirs), (e_model, keras)):
        m.compile(lib.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(4)
    x = rng.normal(size=(32, 10)).astype("float32")
    y = rng.integers(0, 3, 32)
    kernel = e_model.layers[0].kernel.numpy()
    fit = dict(epochs=2, batch_size=8, shuffle=False, verbose=0)
    h_e, h_k = e_model.fit(x, y, **fit).history, k_model.fit(x, y, **fit).history
    np.testing.assert_allclose(h_e["loss"], h_k["loss"], rtol=1e-5)
    for k_layer, e_layer in zip(k_model.layers, e_model.layers):
        np.testing.assert_allclose(
            e_layer.bias.numpy(), np.asarray(k_layer.bias.numpy()), rtol=1e-5, atol=1e-6
        )
    np.testing.assert_array_equal(e_model.layers[0].kernel.numpy(), kernel)


def test_custom_layer_sublayers_are_quantized_as_keras():
    """Keras quantizes the leaf layers: the Dense layers inside a custom layer too."""

    def build(lib):
        class Block(lib.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.inner = lib.layers.Dense(16, activation="relu")
                self.outer = lib.layers.Dense(8)

            def call(self, x):
                return self.outer(self.inner(x)) + 1.0

        return lib.Sequential([lib.Input((12,)), Block(), lib.layers.Dense(3)])

    k_model, e_model = _quantized_pair(build)
    block = e_model.layers[0]
    assert block.inner.quantization_mode == block.outer.quantization_mode == "int8"
    x = np.random.default_rng(11).normal(size=(10, 12)).astype("float32")
    np.testing.assert_array_equal(e_model.predict(x, verbose=0), k_model.predict(x, verbose=0))


# -- a trained classifier ----------------------------------------------------------------------
def _blobs(prototypes, n, rng):
    """Ten classes of 64 features (an 8x8 "digit"-like input): noisy class prototypes."""
    y = rng.integers(0, 10, n)
    x = prototypes[y] + rng.normal(0, 4.0, (n, 64))
    return x.astype("float32"), y


def test_argmax_agreement_of_trained_mlp():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    prototypes = rng.uniform(0, 16, (10, 64))
    x, y = _blobs(prototypes, 3000, rng)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x / 16, y, epochs=5, batch_size=64, verbose=0)
    x_test, y_test = _blobs(prototypes, 2000, rng)
    before = model.predict(x_test / 16, verbose=0).argmax(-1)
    model.quantize("int8")
    after = model.predict(x_test / 16, verbose=0).argmax(-1)
    assert (before == y_test).mean() > 0.9  # the float model learned the task
    assert (before == after).mean() >= 0.99
    loss, accuracy = model.evaluate(x_test / 16, y_test, verbose=0)
    assert accuracy > 0.9


# -- saving, summary, filters ----------------------------------------------------------------
def test_save_and_load(tmp_path):
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Embedding(20, 5), keras.layers.Flatten(), _dense(4)]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Flatten has no quantize()
        model.quantize("int8")
    x = np.random.default_rng(5).integers(0, 20, (16, 6))
    path = tmp_path / "q.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    dense = loaded.layers[-1]
    assert dense.quantization_mode == "int8"
    assert [(w.name, w.dtype) for w in dense.weights] == [
        ("kernel", "int8"),
        ("bias", "float32"),
        ("kernel_scale", "float32"),
    ]
    assert dense.get_config()["dtype"]["class_name"] == "QuantizedDTypePolicy"


def _dense(units):
    return keras.layers.Dense(units, name="head")


def test_keras_loads_our_file_and_we_load_keras_file(tmp_path):
    theirs = pytest.importorskip("keras")
    model = _mlp(keras)
    model.quantize("int8")
    x = np.random.default_rng(6).normal(size=(16, 20)).astype("float32")
    model.save(tmp_path / "ours.keras")
    k_model = theirs.saving.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(
        k_model.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )
    k_model.save(tmp_path / "theirs.keras")
    again = keras.models.load_model(tmp_path / "theirs.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_we_load_a_model_keras_quantized(tmp_path):
    """Keras writes its Int8QuantizationConfig in the layers' configs after quantize()."""

    def build(lib):
        dtype = {"dtype": "int32"} if lib is not keras else {}
        inputs = lib.Input((6,), **dtype)
        hidden = lib.layers.Flatten()(lib.layers.Embedding(30, 4)(inputs))
        return lib.Model(inputs, lib.layers.Dense(5)(hidden))

    k_model, e_model = _quantized_pair(build)
    assert (
        e_model.layers[-1].get_config()["quantization_config"]
        == (k_model.layers[-1].get_config()["quantization_config"])
    )
    k_model.save(tmp_path / "keras_quantized.keras")
    loaded = keras.models.load_model(tmp_path / "keras_quantized.keras")
    x = np.random.default_rng(14).integers(0, 30, (8, 6))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), k_model.predict(x, verbose=0))
    assert [layer.quantization_mode for layer in loaded.layers[1:]] == ["int8", None, "int8"]
    with pytest.raises(ValueError, match="quantization_config"):
        keras.layers.Dense(3, quantization_config={"class_name": "Int4QuantizationConfig"})


def test_summary_counts_int8_bytes():
    model = _mlp(keras)
    model.quantize("int8")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # As Keras: int8 kernels 640 + 224 bytes (non-trainable, with 39 float scales); the 39
    # float biases train. 1176 bytes in all.
    assert "Total params: 942 (1.15 KB)" in text
    assert "Trainable params: 39 (156.00 B)" in text
    assert "Non-trainable params: 903 (1020.00 B)" in text


def test_filters_and_warnings():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(4, name="first"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(2, name="second"),
        ]
    )
    with pytest.warns(UserWarning, match="Dropout does not have a `quantize` method"):
        model.quantize("int8", filters=["second", "dropout"])
    assert model.get_layer("first").quantization_mode is None
    assert model.get_layer("second").quantization_mode == "int8"
    model.quantize("int8", filters=lambda layer: layer.name == "first")
    assert model.get_layer("first").quantization_mode == "int8"


def test_functional_model():
    inputs = keras.Input((10,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = keras.layers.Dense(3)(keras.layers.Concatenate()([hidden, inputs]))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(7).normal(size=(5, 10)).astype("float32")
    before = model.predict(x, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.quantize("int8")
    after = model.predict(x, verbose=0)
    assert all(layer.quantization_mode == "int8" for layer in model.layers[1:3:2])
    np.testing.assert_allclose(after, before, atol=0.05)
    assert not np.array_equal(after, before)


# -- NaN and inf: predict leaves the input check to the int8 layers' quantization pass --------
def _quantized_mlp(inputs=6):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((inputs,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(2)]
    )
    model.quantize("int8")
    return model


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("row,col", [(0, 0), (37, 5), (49, 2)])
def test_predict_names_the_sample_holding_nan_or_inf(kernel, bad, row, col, monkeypatch):
    monkeypatch.setenv("EIGENNET_INT8_KERNEL", _kernel_or_skip(kernel))
    model = _quantized_mlp()
    assert model._network.checks_inputs_finite  # (so predict skips its own pass)
    x = np.random.default_rng(1).normal(size=(50, 6)).astype("float32")
    expected = model.predict(x, batch_size=16, verbose=0)
    x[row, col] = bad
    with pytest.raises(ValueError, match=rf"x contains NaN or inf \(first at sample {row}\)"):
        model.predict(x, batch_size=16, verbose=0)
    x[row, col] = 0.5
    x[row + 1 if row < 49 else 0] = 1e39  # float64 beyond float32: inf once converted
    with pytest.raises(ValueError, match="contains NaN or inf"):
        model.predict(x.astype(np.float64), batch_size=16, verbose=0)
    x[row + 1 if row < 49 else 0] = 0.5
    x[row, col] = 0.5
    assert model.predict(x, batch_size=16, verbose=0).shape == expected.shape


def test_other_paths_and_models_keep_their_checks():
    x = np.ones((8, 6), "float32")
    x[3, 1] = np.nan
    model = _quantized_mlp()
    model.compile("sgd", "mse")
    for call in (
        lambda: model.evaluate(x, np.zeros((8, 2)), verbose=0),
        lambda: model.fit(x, np.zeros((8, 2)), verbose=0),
        lambda: model.predict_on_batch(x),
    ):
        with pytest.raises(ValueError, match="NaN or inf"):
            call()
    plain = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])
    assert not plain._network.checks_inputs_finite
    with pytest.raises(ValueError, match="sample 3"):
        plain.predict(x, verbose=0)
    # An input that reaches a float layer too is still checked before predicting.
    inputs = keras.Input((6,))
    merged = keras.layers.Concatenate()([keras.layers.Dense(3)(inputs), inputs])
    mixed = keras.Model(inputs, keras.layers.Dense(2)(merged))
    mixed.layers[1].quantize("int8")
    assert not mixed._network.checks_inputs_finite
    with pytest.raises(ValueError, match="sample 3"):
        mixed.predict(x, verbose=0)


def test_non_finite_values_inside_the_model_are_reported():
    """inf computed from a finite input reaches an int8 layer: its quantization cannot carry
    it, and the error says so rather than naming an input sample."""
    inputs = keras.Input((4,))
    big = keras.layers.Dense(4, use_bias=False)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(big))
    model.layers[1].set_weights([np.full((4, 4), 1e38, "float32")])
    model.layers[2].quantize("int8")
    x = np.ones((3, 4), "float32")
    with pytest.raises(ValueError, match="int8 Dense layer got NaN or inf in row 0"):
        model.predict(x, verbose=0)


@pytest.mark.parametrize("bad_rows", [[1400], [700, 1400], [5, 1400]])
def test_the_first_non_finite_row_of_a_large_batch_is_reported(bad_rows):
    """Threads take their own rows through quantization and product; the error names the
    first row holding inf, whichever thread found it."""
    inputs = keras.Input((64,))
    big = keras.layers.Dense(64, use_bias=False)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(32)(big))
    model.layers[1].set_weights([np.eye(64, dtype="float32") * np.float32(1e30)])
    model.layers[2].quantize("int8")
    x = np.ones((1600, 64), "float32")
    x[bad_rows, 3] = 1e10  # 1e40 after the first layer: inf in float32
    with pytest.raises(
        ValueError, match=f"int8 Dense layer got NaN or inf in row {bad_rows[0]}\\b"
    ):
        model.predict(x, batch_size=1600, verbose=0)
    x[bad_rows, 3] = 1
    assert np.isfinite(model.predict(x, batch_size=1600, verbose=0)).all()


def test_onnx_export_refuses_quantized_layers(tmp_path):
    pytest.importorskip("onnx")
    model = _mlp(keras)
    model.quantize("int8")
    with pytest.raises(NotImplementedError, match=r"cannot be exported to ONNX: it is quantized"):
        model.export(tmp_path / "q.onnx", format="onnx")
    assert not (tmp_path / "q.onnx").exists()


# -- errors --------------------------------------------------------------------------------
def test_errors():
    model = _mlp(keras)
    with pytest.raises(ValueError, match=r"Invalid quantization mode\. Expected one of"):
        model.quantize("int5")
    with pytest.raises(ValueError, match="You must provide either `mode` or `config`"):
        model.quantize()
    with pytest.raises(
        NotImplementedError, match=r"quantize\(mode='int4'\) is not supported by eigennet"
    ):
        model.quantize("int4")
    with pytest.raises(NotImplementedError, match="config"):
        model.quantize("int8", config=object())
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        model.quantize("int8", bits=8)
    with pytest.raises(ValueError, match="`filters` argument must be"):
        model.quantize("int8", filters=3)
    unbuilt = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="Cannot quantize a layer that isn't yet built"):
        unbuilt.quantize("int8")
    with pytest.raises(ValueError, match="Cannot quantize a layer that isn't yet built"):
        keras.layers.Dense(3).quantize("int8")
    model.quantize("int8")
    with pytest.raises(
        ValueError, match="is already quantized with dtype_policy='int8_from_float32'"
    ):
        model.quantize("int8")


@pytest.mark.parametrize("bad", [1000.0, 2.5, np.nan])
def test_a_crafted_int8_weight_is_refused(tmp_path, bad):
    """An npz (unlike an h5 int8 dataset) can hold any number where an int8 kernel goes."""
    model = _mlp(keras)
    model.quantize("int8")
    path = tmp_path / "q.weights.npz"
    model.save_weights(path)
    with np.load(path) as archive:
        entries = dict(archive)
    key = next(k for k, v in entries.items() if v.shape == model.layers[0].kernel.shape)
    entries[key] = entries[key].astype("float32")
    entries[key][0, 0] = bad
    np.savez(path, **entries)
    before = model.get_weights()
    with pytest.raises(ValueError, match="int8 weight .* whole numbers in \\[-128, 127\\]"):
        model.load_weights(path)
    for now, then in zip(model.get_weights(), before):
        np.testing.assert_array_equal(now, then)  # nothing half-applied
