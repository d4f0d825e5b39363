"""The `tf.data` methods on eigennet's batched data sets (batch_pipeline): `map`, `take`,
`skip`, `shuffle`, `cache`, `prefetch`, `as_numpy_iterator`, with epochs passed on to the
source, training on the results, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras


def _series(n=50, batch_size=8):
    data = np.arange(n * 2, dtype="float32").reshape(n, 2)
    return keras.utils.timeseries_dataset_from_array(
        data, np.arange(n, dtype="float32"), sequence_length=3, batch_size=batch_size
    )


def _texts(tmp_path, n=12):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(n):
            (tmp_path / cls / f"{i}.txt").write_text(f"{cls} text {i}")
    return keras.utils.text_dataset_from_directory(tmp_path, batch_size=5, seed=1, verbose=False)


def test_map_applies_to_every_batch_and_unpacks_tuples():
    ds = _series()
    doubled = ds.map(lambda x, y: (x * 2, y + 1), num_parallel_calls=4)
    assert len(doubled) == len(ds)
    for i in range(len(ds)):
        (x, y), (x2, y2) = ds[i], doubled[i]
        np.testing.assert_array_equal(x2, x * 2)
        np.testing.assert_array_equal(y2, y + 1)
    inputs_only = ds.map(lambda x, y: x)
    np.testing.assert_array_equal(inputs_only[1], ds[1][0])
    chained = inputs_only.map(lambda x: x[:, 0])  # a single value is passed as it is
    assert chained[0].shape == (8, 2)


def test_take_skip_and_iteration():
    ds = _series()
    assert len(ds) == 6
    assert len(ds.take(2)) == 2 and len(ds.take(-1)) == 6 and len(ds.take(99)) == 6
    np.testing.assert_array_equal(ds.skip(4)[0][0], ds[4][0])
    assert len(ds.skip(-1)) == 0 and len(ds.skip(10)) == 0
    batches = list(ds.take(3))
    assert len(batches) == 3
    np.testing.assert_array_equal(batches[2][1], ds[2][1])
    assert len(list(ds.as_numpy_iterator())) == ds.cardinality() == 6
    assert ds.prefetch(4) is ds
    with pytest.raises(IndexError):
        ds.take(2)[2]


def test_shuffle_deals_batches_in_a_new_order_each_epoch():
    ds = _series(n=130)
    shuffled = ds.shuffle(100, seed=4)
    first = [shuffled[i][1][0] for i in range(len(ds))]
    shuffled.on_epoch_end()
    second = [shuffled[i][1][0] for i in range(len(ds))]
    assert sorted(first) == sorted(second) == [ds[i][1][0] for i in range(len(ds))]
    assert first != second
    fixed = ds.shuffle(100, seed=4, reshuffle_each_iteration=False)
    before = [fixed[i][1][0] for i in range(len(ds))]
    fixed.on_epoch_end()
    assert before == [fixed[i][1][0] for i in range(len(ds))]


def test_cache_reads_each_batch_once_and_replays_it(tmp_path):
    ds = _texts(tmp_path)
    calls = []
    mapped = ds.map(lambda x, y: (calls.append(1) or x, y))
    cached = mapped.cache()
    first = [cached[i] for i in range(len(cached))]
    cached.on_epoch_end()  # the source is not reshuffled under the cache
    second = [cached[i] for i in range(len(cached))]
    assert len(calls) == len(cached)
    for (x1, y1), (x2, y2) in zip(first, second):
        assert list(x1) == list(x2) and list(y1) == list(y2)


def test_epochs_reach_the_source_through_map(tmp_path):
    ds = _texts(tmp_path)
    mapped = ds.map(lambda x, y: (x, y))
    before = list(mapped[0][0])
    mapped.on_epoch_end()
    assert list(mapped[0][0]) != before  # the directory data set reshuffled
    assert mapped.class_names == ["a", "b"]


def test_training_on_mapped_text_files(tmp_path):
    ds = _texts(tmp_path)
    vectorize = keras.layers.TextVectorization(output_mode="multi_hot")
    vectorize.adapt(ds.map(lambda x, y: x))
    vectors = ds.map(lambda x, y: (vectorize(x), y))
    model = keras.Sequential([
        keras.Input((vectorize.vocabulary_size(),)),
        keras.layers.Dense(1, activation="sigmoid"),
    ])  # fmt: skip
    model.compile(keras.optimizers.Adam(0.1), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(vectors.cache(), epochs=10, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert model.evaluate(vectors.prefetch(2), verbose=0)[1] == 1.0


def test_errors():
    ds = _series()
    with pytest.raises(TypeError, match="callable"):
        ds.map(3)
    with pytest.raises(ValueError, match="in memory only"):
        ds.cache("/tmp/cache")
    for bad in (-2, 1.5, True):
        with pytest.raises(ValueError, match="`count`"):
            ds.take(bad)
