""".keras files with Keras 3's model.weights.h5: eigennet saves, Keras 3 loads and predicts
the same (and the reverse); the .npz form when h5py is missing; corrupt h5 weights.

The Keras cases are skipped when keras or torch is not installed, the h5 ones without h5py.
"""

import builtins
import io
import os
import sys
import warnings
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

import eigennet  # noqa: E402
from eigennet.saving import LoadError  # noqa: E402
from eigennet.saving.state import model_state  # noqa: E402


def _keras():
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


def _h5py():
    return pytest.importorskip("h5py")


# -- the layer families, built the same way with eigennet or Keras ---------------------------
def _custom_classes(lib):
    class Scale(lib.layers.Layer):
        """add_weight: a trainable and a non-trainable weight."""

        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1],), initializer="random_normal")
            self.b = self.add_weight(shape=(1,), initializer="ones", trainable=False)

        def call(self, x):
            return x * self.w + self.b

    class Block(lib.layers.Layer):
        """Sublayers in attributes and in a list (Keras saves them under those names), and
        its own weight, made after the sublayers (Keras's optimizer order puts it first)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.proj = lib.layers.Dense(3)
            self.norms = [lib.layers.LayerNormalization(), lib.layers.LayerNormalization()]
            self.alpha = lib.layers.Dense(3, use_bias=False)

        def build(self, shape):
            self.proj.build(shape)
            self.alpha.build(shape)
            for norm in self.norms:
                norm.build(tuple(shape[:-1]) + (3,))
            self.g = self.add_weight(shape=(3,), initializer="ones")

        def call(self, x):
            return self.norms[1](self.norms[0](self.proj(x)) * self.g + self.alpha(x))

    class Net(lib.Model):
        """A subclassed model: Keras saves its layers under its attributes too (and, for
        those in no attribute before `layers`, under `layers`)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = lib.layers.Dense(5, activation="relu")
            self.blocks = [lib.layers.Dense(4), Block()]
            self.out = lib.layers.Dense(2)

        def call(self, x):
            return self.out(self.blocks[1](self.blocks[0](self.hidden(x))))

    return {"Scale": Scale, "Block": Block, "Net": Net}


def _two_inputs(lib, merge):
    a, b = lib.Input((4,)), lib.Input((4,))
    merged = merge(lib.layers.Dense(3)(a), lib.layers.Dense(3)(b))
    return lib.Model([a, b], lib.layers.Dense(1)(merged))


def _functional_dense(lib):
    x = lib.Input((4,))
    return lib.Model(x, lib.layers.Dense(3)(x))


def _built(model, input_shape):
    model.build(input_shape)
    return model


def _families(lib):
    L = lib.layers

    def branch():
        x = lib.Input((4,))
        a, b = L.Dense(3)(x), L.Dense(3, activation="relu")(x)
        return lib.Model(x, L.Dense(1)(L.Concatenate()([L.Add()([a, b]), a])))

    def functional_nested():
        x = lib.Input((4,))
        inner = lib.Sequential([lib.Input((4,)), L.Dense(4), L.BatchNormalization()])
        y = L.Add()([inner(x), L.Dense(4)(x)])
        return lib.Model(x, L.Dense(2)(L.LayerNormalization()(y)))

    def attention():
        q, v = lib.Input((5, 4)), lib.Input((6, 4))
        y = L.MultiHeadAttention(2, 2, value_dim=3)(q, v)
        gated = L.MultiHeadAttention(2, 3, use_gate=True)(q, v)
        scores = [L.Attention(use_scale=True, score_mode="concat")([q, v]),
                  L.AdditiveAttention()([q, v])]  # fmt: skip
        return lib.Model([q, v], L.Concatenate()([*scores, y, gated]))

    def merges(a, b):
        ops = (L.Multiply(), L.Subtract(), L.Average(), L.Maximum(), L.Minimum())
        return L.Concatenate()([op([a, b]) for op in ops])

    custom = _custom_classes(lib)
    return {
        "dense": lambda: lib.Sequential([lib.Input((4,)), L.Dense(3, "relu"), L.Dense(2)]),
        "conv2d_pool_batchnorm": lambda: lib.Sequential(
            [
                lib.Input((8, 8, 2)),
                L.Conv2D(3, 3),
                L.MaxPooling2D(),
                L.BatchNormalization(),
                L.Flatten(),
                L.Dense(2),
            ]
        ),
        "conv1d": lambda: lib.Sequential(
            [
                lib.Input((8, 3)),
                L.Conv1D(4, 3),
                L.BatchNormalization(),
                L.Conv1DTranspose(2, 3),
                L.AveragePooling1D(2),
                L.LayerNormalization(),
                L.GlobalAveragePooling1D(),
            ]
        ),
        "conv3d": lambda: lib.Sequential(
            [
                lib.Input((4, 4, 4, 2)),
                L.Conv3D(2, 2, padding="same"),
                L.MaxPooling3D(2),
                L.Conv3DTranspose(2, 2),
                L.GlobalAveragePooling3D(),
            ]
        ),
        "separable_depthwise_groupnorm": lambda: lib.Sequential(
            [
                lib.Input((8, 8, 2)),
                L.SeparableConv2D(3, 3),
                L.DepthwiseConv2D(2),
                L.Conv2DTranspose(2, 2),
                L.GroupNormalization(1),
                L.AveragePooling2D(2),
                L.UnitNormalization(),
                L.GlobalMaxPooling2D(),
            ]
        ),
        "embedding_recurrent": lambda: lib.Sequential(
            [
                lib.Input((5,), dtype="int32"),
                L.Embedding(10, 4),
                L.LSTM(3, return_sequences=True),
                L.GRU(3, return_sequences=True),
                L.GRU(3, reset_after=False, return_sequences=True),
                L.SimpleRNN(2),
            ]
        ),
        "bidirectional_time_distributed": lambda: lib.Sequential(
            [
                lib.Input((5, 3)),
                L.TimeDistributed(L.BatchNormalization()),
                L.Bidirectional(L.LSTM(2, return_sequences=True)),
                L.TimeDistributed(L.Dense(2)),
                L.Bidirectional(L.GRU(2), merge_mode="sum"),
            ]
        ),
        "dropout_noise": lambda: lib.Sequential(
            [lib.Input((4,)), L.Dense(3), L.Dropout(0.3), L.GaussianNoise(0.1), L.Dense(2)]
        ),
        "nested_sequential": lambda: lib.Sequential(
            [lib.Input((4,)), lib.Sequential([lib.Input((4,)), L.Dense(3)]), L.Dense(2)]
        ),
        "functional_in_sequential": lambda: lib.Sequential(
            [lib.Input((4,)), _functional_dense(lib), L.BatchNormalization(), L.Dense(2)]
        ),
        "functional_branch": branch,
        "functional_nested": functional_nested,
        "attention": attention,
        "merges": lambda: _two_inputs(lib, merges),
        "custom_layers": lambda: lib.Sequential(
            [lib.Input((4,)), custom["Scale"](), custom["Block"](), L.Dense(2)]
        ),
        "subclassed_model": lambda: _built(custom["Net"](), (None, 4)),
    }


FAMILIES = sorted(_families(eigennet))


def _data(model, family, seed=0):
    rng = np.random.default_rng(seed)
    shapes = getattr(model, "input_shape", (None, 4))  # Keras: none for a subclassed model
    shapes = shapes if isinstance(shapes, list) else [shapes]
    x = [
        rng.integers(0, 10, (8, *s[1:])).astype("int32")
        if family == "embedding_recurrent"
        else rng.random((8, *s[1:])).astype("float32")
        for s in shapes
    ]
    x = x[0] if len(x) == 1 else x
    return x, rng.random(np.shape(model.predict(x, verbose=0))).astype("float32")


def _trained(lib, family, seed=0):
    lib.utils.set_random_seed(seed)  # the same initial weights each run: no flaky tolerance
    model = _families(lib)[family]()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x, y = _data(model, family, seed)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    return model, x, y


def _assert_same_predictions(actual, expected) -> None:
    """Equal to float32 rounding: the libraries sum in different orders (up to 1.4e-6 seen,
    after a LayerNormalization)."""
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=1e-6, atol=2e-6)


def _h5_datasets(data: bytes) -> dict:
    h5py = _h5py()
    out = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(lambda n, o: out.update({n: o.shape}) if isinstance(o, h5py.Dataset) else None)
    return out


def _archive_weights(path) -> dict:
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        return _h5_datasets(zf.read("model.weights.h5"))


def _keras_s_part(key: str) -> bool:
    """Not one of eigennet's own entries (random streams, optimizer bookkeeping)."""
    return "/rng_state" not in key and key not in ("optimizer/built_for", "optimizer/slot_order")


# -- eigennet -> Keras 3 ----------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_keras_loads_eigennet_s_file_and_predicts_the_same(tmp_path, family):
    keras = _keras()
    _h5py()
    model, x, _ = _trained(eigennet, family)
    path = tmp_path / "m.keras"
    model.save(path)
    theirs = keras.saving.load_model(path, custom_objects=_custom_classes(keras))
    for a, b in zip(model.weights, theirs.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), keras.ops.convert_to_numpy(b))
    _assert_same_predictions(theirs.predict(x, verbose=0), model.predict(x, verbose=0))
    # The optimizer state (Adam: iterations, learning rate, m and v per variable) loaded
    # into Keras's variables in Keras's order.
    state = model_state(model)
    count = sum(k.startswith("optimizer/vars/") for k in state)
    assert len(theirs.optimizer.variables) == count > 2
    for i, variable in enumerate(theirs.optimizer.variables):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(variable), state[f"optimizer/vars/{i}"], rtol=1e-7
        )


@pytest.mark.parametrize("family", FAMILIES)
def test_the_h5_layout_is_keras_s(tmp_path, family):
    """The same datasets, at the same paths with the same shapes, as Keras writes for the
    same architecture (eigennet adds its random streams and optimizer bookkeeping)."""
    keras = _keras()
    _h5py()
    ours, _, _ = _trained(eigennet, family)
    theirs, _, _ = _trained(keras, family)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    ours_sets = _archive_weights(tmp_path / "ours.keras")
    ours_sets = {k: v for k, v in ours_sets.items() if _keras_s_part(k)}
    assert ours_sets == _archive_weights(tmp_path / "theirs.keras")


_OPTIMIZERS = {
    "sgd_momentum": lambda lib: lib.optimizers.SGD(0.01, momentum=0.9),
    "rmsprop_centered": lambda lib: lib.optimizers.RMSprop(centered=True, momentum=0.5),
    "adamw": lambda lib: lib.optimizers.AdamW(),
    "adam_amsgrad": lambda lib: lib.optimizers.Adam(amsgrad=True),
    "adam_schedule": lambda lib: lib.optimizers.Adam(
        lib.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)
    ),
    "adagrad": lambda lib: lib.optimizers.Adagrad(),
    "adamax": lambda lib: lib.optimizers.Adamax(0.01),
    "nadam": lambda lib: lib.optimizers.Nadam(0.01),
    "adadelta": lambda lib: lib.optimizers.Adadelta(1.0),
    "lion": lambda lib: lib.optimizers.Lion(0.003),
    "lamb": lambda lib: lib.optimizers.Lamb(0.01),
    "ftrl": lambda lib: lib.optimizers.Ftrl(0.05, l2_regularization_strength=0.01),
}


@pytest.mark.parametrize("optimizer", sorted(_OPTIMIZERS))
def test_keras_continues_training_from_eigennet_s_optimizer_state(tmp_path, optimizer):
    """Each slot landed on its variable (custom layers: Keras's order is not eigennet's
    build order): one more step in Keras and in eigennet gives the same weights."""
    keras = _keras()
    _h5py()
    model = _families(eigennet)["custom_layers"]()
    model.compile(optimizer=_OPTIMIZERS[optimizer](eigennet), loss="mse")
    x, y = _data(model, "custom_layers")
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "m.keras")
    theirs = keras.saving.load_model(tmp_path / "m.keras", custom_objects=_custom_classes(keras))
    for m in (model, theirs):
        m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.weights, theirs.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), keras.ops.convert_to_numpy(b), atol=1e-5)


@pytest.mark.parametrize("optimizer", sorted(_OPTIMIZERS))
def test_eigennet_continues_training_from_keras_s_optimizer_state(tmp_path, optimizer):
    """The reverse: Keras's slots (and Nadam's momentum product) land where eigennet reads
    them, so one more epoch in each gives the same weights."""
    keras = _keras()
    _h5py()
    theirs = _families(keras)["custom_layers"]()
    theirs.compile(optimizer=_OPTIMIZERS[optimizer](keras), loss="mse")
    x, y = _data(theirs, "custom_layers")
    theirs.fit(x, y, epochs=2, batch_size=4, verbose=0)
    theirs.save(tmp_path / "k.keras")
    ours = eigennet.saving.load_model(
        tmp_path / "k.keras", custom_objects=_custom_classes(eigennet)
    )
    for m in (ours, theirs):
        m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(ours.weights, theirs.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), keras.ops.convert_to_numpy(b), atol=1e-5)


def test_keras_loads_eigennet_s_weights_h5(tmp_path):
    keras = _keras()
    _h5py()
    model, x, _ = _trained(eigennet, "bidirectional_time_distributed")
    model.save_weights(tmp_path / "w.weights.h5")
    theirs = _families(keras)["bidirectional_time_distributed"]()
    theirs.load_weights(tmp_path / "w.weights.h5")
    _assert_same_predictions(theirs.predict(x, verbose=0), model.predict(x, verbose=0))


# -- Keras 3 -> eigennet ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "family",
    ["embedding_recurrent", "bidirectional_time_distributed", "custom_layers", "subclassed_model"],
)
def test_eigennet_loads_keras_s_file_and_weights(tmp_path, family):
    keras = _keras()
    _h5py()
    theirs, x, y = _trained(keras, family)
    theirs.save(tmp_path / "k.keras")
    theirs.save_weights(tmp_path / "k.weights.h5")
    ours = eigennet.saving.load_model(
        tmp_path / "k.keras", custom_objects=_custom_classes(eigennet)
    )
    for a, b in zip(ours.weights, theirs.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), keras.ops.convert_to_numpy(b))
    expected = np.asarray(theirs.predict(x, verbose=0))
    _assert_same_predictions(ours.predict(x, verbose=0), expected)
    # Keras's slots, in Keras's order, landed on the right variables: one more step of
    # Adam from the same state gives the same weights (to float32 noise in the gradients,
    # far below the 1e-3 steps that misplaced slots would make). Not with Keras's
    # TimeDistributed(BatchNormalization), whose training updates the moving statistics
    # once per time step (eigennet: once per batch).
    if family != "bidirectional_time_distributed":
        theirs.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
        ours.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
        for a, b in zip(ours.weights, theirs.weights, strict=True):
            np.testing.assert_allclose(a.numpy(), keras.ops.convert_to_numpy(b), atol=1e-4)
    fresh = _families(eigennet)[family]()
    fresh.load_weights(tmp_path / "k.weights.h5")
    _assert_same_predictions(fresh.predict(x, verbose=0), expected)


# -- inside eigennet --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "family", ["custom_layers", "bidirectional_time_distributed", "subclassed_model"]
)
@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_h5_round_trip_resumes_bit_exactly(tmp_path, family, suffix):
    _h5py()
    model, x, y = _trained(eigennet, family)
    path = tmp_path / f"m{suffix}"
    if suffix == ".keras":
        model.save(path)
        loaded = eigennet.saving.load_model(path, custom_objects=_custom_classes(eigennet))
    else:
        model.save_weights(path)
        loaded, _, _ = _trained(eigennet, family, seed=1)  # other weights and slots
        loaded.load_weights(path)
    for a, b in zip(loaded.weights, model.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for m in (model, loaded):
        m.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(loaded.weights, model.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _older_eigennet_state(model, monkeypatch) -> dict:
    """The state as eigennet wrote it before following Keras's paths for these layers:
    recurrent and wrapper layers' weights under the layer's own `vars`, custom layers' and
    subclassed models' sublayers under `layers/<class name>`."""
    from eigennet.saving import state

    with monkeypatch.context() as patch:
        patch.setattr(state, "_inner_layer_paths", lambda layer, path, store: None)
        patch.setattr(
            state,
            "_sublayer_paths",
            lambda layer, path, store: state._paths(
                layer.__dict__.get("_tracked_layers", []), f"{path}/" if path else "", store
            ),
        )
        return model_state(model)


@pytest.mark.parametrize(
    "family", ["bidirectional_time_distributed", "custom_layers", "subclassed_model"]
)
def test_npz_files_of_older_eigennet_versions_still_load(tmp_path, monkeypatch, family):
    model, x, y = _trained(eigennet, family)
    old = _older_eigennet_state(model, monkeypatch)
    assert set(old) != set(model_state(model))
    path = tmp_path / "old.weights.npz"
    np.savez(path, **old)
    fresh, _, _ = _trained(eigennet, family, seed=1)
    fresh.load_weights(path)
    # A whole .keras file of format version 1 (npz weights) too.
    model.save(tmp_path / "new.keras")
    with zipfile.ZipFile(tmp_path / "new.keras") as zf:
        config = zf.read("config.json")
    weights = io.BytesIO()
    np.savez(weights, **old)
    with zipfile.ZipFile(tmp_path / "old.keras", "w") as zf:
        zf.writestr("metadata.json", '{"format_version": 1, "eigennet_version": "0.1.0"}')
        zf.writestr("config.json", config)
        zf.writestr("model.weights.npz", weights.getvalue())
    loaded = eigennet.saving.load_model(
        tmp_path / "old.keras", custom_objects=_custom_classes(eigennet)
    )
    for m in (model, fresh, loaded):  # the optimizer state too
        m.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    for a, b, c in zip(fresh.weights, model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(c.numpy(), b.numpy())


# -- without h5py ----------------------------------------------------------------------------
@pytest.fixture
def no_h5py(monkeypatch):
    """As if h5py were not installed."""
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "h5py" or name.startswith("h5py."):
            raise ImportError("No module named 'h5py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "h5py", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_without_h5py_save_writes_npz_with_a_warning(tmp_path, no_h5py):
    model, x, _ = _trained(eigennet, "dense")
    path = tmp_path / "m.keras"
    with pytest.warns(UserWarning, match=r"Keras cannot.*eigennet\[h5\]"):
        model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["metadata.json", "config.json", "model.weights.npz"]
    loaded = eigennet.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_without_h5py_h5_files_raise_import_errors(tmp_path, no_h5py):
    model, _, _ = _trained(eigennet, "dense")
    with pytest.raises(ImportError, match=r'pip install "eigennet\[h5\]"'):
        model.save_weights(tmp_path / "w.weights.h5")
    assert os.listdir(tmp_path) == []
    (tmp_path / "w.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ImportError, match="h5py"):
        model.load_weights(tmp_path / "w.weights.h5")
    model.save_weights(tmp_path / "w.weights.npz")  # the NumPy form needs no h5py
    model.load_weights(tmp_path / "w.weights.npz")


def test_model_checkpoint_writes_weights_h5(tmp_path):
    _h5py()
    model, x, y = _trained(eigennet, "dense")
    path = tmp_path / "w-{epoch}.weights.h5"
    callback = eigennet.callbacks.ModelCheckpoint(path, monitor="loss", save_weights_only=True)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callback])
    assert sorted(os.listdir(tmp_path)) == ["w-1.weights.h5", "w-2.weights.h5"]
    fresh = _families(eigennet)["dense"]()
    fresh.load_weights(tmp_path / "w-2.weights.h5")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", ["m.keras", "w.weights.h5"])
def test_a_crash_while_writing_h5_keeps_the_old_file(tmp_path, monkeypatch, name):
    _h5py()
    from eigennet.saving import file_io, saving_lib

    model, _, _ = _trained(eigennet, "dense")
    path = tmp_path / name
    save = model.save if name.endswith(".keras") else model.save_weights
    save(path)
    before = path.read_bytes()

    def crash(fileobj, arrays):
        file_io.write_h5(fileobj, dict(list(arrays.items())[:1]))  # a partial file, then
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(saving_lib, "write_h5", crash)
    with pytest.raises(OSError, match="simulated"):
        save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == [name]


def test_either_weights_member_loads(tmp_path, monkeypatch):
    _h5py()
    model, x, _ = _trained(eigennet, "conv2d_pool_batchnorm")
    model.save(tmp_path / "h5.keras")
    from eigennet.saving import saving_lib

    monkeypatch.setattr(saving_lib, "h5py_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(tmp_path / "npz.keras")
    expected = model.predict(x, verbose=0)
    for name in ("h5.keras", "npz.keras"):
        loaded = eigennet.saving.load_model(tmp_path / name)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)


# -- corrupt or crafted h5 weights -----------------------------------------------------------
def _rewrite_weights(source, target, edit) -> None:
    """`source` with its model.weights.h5 passed through `edit(h5py.File)`, or replaced by
    the bytes `edit` returns when it is a function of bytes (edit.raw)."""
    h5py = _h5py()
    with zipfile.ZipFile(source) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    data = members["model.weights.h5"]
    if getattr(edit, "raw", False):
        data = edit(data)
    else:
        buffer = io.BytesIO(data)
        with h5py.File(buffer, "a") as f:
            edit(f)
        data = buffer.getvalue()
    members["model.weights.h5"] = data
    with zipfile.ZipFile(target, "w") as zf:
        for name, value in members.items():
            zf.writestr(name, value)


def _raw(function):
    function.raw = True
    return function


def _replace(key, **kwargs):
    def edit(f):
        del f[key]
        f.create_dataset(key, **kwargs)

    return edit


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (_raw(lambda data: data[: len(data) // 2]), "not a readable HDF5"),
        (_raw(lambda data: b"junk" * 100), "not a readable HDF5"),
        # A declared shape far larger than the model's: refused before any allocation.
        (
            _replace("layers/dense/vars/0", shape=(2**40, 2**20), dtype="f4", chunks=(1, 1)),
            "has shape",
        ),
        (_replace("layers/dense/vars/0", data=np.zeros((4, 4), "f4")), "has shape"),
        (_replace("layers/dense/vars/1", data=np.array(["ab", "cd", "ef"], dtype="S2")), "numeric"),
        (lambda f: f.move("layers/dense/vars/1", "layers/dense/vars/7"), "missing"),
        (lambda f: f.create_dataset("layers/extra/vars/0", data=[1.0]), "no place"),
        (_replace("optimizer/vars/0", data=np.array(-3, "i8")), "iterations"),
        # (custom_layers: a model whose slots are not in the optimizer's build order)
        (_replace("optimizer/slot_order", data=np.zeros(9, "i8")), "slot_order"),
    ],
    ids=[
        "truncated",
        "junk",
        "shape_bomb",
        "wrong_shape",
        "strings",
        "renamed",
        "extra",
        "negative_iterations",
        "bad_slot_order",
    ],
)
def test_corrupt_h5_weights_raise_value_errors(tmp_path, edit, fragment):
    _h5py()
    family = "custom_layers" if fragment == "slot_order" else "dense"
    model, _, _ = _trained(eigennet, family)
    good = tmp_path / "good.keras"
    model.save(good)
    bad = tmp_path / "bad.keras"
    _rewrite_weights(good, bad, edit)
    with pytest.raises(LoadError, match=fragment):
        eigennet.saving.load_model(bad, custom_objects=_custom_classes(eigennet))
    fresh = _families(eigennet)[family]()
    fresh.compile(optimizer="adam", loss="mse")
    before = [w.numpy().copy() for w in fresh.weights]
    with pytest.raises(LoadError):
        fresh.load_weights(bad)
    for a, b in zip(fresh.weights, before, strict=True):  # nothing changed
        np.testing.assert_array_equal(a.numpy(), b)


@pytest.mark.parametrize("suffix", [".weights.h5", ".weights.npz"])
def test_weights_files_larger_than_the_model_s_state_are_refused_unread(tmp_path, suffix):
    if suffix == ".weights.h5":
        _h5py()
    big = eigennet.Sequential([eigennet.Input((512,)), eigennet.layers.Dense(4096)])
    big.save_weights(tmp_path / f"big{suffix}")
    small, _, _ = _trained(eigennet, "dense")
    with pytest.raises(LoadError, match="bytes, more than"):
        small.load_weights(tmp_path / f"big{suffix}")
