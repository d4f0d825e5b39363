"""`utils.text_dataset_from_directory` and `utils.image_dataset_from_directory`: the index of
files and labels (against Keras's own indexing, seed for seed), the batches (contents, label
encodings, splits, reshuffling), the images (against Pillow plus `ops.image.resize`, and Keras's
resize), training on them, and the errors Keras raises."""

from __future__ import annotations

import os

import numpy as np
import pytest

import eigennet as keras
from eigennet.utils import directory_datasets

WORDS = {"neg": ["bad", "awful", "poor", "worst"], "pos": ["good", "great", "fine", "superb"]}


def _text_tree(root, per_class=30, classes=("neg", "pos")):
    rng = np.random.default_rng(0)
    for cls in classes:
        os.makedirs(root / cls / "sub", exist_ok=True)
        for i in range(per_class):
            folder = root / cls / ("sub" if i % 3 == 0 else "")
            words = WORDS.get(cls, ["meh"])
            text = " ".join(rng.choice(words, 6)) + f" {cls} {i}"
            (folder / f"f{i}.{'TXT' if i == 1 else 'txt'}").write_text(text, encoding="utf-8")
        (root / cls / "notes.md").write_text("not a text sample")
    return root


def _all(ds):
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    return np.concatenate(xs), np.concatenate(ys)


# -- the index -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "labels, class_names, shuffle",
    [("inferred", None, True), ("inferred", None, False), ("inferred", ["pos"], True),
     (None, None, True)],
)  # fmt: skip
def test_index_matches_keras(tmp_path, labels, class_names, shuffle):
    pytest.importorskip("keras")
    from keras.src.utils import dataset_utils

    root = str(_text_tree(tmp_path))
    theirs = dataset_utils.index_directory(
        root, labels, (".txt",), class_names=class_names, shuffle=shuffle, seed=7, verbose=False
    )
    ours = directory_datasets.index_directory(
        root, labels, (".txt",), class_names, shuffle, 7, False, False
    )
    assert ours[0] == theirs[0]
    assert ours[2] == theirs[2]
    if labels is None:
        assert ours[1] is None and theirs[1] is None
    else:
        np.testing.assert_array_equal(ours[1], theirs[1])


def test_explicit_labels_follow_the_sorted_files(tmp_path):
    root = _text_tree(tmp_path, per_class=3)
    ds = keras.utils.text_dataset_from_directory(
        root, labels=[5, 5, 5, 9, 9, 9], shuffle=False, batch_size=None, verbose=False
    )
    assert ds.class_names == ["5", "9"]
    pairs = [ds[i] for i in range(len(ds))]
    assert [int(y) for _, y in pairs] == [5, 5, 5, 9, 9, 9]
    assert all(str(x).split()[-2] == ("neg" if y == 5 else "pos") for x, y in pairs)


# -- text batches ----------------------------------------------------------------------------
def test_text_batches_hold_the_files_and_their_labels(tmp_path, capsys):
    root = _text_tree(tmp_path)
    ds = keras.utils.text_dataset_from_directory(root, batch_size=8, seed=3)
    assert "Found 60 files belonging to 2 classes." in capsys.readouterr().out
    assert len(ds) == 8 and ds.class_names == ["neg", "pos"] and len(ds.file_paths) == 60
    x, y = ds[0]
    assert x.shape == (8,) and y.dtype == np.int32 and y.shape == (8,)
    texts, labels = _all(ds)
    for text, label in zip(texts, labels):
        assert text.split()[-2] == ds.class_names[label]
    contents = {open(p, encoding="utf-8").read() for p in ds.file_paths}
    assert set(texts) == contents


def test_each_epoch_deals_the_files_anew(tmp_path):
    root = _text_tree(tmp_path)
    ds = keras.utils.text_dataset_from_directory(root, batch_size=60, seed=3, verbose=False)
    first, labels = ds[0]
    ds.on_epoch_end()
    second, labels2 = ds[0]
    assert sorted(first) == sorted(second) and list(first) != list(second)
    for text, label in zip(second, labels2):
        assert text.split()[-2] == ds.class_names[label]  # pairs kept
    fixed = keras.utils.text_dataset_from_directory(root, shuffle=False, verbose=False)
    before = fixed[0][0]
    fixed.on_epoch_end()
    assert list(fixed[0][0]) == list(before)


@pytest.mark.parametrize("mode", ["int", "categorical", "binary", None])
def test_label_modes(tmp_path, mode):
    root = _text_tree(tmp_path, per_class=4)
    ds = keras.utils.text_dataset_from_directory(
        root, label_mode=mode, batch_size=8, shuffle=False, verbose=False
    )
    batch = ds[0]
    if mode is None:
        assert isinstance(batch, np.ndarray) and batch.shape == (8,)
        return
    y = batch[1]
    expected = np.array([0] * 4 + [1] * 4)
    if mode == "int":
        assert y.dtype == np.int32
        np.testing.assert_array_equal(y, expected)
    elif mode == "categorical":
        np.testing.assert_array_equal(y, np.eye(2, dtype="float32")[expected])
    else:
        assert y.dtype == np.float32 and y.shape == (8, 1)
        np.testing.assert_array_equal(y[:, 0], expected)


def test_validation_split_is_keras_split(tmp_path, capsys):
    root = _text_tree(tmp_path)
    train, val = keras.utils.text_dataset_from_directory(
        root, validation_split=0.2, subset="both", seed=11, batch_size=7
    )
    out = capsys.readouterr().out
    assert "Using 48 files for training." in out and "Using 12 files for validation." in out
    assert len(train.file_paths) == 48 and len(val.file_paths) == 12
    assert not set(train.file_paths) & set(val.file_paths)
    alone = keras.utils.text_dataset_from_directory(
        root, validation_split=0.2, subset="validation", seed=11, verbose=False
    )
    assert alone.file_paths == val.file_paths
    kr = pytest.importorskip("keras")
    from keras.src.utils import dataset_utils

    paths, labels, _ = dataset_utils.index_directory(str(root), "inferred", (".txt",), seed=11,
                                                     verbose=False)  # fmt: skip
    assert val.file_paths == paths[-12:]
    del kr, labels


def test_max_length_and_single_samples(tmp_path):
    root = _text_tree(tmp_path, per_class=2)
    ds = keras.utils.text_dataset_from_directory(
        root, max_length=5, batch_size=None, shuffle=False, verbose=False
    )
    assert len(ds) == 4
    x, y = ds[0]
    assert isinstance(x, str) and len(x) <= 5 and int(y) == 0


def test_training_on_text_files(tmp_path):
    root = _text_tree(tmp_path)
    train, val = keras.utils.text_dataset_from_directory(
        root, label_mode="binary", validation_split=0.25, subset="both", seed=2,
        batch_size=8, verbose=False,
    )  # fmt: skip
    vectorize = keras.layers.TextVectorization(max_tokens=30, output_sequence_length=8)
    vectorize.adapt(_all(train)[0])
    inputs = keras.Input(shape=(1,), dtype="string")
    h = keras.layers.Embedding(30, 8)(vectorize(inputs))
    h = keras.layers.GlobalAveragePooling1D()(h)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=8, verbose=0)
    assert history.history["val_accuracy"][-1] >= 0.9


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(label_mode="binary"), "exactly 2 class_names"),
        (dict(validation_split=0.2, subset="training"), "provide a `seed`"),
        (dict(validation_split=0.2, subset="train", seed=1), '"training", "validation"'),
        (dict(validation_split=1.5, subset="training", seed=1), "between 0 and 1"),
        (dict(subset="training"), "`validation_split` must be set"),
        (dict(labels=[0, 1]), "to match the number of files"),
        (dict(labels="folders"), "list/tuple of integer labels"),
        (dict(labels=[0] * 9, class_names=["neg"]), "only pass `class_names`"),
        (dict(class_names=["neg", "cats"]), "did not match the names"),
        (dict(label_mode="sparse"), "`label_mode` argument must be"),
        (dict(batch_size=0), "`batch_size` must be a positive int"),
        (dict(max_length=-1), "`max_length`"),
    ],
)
def test_errors(tmp_path, kwargs, message):
    root = _text_tree(tmp_path, per_class=3, classes=("a", "b", "c"))
    with pytest.raises(ValueError, match=message):
        keras.utils.text_dataset_from_directory(root, verbose=False, **kwargs)


def test_missing_and_empty_directories(tmp_path):
    with pytest.raises(ValueError, match="Could not find directory"):
        keras.utils.text_dataset_from_directory(tmp_path / "nowhere")
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="No files found"):
        keras.utils.text_dataset_from_directory(tmp_path, verbose=False)


# -- images ----------------------------------------------------------------------------------
def _image_tree(root, sizes=((13, 21), (30, 9), (16, 16), (25, 18))):
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(1)
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i, (h, w) in enumerate(sizes):
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            image.fromarray(pixels).save(root / cls / f"{i}.{'png' if i % 2 else 'bmp'}")
    return root


def _reference(path, size, **kwargs):
    from PIL import Image

    x = np.asarray(Image.open(path).convert("RGB"), dtype="float32")
    return np.asarray(keras.ops.image.resize(x, size, **kwargs))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"crop_to_aspect_ratio": True},
        {"pad_to_aspect_ratio": True},
        {"interpolation": "nearest"},
    ],  # fmt: skip
)
def test_images_are_decoded_and_resized(tmp_path, kwargs):
    root = _image_tree(tmp_path)
    ds = keras.utils.image_dataset_from_directory(
        root, image_size=(12, 10), batch_size=3, shuffle=False, verbose=False, **kwargs
    )
    assert len(ds) == 3 and ds.class_names == ["cat", "dog"]
    images, labels = _all(ds)
    assert images.shape == (8, 12, 10, 3) and images.dtype == np.float32
    np.testing.assert_array_equal(labels, [0] * 4 + [1] * 4)
    for path, image in zip(ds.file_paths, images):
        np.testing.assert_allclose(image, _reference(path, (12, 10), **kwargs), atol=1e-4)
    kr = pytest.importorskip("keras")
    from PIL import Image

    x = np.asarray(Image.open(ds.file_paths[0]).convert("RGB"), dtype="float32")
    theirs = kr.ops.convert_to_numpy(kr.ops.image.resize(x, (12, 10), **kwargs))
    np.testing.assert_allclose(images[0], theirs, atol=1e-3)


@pytest.mark.parametrize(
    "kwargs, shape",
    [({"color_mode": "grayscale"}, (8, 12, 10, 1)), ({"color_mode": "rgba"}, (8, 12, 10, 4)),
     ({"data_format": "channels_first"}, (8, 3, 12, 10))],
)  # fmt: skip
def test_image_layouts(tmp_path, kwargs, shape):
    root = _image_tree(tmp_path)
    ds = keras.utils.image_dataset_from_directory(
        root, image_size=(12, 10), batch_size=8, shuffle=False, verbose=False, **kwargs
    )
    assert ds[0][0].shape == shape


def test_training_on_image_files(tmp_path):
    root = _image_tree(tmp_path)
    train = keras.utils.image_dataset_from_directory(
        root, image_size=(16, 16), batch_size=4, seed=0, label_mode="categorical", verbose=False
    )
    model = keras.Sequential([
        keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(2, activation="softmax"),
    ])  # fmt: skip
    model.compile("adam", "categorical_crossentropy")
    history = model.fit(train, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


def test_unreadable_images_and_bad_arguments(tmp_path):
    root = _image_tree(tmp_path)
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    ds = keras.utils.image_dataset_from_directory(
        root, image_size=(8, 8), batch_size=16, shuffle=False, verbose=False
    )
    with pytest.raises(ValueError, match="broken.png: not a readable image"):
        ds[0]
    for kwargs, message in [
        ({"color_mode": "cmyk"}, "`color_mode` must be one of"),
        ({"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True}, "Only one of"),
        ({"interpolation": "lanczos3"}, "supports interpolation"),
        ({"image_size": (0, 8)}, "`image_size`"),
    ]:
        with pytest.raises(ValueError, match=message):
            keras.utils.image_dataset_from_directory(root, verbose=False, **kwargs)


def test_without_pillow_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("no PIL")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match="pip install pillow"):
        keras.utils.image_dataset_from_directory(tmp_path)
