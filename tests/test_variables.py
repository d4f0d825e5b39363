"""`keras.Variable` on its own and as a weight of custom layers and subclassed models (adopted
as Keras tracks it: same object, trained, saved under Keras's keys), and integer weights
(`add_weight(dtype="int32")`, integer Variables): whole numbers, never trained."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops


def test_a_variable_on_its_own():
    w = keras.Variable(3.0)
    assert (w.shape, w.dtype, w.name, w.path, w.trainable) == (
        (),
        "float32",
        "variable",
        "variable",
        True,
    )
    assert float(ops.convert_to_numpy(w + 1)) == 4.0
    w.assign(5.0)
    w.assign_add(1.5)
    assert float(w.numpy()) == 6.5 and isinstance(w, keras.layers.Variable)
    z = keras.Variable(initializer="ones", shape=(2, 3), dtype="float64", name="z")
    assert (z.shape, z.dtype, z.path) == ((2, 3), "float64", "z")
    np.testing.assert_array_equal(np.asarray(z), np.ones((2, 3)))
    flags = keras.Variable(np.array([True, False]), trainable=False)
    assert flags.dtype == "int32" and flags.numpy().tolist() == [1, 0]
    index = keras.Variable(np.array([2, 0, 1]), trainable=False)
    assert index.dtype == "int64" and not index.trainable  # (Keras keeps NumPy's int64)
    np.testing.assert_array_equal(index.numpy(), [2, 0, 1])


def test_variable_errors():
    with pytest.raises(ValueError, match="needs an initializer"):
        keras.Variable()
    with pytest.raises(ValueError, match="needs a `shape`"):
        keras.Variable("zeros")
    with pytest.raises(ValueError, match="cannot be trainable"):
        keras.Variable(np.arange(3))
    with pytest.raises(ValueError, match="float or integer"):
        keras.Variable(np.array(["a"]))
    with pytest.raises(ValueError, match="has shape"):
        keras.Variable(np.zeros(3), shape=(4,))
    counter = keras.Variable(np.array(0), trainable=False)
    with pytest.raises(ValueError, match="whole numbers"):
        counter.assign(0.5)
    with pytest.raises(ValueError, match="whole numbers"):
        counter.assign(2**40)  # beyond what float32 storage holds exactly
    with pytest.raises(ValueError, match="custom layer or model"):
        layers.Dense(2).extra = keras.Variable(1.0)


class Permuted(layers.Layer):
    """Scales a permutation of its input's features: a trained scalar and an integer index
    table, both made with keras.Variable in __init__, and an int32 call counter."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scale = keras.Variable(2.0, name="scale")
        self.index = keras.Variable(np.array([2, 0, 1]), trainable=False, name="index")

    def build(self, input_shape):
        self.counter = self.add_weight(shape=(), dtype="int32", trainable=False, name="counter")

    def call(self, x):
        return ops.take(x, self.index, axis=1) * self.scale


def test_variables_of_a_custom_layer_are_its_weights_and_train():
    layer = Permuted()
    scale = layer.scale
    model = keras.Sequential([keras.Input((3,)), layer, layers.Dense(1)])
    assert layer.weights[0] is scale
    assert [w.name for w in layer.weights] == ["scale", "index", "counter"]
    assert [w.dtype for w in layer.weights] == ["float32", "int64", "int32"]
    assert [w.name for w in layer.trainable_weights] == ["scale"]
    x = np.random.RandomState(0).rand(32, 3).astype("float32")
    np.testing.assert_allclose(layer(x), x[:, [2, 0, 1]] * 2.0, rtol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x[:, :1] * 3, epochs=2, verbose=0)
    assert float(scale.numpy()) != 2.0
    np.testing.assert_array_equal(layer.index.numpy(), [2, 0, 1])
    with pytest.raises(ValueError, match="after the layer was built"):
        layer.late = keras.Variable(1.0)


class LinearModel(keras.Model):
    """A subclassed model whose weights are keras.Variables it makes itself (as in
    hand-written MNIST models) plus a layer's."""

    def __init__(self, seed=0, **kwargs):
        super().__init__(**kwargs)
        rs = np.random.RandomState(seed)
        self.w = keras.Variable(rs.normal(size=(3, 4)).astype("float32") * 0.1, name="w")
        self.b = keras.Variable(np.zeros(4, "float32"), name="b")
        self.head = layers.Dense(1)

    def call(self, x):
        return self.head(ops.relu(ops.matmul(x, self.w) + self.b))


def test_variables_of_a_subclassed_model_train_and_save(tmp_path):
    model = LinearModel()
    x = np.random.RandomState(1).rand(64, 3).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model.compile(optimizer="adam", loss="mse")
    before = model.w.numpy().copy()
    history = model.fit(x, y, epochs=5, verbose=0).history["loss"]
    assert history[-1] < history[0]
    assert not np.array_equal(model.w.numpy(), before)
    assert [w.name for w in model.weights][:2] == ["w", "b"]
    model.save_weights(tmp_path / "m.weights.h5")
    again = LinearModel(seed=5)
    again.build((None, 3))
    again.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_subclassed_models_variables_use_keras_keys(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = LinearModel()
    model.build((None, 3))
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5") as f:
        names = []
        f.visit(names.append)
    assert {"vars/0", "vars/1", "head/vars/0", "head/vars/1"} <= set(names)  # as Keras
    k = pytest.importorskip("keras")

    class KerasLinear(k.Model):
        def __init__(self):
            super().__init__()
            self.w = k.Variable(np.zeros((3, 4), "float32"), name="w")
            self.b = k.Variable(np.zeros(4, "float32"), name="b")
            self.head = k.layers.Dense(1)

        def call(self, x):
            return self.head(k.ops.relu(k.ops.matmul(x, self.w) + self.b))

    x = np.random.RandomState(2).rand(5, 3).astype("float32")
    theirs = KerasLinear()
    theirs(x)  # (Keras's build() of a subclassed model leaves its Dense unbuilt)
    theirs.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_a_subclassed_model_can_add_weights_itself():
    class Scaled(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.scale = self.add_weight(shape=(3,), initializer="ones", name="scale")
            self.calls = self.add_weight(shape=(), dtype="int32", trainable=False, name="calls")
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(x * self.scale)

    model = Scaled()
    x = np.random.RandomState(3).rand(32, 3).astype("float32")
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x.sum(axis=1, keepdims=True), epochs=2, verbose=0)
    assert [w.name for w in model.weights] == ["scale", "calls", "kernel", "bias"]
    assert not np.array_equal(model.scale.numpy(), np.ones(3))
    assert model.calls.dtype == "int32" and int(model.calls.numpy()) == 0
