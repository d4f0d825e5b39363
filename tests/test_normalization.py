"""BatchNormalization and LayerNormalization: NumPy reference (forward, backward, moving
statistics), float64 finite differences, Keras semantics (frozen layers, weights, config,
summary), bad arguments and thread-count independence."""

import contextlib
import warnings

import numpy as np
import pytest

import eigennet as keras
from gradient_check import finite_difference_gradients
from reference import normalization as ref

BN_FLAGS = [(True, True), (False, True), (True, False), (False, False)]  # (center, scale)
FLAG_IDS = ["center-scale", "scale", "center", "plain"]


@contextlib.contextmanager
def floatx(name):
    keras.config.set_floatx(name)
    try:
        yield
    finally:
        keras.config.set_floatx("float32")


def tol(dtype):
    return dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)


def random_affine(layer, rng):
    """Non-trivial gamma/beta (and moving statistics for batch norm); returns them by name."""
    values = {}
    for w in layer.weights:
        if w.name == "moving_variance":
            v = rng.uniform(0.5, 2.0, size=w.shape)
        elif w.name == "gamma":
            v = rng.uniform(0.5, 1.5, size=w.shape) * rng.choice([-1, 1], size=w.shape)
        else:
            v = rng.normal(size=w.shape)
        w.assign(v.astype(w.dtype))
        values[w.name] = v.astype(w.dtype).astype(np.float64)
    return values


# -- forward against the reference ---------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("center,scale", BN_FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("shape", [(7, 5), (4, 3, 2, 6)], ids=["rank2", "rank4"])
@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
def test_batch_norm_forward_matches_reference(shape, center, scale, dtype, training):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=shape) * 3 + 1).astype(dtype)
    with floatx(np.dtype(dtype).name):
        layer = keras.layers.BatchNormalization(center=center, scale=scale, momentum=0.9)
        layer.build((None, *shape[1:]))
        w = random_affine(layer, rng)
        got = layer(x, training=training)
    expected, new_mean, new_var = ref.batch_norm_forward(
        x.astype(np.float64),
        w.get("gamma"),
        w.get("beta"),
        w["moving_mean"],
        w["moving_variance"],
        0.9,
        1e-3,
        training,
    )
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_allclose(got, expected, **tol(dtype))
    np.testing.assert_allclose(layer.moving_mean.numpy(), new_mean, **tol(dtype))
    np.testing.assert_allclose(layer.moving_variance.numpy(), new_var, **tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("center,scale", BN_FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("shape", [(7, 5), (4, 3, 6)], ids=["rank2", "rank3"])
def test_layer_norm_forward_matches_reference(shape, center, scale, dtype):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=shape) * 2 - 1).astype(dtype)
    with floatx(np.dtype(dtype).name):
        layer = keras.layers.LayerNormalization(center=center, scale=scale)
        layer.build((None, *shape[1:]))
        w = random_affine(layer, rng)
        for training in (False, True):  # no difference between the modes
            got = layer(x, training=training)
            expected = ref.layer_norm_forward(
                x.astype(np.float64), w.get("gamma"), w.get("beta"), 1e-3
            )
            np.testing.assert_allclose(got, expected, **tol(dtype))


def test_layer_norm_rms_scaling_matches_reference():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 5)).astype("float32") + 0.5
    with pytest.warns(UserWarning, match="deprecated"):
        layer = keras.layers.LayerNormalization(rms_scaling=True, epsilon=0.01)
    layer.build((None, 5))
    assert [w.name for w in layer.weights] == ["gamma"]  # no beta, as Keras
    w = random_affine(layer, rng)
    expected = ref.layer_norm_forward(x.astype(np.float64), w["gamma"], None, 0.01, True)
    np.testing.assert_allclose(layer(x), expected, rtol=2e-5, atol=2e-5)


def test_batch_norm_statistics_are_per_channel_over_every_other_axis():
    """A (h, w, c) sample: each channel is normalized over batch * h * w positions."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 4, 3, 2)) * np.array([1.0, 10.0]) + np.array([0.0, 50.0])
    with floatx("float64"):
        out = keras.layers.BatchNormalization(epsilon=0.0)(x, training=True)
    np.testing.assert_allclose(out.reshape(-1, 2).mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.reshape(-1, 2).var(axis=0), 1, rtol=1e-12)


def test_single_position_batch_gives_beta():
    """Batch of one (rank 2): variance 0, so x_hat = 0 and the output is beta (as Keras)."""
    layer = keras.layers.BatchNormalization(beta_initializer="ones")
    np.testing.assert_array_equal(layer(np.array([[3.0, -2.0]]), training=True), [[1.0, 1.0]])


@pytest.mark.parametrize("shape", [(10001, 3), (70, 1500)], ids=["many-rows", "wide"])
def test_chunked_reductions_match_reference(shape, float64):
    """Shapes that split the reductions into several row chunks and column blocks."""
    rng = np.random.default_rng(17)
    x, y = rng.normal(size=shape) * 4 + 100, rng.normal(size=shape)
    for norm in (keras.layers.BatchNormalization(), keras.layers.LayerNormalization()):
        model = keras.Sequential([keras.Input(shape=shape[1:]), norm])
        model.compile(optimizer="sgd", loss="mse")
        model.build()
        w = random_affine(norm, rng)
        _, (dgamma, dbeta) = model._compute_gradients(x, y)
        if isinstance(norm, keras.layers.BatchNormalization):
            args = (w["gamma"], w["beta"], w["moving_mean"], w["moving_variance"], 0.99, 1e-3)
            out, mean, var = ref.batch_norm_forward(x, *args, True)
            np.testing.assert_allclose(norm.moving_mean.numpy(), mean, rtol=1e-12)
            np.testing.assert_allclose(norm.moving_variance.numpy(), var, rtol=1e-12)
            grads = ref.batch_norm_backward(
                x, 2 * (out - y) / y.size, w["gamma"], None, None, 1e-3, True
            )
        else:
            out = ref.layer_norm_forward(x, w["gamma"], w["beta"], 1e-3)
            grads = ref.layer_norm_backward(x, 2 * (out - y) / y.size, w["gamma"], 1e-3)
        np.testing.assert_allclose(dgamma, grads[1], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dbeta, grads[2], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(model(x, training=True), out, rtol=1e-10, atol=1e-12)


# -- moving statistics ----------------------------------------------------------------------


def test_moving_statistics_follow_the_momentum_rule_over_steps(float64):
    rng = np.random.default_rng(4)
    batches = [rng.normal(size=(6, 3)) * (i + 1) + i for i in range(5)]
    layer = keras.layers.BatchNormalization(momentum=0.8)
    model = keras.Sequential([keras.Input(shape=(3,)), layer])
    mean, var = np.zeros(3), np.ones(3)
    for batch in batches:
        _, mean, var = ref.batch_norm_forward(batch, None, None, mean, var, 0.8, 1e-3, True)
        model(batch, training=True)
        np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-12)
        np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-12)
    model.predict(batches[0], verbose=0)  # inference changes nothing
    model(batches[0])
    np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-12)


def test_fit_updates_moving_statistics_once_per_batch_and_evaluate_uses_them(float64):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(10, 3)) * 2 + 1, rng.normal(size=(10, 3))
    layer = keras.layers.BatchNormalization(momentum=0.5, center=False, scale=False)
    model = keras.Sequential([keras.Input(shape=(3,)), layer])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match="trainable weights"):  # as Keras
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)  # batches 4, 4, 2
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(2):
        for start in (0, 4, 8):
            _, mean, var = ref.batch_norm_forward(
                x[start : start + 4], None, None, mean, var, 0.5, 1e-3, True
            )
    np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-12)
    expected = ref.batch_norm_forward(x, None, None, mean, var, 0.5, 1e-3, False)[0]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-12)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(np.mean((expected - y) ** 2))


# -- gradients ----------------------------------------------------------------------------


def dense_norm_model(norm, shape, units, out_units, rng, dtype="float64"):
    """Input -> Dense -> norm -> Dense; random weights (float64 reference copies returned)."""
    model = keras.Sequential(
        [
            keras.Input(shape=shape),
            keras.layers.Dense(units),
            norm,
            keras.layers.Dense(out_units, activation="tanh"),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    model.build()
    k1, b1 = rng.normal(size=(shape[-1], units)), rng.normal(size=units)
    k2, b2 = rng.normal(size=(units, out_units)) * 0.5, rng.normal(size=out_units) * 0.1
    model.layers[0].set_weights([k1.astype(dtype), b1.astype(dtype)])
    model.layers[2].set_weights([k2.astype(dtype), b2.astype(dtype)])
    return model, (k1, b1), random_affine(norm, rng), (k2, b2)


def reference_gradients(x, y, dense1, norm_weights, dense2, norm_forward, norm_backward):
    k1, b1 = dense1
    k2, b2 = dense2
    h = x @ k1 + b1
    n = norm_forward(h)
    z = np.tanh(n @ k2 + b2)
    loss = np.mean((z - y) ** 2)
    dz = 2 * (z - y) / z.size * (1 - z**2)
    dk2, db2 = ref_dense_grads(n, dz)
    dn = dz @ k2.T
    dh, dgamma, dbeta = norm_backward(h, dn)
    dk1, db1 = ref_dense_grads(x, dh)
    norm_grads = [g for name, g in (("gamma", dgamma), ("beta", dbeta)) if name in norm_weights]
    return loss, [dk1, db1, *norm_grads, dk2, db2]


def ref_dense_grads(inputs, d_out):
    flat_in = inputs.reshape(-1, inputs.shape[-1])
    flat_d = d_out.reshape(-1, d_out.shape[-1])
    return flat_in.T @ flat_d, flat_d.sum(axis=0)


def bn_reference(w, training, momentum=0.99, eps=1e-3):
    def forward(h):
        return ref.batch_norm_forward(
            h,
            w.get("gamma"),
            w.get("beta"),
            w["moving_mean"],
            w["moving_variance"],
            momentum,
            eps,
            training,
        )[0]

    def backward(h, dn):
        return ref.batch_norm_backward(
            h, dn, w.get("gamma"), w["moving_mean"], w["moving_variance"], eps, training
        )

    return forward, backward


def ln_reference(w, eps=1e-3, rms_scaling=False):
    def forward(h):
        return ref.layer_norm_forward(h, w.get("gamma"), w.get("beta"), eps, rms_scaling)

    def backward(h, dn):
        return ref.layer_norm_backward(h, dn, w.get("gamma"), eps, rms_scaling)

    return forward, backward


SHAPES = [(4,), (3, 4)]  # sample shapes: plain features and positions x features


@pytest.mark.parametrize("center,scale", BN_FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=["rank2", "rank3"])
def test_batch_norm_gradients_match_reference(shape, center, scale, float64):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(6, *shape))
    y = rng.uniform(-0.5, 0.5, size=(6, *shape[:-1], 2))
    norm = keras.layers.BatchNormalization(center=center, scale=scale)
    model, d1, w, d2 = dense_norm_model(norm, shape, 5, 2, rng)
    loss, grads = model._compute_gradients(x, y)
    expected_loss, expected = reference_gradients(x, y, d1, w, d2, *bn_reference(w, True))
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert len(grads) == len(expected)
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("center,scale", BN_FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=["rank2", "rank3"])
def test_layer_norm_gradients_match_reference(shape, center, scale, float64):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(6, *shape))
    y = rng.uniform(-0.5, 0.5, size=(6, *shape[:-1], 2))
    norm = keras.layers.LayerNormalization(center=center, scale=scale)
    model, d1, w, d2 = dense_norm_model(norm, shape, 5, 2, rng)
    loss, grads = model._compute_gradients(x, y)
    expected_loss, expected = reference_gradients(x, y, d1, w, d2, *ln_reference(w))
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_layer_norm_rms_scaling_gradients_match_reference(float64):
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(6, 3, 4)), rng.uniform(-0.5, 0.5, size=(6, 3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        norm = keras.layers.LayerNormalization(rms_scaling=True)
    model, d1, w, d2 = dense_norm_model(norm, (3, 4), 5, 2, rng)
    _, grads = model._compute_gradients(x, y)
    _, expected = reference_gradients(x, y, d1, w, d2, *ln_reference(w, rms_scaling=True))
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def make_norm(kind, **kwargs):
    if kind == "batch":
        return keras.layers.BatchNormalization(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rms_scaling's deprecation
        return keras.layers.LayerNormalization(**kwargs)


@pytest.mark.parametrize(
    "kind,kwargs",
    [
        ("batch", {}),
        ("batch", {"center": False, "scale": False}),
        ("layer", {}),
        ("layer", {"scale": False}),
        ("layer", {"rms_scaling": True}),
    ],
    ids=["batch", "batch-plain", "layer", "layer-center", "layer-rms"],
)
@pytest.mark.parametrize("shape", SHAPES, ids=["rank2", "rank3"])
def test_gradients_match_finite_differences(kind, kwargs, shape, float64):
    rng = np.random.default_rng(9)
    x = rng.normal(size=(5, *shape))
    y = rng.uniform(-0.5, 0.5, size=(5, *shape[:-1], 2))
    model, *_ = dense_norm_model(make_norm(kind, **kwargs), shape, 4, 2, rng)
    _, grads = model._compute_gradients(x, y)
    for i, (got, fd) in enumerate(
        zip(grads, finite_difference_gradients(model, x, y), strict=True)
    ):
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8, err_msg=f"weight {i}")


# -- frozen batch normalization -------------------------------------------------------------


def test_frozen_batch_norm_runs_in_inference_mode(float64):
    rng = np.random.default_rng(10)
    x = rng.normal(size=(6, 4)) * 2 + 1
    layer = keras.layers.BatchNormalization(trainable=False)
    layer.build((None, 4))
    w = random_affine(layer, rng)
    expected = ref.batch_norm_forward(
        x, w["gamma"], w["beta"], w["moving_mean"], w["moving_variance"], 0.99, 1e-3, False
    )[0]
    np.testing.assert_allclose(layer(x, training=True), expected, rtol=1e-12)
    np.testing.assert_allclose(layer.moving_mean.numpy(), w["moving_mean"], rtol=0)
    layer.trainable = True  # read at every call
    batch_stats = layer(x, training=True)
    np.testing.assert_allclose(batch_stats.mean(axis=0), w["beta"], atol=1e-12)


def test_frozen_batch_norm_gradients_are_the_affine_map(float64):
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(6, 4)), rng.uniform(-0.5, 0.5, size=(6, 2))
    norm = keras.layers.BatchNormalization(trainable=False)
    model, d1, w, d2 = dense_norm_model(norm, (4,), 5, 2, rng)
    assert [v.name for v in model.trainable_weights] == ["kernel", "bias", "kernel", "bias"]
    loss, grads = model._compute_gradients(x, y)
    expected_loss, expected = reference_gradients(x, y, d1, {}, d2, *bn_reference(w, False))
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    for got, fd in zip(grads, finite_difference_gradients(model, x, y), strict=True):
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_fit_with_frozen_batch_norm_leaves_it_unchanged(float64):
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=(20, 4)), rng.normal(size=(20, 2))
    norm = keras.layers.BatchNormalization()
    model, d1, w, d2 = dense_norm_model(norm, (4,), 5, 2, rng)
    norm.trainable = False  # after compile: Keras 3 reads it at every step
    before = norm.get_weights()
    dense_before = model.layers[0].get_weights()
    model.fit(x, y, batch_size=5, epochs=2, verbose=0)
    for a, b in zip(before, norm.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(dense_before[0], model.layers[0].get_weights()[0])
    # Training-mode calls of the whole model use the moving statistics as well.
    np.testing.assert_allclose(model(x, training=True), model(x), rtol=1e-12)


def test_frozen_model_freezes_its_batch_norm(float64):
    rng = np.random.default_rng(13)
    x = rng.normal(size=(8, 3))
    inner = keras.Sequential([keras.Input(shape=(3,)), keras.layers.BatchNormalization()])
    outer = keras.Sequential([inner, keras.layers.Dense(1)])
    outer.compile(optimizer="sgd", loss="mse")
    inner.trainable = False
    moving = inner.layers[0].moving_mean.numpy()
    outer.fit(x, np.zeros((8, 1)), epochs=1, verbose=0)
    np.testing.assert_array_equal(inner.layers[0].moving_mean.numpy(), moving)


# -- weights, summary, config -----------------------------------------------------------------


@pytest.mark.parametrize("center,scale", BN_FLAGS, ids=FLAG_IDS)
def test_batch_norm_weights_order_and_trainable_split(center, scale):
    layer = keras.layers.BatchNormalization(center=center, scale=scale)
    model = keras.Sequential([keras.Input(shape=(2, 3)), layer])
    names = ["gamma"] * scale + ["beta"] * center
    assert [w.name for w in layer.weights] == [*names, "moving_mean", "moving_variance"]
    assert [w.name for w in layer.trainable_weights] == names
    assert [w.name for w in layer.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert [w.name for w in model.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert all(w.shape == (3,) for w in layer.weights)
    assert layer.count_params() == 3 * (2 + center + scale)
    values = {w.name: w.numpy() for w in layer.weights}
    for name, expected in (("gamma", 1), ("beta", 0), ("moving_mean", 0), ("moving_variance", 1)):
        if name in values:
            np.testing.assert_array_equal(values[name], np.full(3, expected, "float32"))
    layer.trainable = False
    assert layer.trainable_weights == []
    assert len(layer.non_trainable_weights) == len(layer.weights)


def test_layer_norm_weights():
    layer = keras.layers.LayerNormalization(gamma_initializer="zeros", beta_initializer="ones")
    layer.build((None, 2, 5))
    assert [w.name for w in layer.weights] == ["gamma", "beta"]
    assert [w.name for w in layer.trainable_weights] == ["gamma", "beta"]
    np.testing.assert_array_equal(layer.gamma.numpy(), np.zeros(5))
    np.testing.assert_array_equal(layer.beta.numpy(), np.ones(5))
    plain = keras.layers.LayerNormalization(center=False, scale=False)
    plain.build((None, 5))
    assert plain.weights == [] and plain.count_params() == 0


def test_summary_counts_non_trainable_statistics():
    model = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.LayerNormalization(),
            keras.layers.Dense(1),
        ]
    )
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "batch_normalization" in text and "(BatchNormalization)" in text
    assert "Total params: 97 " in text  # 40 + 32 + 16 + 9
    assert "Trainable params: 81 " in text
    assert "Non-trainable params: 16 " in text


def test_config_round_trip():
    bn = keras.layers.BatchNormalization(
        momentum=0.9,
        epsilon=1e-5,
        center=False,
        gamma_initializer="random_normal",
        gamma_regularizer=keras.regularizers.L2(0.1),
        name="bn",
    )
    config = bn.get_config()
    assert config["momentum"] == 0.9 and config["epsilon"] == 1e-5 and config["center"] is False
    clone = keras.layers.BatchNormalization.from_config(config)
    assert clone.get_config() == config
    ln = keras.layers.LayerNormalization(axis=[-1], epsilon=1e-6, beta_regularizer="l1")
    config = ln.get_config()
    assert keras.layers.LayerNormalization.from_config(config).get_config() == config


def test_regularizers_add_to_loss_and_gradients(float64):
    rng = np.random.default_rng(14)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    layer = keras.layers.BatchNormalization(
        gamma_regularizer=keras.regularizers.L2(0.5), beta_regularizer=keras.regularizers.L1(0.25)
    )
    model = keras.Sequential([keras.Input(shape=(3,)), layer])
    model.compile(optimizer="sgd", loss="mse")
    model.build()
    w = random_affine(layer, rng)
    loss, (dgamma, dbeta) = model._compute_gradients(x, y)
    out = ref.batch_norm_forward(
        x, w["gamma"], w["beta"], w["moving_mean"], w["moving_variance"], 0.99, 1e-3, True
    )[0]
    penalty = 0.5 * np.sum(w["gamma"] ** 2) + 0.25 * np.sum(np.abs(w["beta"]))
    assert loss == pytest.approx(np.mean((out - y) ** 2) + penalty, rel=1e-12)
    _, ref_dgamma, ref_dbeta = ref.batch_norm_backward(
        x, 2 * (out - y) / out.size, w["gamma"], None, None, 1e-3, True
    )
    np.testing.assert_allclose(dgamma, ref_dgamma + w["gamma"], rtol=1e-10)
    np.testing.assert_allclose(dbeta, ref_dbeta + 0.25 * np.sign(w["beta"]), rtol=1e-10)


# -- training ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tiny_fit_learns(dtype):
    """Unnormalized inputs (mean 3, std 5) per position; the label is whether a position's
    features sum above their mean."""
    rng = np.random.default_rng(15)
    x = (rng.normal(size=(64, 2, 3)) * 5 + 3).astype(dtype)
    y = (x.sum(axis=-1, keepdims=True) > 9).astype(dtype)
    with floatx(dtype):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input(shape=(2, 3)),
                keras.layers.BatchNormalization(),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.LayerNormalization(),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
        history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.5 * losses[0]
    assert model.predict(x, verbose=0).dtype == dtype


# -- bad arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"epsilon": -1e-3}, "epsilon"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"epsilon": "small"}, "epsilon"),
        ({"momentum": 1.5}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"axis": 0}, "last axis"),
        ({"axis": -2}, "last axis"),
        ({"axis": [1, 2]}, "last axis"),
        ({"renorm": True}, "renorm"),
        ({"synchronized": True}, "synchronized"),
        ({"beta_constraint": "nope"}, "Constraint 'nope'"),
        ({"center": "yes"}, "center"),
        ({"gamma_regularizer": "orthogonal"}, "Regularizer"),
    ],
)
def test_batch_norm_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.layers.BatchNormalization(**kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"epsilon": -1.0}, "epsilon"),
        ({"axis": 0}, "last axis"),
        ({"axis": [-2, -1]}, "last axis"),
        ({"gamma_constraint": "nope"}, "Constraint 'nope'"),
    ],
)
def test_layer_norm_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.layers.LayerNormalization(**kwargs)
    with pytest.raises(TypeError, match="axis"):
        keras.layers.LayerNormalization(axis="last")


@pytest.mark.parametrize("cls", [keras.layers.BatchNormalization, keras.layers.LayerNormalization])
def test_axis_that_is_not_the_last_for_the_input_rank(cls):
    layer = cls(axis=1)
    with pytest.raises(ValueError, match="only the last axis"):
        keras.Sequential([keras.Input(shape=(4, 3)), layer])
    fine = cls(axis=2)  # the last axis of (batch, 4, 3)
    model = keras.Sequential([keras.Input(shape=(4, 3)), fine])
    assert model.output_shape == (None, 4, 3)


def test_native_constructor_guards():
    """The core checks its arguments too (ValueError, never a crash)."""
    from eigennet import _core

    with pytest.raises(ValueError, match="momentum"):
        _core.BatchNormalization_float32(2.0, 1e-3, True, True)
    with pytest.raises(ValueError, match="epsilon"):
        _core.LayerNormalization_float64(-1.0, True, True, False)


# -- threads --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["batch", "layer"])
def test_results_do_not_depend_on_the_thread_count(kind):
    """Large enough to run the parallel paths; results must be bit-identical."""
    rng = np.random.default_rng(16)
    x = rng.normal(size=(96, 8, 8, 64)).astype("float32") * 3 + 1
    y = rng.normal(size=(96, 8, 8, 4)).astype("float32")
    runs = []
    previous = keras.config.get_num_threads()
    try:
        for threads in (1, 2):
            keras.config.set_num_threads(threads)
            keras.utils.set_random_seed(1)
            norm = make_norm(kind)
            model = keras.Sequential([keras.Input(shape=(8, 8, 64)), norm, keras.layers.Dense(4)])
            model.compile(optimizer="sgd", loss="mse")
            out = model(x, training=True)
            _, grads = model._compute_gradients(x, y)
            runs.append((out, grads, norm.get_weights()))
    finally:
        keras.config.set_num_threads(previous)
    (out1, g1, w1), (out2, g2, w2) = runs
    np.testing.assert_array_equal(out1, out2)
    for a, b in zip(g1 + w1, g2 + w2, strict=True):
        np.testing.assert_array_equal(a, b)
