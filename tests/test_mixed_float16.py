"""The "mixed_float16" dtype policy and LossScaleOptimizer: products on operands rounded to
float16 (against NumPy's float16, overflow included), layers of every family, Keras's
automatic loss scaling in compile, the scale's skipping, halving and doubling, custom loops,
saving and loading both ways with Keras, and Keras parity after training."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import _core, layers


def f16(x) -> np.ndarray:
    """x rounded to float16 (IEEE: to nearest, ties to even, overflow to inf), as float64."""
    return np.asarray(x, np.float32).astype(np.float16).astype(np.float64)


@pytest.fixture(autouse=True)
def _no_policy_after():
    yield
    keras.backend.clear_session()


# -- the policy -------------------------------------------------------------------------------
def test_policy_names_and_dtypes():
    p = keras.mixed_precision.DTypePolicy("mixed_float16")
    assert (p.name, p.compute_dtype, p.variable_dtype) == ("mixed_float16", "float16", "float32")
    layer = layers.Dense(3, dtype="mixed_float16")
    assert (layer.dtype, layer.compute_dtype, layer.variable_dtype) == (
        "float32",
        "float16",
        "float32",
    )
    for name, dtype in (("float16", "float16"), ("bfloat16", "bfloat16"), ("half", "float16")):
        p = keras.DTypePolicy(name)  # 16-bit variables (test_sixteen_bit_variables.py)
        assert (p.name, p.compute_dtype, p.variable_dtype) == (name, dtype, dtype)


def test_policy_matches_keras():
    kr = pytest.importorskip("keras")
    ours, theirs = layers.Dense(3, dtype="mixed_float16"), kr.layers.Dense(3, dtype="mixed_float16")
    for attr in ("dtype", "compute_dtype", "variable_dtype"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ours.get_config()["dtype"] == theirs.get_config()["dtype"]


def test_float16_rounding_matches_numpy():
    values = np.array(
        [1 + 2**-11, 1 + 3 * 2**-11, 65504, 65519.99, 65520, -7e4, 6e-8, 2e-8, 3e-8, 0.1],
        np.float32,
    )
    layer = layers.Dense(1, use_bias=False, dtype="mixed_float16")
    layer.build((None, 1))
    layer.set_weights([np.ones((1, 1), np.float32)])
    out = np.asarray(layer(values[:, None]))[:, 0]
    np.testing.assert_array_equal(out, f16(values).astype(np.float32))


# -- products ---------------------------------------------------------------------------------
def test_dense_forward_and_backward_products_are_float16():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 48)).astype(np.float32)
    t = rng.standard_normal((64, 3)).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((48,)),
            layers.Dense(40, activation="tanh", dtype="mixed_float16"),
            layers.Dense(3),
        ]
    )
    w, b, w2, b2 = (v.astype(np.float64) for v in model.get_weights())
    h = np.tanh(f16(x) @ f16(w) + b)
    np.testing.assert_allclose(model.layers[0](x), h.astype(np.float32), rtol=1e-5, atol=1e-5)
    y = h @ w2 + b2
    dz = (2 * (y - t) / y.size) @ w2.T * (1 - h**2)
    lr = 0.5
    model.compile(keras.optimizers.SGD(lr), "mse", auto_scale_loss=False)
    model.train_on_batch(x, t)
    new_w = model.get_weights()[0]
    np.testing.assert_allclose(new_w, w - lr * (f16(x).T @ f16(dz)), rtol=0, atol=2e-6)
    assert np.abs(new_w - (w - lr * (x.T.astype(np.float64) @ dz))).max() > 1e-6


def test_products_overflow_as_float16_does():
    layer = layers.Dense(2, use_bias=False, dtype="mixed_float16")
    layer.build((None, 2))
    layer.set_weights([np.ones((2, 2), np.float32)])
    out = np.asarray(layer(np.array([[7e4, 0.0], [6e4, 1.0]], np.float32)))
    assert np.isinf(out[0]).all()  # 70000 is beyond float16
    np.testing.assert_array_equal(out[1], [60000.0 + 1.0] * 2)  # 60000 is a float16 value


LAYER_MAKERS = {
    "conv2d": (lambda p: layers.Conv2D(6, 3, padding="same", dtype=p), (4, 9, 9, 5)),
    "conv1d": (lambda p: layers.Conv1D(8, 3, dtype=p), (4, 20, 6)),
    "lstm": (lambda p: layers.LSTM(12, dtype=p), (4, 7, 40)),
    "gru": (lambda p: layers.GRU(12, dtype=p), (4, 7, 40)),
    "mha": (lambda p: lambda x: layers.MultiHeadAttention(2, 16, dtype=p)(x, x), (3, 10, 24)),
    "einsum_dense": (lambda p: layers.EinsumDense("abc,cd->abd", (5, 7), dtype=p), (3, 5, 40)),
}


@pytest.mark.parametrize("name", sorted(LAYER_MAKERS))
def test_layers_with_products_compute_in_float16(name):
    make, shape = LAYER_MAKERS[name]
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    outputs = {}
    for policy in ("float32", "mixed_float16", "mixed_bfloat16"):
        keras.utils.set_random_seed(7)
        inputs = keras.Input(x.shape[1:])
        outputs[policy] = keras.Model(inputs, make(policy)(inputs)).predict(x, verbose=0)
    exact = outputs["float32"]
    scale = np.abs(exact).max()
    half_error = np.abs(outputs["mixed_float16"] - exact).max()
    assert 1e-6 * scale < half_error < 5e-3 * scale  # rounded, to float16's 11 bits ...
    assert half_error < np.abs(outputs["mixed_bfloat16"] - exact).max()  # ... not bfloat16's 8


# -- LossScaleOptimizer -----------------------------------------------------------------------
def _model(policy="mixed_float16", seed=0):
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((20,)),
            layers.Dense(32, activation="relu"),
            layers.Dense(3),
            layers.Activation("softmax", dtype="float32"),
        ]
    )
    keras.mixed_precision.set_global_policy("float32")
    return model


def _data(n=256, seed=9):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 20)).astype(np.float32)
    return x, (x[:, :3] ** 2).argmax(1)


def test_compile_wraps_the_optimizer_under_mixed_float16():
    model = _model()
    assert model.dtype_policy.name == "mixed_float16"
    model.compile("adam", "sparse_categorical_crossentropy")
    opt = model.optimizer
    assert isinstance(opt, keras.optimizers.LossScaleOptimizer)
    assert keras.mixed_precision.LossScaleOptimizer is keras.optimizers.LossScaleOptimizer
    assert opt.name == "loss_scale_optimizer"
    assert isinstance(opt.inner_optimizer, keras.optimizers.Adam)
    assert (opt.dynamic_scale, opt.step_counter, opt.iterations) == (32768.0, 0, 0)
    model.compile("adam", "sparse_categorical_crossentropy", auto_scale_loss=False)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    model.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(), 8.0), "mse")
    assert model.optimizer.initial_scale == 8.0
    plain = _model("float32")
    plain.compile("adam", "mse")
    assert isinstance(plain.optimizer, keras.optimizers.Adam)


def test_loss_scale_optimizer_arguments():
    lso = keras.optimizers.LossScaleOptimizer
    with pytest.raises(ValueError, match="dynamic=False"):
        lso(keras.optimizers.SGD(), dynamic=False)
    with pytest.raises(ValueError, match="does not support `clipnorm`"):
        lso(keras.optimizers.SGD(), clipnorm=1.0)
    with pytest.raises(ValueError, match="does not support arguments: `foo`"):
        lso(keras.optimizers.SGD(), foo=1)
    for bad in ("sgd", None, lso(keras.optimizers.SGD())):
        with pytest.raises(ValueError, match="wraps an optimizer instance"):
            lso(bad)
    for scale in (0, float("inf"), 1e39, float("nan")):
        with pytest.raises(ValueError):
            lso(keras.optimizers.SGD(), initial_scale=scale)
    for steps in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="dynamic_growth_steps"):
            lso(keras.optimizers.SGD(), dynamic_growth_steps=steps)
    kwargs = {"weight_decay": None, "use_ema": False, "ema_momentum": 0.99}
    assert lso(keras.optimizers.SGD(), **kwargs).initial_scale == 32768.0  # Keras's defaults


def test_config_matches_keras():
    kr = pytest.importorskip("keras")
    ours = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01), 1024.0, 7)
    theirs = kr.optimizers.LossScaleOptimizer(kr.optimizers.Adam(0.01), 1024.0, 7)
    a, b = ours.get_config(), theirs.get_config()
    assert {k: v for k, v in a.items() if k != "inner_optimizer"} == {
        k: v for k, v in b.items() if k != "inner_optimizer"
    }
    ours_inner, theirs_inner = a["inner_optimizer"]["config"], b["inner_optimizer"]["config"]
    assert set(ours_inner) == set(theirs_inner)
    for key, value in ours_inner.items():
        if key != "name":  # (Keras numbers a second "adam" in one process)
            assert value == pytest.approx(theirs_inner[key]), key
    again = keras.optimizers.LossScaleOptimizer.from_config(b)
    assert (again.initial_scale, again.dynamic_growth_steps) == (1024.0, 7)
    assert again.inner_optimizer.learning_rate == pytest.approx(0.01)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(ours))
    assert isinstance(restored, keras.optimizers.LossScaleOptimizer)
    assert restored.get_config() == a


def test_scaling_a_float32_model_changes_nothing():
    """Scaling by a power of two and back is exact in float32: the same training."""
    x, y = _data()
    results = []
    for wrap in (False, True):
        model = _model("float32")
        opt = keras.optimizers.Adam(0.01)
        model.compile(
            keras.optimizers.LossScaleOptimizer(opt, dynamic_growth_steps=3) if wrap else opt,
            "sparse_categorical_crossentropy",
        )
        history = model.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False)
        results.append((history.history["loss"], model.get_weights()))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_overflowing_steps_are_skipped_and_the_scale_halves():
    x, y = _data(64)
    model = _model()
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=2.0**100)
    model.compile(opt, "sparse_categorical_crossentropy")
    before = model.get_weights()
    model.train_on_batch(x, y)  # the scaled loss gradient is beyond float16: inf
    assert (opt.iterations, opt.step_counter, opt.dynamic_scale) == (0, 0, 2.0**99)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    history = model.fit(x, y, batch_size=8, epochs=15, verbose=0)  # 120 steps
    assert np.isfinite(history.history["loss"]).all()
    # Halved until the gradients fit: from 2**99, a scale of at most 2**16 or so remains.
    assert opt.dynamic_scale <= 2.0**20
    assert 0 < opt.iterations < 120
    assert opt.iterations + int(np.log2(2.0**100 / opt.dynamic_scale)) == 121
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_the_scale_doubles_after_growth_steps():
    x, y = _data(64)
    model = _model()
    opt = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.SGD(0.01), initial_scale=4.0, dynamic_growth_steps=3
    )
    model.compile(opt, "sparse_categorical_crossentropy")
    seen = []
    for _ in range(7):
        model.train_on_batch(x, y)
        seen.append((opt.iterations, opt.step_counter, opt.dynamic_scale))
    assert seen == [
        (1, 1, 4.0),
        (2, 2, 4.0),
        (3, 0, 8.0),
        (4, 1, 8.0),
        (5, 2, 8.0),
        (6, 0, 16.0),
        (7, 1, 16.0),
    ]


def test_small_gradients_survive_only_with_scaling():
    """A gradient below float16's smallest value (6e-8) is zero in a float16 product unless
    the loss is scaled: the reason for loss scaling."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    inputs = keras.Input((8,))
    hidden = layers.Dense(8, use_bias=False)(inputs)
    hidden = layers.Dense(8)(hidden)
    outputs = layers.Dense(1, use_bias=False, dtype="float32")(hidden)
    keras.mixed_precision.set_global_policy("float32")
    x, y = np.ones((4, 8), np.float32), np.ones((4, 1), np.float32)
    # dL/dy is about -0.5; times the float32 head's 1e-8, the second layer's output gradient
    # is 5e-9 (zero in float16), 1.6e-4 once scaled by 2**15.
    weights = [np.full((8, 8), 1e-3), np.full((8, 8), 1e-3), np.zeros(8), np.full((8, 1), 1e-8)]
    weights = [w.astype(np.float32) for w in weights]
    moved = []
    for scale in (1.0, 2.0**15):
        model = keras.Model(inputs, outputs)
        model.set_weights(weights)
        model.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(1.0), scale), "mse")
        model.train_on_batch(x, y)
        moved.append(np.abs(model.get_weights()[0] - weights[0]).max())
    assert moved[0] == 0 and moved[1] > 0


def test_custom_loop_apply_skips_non_finite_gradients():
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.5), initial_scale=4.0)
    w = np.ones(3, np.float32)
    assert opt.scale_loss(2.0) == 8.0
    opt.apply([np.array([4.0, np.inf, 4.0], np.float32)], [w])
    np.testing.assert_array_equal(w, [1, 1, 1])
    assert (opt.iterations, opt.dynamic_scale) == (0, 2.0)
    opt.apply([np.array([2.0, 4.0, 0.0], np.float32)], [w])  # gradients of the scaled loss
    np.testing.assert_array_equal(w, [0.5, 0.0, 1.0])
    assert (opt.iterations, opt.step_counter) == (1, 1)
    plain = keras.optimizers.SGD()
    with pytest.raises(ValueError, match="NaN or inf"):
        plain.apply([np.array([np.nan, 0, 0], np.float32)], [np.ones(3, np.float32)])


# -- saving -----------------------------------------------------------------------------------
def test_save_load_resumes_bit_exactly(tmp_path):
    x, y = _data()
    model = _model()
    model.compile(
        keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01), 2.0**40, 5),
        "sparse_categorical_crossentropy",
    )
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    path = tmp_path / "half.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    opt, again = model.optimizer, loaded.optimizer
    assert isinstance(again, keras.optimizers.LossScaleOptimizer)
    assert (again.iterations, again.step_counter, again.dynamic_scale) == (
        opt.iterations,
        opt.step_counter,
        opt.dynamic_scale,
    )
    assert opt.dynamic_scale < 2.0**40  # some steps overflowed
    assert [layer.compute_dtype for layer in loaded.layers] == ["float16", "float16", "float32"]
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert again.step_counter == opt.step_counter and again.dynamic_scale == opt.dynamic_scale


def test_crafted_loss_scale_state_is_refused(tmp_path):
    from eigennet.saving import file_io, state

    x, y = _data(64)
    model = _model()
    model.compile(
        keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(), dynamic_growth_steps=5),
        "sparse_categorical_crossentropy",
    )
    model.fit(x, y, epochs=1, verbose=0)
    saved = state.model_state(model)
    for key, value, message in (
        ("optimizer/vars/2", np.array(5), "outside 0..4"),
        ("optimizer/vars/3", np.array(np.inf), "loss scale"),
        ("optimizer/vars/3", np.array(-1.0), "loss scale"),
    ):
        crafted = {**saved, key: value}
        store = file_io.ArrayStore(crafted, "crafted")
        before = [w.copy() for w in model.get_weights()]
        with pytest.raises(file_io.LoadError, match=message):
            state.load_model_state(model, store, strict=True)
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b)  # nothing half-loaded


def test_files_load_both_ways_with_keras(tmp_path):
    kr = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    x, y = _data(64)
    kr.mixed_precision.set_global_policy("mixed_float16")
    theirs = kr.Sequential(
        [kr.Input((20,)), kr.layers.Dense(8, activation="relu"), kr.layers.Dense(3)]
    )
    theirs.add(kr.layers.Activation("softmax", dtype="float32"))
    kr.mixed_precision.set_global_policy("float32")
    theirs.compile("adam", "sparse_categorical_crossentropy")
    theirs.fit(x, y, batch_size=16, epochs=2, verbose=0)
    path = tmp_path / "keras.keras"
    theirs.save(path)
    ours = keras.saving.load_model(path)
    assert isinstance(ours.optimizer, keras.optimizers.LossScaleOptimizer)
    assert ours.optimizer.iterations == 8 and ours.optimizer.step_counter == 8
    assert ours.optimizer.dynamic_scale == float(theirs.optimizer.dynamic_scale.numpy())
    ours.fit(x, y, batch_size=16, epochs=1, verbose=0)
    back = tmp_path / "ours.keras"
    ours.save(back)
    again = kr.saving.load_model(back)
    assert type(again.optimizer).__name__ == "LossScaleOptimizer"
    assert int(again.optimizer.iterations.numpy()) == 12
    assert int(again.optimizer.step_counter.numpy()) == 12
    np.testing.assert_allclose(
        again.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=0, atol=2e-3
    )


def test_training_matches_keras():
    """Keras on the same weights: its element-wise work is float16 too, so the figures agree
    to float16's precision; the loss scale's state agrees exactly."""
    kr = pytest.importorskip("keras")
    x, y = _data(256)
    ours = _model()
    kr.mixed_precision.set_global_policy("mixed_float16")
    theirs = kr.Sequential(
        [kr.Input((20,)), kr.layers.Dense(32, activation="relu"), kr.layers.Dense(3)]
    )
    theirs.add(kr.layers.Activation("softmax", dtype="float32"))
    kr.mixed_precision.set_global_policy("float32")
    theirs.set_weights(ours.get_weights())
    ours.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    theirs.compile(kr.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    a = ours.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False).history["loss"]
    b = theirs.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(a, b, rtol=5e-3)
    for w, v in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(w, v, rtol=0, atol=5e-3)
    assert ours.optimizer.step_counter == int(theirs.optimizer.step_counter.numpy()) == 24
    assert ours.optimizer.dynamic_scale == float(theirs.optimizer.dynamic_scale.numpy())


def test_quantize_refuses_float16_compute():
    model = _model()
    with pytest.raises(ValueError, match="compute_dtype='float16'"):
        model.quantize("int8")


def test_native_loss_scale_checks():
    opt = _core.make_optimizer_float32("sgd", _core.OptimizerConfig(0.1, 0, 0, 0, 0), {})
    assert not opt.loss_scaling and opt.loss_scale == 1.0
    with pytest.raises(ValueError, match="dynamic_growth_steps"):
        opt.enable_loss_scale(2.0, 0)
    with pytest.raises(ValueError, match="positive finite"):
        opt.enable_loss_scale(1e39, 5)  # inf in float32
    opt.enable_loss_scale(2.0, 5)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        opt.loss_scale_counter = 5


def test_onnx_export_computes_in_float32(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = _model()
    x = np.random.default_rng(6).normal(size=(16, 20)).astype("float32")
    path = str(tmp_path / "half.onnx")
    model.export(path, format="onnx", verbose=False)
    session = ort.InferenceSession(path)
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    keras.mixed_precision.set_global_policy("float32")
    exact = keras.Sequential(
        [
            keras.Input((20,)),
            *[
                type(layer).from_config({**layer.get_config(), "dtype": "float32"})
                for layer in model.layers
            ],
        ]
    )
    exact.set_weights(model.get_weights())
    np.testing.assert_allclose(out, exact.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, model.predict(x, verbose=0), rtol=0, atol=5e-3)
