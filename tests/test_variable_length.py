"""Axes of variable length: `keras.Input(shape=(None, ...))`. A model built once runs (and
trains) on sequences of any length; every length must compute exactly what a model built for
that fixed length computes with the same weights."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops


def _rng(seed=0):
    return np.random.default_rng(seed)


def _recurrent(shape):
    inputs = keras.Input(shape)
    x = layers.LSTM(6, return_sequences=True, name="lstm")(inputs)
    x = layers.Conv1D(5, 3, padding="same", activation="relu", name="conv")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    return keras.Model(inputs, layers.Dense(2, name="head")(x))


def _fixed_twin(model, builder, length, features):
    twin = builder((length, features))
    twin.set_weights(model.get_weights())
    return twin


def test_symbolic_shapes_keep_the_variable_axis():
    model = _recurrent((None, 4))
    assert model.input_shape == (None, None, 4)
    assert model.get_layer("lstm").output.shape == (None, None, 6)
    assert model.get_layer("conv").output.shape == (None, None, 5)
    assert model.output_shape == (None, 2)
    assert model.count_params() == _recurrent((9, 4)).count_params()
    strided = layers.MaxPooling1D(2)(layers.Conv1D(3, 3, strides=2)(keras.Input((None, 4))))
    assert strided.shape == (None, None, 3)
    assert layers.Conv2D(3, 3)(keras.Input((None, None, 2))).shape == (None, None, None, 3)


@pytest.mark.parametrize("length", [3, 11, 40])
def test_every_length_predicts_as_a_model_built_for_it(length):
    keras.utils.set_random_seed(1)
    model = _recurrent((None, 4))
    x = _rng(length).normal(size=(7, length, 4)).astype("float32")
    twin = _fixed_twin(model, _recurrent, length, 4)
    np.testing.assert_array_equal(model.predict(x, verbose=0), twin.predict(x, verbose=0))
    np.testing.assert_array_equal(model(x), twin(x))


def test_training_on_two_lengths_shares_weights_and_optimizer_state():
    keras.utils.set_random_seed(2)
    model = _recurrent((None, 4))
    twin = _fixed_twin(model, _recurrent, 9, 4)
    for m in (model, twin):
        m.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    rng = _rng(3)
    x5, y5 = rng.normal(size=(16, 5, 4)), rng.normal(size=(16, 2))
    x9, y9 = rng.normal(size=(16, 9, 4)), rng.normal(size=(16, 2))
    model.fit(x5, y5, batch_size=8, epochs=2, shuffle=False, verbose=0)
    twin.set_weights(model.get_weights())
    h_model = model.fit(x9, y9, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    h_twin = twin.fit(x9, y9, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h_model["loss"], h_twin["loss"], rtol=1e-6)
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(model.optimizer.iterations) == 8  # 2 epochs of 2 batches, at each length
    # back to the first length: its graph is reused and sees the new weights
    np.testing.assert_array_equal(
        model.predict(x5, verbose=0), _fixed_twin(model, _recurrent, 5, 4).predict(x5, verbose=0)
    )


def test_adam_state_carries_across_lengths():
    keras.utils.set_random_seed(4)
    model = _recurrent((None, 3))
    model.compile(optimizer="adam", loss="mse")
    rng = _rng(5)
    for length in (4, 7, 4, 10):
        x, y = rng.normal(size=(8, length, 3)), rng.normal(size=(8, 2))
        model.train_on_batch(x, y)
    assert int(model.optimizer.iterations) == 4
    evaluated = model.evaluate(x, y, verbose=0)
    assert np.isfinite(evaluated)


def test_sequential_with_a_variable_axis():
    keras.utils.set_random_seed(6)
    model = keras.Sequential(
        [keras.Input((None, 3)), layers.GRU(4, return_sequences=True), layers.Dense(1)]
    )
    assert model.output_shape == (None, None, 1)
    model.compile(optimizer="adam", loss="mse")
    rng = _rng(7)
    for length in (5, 8):
        x = rng.normal(size=(10, length, 3))
        model.fit(x, rng.normal(size=(10, length, 1)), epochs=1, verbose=0)
        assert model.predict(x, verbose=0).shape == (10, length, 1)


def test_text_classifier_on_word_ids_of_any_length():
    keras.utils.set_random_seed(8)
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(20, 8)(inputs)
    x = layers.Bidirectional(layers.LSTM(4, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(4))(x)
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
    assert model.layers[2].output.shape == (None, None, 8)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    rng = _rng(9)
    words = rng.integers(0, 20, size=(32, 6))
    history = model.fit(words, rng.integers(0, 2, size=32), epochs=2, verbose=0).history
    assert sorted(history) == ["accuracy", "loss"]
    for length in (1, 6, 15):
        assert model.predict(rng.integers(0, 20, size=(3, length)), verbose=0).shape == (3, 1)


def _with_ops(shape):
    inputs = keras.Input(shape)
    h = layers.Dense(6, activation="tanh", name="proj")(inputs)
    scores = ops.softmax(ops.matmul(h, ops.transpose(h, (0, 2, 1))) / 2.0, axis=-1)
    mixed = ops.matmul(scores, h) + h
    pooled = ops.concatenate([ops.mean(mixed, axis=1), ops.max(mixed, axis=1)], axis=-1)
    return keras.Model(inputs, layers.Dense(1, name="head")(pooled))


def test_ops_on_a_variable_axis():
    keras.utils.set_random_seed(10)
    model = _with_ops((None, 3))
    assert model.output_shape == (None, 1)
    rng = _rng(11)
    for length in (2, 9):
        x = rng.normal(size=(5, length, 3)).astype("float32")
        twin = _fixed_twin(model, _with_ops, length, 3)
        np.testing.assert_allclose(model.predict(x, verbose=0), twin.predict(x, verbose=0))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(rng.normal(size=(8, 4, 3)), rng.normal(size=(8, 1)), verbose=0)


class TimeMix(layers.Layer):
    """A custom layer whose call() reads the sequence's length only through ops."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 4), initializer="glorot_uniform")

    def call(self, x):
        h = ops.matmul(x, self.w)
        return h - ops.mean(h, axis=1, keepdims=True)


def test_a_custom_layer_on_a_variable_axis():
    keras.utils.set_random_seed(12)
    inputs = keras.Input((None, 3))
    out = layers.GlobalMaxPooling1D()(TimeMix()(inputs))
    model = keras.Model(inputs, out)
    assert model.layers[1].output.shape == (None, None, 4)
    x = _rng(13).normal(size=(2, 6, 3)).astype("float32")
    w = model.get_weights()[0]
    h = x @ w
    np.testing.assert_allclose(
        model.predict(x, verbose=0), (h - h.mean(1, keepdims=True)).max(1), rtol=1e-5
    )


def test_layers_called_eagerly_on_other_lengths():
    lstm = layers.LSTM(3)
    lstm.build((None, None, 2))
    assert lstm.input_shape == (None, None, 2) and lstm.output_shape == (None, 3)
    rng = _rng(14)
    for length in (1, 5):
        assert lstm(rng.normal(size=(4, length, 2))).shape == (4, 3)
    conv = layers.Conv1D(2, 3)
    assert conv(rng.normal(size=(1, 8, 2))).shape == (1, 6, 2)
    assert conv(rng.normal(size=(1, 5, 2))).shape == (1, 3, 2)  # other lengths: as in Keras


def test_save_and_load_keep_the_variable_axis(tmp_path):
    keras.utils.set_random_seed(15)
    model = _recurrent((None, 4))
    path = tmp_path / "variable.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.input_shape == (None, None, 4)
    x = _rng(16).normal(size=(3, 12, 4)).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_weights_that_would_depend_on_the_length_raise():
    inputs = keras.Input((None, 4))
    flat = layers.Flatten()(inputs)
    assert flat.shape == (None, None)
    with pytest.raises(ValueError, match="weights"):
        layers.Dense(2)(flat)


def test_wrong_fixed_axes_and_too_short_sequences_raise():
    model = _recurrent((None, 4))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="expects inputs of shape"):
        model.predict(np.zeros((2, 5, 3)), verbose=0)
    valid = keras.Model(*_valid_conv())
    with pytest.raises(ValueError, match="Conv1D|kernel|short|length"):
        valid.predict(np.zeros((2, 2, 4)), verbose=0)


def _valid_conv():
    inputs = keras.Input((None, 4))
    return inputs, layers.Conv1D(2, 5)(inputs)


def test_many_lengths_keep_a_bounded_number_of_graphs():
    model = _recurrent((None, 2))
    rng = _rng(17)
    for length in range(1, 30):
        model.predict(rng.normal(size=(1, length, 2)), verbose=0)
    assert len(model._graphs._entries) <= model._graphs.capacity
    for layer in model.layers[1:]:
        assert len(layer._copies._entries) <= layer._copies.capacity


def test_matches_keras_on_other_lengths():
    keras_ref = pytest.importorskip("keras")
    kl = keras_ref.layers
    inputs = kl.Input((None,), dtype="int32")
    x = kl.Embedding(20, 8)(inputs)
    x = kl.Bidirectional(kl.LSTM(4, return_sequences=True))(x)
    x = kl.Bidirectional(kl.GRU(3))(x)
    theirs = keras_ref.Model(inputs, kl.Dense(1)(x))
    inputs = keras.Input((None,), dtype="int32")
    x = layers.Embedding(20, 8)(inputs)
    x = layers.Bidirectional(layers.LSTM(4, return_sequences=True))(x)
    x = layers.Bidirectional(layers.GRU(3))(x)
    ours = keras.Model(inputs, layers.Dense(1)(x))
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    rng = _rng(18)
    for length in (3, 17):
        words = rng.integers(0, 20, size=(4, length))
        np.testing.assert_allclose(
            ours.predict(words, verbose=0),
            np.asarray(theirs.predict(words, verbose=0)),
            rtol=1e-4,
            atol=1e-5,
        )


class _Buckets(keras.utils.PyDataset):
    """Batches of 8 sequences, each batch of its own length (bucketing)."""

    def __init__(self, lengths, features=4, outputs=2, per_step=False):
        super().__init__()
        self.lengths, self.features, self.outputs, self.per_step = (
            lengths,
            features,
            outputs,
            per_step,
        )

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, i):
        rng, length = _rng(100 + i), self.lengths[i]
        x = rng.normal(size=(8, length, self.features)).astype("float32")
        y_shape = (8, length, self.outputs) if self.per_step else (8, self.outputs)
        return x, rng.normal(size=y_shape).astype("float32")


def test_a_py_dataset_with_batches_of_several_lengths_trains_batch_by_batch():
    keras.utils.set_random_seed(20)
    model = _recurrent((None, 4))
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    start = model.get_weights()
    data = _Buckets([3, 6, 4, 9])
    history = model.fit(data, epochs=1, shuffle=False, verbose=0).history
    weights, losses, errors = start, [], []
    for i in range(len(data)):  # the same steps, each on a model built for its length
        x, y = data[i]
        twin = _recurrent((x.shape[1], 4))
        twin.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
        twin.set_weights(weights)
        loss, mae = twin.train_on_batch(x, y)
        losses.append(loss), errors.append(mae)
        weights = twin.get_weights()
    np.testing.assert_allclose(history["loss"], [np.mean(losses)], rtol=1e-5)
    np.testing.assert_allclose(history["mae"], [np.mean(errors)], rtol=1e-5)
    for a, b in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert model.predict(data, verbose=0).shape == (32, 2)
    assert np.isfinite(model.evaluate(data, verbose=0)).all()


def _tagger(shape):
    inputs = keras.Input(shape)
    return keras.Model(inputs, layers.Dense(2)(layers.GRU(3, return_sequences=True)(inputs)))


def test_outputs_whose_length_varies_per_call_train_per_call():
    keras.utils.set_random_seed(21)
    model = _tagger((None, 4))
    model.compile(optimizer="adam", loss="mse")
    rng = _rng(22)
    x, y = rng.normal(size=(16, 5, 4)), rng.normal(size=(16, 5, 2))
    x_val, y_val = rng.normal(size=(8, 7, 4)), rng.normal(size=(8, 7, 2))
    history = model.fit(x, y, validation_data=(x_val, y_val), epochs=2, verbose=0).history
    np.testing.assert_allclose(
        history["val_loss"][-1], model.evaluate(x_val, y_val, verbose=0), rtol=1e-6
    )
    assert int(model.optimizer.iterations) == 2
    model.fit(x_val, y_val, epochs=1, verbose=0)  # another output length: its own trainer
    assert int(model.optimizer.iterations) == 3


def test_outputs_changing_shape_between_batches_of_one_call_raise():
    model = _tagger((None, 4))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="outputs of one shape"):
        model.fit(_Buckets([3, 5], per_step=True), epochs=1, verbose=0)


def test_shape_ops_on_a_variable_axis():
    inputs = keras.Input((None, 3))
    expanded = ops.expand_dims(inputs, -1)
    assert expanded.shape == (None, None, 3, 1)
    back = ops.squeeze(expanded, -1)
    folded = ops.reshape(inputs, (None, -1, 1, 3))  # the steps inferred per batch
    assert back.shape == (None, None, 3) and folded.shape == (None, None, 1, 3)
    model = keras.Model(inputs, [back, folded])
    x = _rng(23).normal(size=(2, 5, 3)).astype("float32")
    got_back, got_folded = model.predict(x, verbose=0)
    np.testing.assert_array_equal(got_back, x)
    np.testing.assert_array_equal(got_folded, x[:, :, None, :])
    with pytest.raises(ValueError, match="exactly one axis of unknown length"):
        ops.reshape(inputs, (None, 15))
