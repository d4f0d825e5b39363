"""Keras 3's preprocessing and augmentation layers (issue 15 §4), written with `keras.ops` and
traced into the native graph: `utils.pad_sequences`, Rescaling, Normalization (with `adapt`
over arrays, memmaps, PyDatasets and generators), CenterCrop, Resizing, RandomFlip,
RandomContrast and RandomBrightness.

Each one: forward against a NumPy reference (on arrays, in Sequential and functional models),
float64 gradients against finite differences, fit/evaluate/predict, `.keras` round trips, bad
arguments; the random layers' inference identity and seeding; and parity with Keras 3 (torch
backend) for outputs, output shapes, configs, weights and error types."""

import json
import os

import numpy as np
import pytest

import eigennet
from eigennet import layers
from gradient_check import assert_gradients_match_finite_differences

os.environ.setdefault("KERAS_BACKEND", "torch")

RNG = np.random.default_rng(4)


@pytest.fixture(autouse=True)
def _seeded():
    global RNG
    eigennet.utils.set_random_seed(404)
    RNG = np.random.default_rng(404)


@pytest.fixture
def keras_ref():
    """Keras 3 on the torch backend (skips when it is not installed)."""
    if os.environ.get("KERAS_BACKEND", "torch") != "torch":
        pytest.skip("parity tests compare with Keras's torch backend")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


def _json(config):
    """A config as a `.keras` file holds it (tuples become lists)."""
    return json.loads(json.dumps(config))


def _np(keras_ref, value):
    return np.asarray(keras_ref.ops.convert_to_numpy(value))


# -- pad_sequences ------------------------------------------------------------------------------
SEQUENCES = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
PAD_CASES = [
    {},
    {"maxlen": 3},
    {"maxlen": 6, "padding": "post"},
    {"maxlen": 2, "truncating": "post"},
    {"maxlen": 4, "padding": "post", "truncating": "post", "value": -1},
    {"dtype": "float32", "value": 0.5},
]


def _pad_reference(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                   value=0.0):  # fmt: skip
    maxlen = max(len(s) for s in sequences) if maxlen is None else maxlen
    rows = []
    for s in sequences:
        s = list(s)[-maxlen:] if truncating == "pre" else list(s)[:maxlen]
        fill = [value] * (maxlen - len(s))
        rows.append(fill + s if padding == "pre" else s + fill)
    return np.array(rows, dtype=dtype)


@pytest.mark.parametrize("kwargs", PAD_CASES)
def test_pad_sequences_matches_a_reference(kwargs):
    out = eigennet.utils.pad_sequences(SEQUENCES, **kwargs)
    expected = _pad_reference(SEQUENCES, **kwargs)
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)
    again = eigennet.preprocessing.sequence.pad_sequences(SEQUENCES, **kwargs)
    np.testing.assert_array_equal(again, out)


def test_pad_sequences_of_vectors_and_strings():
    seqs = [np.ones((2, 3)), np.zeros((1, 3))]
    out = eigennet.utils.pad_sequences(seqs, dtype="float32", padding="post")
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[1, 1], 0.0)
    text = eigennet.utils.pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert text.tolist() == [["a", "b"], ["<pad>", "c"]]


PAD_ERRORS = [
    (lambda f: f(5), ValueError),
    (lambda f: f([[1], 2]), ValueError),
    (lambda f: f([[1], [2]], padding="middle"), ValueError),
    (lambda f: f([[1], [2]], truncating="middle"), ValueError),
    (lambda f: f([[1], [2]], value="x"), ValueError),
    (lambda f: f([[[1, 2]], [[1, 2, 3]]]), ValueError),
    (lambda f: f([["a"], [1]]), ValueError),  # a non-numeric element in an int array
]


@pytest.mark.parametrize("call, error", PAD_ERRORS)
def test_pad_sequences_bad_input(call, error):
    with pytest.raises(error):
        call(eigennet.utils.pad_sequences)


@pytest.mark.parametrize("kwargs", PAD_CASES)
def test_parity_pad_sequences(keras_ref, kwargs):
    ours = eigennet.utils.pad_sequences(SEQUENCES, **kwargs)
    theirs = keras_ref.utils.pad_sequences(SEQUENCES, **kwargs)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(
        eigennet.preprocessing.sequence.pad_sequences(SEQUENCES, **kwargs),
        keras_ref.preprocessing.sequence.pad_sequences(SEQUENCES, **kwargs),
    )


@pytest.mark.parametrize("call, error", PAD_ERRORS)
def test_parity_pad_sequences_errors(keras_ref, call, error):
    with pytest.raises(error):
        call(keras_ref.utils.pad_sequences)


# -- the layers: cases shared by forward, gradient, training and parity tests --------------------
def _resize_reference(x, size, interpolation="bilinear", channels_first=False, crop=False):
    """Resizing one output pixel at a time, PyTorch's `F.interpolate` rules."""
    if channels_first:
        moved = x.transpose(0, 2, 3, 1)
        return _resize_reference(moved, size, interpolation, False, crop).transpose(0, 3, 1, 2)
    n, h, w, c = x.shape
    if crop:
        ch = max(min(h, int(float(w * size[0]) / size[1])), 1)
        cw = max(min(w, int(float(h * size[1]) / size[0])), 1)
        top, left = int((h - ch) / 2), int((w - cw) / 2)
        x = x[:, top : top + ch, left : left + cw]
        h, w = ch, cw
    out = np.zeros((n, *size, c), dtype=np.float64)

    def source(i, size_in, size_out):
        if interpolation == "nearest":
            j = min(int(np.floor((i + 0.5) * size_in / size_out)), size_in - 1)
            return j, j, 0.0
        s = max((i + 0.5) * size_in / size_out - 0.5, 0.0)
        lo = min(int(np.floor(s)), size_in - 1)
        return lo, min(lo + 1, size_in - 1), s - lo

    for i in range(size[0]):
        y0, y1, fy = source(i, h, size[0])
        for j in range(size[1]):
            x0, x1, fx = source(j, w, size[1])
            out[:, i, j] = ((1 - fy) * (1 - fx) * x[:, y0, x0] + (1 - fy) * fx * x[:, y0, x1]
                            + fy * (1 - fx) * x[:, y1, x0] + fy * fx * x[:, y1, x1])  # fmt: skip
    return out


def _normalized(mean, variance):
    return lambda x: (x - mean) / np.maximum(np.sqrt(variance), 1e-7)


def _identity(x):
    return x


# (id, factory from a `layers` module (eigennet's or Keras's), sample shape, NumPy reference
# of the inference output)
CASES = [
    ("rescaling", lambda L: L.Rescaling(0.5, offset=-1.0), (3, 2), lambda x: x * 0.5 - 1.0),
    (
        "rescaling_per_channel",
        lambda L: L.Rescaling([1.0, 2.0, 3.0], offset=[0.0, 1.0, 2.0]),
        (2, 3),
        lambda x: x * np.array([1.0, 2.0, 3.0]) + np.array([0.0, 1.0, 2.0]),
    ),
    (
        "normalization_fixed",
        lambda L: L.Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 1.0]),
        (3,),
        _normalized(np.array([1.0, -2.0, 0.5]), np.array([4.0, 0.25, 1.0])),
    ),
    (
        "normalization_fixed_scalar_axis_none",
        lambda L: L.Normalization(axis=None, mean=2.0, variance=9.0),
        (2, 3),
        _normalized(2.0, 9.0),
    ),
    (
        "normalization_fixed_invert",
        lambda L: L.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True),
        (3, 2),
        lambda x: np.array([1.0, 2.0]) + x * np.array([2.0, 3.0]),
    ),
    (
        "normalization_fixed_axis_1",
        lambda L: L.Normalization(axis=1, mean=[0.0, 1.0, 2.0], variance=[1.0, 4.0, 16.0]),
        (3, 2),
        lambda x: (x - np.array([0.0, 1.0, 2.0])[:, None]) / np.array([1.0, 2.0, 4.0])[:, None],
    ),
    ("center_crop", lambda L: L.CenterCrop(3, 2), (5, 5, 2), lambda x: x[:, 1:4, 1:3]),
    (
        "center_crop_cf",
        lambda L: L.CenterCrop(2, 3, data_format="channels_first"),
        (2, 5, 4),
        lambda x: x[:, :, 1:3, 0:3],
    ),
    (
        "center_crop_upsizes",
        lambda L: L.CenterCrop(6, 4),
        (4, 5, 2),
        lambda x: _resize_reference(x, (6, 4), crop=True),
    ),
    (
        "resizing_bilinear_up",
        lambda L: L.Resizing(7, 5),
        (4, 3, 2),
        lambda x: _resize_reference(x, (7, 5)),
    ),
    (
        "resizing_bilinear_down",
        lambda L: L.Resizing(3, 2),
        (7, 5, 1),
        lambda x: _resize_reference(x, (3, 2)),
    ),
    (
        "resizing_nearest",
        lambda L: L.Resizing(5, 3, interpolation="nearest"),
        (3, 7, 2),
        lambda x: _resize_reference(x, (5, 3), "nearest"),
    ),
    (
        "resizing_crop_to_aspect_ratio",
        lambda L: L.Resizing(4, 4, crop_to_aspect_ratio=True),
        (6, 9, 2),
        lambda x: _resize_reference(x, (4, 4), crop=True),
    ),
    (
        "resizing_cf",
        lambda L: L.Resizing(3, 5, data_format="channels_first"),
        (2, 6, 4),
        lambda x: _resize_reference(x, (3, 5), channels_first=True),
    ),
    ("random_flip", lambda L: L.RandomFlip(seed=3), (4, 3, 2), _identity),
    ("random_flip_h", lambda L: L.RandomFlip("horizontal", seed=3), (4, 3, 2), _identity),
    ("random_contrast", lambda L: L.RandomContrast(0.3, seed=3), (4, 3, 2), _identity),
    (
        "random_brightness",
        lambda L: L.RandomBrightness(0.2, value_range=(-10, 10), seed=3),
        (4, 3, 2),
        _identity,
    ),
]
CASES += [
    ("random_translation", lambda L: L.RandomTranslation(0.2, 0.3, seed=3), (5, 4, 2), _identity),
    (
        "random_rotation",
        lambda L: L.RandomRotation(0.2, fill_mode="constant", seed=3),
        (5, 4, 2),
        _identity,
    ),
    ("random_zoom", lambda L: L.RandomZoom(0.3, seed=3), (5, 4, 2), _identity),
    (
        "random_zoom_cf",
        lambda L: L.RandomZoom(
            (-0.3, 0.2), (0.1, 0.4), "wrap", "nearest", seed=3, data_format="channels_first"
        ),
        (2, 5, 4),
        _identity,
    ),
]
IDS = [c[0] for c in CASES]
RANDOM = {"random_flip", "random_flip_h", "random_contrast", "random_brightness",
          "random_translation", "random_rotation", "random_zoom", "random_zoom_cf"}  # fmt: skip


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


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_matches_numpy_on_arrays_sequential_and_functional(case):
    name, make, shape, reference = case
    x = _data(shape)
    expected = reference(x.astype(np.float64))
    eager = make(layers)(x, training=False)
    assert eager.dtype == np.float32
    np.testing.assert_allclose(eager, expected, rtol=1e-5, atol=1e-5)

    sequential = eigennet.Sequential([eigennet.Input(shape), make(layers)])
    assert sequential.output_shape == (None, *expected.shape[1:])
    np.testing.assert_allclose(sequential.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)

    inputs = eigennet.Input(shape)
    layer = make(layers)
    outputs = layer(inputs)
    assert outputs.shape == (None, *expected.shape[1:])
    assert layer.compute_output_shape((None, *shape)) == (None, *expected.shape[1:])
    functional = eigennet.Model(inputs, outputs)
    np.testing.assert_allclose(functional.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(functional(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_integer_inputs_give_float32_outputs(case):
    _, make, shape, reference = case
    x = RNG.integers(0, 5, size=(3, *shape)).astype(np.uint8)
    out = make(layers)(x, training=False)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, reference(x.astype(np.float64)), rtol=1e-5, atol=1e-5)


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
    x, y = _data(shape, n=3, dtype="float64"), RNG.normal(size=(3, 2))
    if name in RANDOM:  # training draws: the same draw for every evaluation
        assert _frozen_noise(model)
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fit_evaluate_predict_and_keras_file_round_trip(case, tmp_path):
    _, make, shape, _ = case
    model = _around(make, shape)
    model.compile(optimizer="adam", loss="mse")
    x, y = _data(shape, n=32), RNG.normal(size=(32, 2)).astype("float32")
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    predicted = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = eigennet.models.load_model(path)
    layer, again = model.layers[1], loaded.layers[1]
    assert type(again) is type(layer) and _json(again.get_config()) == _json(layer.get_config())
    np.testing.assert_allclose(loaded.predict(x, verbose=0), predicted, rtol=1e-6, atol=1e-6)
    loaded.fit(x, y, epochs=1, verbose=0)
    config = model.get_config()["layers"][2]
    assert config["module"] == "keras.layers" and config["class_name"] == type(layer).__name__


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_from_config_remakes_the_layer(case):
    layer = case[1](layers)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_parity_with_keras_outputs_shapes_and_configs(keras_ref, case):
    _, make, shape, _ = case
    x = _data(shape)
    ours, theirs = make(layers), make(keras_ref.layers)
    np.testing.assert_allclose(
        ours(x, training=False), _np(keras_ref, theirs(x, training=False)), rtol=1e-5, atol=1e-5
    )
    assert tuple(ours.compute_output_shape((None, *shape))) == tuple(
        theirs.compute_output_shape((None, *shape))
    )
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(theirs_config)
    for key in set(theirs_config) - {"name", "dtype"}:
        assert ours_config[key] == theirs_config[key], key
    assert tuple(eigennet.Sequential([eigennet.Input(shape), make(layers)]).output_shape) == (
        tuple(theirs(keras_ref.Input(shape)).shape)
    )


# -- Normalization.adapt ----------------------------------------------------------------------
def _features(n=300, shape=(3,)):
    scale = np.linspace(1.0, 10.0, int(np.prod(shape))).reshape(shape)
    return (RNG.normal(size=(n, *shape)) * scale + 5.0).astype("float32")


@pytest.mark.parametrize(
    "axis, shape, reduce",
    [
        (-1, (3,), (0,)),
        (None, (3,), (0, 1)),
        (-1, (4, 3), (0, 1)),
        (1, (4, 3), (0, 2)),
        ((1, 2), (4, 3), (0,)),
    ],  # fmt: skip
)
def test_adapt_on_an_array_matches_numpy(axis, shape, reduce):
    data = _features(shape=shape)
    layer = layers.Normalization(axis=axis)
    layer.adapt(data)
    mean, var, count = layer.get_weights()
    np.testing.assert_allclose(mean, data.astype(np.float64).mean(axis=reduce), rtol=1e-5)
    np.testing.assert_allclose(var, data.astype(np.float64).var(axis=reduce), rtol=1e-5)
    assert count == 0  # as Keras 3, which never updates it
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert not layer.trainable_weights
    m = np.expand_dims(data.mean(axis=reduce), reduce)
    s = np.expand_dims(data.std(axis=reduce), reduce)
    np.testing.assert_allclose(layer(data), (data - m) / s, rtol=1e-4, atol=1e-4)


def test_adapt_invert_restores_the_data():
    data = _features()
    forward, back = layers.Normalization(), layers.Normalization(invert=True)
    forward.adapt(data)
    back.adapt(data)
    np.testing.assert_allclose(back(forward(data)), data, rtol=1e-5, atol=1e-4)


def test_a_constant_feature_is_divided_by_epsilon_not_zero():
    data = np.ones((10, 2), dtype="float32")
    data[:, 1] = np.arange(10)
    layer = layers.Normalization()
    layer.adapt(data)
    moved = data + np.float32(1e-6)
    out = layer(moved)
    expected = (moved[:, 0].astype(np.float64) - 1.0) / 1e-7  # sqrt(0) floored at 1e-7
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-5)


def _chunk_mean_var(data, axis=None):
    return data.astype(np.float64).mean(axis=0), data.astype(np.float64).var(axis=0)


class _Batches(eigennet.utils.PyDataset):
    def __init__(self, x, batch):
        super().__init__()
        self.x, self.batch = x, batch

    def __len__(self):
        return -(-len(self.x) // self.batch)

    def __getitem__(self, i):
        part = self.x[i * self.batch : (i + 1) * self.batch]
        return part, np.zeros(len(part))


@pytest.mark.parametrize(
    "source",
    ["batch_size", "pydataset", "generator", "generator_of_tuples", "list"],
)
def test_adapt_over_batches_equals_adapt_over_the_array(source):
    data = _features(n=257)
    expected_mean, expected_var = _chunk_mean_var(data)
    if source == "batch_size":
        args, kwargs = (data,), {"batch_size": 32}
    elif source == "pydataset":
        args, kwargs = (_Batches(data, 40),), {}
    elif source == "generator":
        args, kwargs = ((data[i : i + 50] for i in range(0, len(data), 50)),), {}
    elif source == "generator_of_tuples":
        args, kwargs = (((data[i : i + 50], None) for i in range(0, len(data), 50)),), {}
    else:
        args, kwargs = ([data[:100], data[100:]],), {}
    layer = layers.Normalization()
    layer.adapt(*args, **kwargs)
    mean, var, _ = layer.get_weights()
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-5)
    np.testing.assert_allclose(var, expected_var, rtol=1e-5)


def test_adapt_steps_uses_the_first_batches_only():
    data = _features(n=200)
    layer = layers.Normalization()
    layer.adapt(_Batches(data, 50), steps=2)
    np.testing.assert_allclose(layer.get_weights()[0], data[:100].mean(axis=0), rtol=1e-5)
    layer = layers.Normalization()
    layer.adapt((data[i : i + 50] for i in range(0, 200, 50)), steps=1)
    np.testing.assert_allclose(layer.get_weights()[0], data[:50].mean(axis=0), rtol=1e-5)


class _SpyMemmap(np.memmap):
    """A memmap that records how many samples each read asks for."""

    reads: list = []

    def __getitem__(self, index):
        if isinstance(index, slice):
            _SpyMemmap.reads.append(len(range(*index.indices(self.shape[0]))))
        elif not isinstance(index, (int, np.integer)):
            _SpyMemmap.reads.append(self.shape[0])  # anything else counts as a whole read
        return super().__getitem__(index)


def test_adapt_streams_a_memmap_in_chunks_of_bounded_size(tmp_path):
    data = _features(n=1000, shape=(4, 3))
    path = tmp_path / "data.npy"
    np.save(path, data)
    mapped = np.load(path, mmap_mode="r").view(_SpyMemmap)
    settings = eigennet.config.get_streaming()
    eigennet.config.set_streaming(chunk_bytes=64 * 4 * 3 * 4)  # 64 samples per chunk
    try:
        _SpyMemmap.reads = []
        layer = layers.Normalization()
        layer.adapt(mapped)
    finally:
        eigennet.config.set_streaming(**settings)
    assert len(_SpyMemmap.reads) == 16 and max(_SpyMemmap.reads) == 64
    expected = layers.Normalization()
    expected.adapt(data)
    for got, want in zip(layer.get_weights(), expected.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_adapt_after_the_layer_is_in_a_model_updates_the_model():
    data = _features()
    layer = layers.Normalization()
    model = eigennet.Sequential([eigennet.Input((3,)), layer])
    np.testing.assert_allclose(model.predict(data, verbose=0), data)  # mean 0, variance 1
    layer.adapt(data)
    out = model.predict(data, verbose=0)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=1e-4)


def test_normalization_trains_natively_and_keeps_its_statistics(tmp_path):
    data = _features(n=256)
    y = (data @ np.array([0.5, -0.2, 0.1], dtype="float32"))[:, None]
    norm = layers.Normalization()
    norm.adapt(data)
    before = [w.copy() for w in norm.get_weights()]
    model = eigennet.Sequential([eigennet.Input((3,)), norm, layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(data, y, epochs=20, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for got, want in zip(norm.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    model.save(tmp_path / "norm.keras")
    loaded = eigennet.models.load_model(tmp_path / "norm.keras")
    for got, want in zip(loaded.layers[0].get_weights(), before):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0))


ADAPT_ERRORS = [
    (lambda: layers.Normalization().adapt(np.array([[1.0, np.nan]])), ValueError),
    (lambda: layers.Normalization().adapt(np.array([[1.0, np.inf]])), ValueError),
    (lambda: layers.Normalization().adapt(np.zeros((0, 3))), ValueError),
    (lambda: layers.Normalization().adapt(iter([])), ValueError),
    (lambda: layers.Normalization().adapt(12), TypeError),
    (lambda: layers.Normalization(mean=1.0, variance=1.0).adapt(np.ones((3, 1))), ValueError),
    (lambda: layers.Normalization().adapt([np.ones((2, 3)), np.ones((2, 4))]), ValueError),
    (lambda: layers.Normalization().adapt(np.ones((4, 3)), batch_size=0), ValueError),
]


@pytest.mark.parametrize("call, error", ADAPT_ERRORS)
def test_adapt_bad_data(call, error):
    with pytest.raises(error):
        call()


def test_adapt_on_data_of_another_width_than_the_model_raises():
    layer = layers.Normalization()
    eigennet.Sequential([eigennet.Input((3,)), layer])
    with pytest.raises(ValueError, match="incompatible shape"):
        layer.adapt(np.ones((5, 4)))


@pytest.mark.parametrize(
    "axis, shape", [(-1, (3,)), (None, (3,)), (1, (4, 3)), ((1, 2), (4, 3))]
)  # fmt: skip
def test_parity_adapt_weights_and_outputs(keras_ref, axis, shape):
    data = _features(shape=shape)
    ours, theirs = layers.Normalization(axis=axis), keras_ref.layers.Normalization(axis=axis)
    ours.adapt(data)
    theirs.adapt(data)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]
    for got, want in zip(ours.get_weights(), theirs.get_weights()):
        assert got.shape == np.shape(want)
        np.testing.assert_allclose(got, _np(keras_ref, want), rtol=1e-5)
    np.testing.assert_allclose(ours(data), _np(keras_ref, theirs(data)), rtol=1e-5, atol=1e-5)
    assert ours.get_build_config() == _json(theirs.get_build_config())


def test_parity_weights_copy_both_ways_and_keras_files_load(keras_ref, tmp_path):
    data = _features()
    theirs = keras_ref.Sequential(
        [keras_ref.Input((3,)), keras_ref.layers.Normalization(), keras_ref.layers.Dense(2)]
    )
    theirs.layers[0].adapt(data)
    ours = eigennet.Sequential([eigennet.Input((3,)), layers.Normalization(), layers.Dense(2)])
    ours.set_weights([_np(keras_ref, w) for w in theirs.get_weights()])
    expected = _np(keras_ref, theirs.predict(data, verbose=0))
    np.testing.assert_allclose(ours.predict(data, verbose=0), expected, rtol=1e-5, atol=1e-5)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(_np(keras_ref, theirs.predict(data, verbose=0)), expected,
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    theirs.save(tmp_path / "keras.keras")
    loaded = eigennet.models.load_model(tmp_path / "keras.keras")
    np.testing.assert_allclose(loaded.predict(data, verbose=0), expected, rtol=1e-5, atol=1e-5)
    again = keras_ref.models.model_from_json(ours.to_json())
    assert [type(layer).__name__ for layer in again.layers] == ["Normalization", "Dense"]


# -- augmentation: training only, per image, seeded ----------------------------------------------
RANDOM_MAKERS = {
    "flip": lambda seed=None: layers.RandomFlip(seed=seed),
    "flip_horizontal": lambda seed=None: layers.RandomFlip("horizontal", seed=seed),
    "flip_vertical_cf": lambda seed=None: layers.RandomFlip(
        "vertical", seed=seed, data_format="channels_first"
    ),
    "contrast": lambda seed=None: layers.RandomContrast(0.5, seed=seed),
    "brightness": lambda seed=None: layers.RandomBrightness(0.3, seed=seed),
    "translation": lambda seed=None: layers.RandomTranslation(0.3, 0.3, seed=seed),
    "rotation": lambda seed=None: layers.RandomRotation(0.1, seed=seed),
    "zoom": lambda seed=None: layers.RandomZoom(0.3, 0.2, seed=seed),
}


def _images(n=64, shape=(5, 4, 3)):
    return RNG.uniform(0, 255, size=(n, *shape)).astype("float32")


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
@pytest.mark.parametrize("name", sorted(RANDOM_MAKERS))
def test_augmentation_only_in_training(name):
    x = _images()
    layer = RANDOM_MAKERS[name]()
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert not np.array_equal(layer(x), x)  # Keras's default on arrays: training
    model = eigennet.Sequential([eigennet.Input(x.shape[1:]), RANDOM_MAKERS[name]()])
    model.compile(optimizer="sgd", loss="mse")
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(model(x), x)
    assert model.evaluate(x, x, verbose=0) == 0.0
    assert not np.array_equal(model(x, training=True), x)
    loss = model.fit(x, x, epochs=1, batch_size=16, verbose=0).history["loss"][0]
    assert loss > 0.0


def _flip_reference(x, flipped, axes):
    out = x.copy()
    for axis in axes:
        out = np.where(flipped[:, None, None, None], np.flip(out, axis), out)
    return out


@pytest.mark.parametrize(
    "mode, axes", [("horizontal", (2,)), ("vertical", (1,)), ("horizontal_and_vertical", (2, 1))]
)
def test_random_flip_flips_whole_images_about_half_the_time(mode, axes):
    x = _images(n=400, shape=(3, 4, 2))
    model = eigennet.Sequential([eigennet.Input(x.shape[1:]), layers.RandomFlip(mode)])
    for out in (model(x, training=True), layers.RandomFlip(mode)(x, training=True)):
        same = np.all(out == x, axis=(1, 2, 3))
        flipped = np.all(out == _flip_reference(x, np.ones(len(x), bool), axes), axis=(1, 2, 3))
        assert np.all(same ^ flipped)  # each image whole: as it was, or flipped
        assert 0.4 < flipped.mean() < 0.6


def test_random_contrast_and_brightness_per_image_rules():
    x = _images(n=300, shape=(3, 4, 2))
    for out in (
        layers.RandomContrast((0.2, 0.4), seed=1)(x, training=True),
        eigennet.Sequential([eigennet.Input(x.shape[1:]), layers.RandomContrast((0.2, 0.4))])(
            x, training=True
        ),
    ):
        mean = x.mean(axis=(1, 2), keepdims=True)
        unclipped = (out > 0) & (out < 255)
        factor = np.where(unclipped, (out - mean) / np.where(x == mean, 1, x - mean), np.nan)
        per_image = np.nanmedian(factor.reshape(len(x), -1), axis=1)
        assert per_image.min() >= 0.8 - 1e-4 and per_image.max() <= 1.4 + 1e-4
        assert 0.85 < per_image.mean() < 1.15
        assert out.min() >= 0 and out.max() <= 255
    for out in (
        layers.RandomBrightness(0.1, seed=1)(x, training=True),
        eigennet.Sequential([eigennet.Input(x.shape[1:]), layers.RandomBrightness(0.1)])(
            x, training=True
        ),
    ):
        delta = out - x
        unclipped = (out > 0) & (out < 255)
        per_image = np.array([d[u][0] if u.any() else 0.0 for d, u in zip(delta, unclipped)])
        np.testing.assert_allclose(
            np.where(unclipped, delta, per_image[:, None, None, None]),
            np.broadcast_to(per_image[:, None, None, None], x.shape),
            atol=1e-3,
        )
        assert np.abs(per_image).max() <= 25.5 + 1e-3 and per_image.std() > 5
        assert out.min() >= 0 and out.max() <= 255


@pytest.mark.parametrize("name", sorted(RANDOM_MAKERS))
def test_augmentation_is_deterministic_under_set_random_seed(name):
    x = _images(n=32)
    y = RNG.normal(size=(32, 2)).astype("float32")

    def run(seed):
        eigennet.utils.set_random_seed(seed)
        model = eigennet.Sequential(
            [
                eigennet.Input(x.shape[1:]),
                RANDOM_MAKERS[name](),
                layers.Rescaling(1 / 255),
                layers.Flatten(),
                layers.Dense(2),
            ]
        )
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        return model.layers[0](x, training=True), history.history["loss"]

    first, again, other = run(7), run(7), run(8)
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1]
    assert not np.array_equal(first[0], other[0])
    a, b = RANDOM_MAKERS[name](seed=11), RANDOM_MAKERS[name](seed=11)
    np.testing.assert_array_equal(a(x, training=True), b(x, training=True))


def test_single_images_on_arrays():
    image = _images(n=1)[0]
    np.testing.assert_array_equal(layers.CenterCrop(3, 2)(image), image[1:4, 1:3])
    assert layers.Resizing(7, 6)(image).shape == (7, 6, 3)
    assert layers.RandomFlip()(image, training=True).shape == image.shape
    np.testing.assert_array_equal(layers.RandomContrast(0.2)(image, training=False), image)


# -- bad arguments and inputs -------------------------------------------------------------------
# (constructor, error type; True when Keras raises the same type)
BAD_ARGUMENTS = [
    (lambda L: L.Normalization(mean=1.0), ValueError, True),
    (lambda L: L.Normalization(mean=[1.0, 2.0], variance=[1.0]), ValueError, True),
    (lambda L: L.Normalization(axis=None, mean=[1.0], variance=[1.0]), ValueError, True),
    (
        lambda L: L.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
        ValueError,
        False,
    ),  # fmt: skip
    (lambda L: L.Resizing(4, 4, interpolation="cubic"), ValueError, False),
    (lambda L: L.Resizing(0, 4), ValueError, False),
    (lambda L: L.CenterCrop(-1, 4), ValueError, False),
    (lambda L: L.CenterCrop(2, 2, data_format="nhwc"), ValueError, True),
    (lambda L: L.RandomFlip("diagonal"), ValueError, False),
    (lambda L: L.RandomContrast(1.5), ValueError, True),
    (lambda L: L.RandomContrast(-0.5), ValueError, True),
    (lambda L: L.RandomContrast((0.1, 0.2, 0.3)), ValueError, True),
    (lambda L: L.RandomContrast("0.1"), ValueError, True),
    (lambda L: L.RandomBrightness(2.0), ValueError, True),
    (lambda L: L.RandomBrightness(0.1, value_range=255), ValueError, True),
    (lambda L: L.RandomBrightness(0.1, value_range=(0, 1, 2)), ValueError, True),
    (lambda L: L.Rescaling("half"), ValueError, False),
    (lambda L: L.Rescaling(1.0, unknown_argument=1), ValueError, True),
]


@pytest.mark.parametrize("make, error, _", BAD_ARGUMENTS)
def test_bad_arguments_raise(make, error, _):
    with pytest.raises(error):
        make(layers)


@pytest.mark.parametrize("make, error, same_in_keras", BAD_ARGUMENTS)
def test_parity_with_keras_error_types(keras_ref, make, error, same_in_keras):
    if not same_in_keras:
        pytest.skip("Keras accepts it and fails later, or not at all; eigennet checks early")
    with pytest.raises(error):
        make(keras_ref.layers)


BAD_INPUTS = [
    (lambda: layers.CenterCrop(2, 2), (4,)),
    (lambda: layers.Resizing(2, 2), (4,)),
    (lambda: layers.RandomFlip(), (4,)),
    (lambda: layers.RandomContrast(0.1), (4, 4, 1, 1)),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0]), (3,)),
]


@pytest.mark.parametrize("make, shape", BAD_INPUTS)
def test_bad_input_shapes_raise_value_error(make, shape):
    with pytest.raises(ValueError):
        make()(eigennet.Input(shape))
    with pytest.raises(ValueError):
        make()(np.zeros((2, *shape), dtype="float32"), training=True)


@pytest.mark.parametrize(
    "make", [lambda: layers.CenterCrop(2, 2), lambda: layers.Resizing(2, 2), layers.RandomFlip]
)
def test_images_in_a_model_need_a_batch_axis(make):
    """(None, 4, 4) in a model is a batch of 4x4 arrays, not images: a ValueError (arrays of
    rank 3 are one image, as Keras)."""
    with pytest.raises(ValueError, match="rank 4"):
        make()(eigennet.Input((4, 4)))


def test_keras_reads_our_config_and_we_load_keras_files(keras_ref, tmp_path):
    """Keras remakes a model holding every layer from eigennet's JSON; eigennet loads Keras's
    `.keras` file of the same model (adapted Normalization weights included) and predicts the
    same."""
    x = _images(n=16, shape=(9, 8, 3))

    def build(k):
        norm = k.layers.Normalization()
        norm.adapt(x)
        return k.Sequential(
            [
                k.Input((9, 8, 3)),
                k.layers.Rescaling(1 / 255, offset=0.1),
                k.layers.RandomFlip(seed=1),
                k.layers.RandomContrast(0.2, value_range=(0, 1), seed=1),
                k.layers.RandomBrightness(0.1, value_range=(0, 1), seed=1),
                k.layers.RandomTranslation(0.1, 0.2, seed=1),
                k.layers.RandomRotation(0.1, fill_mode="constant", seed=1),
                k.layers.RandomZoom(0.2, seed=1),
                k.layers.Resizing(6, 5, interpolation="nearest"),
                k.layers.Resizing(7, 7, crop_to_aspect_ratio=True),
                k.layers.CenterCrop(5, 4),
                k.layers.Flatten(),
                k.layers.Dense(3),
            ]
        ), norm

    ours, _ = build(eigennet)
    theirs = keras_ref.models.model_from_json(ours.to_json())
    assert [type(layer).__name__ for layer in theirs.layers] == [
        type(layer).__name__ for layer in ours.layers
    ]
    assert tuple(theirs.output_shape) == ours.output_shape

    reference, norm = build(keras_ref)
    model = keras_ref.Sequential([keras_ref.Input((9, 8, 3)), norm, reference])
    path = tmp_path / "keras_model.keras"
    model.save(path)
    loaded = eigennet.models.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0),
        _np(keras_ref, model.predict(x, verbose=0)),
        rtol=1e-4,
        atol=1e-4,
    )


# -- affine augmentation: the sampler and the transforms against Keras ---------------------------
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("channels_first", [False, True], ids=["last", "first"])
def test_parity_affine_transform(keras_ref, fill_mode, interpolation, channels_first):
    x = _data((7, 6, 2), n=3)
    if channels_first:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    angle, scale = RNG.uniform(-1, 1, 3), RNG.uniform(0.6, 1.5, 3)
    t = np.zeros((3, 8), np.float32)
    t[:, 0], t[:, 1] = scale * np.cos(angle), -scale * np.sin(angle)
    t[:, 3], t[:, 4] = scale * np.sin(angle), scale * np.cos(angle)
    t[:, 2], t[:, 5] = RNG.uniform(-4, 4, 3), RNG.uniform(-4, 4, 3)
    data_format = "channels_first" if channels_first else "channels_last"
    expected = keras_ref.ops.image.affine_transform(
        x, t.copy(), interpolation, fill_mode, 0.5, data_format
    )
    ours = eigennet.ops.image.affine_transform(x, t, interpolation, fill_mode, 0.5, data_format)
    np.testing.assert_allclose(ours, _np(keras_ref, expected), rtol=1e-5, atol=1e-5)


# Factors of one value (lower == upper) make the draws certain, so training outputs compare.
FIXED_AFFINE = [
    lambda L: L.RandomTranslation((0.2, 0.2), (-0.3, -0.3)),
    lambda L: L.RandomTranslation(
        (-0.1, -0.1), (0.25, 0.25), "constant", "nearest", fill_value=2.0
    ),  # fmt: skip
    lambda L: L.RandomRotation((0.1, 0.1)),
    lambda L: L.RandomRotation((-0.3, -0.3), "wrap", data_format="channels_first"),
    lambda L: L.RandomZoom((0.3, 0.3)),
    lambda L: L.RandomZoom((-0.2, -0.2), (0.4, 0.4), "nearest", "bilinear"),
]


@pytest.mark.parametrize("make", FIXED_AFFINE)
def test_parity_affine_layers_in_training(keras_ref, make):
    x = _images(n=3, shape=(6, 5, 2))
    ours, theirs = make(layers), make(keras_ref.layers)
    expected = _np(keras_ref, theirs(x, training=True))
    np.testing.assert_allclose(ours(x, training=True), expected, rtol=1e-4, atol=1e-3)
    model = eigennet.Sequential([eigennet.Input(x.shape[1:]), make(layers)])
    np.testing.assert_allclose(model(x, training=True), expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    ours_config, theirs_config = _json(ours.get_config()), _json(theirs.get_config())
    assert set(ours_config) == set(theirs_config)
    for key in set(theirs_config) - {"name", "dtype"}:
        assert ours_config[key] == theirs_config[key], key


AFFINE_BAD_ARGUMENTS = [
    (lambda L: L.RandomTranslation(1.5, 0.1), ValueError),
    (lambda L: L.RandomTranslation(0.1, (0.1, 0.2, 0.3)), ValueError),
    (lambda L: L.RandomTranslation(0.1, "0.1"), ValueError),
    (lambda L: L.RandomTranslation(0.1, 0.1, fill_mode="mirror"), NotImplementedError),
    (lambda L: L.RandomRotation(0.1, interpolation="bicubic"), NotImplementedError),
    (lambda L: L.RandomRotation(2.0), ValueError),
    (lambda L: L.RandomZoom(-1.0), ValueError),
    (lambda L: L.RandomZoom(0.1, 1.5), ValueError),
]


@pytest.mark.parametrize("make, error", AFFINE_BAD_ARGUMENTS)
def test_affine_bad_arguments(make, error):
    with pytest.raises(error):
        make(layers)


@pytest.mark.parametrize("make, error", AFFINE_BAD_ARGUMENTS)
def test_parity_affine_bad_arguments(keras_ref, make, error):
    with pytest.raises(error):
        make(keras_ref.layers)


def test_rotation_by_a_quarter_turn_of_a_square_image_is_exact():
    x = _images(n=2, shape=(5, 5, 1))
    out = layers.RandomRotation((0.25, 0.25))(x, training=True)
    np.testing.assert_allclose(out, np.rot90(x, k=1, axes=(1, 2)), atol=1e-3)  # anticlockwise


def test_a_layer_adapted_on_sequences_fits_a_model_of_variable_length():
    data = _features(n=10, shape=(5, 3))
    norm = layers.Normalization()
    norm.adapt(data)
    assert norm.get_build_config() == {"input_shape": [10, 5, 3]}  # the data's, as Keras
    model = eigennet.Sequential([eigennet.Input((None, 3)), norm, layers.Dense(2)])
    assert model.predict(_features(n=2, shape=(7, 3)), verbose=0).shape == (2, 7, 2)
    m = data.mean(axis=(0, 1))
    s = data.std(axis=(0, 1))
    x = _features(n=2, shape=(4, 3))
    np.testing.assert_allclose(norm(x), (x - m) / s, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.Resizing(4, 4),
        lambda: layers.CenterCrop(2, 2),
        layers.RandomFlip,
        lambda: layers.RandomZoom(0.1),
    ],
)
def test_layers_that_need_the_image_size_reject_variable_sizes(make):
    with pytest.raises(ValueError, match="known height and width"):
        eigennet.Sequential([eigennet.Input((None, None, 3)), make()])


def test_color_augmentation_takes_images_of_any_size():
    model = eigennet.Sequential(
        [
            eigennet.Input((None, None, 3)),
            layers.RandomContrast(0.2),
            layers.RandomBrightness(0.2),
            layers.Rescaling(1 / 255),
        ]
    )
    for size in ((5, 7), (9, 4)):
        x = _images(n=2, shape=(*size, 3))
        np.testing.assert_allclose(model.predict(x, verbose=0), x / 255, rtol=1e-6)
        assert model(x, training=True).shape == x.shape


def test_adapted_normalization_in_a_sequential_called_on_an_input():
    """keras-io's augmentation pipeline: a Sequential whose Normalization was adapted to the
    images (built for any height and width) is then called on `eigennet.Input`; images of
    another channel count still raise."""
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 8, 8, 1)).astype("float32")
    augmentation = eigennet.Sequential([layers.Normalization(), layers.Resizing(12, 12)])
    augmentation.layers[0].adapt(x)
    inputs = eigennet.Input((8, 8, 1))
    model = eigennet.Model(inputs, layers.Flatten()(augmentation(inputs)))
    out = model.predict(x, verbose=0)
    normalized = (x - x.mean()) / x.std()
    expected = layers.Resizing(12, 12)(normalized).reshape(50, 144)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="was built for inputs of shape"):
        eigennet.Sequential([augmentation.layers[0]]).build((None, 8, 8, 3))
