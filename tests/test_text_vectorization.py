"""TextVectorization without TensorFlow (issue 15 §4): Keras's standardization, splitting,
n-grams, vocabulary order ("" mask, "[UNK]", then by count), output modes, config round
trip, and errors. Keras 3's own layer needs TensorFlow, so the expected values are Keras's
documented ones and hand-computed references."""

import numpy as np
import pytest

import eigennet
from eigennet import layers


def test_vocabulary_order_and_int_output():
    layer = layers.TextVectorization(max_tokens=10, output_sequence_length=5)
    layer.adapt(["The cat sat.", "the dog, THE cat!", "A bird"])
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "cat", "sat", "dog", "bird", "a"]
    np.testing.assert_array_equal(
        layer(["the cat flew", "Dog"]), [[2, 3, 1, 0, 0], [5, 0, 0, 0, 0]]
    )
    ragged = layers.TextVectorization(vocabulary=["a", "b"])
    np.testing.assert_array_equal(ragged(["a b a", "b"]), [[2, 3, 2], [3, 0, 0]])


def test_keras_docstring_example_vocabulary():
    vocab = ["earth", "wind", "and", "fire"]
    layer = layers.TextVectorization(
        max_tokens=5000, output_mode="int", output_sequence_length=4, vocabulary=vocab
    )
    np.testing.assert_array_equal(layer([["earth wind and also fire"]]), [[2, 3, 4, 1]])
    assert layer.get_vocabulary() == ["", "[UNK]", *vocab]


def test_standardize_split_and_ngrams():
    layer = layers.TextVectorization(standardize="lower", split="character", vocabulary=["a", "b"])
    np.testing.assert_array_equal(layer(["AbC"]), [[2, 3, 1]])
    strip = layers.TextVectorization(standardize="strip_punctuation", vocabulary=["Hi", "there"])
    np.testing.assert_array_equal(strip(["Hi, there!"]), [[2, 3]])
    grams = layers.TextVectorization(ngrams=2, output_mode="count")
    grams.adapt(np.array(["a b c", "a a d"]))
    assert grams.get_vocabulary() == ["[UNK]", "a", "d", "c", "b c", "b", "a d", "a b", "a a"]
    np.testing.assert_array_equal(grams(["a b"]), [[0, 1, 0, 0, 0, 1, 0, 1, 0]])
    custom = layers.TextVectorization(
        standardize=lambda x: np.char.upper(x),
        split=lambda x: [s.split("-") for s in x],
        vocabulary=["A", "B"],
    )
    np.testing.assert_array_equal(custom(["a-b-c"]), [[2, 3, 1]])


def test_multi_hot_tf_idf_and_padding():
    hot = layers.TextVectorization(output_mode="multi_hot", max_tokens=6, pad_to_max_tokens=True)
    hot.adapt(["x y y", "z"])
    out = hot(["y y q"])
    assert out.shape == (1, 6)
    np.testing.assert_array_equal(out, [[1, 1, 0, 0, 0, 0]])  # no mask index here: [UNK], y, ...
    tfidf = layers.TextVectorization(output_mode="tf_idf")
    tfidf.adapt(["a b b", "c c a"])
    idf = np.log(1 + 2 / (1 + np.array([1.0, 1.0, 2.0])))  # c, b, a
    np.testing.assert_allclose(tfidf(["a b b q"]), [[idf.mean(), 0, 2 * idf[1], idf[2]]], rtol=1e-6)


def test_config_round_trip_keeps_the_vocabulary():
    layer = layers.TextVectorization(max_tokens=20, output_sequence_length=3, ngrams=(1, 2))
    layer.adapt(["red green blue", "green blue"])
    clone = eigennet.saving.deserialize_keras_object(eigennet.saving.serialize_keras_object(layer))
    assert clone.get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_array_equal(clone(["green red"]), layer(["green red"]))


def test_adapt_over_batches():
    layer = layers.TextVectorization()
    layer.adapt(iter([np.array(["a b"]), np.array(["b c", "b"])]))
    assert layer.get_vocabulary() == ["", "[UNK]", "b", "c", "a"]


def test_bad_input():
    with pytest.raises(ValueError, match="standardize"):
        layers.TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="split"):
        layers.TextVectorization(split="comma")
    with pytest.raises(ValueError, match="ngrams"):
        layers.TextVectorization(ngrams=0)
    with pytest.raises(ValueError, match="output_sequence_length"):
        layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="output_sequence_length"):
        layers.TextVectorization(output_sequence_length=-1)
    with pytest.raises(ValueError, match="empty"):
        layers.TextVectorization().adapt(["", "  "])
    with pytest.raises(ValueError, match="last shape dimension must be 1"):
        layers.TextVectorization(vocabulary=["a"])(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="strings"):
        layers.TextVectorization(vocabulary=["a"])(np.array([1, 2]))
    with pytest.raises(ValueError, match="Apply it to the data"):
        layers.TextVectorization(vocabulary=["a"])(eigennet.Input((1,)))
