"""ops.image.affine_transform (the native sampler), the affine augmentation layers on it
(RandomTranslation, RandomRotation, RandomZoom) and RandomCrop: every fill mode and
interpolation against a per-pixel NumPy reference, gradients against finite differences,
seeded reproducibility, the identity in inference, bad input, and parity with Keras 3."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import eigennet
from eigennet import _core, layers, ops
from gradient_check import op_finite_differences, op_vjp

RNG = np.random.default_rng(7)
FILL_MODES = ["reflect", "wrap", "constant", "nearest", "mirror"]
INTERPOLATIONS = ["bilinear", "nearest"]


@pytest.fixture
def keras_ref():
    """Keras 3 on the torch backend (skips when it is not installed)."""
    if os.environ.get("KERAS_BACKEND", "torch") != "torch":
        pytest.skip("parity tests compare with Keras's torch backend")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


# -- the reference: one output pixel at a time ----------------------------------------------------
def _read_index(i: int, n: int, fill_mode: str):
    """The index an out-of-range index i reads (None: fill_value), from the pictures of the
    modes: reflect (d c b a | a b c d | d c b a), mirror (d c b | a b c d | c b a),
    wrap (a b c d | a b c d), nearest (a a | a b c d | d d)."""
    if 0 <= i < n:
        return i
    if fill_mode == "constant":
        return None
    if fill_mode == "nearest":
        return min(max(i, 0), n - 1)
    if fill_mode == "wrap":
        return i % n
    if fill_mode == "mirror" and n == 1:
        return 0
    while not 0 <= i < n:  # fold at the edges
        if fill_mode == "reflect":
            i = -i - 1 if i < 0 else 2 * n - 1 - i
        else:  # mirror: about the edge pixels themselves
            i = -i if i < 0 else 2 * (n - 1) - i
    return i


def reference(x, t, interpolation, fill_mode, fill_value=0.0, size=None):
    """x (batch, h, w, c), t (batch, 8) -> (batch, rows, cols, c), in float64."""
    batch, height, width, channels = x.shape
    rows, cols = size or (height, width)
    out = np.zeros((batch, rows, cols, channels))
    for b in range(batch):
        a0, a1, a2, b0, b1, b2, c0, c1 = (float(v) for v in t[b])
        for r in range(rows):
            for c in range(cols):
                k = c0 * c + c1 * r + 1
                src_x, src_y = (a0 * c + a1 * r + a2) / k, (b0 * c + b1 * r + b2) / k
                if interpolation == "nearest":
                    taps = [(round(src_y), round(src_x), 1.0)]  # Python rounds half to even
                else:
                    y0, x0 = math.floor(src_y), math.floor(src_x)
                    fy, fx = src_y - y0, src_x - x0
                    taps = [
                        (y0, x0, (1 - fy) * (1 - fx)),
                        (y0, x0 + 1, (1 - fy) * fx),
                        (y0 + 1, x0, fy * (1 - fx)),
                        (y0 + 1, x0 + 1, fy * fx),
                    ]
                for i, j, w in taps:
                    ri, cj = _read_index(i, height, fill_mode), _read_index(j, width, fill_mode)
                    value = fill_value if ri is None or cj is None else x[b, ri, cj]
                    out[b, r, c] += w * value
    return out


def _transforms(batch, height, width, projective=False):
    """Rotations with zoom and shift about the centre, some reaching far outside the image."""
    angle, scale = RNG.uniform(-2, 2, batch), RNG.uniform(0.5, 2.5, batch)
    t = np.zeros((batch, 8))
    t[:, 0], t[:, 1] = scale * np.cos(angle), -scale * np.sin(angle)
    t[:, 3], t[:, 4] = scale * np.sin(angle), scale * np.cos(angle)
    t[:, 2] = RNG.uniform(-1.5, 1.5, batch) * width
    t[:, 5] = RNG.uniform(-1.5, 1.5, batch) * height
    if projective:
        t[:, 6:] = RNG.uniform(-0.05, 0.05, (batch, 2))
    return t


def _native(
    dtype, images_shape, t_shape, interpolation, fill_mode, fill_value=0.0, cf=False, size=()
):
    make = getattr(_core, f"AffineTransformOp_{dtype}")
    return make(
        list(images_shape), list(t_shape), interpolation, fill_mode, fill_value, cf, list(size)
    )


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("channels_first", [False, True], ids=["last", "first"])
def test_native_op_and_arrays_match_the_reference(fill_mode, interpolation, channels_first):
    x = RNG.normal(size=(4, 6, 5, 3))
    t = _transforms(4, 6, 5, projective=True)
    t[0] = [1, 0, 0, 0, 1, 0, 0, 0]  # the identity
    t[1] = [1, 0, 2.5, 0, 1, -1.5, 0, 0]  # half-pixel shifts: nearest rounds half to even
    expected = reference(x, t, interpolation, fill_mode, 0.75)
    np.testing.assert_allclose(expected[0], x[0], atol=1e-12)
    xin = x.transpose(0, 3, 1, 2) if channels_first else x
    want = expected.transpose(0, 3, 1, 2) if channels_first else expected
    data_format = "channels_first" if channels_first else "channels_last"
    for dtype, tol in (("float32", 2e-5), ("float64", 1e-10)):
        op = _native(
            dtype, (-1, *xin.shape[1:]), (-1, 8), interpolation, fill_mode, 0.75, channels_first
        )
        y, _ = op_vjp(op, [xin, t], np.ones(xin.shape), dtype)
        np.testing.assert_allclose(y, want, rtol=tol, atol=tol, err_msg=dtype)
    eager = ops.image.affine_transform(xin, t, interpolation, fill_mode, 0.75, data_format)
    np.testing.assert_allclose(eager, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_gradient_wrt_the_images_is_the_transposed_sampling(fill_mode, interpolation):
    x = RNG.normal(size=(3, 4, 5, 2))
    t = _transforms(3, 4, 5)
    dy = RNG.normal(size=x.shape)
    op = _native("float64", (-1, 4, 5, 2), (-1, 8), interpolation, fill_mode, 0.5)
    _, (dx, dt) = op_vjp(op, [x, t], dy)
    (fd,) = op_finite_differences(op, [x, t], dy, wrt=[0])[:1]
    np.testing.assert_allclose(dx, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(dt, 0)  # transforms have no gradient


def test_gradient_channels_first_one_shared_transform_and_a_smaller_output():
    x = RNG.normal(size=(2, 3, 6, 7))
    t = _transforms(1, 6, 7)
    dy = RNG.normal(size=(2, 3, 4, 5))
    op = _native("float64", (-1, 3, 6, 7), (1, 8), "bilinear", "reflect", 0.0, True, (4, 5))
    y, (dx, _) = op_vjp(op, [x, t], dy)
    expected = reference(
        x.transpose(0, 2, 3, 1), np.repeat(t, 2, 0), "bilinear", "reflect", size=(4, 5)
    )
    np.testing.assert_allclose(y, expected.transpose(0, 3, 1, 2), atol=1e-10)
    (fd,) = op_finite_differences(op, [x, t], dy, wrt=[0])[:1]
    np.testing.assert_allclose(dx, fd, rtol=1e-6, atol=1e-8)


def test_in_a_model_the_op_trains_through_the_images(float64):
    """A Dense before the sampler gets the gradient the sampler sends back."""
    from gradient_check import assert_gradients_match_finite_differences

    t = _transforms(1, 3, 4)[0]

    class Warp(layers.Layer):
        def call(self, x):
            return ops.image.affine_transform(x, t, fill_mode="wrap")

    model = eigennet.Sequential(
        [eigennet.Input((3, 4, 2)), layers.Dense(2), Warp(), layers.Flatten(), layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.normal(size=(5, 3, 4, 2)), RNG.normal(size=(5, 1))
    assert_gradients_match_finite_differences(model, x, y)
    expected = reference(x, np.tile(t, (5, 1)), "bilinear", "wrap")
    inner = eigennet.Sequential([eigennet.Input((3, 4, 2)), Warp()])
    np.testing.assert_allclose(inner.predict(x, verbose=0), expected, atol=1e-10)


# -- the layers ----------------------------------------------------------------------------------
AUGMENTERS = {
    "rotation": lambda seed=None: layers.RandomRotation(0.2, seed=seed),
    "zoom": lambda seed=None: layers.RandomZoom(0.3, (-0.2, 0.1), seed=seed),
    "translation": lambda seed=None: layers.RandomTranslation(0.2, 0.3, "wrap", seed=seed),
    "crop": lambda seed=None: layers.RandomCrop(5, 4, seed=seed),
}


def _images(n=8, shape=(7, 6, 3)):
    return RNG.uniform(0, 1, size=(n, *shape)).astype("float32")


def _augmenting_model(name, seed=None):
    model = eigennet.Sequential(
        [eigennet.Input((7, 6, 3)), AUGMENTERS[name](seed), layers.Flatten(), layers.Dense(2)]
    )
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.mark.parametrize("name", sorted(AUGMENTERS))
def test_seeded_runs_repeat_and_other_seeds_differ(name):
    x, y = _images(32), RNG.normal(size=(32, 2)).astype("float32")

    def run(seed):
        eigennet.utils.set_random_seed(seed)
        model = _augmenting_model(name)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        return model.get_weights()[0], model(x, training=True)

    (w1, out1), (w2, out2), (_, out3) = run(3), run(3), run(4)
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(out1, out2)
    assert not np.array_equal(out1, out3)
    # A layer's own seed fixes its draws whatever the global seed.
    outs = []
    for global_seed in (1, 2):
        eigennet.utils.set_random_seed(global_seed)
        sub = eigennet.Sequential([eigennet.Input((7, 6, 3)), AUGMENTERS[name](seed=11)])
        outs.append(sub(x, training=True))
    np.testing.assert_array_equal(*outs)


@pytest.mark.parametrize("name", ["rotation", "zoom", "translation"])
def test_each_image_draws_its_own_transform_and_inference_is_the_identity(name):
    x = np.repeat(_images(1), 16, axis=0)
    model = eigennet.Sequential([eigennet.Input((7, 6, 3)), AUGMENTERS[name]()])
    out = model(x, training=True)
    assert len({o.tobytes() for o in out}) > 8  # the same image, transformed 16 ways
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(AUGMENTERS[name]()(x, training=False), x)


def test_layer_outputs_are_the_sampler_on_the_layer_transform():
    """RandomRotation by a fixed angle equals the reference sampler on the rotation about the
    centre (Keras's matrix), in a model and on arrays."""
    x = _images(3)
    angle = 0.15 * 2 * math.pi
    c, s = math.cos(angle), math.sin(angle)
    cx, cy = 2.5, 3.0
    t = np.array([[c, -s, cx - cx * c + cy * s, s, c, cy - cx * s - cy * c, 0, 0]] * 3)
    expected = reference(x.astype(np.float64), t, "bilinear", "reflect")
    layer = layers.RandomRotation((0.15, 0.15))
    np.testing.assert_allclose(layer(x, training=True), expected, atol=2e-5)
    model = eigennet.Sequential([eigennet.Input((7, 6, 3)), layers.RandomRotation((0.15, 0.15))])
    np.testing.assert_allclose(model(x, training=True), expected, atol=2e-5)


# -- RandomCrop ----------------------------------------------------------------------------------
def test_random_crop_cuts_one_window_per_batch_at_every_position():
    x = _images(4, (7, 6, 2))
    layer = layers.RandomCrop(5, 4, seed=2)
    model = eigennet.Sequential([eigennet.Input((7, 6, 2)), layers.RandomCrop(5, 4, seed=2)])
    for crop in (lambda: layer(x, training=True), lambda: model(x, training=True)):
        seen = set()
        for _ in range(60):
            out = crop()
            assert out.shape == (4, 5, 4, 2)
            starts = [
                (i, j)
                for i in range(3)
                for j in range(3)
                if np.array_equal(out, x[:, i : i + 5, j : j + 4])
            ]
            assert len(starts) == 1  # one window, the same for the whole batch
            seen.add(starts[0])
        assert len(seen) == 9


def test_random_crop_inference_and_small_images():
    x = _images(3, (7, 6, 2))
    layer = layers.RandomCrop(5, 4)
    np.testing.assert_array_equal(layer(x, training=False), x)  # Keras 3: unchanged arrays
    model = eigennet.Sequential([eigennet.Input((7, 6, 2)), layers.RandomCrop(5, 4)])
    assert model.output_shape == (None, 5, 4, 2)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x[:, 1:6, 1:5])  # the centre
    inputs = eigennet.Input((5, 4, 2))  # (a graph of identities alone cannot be built yet)
    same = eigennet.Model(inputs, layers.Rescaling(2.0)(layers.RandomCrop(5, 4)(inputs)))
    np.testing.assert_array_equal(same(x[:, :5, :4], training=True), 2 * x[:, :5, :4])
    np.testing.assert_array_equal(same.predict(x[:, :5, :4], verbose=0), 2 * x[:, :5, :4])
    # Not larger along both axes: Keras's fixed window (here the centre columns).
    tall = layers.RandomCrop(7, 4)(x, training=True)
    np.testing.assert_array_equal(tall, x[:, :, 1:5])


def test_random_crop_trains_through_the_window():
    x, y = _images(16, (7, 6, 3)), RNG.normal(size=(16, 2)).astype("float32")
    model = eigennet.Sequential(
        [
            eigennet.Input((7, 6, 3)),
            layers.Dense(3),
            layers.RandomCrop(5, 4, seed=1),
            layers.Flatten(),
            layers.Dense(2),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    before = model.layers[0].get_weights()[0].copy()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert not np.array_equal(before, model.layers[0].get_weights()[0])


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ops.image.affine_transform(np.zeros((4, 4)), np.zeros(8)), "images rank"),
        (lambda: ops.image.affine_transform(np.zeros((1, 4, 4, 1)), np.zeros(6)), "transform"),
        (
            lambda: ops.image.affine_transform(np.zeros((1, 4, 4, 1)), np.zeros(8), "cubic"),
            "interpolation",
        ),
        (
            lambda: ops.image.affine_transform(np.zeros((1, 4, 4, 1)), np.zeros(8), fill_mode="x"),
            "fill_mode",
        ),
        (lambda: layers.RandomRotation(0.1)(np.zeros((4, 4))), "RandomRotation.*rank 4"),
        (
            lambda: eigennet.Sequential([eigennet.Input((4, 4)), layers.RandomZoom(0.1)]),
            "RandomZoom.*rank 4",
        ),
        (lambda: layers.RandomRotation(1.5), "RandomRotation.*`factor`"),
        (lambda: layers.RandomZoom(0.1, -1.0), "RandomZoom.*width_factor=-1.0"),
        (lambda: layers.RandomTranslation(0.1, 2), "RandomTranslation.*width_factor=2"),
        (lambda: layers.RandomCrop(0, 3), "RandomCrop.*height"),
        (lambda: layers.RandomCrop(3, 2.5), "RandomCrop.*width"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_symbolic_transform_of_the_wrong_shape_names_the_op():
    class Bad(layers.Layer):
        def call(self, x):
            return ops.image.affine_transform(x, np.zeros((3, 8)))

    with pytest.raises(ValueError, match="affine_transform.*transform must be"):
        eigennet.Sequential([eigennet.Input((4, 4, 1)), Bad()])


# -- parity with Keras 3 -------------------------------------------------------------------------
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_parity_affine_transform_op(keras_ref, fill_mode, interpolation):
    x = RNG.normal(size=(3, 7, 6, 2)).astype("float32")
    t = _transforms(3, 7, 6).astype("float32")
    expected = keras_ref.ops.image.affine_transform(x, t.copy(), interpolation, fill_mode, 0.5)
    expected = np.asarray(keras_ref.ops.convert_to_numpy(expected))

    class Warp(layers.Layer):
        def call(self, images, transform):
            return ops.image.affine_transform(images, transform, interpolation, fill_mode, 0.5)

    images, transform = eigennet.Input((7, 6, 2)), eigennet.Input((8,))
    model = eigennet.Model([images, transform], Warp()(images, transform))
    np.testing.assert_allclose(model.predict([x, t], verbose=0), expected, rtol=1e-5, atol=1e-5)
    eager = ops.image.affine_transform(x, t, interpolation, fill_mode, 0.5)
    np.testing.assert_allclose(eager, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "shape, size",
    [((7, 6, 2), (7, 6)), ((4, 5, 2), (6, 8)), ((10, 5, 2), (6, 8)), ((6, 12, 2), (6, 8))],
)
def test_parity_random_crop_deterministic_cases(keras_ref, shape, size):
    x = _images(2, shape)
    theirs = keras_ref.layers.RandomCrop(*size)
    expected = np.asarray(keras_ref.ops.convert_to_numpy(theirs(x, training=True)))
    np.testing.assert_allclose(layers.RandomCrop(*size)(x, training=True), expected, atol=1e-5)
    np.testing.assert_array_equal(layers.RandomCrop(*size)(x, training=False), x)
    ours = layers.RandomCrop(*size, seed=3).get_config()
    assert set(ours) == set(keras_ref.layers.RandomCrop(*size, seed=3).get_config())
    again = keras_ref.layers.RandomCrop.from_config(ours)
    assert (again.height, again.width, again.seed) == (*size, 3)


def test_saved_models_keep_the_layers(tmp_path):
    x = _images(4)
    model = eigennet.Sequential(
        [
            eigennet.Input((7, 6, 3)),
            layers.RandomRotation(0.1, seed=1),
            layers.RandomZoom(0.2, fill_mode="constant", fill_value=0.5, seed=2),
            layers.RandomCrop(5, 4, seed=3),
            layers.Flatten(),
            layers.Dense(2),
        ]
    )
    model.save(tmp_path / "m.keras")
    loaded = eigennet.models.load_model(tmp_path / "m.keras")
    assert [type(layer).__name__ for layer in loaded.layers][:3] == [
        "RandomRotation",
        "RandomZoom",
        "RandomCrop",
    ]
    assert loaded.layers[1].fill_value == 0.5 and loaded.layers[2].height == 5
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_parity_keras_reads_the_config(keras_ref):
    model = eigennet.Sequential(
        [eigennet.Input((7, 6, 3)), layers.RandomCrop(5, 4, seed=3), layers.RandomRotation(0.1)]
    )
    theirs = keras_ref.models.model_from_json(model.to_json())
    assert [type(layer).__name__ for layer in theirs.layers] == ["RandomCrop", "RandomRotation"]
    assert tuple(theirs.output_shape) == model.output_shape == (None, 5, 4, 3)


def test_random_crop_channels_first():
    x = _images(3, (2, 7, 6))
    model = eigennet.Sequential(
        [eigennet.Input((2, 7, 6)), layers.RandomCrop(5, 4, data_format="channels_first")]
    )
    for out in (model(x, training=True), layers.RandomCrop(5, 4, data_format="channels_first")(x)):
        windows = [
            (i, j)
            for i in range(3)
            for j in range(3)
            if np.array_equal(out, x[:, :, i : i + 5, j : j + 4])
        ]
        assert len(windows) == 1
    np.testing.assert_array_equal(model.predict(x, verbose=0), x[:, :, 1:6, 1:5])


def test_results_do_not_depend_on_the_thread_count():
    """Big enough that both passes run on two threads: the same bits as on one."""
    x = RNG.normal(size=(64, 24, 24, 3))
    t = _transforms(64, 24, 24)
    dy = RNG.normal(size=x.shape)
    op = _native("float32", (-1, 24, 24, 3), (-1, 8), "bilinear", "reflect")
    original = eigennet.config.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            eigennet.config.set_num_threads(threads)
            y, (dx, _) = op_vjp(op, [x, t], dy, "float32")
            results.append((y, dx))
    finally:
        eigennet.config.set_num_threads(original)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
