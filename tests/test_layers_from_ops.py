"""Keras 3 layers that eigennet writes with `keras.ops` and traces into the native graph
(issue 15 §3): RepeatVector, Permute, ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D,
GaussianNoise, GaussianDropout, SpatialDropout1D/2D, ActivityRegularization and
UnitNormalization.

Each one: forward against a NumPy reference (on arrays, in Sequential and functional models),
float64 gradients against finite differences, fit/evaluate/predict, `.keras` round trips, bad
arguments; the noise layers' inference identity, training statistics, mask structure and
seeding; and parity with Keras 3 (torch backend) for outputs, output shapes, configs, error
types and files."""

import os

import numpy as np
import pytest

import eigennet
from eigennet import layers
from gradient_check import assert_gradients_match_finite_differences

os.environ.setdefault("KERAS_BACKEND", "torch")

RNG = np.random.default_rng(15)


@pytest.fixture(autouse=True)
def _seeded():
    global RNG
    eigennet.utils.set_random_seed(1515)
    RNG = np.random.default_rng(1515)


@pytest.fixture
def keras_ref():
    """Keras 3 on the torch backend (skips when it is not installed)."""
    if os.environ.get("KERAS_BACKEND", "torch") != "torch":
        pytest.skip("parity tests compare with Keras's torch backend")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


# -- NumPy references -------------------------------------------------------------------------
def _bilinear_reference(x, factors, channels_first=False):
    """Bilinear upsampling, half-pixel centres clamped at the border, one output at a time."""
    if channels_first:
        return _bilinear_reference(x.transpose(0, 2, 3, 1), factors).transpose(0, 3, 1, 2)
    n, h, w, c = x.shape
    out = np.zeros((n, h * factors[0], w * factors[1], c), dtype=np.float64)

    def source(i, size, factor):
        s = max((i + 0.5) / factor - 0.5, 0.0)
        lo = min(int(np.floor(s)), size - 1)
        return lo, min(lo + 1, size - 1), s - lo

    for i in range(out.shape[1]):
        y0, y1, fy = source(i, h, factors[0])
        for j in range(out.shape[2]):
            x0, x1, fx = source(j, w, factors[1])
            out[:, i, j] = (
                (1 - fy) * (1 - fx) * x[:, y0, x0]
                + (1 - fy) * fx * x[:, y0, x1]
                + fy * (1 - fx) * x[:, y1, x0]
                + fy * fx * x[:, y1, x1]
            )
    return out


def _unit_norm(x, axis):
    norm = np.sqrt(np.sum(np.square(x.astype(np.float64)), axis=axis, keepdims=True))
    return x / np.maximum(norm, 1e-12)


def _identity(x):
    return x


# (id, factory of the layer from a `layers` module (eigennet's or Keras's), sample shape,
# NumPy reference of the inference output)
CASES = [
    ("repeat_vector", lambda L: L.RepeatVector(3), (5,), lambda x: np.repeat(x[:, None], 3, 1)),
    ("permute_2d", lambda L: L.Permute((2, 1)), (4, 3), lambda x: x.transpose(0, 2, 1)),
    ("permute_3d", lambda L: L.Permute((3, 1, 2)), (2, 3, 4), lambda x: x.transpose(0, 3, 1, 2)),
    (
        "zero_padding1d",
        lambda L: L.ZeroPadding1D((1, 2)),
        (4, 3),
        lambda x: np.pad(x, ((0, 0), (1, 2), (0, 0))),
    ),
    (
        "zero_padding1d_cf",
        lambda L: L.ZeroPadding1D(2, data_format="channels_first"),
        (3, 4),
        lambda x: np.pad(x, ((0, 0), (0, 0), (2, 2))),
    ),
    (
        "zero_padding2d",
        lambda L: L.ZeroPadding2D(((1, 0), (2, 1))),
        (3, 4, 2),
        lambda x: np.pad(x, ((0, 0), (1, 0), (2, 1), (0, 0))),
    ),
    (
        "zero_padding2d_cf",
        lambda L: L.ZeroPadding2D(1, data_format="channels_first"),
        (2, 3, 3),
        lambda x: np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))),
    ),
    ("cropping1d", lambda L: L.Cropping1D((1, 2)), (6, 3), lambda x: x[:, 1:-2]),
    ("cropping1d_end0", lambda L: L.Cropping1D((2, 0)), (5, 2), lambda x: x[:, 2:]),
    (
        "cropping2d",
        lambda L: L.Cropping2D(((1, 0), (0, 2))),
        (4, 5, 2),
        lambda x: x[:, 1:, :-2],
    ),
    (
        "cropping2d_cf",
        lambda L: L.Cropping2D(1, data_format="channels_first"),
        (2, 4, 5),
        lambda x: x[:, :, 1:-1, 1:-1],
    ),
    ("upsampling1d", lambda L: L.UpSampling1D(3), (3, 2), lambda x: np.repeat(x, 3, 1)),
    (
        "upsampling2d",
        lambda L: L.UpSampling2D((2, 3)),
        (3, 2, 2),
        lambda x: np.repeat(np.repeat(x, 2, 1), 3, 2),
    ),
    (
        "upsampling2d_cf",
        lambda L: L.UpSampling2D(2, data_format="channels_first"),
        (2, 2, 3),
        lambda x: np.repeat(np.repeat(x, 2, 2), 2, 3),
    ),
    (
        "upsampling2d_bilinear",
        lambda L: L.UpSampling2D((2, 3), interpolation="bilinear"),
        (3, 4, 2),
        lambda x: _bilinear_reference(x, (2, 3)),
    ),
    (
        "upsampling2d_bilinear_cf",
        lambda L: L.UpSampling2D(3, data_format="channels_first", interpolation="bilinear"),
        (2, 3, 2),
        lambda x: _bilinear_reference(x, (3, 3), channels_first=True),
    ),
    ("gaussian_noise", lambda L: L.GaussianNoise(0.3, seed=3), (4,), _identity),
    ("gaussian_dropout", lambda L: L.GaussianDropout(0.4, seed=3), (3, 4), _identity),
    ("spatial_dropout1d", lambda L: L.SpatialDropout1D(0.5, seed=3), (4, 3), _identity),
    ("spatial_dropout2d", lambda L: L.SpatialDropout2D(0.5, seed=3), (3, 3, 2), _identity),
    (
        "spatial_dropout2d_cf",
        lambda L: L.SpatialDropout2D(0.5, data_format="channels_first", seed=3),
        (2, 3, 3),
        _identity,
    ),
    ("spatial_dropout3d", lambda L: L.SpatialDropout3D(0.5, seed=3), (2, 3, 2, 2), _identity),
    ("activity_regularization", lambda L: L.ActivityRegularization(0.01, 0.02), (4,), _identity),
    ("unit_normalization", lambda L: L.UnitNormalization(), (5,), lambda x: _unit_norm(x, -1)),
    (
        "unit_normalization_axes",
        lambda L: L.UnitNormalization(axis=[1, 2]),
        (3, 4),
        lambda x: _unit_norm(x, (1, 2)),
    ),
]
IDS = [c[0] for c in CASES]
NOISE = {"gaussian_noise", "gaussian_dropout", "spatial_dropout1d", "spatial_dropout2d",
         "spatial_dropout2d_cf", "spatial_dropout3d"}  # fmt: skip


def _data(shape, n=6, dtype="float32"):
    return RNG.normal(size=(n, *shape)).astype(dtype)


def _around(make, shape):
    """Sequential: a Dense before the layer (so gradients flow through it), then a head."""
    return eigennet.Sequential(
        [
            eigennet.Input(shape),
            layers.Dense(shape[-1], name="before"),
            make(layers),
            layers.Flatten(),
            layers.Dense(2, name="head"),
        ]
    )


# -- forward --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_matches_numpy_on_arrays_sequential_and_functional(case):
    _, make, shape, reference = case
    x = _data(shape)
    expected = reference(x)
    np.testing.assert_allclose(make(layers)(x), expected, rtol=1e-6, atol=1e-6)  # eager

    sequential = eigennet.Sequential([eigennet.Input(shape), make(layers)])
    assert sequential.output_shape == (None, *expected.shape[1:])
    np.testing.assert_allclose(sequential.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)

    inputs = eigennet.Input(shape)
    layer = make(layers)
    outputs = layer(inputs)
    assert outputs.shape == (None, *expected.shape[1:])
    assert layer.compute_output_shape((None, *shape)) == (None, *expected.shape[1:])
    functional = eigennet.Model(inputs, outputs)
    np.testing.assert_allclose(functional.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(functional(x), expected, rtol=1e-6, atol=1e-6)


def test_a_layer_shared_by_two_functional_branches():
    pad = layers.ZeroPadding1D(1)
    a, b = eigennet.Input((3, 2)), eigennet.Input((3, 2))
    model = eigennet.Model([a, b], layers.Add()([pad(a), pad(b)]))
    xa, xb = _data((3, 2)), _data((3, 2))
    expected = np.pad(xa + xb, ((0, 0), (1, 1), (0, 0)))
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), expected, rtol=1e-6, atol=1e-6)


def test_float64_models_compute_in_float64(float64):
    x = _data((3, 2, 2), dtype="float64")
    model = eigennet.Sequential(
        [eigennet.Input((3, 2, 2)), layers.UpSampling2D(2, interpolation="bilinear")]
    )
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, _bilinear_reference(x, (2, 2)), rtol=1e-12, atol=1e-12)


# -- gradients ------------------------------------------------------------------------------
def _frozen_noise(model):
    """Makes every random op of the model's graph draw the same values at each gradient
    evaluation (their streams rewound), so finite differences see one function."""
    model.predict(np.zeros((1, *model.input_shape[1:])), verbose=0)
    cores = [core for core, _ in model._network_nodes() if hasattr(core, "rng_state")]
    states = [core.rng_state for core in cores]
    compute = model._compute_gradients

    def rewound(x, y):
        for core, state in zip(cores, states):
            core.rng_state = state
        return compute(x, y)

    model._compute_gradients = rewound
    return cores


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float64_gradients_match_finite_differences(float64, case):
    name, make, shape, _ = case
    model = _around(make, shape)
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data(shape, n=4, dtype="float64"), RNG.normal(size=(4, 2))
    if name in NOISE:  # training draws noise: the same draw for every evaluation
        assert _frozen_noise(model)
        first, again = model._compute_gradients(x, y)[0], model._compute_gradients(x, y)[0]
        assert first == again
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)


def test_unit_normalization_of_zeros_is_zero_with_zero_gradients(float64):
    model = eigennet.Sequential(
        [
            eigennet.Input((3,)),
            layers.Dense(3, kernel_initializer="zeros"),
            layers.UnitNormalization(),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((2, 3))
    np.testing.assert_array_equal(model.predict(x, verbose=0), 0.0)
    _, grads = model._compute_gradients(x, np.ones((2, 3)))
    assert all(np.isfinite(g).all() for g in grads)


# -- training, saving -------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fit_evaluate_predict_and_keras_file_round_trip(case, tmp_path):
    _, make, shape, _ = case
    model = _around(make, shape)
    model.compile(optimizer="adam", loss="mse")
    x, y = _data(shape, n=32), RNG.normal(size=(32, 2)).astype("float32")
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    predicted = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = eigennet.models.load_model(path)
    layer, again = model.layers[1], loaded.layers[1]
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), predicted, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0))
    loaded.fit(x, y, epochs=1, verbose=0)  # compiled, trains on
    config = model.get_config()["layers"][2]
    assert config["module"] == "keras.layers" and config["class_name"] == type(layer).__name__


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_from_config_remakes_the_layer(case):
    _, make, _, _ = case
    layer = make(layers)
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config


# -- noise layers: inference, training statistics, masks, seeds ----------------------------------
NOISE_MAKERS = {
    "gaussian_noise": lambda seed=None: layers.GaussianNoise(0.3, seed=seed),
    "gaussian_dropout": lambda seed=None: layers.GaussianDropout(0.3, seed=seed),
    "spatial_dropout1d": lambda seed=None: layers.SpatialDropout1D(0.3, seed=seed),
    "spatial_dropout2d": lambda seed=None: layers.SpatialDropout2D(0.3, seed=seed),
    "spatial_dropout3d": lambda seed=None: layers.SpatialDropout3D(0.3, seed=seed),
}
NOISE_SHAPES = {
    "gaussian_noise": (50,),
    "gaussian_dropout": (50,),
    "spatial_dropout1d": (10, 8),
    "spatial_dropout2d": (4, 5, 8),
    "spatial_dropout3d": (2, 3, 2, 8),
}


@pytest.mark.parametrize("name", sorted(NOISE_MAKERS))
def test_noise_layers_are_the_identity_in_inference(name):
    shape = NOISE_SHAPES[name]
    x = _data(shape, n=16)
    layer = NOISE_MAKERS[name]()
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert not np.array_equal(layer(x, training=True), x)
    model = eigennet.Sequential([eigennet.Input(shape), NOISE_MAKERS[name]()])
    model.compile(optimizer="sgd", loss="mse")
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(model(x), x)
    assert model.evaluate(x, x, verbose=0) == 0.0
    assert not np.array_equal(model(x, training=True), x)


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
@pytest.mark.parametrize("name", sorted(NOISE_MAKERS))
def test_noise_is_applied_in_fit(name):
    shape = NOISE_SHAPES[name]
    model = eigennet.Sequential([eigennet.Input(shape), NOISE_MAKERS[name]()])
    model.compile(optimizer="sgd", loss="mse")
    x = 1.0 + _data(shape, n=64) ** 2  # away from zero, so multiplicative noise shows
    loss = model.fit(x, x, epochs=1, batch_size=16, verbose=0).history["loss"][0]
    assert loss > 0.01 and model.evaluate(x, x, verbose=0) == 0.0


def _native_training_output(layer, x):
    model = eigennet.Sequential([eigennet.Input(x.shape[1:]), layer])
    return model(x, training=True)


def test_gaussian_noise_statistics():
    x = np.full((400, 50), 2.0, dtype="float32")
    for out in (_native_training_output(layers.GaussianNoise(0.3), x),
                layers.GaussianNoise(0.3)(x, training=True)):  # fmt: skip
        noise = out - x
        assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.3) < 0.01
        assert abs(np.corrcoef(noise[:, 0], noise[:, 1])[0, 1]) < 0.15  # independent draws


def test_gaussian_dropout_statistics():
    x = np.full((400, 50), 2.0, dtype="float32")
    rate = 0.3
    for out in (_native_training_output(layers.GaussianDropout(rate), x),
                layers.GaussianDropout(rate)(x, training=True)):  # fmt: skip
        factor = out / x
        assert abs(factor.mean() - 1.0) < 0.02
        assert abs(factor.std() - np.sqrt(rate / (1 - rate))) < 0.02


@pytest.mark.parametrize(
    "make, shape, shared",
    [
        (lambda: layers.SpatialDropout1D(0.4), (12, 16), (1,)),
        (lambda: layers.SpatialDropout2D(0.4), (3, 4, 16), (1, 2)),
        (lambda: layers.SpatialDropout2D(0.4, data_format="channels_first"), (16, 3, 4), (2, 3)),
        (lambda: layers.SpatialDropout3D(0.4), (2, 3, 2, 16), (1, 2, 3)),
        (
            lambda: layers.SpatialDropout3D(0.4, data_format="channels_first"),
            (16, 2, 3, 2),
            (2, 3, 4),
        ),  # fmt: skip
    ],
    ids=["1d", "2d", "2d_channels_first", "3d", "3d_channels_first"],
)
def test_spatial_dropout_drops_whole_channels(make, shape, shared):
    x = np.ones((200, *shape), dtype="float32")
    for out in (_native_training_output(make(), x), make()(x, training=True)):
        np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.6], rtol=1e-6)
        first = out[(slice(None), *[slice(0, 1) if a in shared else slice(None)
                                    for a in range(1, len(shape) + 1)])]  # fmt: skip
        np.testing.assert_array_equal(out, np.broadcast_to(first, out.shape))  # one draw per map
        dropped = float(np.mean(first == 0))
        assert abs(dropped - 0.4) < 0.05


@pytest.mark.parametrize("name", sorted(NOISE_MAKERS))
def test_noise_is_deterministic_under_set_random_seed(name):
    shape = NOISE_SHAPES[name]
    x, y = _data(shape, n=32), _data(shape, n=32)

    def run(seed):
        eigennet.utils.set_random_seed(seed)
        model = eigennet.Sequential(
            [eigennet.Input(shape), layers.Dense(shape[-1]), NOISE_MAKERS[name]()]
        )
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        return model(x, training=True), history.history["loss"]

    first, again, other = run(7), run(7), run(8)
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1]
    assert not np.array_equal(first[0], other[0])
    layer_a, layer_b = NOISE_MAKERS[name](seed=11), NOISE_MAKERS[name](seed=11)
    np.testing.assert_array_equal(layer_a(x, training=True), layer_b(x, training=True))


def test_rate_zero_layers_are_the_identity_in_training():
    x = _data((3, 4), n=8)
    for make in (lambda: layers.GaussianNoise(0.0), lambda: layers.GaussianDropout(0.0),
                 lambda: layers.SpatialDropout1D(0.0)):  # fmt: skip
        np.testing.assert_array_equal(make()(x, training=True), x)
        model = eigennet.Sequential([eigennet.Input((3, 4)), layers.Dense(4), make()])
        np.testing.assert_array_equal(model(x, training=True), model.predict(x, verbose=0))


def test_spatial_dropout_rate_one_drops_everything_in_training():
    x = _data((3, 4), n=8)
    np.testing.assert_array_equal(_native_training_output(layers.SpatialDropout1D(1.0), x), 0.0)


# -- ActivityRegularization -------------------------------------------------------------------
def test_activity_regularization_adds_its_penalty_divided_by_the_batch_size():
    l1, l2 = 0.01, 0.02
    model = eigennet.Sequential([eigennet.Input((4,)), layers.ActivityRegularization(l1, l2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data((4,), n=10), _data((4,), n=10)
    penalty = (l1 * np.abs(x).sum() + l2 * np.square(x).sum()) / len(x)
    mse = np.mean((x - y) ** 2)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), mse + penalty, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    layer = layers.ActivityRegularization(l1, l2)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_allclose(float(np.sum(layer.losses)), penalty, rtol=1e-5)
    assert layers.ActivityRegularization().get_config()["l1"] == 0.0


def test_activity_regularizer_argument_of_the_other_layers():
    model = eigennet.Sequential(
        [eigennet.Input((3,)), layers.RepeatVector(2, activity_regularizer="l2")]
    )
    model.compile(optimizer="sgd", loss="mse")
    x = _data((3,), n=8)
    expected = 0.01 * 2 * np.square(x).sum() / len(x)
    np.testing.assert_allclose(model.evaluate(x, np.repeat(x[:, None], 2, 1), verbose=0),
                               expected, rtol=1e-5)  # fmt: skip
    assert model.layers[0].get_config()["activity_regularizer"]["class_name"] == "L2"


# -- bad arguments ------------------------------------------------------------------------------
# (constructor, error type; True when Keras raises the same type)
BAD_ARGUMENTS = [
    (lambda L: L.RepeatVector(2.0), TypeError, True),
    (lambda L: L.RepeatVector(0), ValueError, True),
    (lambda L: L.Permute((1, 3)), ValueError, True),
    (lambda L: L.Permute((0, 1)), ValueError, True),
    (lambda L: L.ZeroPadding1D(-1), ValueError, True),
    (lambda L: L.ZeroPadding1D((1, 2, 3)), ValueError, True),
    (lambda L: L.ZeroPadding1D(1, data_format="channels_middle"), ValueError, True),
    (lambda L: L.ZeroPadding2D((1, 2, 3)), ValueError, True),
    (lambda L: L.ZeroPadding2D(((1, -1), (0, 0))), ValueError, True),
    (lambda L: L.ZeroPadding2D("same"), ValueError, True),
    (lambda L: L.Cropping1D(-1), ValueError, True),
    (lambda L: L.Cropping2D(-2), ValueError, True),
    (lambda L: L.Cropping2D(((1, 2), (3,))), ValueError, True),
    (lambda L: L.Cropping2D(None), ValueError, True),
    (lambda L: L.UpSampling1D(1.5), TypeError, True),
    (lambda L: L.UpSampling1D(0), ValueError, True),
    (lambda L: L.UpSampling2D(0), ValueError, True),
    (lambda L: L.UpSampling2D((2, 2, 2)), ValueError, True),
    (lambda L: L.UpSampling2D(2, interpolation="cubic"), ValueError, False),
    (lambda L: L.GaussianNoise(1.5), ValueError, True),
    (lambda L: L.GaussianNoise(-0.1), ValueError, True),
    (lambda L: L.GaussianNoise("0.1"), TypeError, True),
    (lambda L: L.GaussianDropout(2.0), ValueError, True),
    (lambda L: L.SpatialDropout1D(-0.5), ValueError, True),
    (lambda L: L.SpatialDropout2D(0.5, data_format="nhwc"), ValueError, True),
    (lambda L: L.ActivityRegularization(l1=-1.0), ValueError, True),
    (lambda L: L.UnitNormalization(axis="last"), TypeError, True),
    (lambda L: L.RepeatVector(2, unknown_argument=1), ValueError, True),
]


@pytest.mark.parametrize("make, error, _", BAD_ARGUMENTS)
def test_bad_arguments_raise(make, error, _):
    with pytest.raises(error):
        make(layers)


# (layer, input sample shape): raised when the layer is called on symbolic tensors or arrays
BAD_INPUTS = [
    (lambda L: L.RepeatVector(2), (3, 4)),
    (lambda L: L.Permute((2, 1)), (3,)),
    (lambda L: L.ZeroPadding2D(1), (3, 4)),
    (lambda L: L.Cropping1D((2, 2)), (4, 3)),
    (lambda L: L.Cropping2D(((2, 2), (0, 0))), (4, 5, 1)),
    (lambda L: L.UpSampling1D(2), (3, 4, 5)),
    (lambda L: L.SpatialDropout1D(0.5), (3,)),
    (lambda L: L.UnitNormalization(axis=3), (3, 4)),
]


@pytest.mark.parametrize("make, shape", BAD_INPUTS)
def test_bad_input_shapes_raise_value_error(make, shape):
    with pytest.raises(ValueError):
        make(layers)(eigennet.Input(shape))
    with pytest.raises(ValueError):
        make(layers)(np.zeros((2, *shape), dtype="float32"), training=True)


def test_gaussian_dropout_rate_one_cannot_train():
    layer = layers.GaussianDropout(1.0)
    x = _data((3,))
    np.testing.assert_array_equal(layer(x), x)  # the identity in inference, as Keras
    with pytest.raises(ValueError, match="rate"):
        layer(x, training=True)


# -- parity with Keras 3 ------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_parity_with_keras_outputs_shapes_and_configs(keras_ref, case):
    _, make, shape, _ = case
    x = _data(shape)
    ours, theirs = make(layers), make(keras_ref.layers)
    np.testing.assert_allclose(
        ours(x), keras_ref.ops.convert_to_numpy(theirs(x)), rtol=1e-5, atol=1e-6
    )
    assert tuple(ours.compute_output_shape((None, *shape))) == tuple(
        theirs.compute_output_shape((None, *shape))
    )
    k_inputs = keras_ref.Input(shape)
    assert eigennet.Sequential([eigennet.Input(shape), make(layers)]).output_shape == tuple(
        theirs(k_inputs).shape
    )
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(theirs_config)
    for key in set(theirs_config) - {"name", "dtype"}:
        assert ours_config[key] == theirs_config[key], key


@pytest.mark.parametrize("make, error, same_in_keras", BAD_ARGUMENTS)
def test_parity_with_keras_error_types(keras_ref, make, error, same_in_keras):
    if not same_in_keras:
        pytest.skip("eigennet differs on purpose (documented)")
    with pytest.raises(error):
        make(keras_ref.layers)


def test_parity_activity_regularization_loss(keras_ref):
    x, y = _data((4,), n=10), _data((4,), n=10)
    values = []
    for k in (eigennet, keras_ref):
        model = k.Sequential([k.Input((4,)), k.layers.ActivityRegularization(0.01, 0.02)])
        model.compile(optimizer="sgd", loss="mse")
        values.append(model.evaluate(x, y, batch_size=10, verbose=0))
    np.testing.assert_allclose(values[0], values[1], rtol=1e-5)


def test_keras_reads_our_config_and_we_load_keras_files(keras_ref, tmp_path):
    """Keras remakes a model with every layer from eigennet's JSON; eigennet loads Keras's
    `.keras` file of the same model with its weights and predicts the same."""

    def build(k):
        return k.Sequential(
            [
                k.Input((6,)),
                k.layers.Dense(4),
                k.layers.ActivityRegularization(0.01),
                k.layers.GaussianNoise(0.1, seed=1),
                k.layers.GaussianDropout(0.1, seed=1),
                k.layers.UnitNormalization(),
                k.layers.RepeatVector(4),
                k.layers.Permute((2, 1)),
                k.layers.SpatialDropout1D(0.2, seed=1),
                k.layers.ZeroPadding1D(1),
                k.layers.Cropping1D((1, 2)),
                k.layers.UpSampling1D(2),
                k.layers.Reshape((4, 3, 2)),
                k.layers.ZeroPadding2D(((1, 0), (0, 1))),
                k.layers.Cropping2D(((0, 1), (1, 0))),
                k.layers.UpSampling2D(2, interpolation="bilinear"),
                k.layers.SpatialDropout2D(0.2, seed=1),
                k.layers.Flatten(),
                k.layers.Dense(1),
            ]
        )

    ours = build(eigennet)
    theirs = keras_ref.models.model_from_json(ours.to_json())
    assert [type(layer).__name__ for layer in theirs.layers] == [
        type(layer).__name__ for layer in ours.layers
    ]
    assert theirs.output_shape == ours.output_shape

    reference = build(keras_ref)
    path = tmp_path / "keras_model.keras"
    reference.save(path)
    loaded = eigennet.models.load_model(path)
    x = _data((6,), n=5)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), reference.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
