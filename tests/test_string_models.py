"""Models that take raw strings: TextVectorization, StringLookup, IntegerLookup and Hashing
on a model's inputs (keras-io's end-to-end text model) run in Python before the native graph
(models/preprocessing_stage.py). The model equals the layer applied to the data followed by
the numeric model, in predict, evaluate and training, and saves and loads."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers

TEXTS = np.array(
    ["the cat sat on the mat", "a dog ran far away", "the cat ran", "dogs bark loud"] * 6
)
LABELS = np.array([1, 0, 1, 0] * 6, dtype="float32")
LENGTH = 5


def _vectorizer():
    tv = layers.TextVectorization(max_tokens=20, output_sequence_length=LENGTH)
    tv.adapt(TEXTS)
    return tv


def _text_model(tv, seed=0):
    """(end-to-end model on strings, the numeric model on token ids), sharing their layers."""
    keras.utils.set_random_seed(seed)
    embed = layers.Embedding(20, 4)
    pool = layers.GlobalAveragePooling1D()
    head = layers.Dense(1, activation="sigmoid")
    texts = keras.Input(shape=(1,), dtype="string", name="text")
    model = keras.Model(texts, head(pool(embed(tv(texts)))))
    ids = keras.Input(shape=(LENGTH,), dtype="int64")
    return model, keras.Model(ids, head(pool(embed(ids))))


def test_predict_and_evaluate_equal_the_layer_then_the_numeric_model():
    tv = _vectorizer()
    model, numeric = _text_model(tv)
    assert model.input_shape == (None, 1) and model.output_shape == (None, 1)
    assert [type(layer).__name__ for layer in model.layers][:2] == [
        "InputLayer",
        "TextVectorization",
    ]
    ids = tv(TEXTS)
    expected = numeric.predict(ids, verbose=0)
    np.testing.assert_array_equal(model.predict(TEXTS[:, None], verbose=0), expected)
    np.testing.assert_array_equal(model.predict(TEXTS, verbose=0), expected)  # (n,) as (n, 1)
    np.testing.assert_array_equal(model.predict(list(TEXTS), verbose=0), expected)
    np.testing.assert_array_equal(np.asarray(model(TEXTS[:3, None])), expected[:3])
    for m in (model, numeric):
        m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    assert model.evaluate(TEXTS, LABELS, verbose=0) == numeric.evaluate(ids, LABELS, verbose=0)


def test_training_on_strings_equals_training_on_token_ids():
    tv = _vectorizer()
    runs = []
    for strings in (True, False):
        model, numeric = _text_model(tv, seed=3)
        trained = model if strings else numeric
        trained.compile(optimizer="adam", loss="binary_crossentropy")
        x = TEXTS[:, None] if strings else tv(TEXTS)
        history = trained.fit(x, LABELS, epochs=3, batch_size=8, shuffle=False, verbose=0)
        runs.append((history.history["loss"], [w.copy() for w in numeric.get_weights()]))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_save_load_and_the_keras_io_end_to_end_model(tmp_path):
    tv = _vectorizer()
    model, numeric = _text_model(tv)
    numeric.compile(optimizer="adam", loss="binary_crossentropy")
    numeric.fit(tv(TEXTS), LABELS, epochs=2, verbose=0)
    inputs = keras.Input(shape=(1,), dtype="string")  # keras-io: export a model on raw text
    end_to_end = keras.Model(inputs, numeric(tv(inputs)))
    expected = numeric.predict(tv(TEXTS), verbose=0)
    np.testing.assert_allclose(end_to_end.predict(TEXTS, verbose=0), expected, rtol=1e-6)
    for m in (model, end_to_end):
        path = tmp_path / f"{m.name}.keras"
        m.save(path)
        loaded = keras.models.load_model(path)
        assert loaded.get_layer(tv.name).get_vocabulary() == tv.get_vocabulary()
        np.testing.assert_allclose(loaded.predict(TEXTS, verbose=0), expected, rtol=1e-6)


def test_string_and_numeric_inputs_several_stage_layers_and_streams():
    colors = np.array(["red", "blue", "green"] * 8, dtype=object)[:, None]
    numbers = np.random.default_rng(0).random((24, 2))
    text = keras.Input(shape=(1,), dtype="string", name="text")
    color = keras.Input(shape=(1,), dtype="string", name="color")
    number = keras.Input(shape=(2,), name="number")
    lookup = layers.StringLookup(vocabulary=["red", "blue"], output_mode="one_hot")
    hashing = layers.Hashing(5, output_mode="one_hot")
    tv = layers.TextVectorization(max_tokens=20)  # sequences of any length
    tv.adapt(TEXTS)
    words = layers.GlobalAveragePooling1D()(layers.Embedding(20, 3)(tv(text)))
    merged = layers.Concatenate()([words, lookup(color), hashing(color), number])
    model = keras.Model([text, color, number], layers.Dense(1)(merged))
    assert model.input_shape == [(None, 1), (None, 1), (None, 2)]
    x = {"text": TEXTS, "color": colors, "number": numbers}
    predicted = model.predict(x, verbose=0)
    parts = [tv(TEXTS), lookup(colors), hashing(colors)]
    assert parts[0].shape[1] == 6  # the longest text
    np.testing.assert_array_equal(predicted, model.predict([TEXTS, colors, numbers], verbose=0))
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, LABELS, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "val_loss"}

    class Batches(keras.utils.PyDataset):  # the stage runs per batch
        def __len__(self):
            return 3

        def __getitem__(self, i):
            rows = slice(8 * i, 8 * i + 8)
            return (TEXTS[rows], colors[rows], numbers[rows]), LABELS[rows]

    model.fit(Batches(), epochs=1, verbose=0)
    np.testing.assert_allclose(
        model.evaluate(Batches(), verbose=0), model.evaluate(x, LABELS, verbose=0), rtol=1e-5
    )


def test_integer_lookup_on_an_integer_input_and_text_of_any_length():
    ids = keras.Input(shape=(1,), dtype="int64")
    lookup = layers.IntegerLookup(vocabulary=[3, 5, 7], output_mode="multi_hot")
    model = keras.Model(ids, lookup(ids))
    np.testing.assert_array_equal(
        model.predict(np.array([[3], [9]]), verbose=0), [[0, 1, 0, 0], [1, 0, 0, 0]]
    )
    tv = layers.TextVectorization()
    tv.adapt(TEXTS)
    text = keras.Input(shape=(), dtype="string")
    model = keras.Model(text, layers.Embedding(20, 2)(tv(text)))
    assert model.output_shape == (None, None, 2)
    assert model.predict(np.array(["the cat", "a dog ran far"]), verbose=0).shape == (2, 4, 2)


def test_clear_errors():
    text = keras.Input(shape=(1,), dtype="string", name="text")
    with pytest.raises(ValueError, match="Dense.*reads the string input 'text'"):
        keras.Model(text, layers.Dense(1)(text))
    with pytest.raises(ValueError, match="only be applied to a model input"):
        layers.StringLookup(vocabulary=["a"])(layers.Dense(2)(keras.Input((1,))))
    with pytest.raises(ValueError, match='dtype="string"'):
        layers.TextVectorization(vocabulary=["a"])(keras.Input((1,)))
    with pytest.raises(ValueError, match="invert=True"):
        layers.StringLookup(vocabulary=["a"], invert=True)(keras.Input((1,), dtype="int64"))
    with pytest.raises(ValueError, match="vocabulary"):
        layers.StringLookup(output_mode="multi_hot")(text)
    with pytest.raises(ValueError, match=r"shape=\(1,\)"):
        layers.StringLookup(vocabulary=["a"])(keras.Input(shape=(), dtype="string"))
    with pytest.raises(ValueError, match="output cannot be one of its string inputs"):
        keras.Model(text, [text, layers.StringLookup(vocabulary=["a"])(text)])
    inner = keras.Model(text, layers.StringLookup(vocabulary=["a"])(text))
    with pytest.raises(ValueError, match="cannot be called on symbolic tensors"):
        inner(keras.Input(shape=(1,), dtype="string"))
    with pytest.raises(ValueError, match="Sequential model cannot take strings.*Functional"):
        keras.Sequential([keras.Input(shape=(1,), dtype="string"), layers.Hashing(3)])
