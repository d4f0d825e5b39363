"""`keras.datasets.imdb`: 25,000 training and 25,000 test movie reviews as word indices
(words ranked by frequency), labelled positive (1) or negative (0)."""

import json

import numpy as np

from eigennet.datasets import _loading
from eigennet.utils.file_utils import get_file


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):  # fmt: skip
    """`(x_train, y_train), (x_test, y_test)` as Keras returns them: each set shuffled by
    `seed`, every review a list of word indices offset by `index_from` after `start_char`,
    reviews of `maxlen` words or more dropped, words outside `[skip_top, num_words)` replaced
    by `oov_char` (dropped when it is None). x is a 1-D object array of lists."""
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    path = get_file(
        fname=path,
        origin=f"{_loading.ORIGIN}imdb.npz",
        file_hash="69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
    )
    arrays = _loading.load_npz(path)
    x_train, labels_train, x_test, labels_test = _loading.entries(
        arrays, path, "x_train", "y_train", "x_test", "y_test"
    )
    rng = np.random.RandomState(seed)
    sets = []
    for x, labels in ((x_train, labels_train), (x_test, labels_test)):
        order = np.arange(len(x))
        rng.shuffle(order)
        sets.append([_loading.index_sequences(x[order], start_char, index_from), labels[order]])
    if maxlen:
        for part in sets:
            part[0], part[1] = _loading.drop_long(maxlen, part[0], part[1])
        if not sets[0][0] or not sets[1][0]:
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was "
                "kept. Increase maxlen."
            )
    xs = _loading.limit_words(sets[0][0] + sets[1][0], num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(sets[0][1]), np.asarray(sets[1][1])])
    cut = len(sets[0][0])
    return (_loading.as_objects(xs[:cut]), labels[:cut]), (_loading.as_objects(xs[cut:]),
                                                           labels[cut:])  # fmt: skip


def get_word_index(path="imdb_word_index.json"):
    """The words' indices (a dict word -> rank), before load_data's `index_from` offset."""
    path = get_file(
        fname=path,
        origin=f"{_loading.ORIGIN}imdb_word_index.json",
        file_hash="bfafd718b763782e994055a2d397834f",
    )
    with open(path, encoding="utf-8") as f:
        return json.load(f)
