"""MultiHeadAttention(use_gate=True) in `.keras` files: its weights are saved in Keras 3's
layout (the gate's EinsumDense under `_gate_dense`), so a Keras file loads in eigennet and
ours in Keras; files of older eigennet versions (all weights under the layer's own `vars`)
still load."""

import io
import zipfile

import numpy as np
import pytest

import eigennet


def gated_model(lib, **kwargs):
    q, v = lib.Input((4, 6)), lib.Input((3, 5))
    mha = lib.layers.MultiHeadAttention(num_heads=2, key_dim=3, use_gate=True, **kwargs)
    return lib.Model([q, v], mha(q, v))


def data(seed):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(2, 4, 6)).astype("float32"),
        rng.normal(size=(2, 3, 5)).astype("float32"),
    ]


def randomize(model, seed):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=np.shape(w)).astype("float32") for w in model.get_weights()])


def stored_weights(path) -> dict:
    """A `.keras` file's weights by path (Keras's model.weights.h5 or eigennet's npz)."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "model.weights.npz" in names:
            with np.load(io.BytesIO(archive.read("model.weights.npz"))) as store:
                return {k: store[k] for k in store.files}
        h5py = pytest.importorskip("h5py")
        found = {}
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as f:
            f.visititems(lambda k, v: found.update({k: v[()]}) if hasattr(v, "shape") else None)
        return found


def test_keras_file_with_a_gate_loads_in_eigennet(tmp_path):
    keras = pytest.importorskip("keras")
    theirs = gated_model(keras)
    randomize(theirs, 1)
    theirs.save(tmp_path / "keras_gate.keras")
    ours = eigennet.models.load_model(tmp_path / "keras_gate.keras")
    x = data(2)
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)), rtol=1e-5, atol=1e-5
    )
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(a, np.asarray(b))


def test_eigennet_file_with_a_gate_is_keras_layout_and_loads_in_keras(tmp_path):
    keras = pytest.importorskip("keras")
    ours = gated_model(eigennet)
    randomize(ours, 3)
    ours.save(tmp_path / "ours_gate.keras")
    reference = gated_model(keras)
    reference.save(tmp_path / "reference.keras")
    saved, expected = (
        stored_weights(tmp_path / "ours_gate.keras"),
        stored_weights(tmp_path / "reference.keras"),
    )
    assert sorted(saved) == sorted(expected)
    for key, value in saved.items():
        assert value.shape == expected[key].shape, key
    x = data(4)
    again = eigennet.models.load_model(tmp_path / "ours_gate.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), ours.predict(x, verbose=0))
    with zipfile.ZipFile(tmp_path / "ours_gate.keras") as archive:
        if "model.weights.h5" not in archive.namelist():
            pytest.skip("this eigennet writes .keras weights as npz, which Keras cannot read")
    theirs = keras.models.load_model(tmp_path / "ours_gate.keras")
    np.testing.assert_allclose(
        np.asarray(theirs.predict(x, verbose=0)), ours.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )


def test_file_of_an_older_eigennet_still_loads(tmp_path):
    """Older versions saved a gated layer's weights under its own `vars` (0, 1, ...)."""
    ours = gated_model(eigennet)
    randomize(ours, 5)
    ours.save(tmp_path / "new.keras")
    weights = stored_weights(tmp_path / "new.keras")
    layer = "layers/multi_head_attention"
    order = ["query_dense", "key_dense", "_gate_dense", "value_dense", "output_dense"]
    values = [weights.pop(f"{layer}/{s}/vars/{k}") for s in order for k in range(2)]
    assert not any(k.startswith(layer) for k in weights)
    weights.update({f"{layer}/vars/{k}": v for k, v in enumerate(values)})
    old = tmp_path / "old.keras"
    with zipfile.ZipFile(tmp_path / "new.keras") as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            if item.filename.startswith("model.weights."):
                if item.filename != "model.weights.npz":
                    pytest.skip("rewrites eigennet's npz weights only")
                buffer = io.BytesIO()
                np.savez(buffer, **weights)
                dst.writestr(item, buffer.getvalue())
            else:
                dst.writestr(item, src.read(item.filename))
    loaded = eigennet.models.load_model(old)
    x = data(6)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), ours.predict(x, verbose=0))
