"""Keras's per-layer saving hooks: a layer that overrides `save_own_variables` /
`load_own_variables` saves and loads what it chooses (state kept outside its weights), in
`.keras` files and `.weights.h5` files, with Keras's keys; the default hooks write and read
the layer's own variables as "0", "1", ...; a hook that refuses leaves the model unchanged."""

import numpy as np
import pytest

import eigennet
from eigennet import layers


def counter_class(lib):
    """A custom layer (a product with its own kernel) that also counts calls in an integer
    array kept outside its weights, saved through the hooks as Keras's guide shows."""

    @lib.saving.register_keras_serializable(package="hooks_test")
    class CallCounter(lib.layers.Layer):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.calls = np.zeros((2,), "int64")

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")

        def call(self, x):
            return lib.ops.matmul(x, self.kernel)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

        def save_own_variables(self, store):
            super().save_own_variables(store)
            store["calls"] = self.calls

        def load_own_variables(self, store):
            super().load_own_variables({k: store[k] for k in store.keys() if k != "calls"})
            self.calls = np.array(store["calls"])

    return CallCounter


def counter_model(lib):
    inputs = lib.Input((5,))
    x = counter_class(lib)(name="counter")(inputs)
    model = lib.Model(inputs, lib.layers.Dense(2)(x))
    model.get_layer("counter").calls[:] = [7, 11]
    return model


def test_hooks_save_and_load_state_outside_the_weights(tmp_path):
    model = counter_model(eigennet)
    x = np.random.RandomState(0).rand(3, 5).astype("float32")
    model.save(tmp_path / "m.keras")
    again = eigennet.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(again.get_layer("counter").calls, [7, 11])
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))

    fresh = counter_model(eigennet)
    fresh.get_layer("counter").calls[:] = 0
    model.save_weights(tmp_path / "m.weights.h5")
    fresh.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(fresh.get_layer("counter").calls, [7, 11])
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_built_in_layer_subclass_can_override_the_hooks(tmp_path):
    @eigennet.saving.register_keras_serializable(package="hooks_test")
    class ScaledDense(layers.Dense):
        scale = 1.0

        def save_own_variables(self, store):
            super().save_own_variables(store)
            store["scale"] = np.array(self.scale)

        def load_own_variables(self, store):
            super().load_own_variables({k: store[k] for k in ("0", "1")})
            self.scale = float(store["scale"])

    model = eigennet.Sequential([eigennet.Input((3,)), ScaledDense(2)])
    model.layers[0].scale = 2.5
    model.save(tmp_path / "m.keras")
    again = eigennet.models.load_model(tmp_path / "m.keras")
    assert again.layers[0].scale == 2.5
    for ours, theirs in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_default_hooks_write_and_read_the_own_variables():
    dense = layers.Dense(3)
    dense.build((None, 4))
    store = {}
    dense.save_own_variables(store)
    assert sorted(store) == ["0", "1"]
    np.testing.assert_array_equal(store["0"], dense.kernel.numpy())
    other = layers.Dense(3)
    other.build((None, 4))
    other.load_own_variables(store)
    np.testing.assert_array_equal(other.kernel.numpy(), dense.kernel.numpy())
    with pytest.raises(ValueError, match=r"expected 2 variables, but received 1"):
        other.load_own_variables({"0": store["0"]})
    with pytest.raises(ValueError, match="Cannot assign a value of shape"):
        other.load_own_variables({"0": store["0"], "1": np.zeros(5)})


def test_a_refusing_load_hook_leaves_every_weight_unchanged(tmp_path):
    model = counter_model(eigennet)
    model.save(tmp_path / "m.keras")
    target = counter_model(eigennet)
    target.get_layer("counter").calls[:] = 0
    before = target.get_weights()
    counter = target.get_layer("counter")

    def refuse(self, store):
        self.kernel.assign(np.full((5, 4), 9.0))  # a write the refusal must undo
        raise ValueError("refused")

    original = type(counter).load_own_variables
    type(counter).load_own_variables = refuse
    try:
        with pytest.raises(ValueError, match="refused"):
            target.load_weights(tmp_path / "m.keras")
    finally:
        type(counter).load_own_variables = original
    for now, then in zip(target.get_weights(), before):
        np.testing.assert_array_equal(now, then)


def test_a_hook_saving_non_numeric_values_is_refused(tmp_path):
    @eigennet.saving.register_keras_serializable(package="hooks_test")
    class Tagged(layers.Dense):
        def save_own_variables(self, store):
            super().save_own_variables(store)
            store["tag"] = "text"

    model = eigennet.Sequential([eigennet.Input((3,)), Tagged(2)])
    with pytest.raises(TypeError, match=r"save_own_variables of layer .*'tag' holds"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()


def test_hook_entries_use_keras_keys_and_load_across_libraries(tmp_path):
    keras = pytest.importorskip("keras")
    theirs = counter_model(keras)
    theirs.save(tmp_path / "keras.keras")
    ours = eigennet.models.load_model(tmp_path / "keras.keras")
    np.testing.assert_array_equal(ours.get_layer("counter").calls, [7, 11])
    x = np.random.RandomState(1).rand(4, 5).astype("float32")
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    ours.get_layer("counter").calls[:] = [3, 5]
    ours.save(tmp_path / "ours.keras")
    back = keras.models.load_model(tmp_path / "ours.keras")
    np.testing.assert_array_equal(back.get_layer("counter").calls, [3, 5])
    np.testing.assert_allclose(
        back.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
