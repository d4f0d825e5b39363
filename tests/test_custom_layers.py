"""Subclassed `keras.layers.Layer` and `keras.Model` (issue 14) behave as Keras 3 defines them:
add_weight, the weights order, trainable propagation, custom layers inside Sequential,
functional and other custom layers, shared calls, subclassed models through fit / evaluate /
predict / summary, eager calls equal to the traced graph, float64 gradients against finite
differences, save/load round trips, and the errors a user meets while tracing."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops
from gradient_check import assert_gradients_match_finite_differences
from subprocess_harness import assert_raises

RNG = np.random.default_rng(14)


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same weights and data, whatever ran before it."""
    global RNG
    keras.utils.set_random_seed(1234)
    RNG = np.random.default_rng(1234)


# -- layers used throughout -----------------------------------------------------------------
@keras.saving.register_keras_serializable(package="test_custom_layers")
class Linear(layers.Layer):
    """x @ w + b with its weights made in build()."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="random_normal", name="kernel"
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class ScaledLinear(layers.Layer):
    """Own trainable, own non-trainable weights and two sublayers (Keras's weights order:
    own trainable, own non-trainable, then the sublayers' in attribute order)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = layers.Dense(3, name="inner_dense")
        self.linear = Linear(2, name="inner_linear")

    def build(self, input_shape):
        self.frozen = self.add_weight(
            shape=(2,), initializer="ones", trainable=False, name="frozen"
        )
        self.scale = self.add_weight(shape=(1,), initializer="ones", name="scale")

    def call(self, x):
        return self.linear(ops.tanh(self.inner(x))) * self.scale * self.frozen


def _model_of(layer, features=5):
    inputs = keras.Input((features,))
    return keras.Model(inputs, layer(inputs))


# -- add_weight --------------------------------------------------------------------------------
def test_add_weight_shapes_initializers_and_trainable_flag():
    class Weights(layers.Layer):
        def build(self, input_shape):
            self.z = self.add_weight(shape=(2, 3), initializer="zeros", name="z")
            self.c = self.add_weight(shape=(3,), initializer=keras.initializers.Constant(2.5))
            self.s = self.add_weight(shape=(), initializer="ones", name="s")
            self.n = self.add_weight(
                shape=(60, 50),
                initializer=keras.initializers.RandomNormal(stddev=0.1, seed=1),
                name="n",
            )
            self.f = self.add_weight(shape=(4,), initializer="ones", trainable=False, name="f")

        def call(self, x):
            return x * self.s

    layer = Weights(name="weights_layer")
    layer(keras.Input((3,)))
    assert layer.built
    assert layer.z.shape == (2, 3) and layer.s.shape == () and layer.n.shape == (60, 50)
    np.testing.assert_array_equal(layer.z.numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(layer.c.numpy(), np.full(3, 2.5))
    np.testing.assert_array_equal(np.asarray(layer.s.numpy()), 1.0)
    assert abs(float(layer.n.numpy().std()) - 0.1) < 0.01
    assert layer.z.dtype == "float32"
    assert layer.z.trainable and not layer.f.trainable
    assert [w.shape for w in layer.trainable_weights] == [(2, 3), (3,), (), (60, 50)]
    assert [w.shape for w in layer.non_trainable_weights] == [(4,)]
    assert layer.count_params() == 6 + 3 + 1 + 3000 + 4


def test_add_weight_default_initializer_is_glorot_uniform():
    class Glorot(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(100, 200))

        def call(self, x):
            return x

    layer = Glorot()
    layer(keras.Input((3,)))
    limit = np.sqrt(6 / 300)
    values = layer.w.numpy()
    assert np.abs(values).max() <= limit and np.abs(values).max() > 0.9 * limit


def test_regularizer_of_add_weight_adds_to_the_loss():
    class Penalized(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], 2),
                initializer="ones",
                regularizer=keras.regularizers.L2(0.5),
            )

        def call(self, x):
            return ops.matmul(x, self.w)

    model = _model_of(Penalized(), features=3)
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((4, 3), "float32"), np.zeros((4, 2), "float32")
    # mse is 0; the penalty is 0.5 * sum(w**2) = 0.5 * 6
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), 3.0, rtol=1e-6)


def test_weights_order_own_trainable_then_non_trainable_then_sublayers():
    layer = ScaledLinear()
    model = _model_of(layer)
    shapes = [w.shape for w in layer.weights]
    assert shapes == [(1,), (2,), (5, 3), (3,), (3, 2), (2,)]
    assert [w.shape for w in layer.trainable_weights] == [(1,), (5, 3), (3,), (3, 2), (2,)]
    assert [w.shape for w in layer.non_trainable_weights] == [(2,)]
    assert [w.shape for w in model.weights] == shapes
    assert [w.shape for w in model.get_weights()] == shapes
    paths = [w.path for w in layer.weights]
    assert paths[2:4] == ["inner_dense/kernel", "inner_dense/bias"]
    assert paths[4:] == ["inner_linear/kernel", "inner_linear/bias"]


def test_trainable_flag_propagates_to_sublayers_and_freezes_training():
    layer = ScaledLinear()
    model = _model_of(layer)
    layer.trainable = False
    assert not layer.inner.trainable and not layer.linear.trainable
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 6
    model.compile(optimizer="adam", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    with pytest.warns(UserWarning, match="trainable weights"):  # as Keras warns
        model.fit(RNG.normal(size=(8, 5)), RNG.normal(size=(8, 2)), epochs=2, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    layer.trainable = True
    assert layer.linear.trainable and len(model.trainable_weights) == 5


# -- custom layers in models -----------------------------------------------------------------
def test_custom_layer_in_sequential_trains_and_predicts_like_its_eager_call():
    model = keras.Sequential([keras.Input((4,)), Linear(6), layers.Activation("relu"), Linear(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    x = RNG.normal(size=(32, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    history = model.fit(x, y, epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    np.testing.assert_allclose(model.predict(x, verbose=0), model(x), rtol=1e-5, atol=1e-6)
    assert len(model.weights) == 4


def test_custom_layer_nested_in_custom_layer_in_functional_model():
    class Outer(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.block = ScaledLinear()
            self.head = Linear(1)

        def call(self, x):
            return self.head(ops.relu(self.block(x)))

    outer = Outer()
    inputs = keras.Input((5,))
    model = keras.Model(inputs, layers.Dense(2)(outer(inputs)))
    assert len(outer.weights) == 6 + 2 and len(model.weights) == 10
    x = RNG.normal(size=(10, 5)).astype("float32")
    manual = outer(x) @ model.layers[-1].kernel.numpy() + model.layers[-1].bias.numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), manual, rtol=1e-5, atol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    before = outer.block.linear.w.numpy().copy()
    model.fit(x, RNG.normal(size=(10, 2)), epochs=1, verbose=0)
    assert not np.array_equal(before, outer.block.linear.w.numpy())


def test_a_layer_called_twice_shares_its_weights():
    a, b = keras.Input((3,)), keras.Input((3,))
    shared = Linear(2)
    model = keras.Model([a, b], shared(a) - shared(b))
    assert len(model.weights) == 2
    xa, xb = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 3))
    expected = (xa - xb) @ shared.w.numpy()
    # float32 differences of nearly equal values: compared with an absolute tolerance too
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), expected, rtol=1e-5, atol=1e-5)
    model.compile(optimizer="sgd", loss="mse")
    model.fit([xa, xb], RNG.normal(size=(6, 2)), epochs=1, verbose=0)
    np.testing.assert_allclose(
        model.predict([xa, xb], verbose=0), shared(xa) - shared(xb), rtol=1e-5, atol=1e-5
    )


# -- subclassed Model ------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="test_custom_layers")
class TwoInputNet(keras.Model):
    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.trunk = layers.Dense(hidden, activation="relu")
        self.linear = Linear(3)
        self.head = layers.Dense(1)

    def call(self, inputs, training=None):
        left, right = inputs
        h = self.trunk(ops.concatenate([left, right], axis=-1))
        return self.head(ops.tanh(self.linear(h)))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


def _two_inputs(n=24):
    x = [RNG.normal(size=(n, 3)).astype("float32"), RNG.normal(size=(n, 2)).astype("float32")]
    return x, (x[0].sum(axis=1, keepdims=True) - x[1][:, :1]).astype("float32")


def test_subclassed_model_fit_evaluate_predict_summary(capsys):
    model = TwoInputNet()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    x, y = _two_inputs()
    history = model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, mae = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, history.history["loss"][-1], rtol=0.5)
    predicted = model.predict(x, verbose=0)
    assert predicted.shape == (24, 1)
    np.testing.assert_allclose(loss, np.mean((predicted - y) ** 2), rtol=1e-4)
    np.testing.assert_allclose(model(x), predicted, rtol=1e-5, atol=1e-6)
    assert [w.shape for w in model.weights] == [(5, 8), (8,), (8, 3), (3,), (3, 1), (1,)]
    model.summary()
    out = capsys.readouterr().out
    assert "Linear" in out and "Total params: " in out


class DictNet(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.trunk = layers.Dense(4, activation="tanh")
        self.reg = layers.Dense(1)
        self.cls = Linear(3)

    def call(self, inputs):
        h = self.trunk(inputs)
        return {"value": self.reg(h), "label": ops.softmax(self.cls(h))}


def test_subclassed_model_with_dict_outputs_predicts_a_dict_by_its_keys():
    model = DictNet()
    x = RNG.normal(size=(6, 4)).astype("float32")
    predicted = model.predict(x, verbose=0)
    assert isinstance(predicted, dict) and set(predicted) == {"value", "label"}
    assert predicted["value"].shape == (6, 1) and predicted["label"].shape == (6, 3)


def test_subclassed_model_with_dict_outputs_trains_on_a_loss_dict():
    model = DictNet()
    model.compile(optimizer="adam", loss={"value": "mse", "label": "categorical_crossentropy"})
    x = RNG.normal(size=(12, 4)).astype("float32")
    y = {"value": RNG.normal(size=(12, 1)), "label": np.eye(3)[RNG.integers(0, 3, 12)]}
    history = model.fit(x, y, epochs=2, verbose=0)
    assert sorted(history.history) == ["label_loss", "loss", "value_loss"]


def test_eager_call_on_arrays_equals_the_traced_predict():
    layer = ScaledLinear()
    model = _model_of(layer)
    model.compile(optimizer="adam", loss="mse")
    x = RNG.normal(size=(9, 5)).astype("float32")
    model.fit(x, RNG.normal(size=(9, 2)), epochs=2, verbose=0)  # weights away from their init
    eager = layer(x)
    assert isinstance(eager, np.ndarray)
    np.testing.assert_allclose(model.predict(x, verbose=0), eager, rtol=1e-5, atol=1e-6)


# -- gradients ---------------------------------------------------------------------------------
class OpsMix(layers.Layer):
    """Touches the ops a custom layer commonly uses: matmul, bias add, tanh, mean/sum over
    an axis, indexing, concatenate, reshape, transpose, softmax."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 6), initializer="random_normal")
        self.b = self.add_weight(shape=(6,), initializer="random_normal")

    def call(self, x):
        h = ops.tanh(ops.matmul(x, self.w) + self.b)  # (B, 6)
        centered = h - ops.mean(h, axis=-1, keepdims=True)
        head = centered[:, 0:2]  # (B, 2)
        total = ops.sum(h * h, axis=1, keepdims=True)  # (B, 1)
        grid = ops.transpose(ops.reshape(h, (-1, 2, 3)), (0, 2, 1))  # (B, 3, 2)
        flat = ops.reshape(grid, (-1, 6))
        joined = ops.concatenate([head, total, flat], axis=-1)  # (B, 9)
        return ops.softmax(joined, axis=-1)


def test_float64_gradients_of_a_custom_layer_match_finite_differences(float64):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(2)(OpsMix()(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.normal(size=(5, 4)), RNG.normal(size=(5, 2))
    assert model.get_weights()[0].dtype == np.float64
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)


def test_float64_gradients_of_a_subclassed_model_match_finite_differences(float64):
    model = TwoInputNet(hidden=4)
    model.compile(optimizer="sgd", loss="mse")
    x, y = _two_inputs(5)
    x = [v.astype("float64") for v in x]
    model.predict(x, verbose=0)  # builds it
    assert_gradients_match_finite_differences(model, x, y.astype("float64"), rtol=1e-4, atol=1e-7)


# -- saving ------------------------------------------------------------------------------------
def _assert_round_trip(model, x, y, path):
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    fit = dict(epochs=2, batch_size=8, shuffle=False, verbose=0)
    h_model, h_loaded = model.fit(x, y, **fit).history, loaded.fit(x, y, **fit).history
    assert h_model == h_loaded
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    return loaded


def test_functional_model_with_registered_custom_layer_saves_and_resumes(tmp_path):
    inputs = keras.Input((4,))
    hidden = ops.relu(Linear(6, name="custom_linear")(inputs))
    model = keras.Model(inputs, layers.Dense(1)(hidden))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    x = RNG.normal(size=(24, 4)).astype("float32")
    loaded = _assert_round_trip(model, x, x[:, :1] * 2, tmp_path / "custom_layer.keras")
    restored = loaded.get_layer("custom_linear")
    assert type(restored) is Linear and restored.units == 6


def test_registered_subclassed_model_saves_and_resumes(tmp_path):
    model = TwoInputNet(hidden=5)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    x, y = _two_inputs()
    loaded = _assert_round_trip(model, x, y, tmp_path / "subclassed.keras")
    assert type(loaded) is TwoInputNet and loaded.hidden == 5


def test_clone_model_of_a_model_with_a_custom_layer():
    clone_model = getattr(keras.models, "clone_model", None)
    if clone_model is None:
        pytest.skip("keras.models.clone_model does not exist yet")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, Linear(3)(inputs))
    clone = clone_model(model)
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    clone.set_weights(model.get_weights())
    x = RNG.normal(size=(5, 4)).astype("float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))


# -- errors ------------------------------------------------------------------------------------
PRELUDE = """
import numpy as np
import eigennet as keras
from eigennet import layers, ops
"""


def test_branching_on_a_symbolic_tensor_says_use_ops_where():
    code = """
    class Branchy(layers.Layer):
        def call(self, x):
            if x > 0:
                return x
            return -x

    Branchy()(keras.Input((3,)))
    """
    assert_raises(code, ["TypeError"], ["ops.where", "symbolic"], prelude=PRELUDE)


def test_matmul_shape_mismatch_names_the_op_and_the_layer():
    code = """
    class Bad(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(16, 8))

        def call(self, x):
            return ops.matmul(x, self.w)

    Bad(name="my_dense")(keras.Input((32,)))
    """
    assert_raises(code, ["ValueError"], ["matmul", "my_dense", "32", "16"], prelude=PRELUDE)


def test_add_weight_after_build_raises():
    layer = Linear(2)
    layer(keras.Input((3,)))
    with pytest.raises(ValueError, match="add_weight"):
        layer.add_weight(shape=(2,))


def test_a_model_subclass_may_pass_inputs_and_outputs_to_super():
    class Wrapped(keras.Model):
        def __init__(self, units=2, **kwargs):
            inputs = keras.Input((3,))
            hidden = layers.Dense(8, activation="relu")(inputs)
            super().__init__(inputs=inputs, outputs=layers.Dense(units)(hidden), **kwargs)

    model = Wrapped(name="wrapped")
    model.compile("adam", "mse")
    x, y = RNG.normal(size=(16, 3)), RNG.normal(size=(16, 2))
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    assert model.built and model.input_shape == (None, 3) and len(model.layers) == 3
    assert [w.shape for w in model.weights] == [(3, 8), (8,), (8, 2), (2,)]


class FusableDense(layers.Layer):
    """matmul + bias + activation: the graph builder fuses it into one native node."""

    def __init__(self, units, activation, **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation = units, activation

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="random_normal", name="bias")

    def call(self, x):
        z = ops.matmul(x, self.kernel) + self.bias
        return getattr(ops, self.activation)(z) if self.activation != "linear" else z


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "softmax", "selu", "linear"])
def test_a_fused_custom_dense_trains_exactly_as_the_dense_layer(float64, activation):
    custom = keras.Sequential([keras.Input((5,)), FusableDense(4, activation)])
    natives = [type(core).__name__ for core, _ in custom._network_nodes()]
    assert natives.count("DenseOp_float64") == 1  # one fused node, not matmul, add and act
    builtin = keras.Sequential([keras.Input((5,)), layers.Dense(4, activation=activation)])
    builtin.set_weights(custom.get_weights())
    x, y = RNG.normal(size=(16, 5)), RNG.normal(size=(16, 4))
    for model in (custom, builtin):
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert_gradients_match_finite_differences(custom, x, y, rtol=1e-5, atol=1e-8)


def test_a_matmul_whose_result_is_reused_is_not_fused(float64):
    class Reused(FusableDense):
        def call(self, x):
            z = ops.matmul(x, self.kernel)
            return ops.relu(z + self.bias) + z  # z used twice: the chain must not fuse

    model = keras.Sequential([keras.Input((3,)), Reused(2, "relu")])
    natives = [type(core).__name__ for core, _ in model._network_nodes()]
    assert "DenseOp_float64" not in natives and "MatMulOp_float64" in natives
    x = RNG.normal(size=(4, 3))
    w, b = (v.numpy() for v in model.weights)
    np.testing.assert_allclose(model.predict(x, verbose=0), np.maximum(x @ w + b, 0) + x @ w)


class Penalized(layers.Layer):
    """Keras's guide example: an activity-style loss added in call()."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 2), name="w")

    def call(self, x):
        y = ops.matmul(x, self.w)
        self.add_loss(0.01 * ops.sum(ops.square(self.w)) + 0.1 * ops.mean(ops.abs(y)))
        return y


def test_add_loss_adds_to_the_loss_with_its_gradient(float64):
    model = keras.Sequential([keras.Input((3,)), Penalized()])
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 2))
    (w,) = model.get_weights()
    expected = np.mean((x @ w - y) ** 2) + 0.01 * np.sum(w**2) + 0.1 * np.mean(np.abs(x @ w))
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), expected, rtol=1e-10)
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)
    layer = model.layers[0]
    layer(x)  # on arrays: the losses of that call
    np.testing.assert_allclose(
        float(layer.losses[0]), 0.01 * np.sum(w**2) + 0.1 * np.mean(np.abs(x @ w))
    )


def test_add_loss_in_a_subclassed_model_and_a_non_scalar_is_refused(float64):
    class Net(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(2)

        def call(self, x):
            y = self.dense(x)
            self.add_loss(ops.mean(ops.square(y)))
            return y

    model = Net()
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.normal(size=(8, 3)), np.zeros((8, 2))
    np.testing.assert_allclose(
        model.evaluate(x, y, verbose=0), 2 * np.mean(model.predict(x, verbose=0) ** 2)
    )

    class Bad(layers.Layer):
        def call(self, x):
            self.add_loss(ops.square(x))  # one value per sample: not a scalar
            return x

    with pytest.raises(ValueError, match="add_loss needs a scalar"):
        Bad()(keras.Input((3,)))


class ScaledInTraining(layers.Layer):
    """Branches on `training` in Python: traced once per mode."""

    def call(self, x, training=None):
        if training:
            self.add_loss(ops.mean(ops.square(x)))
            return x * 2.0
        return x


def test_call_branching_on_training_is_traced_per_mode(float64):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(1)(ScaledInTraining()(inputs)))
    assert "ModeSelectOp_float64" in [type(core).__name__ for core, _ in model._network_nodes()]
    x, y = RNG.normal(size=(8, 3)), RNG.normal(size=(8, 1))
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), x @ kernel + bias)
    np.testing.assert_allclose(model(x, training=True), 2 * x @ kernel + bias)
    model.compile(optimizer="sgd", loss="mse")
    # evaluate runs in inference: no doubling and no added loss
    np.testing.assert_allclose(
        model.evaluate(x, y, verbose=0), np.mean((x @ kernel + bias - y) ** 2)
    )
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)
    before = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    # one SGD step of the training-mode loss: (2x @ k + b - y)^2 mean, plus mean(x^2)
    residual = 2 * x @ before[0] + before[1] - y
    grad_kernel = 2 * (2 * x).T @ residual / len(x)
    np.testing.assert_allclose(
        model.get_weights()[0], before[0] - 0.01 * grad_kernel, rtol=1e-10, atol=1e-12
    )


def test_call_taking_training_without_branching_is_one_graph():
    class Passes(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dropout = layers.Dropout(0.5)

        def call(self, x, training=None):
            return ops.tanh(self.dropout(x, training=training))

    model = keras.Sequential([keras.Input((4,)), Passes()])
    natives = [type(core).__name__ for core, _ in model._network_nodes()]
    assert natives == ["Dropout_float32", "UnaryOp_float32"]


@keras.saving.register_keras_serializable(package="test_custom_layers")
class TiedLanguageModel(layers.Layer):
    """Reads its Embedding's table in call(): a tied output projection."""

    def __init__(self, vocab=11, dim=4, **kwargs):
        super().__init__(**kwargs)
        self.vocab, self.dim = vocab, dim
        self.embed = layers.Embedding(vocab, dim)

    def call(self, ids):
        h = ops.mean(self.embed(ids), axis=1)
        return ops.softmax(ops.matmul(h, ops.transpose(self.embed.embeddings)))

    def get_config(self):
        return {**super().get_config(), "vocab": self.vocab, "dim": self.dim}


def test_ops_may_read_a_sublayers_weights_tied_embeddings(float64, tmp_path):
    model = keras.Sequential([keras.Input((5,)), TiedLanguageModel()])
    assert [w.path for w in model.weights] == [f"{model.layers[0].embed.name}/embeddings"]
    x, y = RNG.integers(0, 11, size=(16, 5)), RNG.integers(0, 11, size=(16,))
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)
    table = model.get_weights()[0]
    h = table[x].mean(axis=1)
    logits = h @ table.T
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(
        model.predict(x, verbose=0),
        expected / expected.sum(1, keepdims=True),
        rtol=1e-10,
        atol=1e-12,
    )
    history = model.fit(x, y, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "tied.keras")
    reloaded = keras.models.load_model(tmp_path / "tied.keras")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))


@keras.saving.register_keras_serializable(package="test_custom_layers")
class TrainingNoise(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seeds = keras.random.SeedGenerator(3)

    def call(self, x, training=None):
        if training:
            return x + keras.random.normal(ops.shape(x), stddev=0.5, seed=self.seeds)
        return x


def test_random_ops_in_a_custom_layer_resume_bit_exactly_after_loading(tmp_path):
    model = keras.Sequential([keras.Input((3,)), TrainingNoise(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.normal(size=(64, 3)), RNG.normal(size=(64, 1))
    model.fit(x, y, epochs=2, shuffle=False, verbose=0)
    model.save(tmp_path / "noise.keras")
    reloaded = keras.models.load_model(tmp_path / "noise.keras")
    ours = model.fit(x, y, epochs=2, shuffle=False, verbose=0).history["loss"]
    theirs = reloaded.fit(x, y, epochs=2, shuffle=False, verbose=0).history["loss"]
    assert ours == theirs


class _Doubling(keras.layers.Layer):
    def call(self, x):
        return x * 2.0


def test_training_is_dropped_for_a_call_without_it():
    x = np.ones((2, 3), dtype="float32")
    np.testing.assert_array_equal(_Doubling()(x, training=True), 2 * x)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, _Doubling()(inputs, training=False))
    np.testing.assert_array_equal(model.predict(x, verbose=0), 2 * x)


def test_activity_regularizer_of_a_custom_layer_adds_keras_penalty():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, _Doubling(activity_regularizer="l2")(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 3), dtype="float32")
    # mse 4, plus 0.01 * sum(2**2 over 3 values) per sample, averaged over the batch
    assert model.evaluate(x, np.zeros_like(x), verbose=0) == pytest.approx(4.12, rel=1e-6)


def test_unknown_constructor_arguments_raise_keras_value_error():
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to Dense"):
        keras.layers.Dense(3, foo=1)
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to _Doubling"):
        _Doubling(foo=1)


class _WeightsReadTwice(layers.Layer):
    """A kernel read by two products and a bias added twice (fan-out of weight tensors), and a
    scale read once: the graph writes the weights' gradients in place, summing the branches
    into them."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 3), name="kernel")
        self.bias = self.add_weight(shape=(3,), initializer="ones", name="bias")
        self.scale = self.add_weight(shape=(3,), initializer="ones", name="scale")

    def call(self, x):
        y = ops.matmul(x, self.kernel) + self.bias
        return ops.tanh(y) * self.scale + ops.matmul(ops.square(x), self.kernel) + self.bias


def test_float64_gradients_of_weights_read_several_times_match_finite_differences(float64):
    x = np.random.default_rng(1).normal(size=(5, 4))
    y = np.random.default_rng(2).normal(size=(5, 3))
    inputs = keras.Input((4,))
    model = keras.Model(inputs, _WeightsReadTwice()(inputs))
    model.compile(optimizer="sgd", loss="mse")
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)
    before = model.get_weights()
    model.train_on_batch(x, y)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


# Layer.losses / Model.losses as Keras 3 lists them (values recorded from Keras 3.15 on the
# same layers): what add_loss added in the last call on arrays, the layer's then its
# sublayers', then the regularization penalties of the trainable weights.


class _InnerLoss(keras.layers.Layer):
    def call(self, x):
        self.add_loss(keras.ops.sum(x) * 0.0 + 7.0)
        return x


class _OuterLoss(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.inner = _InnerLoss()
        self.dense = keras.layers.Dense(
            2, kernel_regularizer=keras.regularizers.L1(0.5), kernel_initializer="ones"
        )

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(2,), initializer="ones", regularizer=keras.regularizers.L2(0.25)
        )

    def call(self, x):
        self.add_loss(keras.ops.sum(x) * 0.0 + 3.0)
        return self.dense(self.inner(x)) * self.w


def test_losses_list_sublayers_losses_then_weight_penalties_as_keras():
    layer = _OuterLoss()
    assert layer.losses == []
    for _ in range(2):  # each call starts them over
        layer(np.ones((1, 3), "float32"))
        np.testing.assert_allclose([float(v) for v in layer.losses], [3.0, 7.0, 0.5, 3.0])
    layer.trainable = False  # penalties of trainable weights only
    np.testing.assert_allclose([float(v) for v in layer.losses], [3.0, 7.0])


def test_model_losses_are_its_layers_weight_penalties():
    dense = keras.layers.Dense(2, kernel_regularizer="l2", kernel_initializer="ones")
    model = keras.Sequential(
        [
            keras.Input((3,)),
            dense,
            keras.layers.Dense(1, bias_regularizer="l1", bias_initializer="ones"),
        ]
    )
    np.testing.assert_allclose([float(v) for v in model.losses], [0.06, 0.01], rtol=1e-6)
    inputs = keras.Input((3,))
    outer = keras.Model(inputs, model(inputs))
    np.testing.assert_allclose([float(v) for v in outer.losses], [0.06, 0.01], rtol=1e-6)
    dense.trainable = False
    np.testing.assert_allclose([float(v) for v in outer.losses], [0.01], rtol=1e-6)


class LogisticEndpoint(keras.layers.Layer):
    """Keras's training guide's endpoint layer: its loss needs the targets, an input."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        self.add_loss(self.loss_fn(targets, logits, sample_weights))
        return ops.softmax(logits)


def test_a_model_compiled_without_a_loss_trains_on_its_added_losses():
    """compile(optimizer) alone, the loss from add_loss (the endpoint-layer pattern): fit and
    evaluate take x without y, the logged loss is the added loss, validation works."""
    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    rng = np.random.default_rng(3)
    data = {"inputs": rng.random((64, 3)), "targets": (rng.random((64, 10)) > 0.5) * 1.0}
    history = model.fit(data, batch_size=16, epochs=4, verbose=0, validation_split=0.25)
    assert set(history.history) == {"loss", "val_loss"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    dense = model.layers[2]
    z = data["inputs"] @ dense.kernel.numpy() + dense.bias.numpy()
    t = data["targets"]
    expected = np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))
    assert np.isclose(model.evaluate(data, batch_size=64, verbose=0), expected, rtol=1e-5)
    probabilities = model.predict(data, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert np.isclose(model.test_on_batch(data), expected, rtol=1e-5)
    assert model.train_on_batch(data) > 0
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    plain.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="needs targets y"):
        plain.fit(data["inputs"], verbose=0)
