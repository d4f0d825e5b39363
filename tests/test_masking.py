"""Keras masks: padding steps skipped by recurrent layers, pooling and attention. Checked
against Keras 3 on the same weights (forward and training), float64 finite differences and
NumPy references."""

import warnings

import numpy as np
import pytest

import eigennet
from eigennet import layers, ops
from gradient_check import assert_gradients_match_finite_differences
from keras_parity import assert_trains_like_keras


def _ids(n=6, steps=7, seed=0, empty_row=True):
    """Word ids with padding (0) at the end, at the start, and one row of padding only."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 20, size=(n, steps))
    ids[0, 4:] = 0
    ids[1, 2:] = 0
    ids[3, :3] = 0  # (pre-padding)
    if empty_row:
        ids[2, :] = 0
    return ids


def _classifier(lib, cell="LSTM", return_sequences=False, bidirectional=False, steps=7):
    L = lib.layers
    inputs = L.Input((steps,), dtype="int32")
    x = L.Embedding(20, 4, mask_zero=True)(inputs)
    rnn = getattr(L, cell)(3, return_sequences=return_sequences)
    x = (L.Bidirectional(rnn) if bidirectional else rnn)(x)
    if return_sequences:
        x = L.GlobalAveragePooling1D()(x)
    return lib.Model(inputs, L.Dense(1)(x))


def _keras():
    keras = pytest.importorskip("keras")
    return keras


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_masked_recurrence_predicts_as_keras(cell, return_sequences, bidirectional):
    keras = _keras()
    theirs = _classifier(keras, cell, return_sequences, bidirectional)
    ours = _classifier(eigennet, cell, return_sequences, bidirectional)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    ids = _ids()
    np.testing.assert_allclose(
        ours.predict(ids, verbose=0),
        np.asarray(theirs.predict(ids, verbose=0)),
        rtol=1e-5,
        atol=1e-6,
        equal_nan=True,  # an all-padding row averages nothing: NaN in both
    )


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_masked_recurrence_trains_as_keras(cell, bidirectional):
    keras = _keras()
    theirs = _classifier(keras, cell, True, bidirectional)
    ours = _classifier(eigennet, cell, True, bidirectional)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    for model, lib in ((theirs, keras), (ours, eigennet)):
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse")
    ids = _ids(n=16, empty_row=False, seed=1)
    y = np.random.default_rng(2).normal(size=(16, 1)).astype("float32")
    assert_trains_like_keras(ours, theirs, ids, y, epochs=3, batch_size=8)


def test_masked_steps_change_nothing():
    """Padding at masked steps, whatever its values, gives the outputs of the sequence
    without them (post-padding: the last real step's state)."""
    eigennet.utils.set_random_seed(3)
    inputs = layers.Input((6, 2))
    masked = layers.Masking(mask_value=-1.0)(inputs)
    model = eigennet.Model(inputs, layers.GRU(4)(masked))
    short = eigennet.Sequential([layers.Input((4, 2)), layers.GRU(4)])
    short.set_weights(model.get_weights())
    x = np.random.default_rng(4).normal(size=(3, 6, 2)).astype("float32")
    x[:, 4:] = -1.0
    np.testing.assert_allclose(
        model.predict(x, verbose=0), short.predict(x[:, :4], verbose=0), rtol=1e-6, atol=1e-7
    )


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
def test_masked_gradients_match_finite_differences(cell, float64):
    eigennet.utils.set_random_seed(5)
    inputs = layers.Input((5,), dtype="int32")
    x = layers.Embedding(9, 3, mask_zero=True)(inputs)
    x = layers.Bidirectional(getattr(layers, cell)(2, return_sequences=True))(x)
    x = layers.LSTM(2, return_sequences=True)(x)
    model = eigennet.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling1D()(x)))
    model.compile(optimizer="sgd", loss="mse")
    ids = np.array([[3, 4, 0, 0, 0], [0, 0, 5, 6, 7], [1, 0, 2, 0, 8]])
    y = np.random.default_rng(6).normal(size=(3, 1))
    assert_gradients_match_finite_differences(model, ids, y, rtol=1e-5, atol=1e-8)


def test_sequential_passes_the_mask_on():
    keras = _keras()

    def stack(lib):
        L = lib.layers
        return lib.Sequential(
            [L.Input((7,)), L.Embedding(20, 4, mask_zero=True), L.Dropout(0.1), L.LSTM(3)]
        )

    theirs, ours = stack(keras), stack(eigennet)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    ids = _ids(empty_row=False)
    np.testing.assert_allclose(
        ours.predict(ids, verbose=0), np.asarray(theirs.predict(ids, verbose=0)), atol=1e-6
    )
    ours.compile(optimizer="adam", loss="mse")
    ours.fit(ids, np.zeros((len(ids), 3)), epochs=1, verbose=0)


def test_merges_combine_masks_as_keras():
    keras = _keras()

    def model(lib):
        L = lib.layers
        a, b = L.Input((5,), dtype="int32"), L.Input((5,), dtype="int32")
        ea = L.Embedding(9, 3, mask_zero=True, name="ea")(a)
        eb = L.Embedding(9, 3, mask_zero=True, name="eb")(b)
        added = L.LSTM(2, return_sequences=True, name="lstm")(L.Add()([ea, eb]))
        joined = L.Concatenate()([added, L.Dense(2, name="dense")(eb)])
        return lib.Model([a, b], L.GRU(2, name="gru")(joined))

    theirs, ours = model(keras), model(eigennet)
    for name in ("ea", "eb", "lstm", "dense", "gru"):
        weights = theirs.get_layer(name).get_weights()
        ours.get_layer(name).set_weights([np.asarray(w) for w in weights])
    a = np.array([[1, 2, 0, 0, 0], [0, 0, 0, 3, 4], [5, 0, 6, 0, 7]])
    b = np.array([[0, 2, 3, 0, 0], [0, 0, 0, 0, 4], [5, 6, 0, 0, 0]])
    np.testing.assert_allclose(
        ours.predict([a, b], verbose=0),
        np.asarray(theirs.predict([a, b], verbose=0)),
        rtol=1e-5,
        atol=1e-6,
    )


def test_attention_reads_the_masks_of_query_and_value():
    keras = _keras()

    def model(lib):
        L = lib.layers
        inputs = L.Input((6,), dtype="int32")
        x = L.Embedding(9, 4, mask_zero=True)(inputs)
        x = L.MultiHeadAttention(2, 3)(x, x)
        return lib.Model(inputs, L.GlobalAveragePooling1D()(x))

    theirs, ours = model(keras), model(eigennet)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    ids = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 1], [0, 0, 2, 3, 0, 4]])
    np.testing.assert_allclose(
        ours.predict(ids, verbose=0), np.asarray(theirs.predict(ids, verbose=0)), atol=1e-5
    )


class _MaskedSum(layers.Layer):
    """A custom layer that reads the mask Keras passes it, and passes its own on."""

    def call(self, x, mask=None):
        return ops.sum(x * ops.expand_dims(mask, -1), axis=-1, keepdims=True)

    def compute_mask(self, inputs, previous_mask=None):
        return previous_mask


def test_custom_layers_receive_and_pass_masks():
    inputs = layers.Input((4,), dtype="int32")
    x = layers.Embedding(5, 2, mask_zero=True, embeddings_initializer="ones")(inputs)
    summed = _MaskedSum()(x)
    assert summed._keras_mask is not None
    model = eigennet.Model(inputs, layers.SimpleRNN(1, use_bias=False)(summed))
    ids = np.array([[1, 2, 0, 0], [0, 3, 0, 4]])
    assert model.predict(ids, verbose=0).shape == (2, 1)
    np.testing.assert_allclose(
        eigennet.Model(inputs, summed).predict(ids, verbose=0)[..., 0],
        2.0 * (ids != 0),
    )


class _MaskedPair(layers.Layer):
    """Called on [a, b]: Keras passes `mask` as the list of their masks."""

    def call(self, inputs, mask=None):
        a, b = inputs
        a_mask, b_mask = mask
        assert b_mask is None
        return a * ops.expand_dims(ops.cast(a_mask, a.dtype), -1) + b


def test_a_call_on_a_list_receives_the_list_of_masks():
    ids = layers.Input((4,), dtype="int32")
    dense = layers.Input((4, 2))
    embedded = layers.Embedding(5, 2, mask_zero=True, embeddings_initializer="ones")(ids)
    model = eigennet.Model([ids, dense], _MaskedPair()([embedded, dense]))
    x_ids = np.array([[1, 2, 0, 0], [0, 3, 0, 4]])
    x_dense = np.full((2, 4, 2), 0.5, np.float32)
    expected = np.repeat((x_ids != 0)[..., None] * 1.0 + 0.5, 2, axis=-1)
    np.testing.assert_allclose(model.predict([x_ids, x_dense], verbose=0), expected)


def test_layers_without_masking_drop_the_mask_with_keras_warning():
    inputs = layers.Input((5,), dtype="int32")
    x = layers.Embedding(9, 3, mask_zero=True)(inputs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        conv = layers.Conv1D(2, 2)(x)
    assert conv._keras_mask is None
    assert any("does not support masking" in str(w.message) for w in caught)


def test_a_custom_loss_over_a_masked_output_raises():
    """Built-in losses weigh the unmasked steps (tests/test_masked_losses.py); a traced
    custom loss does not see the mask yet, so it refuses rather than count padding."""
    inputs = layers.Input((5,), dtype="int32")
    x = layers.Embedding(9, 3, mask_zero=True)(inputs)
    model = eigennet.Model(inputs, layers.LSTM(2, return_sequences=True)(x))
    assert model.predict(np.ones((2, 5)), verbose=0).shape == (2, 5, 2)
    model.compile(optimizer="sgd", loss=lambda t, p: ops.mean(ops.square(t - p), axis=-1))
    with pytest.raises(NotImplementedError, match="masked time steps"):
        model.fit(np.ones((2, 5)), np.zeros((2, 5, 2)), verbose=0)


def test_masked_models_save_and_load(tmp_path):
    eigennet.utils.set_random_seed(7)
    model = _classifier(eigennet, "GRU", True, True)
    config = model.get_config()
    assert [entry["class_name"] for entry in config["layers"]] == [
        "InputLayer", "Embedding", "Bidirectional", "GlobalAveragePooling1D", "Dense",
    ]  # fmt: skip
    assert config["layers"][1]["config"]["mask_zero"] is True
    model.save(tmp_path / "masked.keras")
    loaded = eigennet.saving.load_model(tmp_path / "masked.keras")
    ids = _ids(empty_row=False)
    np.testing.assert_array_equal(model.predict(ids, verbose=0), loaded.predict(ids, verbose=0))


def test_masking_layer_matches_keras():
    keras = _keras()
    layer = layers.Masking(mask_value=2.0)
    assert layer.get_config()["mask_value"] == 2.0
    assert layer.get_config() == {
        **keras.layers.Masking(mask_value=2.0, name=layer.name).get_config(),
        "dtype": "float32",
    }
    x = np.array([[[2.0, 2.0], [1.0, 2.0], [0.0, 0.0]]])
    np.testing.assert_array_equal(layer(x), [[[0.0, 0.0], [1.0, 2.0], [0.0, 0.0]]])


def test_mask_argument_on_arrays_matches_the_model():
    """layer(x, mask=m) on arrays (a custom layer's call() run eagerly, as Keras's masking
    guide writes it): a recurrent layer skips the masked steps as in a model."""
    keras = eigennet
    keras.utils.set_random_seed(4)
    embedding = keras.layers.Embedding(30, 6, mask_zero=True)
    recurrent = [keras.layers.LSTM(5), keras.layers.Bidirectional(keras.layers.GRU(3))]
    x = np.array([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5], [7, 0, 0, 0, 0]])
    for layer in recurrent:
        inputs = keras.Input((None,), dtype="int32")
        model = keras.Model(inputs, layer(embedding(inputs)))
        eager = layer(embedding(x), mask=x != 0)
        np.testing.assert_allclose(eager, model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    # A layer that only passes the mask on ignores it; one that reads it only in a model, and
    # a mask of the wrong shape, raise.
    dense = keras.layers.Dense(2)
    h = np.ones((3, 5, 4), "float32")
    np.testing.assert_array_equal(dense(h, mask=x != 0), dense(h))
    with pytest.raises(ValueError, match="mask= applies to symbolic tensors"):
        keras.layers.GlobalAveragePooling1D()(h, mask=x != 0)
    with pytest.raises(ValueError, match=r"boolean array of shape \(3, 5\)"):
        recurrent[0](embedding(x), mask=np.ones((3, 4), bool))
