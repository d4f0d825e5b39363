"""Max/average pooling and global pooling: forward and backward against the NumPy reference,
shapes, config and bad arguments."""

import numpy as np
import pytest

import eigennet
import eigennet as keras
from eigennet import _core
from reference import pooling as ref

layers = eigennet.layers

# (rank, sample shape, pool_size, strides, padding)
CASES = [
    (2, (6, 6, 3), (2, 2), None, "valid"),
    (2, (7, 5, 2), (2, 2), None, "valid"),  # leftover rows/cols are dropped
    (2, (7, 5, 2), (2, 2), None, "same"),  # uneven padding: one after the data
    (2, (6, 7, 2), (3, 3), (1, 1), "same"),  # even padding
    (2, (6, 7, 2), (3, 2), (2, 3), "same"),
    (2, (8, 8, 1), (4, 4), (3, 2), "same"),  # mixed: even on one axis, uneven on the other
    (2, (5, 9, 2), (2, 3), (1, 2), "valid"),
    (2, (3, 3, 2), (3, 3), (3, 3), "same"),
    (2, (7, 8, 2), (2, 2), (3, 3), "valid"),  # gaps between windows
    (2, (7, 8, 2), (2, 1), (3, 2), "same"),
    (1, (9, 3), (2,), None, "valid"),
    (1, (9, 3), (2,), None, "same"),
    (1, (10, 2), (3,), (1,), "same"),
    (1, (10, 2), (4,), (3,), "same"),
    (1, (10, 2), (3,), (2,), "valid"),
    (1, (6, 2), (6,), (1,), "same"),
    (1, (10, 2), (2,), (3,), "same"),
    (1, (70, 80), (3,), None, "valid"),  # more channels than one group of the backward pass
]
CLASSES = {
    (1, "max"): layers.MaxPooling1D,
    (2, "max"): layers.MaxPooling2D,
    (1, "average"): layers.AveragePooling1D,
    (2, "average"): layers.AveragePooling2D,
}
GLOBAL = {
    (1, "max"): layers.GlobalMaxPooling1D,
    (2, "max"): layers.GlobalMaxPooling2D,
    (1, "average"): layers.GlobalAveragePooling1D,
    (2, "average"): layers.GlobalAveragePooling2D,
}


def case_id(case):
    rank, shape, pool, strides, padding = case
    return f"{'x'.join(map(str, shape))}-p{pool}-s{strides}-{padding}"


def vjp(layer, x, dy):
    fn = getattr(_core, f"layer_vjp_{layer.dtype}")
    y, grad, dx = fn(layer._core, x.reshape(len(x), -1), dy.reshape(len(x), -1))
    assert grad.size == 0
    return y.reshape(dy.shape), dx.reshape(x.shape)


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pooling_matches_reference(case, mode, dtype):
    rank, shape, pool, strides, padding = case
    layer = CLASSES[rank, mode](pool, strides=strides, padding=padding, dtype=dtype)
    layer.build((None, *shape))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, *shape))
    expected = ref.forward(mode, x, pool, strides or pool, padding)
    assert layer.output_shape == (None, *expected.shape[1:])
    dy = rng.normal(size=expected.shape)
    y, dx = vjp(layer, x.astype(dtype), dy.astype(dtype))
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, expected, **tol)
    dx_expected = ref.backward(mode, x.astype(dtype), pool, strides or pool, padding, dy)
    np.testing.assert_allclose(dx, dx_expected, **tol)


def test_max_pooling_ties_go_to_the_first_maximum():
    """After a relu many window values are 0; the gradient goes to the first in window order."""
    layer = layers.MaxPooling2D(2, dtype="float64")
    layer.build((None, 2, 4, 1))
    x = np.array([[0.0, 0.0, 1.0, 3.0], [0.0, 0.0, 3.0, 2.0]]).reshape(1, 2, 4, 1)
    y, dx = vjp(layer, x, np.array([5.0, 7.0]).reshape(1, 1, 2, 1))
    np.testing.assert_array_equal(y.ravel(), [0, 3])
    np.testing.assert_array_equal(dx[0, :, :, 0], [[5, 0, 0, 7], [0, 0, 0, 0]])


def test_max_pooling_propagates_nan():
    layer = layers.MaxPooling1D(3, dtype="float64")
    layer.build((None, 3, 1))
    x = np.array([[[1.0], [np.nan], [2.0]]])
    y, _ = vjp(layer, x, np.ones((1, 1, 1)))  # (NaN inputs are refused by fit and predict)
    assert np.isnan(y).all()


def test_average_pooling_same_border_averages_only_data():
    """Keras's rule (TensorFlow, JAX, keras-team/keras#23233): the border window of
    [10, 20] with pool 3, stride 2, padding same is (10 + 20) / 2."""
    layer = layers.AveragePooling1D(3, strides=2, padding="same", dtype="float64")
    out = layer(np.array([10.0, 20.0]).reshape(1, 2, 1))
    np.testing.assert_allclose(out.ravel(), [15.0])


@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(rank, mode, keepdims):
    shape = (7, 3) if rank == 1 else (4, 5, 3)
    layer = GLOBAL[rank, mode](keepdims=keepdims, dtype="float64")
    layer.build((None, *shape))
    channels_out = (1,) * rank + (3,) if keepdims else (3,)
    assert layer.output_shape == (None, *channels_out)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, *shape))
    axes = tuple(range(1, rank + 1))
    reduce = np.max if mode == "max" else np.mean
    expected = reduce(x, axis=axes, keepdims=keepdims)
    dy = rng.normal(size=expected.shape)
    y, dx = vjp(layer, x, dy)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    window = shape[:-1]
    dx_expected = ref.backward(mode, x, window, window, "valid", dy.reshape(4, *(1,) * rank, 3))
    np.testing.assert_allclose(dx, dx_expected, rtol=1e-12)


def test_defaults_and_config():
    assert layers.MaxPooling1D().pool_size == (2,)
    pool = layers.MaxPooling2D()
    assert pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid"
    avg = layers.AveragePooling2D(3, strides=(1, 2), padding="Same", name="p")
    config = avg.get_config()
    assert {k: config[k] for k in ("pool_size", "strides", "padding", "data_format")} == {
        "pool_size": (3, 3),
        "strides": (1, 2),
        "padding": "same",
        "data_format": "channels_last",
    }
    assert layers.AveragePooling2D.from_config(config).get_config() == config
    g = layers.GlobalMaxPooling1D(keepdims=True)
    assert g.get_config()["keepdims"] is True and g.get_config()["data_format"] == "channels_last"
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: layers.MaxPooling2D(0), "pool_size"),
        (lambda: layers.MaxPooling2D((2, 2, 2)), "pool_size"),
        (lambda: layers.AveragePooling1D(2, strides=0), "strides"),
        (lambda: layers.MaxPooling1D(padding="causal"), "padding"),
        (lambda: layers.AveragePooling2D(2, data_format="channels_first"), "channels_last"),
        (lambda: layers.GlobalMaxPooling2D(data_format="NCHW"), "data_format"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_input_shapes_name_the_layer():
    with pytest.raises(ValueError, match=r"'pool'.*\(batch, rows, cols, channels\)"):
        eigennet.Sequential([eigennet.Input(shape=(8, 3)), layers.MaxPooling2D(name="pool")])
    with pytest.raises(ValueError, match=r"'gap'.*\(batch, steps, channels\)"):
        eigennet.Sequential(
            [eigennet.Input(shape=(8, 8, 3)), layers.GlobalAveragePooling1D(name="gap")]
        )
    with pytest.raises(ValueError, match=r"'tiny'.*pool_size \(3, 3\)"):
        eigennet.Sequential([eigennet.Input(shape=(2, 8, 3)), layers.MaxPooling2D(3, name="tiny")])


def test_pooling_trains_inside_a_model():
    """Pooling layers have no weights but pass gradients to the layers below."""
    rng = np.random.default_rng(2)
    model = eigennet.Sequential(
        [
            eigennet.Input(shape=(8, 8, 1)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.AveragePooling2D(2),
            layers.GlobalMaxPooling2D(),
            layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    x = rng.random((32, 8, 8, 1)).astype(np.float32)
    y = x.reshape(32, -1).max(axis=1, keepdims=True)
    before = model.layers[0].get_weights()[0].copy()
    history = model.fit(x, y, epochs=20, verbose=0)
    assert not np.array_equal(model.layers[0].get_weights()[0], before)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.count_params() == 4 * 9 + 4 + 5


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_channels_first(rank, mode, keepdims):
    """channels_first (keras-io's timeseries transformer pools the features of each step
    with it): the max or mean over axes 2.., on arrays and traced, as Keras."""
    cls = getattr(keras.layers, f"Global{'Max' if mode == 'max' else 'Average'}Pooling{rank}D")
    x = np.random.default_rng(rank).normal(size=(3, 4, *([5, 6, 2][:rank]))).astype("float32")
    axes = tuple(range(2, 2 + rank))
    reduce = np.max if mode == "max" else np.mean
    expected = reduce(x, axis=axes, keepdims=keepdims)
    layer = cls(data_format="channels_first", keepdims=keepdims)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-6)
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, keras.layers.Dense(1)(cls(data_format="channels_first")(inputs)))
    assert model.layers[1].output.shape == (None, 4)
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((3, 1)), verbose=0)
    head = model.layers[-1]
    pooled = reduce(x, axis=axes)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), pooled @ head.kernel.numpy() + head.bias.numpy(), rtol=1e-5
    )
    assert cls.from_config(layer.get_config()).data_format == "channels_first"
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, channels"):
        cls(data_format="channels_first")(x[..., 0])
