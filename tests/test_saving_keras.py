"""config.json as Keras 3 writes it, and files crossing between Keras and eigennet.

Skipped when keras or torch is not installed; the h5 cases also need h5py.
"""

import json
import os
import zipfile

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
pytest.importorskip("torch")
keras = pytest.importorskip("keras")

import eigennet  # noqa: E402


def _model(lib):
    inner = lib.Sequential([lib.Input(shape=(5,)), lib.layers.Dense(3, activation="relu")])
    return lib.Sequential(
        [
            lib.Input(shape=(4,)),
            lib.layers.Dense(
                5,
                activation="tanh",
                kernel_regularizer=lib.regularizers.L2(0.01),
                activity_regularizer=lib.regularizers.L1(0.001),
                kernel_initializer=lib.initializers.RandomNormal(stddev=0.2, seed=1),
            ),
            lib.layers.Dropout(0.2, seed=3),
            inner,
            lib.layers.Activation("sigmoid"),
            lib.layers.Dense(1),
        ]
    )


def _compile(lib, model):
    schedule = lib.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)
    model.compile(
        optimizer=lib.optimizers.Adam(learning_rate=schedule),
        loss=lib.losses.Huber(),
        metrics=["mae", lib.metrics.RootMeanSquaredError()],
    )


def _saved_config(lib, path):
    model = _model(lib)
    _compile(lib, model)
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("config.json"))


_WEIGHTLESS = ("Activation", "Dropout", "Flatten", "Reshape")


def _assert_same_structure(ours, theirs, where="config.json"):
    """Same keys, module and class names all the way down (values may differ)."""
    if isinstance(theirs, dict):
        if theirs.get("class_name") == "DTypePolicy":  # eigennet writes the dtype's name
            assert ours in ("float32", "float64"), where
            return
        assert isinstance(ours, dict), where
        if theirs.get("class_name") in _WEIGHTLESS:
            # Keras writes a build_config for some weightless layers (Flatten) and not
            # others (Reshape); eigennet for layers with weights, which need it to load.
            ours, theirs = dict(ours), dict(theirs)
            ours.pop("build_config", None)
            theirs.pop("build_config", None)
        assert set(ours) == set(theirs), f"{where}: {sorted(ours)} vs {sorted(theirs)}"
        for key in ("class_name", "module"):
            if key in theirs and not str(theirs.get(key)).startswith("keras.src"):
                assert ours[key] == theirs[key], f"{where}/{key}"
        for key, value in theirs.items():
            _assert_same_structure(ours[key], value, f"{where}/{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same_structure(a, b, f"{where}[{i}]")


def _drop_keys(tree, keys):
    if isinstance(tree, dict):
        for key in keys:
            tree.pop(key, None)
        for value in tree.values():
            _drop_keys(value, keys)
    elif isinstance(tree, list):
        for value in tree:
            _drop_keys(value, keys)


def test_config_json_has_keras_s_structure(tmp_path):
    theirs = _saved_config(keras, tmp_path / "keras.keras")
    ours = _saved_config(eigennet, tmp_path / "eigennet.keras")
    # Keras 3.15 adds to initializer configs its fan axes (input_axes, output_axes), which
    # eigennet accepts but does not write (older Keras would refuse them); Keras's Huber
    # config lacks its delta.
    for config in (theirs, ours):
        _drop_keys(config, ("input_axes", "output_axes"))
        config["compile_config"]["loss"]["config"].pop("delta", None)
    _assert_same_structure(ours, theirs)


def _sequence_model(lib):
    return lib.Sequential(
        [
            lib.Input(shape=(6,)),
            lib.layers.Embedding(10, 4),
            lib.layers.Reshape((3, 8)),
            lib.layers.Flatten(),
            lib.layers.Dense(1),
        ]
    )


def test_reshaping_and_embedding_configs_have_keras_s_structure():
    theirs = json.loads(_sequence_model(keras).to_json())
    ours = json.loads(_sequence_model(eigennet).to_json())
    for config in (theirs, ours):
        _drop_keys(config, ("input_axes", "output_axes"))
    _assert_same_structure(ours, theirs)


def test_keras_rebuilds_eigennet_s_json():
    model = _model(eigennet)
    _compile(eigennet, model)
    rebuilt = keras.models.model_from_json(model.to_json())
    assert [type(layer).__name__ for layer in rebuilt.layers] == [
        type(layer).__name__ for layer in model.layers
    ]
    assert rebuilt.count_params() == model.count_params()
    assert type(rebuilt.optimizer).__name__ == "Adam"


def _trained_keras_model():
    keras.utils.set_random_seed(4)
    model = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(6, activation="tanh", kernel_regularizer="l2"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01, amsgrad=True), loss="mse", metrics=["mae"])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1))).astype("float32")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return model, x, y


def test_eigennet_loads_a_keras_file_and_continues_training(tmp_path):
    pytest.importorskip("h5py")
    k_model, x, y = _trained_keras_model()
    path = tmp_path / "keras.keras"
    k_model.save(path)
    e_model = eigennet.models.load_model(path)

    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    assert e_model.optimizer.iterations == int(k_model.optimizer.iterations) == 8
    assert e_model.get_compile_config()["metrics"] == ["mae"]
    # The slots were read in Keras's order: training on matches Keras step for step.
    for m in (k_model, e_model):
        m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for kw, ew in zip(k_model.get_weights(), e_model.get_weights()):
        np.testing.assert_allclose(ew, kw, rtol=1e-4, atol=1e-6)


def test_eigennet_loads_keras_weights_h5(tmp_path):
    pytest.importorskip("h5py")
    k_model, x, _ = _trained_keras_model()
    k_model.save_weights(tmp_path / "k.weights.h5")
    e_model = eigennet.Sequential(
        [
            eigennet.Input(shape=(4,)),
            eigennet.layers.Dense(6, activation="tanh"),
            eigennet.layers.Dense(1),
        ]
    )
    e_model.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
