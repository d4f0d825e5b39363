"""Keras 3's rules for `training=` given at a call. Inside a layer's or a subclassed model's
call() it fixes the mode of that call and of everything in it (a base model called with
training=False keeps its BatchNormalization in inference mode while the head trains). In a
functional model, Keras 3 passes the mode of fit/evaluate/predict to every call instead, so
there a recorded training= changes nothing; both are checked against Keras."""

import numpy as np
import pytest

import eigennet
from eigennet import layers
from keras_parity import assert_trains_like_keras


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _base(lib):
    L = lib.layers
    return lib.Sequential(
        [L.Input((4,)), L.Dense(6, name="base_dense"), L.BatchNormalization(name="bn")],
        name="base",
    )


def _functional(lib, training):
    inputs = lib.layers.Input((4,))
    features = _base(lib)(inputs, training=training)
    return lib.Model(inputs, lib.layers.Dense(1, name="head")(features))


def _subclassed(lib):
    class FineTuned(lib.Model):
        def __init__(self):
            super().__init__()
            self.base = _base(lib)
            self.head = lib.layers.Dense(1, name="head")

        def call(self, x):
            return self.head(self.base(x, training=False))

    model = FineTuned()
    model(np.zeros((1, 4), dtype="float32"))  # builds every layer (Keras and eigennet)
    return model


def _trained_like_keras(make):
    keras = pytest.importorskip("keras")
    theirs, ours = make(keras), make(eigennet)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    for model, lib in ((theirs, keras), (ours, eigennet)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
    x, y = _data(seed=1)
    assert_trains_like_keras(ours, theirs, x, y, epochs=3, batch_size=8)
    return ours


def test_inside_call_training_false_keeps_the_base_in_inference_as_keras():
    ours = _trained_like_keras(_subclassed)
    bn = ours.base.get_layer("bn")
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(6))  # never updated
    np.testing.assert_array_equal(bn.moving_variance.numpy(), np.ones(6))


@pytest.mark.parametrize("training", [False, None])
def test_in_a_functional_model_fit_passes_its_mode_as_keras(training):
    ours = _trained_like_keras(lambda lib: _functional(lib, training))
    bn = ours.get_layer("base").get_layer("bn")
    assert not np.array_equal(bn.moving_mean.numpy(), np.zeros(6))  # fit trained it


class _Block(layers.Layer):
    """Dropout fixed off and on inside call(); and one following the call's mode."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.off, self.on, self.free = (layers.Dropout(0.5) for _ in range(3))

    def call(self, x):
        return [self.off(x, training=False), self.on(x, training=True), self.free(x)]


def test_dropout_inside_call_follows_its_training_argument():
    inputs = layers.Input((50,))
    off, on, free = _Block()(inputs)
    model = eigennet.Model(inputs, [off, on, free])
    x = np.ones((4, 50), dtype="float32")
    kept, dropped, inferred = model.predict(x, verbose=0)
    np.testing.assert_array_equal(kept, x)
    np.testing.assert_array_equal(inferred, x)
    assert (dropped == 0).any() and (dropped == 2).any()  # inverted dropout even in predict


class _Inner(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dropout = layers.Dropout(0.9)

    def call(self, x):
        return self.dropout(x)


class _Outer(layers.Layer):
    """Calls a custom layer with training=False: everything inside it is in inference."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = _Inner()

    def call(self, x):
        return self.inner(x, training=False)


def test_training_false_reaches_the_layers_inside_a_call():
    inputs = layers.Input((20,))
    model = eigennet.Model(inputs, _Outer()(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 20), dtype="float32")
    assert model.train_on_batch(x, np.zeros_like(x)) == pytest.approx(1.0)  # nothing dropped


def test_sequential_has_get_layer():
    base = _base(eigennet)
    assert base.get_layer("bn") is base.layers[1] and base.get_layer(index=0).name == "base_dense"
