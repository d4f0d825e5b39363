"""Broken, foreign or mismatched files raise a ValueError naming the file and the problem
(and change nothing); writes are atomic: a crash mid-write leaves the old file intact."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import eigennet as keras
from eigennet.saving import saving_lib

# These tests craft and break the .npz form of the weights (test_saving_h5.py: the h5 form).
pytestmark = pytest.mark.filterwarnings("ignore:Saving .* NumPy .npz weights")


@pytest.fixture(autouse=True)
def _npz_weights(monkeypatch):
    monkeypatch.setattr(saving_lib, "h5py_available", lambda: False)


def _model(units=3):
    model = keras.Sequential(
        [keras.Input(shape=(4,)), keras.layers.Dense(units), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    return model


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(path)
    return path


def _members(path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write_zip(path, members: dict) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _weights(members) -> dict:
    with np.load(io.BytesIO(members["model.weights.npz"]), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _npz_bytes(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _expect_error(path, *fragments):
    with pytest.raises(ValueError) as info:
        keras.models.load_model(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file_and_wrong_suffix(tmp_path):
    _expect_error(tmp_path / "nothing.keras", "no such file")
    with pytest.raises(ValueError, match=r"expected a \.keras extension"):
        keras.models.load_model(tmp_path / "model.h5")


def test_random_bytes(tmp_path):
    path = tmp_path / "random.keras"
    path.write_bytes(np.random.default_rng(0).bytes(2000))
    _expect_error(path, "not a valid .keras archive")


@pytest.mark.parametrize("fraction", [0.3, 0.9])
def test_truncated_file(saved, fraction):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * fraction)])
    _expect_error(saved, "")


@pytest.mark.parametrize("missing", ["config.json", "metadata.json", "model.weights.npz"])
def test_missing_entries(saved, missing):
    members = _members(saved)
    del members[missing]
    _write_zip(saved, members)
    _expect_error(saved, missing)


@pytest.mark.parametrize(
    "config, fragment",
    [
        ("[1, 2]", "does not describe a model"),
        ('{"foo": 1}', "does not describe a model"),
        ("{not json", "not valid JSON"),
        (
            '{"class_name": "Dense", "module": "keras.layers", "config": {"units": 1}}',
            "Unknown model class 'Dense'",
        ),
        ('{"class_name": "Sequential", "config": {"layers": 3}}', "'layers' list"),
    ],
)
def test_config_of_the_wrong_structure(saved, config, fragment):
    members = _members(saved)
    members["config.json"] = config
    _write_zip(saved, members)
    _expect_error(saved, fragment)


def _edit_config(path, edit):
    members = _members(path)
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config)
    _write_zip(path, members)


def test_unknown_layer_class(saved):
    _edit_config(saved, lambda c: c["config"]["layers"][1].update(class_name="Conv9D"))
    _expect_error(saved, "Unknown layer class 'Conv9D'", "Dense")


def test_custom_module_is_never_imported(saved):
    _edit_config(saved, lambda c: c["config"]["layers"][1].update(module="os.path"))
    _expect_error(saved, "module 'os.path'", "custom_objects")


def test_bad_layer_arguments(saved):
    _edit_config(saved, lambda c: c["config"]["layers"][1]["config"].update(colour="red"))
    _expect_error(saved, "colour")


def test_unknown_optimizer(saved):
    _edit_config(saved, lambda c: c["compile_config"]["optimizer"].update(class_name="Muon"))
    _expect_error(saved, "Unknown optimizer class 'Muon'")


def test_newer_format_version(saved):
    members = _members(saved)
    members["metadata.json"] = json.dumps({"format_version": 99, "eigennet_version": "9.0"})
    _write_zip(saved, members)
    _expect_error(saved, "format version 99", "upgrade eigennet")


def test_metadata_of_another_program(saved):
    members = _members(saved)
    members["metadata.json"] = json.dumps({"producer": "something else"})
    _write_zip(saved, members)
    _expect_error(saved, "not a model saved by eigennet or Keras 3")


def _replace_weights(path, edit):
    members = _members(path)
    arrays = _weights(members)
    edit(arrays)
    members["model.weights.npz"] = _npz_bytes(arrays)
    _write_zip(path, members)


def test_missing_weight_key(saved):
    _replace_weights(saved, lambda a: a.pop("layers/dense_1/vars/1"))
    _expect_error(saved, "'layers/dense_1/vars/1' is missing")


def test_renamed_weight_key(saved):
    _replace_weights(
        saved, lambda a: a.update({"layers/dense_7/vars/0": a.pop("layers/dense/vars/0")})
    )
    _expect_error(saved, "layers/dense/vars/0")


def test_extra_weight_key(saved):
    _replace_weights(saved, lambda a: a.update({"layers/dense_2/vars/0": np.zeros((1, 1))}))
    _expect_error(saved, "no place for", "layers/dense_2/vars/0")


def test_wrong_weight_shape(saved):
    _replace_weights(saved, lambda a: a.update({"layers/dense/vars/0": np.zeros((4, 5))}))
    _expect_error(saved, "'layers/dense/vars/0' has shape (4, 5)", "expects (4, 3)")


def test_non_numeric_weights(saved):
    _replace_weights(saved, lambda a: a.update({"layers/dense/vars/1": np.array(["a", "b", "c"])}))
    _expect_error(saved, "layers/dense/vars/1", "numeric")


def test_wrong_optimizer_state(saved):
    _replace_weights(saved, lambda a: a.pop("optimizer/vars/9"))
    _expect_error(saved, "optimizer variables")


def test_pickled_weights_are_refused(saved):
    members = _members(saved)
    buffer = io.BytesIO()
    np.savez(buffer, **{"__root__": np.array({"a": 1}, dtype=object)})  # Keras's npz layout
    members["model.weights.npz"] = buffer.getvalue()
    _write_zip(saved, members)
    _expect_error(saved, "pickled")


def test_object_arrays_are_refused(saved):
    _replace_weights(saved, lambda a: a.update({"layers/dense/vars/1": np.array([{}, 1, 2])}))
    _expect_error(saved, "layers/dense/vars/1", "object")


def test_corrupt_weights_member(saved):
    members = _members(saved)
    members["model.weights.npz"] = b"PK\x03\x04 garbage"
    _write_zip(saved, members)
    _expect_error(saved, "not a readable .npz")


def test_load_weights_is_all_or_nothing(tmp_path):
    source = _model(units=5)
    source.save_weights(tmp_path / "w.weights.npz")
    target = _model(units=3)
    before = target.get_weights()
    before_state = [np.array(v) for v in target.optimizer.variables]
    with pytest.raises(ValueError, match="w.weights.npz.*shape"):
        target.load_weights(tmp_path / "w.weights.npz")
    for u, v in zip(before, target.get_weights()):
        np.testing.assert_array_equal(u, v)
    for u, v in zip(before_state, target.optimizer.variables):
        np.testing.assert_array_equal(u, v)


def test_optimizer_of_another_kind_is_refused(tmp_path):
    source = _model()
    source.save_weights(tmp_path / "w.weights.npz")
    target = _model()
    target.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
    before = target.get_weights()
    with pytest.raises(ValueError, match="optimizer variables"):
        target.load_weights(tmp_path / "w.weights.npz")
    np.testing.assert_array_equal(before[0], target.get_weights()[0])


def test_load_weights_suffixes(tmp_path):
    model = _model()
    with pytest.raises(ValueError, match="File format not supported"):
        model.load_weights(tmp_path / "w.pt")
    with pytest.raises(ValueError, match="no such file"):
        model.load_weights(tmp_path / "absent.weights.npz")
    (tmp_path / "junk.weights.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.weights.npz"):
        model.load_weights(tmp_path / "junk.weights.npz")


# -- atomic writes --------------------------------------------------------------------------
def _crash(*args, **kwargs):
    raise OSError("disk full (simulated)")


def _half_write_then_crash(file, **arrays):
    file.write(b"partial data " * 100)
    raise OSError("killed (simulated)")


@pytest.mark.parametrize("failure", [_crash, _half_write_then_crash])
def test_crash_while_saving_keeps_the_old_file(saved, monkeypatch, failure):
    before = saved.read_bytes()
    monkeypatch.setattr(np, "savez", failure)
    with pytest.raises(OSError, match="simulated"):
        _model(units=2).save(saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]  # no temporary file left behind
    monkeypatch.undo()
    keras.models.load_model(saved)


def test_crash_while_writing_the_zip_keeps_the_old_file(saved, monkeypatch):
    before = saved.read_bytes()
    monkeypatch.setattr(zipfile.ZipFile, "writestr", _crash)
    with pytest.raises(OSError, match="simulated"):
        _model().save(saved)
    assert saved.read_bytes() == before and os.listdir(saved.parent) == [saved.name]


@pytest.mark.parametrize("failure", [_crash, _half_write_then_crash])
def test_crash_while_saving_weights_keeps_the_old_file(tmp_path, monkeypatch, failure):
    path = tmp_path / "w.weights.npz"
    model = _model()
    model.save_weights(path)
    before = path.read_bytes()
    monkeypatch.setattr(np, "savez", failure)
    with pytest.raises(OSError, match="simulated"):
        model.save_weights(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]


def test_new_file_is_not_created_by_a_failed_save(tmp_path, monkeypatch):
    monkeypatch.setattr(np, "savez", _crash)
    with pytest.raises(OSError):
        _model().save(tmp_path / "new.keras")
    assert os.listdir(tmp_path) == []


def test_save_fsyncs_before_renaming(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1]
    )
    _model().save(tmp_path / "m.keras")
    assert events[:2] == ["fsync", "replace"]


def test_flipped_bytes_inside_the_archive(saved):
    data = bytearray(saved.read_bytes())
    middle = len(data) // 2  # inside the weights, before the zip directory
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    saved.write_bytes(bytes(data))
    _expect_error(saved, "")


def test_non_finite_weights_load_with_a_warning(saved):
    # As Keras: the file of a diverged run stays loadable (see test_hostile_files.py).
    _replace_weights(saved, lambda a: a["layers/dense/vars/0"].__setitem__((0, 0), np.nan))
    with pytest.warns(UserWarning, match="layers/dense/vars/0 hold NaN or inf"):
        model = keras.models.load_model(saved)
    assert np.isnan(model.layers[0].get_weights()[0][0, 0])


def test_a_folder_is_not_a_file(tmp_path):
    (tmp_path / "dir.keras").mkdir()
    (tmp_path / "dir.weights.npz").mkdir()
    _expect_error(tmp_path / "dir.keras", "folder")
    with pytest.raises(ValueError, match="dir.weights.npz"):
        _model().load_weights(tmp_path / "dir.weights.npz")
