"""Model API paths beyond the basics: nesting, freezing, callbacks, validation, layer calls."""

import numpy as np
import pytest

import eigennet as keras


@pytest.fixture
def data():
    rs = np.random.RandomState(0)
    x = rs.rand(100, 4).astype("float32")
    return x, (x.sum(1) > 2).astype("float32")


def _nested():
    inner = keras.Sequential([keras.layers.Dense(8, activation="relu")], name="inner")
    outer = keras.Sequential(
        [keras.Input(shape=(4,)), inner, keras.layers.Dense(1, activation="sigmoid")]
    )
    return inner, outer


def test_nested_model_is_a_layer(data):
    x, y = data
    inner, outer = _nested()
    assert [type(layer).__name__ for layer in outer.layers] == ["Sequential", "Dense"]
    assert [w.shape for w in outer.get_weights()] == [(4, 8), (8,), (8, 1), (1,)]
    outer.compile("adam", "binary_crossentropy")
    before = inner.get_weights()[0].copy()
    outer.fit(x, y, epochs=2, verbose=0)
    assert not np.array_equal(before, inner.get_weights()[0])  # inner weights are shared


def test_frozen_nested_model_does_not_train(data):
    x, y = data
    inner, outer = _nested()
    inner.trainable = False
    outer.compile("adam", "binary_crossentropy")
    frozen, head = inner.get_weights(), outer.layers[1].get_weights()
    outer.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(frozen, inner.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(head[0], outer.layers[1].get_weights()[0])
    assert len(outer.trainable_weights) == 2 and len(outer.non_trainable_weights) == 2


def test_validation_split_keys_and_class_weight(data):
    x, y = data
    _, model = _nested()
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        x, y, epochs=3, validation_split=0.2, class_weight={0: 1.0, 1: 2.0}, verbose=0
    )
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 3 for v in history.history.values())


def test_stop_training_and_batch_hooks(data):
    x, y = data
    _, model = _nested()
    model.compile("adam", "binary_crossentropy")
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    history = model.fit(x, y, epochs=10, batch_size=32, verbose=0, callbacks=[Recorder()])
    assert history.epoch == [0, 1]
    assert [b for b, _ in seen] == [0, 1, 2, 3] * 2  # 100 samples, batches of 32
    assert seen[0][1] == ["loss"]


def test_layer_called_on_an_array():
    out = keras.layers.Dense(3, kernel_initializer="ones", bias_initializer="zeros")(
        np.ones((2, 4))
    )
    np.testing.assert_array_equal(out, np.full((2, 3), 4.0))


def test_callback_may_predict_inside_fit(data):
    x, y = data
    _, model = _nested()
    model.compile("adam", "binary_crossentropy")
    outputs = []

    class Peek(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            outputs.append(self.model.predict(x[:3], verbose=0))

    model.fit(x, y, epochs=2, verbose=0, callbacks=[Peek()])
    assert len(outputs) == 2 and outputs[0].shape == (3, 1)


def test_a_built_sequential_has_symbolic_inputs_and_outputs_for_feature_extractors():
    """Keras's Sequential guide: `keras.Model(model.inputs, [l.output for l in model.layers])`
    and `model.get_layer(name).output` make models sharing the weights."""
    model = keras.Sequential(
        [
            keras.Input(shape=(6,)),
            keras.layers.Dense(5, activation="relu"),
            keras.layers.Dense(4, activation="relu", name="middle"),
            keras.layers.Dense(3),
        ]
    )
    assert model.inputs[0] is model.input and model.outputs[0] is model.output
    assert model.input.shape == (None, 6) and model.output.shape == (None, 3)
    x = np.random.default_rng(3).normal(size=(7, 6)).astype("float32")
    every = keras.Model(model.inputs, [layer.output for layer in model.layers])
    outs = every.predict(x, verbose=0)
    assert [o.shape for o in outs] == [(7, 5), (7, 4), (7, 3)]
    np.testing.assert_allclose(outs[-1], model.predict(x, verbose=0), rtol=1e-6)
    middle = keras.Model(model.inputs, model.get_layer(name="middle").output)
    np.testing.assert_allclose(middle.predict(x, verbose=0), outs[1], rtol=1e-6)
    model.layers[1].set_weights([w * 0 for w in model.layers[1].get_weights()])
    np.testing.assert_array_equal(middle.predict(x, verbose=0), 0.0)  # shared weights

    unbuilt = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(AttributeError, match="has no defined inputs yet"):
        _ = unbuilt.inputs
    unbuilt.build((None, 5))
    assert unbuilt.output.shape == (None, 2)


def test_sequential_add_and_pop_keep_a_built_stack_built():
    """As Keras: a layer added to a built stack is built at once, pop() rebuilds the rest,
    and a layer that does not fit is refused with the stack left as it was."""
    declared = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    assert declared.built and declared.input_shape == (None, 2)
    model = keras.Sequential([keras.layers.Dense(4)])
    model.build((None, 3))
    model.add(keras.layers.Dense(2))
    assert model.built and model.output_shape == (None, 2)
    assert [w.shape for w in model.weights] == [(3, 4), (4,), (4, 2), (2,)]
    model.pop()
    assert model.built and model.output_shape == (None, 4) and len(model.weights) == 2
    misfit = keras.layers.Dense(5)
    misfit.build((None, 7))
    before = model.get_weights()
    with pytest.raises(ValueError, match="was built for inputs of shape"):
        model.add(misfit)
    assert len(model.layers) == 1 and model.built and model.output_shape == (None, 4)
    for now, then in zip(model.get_weights(), before):
        np.testing.assert_array_equal(now, then)
