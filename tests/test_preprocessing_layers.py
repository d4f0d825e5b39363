"""Keras 3's preprocessing and augmentation layers (issue 15 §4), written with `keras.ops` and
traced into the native graph: `utils.pad_sequences`, Rescaling, Normalization (with `adapt`
over arrays, memmaps, PyDatasets and generators), CenterCrop, Resizing, RandomFlip,
RandomContrast and RandomBrightness.

Each one: forward against a NumPy reference (on arrays, in Sequential and functional models),
float64 gradients against finite differences, fit/evaluate/predict, `.keras` round trips, bad
arguments; the random layers' inference identity and seeding; and parity with Keras 3 (torch
backend) for outputs, output shapes, configs, weights and error types."""

import os

import numpy as np
import pytest

import eigennet
from eigennet import layers
from gradient_check import assert_gradients_match_finite_differences

os.environ.setdefault("KERAS_BACKEND", "torch")

RNG = np.random.default_rng(4)


@pytest.fixture(autouse=True)
def _seeded():
    global RNG
    eigennet.utils.set_random_seed(404)
    RNG = np.random.default_rng(404)


@pytest.fixture
def keras_ref():
    """Keras 3 on the torch backend (skips when it is not installed)."""
    if os.environ.get("KERAS_BACKEND", "torch") != "torch":
        pytest.skip("parity tests compare with Keras's torch backend")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


def _np(keras_ref, value):
    return np.asarray(keras_ref.ops.convert_to_numpy(value))


# -- pad_sequences ------------------------------------------------------------------------------
SEQUENCES = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
PAD_CASES = [
    {},
    {"maxlen": 3},
    {"maxlen": 6, "padding": "post"},
    {"maxlen": 2, "truncating": "post"},
    {"maxlen": 4, "padding": "post", "truncating": "post", "value": -1},
    {"dtype": "float32", "value": 0.5},
]


def _pad_reference(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                   value=0.0):  # fmt: skip
    maxlen = max(len(s) for s in sequences) if maxlen is None else maxlen
    rows = []
    for s in sequences:
        s = list(s)[-maxlen:] if truncating == "pre" else list(s)[:maxlen]
        fill = [value] * (maxlen - len(s))
        rows.append(fill + s if padding == "pre" else s + fill)
    return np.array(rows, dtype=dtype)


@pytest.mark.parametrize("kwargs", PAD_CASES)
def test_pad_sequences_matches_a_reference(kwargs):
    out = eigennet.utils.pad_sequences(SEQUENCES, **kwargs)
    expected = _pad_reference(SEQUENCES, **kwargs)
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)
    again = eigennet.preprocessing.sequence.pad_sequences(SEQUENCES, **kwargs)
    np.testing.assert_array_equal(again, out)


def test_pad_sequences_of_vectors_and_strings():
    seqs = [np.ones((2, 3)), np.zeros((1, 3))]
    out = eigennet.utils.pad_sequences(seqs, dtype="float32", padding="post")
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[1, 1], 0.0)
    text = eigennet.utils.pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert text.tolist() == [["a", "b"], ["<pad>", "c"]]


PAD_ERRORS = [
    (lambda f: f(5), ValueError),
    (lambda f: f([[1], 2]), ValueError),
    (lambda f: f([[1], [2]], padding="middle"), ValueError),
    (lambda f: f([[1], [2]], truncating="middle"), ValueError),
    (lambda f: f([[1], [2]], value="x"), ValueError),
    (lambda f: f([[[1, 2]], [[1, 2, 3]]]), ValueError),
    (lambda f: f([["a"], [1]]), ValueError),  # a non-numeric element in an int array
]


@pytest.mark.parametrize("call, error", PAD_ERRORS)
def test_pad_sequences_bad_input(call, error):
    with pytest.raises(error):
        call(eigennet.utils.pad_sequences)


@pytest.mark.parametrize("kwargs", PAD_CASES)
def test_parity_pad_sequences(keras_ref, kwargs):
    ours = eigennet.utils.pad_sequences(SEQUENCES, **kwargs)
    theirs = keras_ref.utils.pad_sequences(SEQUENCES, **kwargs)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(
        eigennet.preprocessing.sequence.pad_sequences(SEQUENCES, **kwargs),
        keras_ref.preprocessing.sequence.pad_sequences(SEQUENCES, **kwargs),
    )


@pytest.mark.parametrize("call, error", PAD_ERRORS)
def test_parity_pad_sequences_errors(keras_ref, call, error):
    with pytest.raises(error):
        call(keras_ref.utils.pad_sequences)

