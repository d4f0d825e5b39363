"""The "mixed_bfloat16" dtype policy: the bfloat16 product on every kernel this CPU has (AMX,
AVX512_BF16, emulation) against NumPy with operands rounded as the hardware rounds them,
Keras's policy API, layers' forward and backward products in bfloat16, saving, and errors.
("mixed_float16": test_mixed_float16.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import _core, layers, ops

KERNELS = ["emulated", "avx512", "amx"]


def _kernel_or_skip(kernel: str) -> str:
    if kernel == "avx512" and not _core.bf16_avx512_supported():
        pytest.skip("this CPU has no AVX512_BF16")
    if kernel == "amx" and not _core.bf16_amx_supported():
        pytest.skip("this CPU (or OS) has no AMX-BF16")
    return kernel


def bf16(x) -> np.ndarray:
    """x rounded to bfloat16 (to nearest, ties to even; denormals to zero), as float64."""
    x = np.asarray(x, np.float32)
    u = x.view(np.uint32).astype(np.uint64)
    nan = np.isnan(x)
    denormal = (u & 0x7F800000) == 0
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    r = np.where(denormal, u & 0x80000000, r)
    out = r.astype(np.uint32).view(np.float32).astype(np.float64)
    return np.where(nan, np.nan, out)


@pytest.fixture(autouse=True)
def _no_policy_after():
    yield
    keras.backend.clear_session()  # no policy set: later tests' layers follow floatx()


# -- the bfloat16 product -------------------------------------------------------------------
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize(
    "m,k,n", [(1, 1, 1), (3, 5, 7), (17, 33, 19), (32, 64, 32), (70, 300, 45), (3, 0, 5)]
)
def test_bf16_gemm_matches_numpy_on_rounded_operands(kernel, trans_a, trans_b, m, k, n):
    kernel = _kernel_or_skip(kernel)
    rng = np.random.default_rng(m * 10000 + k * 100 + n)
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    c = _core.bf16_gemm(a, b, kernel, trans_a, trans_b)
    ref = (bf16(a).T if trans_a else bf16(a)) @ (bf16(b).T if trans_b else bf16(b))
    assert c.dtype == np.float32 and c.shape == (m, n)
    # Products of bfloat16 values are exact in float32: only the sums' order differs.
    np.testing.assert_allclose(c, ref, rtol=0, atol=1e-5 * max(1.0, np.abs(ref).max()) * k**0.5)
    # ... and the rounding shows: the float32 product differs by more than that.
    if k >= 33:
        exact = (a.T if trans_a else a).astype(np.float64) @ (b.T if trans_b else b)
        assert np.abs(c - exact).max() > 1e-4


@pytest.mark.parametrize("kernel", KERNELS)
def test_bf16_rounding_ties_denormals_and_nan(kernel):
    kernel = _kernel_or_skip(kernel)
    ones = np.ones((1, 1), np.float32)
    cases = {
        1.0 + 2.0**-8: 1.0,  # a tie: to even (down)
        1.0 + 3 * 2.0**-8: 1.0 + 2.0**-6,  # a tie: to even (up)
        1.0 + 2.0**-8 + 2.0**-20: 1.0 + 2.0**-7,  # above the tie: up
        1e-39: 0.0,  # a denormal: flushed
        -3.0e38: bf16(-3.0e38)[()],
    }
    for value, expected in cases.items():
        a = np.array([[value]], np.float32)
        assert _core.bf16_gemm(a, ones, kernel)[0, 0] == np.float32(expected), value
    assert np.isnan(_core.bf16_gemm(np.array([[np.nan]], np.float32), ones, kernel)[0, 0])
    big = np.full((1, 2), 3.0e38, np.float32)
    assert np.isinf(_core.bf16_gemm(big, np.ones((2, 1), np.float32), kernel)[0, 0])


def test_bf16_kernel_choice_and_environment(monkeypatch):
    best = "amx" if _core.bf16_amx_supported() else "avx512"
    best = best if _core.bf16_avx512_supported() or best == "amx" else "emulated"
    monkeypatch.delenv("EIGENNET_BF16_KERNEL", raising=False)
    assert _core.bf16_kernel() == best
    monkeypatch.setenv("EIGENNET_BF16_KERNEL", "emulated")
    assert _core.bf16_kernel() == "emulated"
    monkeypatch.setenv("EIGENNET_BF16_KERNEL", "fastest")
    with pytest.raises(ValueError, match="EIGENNET_BF16_KERNEL"):
        _core.bf16_kernel()
    with pytest.raises(ValueError, match="bf16 kernel must be"):
        _core.bf16_gemm(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), "fastest")
    with pytest.raises(ValueError, match="inner dimensions"):
        _core.bf16_gemm(np.ones((2, 3), np.float32), np.ones((2, 2), np.float32))


# -- the policy API, as Keras 3 defines it --------------------------------------------------
def test_policy_names_and_dtypes():
    p = keras.mixed_precision.DTypePolicy("mixed_bfloat16")
    assert (p.name, p.compute_dtype, p.variable_dtype) == ("mixed_bfloat16", "bfloat16", "float32")
    assert p.quantization_mode is None
    assert repr(p) == '<DTypePolicy "mixed_bfloat16">'
    assert p == keras.DTypePolicy("mixed_bfloat16") == keras.FloatDTypePolicy("mixed_bfloat16")
    assert p != keras.DTypePolicy("float32")
    assert keras.mixed_precision.Policy is keras.DTypePolicy
    assert keras.dtype_policies.serialize(p) == {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "mixed_bfloat16"},
        "registered_name": None,
    }
    assert keras.dtype_policies.deserialize(keras.dtype_policies.serialize(p)) == p
    assert keras.dtype_policies.get("float64").compute_dtype == "float64"
    q = keras.dtype_policies.get("int8_from_float32")
    assert isinstance(q, keras.dtype_policies.QuantizedDTypePolicy)
    assert (q.quantization_mode, q.compute_dtype) == ("int8", "float32")


def test_policy_errors():
    with pytest.raises(TypeError, match="must be a string"):
        keras.DTypePolicy(32)
    with pytest.raises(ValueError, match="Cannot convert 'int32'"):
        keras.DTypePolicy("int32")
    with pytest.raises(ValueError, match="Cannot convert 'float8'"):
        layers.Dense(2, dtype="float8")
    with pytest.raises(ValueError, match="Invalid `policy` argument"):
        keras.mixed_precision.set_global_policy(3)


def test_clear_session_forgets_the_policy():
    keras.mixed_precision.set_global_policy("float32")
    keras.config.set_floatx("float64")
    try:
        assert layers.Dense(2).dtype == "float32"  # a policy set wins over floatx, as Keras
        keras.backend.clear_session()
        assert layers.Dense(2).dtype == "float64"
        assert keras.mixed_precision.global_policy().name == "float64"
    finally:
        keras.config.set_floatx("float32")


def test_global_policy_reaches_new_layers_only():
    before = layers.Dense(2)
    assert keras.mixed_precision.global_policy() == keras.DTypePolicy("float32")
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    after = layers.Dense(2)
    override = layers.Dense(2, dtype="float32")
    assert before.compute_dtype == "float32"
    assert (after.dtype, after.compute_dtype, after.variable_dtype) == (
        "float32",
        "bfloat16",
        "float32",
    )
    assert after.dtype_policy == keras.DTypePolicy("mixed_bfloat16")
    assert override.compute_dtype == "float32"
    keras.config.set_dtype_policy(keras.DTypePolicy("float32"))
    assert layers.Dense(2).compute_dtype == "float32"


def test_variables_and_outputs_stay_float32():
    model = keras.Sequential(
        [keras.Input((8,)), layers.Dense(4, dtype="mixed_bfloat16"), layers.Dense(2)]
    )
    assert all(w.dtype == "float32" for w in model.weights)
    assert model.predict(np.ones((3, 8), np.float32), verbose=0).dtype == np.float32
    assert model.layers[0].get_config()["dtype"] == keras.dtype_policies.serialize(
        keras.DTypePolicy("mixed_bfloat16")
    )
    assert model.layers[1].get_config()["dtype"] == "float32"


def test_policy_matches_keras():
    kr = pytest.importorskip("keras")
    ours = layers.Dense(3, dtype="mixed_bfloat16")
    theirs = kr.layers.Dense(3, dtype="mixed_bfloat16")
    for attr in ("dtype", "compute_dtype", "variable_dtype"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert repr(ours.dtype_policy) == repr(theirs.dtype_policy)
    assert ours.get_config()["dtype"] == theirs.get_config()["dtype"]
    restored = layers.Dense.from_config(theirs.get_config())
    assert restored.compute_dtype == "bfloat16"


# -- layers compute their products in bfloat16 ----------------------------------------------
def _dense_model(policy: str, seed: int = 0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((48,)), layers.Dense(40, activation="tanh", dtype=policy), layers.Dense(3)]
    )
    return model


@pytest.mark.parametrize("kernel", KERNELS)
def test_dense_forward_and_backward_products_are_bf16(kernel, monkeypatch):
    monkeypatch.setenv("EIGENNET_BF16_KERNEL", _kernel_or_skip(kernel))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 48)).astype(np.float32)
    t = rng.standard_normal((64, 3)).astype(np.float32)
    model = _dense_model("mixed_bfloat16")
    w, b, w2, b2 = (v.astype(np.float64) for v in model.get_weights())
    z = bf16(x) @ bf16(w) + b
    h = np.tanh(z)
    np.testing.assert_allclose(
        model.layers[0](x), h.astype(np.float32), rtol=1e-5, atol=1e-5
    )  # fmt: skip
    # One SGD step: the kernel's gradient is round(x)^T round(dL/dz), the input's (none
    # here) would be round(dL/dz) round(w)^T; the float32 head is exact.
    y = h @ w2 + b2
    dy = 2 * (y - t) / y.size
    dz = (dy @ w2.T) * (1 - h**2)
    lr = 0.5
    model.compile(keras.optimizers.SGD(lr), "mse")
    model.train_on_batch(x, t)
    new_w = model.get_weights()[0]
    np.testing.assert_allclose(new_w, w - lr * (bf16(x).T @ bf16(dz)), rtol=0, atol=2e-6)
    # float32 would have moved the kernel differently.
    assert np.abs(new_w - (w - lr * (x.T.astype(np.float64) @ dz))).max() > 1e-6


def test_input_gradient_is_a_bf16_product():
    """dL/dx of a bfloat16 Dense below a float32 one: round(dz) round(w)^T."""
    rng = np.random.default_rng(2)
    keras.utils.set_random_seed(3)
    inputs = keras.Input((24,))
    first = layers.Dense(16)(inputs)
    hidden = layers.Dense(20, dtype="mixed_bfloat16")(first)
    model = keras.Model(inputs, layers.Dense(1)(hidden))
    x = rng.standard_normal((32, 24)).astype(np.float32)
    t = rng.standard_normal((32, 1)).astype(np.float32)
    w0, b0, w1, b1, w2, b2 = (v.astype(np.float64) for v in model.get_weights())
    a = x @ w0 + b0
    h = bf16(a) @ bf16(w1) + b1
    y = h @ w2 + b2
    dh = (2 * (y - t) / y.size) @ w2.T
    da = bf16(dh) @ bf16(w1).T
    model.compile(keras.optimizers.SGD(1.0), "mse")
    model.train_on_batch(x, t)
    np.testing.assert_allclose(model.get_weights()[0], w0 - x.T @ da, rtol=0, atol=2e-6)


def _run(policy: str, make, x, kernel: str | None = None):
    keras.utils.set_random_seed(7)
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, make(policy)(inputs))
    return model.predict(x, verbose=0)


LAYER_MAKERS = {
    "conv2d": (lambda p: layers.Conv2D(6, 3, padding="same", dtype=p), (4, 9, 9, 5)),
    "conv1d": (lambda p: layers.Conv1D(8, 3, dtype=p), (4, 20, 6)),
    "conv2d_transpose": (lambda p: layers.Conv2DTranspose(4, 3, strides=2, dtype=p), (2, 5, 5, 7)),
    "lstm": (lambda p: layers.LSTM(12, dtype=p), (4, 7, 40)),
    "gru": (lambda p: layers.GRU(12, dtype=p), (4, 7, 40)),
    "simple_rnn": (lambda p: layers.SimpleRNN(12, dtype=p), (4, 7, 40)),
    "bidirectional_lstm": (
        lambda p: layers.Bidirectional(layers.LSTM(12, dtype=p), dtype=p),
        (4, 7, 40),
    ),
    "time_distributed": (
        lambda p: layers.TimeDistributed(layers.Dense(10, dtype=p), dtype=p),
        (3, 5, 40),
    ),
    "mha": (
        lambda p: lambda x: layers.MultiHeadAttention(2, 16, dtype=p)(x, x),
        (3, 10, 24),
    ),
    "dense_3d": (lambda p: layers.Dense(12, dtype=p), (3, 5, 40)),
}


@pytest.mark.parametrize("name", sorted(LAYER_MAKERS))
def test_layers_with_products_compute_in_bf16(name):
    make, shape = LAYER_MAKERS[name]
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    exact = _run("float32", make, x)
    mixed = _run("mixed_bfloat16", make, x)
    scale = np.abs(exact).max()
    assert np.abs(mixed - exact).max() > 1e-5 * scale  # the products were rounded ...
    np.testing.assert_allclose(mixed, exact, rtol=0, atol=0.03 * scale)  # ... to bfloat16


@pytest.mark.parametrize("name", sorted(LAYER_MAKERS))
def test_every_kernel_gives_the_same_layer_outputs(name, monkeypatch):
    make, shape = LAYER_MAKERS[name]
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    outputs = []
    for kernel in KERNELS:
        if kernel != "emulated" and not getattr(_core, f"bf16_{kernel}_supported")():
            continue
        monkeypatch.setenv("EIGENNET_BF16_KERNEL", kernel)
        outputs.append(_run("mixed_bfloat16", make, x))
    for other in outputs[1:]:
        np.testing.assert_allclose(other, outputs[0], rtol=1e-4, atol=1e-5)


class Projection(layers.Layer):
    """A custom layer whose call() is ops.matmul and ops.einsum on its own weight."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 8), initializer="glorot_uniform")

    def call(self, x):
        return ops.matmul(x, self.w) + ops.einsum("bi,ij->bj", x, self.w)


def test_a_custom_layers_ops_follow_its_policy():
    x = np.random.default_rng(6).standard_normal((5, 64)).astype(np.float32)
    for policy in ("float32", "mixed_bfloat16"):
        keras.utils.set_random_seed(1)
        inputs = keras.Input((64,))
        layer = Projection(dtype=policy)
        model = keras.Model(inputs, layer(inputs))
        w = layer.w.numpy().astype(np.float64)
        ref = 2 * ((bf16(x) @ bf16(w)) if policy == "mixed_bfloat16" else x.astype(np.float64) @ w)
        np.testing.assert_allclose(model.predict(x, verbose=0), ref, rtol=0, atol=1e-5)


def test_changing_a_built_layers_policy():
    x = np.random.default_rng(8).standard_normal((6, 48)).astype(np.float32)
    model = _dense_model("float32")
    before = model.predict(x, verbose=0)
    model.layers[0].dtype_policy = "mixed_bfloat16"
    after = model.predict(x, verbose=0)
    assert np.abs(after - before).max() > 1e-6
    model.layers[0].dtype_policy = "float32"
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)
    with pytest.raises(ValueError, match="compute dtype only"):
        model.layers[0].dtype_policy = "float64"


def test_mixed_model_trains_saves_and_resumes(tmp_path):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((512, 20)).astype(np.float32)
    y = (x[:, :10].sum(1) > x[:, 10:].sum(1)).astype(np.int64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((20,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(2),
            layers.Activation("softmax", dtype="float32"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    path = tmp_path / "mixed.keras"
    model.save(path)
    keras.mixed_precision.set_global_policy("float32")
    loaded = keras.saving.load_model(path)
    assert [layer.dtype_policy.name for layer in loaded.layers] == [
        "mixed_bfloat16",
        "mixed_bfloat16",
        "float32",
    ]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=32, verbose=0, shuffle=False)
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.MultiHeadAttention(2, 4, dtype="mixed_bfloat16"),
        lambda: layers.EinsumDense("ab,bc->ac", 3, dtype="mixed_bfloat16"),
        lambda: layers.Dropout(0.1, dtype="mixed_bfloat16"),
        lambda: layers.Conv2D(2, 3, dtype="mixed_bfloat16"),
    ],
)
def test_every_layer_family_keeps_its_policy_in_its_config(make):
    layer = make()
    config = layer.get_config()
    assert config["dtype"]["config"] == {"name": "mixed_bfloat16"}
    assert type(layer).from_config(config).compute_dtype == "bfloat16"
