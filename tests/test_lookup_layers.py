"""Keras 3's categorical preprocessing layers without TensorFlow (issue 15 §4):
CategoryEncoding and Discretization (traced with keras.ops: in models and on arrays, parity
with Keras 3 on the torch backend), Hashing (TF's FarmHash Fingerprint64 and SipHash,
checked against published vectors and Keras's own test values), StringLookup and
IntegerLookup (Keras's index layout, adapt order, OOV rules, output modes, saving)."""

import os

import numpy as np
import pytest

import eigennet
from eigennet import layers
from eigennet.layers import _string_hash

os.environ.setdefault("KERAS_BACKEND", "torch")


@pytest.fixture
def keras_ref():
    if os.environ.get("KERAS_BACKEND", "torch") != "torch":
        pytest.skip("parity tests compare with Keras's torch backend")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


# -- CategoryEncoding ------------------------------------------------------------------------
CASES = [
    ("one_hot", np.array([3, 2, 0, 1])),
    ("one_hot", np.array([[3], [2], [0]])),
    ("one_hot", np.array([[1, 2], [0, 3]])),
    ("multi_hot", np.array([[0, 1], [0, 0], [1, 2], [3, 1]])),
    ("multi_hot", np.array([0, 1, 1])),
    ("count", np.array([[0, 1, 1], [3, 3, 2]])),
    ("count", np.array([2, 2, 1])),
    ("multi_hot", np.array(2)),
]


@pytest.mark.parametrize("mode,x", CASES)
def test_category_encoding_matches_keras(keras_ref, mode, x):
    ours = layers.CategoryEncoding(num_tokens=4, output_mode=mode)(x)
    theirs = keras_ref.layers.CategoryEncoding(num_tokens=4, output_mode=mode)(x)
    np.testing.assert_array_equal(np.asarray(ours), keras_ref.ops.convert_to_numpy(theirs))
    assert layers.CategoryEncoding(4, output_mode=mode).compute_output_shape(x.shape) == tuple(
        keras_ref.layers.CategoryEncoding(4, output_mode=mode).compute_output_shape(x.shape)
    )


def test_category_encoding_count_weights_and_config(keras_ref):
    x, w = np.array([[0, 1, 1]]), np.array([[0.5, 2.0, 1.0]])
    ours = layers.CategoryEncoding(3, output_mode="count")(x, count_weights=w)
    np.testing.assert_allclose(ours, [[0.5, 3.0, 0.0]])
    config = layers.CategoryEncoding(3, output_mode="count", name="ce").get_config()
    ref = keras_ref.layers.CategoryEncoding(3, output_mode="count", name="ce").get_config()
    assert {k: config[k] for k in ("num_tokens", "output_mode", "name")} == {
        k: ref[k] for k in ("num_tokens", "output_mode", "name")
    }


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding_in_a_model_trains_and_saves(mode, tmp_path):
    x = np.random.default_rng(0).integers(0, 5, size=(64, 3))
    inputs = eigennet.Input((3,))
    encoded = layers.CategoryEncoding(5, output_mode=mode)(inputs)
    if mode == "one_hot":
        encoded = layers.Flatten()(encoded)
    outputs = layers.Dense(1)(encoded)
    model = eigennet.Model(inputs, outputs)
    expected = np.asarray(layers.CategoryEncoding(5, output_mode=mode)(x))
    sub = eigennet.Model(inputs, model.layers[1].output)
    np.testing.assert_array_equal(sub.predict(x, verbose=0), expected)
    model.compile("adam", "mse")
    model.fit(x, x.sum(1, keepdims=True) / 10.0, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = eigennet.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_category_encoding_bad_input():
    with pytest.raises(ValueError, match="num_tokens"):
        layers.CategoryEncoding()
    with pytest.raises(ValueError, match="num_tokens"):
        layers.CategoryEncoding(0)
    with pytest.raises(ValueError, match="output_mode"):
        layers.CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="CategoryEncoding.*num_tokens=3"):
        layers.CategoryEncoding(3)(np.array([[0, 3]]))
    with pytest.raises(ValueError, match="count_weights"):
        layers.CategoryEncoding(3, output_mode="one_hot")(np.array([0]), count_weights=[1.0])


# -- Discretization --------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_matches_keras(keras_ref, mode):
    x = np.array([[-1.5, 0.0, 0.2], [1.0, 2.5, 0.999]], dtype="float32")
    bounds = [0.0, 1.0, 2.0]
    ours = layers.Discretization(bin_boundaries=bounds, output_mode=mode)(x)
    theirs = keras_ref.layers.Discretization(bin_boundaries=bounds, output_mode=mode)(x)
    theirs = keras_ref.ops.convert_to_numpy(theirs)
    np.testing.assert_array_equal(np.asarray(ours), theirs)
    assert np.asarray(ours).dtype == theirs.dtype


@pytest.mark.parametrize("batches", [1, 7])
def test_discretization_adapt_equals_keras_and_numpy_quantiles(keras_ref, batches):
    data = np.random.default_rng(1).normal(size=(3000, 2)).astype("float32")
    ours = layers.Discretization(num_bins=4, epsilon=0.01)
    theirs = keras_ref.layers.Discretization(num_bins=4, epsilon=0.01)
    chunks = np.array_split(data, batches) if batches > 1 else data
    ours.adapt(iter(chunks) if batches > 1 else chunks)
    # Keras's adapt() checks for tf.data first (needs TF); its per-batch steps do not
    for chunk in chunks if batches > 1 else [chunks]:
        theirs.update_state(chunk)
    theirs.finalize_state()
    np.testing.assert_allclose(ours.bin_boundaries, theirs.bin_boundaries, rtol=1e-6)
    # approximate quantiles: within about epsilon of the exact ones (in probability)
    exact = np.quantile(data, [0.25, 0.5, 0.75])
    np.testing.assert_allclose(ours.bin_boundaries, exact, atol=0.08)


def test_discretization_adapt_streams_a_memmap(tmp_path):
    data = np.random.default_rng(2).uniform(size=(5000, 1))
    mm = np.lib.format.open_memmap(tmp_path / "d.npy", mode="w+", dtype="float64", shape=data.shape)
    mm[:] = data
    with (
        eigennet.config.streaming(chunk_bytes=8 * 500)
        if hasattr(eigennet.config, "streaming")
        else _nullcontext()
    ):
        layer = layers.Discretization(num_bins=5)
        layer.adapt(mm)
    np.testing.assert_allclose(layer.bin_boundaries, [0.2, 0.4, 0.6, 0.8], atol=0.03)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_discretization_in_a_model_and_saving(tmp_path):
    layer = layers.Discretization(num_bins=3)
    layer.adapt(np.arange(90, dtype="float32").reshape(-1, 1))
    inputs = eigennet.Input((2,))
    model = eigennet.Model(inputs, layer(inputs))
    x = np.array([[-5.0, 40.0], [70.0, 200.0]])
    np.testing.assert_array_equal(model.predict(x, verbose=0), layer(x))
    model.save(tmp_path / "d.keras")
    loaded = eigennet.models.load_model(tmp_path / "d.keras")
    assert loaded.layers[1].bin_boundaries == layer.bin_boundaries
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), layer(x))


def test_discretization_bad_input():
    with pytest.raises(ValueError, match="num_bins.*bin_boundaries|either"):
        layers.Discretization()
    with pytest.raises(ValueError, match="num_bins"):
        layers.Discretization(num_bins=-1)
    with pytest.raises(ValueError, match="epsilon"):
        layers.Discretization(num_bins=3, epsilon=2.0)
    with pytest.raises(ValueError, match="sorted"):
        layers.Discretization(bin_boundaries=[1.0, 0.0])
    layer = layers.Discretization(num_bins=3)
    with pytest.raises(ValueError, match="NaN or inf"):
        layer.adapt(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="empty"):
        layer.adapt(np.zeros((0, 1)))
    with pytest.raises(ValueError, match="adapt"):
        layer(np.array([1.0]))
    with pytest.raises(ValueError, match="bin_boundaries"):
        layers.Discretization(bin_boundaries=[0.0]).adapt(np.ones(3))


# -- Hashing ---------------------------------------------------------------------------------
def _raw_hash(data: bytes, key=None) -> int:
    """The native hash of exactly these bytes (NumPy "S" arrays would drop trailing NULs)."""
    from eigennet import _core

    rows = np.frombuffer(data.ljust(1, b"\0"), dtype=np.uint8).reshape(1, -1)
    return int(_core.hash_strings(rows, np.array([len(data)]), key)[0])


def _fingerprint(data: bytes) -> int:
    return _raw_hash(data)


def _signed(v: int) -> int:
    return v - 2**64 if v >= 2**63 else v


def test_fingerprint64_published_vectors():
    """Guava's FarmHashFingerprint64 tests (equal to farmhash's C++ Fingerprint64)."""
    assert _signed(_fingerprint(b"test")) == 8581389452482819506
    assert _signed(_fingerprint(b"test" * 8)) == -4196240717365766262
    assert _signed(_fingerprint(b"test" * 64)) == 3500507768004279527


def test_fingerprint64_every_length_to_3200_bytes():
    """Guava's testMultipleLengths: a chain of fingerprints of prefixes of a buffer built
    from earlier fingerprints, over lengths 0..3200 (every code path), must end at the C++
    reference value. Trailing NUL bytes cannot occur (the buffer holds letters)."""
    mask = 2**64 - 1

    def remix(h):
        h ^= h >> 41
        return (h * 949921979) & mask

    def char(h):
        return ord("a") + ((h & 0xFFFFF) % 26)

    buf = bytearray(800 * 4)
    length, h = 0, 0
    for i in range(800):
        for step in range(4):  # prefixes of i, i^2, i^3 (mod the length) and all bytes
            take = (i, i * i % max(length, 1), i**3 % max(length, 1), length)[step]
            h = remix(h ^ _fingerprint(bytes(buf[:take])))
            buf[length] = char(h)
            length += 1
        x0, x1, x2, x3 = buf[length - 1], buf[length - 2], buf[length - 3], buf[length // 2]
        buf[((x0 << 16) + (x1 << 8) + x2) % length] ^= x3
        buf[((x1 << 16) + (x2 << 8) + x3) % length] ^= i % 256
    assert h == 0x7A1D67C50EC7E167


def test_siphash_reference_vectors():
    """SipHash-2-4 with key 00..0f (the paper's vectors) on messages 00, 00 01, ..."""
    key = tuple(int(k) for k in np.frombuffer(bytes(range(16)), dtype="<u8"))
    expected = [0x726FDB47DD0E0E31, 0x74F839C593DC67FD, 0x0D6C8009D9A94F5A, 0x85676696D7FB7E2D]
    for n, value in enumerate(expected):
        assert _raw_hash(bytes(range(n)), key) == value
    assert int(_string_hash.hash64(np.array([b""]), key)[0]) == expected[0]


@pytest.mark.parametrize(
    "kwargs,inputs,expected",
    [  # values from Keras 3's hashing_test.py and docstrings (computed by TensorFlow)
        ({"num_bins": 3}, [["A"], ["B"], ["C"], ["D"], ["E"]], [1, 0, 1, 1, 2]),
        ({"num_bins": 3, "mask_value": ""}, [["A"], ["B"], [""], ["C"], ["D"]], [1, 1, 0, 2, 2]),
        ({"num_bins": 3, "salt": [133, 137]}, [["A"], ["B"], ["C"], ["D"], ["E"]], [1, 2, 1, 0, 2]),
        ({"num_bins": 3, "salt": 133}, [["A"], ["B"], ["C"], ["D"], ["E"]], [0, 0, 2, 1, 0]),
        ({"num_bins": 3}, np.array([[0], [1], [2], [3], [4]]), [1, 0, 1, 0, 2]),
        ({"num_bins": 3, "salt": [133, 137]}, np.array([[0], [1], [2], [3], [4]]), [1, 1, 2, 0, 1]),
        (
            {"num_bins": 2},
            [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]],
            [0, 0, 1, 0, 0],
        ),
        (
            {"num_bins": 2, "salt": [211, 137]},
            [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]],
            [1, 0, 1, 0, 1],
        ),
        (
            {"num_bins": 3, "mask_value": "omar"},
            [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]],
            [0, 1, 2, 1, 1],
        ),
    ],
)
def test_hashing_equals_keras_tf_values(kwargs, inputs, expected):
    out = layers.Hashing(**kwargs)(inputs)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(np.asarray(out).ravel(), expected)


def test_hashing_output_modes_and_config():
    x = np.array([0, 1, 2, 3, 4])
    bins = np.asarray(layers.Hashing(num_bins=3)(x))
    np.testing.assert_array_equal(layers.Hashing(3, output_mode="one_hot")(x), np.eye(3)[bins])
    np.testing.assert_array_equal(layers.Hashing(3, output_mode="count")(x[None]), [[2, 2, 1]])
    np.testing.assert_array_equal(layers.Hashing(3, output_mode="multi_hot")(x[None]), [[1, 1, 1]])
    np.testing.assert_array_equal(
        layers.Hashing(3)(np.array([1.7, 2.2])), layers.Hashing(3)(np.array([1, 2]))
    )
    layer = layers.Hashing(num_bins=4, salt=5, mask_value="m", name="h")
    clone = layers.Hashing.from_config(layer.get_config())
    assert clone.salt == [5, 5] and clone.mask_value == "m"
    assert layer.get_config()["dtype"] == "int64"


def test_hashing_bad_input():
    for bad in (None, 0, -1):
        with pytest.raises(ValueError, match="num_bins"):
            layers.Hashing(num_bins=bad)
    with pytest.raises(ValueError, match="salt"):
        layers.Hashing(num_bins=2, salt="string")
    with pytest.raises(ValueError, match="salt"):
        layers.Hashing(num_bins=2, salt=[1, 2, 3])
    with pytest.raises(ValueError, match="output_mode"):
        layers.Hashing(num_bins=2, output_mode="bad")
    with pytest.raises(ValueError, match="dtype"):
        layers.Hashing(num_bins=2, dtype="float32")
    hidden = layers.Dense(2)(eigennet.Input((1,)))
    with pytest.raises(ValueError, match="only be applied to a model input.*Apply it to the data"):
        layers.Hashing(num_bins=2)(hidden)


# -- StringLookup / IntegerLookup ------------------------------------------------------------
def test_string_lookup_keras_docstring_examples():
    vocab = ["a", "b", "c", "d"]
    data = [["a", "c", "d"], ["d", "z", "b"]]
    np.testing.assert_array_equal(
        layers.StringLookup(vocabulary=vocab)(data), [[1, 3, 4], [4, 0, 2]]
    )
    layer = layers.StringLookup(vocabulary=vocab, num_oov_indices=2)
    assert layer(data)[1, 1] in (0, 1)
    np.testing.assert_array_equal(
        layers.StringLookup(vocabulary=vocab, output_mode="one_hot")(["a", "b", "c", "d", "z"]),
        np.eye(5)[[1, 2, 3, 4, 0]],
    )
    np.testing.assert_array_equal(
        layers.StringLookup(vocabulary=vocab, output_mode="multi_hot")(data),
        [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]],
    )
    np.testing.assert_array_equal(
        layers.StringLookup(vocabulary=vocab, output_mode="count")(
            [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
        ),
        [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]],
    )
    idf = [0.25, 0.75, 0.6, 0.4]
    np.testing.assert_allclose(
        layers.StringLookup(output_mode="tf_idf", vocabulary=vocab, idf_weights=idf)(data),
        [[0, 0.25, 0, 0.6, 0.4], [0.5, 0, 0.75, 0, 0.4]],
    )
    masked = layers.StringLookup(vocabulary=vocab, mask_token="")
    assert masked.get_vocabulary() == ["", "[UNK]", "a", "b", "c", "d"]
    np.testing.assert_array_equal(masked([["a", "c", "d"], ["d", "", "b"]]), [[2, 4, 5], [5, 0, 3]])
    inverse = layers.StringLookup(vocabulary=vocab, invert=True)
    np.testing.assert_array_equal(
        inverse(np.array([[1, 3, 4], [4, 0, 2]])), [["a", "c", "d"], ["d", "[UNK]", "b"]]
    )


def test_adapt_orders_by_count_then_token_descending():
    layer = layers.StringLookup()
    layer.adapt(np.array([["a", "c", "d"], ["d", "z", "b"], ["c", "c", "b"]]))
    assert layer.get_vocabulary() == ["[UNK]", "c", "d", "b", "z", "a"]
    layer = layers.StringLookup(max_tokens=3)
    layer.adapt(["x", "y", "y", "z", "z"])
    assert layer.get_vocabulary() == ["[UNK]", "z", "y"]
    ints = layers.IntegerLookup(mask_token=0)
    ints.adapt(np.array([12, 36, 1138, 42, 42, 36, 36, 0]))
    assert ints.get_vocabulary() == [0, -1, 36, 42, 1138, 12]
    assert ints.vocabulary_size() == 6
    assert ints.get_vocabulary(include_special_tokens=False) == [36, 42, 1138, 12]


def test_integer_lookup_oov_floormod_and_tf_idf():
    layer = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42], num_oov_indices=2)
    np.testing.assert_array_equal(
        layer(np.array([[12, 1138, 42], [42, 1000, 36]])), [[2, 4, 5], [5, 0, 3]]
    )
    tfidf = layers.StringLookup(output_mode="tf_idf")
    tfidf.adapt(np.array([["a", "b", "b"], ["c", "c", "a"]]))
    weights = np.log(1 + 2 / (1 + np.array([1.0, 1.0, 2.0])))  # c, b, a
    out = tfidf(np.array([["a", "b", "q"]]))
    np.testing.assert_allclose(
        out,
        [[weights.mean(), weights[2], weights[1], 0]][:1]
        and [[weights.mean(), 0, weights[1], weights[2]]],
        rtol=1e-6,
    )


def test_lookup_config_round_trip_keeps_the_adapted_vocabulary():
    layer = layers.StringLookup(output_mode="tf_idf", name="sl")
    layer.adapt([["x", "y", "y"], ["z", "z", "x"]])
    clone = layers.StringLookup.from_config(layer.get_config())
    assert clone.get_vocabulary() == layer.get_vocabulary()
    data = np.array([["x", "y", "q"]])
    np.testing.assert_allclose(clone(data), layer(data))
    ints = layers.IntegerLookup(max_tokens=4)
    ints.adapt(np.array([5, 5, 7, 9, 9, 9]))
    clone = eigennet.saving.deserialize_keras_object(eigennet.saving.serialize_keras_object(ints))
    assert clone.get_vocabulary() == ints.get_vocabulary() == [-1, 9, 5, 7]


def test_lookup_vocabulary_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\nc\n", encoding="utf-8")
    layer = layers.StringLookup(vocabulary=str(path))
    np.testing.assert_array_equal(layer(["c", "a", "q"]), [3, 1, 0])


def test_lookup_bad_input():
    with pytest.raises(ValueError, match=r"StringLookup.*num_oov_indices=0"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(["a", "b"])
    with pytest.raises(ValueError, match="num_oov_indices"):
        layers.StringLookup(num_oov_indices=-1)
    with pytest.raises(ValueError, match="max_tokens"):
        layers.IntegerLookup(max_tokens=1)
    with pytest.raises(ValueError, match="repeated"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="maximum vocab size"):
        layers.StringLookup(vocabulary=["a", "b", "c"], max_tokens=3)
    with pytest.raises(ValueError, match="idf_weights"):
        layers.StringLookup(vocabulary=["a"], output_mode="tf_idf")
    with pytest.raises(ValueError, match="invert"):
        layers.StringLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="static vocabulary"):
        layers.StringLookup(vocabulary=["a"]).adapt(["a"])
    with pytest.raises(ValueError, match="empty"):
        layers.StringLookup().adapt(np.array([], dtype=str))
    with pytest.raises(ValueError, match="IntegerLookup.*integer"):
        layers.IntegerLookup().adapt(np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match="integer"):
        layers.IntegerLookup(vocabulary=[1])(np.array([1.5]))
    with pytest.raises(RuntimeError, match="vocabulary"):
        layers.StringLookup(output_mode="count")(["a"])
    with pytest.raises(ValueError, match="Apply it to the data"):
        layers.StringLookup(vocabulary=["a"])(eigennet.Input((1,)))
