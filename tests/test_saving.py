"""model.save / load_model, save_weights / load_weights, get_config / from_config, to_json:
round trips of every layer, optimizer, schedule and compile config, and training that
continues bit-identically after loading."""

import json
import zipfile

import numpy as np
import pytest

import eigennet as keras
from eigennet.optimizers import schedules


def _data(n=48, features=4, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x @ rng.normal(size=(features, outputs))).astype("float32")
    return x, y


def _mlp(dropout=0.25, dtype=None):
    return keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(8, activation="tanh", dtype=dtype),
            keras.layers.Dropout(dropout, dtype=dtype),
            keras.layers.Dense(1, dtype=dtype),
        ]
    )


def _assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for i, (u, v) in enumerate(zip(wa, wb)):
        assert u.dtype == v.dtype and u.shape == v.shape, i
        np.testing.assert_array_equal(u, v, err_msg=f"weight {i}")


def _assert_same_optimizer_state(a, b):
    va, vb = a.optimizer.variables, b.optimizer.variables
    assert len(va) == len(vb)
    for u, v in zip(va, vb):
        np.testing.assert_array_equal(u, v)
    assert a.optimizer.learning_rate == b.optimizer.learning_rate


def test_every_layer_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.layers.Dense(3, activation="relu")], name="inner")
    model = keras.Sequential(
        [
            keras.Input(shape=(4,), name="features"),
            keras.layers.Dense(
                6,
                activation="sigmoid",
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.3, seed=4),
                bias_initializer=keras.initializers.Constant(0.1),
                kernel_regularizer=keras.regularizers.L2(0.01),
                bias_regularizer=keras.regularizers.L1(0.02),
                activity_regularizer=keras.regularizers.L1L2(0.001, 0.002),
                name="first",
            ),
            keras.layers.Activation("tanh"),
            keras.layers.Dropout(0.3, seed=7),
            inner,
            keras.layers.Dense(2, activation="softmax", use_bias=False),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x = np.random.default_rng(1).normal(size=(20, 4)).astype("float32")
    y = keras.utils.to_categorical(np.arange(20) % 2, 2)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)

    assert loaded.get_config() == model.get_config()
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Dense",
        "Activation",
        "Dropout",
        "Sequential",
        "Dense",
    ]
    assert loaded.layers[0].kernel_regularizer.l2 == 0.01
    assert loaded.layers[0].activity_regularizer.get_config() == {"l1": 0.001, "l2": 0.002}
    assert loaded.layers[2].seed == 7 and loaded.layers[3].name == "inner"
    _assert_same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # The regularization penalties count in the loss: equal losses mean equal regularizers.
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


@pytest.mark.filterwarnings("ignore:Saving .* NumPy .npz weights")
def test_archive_layout_follows_keras(tmp_path, monkeypatch):
    # The .npz form (without h5py); test_saving_h5.py checks the h5 form.
    monkeypatch.setattr(keras.saving.saving_lib, "h5py_available", lambda: False)
    model = _mlp()
    model.compile(optimizer="adam", loss="mse")
    model.fit(*_data(), epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["metadata.json", "config.json", "model.weights.npz"]
        metadata = json.loads(zf.read("metadata.json"))
        config = json.loads(zf.read("config.json"))
        with zf.open("model.weights.npz") as f:
            keys = sorted(np.load(f, allow_pickle=False).files)
    assert metadata["format_version"] == keras.saving.FORMAT_VERSION
    assert metadata["eigennet_version"] == keras.__version__ and "date_saved" in metadata
    assert set(config) == {
        "module",
        "class_name",
        "config",
        "registered_name",
        "build_config",
        "compile_config",
    }
    assert keys == sorted(
        [
            "layers/dense/vars/0",
            "layers/dense/vars/1",
            "layers/dropout/rng_state",
            "layers/dense_1/vars/0",
            "layers/dense_1/vars/1",
            "optimizer/built_for",
            *[f"optimizer/vars/{i}" for i in range(2 + 2 * 4)],  # iterations, lr, m & v
        ]
    )


OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(learning_rate=0.05),
    "sgd_nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adagrad": lambda: keras.optimizers.Adagrad(0.05, clipvalue=0.5),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01),
    "rmsprop_centered": lambda: keras.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adam": lambda: keras.optimizers.Adam(0.01, global_clipnorm=1.0),
    "adam_amsgrad": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
    "adamw": lambda: keras.optimizers.AdamW(0.01, weight_decay=0.01, clipnorm=1.0),
    "adamax": lambda: keras.optimizers.Adamax(0.01),
    "nadam": lambda: keras.optimizers.Nadam(0.01),
    "adadelta": lambda: keras.optimizers.Adadelta(1.0, clipnorm=1.0),
    "lion": lambda: keras.optimizers.Lion(0.003),
    "lamb": lambda: keras.optimizers.Lamb(0.01),
    "ftrl": lambda: keras.optimizers.Ftrl(0.05, l1_regularization_strength=0.001),
    "exponential": lambda: keras.optimizers.Adam(schedules.ExponentialDecay(0.02, 3, 0.5)),
    "piecewise": lambda: keras.optimizers.SGD(schedules.PiecewiseConstantDecay([4], [0.1, 0.01])),
    "polynomial": lambda: keras.optimizers.RMSprop(schedules.PolynomialDecay(0.01, 5, cycle=True)),
    "inverse_time": lambda: keras.optimizers.Adagrad(schedules.InverseTimeDecay(0.1, 2, 0.5)),
    "cosine": lambda: keras.optimizers.Adam(
        schedules.CosineDecay(0.001, 10, warmup_target=0.01, warmup_steps=3)
    ),
    "cosine_restarts": lambda: keras.optimizers.SGD(schedules.CosineDecayRestarts(0.1, 3)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_restores_exactly(tmp_path, name):
    keras.utils.set_random_seed(2)
    x, y = _data()
    model = _mlp(dropout=0.0)
    model.compile(optimizer=OPTIMIZERS[name](), loss="mse")
    model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)

    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    _assert_same_optimizer_state(model, loaded)
    # Both continue identically: the slots, the counter and the schedule position match.
    for m in (model, loaded):
        m.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    _assert_same_weights(model, loaded)
    _assert_same_optimizer_state(model, loaded)


LOSSES = {
    "name": "mse",
    "alias": "binary_crossentropy",
    "function": keras.losses.mean_absolute_error,
    "huber": keras.losses.Huber(delta=2.0),
    "bce_object": keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
}


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_compile_config_round_trips(tmp_path, loss):
    x, y = _data()
    y = (y > 0).astype("float32")
    metrics = [
        "accuracy",
        "mae",
        keras.metrics.Precision(thresholds=0.3),
        keras.metrics.BinaryAccuracy(name="acc7", threshold=0.7),
        keras.metrics.mean_squared_error,
    ]
    model = _mlp()
    model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss=LOSSES[loss], metrics=metrics)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")

    assert loaded.get_compile_config() == model.get_compile_config()
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(
        x, y, verbose=0, return_dict=True
    )
    # An unnamed Precision is precision, precision_1, ... (Keras's process-wide counter); the
    # loaded model keeps the saved name.
    assert loaded.metrics_names == model.metrics_names
    assert [n.split("_")[0] if n.startswith("precision") else n for n in loaded.metrics_names] == [
        "loss",
        "accuracy",
        "mae",
        "precision",
        "acc7",
        "mean_squared_error",
    ]


def test_categorical_losses_and_top_k_round_trip(tmp_path):
    x = np.random.default_rng(0).normal(size=(30, 4)).astype("float32")
    labels = np.arange(30) % 3
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3)])
    model.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseTopKCategoricalAccuracy(k=2), "accuracy"],
    )
    model.fit(x, labels, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.loss.from_logits is True and loaded._metric_ids[0].k == 2
    assert loaded.evaluate(x, labels, verbose=0) == model.evaluate(x, labels, verbose=0)


def test_load_without_compile(tmp_path):
    model = _mlp()
    model.compile(optimizer="adam", loss="mse")
    model.fit(*_data(), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", compile=False)
    assert not loaded.compiled and loaded.optimizer is None
    _assert_same_weights(model, loaded)


def _continue(tmp_path, shuffle, break_at=None, with_file=True):
    """fit(epochs=4), or fit(epochs=2) + save + load + fit(initial_epoch=2, epochs=4), each
    fit preceded by the same set_random_seed."""
    x, y = _data(n=50)
    keras.utils.set_random_seed(11)  # initial weights and the Dropout's stream
    model = _mlp(dropout=0.4)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    fit = dict(batch_size=8, shuffle=shuffle, verbose=0)
    keras.utils.set_random_seed(5)
    if break_at is None:
        return model, model.fit(x, y, epochs=4, **fit)
    model.fit(x, y, epochs=break_at, **fit)
    if with_file:
        model.save(tmp_path / "break.keras")
        keras.utils.set_random_seed(99)  # loading must not depend on the global stream
        model = keras.models.load_model(tmp_path / "break.keras")
    else:  # control: only the weights, as set_weights gives them
        fresh = _mlp(dropout=0.4)
        fresh.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        fresh.set_weights(model.get_weights())
        model = fresh
    keras.utils.set_random_seed(5)
    return model, model.fit(x, y, initial_epoch=break_at, epochs=4, **fit)


@pytest.mark.parametrize("shuffle", [False, True])
def test_training_continues_bit_identically(tmp_path, shuffle):
    straight, h_straight = _continue(tmp_path, shuffle)
    resumed, h_resumed = _continue(tmp_path, shuffle, break_at=2)
    _assert_same_weights(straight, resumed)
    _assert_same_optimizer_state(straight, resumed)
    assert straight.layers[1]._core.rng_state == resumed.layers[1]._core.rng_state
    assert h_resumed.epoch == [2, 3]
    assert h_resumed.history["loss"] == h_straight.history["loss"][2:]
    # Control: without the optimizer and Dropout state the run differs, so the check bites.
    control, _ = _continue(tmp_path, shuffle, break_at=2, with_file=False)
    assert not np.array_equal(control.get_weights()[0], straight.get_weights()[0])


def test_frozen_layer_and_optimizer_built_for_more_weights(tmp_path):
    """The optimizer keeps the variables it was built for (GAN pattern: freeze after the
    first fit); the loaded model's optimizer is built for the same ones."""
    x, y = _data()
    model = _mlp(dropout=0.0)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(x, y, epochs=1, shuffle=False, verbose=0)
    model.layers[0].trainable = False
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].trainable is False
    assert len(loaded.optimizer._built_variables) == 4  # both Dense layers, as saved
    for m in (model, loaded):
        m.fit(x, y, epochs=2, shuffle=False, verbose=0)
    _assert_same_weights(model, loaded)
    np.testing.assert_array_equal(model.get_weights()[0], loaded.get_weights()[0])
    # Unfreezing works on both, as the optimizer was built for the frozen layer too.
    for m in (model, loaded):
        m.layers[0].trainable = True
        m.fit(x, y, epochs=1, shuffle=False, verbose=0)
    _assert_same_weights(model, loaded)


def test_embedding_and_reshaping_model_round_trips(tmp_path):
    x = np.random.default_rng(0).integers(0, 10, size=(24, 6))
    y = np.random.default_rng(1).normal(size=(24, 1)).astype("float32")
    model = keras.Sequential(
        [
            keras.Input(shape=(6,)),
            keras.layers.Embedding(10, 4, embeddings_regularizer="l2"),
            keras.layers.Reshape((3, 8)),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.get_config() == model.get_config()
    for m in (model, loaded):
        m.fit(x, y, epochs=2, shuffle=False, verbose=0)
    _assert_same_weights(model, loaded)


def test_float64_model_round_trips(tmp_path):
    model = _mlp(dtype="float64")
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.5), loss="mse")
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.dtype == "float64" and loaded.get_weights()[0].dtype == np.float64
    for m in (model, loaded):
        m.fit(x, y, epochs=1, shuffle=False, verbose=0)
    _assert_same_weights(model, loaded)


def test_unbuilt_and_build_only_models(tmp_path):
    unbuilt = keras.Sequential([keras.layers.Dense(2), keras.layers.Dense(1)], name="lazy")
    unbuilt.save(tmp_path / "u.keras")
    loaded = keras.models.load_model(tmp_path / "u.keras")
    assert not loaded.built and loaded.name == "lazy" and len(loaded.layers) == 2

    built = keras.Sequential([keras.layers.Dense(2)])
    built.build((None, 5))
    built.save(tmp_path / "b.keras")
    loaded = keras.models.load_model(tmp_path / "b.keras")
    assert loaded.input_shape == (None, 5)
    _assert_same_weights(built, loaded)


def test_save_weights_and_load_weights(tmp_path):
    x, y = _data()
    model = _mlp()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "w.weights.npz"
    model.save_weights(path)

    other = _mlp()
    other.compile(optimizer="adam", loss="mse")
    other.load_weights(path)  # compiled: the optimizer state comes too, as in Keras
    _assert_same_weights(model, other)
    _assert_same_optimizer_state(model, other)

    plain = _mlp()  # not compiled: weights only
    plain.load_weights(path)
    _assert_same_weights(model, plain)
    # A .keras archive's weights load as well.
    model.save(tmp_path / "m.keras")
    again = _mlp()
    again.load_weights(tmp_path / "m.keras")
    _assert_same_weights(model, again)


@pytest.mark.parametrize("name", ["w.h5", "w.npz", "w.keras"])
def test_save_weights_needs_a_weights_suffix(tmp_path, name):
    model = _mlp()
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        model.save_weights(tmp_path / name)


def test_weights_need_a_built_model(tmp_path):
    with pytest.raises(ValueError, match="not yet been built"):
        keras.Sequential([keras.layers.Dense(1)]).save_weights(tmp_path / "w.weights.npz")
    _mlp().save_weights(tmp_path / "w.weights.npz")
    with pytest.raises(ValueError, match="not yet been built"):
        keras.Sequential([keras.layers.Dense(1)]).load_weights(tmp_path / "w.weights.npz")


def test_save_needs_the_keras_suffix_and_respects_overwrite(tmp_path):
    model = _mlp()
    with pytest.raises(ValueError, match=r"\.keras"):
        model.save(tmp_path / "model.h5")
    model.save(tmp_path / "m.keras")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)


def test_get_config_from_config_and_json():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(3,)),
            keras.layers.Dense(4, activation="relu", kernel_regularizer="l2"),
            keras.Sequential([keras.layers.Dense(2)], name="nested"),
            keras.layers.Activation("softmax"),
        ],
        name="net",
    )
    config = model.get_config()
    rebuilt = keras.Sequential.from_config(config)
    assert rebuilt.get_config() == config
    assert rebuilt.name == "net" and rebuilt.input_shape == (None, 3)
    assert rebuilt.count_params() == model.count_params()

    model.compile(optimizer=keras.optimizers.Adam(0.003), loss="mse", metrics=["mae"])
    text = model.to_json()
    assert json.loads(text)["compile_config"]["optimizer"]["config"]["learning_rate"] == 0.003
    from_json = keras.models.model_from_json(text)
    assert from_json.get_config() == config and from_json.compiled
    assert from_json.optimizer.learning_rate == 0.003 and from_json.metrics_names == ["loss"]


LAYERS = [
    keras.layers.Dense(
        3,
        activation="gelu",
        use_bias=False,
        kernel_initializer=keras.initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=1),
        bias_regularizer=keras.regularizers.L1L2(0.1, 0.2),
        trainable=False,
    ),
    keras.layers.Activation("leaky_relu"),
    keras.layers.Dropout(0.5, seed=3),
    keras.layers.Embedding(7, 3, embeddings_regularizer=keras.regularizers.L2(0.1)),
    keras.layers.Reshape((2, -1)),
    keras.layers.Flatten(),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: type(layer).__name__)
def test_layer_configs_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["module"] == "keras.layers"
    assert keras.saving.deserialize_keras_object(serialized).get_config() == layer.get_config()


def test_input_layer_config_is_keras_s():
    layer = keras.layers.InputLayer(shape=(3, 2), batch_size=8, name="inp")
    config = layer.get_config()
    assert config == {
        "batch_shape": [8, 3, 2],
        "dtype": "float32",
        "sparse": False,
        "ragged": False,
        "name": "inp",
        "optional": False,
    }
    clone = keras.layers.InputLayer.from_config(config)
    assert clone.shape == (3, 2) and clone.batch_size == 8


def _instances(module):
    return [cls() for cls in set(module._BY_NAME.values())]


@pytest.mark.parametrize(
    "obj",
    [
        *_instances(keras.initializers),
        keras.initializers.RandomUniform(-1, 2, seed=5),
        keras.regularizers.L1(0.3),
        keras.regularizers.L2(0.4),
        keras.regularizers.L1L2(0.1, 0.2),
        *[cls(name="renamed") for cls in set(keras.metrics._BY_NAME.values())],
        keras.metrics.TopKCategoricalAccuracy(k=3),
        keras.metrics.Recall(thresholds=0.2),
        *[cls() for cls in keras.losses._CLASSES.values()],
        keras.losses.CategoricalCrossentropy(label_smoothing=0.2),
        *[OPTIMIZERS[name]() for name in sorted(OPTIMIZERS)],
    ],
    ids=lambda obj: type(obj).__name__,
)
def test_object_configs_round_trip(obj):
    serialized = keras.saving.serialize_keras_object(obj)
    json.dumps(serialized)  # JSON-able
    clone = keras.saving.deserialize_keras_object(serialized)
    assert type(clone) is type(obj)
    assert clone.get_config() == obj.get_config()
