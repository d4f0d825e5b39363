"""`utils.audio_dataset_from_directory`: WAV files decoded as TensorFlow's `decode_wav` decodes
them (PCM scaled to [-1, 1), channels last), batches padded to their longest clip or cut and
padded to `output_sequence_length`, ragged batches, the sampling rate check, labels and splits
as the other directory data sets, training on clips, and unreadable files."""

from __future__ import annotations

import wave

import numpy as np
import pytest

import eigennet as keras

RATE = 8000


def _write(path, samples: np.ndarray, width: int = 2, rate: int = RATE) -> None:
    """Writes integer PCM samples (length, channels) as a WAV file."""
    with wave.open(str(path), "wb") as f:
        f.setnchannels(samples.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        if width == 3:
            data = samples.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
        else:
            data = samples.astype({1: np.uint8, 2: "<i2", 4: "<i4"}[width]).tobytes()
        f.writeframes(data)


def _tree(root, lengths=((400, 250, 310), (120, 500, 90)), channels=1):
    rng = np.random.default_rng(0)
    clips = {}
    for cls, sizes in zip(("hum", "tone"), lengths):
        (root / cls).mkdir(parents=True)
        for i, n in enumerate(sizes):
            samples = rng.integers(-32768, 32768, (n, channels))
            if cls == "tone":
                samples = (
                    (np.sin(np.arange(n) * 0.9)[:, None] * 30000).astype(int).repeat(channels, 1)
                )
            path = root / cls / f"{i}.wav"
            _write(path, samples)
            clips[str(path)] = samples / 32768.0
    return clips


def test_clips_are_decoded_and_padded_per_batch(tmp_path, capsys):
    clips = _tree(tmp_path)
    ds = keras.utils.audio_dataset_from_directory(tmp_path, batch_size=4, shuffle=False)
    assert "Found 6 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["hum", "tone"] and len(ds) == 2
    x, y = ds[0]
    assert x.dtype == np.float32 and x.shape == (4, 400, 1)  # the longest of the batch
    np.testing.assert_array_equal(y, [0, 0, 0, 1])
    for path, clip in zip(ds.file_paths[:4], x):
        expected = clips[path]
        np.testing.assert_allclose(clip[: len(expected)], expected, atol=0)
        assert not clip[len(expected) :].any()  # zeros after the clip
    assert ds[1][0].shape == (2, 500, 1)


@pytest.mark.parametrize("length", [100, 600])
def test_output_sequence_length_cuts_and_pads(tmp_path, length):
    clips = _tree(tmp_path, channels=2)
    ds = keras.utils.audio_dataset_from_directory(
        tmp_path, batch_size=None, output_sequence_length=length, shuffle=False, verbose=False
    )
    for i, path in enumerate(ds.file_paths):
        clip, _ = ds[i]
        assert clip.shape == (length, 2)
        kept = clips[path][:length]
        np.testing.assert_allclose(clip[: len(kept)], kept, atol=0)


def test_ragged_batches_keep_each_length(tmp_path):
    clips = _tree(tmp_path)
    ds = keras.utils.audio_dataset_from_directory(
        tmp_path, batch_size=3, ragged=True, shuffle=False, verbose=False
    )
    x, _ = ds[0]
    assert x.dtype == object and [c.shape for c in x] == [(400, 1), (250, 1), (310, 1)]
    np.testing.assert_allclose(x[1], clips[ds.file_paths[1]])


@pytest.mark.parametrize("width, scale", [(1, 128.0), (3, 2.0**23), (4, 2.0**31)])
def test_other_sample_widths(tmp_path, width, scale):
    (tmp_path / "a").mkdir()
    rng = np.random.default_rng(1)
    if width == 1:
        samples = rng.integers(0, 256, (50, 1))
        expected = (samples - 128) / scale
    else:
        samples = rng.integers(-(2 ** (8 * width - 1)), 2 ** (8 * width - 1), (50, 1))
        expected = samples / scale
    _write(tmp_path / "a" / "clip.wav", samples, width=width)
    ds = keras.utils.audio_dataset_from_directory(tmp_path, batch_size=None, verbose=False)
    np.testing.assert_allclose(ds[0][0], expected.astype(np.float32), rtol=1e-7)


def test_sampling_rate_is_checked_not_converted(tmp_path):
    _tree(tmp_path)
    ds = keras.utils.audio_dataset_from_directory(tmp_path, sampling_rate=RATE, verbose=False)
    assert ds[0][0].shape[0] == 6
    other = keras.utils.audio_dataset_from_directory(tmp_path, sampling_rate=16000, verbose=False)
    with pytest.raises(ValueError, match="8000 samples a second, not the 16000"):
        other[0]
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match="`sampling_rate`"):
            keras.utils.audio_dataset_from_directory(tmp_path, sampling_rate=bad)
    with pytest.raises(ValueError, match="Cannot set both `ragged` and"):
        keras.utils.audio_dataset_from_directory(tmp_path, ragged=True, output_sequence_length=9)


def test_splits_and_training(tmp_path):
    _tree(tmp_path, lengths=((300,) * 20, (300,) * 20))
    train, val = keras.utils.audio_dataset_from_directory(
        tmp_path, batch_size=8, validation_split=0.25, subset="both", seed=4, verbose=False
    )
    assert len(train.file_paths) == 30 and len(val.file_paths) == 10
    model = keras.Sequential([
        keras.Input((300, 1)), keras.layers.Conv1D(4, 9, strides=4, activation="relu"),
        keras.layers.GlobalMaxPooling1D(), keras.layers.Dense(2, activation="softmax"),
    ])  # fmt: skip
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    history = model.fit(train, validation_data=val, epochs=15, verbose=0)
    assert history.history["val_accuracy"][-1] >= 0.9


def test_unreadable_files(tmp_path):
    _tree(tmp_path)
    (tmp_path / "hum" / "zz_broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    ds = keras.utils.audio_dataset_from_directory(
        tmp_path, batch_size=None, shuffle=False, verbose=False
    )
    with pytest.raises(ValueError, match="zz_broken.wav: not a readable WAV file"):
        ds[3]
