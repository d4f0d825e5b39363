"""quantize("int8") of Conv1D/Conv2D/Conv3D (an eigennet extension: Keras 3.15 quantizes no
convolution): the kernel per filter as Dense's per output channel, each receptive field
quantized at run time, the integer product; against the loop reference of tests/reference,
on every int8 kernel the CPU has; backward through the dequantized kernel; saving."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from tests.reference import conv as ref

import eigennet as keras
from eigennet import _core

KERNELS = ["reference", "vnni", "amx"]

CASES = [  # (layer arguments, sample shape)
    (dict(filters=8, kernel_size=3, activation="relu"), (9, 9, 3)),
    (dict(filters=4, kernel_size=3, padding="same", strides=2), (9, 8, 1)),  # one channel
    (dict(filters=5, kernel_size=1), (6, 6, 7)),  # 1x1: the input is its own column matrix
    (dict(filters=6, kernel_size=(2, 3), dilation_rate=2, activation="tanh"), (8, 9, 2)),
    (dict(filters=3, kernel_size=3, use_bias=False, padding="same"), (7, 7, 4)),
]
CASES_1D = [
    (dict(filters=6, kernel_size=5, padding="causal", dilation_rate=2), (20, 4)),
    (dict(filters=4, kernel_size=3, strides=2, padding="same"), (15, 3)),
    (dict(filters=3, kernel_size=7), (30, 1)),  # one channel: whole numbers in float
    (dict(filters=2, kernel_size=1050), (1056, 1)),  # too many taps for exact float sums
]


def _kernel_or_skip(kernel: str) -> str:
    if kernel != "reference" and not getattr(_core, f"int8_{kernel}_supported")():
        pytest.skip(f"this CPU has no int8 {kernel} kernel")
    return kernel


def _quantized(layer, shape):
    model = keras.Sequential([keras.Input(shape), layer])
    model.quantize("int8")
    return model


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("rank,args,shape", [(2, *c) for c in CASES] + [(1, *c) for c in CASES_1D])
def test_forward_matches_the_reference(kernel, rank, args, shape, monkeypatch):
    monkeypatch.setenv("EIGENNET_INT8_KERNEL", _kernel_or_skip(kernel))
    layer = (keras.layers.Conv2D if rank == 2 else keras.layers.Conv1D)(**args)
    model = _quantized(layer, shape)
    x = (np.random.default_rng(0).normal(size=(5, *shape)) * 2).astype("float32")
    x[1] = 0.0  # all-zero receptive fields: scale 127 / epsilon
    got = model.predict(x, verbose=0)
    bias = layer.bias.numpy() if layer.use_bias else None
    expected = ref.int8_forward(
        x, layer.kernel.numpy(), layer.kernel_scale.numpy(), bias, layer.strides,
        layer.padding, layer.dilation_rate, args.get("activation", "linear") or "linear",
    )  # fmt: skip
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_kernel_quantized_per_filter_and_close_to_float():
    layer = keras.layers.Conv3D(3, 2)
    model = keras.Sequential([keras.Input((5, 5, 5, 2)), layer])
    x = np.random.default_rng(1).normal(size=(4, 5, 5, 5, 2)).astype("float32")
    before, kernel = model.predict(x, verbose=0), layer.kernel.numpy()
    model.quantize("int8")
    scale = 127 / (np.abs(kernel).max(axis=(0, 1, 2, 3)) + 1e-7)
    np.testing.assert_array_equal(layer.kernel_scale.numpy(), scale.astype(np.float32))
    np.testing.assert_array_equal(
        layer.kernel.numpy(), np.clip(np.round(kernel * scale.astype(np.float32)), -127, 127)
    )
    assert [(w.name, w.dtype, w.trainable) for w in layer.weights] == [
        ("kernel", "int8", False),
        ("bias", "float32", True),
        ("kernel_scale", "float32", False),
    ]
    after = model.predict(x, verbose=0)
    np.testing.assert_allclose(after, before, atol=0.03 * np.abs(before).max())


def test_backward_through_the_dequantized_kernel():
    """One SGD step: the bias and a float layer before train as the reference says (dL/dx
    through kernel / kernel_scale); the int8 kernel stays."""
    first = keras.layers.Conv2D(3, 1, use_bias=False, name="first")
    conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")
    model = keras.Sequential([keras.Input((6, 6, 2)), first, conv, keras.layers.Flatten()])
    conv.quantize("int8")
    model.compile(keras.optimizers.SGD(0.5), "mse")
    rng = np.random.default_rng(2)
    x, t = rng.normal(size=(4, 6, 6, 2)).astype("float32"), rng.normal(size=(4, 144))
    w1 = first.kernel.numpy().astype(np.float64)
    kernel, scale, bias = conv.kernel.numpy(), conv.kernel_scale.numpy(), conv.bias.numpy()
    hidden = np.einsum("nhwc,cf->nhwf", x, w1[0, 0])
    y = conv(hidden.astype("float32")).astype(np.float64)
    dy = 2 * (y.reshape(4, -1) - t) / t.size
    dz = dy.reshape(y.shape) * (y > 0)  # relu's derivative at the int8 forward's outputs
    dequantized = kernel / scale
    _, db, dh = ref.backward(hidden, dequantized, bias, (1, 1), "same", (1, 1), dz)
    model.train_on_batch(x, t)
    np.testing.assert_allclose(conv.bias.numpy(), bias - 0.5 * db, rtol=1e-4, atol=1e-6)
    expected_first = w1[0, 0] - 0.5 * np.einsum("nhwc,nhwf->cf", x, dh)
    np.testing.assert_allclose(first.kernel.numpy()[0, 0], expected_first, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(conv.kernel.numpy(), kernel)


def test_trained_cnn_keeps_its_predictions(tmp_path):
    """A small CNN on scikit-learn's digits: int8 predictions agree with float32."""
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    x = (digits.images[order, ..., None] / 16).astype("float32")
    y = digits.target[order]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1400], y[:1400], epochs=10, batch_size=32, verbose=0)
    before = model.predict(x[1400:], verbose=0).argmax(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Flatten has no quantize()
        model.quantize("int8")
    after = model.predict(x[1400:], verbose=0)
    assert (before == y[1400:]).mean() > 0.9
    assert (after.argmax(-1) == before).mean() >= 0.99
    model.save(tmp_path / "cnn.keras")
    loaded = keras.models.load_model(tmp_path / "cnn.keras")
    assert loaded.layers[0].quantization_mode == "int8"
    assert loaded.layers[0].get_config()["dtype"]["class_name"] == "QuantizedDTypePolicy"
    np.testing.assert_array_equal(loaded.predict(x[1400:], verbose=0), after)


def test_errors_and_bad_input():
    class MyConv(keras.layers.Conv2D):
        pass

    mine = keras.Sequential([keras.Input((5, 5, 1)), MyConv(2, 3)])
    with pytest.raises(NotImplementedError, match="does not have a `quantize` method"):
        mine.layers[0].quantize("int8")
    mine.layers[0].quantize("int8", type_check=False)
    model = _quantized(keras.layers.Conv2D(2, 3), (5, 5, 1))
    x = np.ones((3, 5, 5, 1), np.float32)
    x[2, 4, 4, 0] = np.inf
    with pytest.raises(ValueError, match=r"NaN or inf \(first at sample 2\)"):
        model.predict(x, verbose=0)
    with pytest.raises(ValueError, match="already quantized"):
        model.quantize("int8")


@pytest.mark.parametrize("channels", [1, 3])
def test_non_finite_values_inside_the_model_name_the_sample(channels):
    """inf made inside the model (not in x): the int8 layer's own check names the sample."""
    model = keras.Sequential(
        [
            keras.Input((6, 6, channels)),
            keras.layers.Rescaling(1e20),
            keras.layers.Rescaling(1e20),  # 1e40: inf in float32
            keras.layers.Conv2D(2, 3),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Rescaling has no quantize()
        model.quantize("int8")
    x = np.zeros((4, 6, 6, channels), np.float32)
    x[1, 2, 3, 0] = 1.0
    with pytest.raises(ValueError, match="int8 Conv2D layer got NaN or inf in sample 1"):
        model.predict(x, verbose=0)
