"""Files crafted to break the loader (issue 12): non-finite weights, out-of-range optimizer
and random state, zip bombs, HDF5 files pointing outside themselves or declaring huge
datasets, backups with absurd epochs, devices and FIFOs in place of files, deeply nested
JSON. Each gives the documented LoadError (a ValueError) and changes nothing, or loads by
the documented rule; cases that could exhaust memory or hang run in a subprocess."""

import io
import json
import os
import struct
import warnings
import zipfile

import numpy as np
import pytest

import eigennet as keras
from eigennet.saving import LoadError
from eigennet.saving.state import model_state
from subprocess_harness import assert_raises, run_python


def _model(seed: int = 0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(3),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def _data():
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    return x, x[:, :1] - x[:, 1:2]


def _trained(seed: int = 0):
    model = _model(seed)
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    return model


def _snapshot(model) -> tuple:
    return (
        [w.copy() for w in model.get_weights()],
        model.optimizer.iterations,
        model.layers[1]._extra_state()["rng_state"].copy(),
    )


def _same(a: tuple, b: tuple) -> bool:
    return (
        all(np.array_equal(u, v, equal_nan=True) for u, v in zip(a[0], b[0]))
        and a[1] == b[1]
        and np.array_equal(a[2], b[2])
    )


def _npz_bytes(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _weights_file(path, state: dict) -> None:
    path.write_bytes(_npz_bytes(state))


# -- item 5: NaN and inf --------------------------------------------------------------------
def _diverging_lr(from_epoch: int):
    """A learning rate that sends the weights to inf/NaN from `from_epoch` on."""
    return keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 if epoch < from_epoch else 1e30)


class _Record(keras.callbacks.Callback):
    """Each epoch's weights, and whether they were finite."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def _finite(weights) -> bool:
    return all(np.isfinite(w).all() for w in weights)


def test_non_finite_state_saves_and_loads_with_a_warning(tmp_path):
    model = _model()
    x, y = _data()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[_diverging_lr(0)])
    assert not _finite(model.get_weights())
    model.save(tmp_path / "m.keras")  # explicit saves write what they are given
    model.save_weights(tmp_path / "m.weights.npz")
    with pytest.warns(UserWarning, match="hold NaN or inf"):
        loaded = keras.models.load_model(tmp_path / "m.keras")
    assert _same(_snapshot(loaded), _snapshot(model))
    fresh = _model(1)
    with pytest.warns(UserWarning, match="layers/dense/vars/0"):
        fresh.load_weights(tmp_path / "m.weights.npz")
    assert _same(_snapshot(fresh), _snapshot(model))


@pytest.mark.parametrize("weights_only", [False, True])
def test_model_checkpoint_keeps_the_last_finite_file(tmp_path, weights_only):
    path = tmp_path / ("ckpt.weights.npz" if weights_only else "ckpt.keras")
    record = _Record()
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_weights_only=weights_only)
    model = _model()
    x, y = _data()
    with pytest.warns(UserWarning, match="ModelCheckpoint: the model's state holds NaN"):
        model.fit(
            x,
            y,
            epochs=4,
            batch_size=8,
            verbose=0,
            callbacks=[_diverging_lr(2), record, checkpoint],
        )
    assert _finite(record.weights[1]) and not _finite(record.weights[2])
    restored = _model(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the file is finite: no warning
        restored.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(restored.get_weights(), record.weights[1]))


def test_backup_is_never_replaced_by_a_non_finite_state(tmp_path):
    backup = tmp_path / "backup"
    callback = keras.callbacks.BackupAndRestore(
        backup, double_checkpoint=True, delete_checkpoint=False
    )
    record = _Record()
    model = _model()
    x, y = _data()
    with pytest.warns(UserWarning, match="BackupAndRestore: the model's state holds NaN"):
        model.fit(
            x, y, epochs=4, batch_size=8, verbose=0, callbacks=[_diverging_lr(2), record, callback]
        )
    assert _finite(record.weights[1]) and not _finite(record.weights[2])
    # Epochs 0 and 1 were backed up; the diverged epochs 2 and 3 replaced neither file.
    with np.load(backup / "latest.weights.npz") as latest:
        assert int(latest["training_metadata/epoch"]) == 2
    with np.load(backup / "latest.weights.npz.bkp") as previous:
        assert int(previous["training_metadata/epoch"]) == 1
    # A later fit resumes from the last finite backup, without a warning.
    resumed, start = _model(1), _StartWeights()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = resumed.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[callback, start])
    assert history.epoch == [2]
    assert all(np.array_equal(a, b) for a, b in zip(start.weights, record.weights[1]))


class _StartWeights(keras.callbacks.Callback):
    """The weights a fit starts from (after BackupAndRestore restored its backup)."""

    def on_train_begin(self, logs=None):
        self.weights = self.model.get_weights()


def test_a_non_finite_backup_does_not_block_later_fits(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    model = _trained()
    state = model_state(model)
    state["layers/dense/vars/0"][0, 0] = np.nan
    state["training_metadata/epoch"] = np.array(1, dtype=np.int64)
    _weights_file(backup / "latest.weights.npz", state)
    x, y = _data()
    callback = keras.callbacks.BackupAndRestore(backup)
    with pytest.warns(UserWarning) as caught:  # loaded with a warning, then not backed up
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    assert any("hold NaN or inf; loaded as they are" in str(w.message) for w in caught)
    assert history.epoch == [1]
    assert not backup.exists()  # the fit completed
    history = _model(1).fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    assert history.epoch == [0, 1]


# -- item 6: optimizer and random state out of range ----------------------------------------
@pytest.fixture
def saved_state():
    return model_state(_trained())


def _expect_unchanged_refusal(tmp_path, state: dict, *fragments) -> None:
    path = tmp_path / "crafted.weights.npz"
    _weights_file(path, state)
    model = _trained(1)
    before = _snapshot(model)
    with pytest.raises(LoadError) as info:
        model.load_weights(path)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert _same(_snapshot(model), before)  # all or nothing


@pytest.mark.parametrize(
    "value",
    [
        np.array(-1),
        np.array(-5),
        np.array(2**63 - 1),
        np.array(2**64 - 1, dtype=np.uint64),
        np.array(2**53 + 1),
        np.array(np.inf),
        np.array(-np.inf),
        np.array(np.nan),
        np.array(1e30),
        np.array(2.5),
    ],
    ids=repr,
)
def test_crafted_iteration_counts_are_refused_before_any_write(tmp_path, saved_state, value):
    saved_state["optimizer/vars/0"] = value
    _expect_unchanged_refusal(tmp_path, saved_state, "optimizer/vars/0 (iterations)")


@pytest.mark.parametrize(
    "value, fragment",
    [
        (np.array([-1, 3]), "negative"),
        (np.array([3, -(2**63)]), "negative"),
        (np.array([np.inf, 3.0]), "integer"),
        (np.array([1e30, 0.0]), "integer"),
        (np.array([1, 2, 3], dtype=np.uint64), "shape"),
        (np.array(["a", "b"]), "integer"),
    ],
)
def test_crafted_random_states_are_refused_before_any_write(tmp_path, saved_state, value, fragment):
    saved_state["layers/dropout/rng_state"] = value
    _expect_unchanged_refusal(tmp_path, saved_state, "rng_state", fragment)


@pytest.mark.parametrize("value", [np.array(1e300), np.array(-1.0), np.array(np.nan)])
def test_learning_rates_out_of_range_are_refused(tmp_path, saved_state, value):
    saved_state["optimizer/vars/1"] = value
    _expect_unchanged_refusal(tmp_path, saved_state, "learning rate")


def test_extreme_valid_values_load(tmp_path, saved_state):
    saved_state["optimizer/vars/0"] = np.array(2**53, dtype=np.int64)
    saved_state["layers/dropout/rng_state"] = np.array([2**64 - 1] * 2, dtype=np.uint64)
    path = tmp_path / "edge.weights.npz"
    _weights_file(path, saved_state)
    model = _trained(1)
    model.load_weights(path)
    assert model.optimizer.iterations == 2**53
    assert model.layers[1]._extra_state()["rng_state"].tolist() == [2**64 - 1] * 2


# -- item 9: zip bombs ----------------------------------------------------------------------
MEMORY_PRELUDE = """
import resource
import numpy as np
import eigennet as keras

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3),
                          keras.layers.Dropout(0.5), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.predict(np.zeros((1, 4), "float32"), verbose=0)
start = peak_mb()
"""


def _assert_bounded(call: str, fragments, limit_mb: float = 100) -> None:
    """`call` raises LoadError with `fragments`, growing the peak memory by < limit_mb."""
    out, detail = run_python(
        MEMORY_PRELUDE
        + f"""
try:
    {call}
except Exception as e:
    print("RAISED", type(e).__name__, str(e).replace("\\n", " "))
print("GROWTH", peak_mb() - start)
""",
        timeout=120,
    )
    assert "RAISED LoadError" in out, detail
    for fragment in fragments:
        assert fragment in out, detail
    growth = float(out.split("GROWTH")[1].split()[0])
    assert growth < limit_mb, f"peak memory grew by {growth:.0f} MB\n{detail}"


def _bomb(path, member: str, size: int = 300 << 20, base=None) -> None:
    """A .keras file whose `member` inflates to `size` bytes of zeros (about size/1000 on
    disk); the other members come from `base`, a valid saved model."""
    with zipfile.ZipFile(base) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in members.items():
            if name != member:
                zf.writestr(name, data)
        with zf.open(member, "w", force_zip64=True) as out:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                out.write(chunk)


@pytest.fixture
def saved_model(tmp_path):
    path = tmp_path / "good.keras"
    _trained().save(path)
    return path


def _saved_with(tmp_path, monkeypatch, member: str):
    """A saved model whose weights are `member`: model.weights.npz (as without h5py) or
    model.weights.h5; the JSON members are the same in both."""
    if member == "model.weights.h5":
        pytest.importorskip("h5py")
    else:
        from eigennet.saving import saving_lib

        monkeypatch.setattr(saving_lib, "h5py_available", lambda: False)
    path = tmp_path / "good.keras"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the .npz form warns that Keras cannot read it
        _trained().save(path)
    assert member in zipfile.ZipFile(path).namelist() or member.endswith(".json")
    return path


@pytest.mark.parametrize(
    "member, loader",
    [
        ("config.json", "load_model"),
        ("metadata.json", "load_model"),
        ("model.weights.npz", "load_model"),
        ("model.weights.npz", "load_weights"),  # reads only the weights member
        ("model.weights.h5", "load_model"),
        ("model.weights.h5", "load_weights"),
    ],
)
def test_zip_bombs_are_refused_within_bounded_memory(tmp_path, monkeypatch, member, loader):
    path = tmp_path / "bomb.keras"
    _bomb(path, member, base=_saved_with(tmp_path, monkeypatch, member))
    assert path.stat().st_size < 2 << 20
    call = (
        f"keras.models.load_model({str(path)!r})"
        if loader == "load_model"
        else f"model.load_weights({str(path)!r})"
    )
    _assert_bounded(call, (member, "more than"))


def _patch_declared_size(path, member: str, size: int) -> None:
    """Rewrites the uncompressed size that the zip headers declare for `member` (32-bit
    fields; the member must not use zip64 extra fields)."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[start + offset : start + offset + 4] = struct.pack("<I", size)
            start += 4
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("member", ["config.json", "model.weights.npz", "model.weights.h5"])
def test_zip_sizes_that_lie_are_not_trusted(tmp_path, monkeypatch, member):
    path = tmp_path / "liar.keras"
    with zipfile.ZipFile(_saved_with(tmp_path, monkeypatch, member)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data if name != member else bytes(200 << 20))
    _patch_declared_size(path, member, 1000)
    _assert_bounded(f"keras.models.load_model({str(path)!r})", (member,))


# -- item 10: HDF5 ---------------------------------------------------------------------------
def _h5_state(path, state: dict, edit=None) -> None:
    """Keras's .weights.h5 layout (the same keys as eigennet's npz) from `state`; `edit(f)`
    then changes the h5py.File."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        for key, value in state.items():
            f.create_dataset(key, data=value)
        if edit is not None:
            edit(f)


def _replace(f, key: str, **kwargs) -> None:
    del f[key]
    f.create_dataset(key, **kwargs)


def test_h5_weights_in_keras_layout_load(tmp_path, saved_state):
    path = tmp_path / "w.weights.h5"
    _h5_state(path, saved_state)
    model = _trained(1)
    model.load_weights(path)
    assert np.array_equal(model.get_weights()[0], saved_state["layers/dense/vars/0"])


def test_h5_standard_filters_load(tmp_path, saved_state):
    kernel = saved_state["layers/dense/vars/0"]
    path = tmp_path / "w.weights.h5"
    _h5_state(
        path,
        saved_state,
        lambda f: _replace(
            f,
            "layers/dense/vars/0",
            data=kernel,
            chunks=kernel.shape,
            compression="gzip",
            shuffle=True,
            fletcher32=True,
        ),
    )
    model = _trained(1)
    model.load_weights(path)
    assert np.array_equal(model.get_weights()[0], kernel)


def _h5_external(f):
    _replace(
        f, "layers/dense/vars/1", shape=(3,), dtype="float32", external=[("/etc/passwd", 0, 12)]
    )


def _h5_virtual(f):
    h5py = pytest.importorskip("h5py")
    layout = h5py.VirtualLayout(shape=(3,), dtype="float32")
    layout[:] = h5py.VirtualSource("other.h5", "data", shape=(3,))
    del f["layers/dense/vars/1"]
    f.create_virtual_dataset("layers/dense/vars/1", layout, fillvalue=0)


def _h5_external_link(f):
    h5py = pytest.importorskip("h5py")
    del f["layers/dense/vars/1"]
    f["layers/dense/vars/1"] = h5py.ExternalLink("/etc/passwd", "/data")


def _h5_soft_link(f):
    h5py = pytest.importorskip("h5py")
    f["layers/dense/extra"] = h5py.SoftLink("/layers/dense/vars/0")


def _h5_scaleoffset(f):
    _replace(f, "layers/dense/vars/1", data=np.zeros(3, "float32"), scaleoffset=2)


@pytest.mark.parametrize(
    "edit, fragments",
    [
        (_h5_external, ("external files",)),
        (_h5_virtual, ("virtual",)),
        (_h5_external_link, ("ExternalLink",)),
        (_h5_soft_link, ("SoftLink",)),
        (_h5_scaleoffset, ("filter",)),
    ],
    ids=["external", "virtual", "external_link", "soft_link", "scaleoffset"],
)
@pytest.mark.parametrize("container", ["weights.h5", "keras"])
def test_h5_files_that_point_elsewhere_are_refused(
    tmp_path, saved_state, saved_model, edit, fragments, container
):
    h5 = tmp_path / "w.weights.h5"
    _h5_state(h5, saved_state, edit)
    path = h5
    if container == "keras":  # a Keras 3 .keras file holds model.weights.h5
        path = tmp_path / "k.keras"
        with zipfile.ZipFile(saved_model) as zf, zipfile.ZipFile(path, "w") as out:
            for name in ("config.json", "metadata.json"):
                out.writestr(name, zf.read(name))
            out.writestr("model.weights.h5", h5.read_bytes())
    model = _trained(1)
    before = _snapshot(model)
    with pytest.raises(LoadError) as info:
        model.load_weights(path)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert "root:" not in str(info.value)  # no bytes of /etc/passwd
    assert _same(_snapshot(model), before)


def test_h5_huge_declared_dataset_is_not_read(tmp_path, saved_state):
    """A few KB declaring a 16384 x 16384 dataset (1 GiB once read): refused from its
    shape, in a subprocess measuring peak memory."""
    path = tmp_path / "huge.weights.h5"
    _h5_state(
        path,
        saved_state,
        lambda f: _replace(
            f,
            "layers/dense/vars/0",
            shape=(16384, 16384),
            dtype="float32",
            chunks=(1024, 1024),
            compression="gzip",
            fillvalue=1.0,
        ),
    )
    assert path.stat().st_size < 64 << 10
    _assert_bounded(f"model.load_weights({str(path)!r})", ("shape", "(16384, 16384)"))


# -- item 12: BackupAndRestore's epoch ------------------------------------------------------
@pytest.mark.parametrize(
    "epoch, error, fragment",
    [
        (np.array(10**18), ValueError, "fit with epochs >= 1000000000000000000"),
        (np.array(2**64 - 1, dtype=np.uint64), ValueError, "fit with epochs >="),
        (np.array(4), ValueError, "fit with epochs >= 4"),
        (np.array(-5), LoadError, "negative"),
        (np.array(2.0), LoadError, "integer"),
        (np.array([1, 2]), LoadError, "shape"),
    ],
)
def test_backups_with_an_epoch_out_of_range_are_refused(tmp_path, epoch, error, fragment):
    backup = tmp_path / "backup"
    backup.mkdir()
    state = model_state(_trained())
    state["training_metadata/epoch"] = epoch
    _weights_file(backup / "latest.weights.npz", state)
    model = _trained(1)
    before = _snapshot(model)
    x, y = _data()
    with pytest.raises(error, match=fragment):
        model.fit(
            x,
            y,
            epochs=3,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup, double_checkpoint=True)],
        )
    assert _same(_snapshot(model), before)
    assert (backup / "latest.weights.npz").exists()  # kept: a longer fit may resume it


def test_backup_taken_after_the_last_epoch_trains_nothing(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    state = model_state(_trained())
    state["training_metadata/epoch"] = np.array(3, dtype=np.int64)
    _weights_file(backup / "latest.weights.npz", state)
    x, y = _data()
    history = _model(1).fit(
        x, y, epochs=3, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(backup)]
    )
    assert history.epoch == []  # the fit had completed; the backup was not yet deleted
    assert not backup.exists()


# -- item 16: devices, FIFOs, folders -------------------------------------------------------
def _special(tmp_path, kind: str, suffix: str):
    path = tmp_path / f"special{suffix}"
    if kind == "dev_zero":
        os.symlink("/dev/zero", path)
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        os.symlink(tmp_path / "missing", path)
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
@pytest.mark.parametrize("kind", ["dev_zero", "fifo"])
@pytest.mark.parametrize("suffix", [".keras", ".weights.npz", ".weights.h5"])
def test_devices_and_fifos_are_refused(tmp_path, kind, suffix):
    path = _special(tmp_path, kind, suffix)
    call = (
        f"keras.models.load_model({str(path)!r})"
        if suffix == ".keras"
        else f"model.load_weights({str(path)!r})"
    )
    assert_raises(
        call,
        ("LoadError",),
        ("not a regular file",),
        prelude=MEMORY_PRELUDE,
        timeout=60,
    )
    if suffix == ".keras":  # load_weights of a .keras file takes the same path
        assert_raises(
            f"model.load_weights({str(path)!r})",
            ("LoadError",),
            ("not a regular file",),
            prelude=MEMORY_PRELUDE,
        )


def test_dangling_symlink_is_no_such_file(tmp_path):
    path = _special(tmp_path, "dangling", ".keras")
    with pytest.raises(LoadError, match="no such file"):
        keras.models.load_model(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_backup_that_is_a_device_is_refused(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    os.symlink("/dev/zero", backup / "latest.weights.npz")
    assert_raises(
        f"""
x = np.zeros((8, 4), "float32")
model.fit(x, x[:, :1], epochs=1, verbose=0,
          callbacks=[keras.callbacks.BackupAndRestore({str(backup)!r})])
""",
        ("LoadError",),
        ("not a regular file",),
        prelude=MEMORY_PRELUDE,
    )


def test_fallback_replaces_a_symlinked_backup_instead_of_writing_through_it(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    state = model_state(_trained())
    state["training_metadata/epoch"] = np.array(1, dtype=np.int64)
    _weights_file(backup / "latest.weights.npz.bkp", state)
    victim = tmp_path / "victim.txt"
    victim.write_text("not a backup")
    os.symlink(victim, backup / "latest.weights.npz")
    x, y = _data()
    callback = keras.callbacks.BackupAndRestore(
        backup, double_checkpoint=True, delete_checkpoint=False
    )
    history = _model(1).fit(x, y, epochs=2, verbose=0, callbacks=[callback])
    assert history.epoch == [1]  # resumed from the previous backup
    assert victim.read_text() == "not a backup"
    assert not os.path.islink(backup / "latest.weights.npz")


# -- deeply nested JSON, and other crafted configs ------------------------------------------
def _with_member(base, path, member: str, text: str) -> None:
    with zipfile.ZipFile(base) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members[member] = text.encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


DEEP_LIST = "[" * 100000 + "]" * 100000
DEEP_DICT = '{"a": ' * 100000 + "1" + "}" * 100000


@pytest.mark.parametrize("text", [DEEP_LIST, DEEP_DICT], ids=["lists", "dicts"])
@pytest.mark.parametrize("member", ["config.json", "metadata.json"])
def test_deeply_nested_json_is_a_load_error(tmp_path, saved_model, text, member):
    path = tmp_path / "deep.keras"
    _with_member(saved_model, path, member, text)
    assert_raises(
        f"keras.models.load_model({str(path)!r})",
        ("LoadError",),
        (member, "nested"),
        prelude="import eigennet as keras",
    )


def test_deeply_nested_json_string_is_a_value_error():
    assert_raises(
        f"keras.models.model_from_json({DEEP_LIST[:20000] + DEEP_LIST[-20000:]!r})",
        ("ValueError",),
        ("nested",),
        prelude="import eigennet as keras",
    )


def test_a_config_nested_just_beyond_the_limit(tmp_path, saved_model):
    """200 levels: below json's recursion limit, above the documented depth."""
    config = json.dumps({"class_name": "Sequential", "config": {"layers": [[[]]]}})
    deep = config.replace("[[[]]]", "[" * 200 + "]" * 200)
    path = tmp_path / "deep.keras"
    _with_member(saved_model, path, "config.json", deep)
    with pytest.raises(LoadError, match="nested more than 100 levels"):
        keras.models.load_model(path)


def test_nested_models_within_the_depth_limit_load(tmp_path):
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(2)])
    for _ in range(12):
        model = keras.Sequential([keras.Input(shape=(2,)), model])
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.1, 5, 0.5)),
        loss="mse",
    )
    model.save(tmp_path / "nested.keras")
    loaded = keras.models.load_model(tmp_path / "nested.keras")
    assert np.array_equal(loaded.get_weights()[0], model.get_weights()[0])


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda c: c["compile_config"]["optimizer"]["config"].update(learning_rate="x"), ""),
        (lambda c: c["config"]["layers"][1]["config"].update(units=[1, 2]), "units"),
        (lambda c: c.update(class_name=["Sequential"]), ""),
        (lambda c: c["config"].update(layers={"a": 1}), ""),
        (
            lambda c: c["compile_config"].update(
                optimizer={
                    "class_name": "Adam",
                    "config": {
                        "learning_rate": {
                            "class_name": "ExponentialDecay",
                            "config": {
                                "initial_learning_rate": "x",
                                "decay_steps": 1,
                                "decay_rate": 0.5,
                            },
                        }
                    },
                }
            ),
            "",
        ),
    ],
    ids=["lr_string", "units_list", "class_name_list", "layers_dict", "schedule_string"],
)
def test_configs_of_the_wrong_types_are_load_errors(tmp_path, saved_model, edit, fragment):
    with zipfile.ZipFile(saved_model) as zf:
        config = json.loads(zf.read("config.json"))
    edit(config)
    path = tmp_path / "typed.keras"
    _with_member(saved_model, path, "config.json", json.dumps(config))
    with pytest.raises(LoadError, match=fragment or None):
        keras.models.load_model(path)


@pytest.mark.parametrize(
    "text",
    ["1" * 5000, '"\\ud800"', "NaN", '{"format_version": 1e999}'],
    ids=["long_integer", "lone_surrogate", "nan", "huge_float"],
)
def test_odd_json_values_in_metadata_are_load_errors(tmp_path, saved_model, text):
    path = tmp_path / "odd.keras"
    _with_member(saved_model, path, "metadata.json", text)
    with pytest.raises(LoadError):
        keras.models.load_model(path)


def test_set_weights_with_nan_warns_as_loading_does():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    weights = model.get_weights()
    weights[0][0, 0] = np.nan
    with pytest.warns(UserWarning, match="NaN or inf"):
        model.set_weights(weights)
    assert np.isnan(model.get_weights()[0][0, 0])
