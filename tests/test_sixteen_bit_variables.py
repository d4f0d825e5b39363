"""Keras's "bfloat16" and "float16" dtype policies (16-bit variables): the dtypes Keras reports,
weights that hold only values of the format (rounded as a NumPy reference rounds, after
assignment, every optimizer step and in custom loops), a step that is the mixed policy's step
rounded, `add_weight`/`keras.Variable` in 16 bits, and files in both directions with Keras."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import _core, layers, storage_formats

FORMATS = ("bfloat16", "float16")


def bf16(x) -> np.ndarray:
    """x rounded to bfloat16 (to nearest, ties to even; NaN kept), as float32; subnormals
    become zero, as AVX512_BF16's conversion makes them (the core's rounding everywhere)."""
    x = np.ascontiguousarray(x, np.float32)
    bits = x.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    out = rounded.view(np.float32)
    out = np.where(np.abs(x) < np.finfo(np.float32).tiny, np.copysign(np.float32(0.0), x), out)
    return np.where(np.isnan(x), np.float32(np.nan), out)


def rounded(x, fmt: str) -> np.ndarray:
    if fmt == "bfloat16":
        return bf16(x)
    with np.errstate(over="ignore"):
        return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


def held(variable) -> np.ndarray:
    """The float32 values the core holds for a weight."""
    return np.array(variable._view(), dtype=np.float32)


def assert_in_format(variables, fmt: str) -> None:
    for v in variables:
        values = held(v)
        np.testing.assert_array_equal(values, rounded(values, fmt), err_msg=v.path)


@pytest.fixture(autouse=True)
def _no_policy_after():
    yield
    keras.backend.clear_session()


def _model(policy: str, seed: int = 0, optimizer=None):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((12,)),
            layers.Dense(16, activation="relu", dtype=policy),
            layers.BatchNormalization(dtype=policy),
            layers.Dense(3, dtype=policy),
        ]
    )
    model.compile(optimizer or keras.optimizers.Adam(0.01), "mse")
    return model


def _data(n=64, seed=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 12)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")


# -- rounding ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_rounding_matches_numpy(fmt):
    rng = np.random.default_rng(0)
    edge = [0.0, -0.0, 1.0, 1.00390625, 1.005859375, 3.0e38, 3.4e38, 65504.0, 65520.0, 7e4,
            6e-8, 2.9e-8, 1e-40, np.inf, -np.inf, np.nan]  # fmt: skip
    x = np.concatenate([rng.normal(scale=10.0, size=4000), edge]).astype(np.float32)
    ours = _core.round_to_precision(fmt, x)
    np.testing.assert_array_equal(ours, rounded(x, fmt))
    if fmt == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes")
        normal = ~(np.abs(x) < np.finfo(np.float32).tiny)
        theirs = x.astype(ml_dtypes.bfloat16).astype(np.float32)
        np.testing.assert_array_equal(ours[normal], theirs[normal])


# -- the policy ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_dtypes_are_reported_as_keras_does(fmt):
    layer = layers.Dense(3, dtype=fmt)
    layer.build((None, 4))
    assert (layer.dtype, layer.compute_dtype, layer.variable_dtype) == (fmt, fmt, fmt)
    assert layer.dtype_policy == keras.DTypePolicy(fmt) and layer.kernel.dtype == fmt
    kernel = layer.get_weights()[0]
    assert kernel.dtype == (np.float16 if fmt == "float16" else np.dtype(_bf16_type()))
    assert layer.get_config()["dtype"] == fmt
    again = layers.Dense.from_config(layer.get_config())
    assert again.dtype_policy.name == fmt
    kr = pytest.importorskip("keras")
    theirs = kr.layers.Dense(3, dtype=fmt)
    theirs.build((None, 4))
    for attr in ("dtype", "compute_dtype", "variable_dtype"):
        assert getattr(layer, attr) == getattr(theirs, attr), attr
    assert str(theirs.get_weights()[0].dtype) == str(kernel.dtype)


def _bf16_type():
    try:
        import ml_dtypes
    except ImportError:
        return np.float32
    return ml_dtypes.bfloat16


def test_bfloat16_weights_read_as_float32_without_ml_dtypes(monkeypatch):
    layer = layers.Dense(3, dtype="bfloat16")
    layer.build((None, 4))
    monkeypatch.setattr(storage_formats, "_bfloat16_type", lambda: None)
    kernel = layer.get_weights()[0]
    assert kernel.dtype == np.float32
    np.testing.assert_array_equal(kernel, held(layer.kernel))


@pytest.mark.parametrize("fmt", FORMATS)
def test_global_policy_and_summary(fmt, capsys):
    keras.mixed_precision.set_global_policy(fmt)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(8), layers.Dense(2)])
    assert {w.dtype for w in model.weights} == {fmt}
    assert model.get_config()["dtype"]["config"]["name"] == fmt
    model.summary()
    assert "Trainable params: 58 (116.00 B)" in capsys.readouterr().out  # 2 bytes each


# -- the values held -----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_weights_hold_values_of_the_format(fmt):
    model = _model(fmt)
    assert_in_format(model.weights, fmt)  # initialized
    rng = np.random.default_rng(1)
    values = [rng.normal(size=w.shape).astype("float32") for w in model.weights]
    model.set_weights(values)
    for w, v in zip(model.weights, values):
        np.testing.assert_array_equal(held(w), rounded(v, fmt))  # assigned: rounded
    x, y = _data()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert_in_format(model.weights, fmt)  # every step (moving statistics too)
    loop = keras.optimizers.SGD(0.37)
    weights = model.trainable_weights
    loop.apply([np.full(w.shape, 0.0123, np.float32) for w in weights], weights)
    assert_in_format(weights, fmt)  # a custom loop's step


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_step_is_the_mixed_step_rounded(fmt, optimizer):
    """Both keep float32 optimizer state, so from the same weights the 16-bit model's step is
    the mixed model's step with the weights then rounded, exactly."""

    def make(policy):
        opt = keras.optimizers.SGD(0.05, momentum=0.9) if optimizer == "sgd" else None
        return _model(policy, optimizer=opt)

    ours, mixed = make(fmt), make(f"mixed_{fmt}")
    x, y = _data(16)
    for _ in range(3):
        mixed.set_weights([held(w) for w in ours.weights])
        a = ours.train_on_batch(x, y)
        b = mixed.train_on_batch(x, y)
        assert a == b
        for w, v in zip(ours.weights, mixed.weights):
            np.testing.assert_array_equal(held(w), rounded(held(v), fmt), err_msg=w.path)


def test_small_updates_vanish_as_in_bfloat16():
    """A step smaller than half a bfloat16 ulp leaves the weight as it was (as Keras)."""
    model = _model("bfloat16", optimizer=keras.optimizers.SGD(1e-6))
    kernels = [w for w in model.trainable_weights if w.name in ("kernel", "gamma")]
    before = [held(w) for w in kernels]  # (zero biases would move: small values are exact)
    x, y = _data(16)
    model.train_on_batch(x, y)
    for a, w in zip(before, kernels):
        np.testing.assert_array_equal(a, held(w))


# -- weights of custom layers --------------------------------------------------------------
class _Scale(layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                     dtype="bfloat16")  # fmt: skip
        self.count = self.add_weight(shape=(), initializer="zeros", dtype="int32",
                                     trainable=False)  # fmt: skip

    def call(self, x):
        return x * self.scale


def test_add_weight_in_a_16_bit_format():
    layer = _Scale()
    model = keras.Sequential([keras.Input((5,)), layer, layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    assert (layer.scale.dtype, layer.count.dtype) == ("bfloat16", "int32")
    layer.count.assign(70001)  # an integer weight of a 16-bit layer is not rounded
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(32, 5)), rng.normal(size=(32, 1)), epochs=2, verbose=0)
    assert not np.all(held(layer.scale) == 1.0)
    assert_in_format([layer.scale], "bfloat16")
    assert int(layer.count.numpy()) == 70001


@pytest.mark.parametrize("fmt", FORMATS)
def test_keras_variable_in_a_16_bit_format(fmt):
    v = keras.Variable(np.full((2, 3), 1.0 + 2.0**-9), dtype=fmt)
    assert v.dtype == fmt
    np.testing.assert_array_equal(held(v), rounded(np.full((2, 3), 1.0 + 2.0**-9), fmt))
    v.assign(np.full((2, 3), 70000.0))
    assert np.all(held(v) == (np.inf if fmt == "float16" else 70144.0))


# -- files ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_save_load_resumes_bit_exactly(fmt, tmp_path):
    pytest.importorskip("h5py")
    x, y = _data()
    whole = _model(fmt)
    whole.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    part = _model(fmt)
    part.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    part.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert {w.dtype for w in loaded.weights} == {fmt}
    loaded.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(whole.weights, loaded.weights):
        np.testing.assert_array_equal(held(a), held(b))


@pytest.mark.parametrize("fmt", FORMATS)
def test_files_load_both_ways_with_keras(fmt, tmp_path):
    kr = pytest.importorskip("keras")
    h5py = pytest.importorskip("h5py")
    x, y = _data()
    kr.config.set_dtype_policy(fmt)
    theirs = kr.Sequential([kr.Input((12,)), kr.layers.Dense(16, activation="relu"),
                            kr.layers.Dense(3)])  # fmt: skip
    kr.config.set_dtype_policy("float32")
    theirs.compile(kr.optimizers.SGD(0.01), "mse")
    theirs.fit(x, y, batch_size=16, epochs=1, verbose=0)
    theirs.save(tmp_path / "keras.keras")
    ours = keras.saving.load_model(tmp_path / "keras.keras")
    assert [w.dtype for w in ours.weights] == [fmt] * 4
    for w, v in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(np.asarray(w, np.float32), np.asarray(v, np.float32))
    np.testing.assert_allclose(
        ours.predict(x, verbose=0),
        np.asarray(theirs.predict(x, verbose=0), np.float32),
        rtol=0.05,
        atol=0.05,
    )  # fmt: skip  (Keras computes element-wise in the format too)
    ours.fit(x, y, batch_size=16, epochs=1, verbose=0)
    ours.save(tmp_path / "ours.keras")
    import zipfile

    with zipfile.ZipFile(tmp_path / "ours.keras") as z:
        z.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5") as f:
        kernel = f["layers/dense/vars/0"]
        if fmt == "bfloat16":
            assert kernel.dtype == np.dtype("V2") and kernel.attrs["dtype"] == "bfloat16"
        else:
            assert kernel.dtype == np.float16
    again = kr.saving.load_model(tmp_path / "ours.keras")
    assert again.layers[0].dtype_policy.name == fmt
    for w, v in zip(ours.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(np.asarray(w, np.float32), np.asarray(v, np.float32))
    assert int(again.optimizer.iterations.numpy()) == 8


def test_a_bfloat16_entry_where_integers_belong_is_refused(tmp_path):
    from eigennet.saving import file_io

    h5py = pytest.importorskip("h5py")
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("a", data=np.zeros(3, np.uint16).view("V2"))
        f.create_dataset("b", data=np.zeros(3, np.uint8).view("V1"))
    with open(path, "rb") as fileobj:
        with pytest.raises(file_io.LoadError, match="not numeric"):
            file_io.ArrayStore.from_h5(fileobj, "w.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("a", data=np.array([0x3F80, 0xC000], np.uint16).view("V2"))
    with open(path, "rb") as fileobj:
        store = file_io.ArrayStore.from_h5(fileobj, "w.h5")
        np.testing.assert_array_equal(store.get("a"), [1.0, -2.0])
        with pytest.raises(file_io.LoadError, match="expected an integer"):
            store.get("a", integer=True)
        store.close()


@pytest.mark.parametrize("fmt, atol", [("bfloat16", 2e-2), ("float16", 2e-3)])
def test_training_matches_keras(fmt, atol):
    """Keras on the same weights, SGD: Keras also computes element-wise work in the format,
    so the figures agree to its precision, not bit for bit."""
    kr = pytest.importorskip("keras")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(256, 12)).astype("float32"), rng.integers(0, 3, 256)

    def stack(lib):
        return [
            lib.Input((12,)),
            lib.layers.Dense(32, activation="relu", dtype=fmt),
            lib.layers.Dense(3, dtype=fmt),
            lib.layers.Activation("softmax", dtype="float32"),
        ]

    keras.utils.set_random_seed(0)
    ours, theirs = keras.Sequential(stack(keras)), kr.Sequential(stack(kr))
    theirs.set_weights(ours.get_weights())
    ours.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    theirs.compile(kr.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    a = ours.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False).history["loss"]
    b = theirs.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(a, b, rtol=2e-3)
    for w, v in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(np.asarray(w, np.float32), np.asarray(v, np.float32), atol=atol)
