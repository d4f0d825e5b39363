"""The Functional API: keras.Model(inputs, outputs) over the native graph — structure, several
inputs and outputs in training, Keras's log names, nesting, configs, gradients and errors."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers
from gradient_check import assert_gradients_match_finite_differences


def _two_outputs():
    inputs = keras.Input((4,), name="features")
    hidden = layers.Dense(8, activation="tanh", name="hidden")(inputs)
    reg = layers.Dense(1, name="reg")(hidden)
    cls = layers.Dense(3, activation="softmax", name="cls")(hidden)
    return keras.Model(inputs, [reg, cls])


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), [rng.normal(size=(n, 1)), rng.integers(0, 3, n)]


def test_structure_follows_keras():
    model = _two_outputs()
    assert type(model).__name__ == "Functional" and isinstance(model, keras.Model)
    assert [layer.name for layer in model.layers] == ["features", "hidden", "reg", "cls"]
    assert model.output_names == ["reg", "cls"] and model.input_names == ["features"]
    assert model.input_shape == (None, 4) and model.output_shape == [(None, 1), (None, 3)]
    assert model.get_layer("hidden") is model.layers[1] and model.get_layer(index=-1).name == "cls"
    assert model.count_params() == 4 * 8 + 8 + 9 + 27
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("nope")


def test_chain_trains_bit_identically_to_sequential():
    x, (y, _) = _data()
    keras.utils.set_random_seed(3)
    seq = keras.Sequential([keras.Input((4,)), layers.Dense(5, activation="relu"), layers.Dense(1)])
    inputs = keras.Input((4,))
    fn = keras.Model(inputs, layers.Dense(1)(layers.Dense(5, activation="relu")(inputs)))
    fn.set_weights(seq.get_weights())
    histories = []
    for model in (seq, fn):
        model.compile(optimizer="adam", loss="mse")
        keras.utils.set_random_seed(7)
        histories.append(model.fit(x, y, epochs=3, batch_size=5, verbose=0).history["loss"])
    assert histories[0] == histories[1]
    for a, b in zip(seq.get_weights(), fn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_two_outputs_losses_weights_and_metrics_named_as_keras():
    model = _two_outputs()
    model.compile(
        optimizer="adam",
        loss=["mse", "sparse_categorical_crossentropy"],
        loss_weights=[1.0, 0.5],
        metrics=[["mae"], ["accuracy"]],
    )
    x, y = _data()
    history = model.fit(x, y, epochs=2, verbose=0, validation_split=0.25)
    assert sorted(history.history) == sorted(
        f"{p}{k}"
        for p in ("", "val_")
        for k in ("loss", "reg_loss", "cls_loss", "reg_mae", "cls_accuracy")
    )
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["reg_loss"] + 0.5 * logs["cls_loss"], rel=1e-5)
    values = model.evaluate(x, y, verbose=0)
    assert values == [logs[k] for k in ("loss", "reg_loss", "cls_loss", "cls_accuracy", "reg_mae")]
    reg, cls = model.predict(x, verbose=0)
    assert reg.shape == (24, 1) and cls.shape == (24, 3)
    np.testing.assert_allclose(cls.sum(axis=1), 1, rtol=1e-5)


def test_dicts_by_name_and_an_output_without_loss():
    model = _two_outputs()
    model.compile(optimizer="sgd", loss={"reg": "mse", "cls": None}, metrics={"reg": ["mae"]})
    x, (y_reg, _) = _data()
    history = model.fit({"features": x}, {"reg": y_reg}, epochs=1, verbose=0)
    assert sorted(history.history) == ["loss", "reg_mae"]  # Keras: no reg_loss for one loss
    with pytest.raises(ValueError, match="unknown"):
        model.fit(x, {"reg": y_reg, "oops": y_reg}, verbose=0)
    model.compile(optimizer="sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match="unknown output"):
        model.fit(x, [y_reg, y_reg], verbose=0)


def test_one_target_for_the_one_output_with_a_loss():
    """As Keras (its CompileLoss): y for the outputs that have a loss only, in order (keras-io's
    miniature GPT compiles loss=[loss_fn, None] and fits on one y)."""
    model = _two_outputs()
    model.compile(optimizer="sgd", loss=["mse", None], metrics=[["mae"], None])
    x, (y_reg, _) = _data()
    history = model.fit(x, y_reg, epochs=2, verbose=0, validation_data=(x, y_reg))
    assert sorted(history.history) == ["loss", "reg_mae", "val_loss", "val_reg_mae"]
    assert history.history["loss"][1] < history.history["loss"][0]
    np.testing.assert_allclose(
        model.evaluate(x, y_reg, verbose=0), model.evaluate(x, [y_reg, None], verbose=0)
    )
    with pytest.raises(ValueError, match="pass y as a list of 2 arrays"):
        model.fit(x, [y_reg, y_reg, y_reg], verbose=0)


def test_two_inputs_fan_out_and_predict_structure():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    shared = layers.Dense(4, name="shared")
    out = layers.Dense(1, name="out")(shared(a))
    aux = layers.Dense(1, name="aux")(b)
    model = keras.Model({"a": a, "b": b}, {"out": out, "aux": aux})
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    pred = model.predict({"a": xa, "b": xb}, verbose=0)
    assert set(pred) == {"out", "aux"}
    np.testing.assert_allclose(pred["aux"], xb @ model.get_layer("aux").get_weights()[0], rtol=1e-5)
    with pytest.raises(ValueError, match="misses key"):
        model.predict({"a": xa}, verbose=0)
    with pytest.raises(ValueError, match="2 inputs"):
        model.predict(xa, verbose=0)


def test_gradients_with_fan_out_and_a_layer_called_twice(float64):
    inputs = keras.Input((3,))
    shared = layers.Dense(3, activation="tanh")
    first = shared(inputs)
    second = shared(first)  # the same weights at two calls
    head = layers.Dense(2)
    outputs = [head(second), layers.Dense(1)(first)]  # `first` feeds two nodes
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss=["mse", "mse"], loss_weights=[1.0, 0.3])
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 3))
    y = [rng.normal(size=(6, 2)), rng.normal(size=(6, 1))]
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)


def test_nesting_both_ways_shares_weights():
    inputs = keras.Input((4,))
    inner = keras.Model(inputs, layers.Dense(3, activation="relu")(inputs))
    outer = keras.Sequential([inner, layers.Dense(1)])
    x, (y, _) = _data()
    outer.compile(optimizer="sgd", loss="mse")
    outer.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_allclose(outer.layers[0].predict(x, verbose=0), inner.predict(x, verbose=0))

    stack = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    z = keras.Input((4,))
    wrapper = keras.Model(z, layers.Dense(1)(stack(z)))
    before = stack.get_weights()[0].copy()
    wrapper.compile(optimizer="sgd", loss="mse")
    wrapper.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(before, stack.get_weights()[0])  # trained through the wrapper
    feature = keras.Model(wrapper.input, wrapper.layers[-1].input)  # feature extractor
    np.testing.assert_allclose(feature.predict(x, verbose=0), stack.predict(x, verbose=0))


def test_config_round_trip_and_json_form():
    model = _two_outputs()
    config = model.get_config()
    assert config["input_layers"] == ["features", 0, 0]  # one tensor: unwrapped, as Keras
    assert config["output_layers"] == [["reg", 0, 0], ["cls", 0, 0]]
    hidden = next(entry for entry in config["layers"] if entry["name"] == "hidden")
    history = hidden["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
    assert history == ["features", 0, 0]
    rebuilt = type(model).from_config(config)
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    rebuilt.set_weights(model.get_weights())
    x, _ = _data()
    for a, b in zip(model.predict(x, verbose=0), rebuilt.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)


def test_bad_graphs_raise_clear_errors():
    a, b = keras.Input((3,)), keras.Input((3,))
    out = layers.Dense(1)(b)
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, out)
    with pytest.warns(UserWarning, match="not connected"):
        keras.Model([a, b], out)
    with pytest.raises(ValueError, match="incompatible"):
        dense = layers.Dense(2)
        dense(a)
        dense(keras.Input((5,)))
    with pytest.raises(TypeError, match="symbolic"):
        keras.Model(a, np.zeros((1, 3)))
    with pytest.raises(TypeError, match="inputs and outputs"):
        keras.Model()
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(a)


def test_generators_and_py_datasets_feed_several_inputs_and_outputs():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    joined = layers.concatenate([a, b])
    outputs = {
        "o1": layers.Dense(1, name="o1")(joined),
        "o2": layers.Dense(2, activation="softmax", name="o2")(joined),
    }
    model = keras.Model({"a": a, "b": b}, outputs)
    model.compile(
        optimizer="adam",
        loss={"o1": "mse", "o2": "sparse_categorical_crossentropy"},
        metrics={"o2": ["accuracy"]},
    )
    rng = np.random.default_rng(5)

    def batch():
        x = {"a": rng.normal(size=(4, 3)), "b": rng.normal(size=(4, 2))}
        return x, {"o1": rng.normal(size=(4, 1)), "o2": rng.integers(0, 2, 4)}

    def batches():
        while True:
            yield batch()

    history = model.fit(
        batches(), steps_per_epoch=3, epochs=2, verbose=0, shuffle=False,
        validation_data=batches(), validation_steps=2,
    )  # fmt: skip
    assert sorted(history.history) == sorted(
        f"{p}{k}" for p in ("", "val_") for k in ("loss", "o1_loss", "o2_loss", "o2_accuracy")
    )

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return batch()

    logs = model.evaluate(Batches(), verbose=0, return_dict=True)
    assert set(logs) == {"loss", "o1_loss", "o2_loss", "o2_accuracy"}
    pred = model.predict(Batches(), verbose=0)
    assert pred["o1"].shape == (12, 1) and pred["o2"].shape == (12, 2)


def test_save_load_resumes_bit_identically_with_shared_layers(tmp_path):
    left, right = keras.Input((5,), name="left"), keras.Input((5,), name="right")
    tower = layers.Dense(4, activation="tanh", name="tower")
    merged = layers.concatenate([tower(left), tower(right)])
    model = keras.Model([left, right], layers.Dense(1, name="head")(merged))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    rng = np.random.default_rng(4)
    x, y = [rng.normal(size=(20, 5)), rng.normal(size=(20, 5))], rng.normal(size=(20, 1))
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "siamese.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded).__name__ == "Functional"
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights]
    histories = []
    for m in (model, loaded):
        keras.utils.set_random_seed(11)
        histories.append(m.fit(x, y, epochs=2, batch_size=4, verbose=0).history)
    assert histories[0] == histories[1]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    json_model = keras.models.model_from_json(model.to_json())
    assert json_model.input_names == ["left", "right"] and len(json_model.weights) == 4


def test_dict_losses_and_metrics_survive_saving_and_model_from_config(tmp_path):
    model = _two_outputs()
    model.compile(
        optimizer="adam",
        loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
        loss_weights={"reg": 1.0, "cls": 0.5},
        metrics={"cls": ["accuracy"]},
    )
    x, y = _data()
    model.fit(x, {"reg": y[0], "cls": y[1]}, epochs=1, verbose=0)
    model.save(tmp_path / "dicts.keras")
    loaded = keras.models.load_model(tmp_path / "dicts.keras")
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(
        x, y, verbose=0, return_dict=True
    )
    rebuilt = keras.Model.from_config(model.get_config())
    assert type(rebuilt).__name__ == "Functional" and rebuilt.output_names == ["reg", "cls"]


def test_nested_input_structures_take_data_in_the_same_nesting():
    """Inputs given as a dict of dicts or a list holding a list take x in that nesting, its
    leaves in keras.tree order (dict keys sorted), as Keras does."""
    spec = {"b": {"y": 2, "x": 3}, "a": 1}
    inputs = keras.tree.map_structure(lambda w: keras.Input((w,)), spec)
    joined = keras.layers.Concatenate()(keras.tree.flatten(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(joined))
    rng = np.random.default_rng(0)
    data = keras.tree.map_structure(lambda w: rng.normal(size=(5, w)).astype("float32"), spec)
    flat = np.concatenate(keras.tree.flatten(data), axis=1)  # a, b.x, b.y
    kernel, bias = model.layers[-1].get_weights()
    np.testing.assert_allclose(model.predict(data, verbose=0), flat @ kernel + bias, rtol=1e-5)
    model.compile(loss="mse", optimizer="sgd")
    model.fit(data, np.zeros((5, 2)), epochs=1, verbose=0, validation_split=0.2)
    with pytest.raises(ValueError, match="must nest as the model's inputs"):
        model.predict({"a": data["a"], "b": data["b"]["x"]}, verbose=0)
    with pytest.raises(ValueError, match="Node keys mismatch"):
        model.predict({"a": data["a"], "b": {"x": data["b"]["x"], "z": data["b"]["y"]}})

    a, b, c = keras.Input((1,)), keras.Input((2,)), keras.Input((1,))
    listed = keras.Model([a, [b, c]], keras.layers.Concatenate()([a, b, c]))
    xs = [np.ones((3, 1)), [np.full((3, 2), 2.0), np.full((3, 1), 3.0)]]
    np.testing.assert_array_equal(listed.predict(xs, verbose=0)[0], [1, 2, 2, 3])
