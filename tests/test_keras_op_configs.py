"""Functional models that Keras 3 saved with `keras.ops` calls in them (`x + y`,
`ops.relu(x)`, `x[:, 0]`, `ops.concatenate(..., axis=-1)`): eigennet replays each op entry
with its own ops, predicts what Keras predicted and trains on."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import eigennet as keras
from eigennet.saving.file_io import LoadError


def _keras_model_with_ops(theirs):
    ops, layers = theirs.ops, theirs.layers
    inputs = theirs.Input((6, 4))
    x = layers.Dense(4)(inputs)
    y = ops.relu(x + inputs) * 2.0 - 1.0
    y = y / 3.0
    z = ops.reshape(ops.concatenate([y, inputs], axis=-1), (-1, 6 * 8))
    pooled = ops.mean(ops.transpose(y, (0, 2, 1)), axis=-1)
    first = y[:, 0]
    summed = ops.squeeze(ops.expand_dims(ops.sum(y, axis=1), 1), axis=1)
    gram = ops.reshape(ops.matmul(ops.transpose(y, (0, 2, 1)), y), (-1, 16))
    probabilities = ops.softmax(layers.Dense(3)(z), axis=-1)
    extra = [
        ops.tanh(ops.sigmoid(first)),
        ops.sqrt(ops.abs(first) + 1e-3),
        ops.exp(-ops.square(first)),
        ops.maximum(first, 0.1),
        ops.reshape(y[:, 1:4, ::2], (-1, 6)),
    ]
    outputs = layers.Concatenate()([probabilities, pooled, first, summed, gram, *extra])
    return theirs.Model(inputs, outputs)


def test_eigennet_replays_keras_ops_and_trains_on(tmp_path):
    theirs = pytest.importorskip("keras")
    k_model = _keras_model_with_ops(theirs)
    k_model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(16, 6, 4)).astype("float32")
    k_model.save(tmp_path / "ops.keras")
    entries = json.loads(zipfile.ZipFile(tmp_path / "ops.keras").read("config.json"))
    classes = {e["class_name"] for e in entries["config"]["layers"] if "ops" in e["module"]}
    assert {"Add", "Relu", "GetItem", "Concatenate", "Reshape", "Matmul", "Softmax"} <= classes

    model = keras.models.load_model(tmp_path / "ops.keras")
    np.testing.assert_allclose(
        model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    y = np.random.default_rng(1).normal(size=(16, k_model.output_shape[-1])).astype("float32")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before


def test_residual_transformer_block_written_with_operators(tmp_path):
    """keras-io's style: `x + attention(x)` and `ops` in a functional model."""
    theirs = pytest.importorskip("keras")
    layers = theirs.layers
    inputs = theirs.Input((8, 16))
    attended = layers.MultiHeadAttention(2, 8)(inputs, inputs)
    x = layers.LayerNormalization()(inputs + attended)
    x = layers.LayerNormalization()(x + layers.Dense(16)(layers.Dense(32, activation="gelu")(x)))
    outputs = layers.Dense(2, activation="softmax")(theirs.ops.mean(x, axis=1))
    k_model = theirs.Model(inputs, outputs)
    k_model.save(tmp_path / "block.keras")
    x = np.random.default_rng(2).normal(size=(5, 8, 16)).astype("float32")
    model = keras.models.load_model(tmp_path / "block.keras")
    np.testing.assert_allclose(
        model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def _config_with(tmp_path, op_entry: dict):
    """A Keras-style .keras file whose functional config holds `op_entry` after a Dense."""
    inputs = keras.Input((3,), name="x")
    functional = keras.Model(inputs, keras.layers.Dense(3, name="d")(inputs))
    functional.save(tmp_path / "base.keras")
    with zipfile.ZipFile(tmp_path / "base.keras") as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    config = json.loads(files["config.json"])
    tensor = {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, 3], "dtype": "float32", "keras_history": ["d", 0, 0]},
    }
    op_entry = {**op_entry, "inbound_nodes": [{"args": [tensor], "kwargs": {}}]}
    config["config"]["layers"].append(op_entry)
    name = op_entry["name"]
    config["config"]["output_layers"] = [[name, 0, 0]]
    files["config.json"] = json.dumps(config).encode()
    path = tmp_path / "crafted.keras"
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in files.items():
            zf.writestr(member, data)
    return path


def test_unknown_ops_and_arguments_raise(tmp_path):
    def entry(class_name, **config):
        name = class_name.lower()
        return {"module": "keras.src.ops.numpy", "class_name": class_name,
                "config": {"name": name, **config}, "registered_name": class_name,
                "name": name}  # fmt: skip

    unknown = entry("Frobnicate")
    with pytest.raises(LoadError, match="op 'Frobnicate'.*eigennet.ops does not have"):
        keras.models.load_model(_config_with(tmp_path, unknown))
    odd = entry("Sum", axis=-1, bogus=3)
    with pytest.raises(LoadError, match="'Sum' was saved with bogus"):
        keras.models.load_model(_config_with(tmp_path, odd))
    fine = entry("Sum", axis=-1, keepdims=True)
    model = keras.models.load_model(_config_with(tmp_path, fine))
    x = np.ones((2, 3), np.float32)
    dense = model.get_layer("d")
    expected = (x @ dense.kernel.numpy() + dense.bias.numpy()).sum(-1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6)
