"""`keras.datasets.reuters`: 11,228 Reuters newswires as word indices, in 46 topics."""

import json

import numpy as np

from eigennet.datasets import _loading
from eigennet.utils.file_utils import get_file

LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)  # fmt: skip


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):  # fmt: skip
    """`(x_train, y_train), (x_test, y_test)` as Keras returns them: the wires shuffled by
    `seed`, indexed as `imdb.load_data` indexes reviews, the first `1 - test_split` of them
    for training."""
    _loading.check_test_split(test_split)
    path = get_file(
        fname=path,
        origin=f"{_loading.ORIGIN}reuters.npz",
        file_hash="d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
    )
    xs, labels = _loading.entries(_loading.load_npz(path), path, "x", "y")
    order = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(order)
    xs = _loading.index_sequences(xs[order], start_char, index_from)
    labels = labels[order]
    if maxlen:
        xs, labels = _loading.drop_long(maxlen, xs, labels)
    xs = _loading.limit_words(xs, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return (_loading.as_objects(xs[:cut]), labels[:cut]), (_loading.as_objects(xs[cut:]),
                                                           labels[cut:])  # fmt: skip


def get_word_index(path="reuters_word_index.json"):
    """The words' indices (a dict word -> rank), before load_data's `index_from` offset."""
    path = get_file(
        fname=path,
        origin=f"{_loading.ORIGIN}reuters_word_index.json",
        file_hash="4d44cc38712099c9e383dc6e5f11a921",
    )
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def get_label_names():
    """The 46 topics, in label order."""
    return LABEL_NAMES
