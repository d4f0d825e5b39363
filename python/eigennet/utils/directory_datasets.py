"""Keras's `text_dataset_from_directory`, `image_dataset_from_directory` and
`audio_dataset_from_directory`: data sets of the files in a directory, labelled by their class
subdirectory.

Files are indexed as Keras indexes them (classes: the subdirectories in alphanumeric order, or
`class_names`; files: walked in sorted order, by extension; with `shuffle`, permuted once by
`np.random.RandomState(seed)`), so a seed gives the same files, labels and validation split as
Keras. The data set is a `PyDataset` of batches read when `fit` (or a loop) asks for them: one
batch of files in memory at a time. With `shuffle`, the files of the data set are dealt out in
a new order every epoch (Keras shuffles through a buffer of 8 batches instead, so the order
within an epoch differs from Keras's).
"""

from __future__ import annotations

import numbers
import os

import numpy as np

from eigennet.utils import image_utils
from eigennet.utils.batch_pipeline import BatchPipeline
from eigennet.utils.py_dataset import PyDataset

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
LABEL_MODES = ("int", "categorical", "binary", None)


# -- indexing --------------------------------------------------------------------------------
def _class_folders(directory: str, class_names) -> list[str]:
    folders = sorted(
        name
        for name in os.listdir(directory)
        if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")
    )
    if class_names is None:
        return folders
    if not set(class_names) <= set(folders):
        raise ValueError(
            "The `class_names` passed did not match the names of the subdirectories of the "
            f"target directory. Expected: {folders} (or a subset of it), but received: "
            f"class_names={class_names}"
        )
    return list(class_names)


def _files_under(folder: str, formats: tuple, follow_links: bool) -> list[str]:
    """The files of `folder` and its subfolders with an allowed extension, in the order Keras
    walks them (folders sorted by path, files by name)."""
    found = []
    for root, _, files in sorted(os.walk(folder, followlinks=follow_links), key=lambda w: w[0]):
        found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(formats)]
    return found


def index_directory(directory, labels, formats, class_names, shuffle, seed, follow_links, verbose):
    """(file paths, integer labels or None, class names or None), as Keras's index."""
    if not os.path.isdir(directory):
        raise ValueError(f"Could not find directory {directory}")
    if labels == "inferred":
        class_names = _class_folders(directory, class_names)
        paths, label_list = [], []
        for index, name in enumerate(class_names):
            found = _files_under(os.path.join(directory, name), formats, follow_links)
            paths += found
            label_list += [index] * len(found)
        labels = np.asarray(label_list, dtype="int32")
    else:
        paths = _files_under(directory, formats, follow_links)
        if labels is not None:
            if len(labels) != len(paths):
                raise ValueError(
                    "Expected the lengths of `labels` to match the number of files in the "
                    f"target directory. len(labels) is {len(labels)} while we found "
                    f"{len(paths)} files in directory {directory}."
                )
            class_names = [str(label) for label in sorted(set(labels))]
            labels = np.asarray(labels)
    if verbose:
        if labels is None:
            print(f"Found {len(paths)} files.")
        else:
            print(f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if shuffle:  # one permutation of the whole index, as Keras's (the same for a seed)
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, (class_names if labels is not None else None)


def _check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed):
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, of the same size "
                "as the number of files in the target directory. If you wish to infer the "
                'labels from the subdirectory names in the target directory, pass `labels="'
                'inferred"`. If you wish to get a dataset that only contains samples (no '
                f"labels), pass `labels=None`. Received: labels={labels}"
            )
        if not all(isinstance(v, numbers.Integral) for v in labels):
            raise ValueError(f"`labels` must be integer labels. Received: labels={labels}")
        if class_names:
            raise ValueError(
                'You can only pass `class_names` if `labels="inferred"`. '
                f"Received: labels={labels}, and class_names={class_names}"
            )
    if label_mode not in LABEL_MODES:
        raise ValueError(
            '`label_mode` argument must be one of "int", "categorical", "binary", or None. '
            f"Received: label_mode={label_mode}"
        )
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(
            f"`validation_split` must be between 0 and 1, received: {validation_split}"
        )
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(
            f'`subset` must be either "training", "validation" or "both", received: {subset}'
        )
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must provide a `seed` "
            "argument, to make sure that there is no overlap between the training and "
            "validation subset."
        )


def _split(paths, labels, validation_split, subset, verbose):
    """The training or validation part (Keras's: the last `int(split * n)` files validate)."""
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    if subset == "training":
        if verbose:
            print(f"Using {len(paths) - n_val} files for training.")
        keep = slice(0, len(paths) - n_val)
    else:
        if verbose:
            print(f"Using {n_val} files for validation.")
        keep = slice(len(paths) - n_val, len(paths))
    return paths[keep], None if labels is None else labels[keep]


def _encode_labels(labels: np.ndarray, label_mode, num_classes: int):
    if label_mode == "binary":
        return labels.astype("float32")[:, None]
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels]
    return labels.astype("int32")


# -- the data set ----------------------------------------------------------------------------
class DirectoryDataset(BatchPipeline, PyDataset):
    """Batches of files read on demand: `(x, labels)`, or `x` without labels. `class_names`
    and `file_paths` are Keras's attributes; `map`, `cache`, `prefetch`, `take`... are the
    `tf.data` methods Keras programs call on it (see batch_pipeline)."""

    def __init__(self, paths, labels, class_names, label_mode, batch_size, shuffle, seed, read):
        super().__init__()
        self.file_paths = list(paths)
        self.class_names = class_names
        self._labels = None if labels is None or label_mode is None else np.asarray(labels)
        self._label_mode = label_mode
        self._batch_size = batch_size
        self._read = read  # (list of paths) -> batch of samples
        self._shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(self.file_paths))

    def __len__(self):
        if self._batch_size is None:
            return len(self.file_paths)
        return -(-len(self.file_paths) // self._batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range [0, {len(self)})")
        size = self._batch_size or 1
        rows = self._order[index * size : (index + 1) * size]
        x = self._read([self.file_paths[i] for i in rows])
        if self._batch_size is None:
            x = x[0]
        if self._labels is None:
            return x
        y = _encode_labels(self._labels[rows], self._label_mode, len(self.class_names))
        return x, (y if self._batch_size is not None else y[0])

    def on_epoch_end(self):
        if self._shuffle:
            self._order = self._rng.permutation(len(self.file_paths))


def _datasets(directory, formats, read, labels, label_mode, class_names, batch_size, shuffle,
              seed, validation_split, subset, follow_links, verbose):  # fmt: skip
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    _check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed)
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise ValueError(f"`batch_size` must be a positive int or None, got {batch_size!r}")
    if seed is None:
        seed = np.random.randint(1e6)
    paths, found_labels, class_names = index_directory(
        os.fspath(directory), labels, formats, class_names, shuffle, seed, follow_links, verbose
    )
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
            f"Received: class_names={class_names}"
        )

    def dataset(part):
        part_paths, part_labels = _split(paths, found_labels, validation_split, part, verbose)
        if not part_paths:
            raise ValueError(f"No files found in directory {directory}. Allowed formats: {formats}")
        return DirectoryDataset(part_paths, part_labels, class_names, label_mode, batch_size,
                                shuffle, seed, read)  # fmt: skip

    if subset == "both":
        return dataset("training"), dataset("validation")
    return dataset(subset)


def text_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    batch_size=32,
    max_length=None,
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    follow_links=False,
    format="tf",
    verbose=True,
):
    """A data set of the `.txt` files under `directory` (one class per subdirectory with
    `labels="inferred"`), as Keras's `utils.text_dataset_from_directory`: batches of
    `(texts, labels)`, the texts a NumPy array of strings (cut to `max_length` characters),
    the labels int32 (`label_mode="int"`), one-hot float32 ("categorical") or float32 of
    shape (batch, 1) ("binary"); `subset="both"` returns the training and validation sets."""
    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if max_length is not None and (not isinstance(max_length, numbers.Integral) or max_length < 0):
        raise ValueError(f"`max_length` must be a non-negative int, got {max_length!r}")

    def read(paths):
        texts = []
        for path in paths:
            with open(path, "rb") as f:  # (bytes cut as Keras's tf.strings.substr cuts them)
                data = f.read() if max_length is None else f.read(max_length)
            texts.append(data.decode("utf-8", errors="replace"))
        return np.array(texts, dtype=object)

    return _datasets(directory, (".txt",), read, labels, label_mode, class_names, batch_size,
                     shuffle, seed, validation_split, subset, follow_links, verbose)  # fmt: skip


def image_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    color_mode="rgb",
    batch_size=32,
    image_size=(256, 256),
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    interpolation="bilinear",
    follow_links=False,
    crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False,
    data_format=None,
    format="tf",
    verbose=True,
):
    """A data set of the images (bmp, gif, jpeg, jpg, png) under `directory`, as Keras's
    `utils.image_dataset_from_directory`: batches of `(images, labels)`, the images float32
    (values 0-255) of shape (batch, height, width, channels), decoded by Pillow and resized to
    `image_size` as `ops.image.resize` resizes ("bilinear" or "nearest"; optionally cropped or
    padded to the target's aspect ratio); labels as in `text_dataset_from_directory`."""
    from eigennet import ops
    from eigennet.layers._ops_layer import standardize_data_format

    if format not in ("tf", "grain"):
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')
    if color_mode not in image_utils.COLOR_MODES:
        raise ValueError(
            '`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
            f"Received: color_mode={color_mode}"
        )
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError(
            "Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`."
        )
    if interpolation not in ops.image.INTERPOLATIONS:
        raise ValueError(
            f"image_dataset_from_directory supports interpolation {ops.image.INTERPOLATIONS} "
            f"in eigennet. Received: interpolation={interpolation}"
        )
    if (
        not isinstance(image_size, (tuple, list))
        or len(image_size) != 2
        or not all(isinstance(s, numbers.Integral) and s > 0 for s in image_size)
    ):
        raise ValueError(f"`image_size` must be (height, width) of positive ints, got {image_size}")
    image_utils.pil_image("image_dataset_from_directory")  # fails early without Pillow
    size = (int(image_size[0]), int(image_size[1]))
    channels_first = standardize_data_format(data_format) == "channels_first"

    def load(path):
        x = image_utils.img_to_array(image_utils.open_image(path, color_mode))
        x = ops.image.resize(
            x[None], size, interpolation=interpolation,
            crop_to_aspect_ratio=crop_to_aspect_ratio, pad_to_aspect_ratio=pad_to_aspect_ratio,
        )[0]  # fmt: skip
        return x.transpose(2, 0, 1) if channels_first else x

    def read(paths):
        return np.stack([load(p) for p in paths]).astype("float32")

    return _datasets(directory, IMAGE_FORMATS, read, labels, label_mode, class_names,
                     batch_size, shuffle, seed, validation_split, subset, follow_links,
                     verbose)  # fmt: skip


def _decode_wav(path: str, sampling_rate, length) -> np.ndarray:
    """A WAV file's PCM samples as float32 (samples, channels), as TensorFlow's decode_wav
    scales them (to [-1, 1): 8-bit unsigned, 16/24/32-bit signed), cut or zero-padded to
    `length` when given."""
    import wave

    try:
        with wave.open(path, "rb") as f:
            channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
            frames = f.getnframes() if length is None else min(f.getnframes(), length)
            data = f.readframes(frames)
    except (wave.Error, EOFError, OSError) as e:
        raise ValueError(f"{path}: not a readable WAV file ({e})") from None
    if sampling_rate is not None and rate != sampling_rate:
        raise ValueError(
            f"{path}: recorded at {rate} samples a second, not the {sampling_rate} asked for "
            "(eigennet does not resample)"
        )
    if width not in (1, 2, 3, 4) or channels < 1:
        raise ValueError(f"{path}: {8 * width}-bit samples are not supported")
    raw = np.frombuffer(data[: len(data) - len(data) % (width * channels)], np.uint8)
    if width == 1:
        samples = (raw.astype(np.float32) - 128.0) / 128.0
    elif width == 3:  # little-endian 24-bit: sign-extend through the top byte of an int32
        triples = raw.reshape(-1, 3).astype(np.int32)
        words = (triples[:, 0] << 8) | (triples[:, 1] << 16) | (triples[:, 2] << 24)
        samples = (words >> 8).astype(np.float64) / 2.0**23
    else:
        samples = raw.view(f"<i{width}").astype(np.float64) / 2.0 ** (8 * width - 1)
    samples = samples.astype(np.float32).reshape(-1, channels)
    if length is not None and len(samples) < length:
        samples = np.concatenate([samples, np.zeros((length - len(samples), channels), "float32")])
    return samples


def audio_dataset_from_directory(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    batch_size=32,
    sampling_rate=None,
    output_sequence_length=None,
    ragged=False,
    shuffle=True,
    seed=None,
    validation_split=None,
    subset=None,
    follow_links=False,
    verbose=True,
):
    """A data set of the `.wav` files under `directory`, as Keras's
    `utils.audio_dataset_from_directory`: batches of `(audio, labels)`, the audio float32 of
    shape (batch, samples, channels), every clip zero-padded to the batch's longest (or cut
    and padded to `output_sequence_length`); `ragged=True` gives a 1-D object array of clips
    instead. `sampling_rate` is checked against each file's, not converted to (Keras needs
    tensorflow-io for that); labels as in `text_dataset_from_directory`."""
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if sampling_rate is not None and (
        isinstance(sampling_rate, bool) or not isinstance(sampling_rate, numbers.Integral)
    ):
        raise ValueError(
            f"`sampling_rate` should have an integer value. Received: sampling_rate={sampling_rate}"
        )
    if sampling_rate is not None and sampling_rate <= 0:
        raise ValueError(
            f"`sampling_rate` should be higher than 0. Received: sampling_rate={sampling_rate}"
        )
    if output_sequence_length is not None and (
        not isinstance(output_sequence_length, numbers.Integral) or output_sequence_length < 1
    ):
        raise ValueError(
            f"`output_sequence_length` must be a positive int, got {output_sequence_length!r}"
        )

    def read(paths):
        clips = [_decode_wav(p, sampling_rate, output_sequence_length) for p in paths]
        if ragged:
            out = np.empty(len(clips), dtype=object)
            out[:] = clips
            return out
        longest = max(len(c) for c in clips)
        channels = {c.shape[1] for c in clips}
        if len(channels) > 1:
            raise ValueError(
                f"The clips of a batch have different numbers of channels {sorted(channels)}: "
                f"{', '.join(paths)}"
            )
        batch = np.zeros((len(clips), longest, channels.pop()), dtype="float32")
        for row, clip in zip(batch, clips):
            row[: len(clip)] = clip
        return batch

    return _datasets(directory, (".wav",), read, labels, label_mode, class_names, batch_size,
                     shuffle, seed, validation_split, subset, follow_links, verbose)  # fmt: skip
