"""keras.random (issue 14): eager draws are NumPy arrays, seeded as Keras 3 (an int repeats, a
SeedGenerator advances, None follows set_random_seed); on symbolic tensors and inside a traced
call() they are native ops that draw at every forward, independent of the thread count, with
the right moments; dropout drops in training only and its gradient is mask / (1 - rate)."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import _core, layers, ops, random
from gradient_check import op_vjp

N = 200_000  # draws for the moment checks: mean within ~5/sqrt(N) of the truth


# -- eager ------------------------------------------------------------------------------------
def test_eager_draws_are_arrays_of_the_shape_and_dtype():
    assert random.normal((2, 3)).shape == (2, 3)
    assert random.normal((2, 3)).dtype == np.float32
    assert random.uniform(4, dtype="float64").dtype == np.float64
    assert random.truncated_normal([3, 1]).shape == (3, 1)
    r = random.randint((5, 2), 0, 3)
    assert r.dtype == np.int32 and r.shape == (5, 2)


def test_an_int_seed_repeats_and_a_seed_generator_advances_reproducibly():
    np.testing.assert_array_equal(random.normal((4,), seed=7), random.normal((4,), seed=7))
    assert not np.array_equal(random.normal((4,), seed=7), random.normal((4,), seed=8))
    g1, g2 = random.SeedGenerator(3), random.SeedGenerator(3)
    a, b = random.uniform((4,), seed=g1), random.uniform((4,), seed=g1)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(random.uniform((4,), seed=g2), a)
    np.testing.assert_array_equal(random.uniform((4,), seed=g2), b)
    assert random.SeedGenerator.from_config(g1.get_config()).get_config() == {"seed": 3}


def test_set_random_seed_drives_unseeded_draws():
    keras.utils.set_random_seed(5)
    a = random.normal((4,)), random.SeedGenerator().next(), random.shuffle(np.arange(8))
    keras.utils.set_random_seed(5)
    b = random.normal((4,)), random.SeedGenerator().next(), random.shuffle(np.arange(8))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    np.testing.assert_array_equal(a[2], b[2])


def test_eager_moments():
    x = random.normal((N,), mean=2.0, stddev=3.0, seed=1)
    assert abs(x.mean() - 2) < 0.05 and abs(x.std() - 3) < 0.05
    u = random.uniform((N,), -1.0, 3.0, seed=1)
    assert u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.02
    t = random.truncated_normal((N,), stddev=2.0, seed=1)
    assert np.abs(t).max() <= 4 and abs(t.std() - 2 * 0.8796) < 0.02
    r = random.randint((N,), 2, 5, seed=1)
    assert set(np.unique(r)) == {2, 3, 4}


def test_eager_dropout_and_shuffle():
    x = np.ones((400, 50), dtype="float32")
    y = random.dropout(x, 0.25, seed=1)
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.01
    rows = random.dropout(x, 0.5, noise_shape=(None, 1), seed=1)
    assert all(len(set(r)) == 1 for r in rows)  # one draw per row
    np.testing.assert_array_equal(random.dropout(x, 0.0), x)
    np.testing.assert_array_equal(random.dropout(x, 1.0), 0)
    s = random.shuffle(np.arange(12).reshape(3, 4), axis=1, seed=2)
    assert sorted(s[0]) == [0, 1, 2, 3] and (s - s[:, :1] == s[0] - s[0, 0]).all()


# -- native ops -------------------------------------------------------------------------------
def _draw(kind, a, b, shape=(N,), seed=1, dtype="float64"):
    op = getattr(_core, f"RandomOp_{dtype}")(kind, [-1], list(shape), seed, a, b)
    y, grads = op_vjp(op, [np.zeros(3)], np.zeros(shape), dtype)
    np.testing.assert_array_equal(grads[0], 0)  # pure draws have no gradient
    return y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_native_draws_have_the_distributions_moments(dtype):
    x = _draw("normal", 2.0, 3.0, dtype=dtype)
    assert abs(x.mean() - 2) < 0.05 and abs(x.std() - 3) < 0.05
    assert abs(np.mean(((x - 2) / 3) ** 4) - 3) < 0.1  # normal kurtosis
    u = _draw("uniform", -1.0, 3.0, dtype=dtype)
    assert (
        u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.02 and abs(u.var() - 4 / 3) < 0.02
    )
    t = _draw("truncated_normal", 0.0, 2.0, dtype=dtype)
    assert np.abs(t).max() <= 4 and abs(t.mean()) < 0.03 and abs(t.std() - 2 * 0.8796) < 0.02
    r = _draw("randint", 2.0, 5.0, dtype=dtype)
    values, counts = np.unique(r, return_counts=True)
    assert list(values) == [2, 3, 4] and abs(counts / N - 1 / 3).max() < 0.01


def test_native_draws_are_new_per_forward_and_reproducible_from_the_seed():
    a = _core.RandomOp_float32("normal", [-1, 4], [-1, 4], 9, 0.0, 1.0)
    b = _core.RandomOp_float32("normal", [-1, 4], [-1, 4], 9, 0.0, 1.0)
    x, dy = [np.zeros((3, 4))], np.zeros((3, 4))
    first, second = op_vjp(a, x, dy, "float32")[0], op_vjp(a, x, dy, "float32")[0]
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(op_vjp(b, x, dy, "float32")[0], first)
    assert a.rng_state == (9, 2)
    a.rng_state = (9, 0)
    np.testing.assert_array_equal(op_vjp(a, x, dy, "float32")[0], first)


def test_native_draws_do_not_depend_on_the_thread_count():
    threads = keras.config.get_num_threads()
    try:
        results = []
        for n in (1, 4):
            keras.config.set_num_threads(n)
            op = _core.DropoutOp_float32([-1, 1000], 0.3, [-1, 1000], 4)
            y = op_vjp(op, [np.ones((600, 1000))], np.ones((600, 1000)), "float32")[0]
            draw = _draw("normal", 0.0, 1.0, shape=(600_000,), seed=4, dtype="float32")
            results.append((y, draw))
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])
    finally:
        keras.config.set_num_threads(threads)


@pytest.mark.parametrize("noise", [[-1, 3, 4], [-1, 1, 4], [1, 3, 1]])
def test_native_dropout_gradient_is_the_mask_over_keep_prob(noise):
    rate = 0.4
    op = _core.DropoutOp_float64([-1, 3, 4], rate, noise, 11)
    x = np.random.default_rng(0).uniform(1, 2, size=(50, 3, 4))  # no zeros: y == 0 <=> dropped
    dy = np.random.default_rng(1).normal(size=x.shape)
    y, (dx,) = op_vjp(op, [x], dy)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate))
    np.testing.assert_allclose(dx, np.where(kept, dy / (1 - rate), 0))
    assert abs(1 - kept.mean() - rate) < 0.1
    for axis, size in enumerate(noise):  # shared draws along the noise's axes of length 1
        if size == 1:
            np.testing.assert_array_equal(
                kept, np.take(kept, [0], axis=axis).repeat(x.shape[axis], axis)
            )


def test_native_shuffle_permutes_and_sends_gradients_back():
    op = _core.ShuffleOp_float64([-1, 5, 2], 1, 3)
    x = np.arange(40, dtype="float64").reshape(4, 5, 2)
    dy = np.random.default_rng(0).normal(size=x.shape)
    y, (dx,) = op_vjp(op, [x], dy)
    perm = (y[0, :, 0] // 2).astype(int)
    assert sorted(perm) == list(range(5))
    np.testing.assert_array_equal(y, x[:, perm])
    expected = np.zeros_like(dy)
    expected[:, perm] = dy
    np.testing.assert_array_equal(dx, expected)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: _core.RandomOp_float32("poisson", [-1], [-1], 1, 0.0, 1.0), "unknown"),
        (lambda: _core.RandomOp_float32("uniform", [-1], [-1], 1, 1.0, 1.0), "less than"),
        (lambda: _core.RandomOp_float32("normal", [3], [-1, 2], 1, 0.0, 1.0), "batched"),
        (lambda: _core.DropoutOp_float32([-1, 3], 1.5, [-1, 3], 1), "rate"),
        (lambda: _core.DropoutOp_float32([-1, 3], 0.5, [-1, 2], 1), "noise_shape"),
        (lambda: _core.ShuffleOp_float32([-1, 3], 2, 1), "axis"),
    ],
)
def test_native_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# -- inside models ----------------------------------------------------------------------------
class Noisy(layers.Layer):
    """Adds normal noise of the input's shape (a None batch axis) and a fixed-shape draw."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed

    def call(self, x):
        noise = random.normal(ops.shape(x), stddev=0.1, seed=self.seed)
        bias = random.uniform((ops.shape(x)[-1],), seed=self.seed)
        return x + noise + bias


def test_draws_in_a_traced_call_have_the_eager_shapes_and_change_every_batch():
    layer = Noisy(seed=1)
    inputs = keras.Input((3, 4))
    out = layer(inputs)
    assert out.shape == (None, 3, 4)
    x = np.zeros((6, 3, 4), dtype="float32")
    assert layer(x).shape == (6, 3, 4)  # eager
    model = keras.Model(inputs, out)
    a = model.predict(x, batch_size=3, verbose=0)
    assert a.shape == (6, 3, 4)
    assert not np.allclose(a[:3], a[3:])  # a new draw for the second batch
    assert not np.allclose(a, model.predict(x, batch_size=3, verbose=0))
    first = a[:3]  # the uniform bias is the same within a batch
    bias = first.mean(axis=(0, 1))
    assert ((bias > -0.2) & (bias < 1.2)).all() and 0.05 < (first - bias).std() < 0.15


def test_seeded_traced_draws_are_reproducible_across_models():
    def run():
        inputs = keras.Input((4,))
        model = keras.Model(inputs, Noisy(seed=4)(inputs))
        return model.predict(np.zeros((8, 4)), batch_size=4, verbose=0)

    np.testing.assert_array_equal(run(), run())


def test_random_ops_on_symbolic_tensors_outside_a_call():
    inputs = keras.Input((6,))
    x = random.shuffle(random.dropout(inputs, 0.5, seed=1), axis=1, seed=2)
    assert x.shape == (None, 6)
    model = keras.Model(inputs, x)
    data = np.arange(12, dtype="float32").reshape(2, 6)
    out = model.predict(data, verbose=0)  # predict: dropout is the identity
    np.testing.assert_array_equal(np.sort(out, axis=1), data)
    with pytest.raises(ValueError, match="batch axis"):
        random.normal(ops.shape(inputs))


class DropoutDense(layers.Layer):
    def __init__(self, units, rate, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(units)
        self.rate = rate

    def call(self, x):
        return self.dense(random.dropout(x, self.rate, seed=3))


def test_dropout_in_a_custom_layer_trains_and_is_the_identity_in_predict():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((8,))
    layer = DropoutDense(1, 0.5)
    model = keras.Model(inputs, layer(inputs))
    x = np.random.default_rng(0).normal(size=(256, 8)).astype("float32")
    y = x @ np.arange(8, dtype="float32")[:, None] / 8
    np.testing.assert_allclose(model.predict(x, verbose=0), layer.dense(x), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    model.compile(optimizer="adam", loss="mse")
    first = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0) < first
    # training=True drops: about half of the inputs of a Dense with an identity kernel.
    train = model(np.ones((64, 8), dtype="float32"), training=True)
    assert not np.allclose(train, model(np.ones((64, 8), dtype="float32")))


def test_a_model_with_random_ops_saves_and_loads(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, random.dropout(inputs, 0.5, seed=1) * 2.0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = np.ones((3, 4), dtype="float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), 2 * x)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: random.normal((2,), seed=-1), ValueError, "seed"),
        (lambda: random.normal((2,), seed=1.5), ValueError, "seed"),
        (lambda: random.SeedGenerator("a"), ValueError, "seed"),
        (lambda: random.uniform((2,), 1.0, 0.0), ValueError, "less than"),
        (lambda: random.randint((2,), 3, 3), ValueError, "less than"),
        (lambda: random.dropout(np.ones(3), 1.5), ValueError, "rate"),
        (lambda: random.dropout(np.ones((2, 3)), 0.5, noise_shape=(2,)), ValueError, "rank"),
        (lambda: random.normal((2, None)), ValueError, "first axis"),
        (lambda: random.shuffle(np.ones(3), axis=1), ValueError, "axis"),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
