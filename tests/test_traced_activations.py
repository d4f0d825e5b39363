"""Activations the core does not run inside a layer: Keras's relu6, softsign, exponential,
hard_sigmoid, hard_silu/hard_swish, mish, log_softmax, log_sigmoid, and functions of your own,
in `layers.Activation` (traced into the graph like a custom layer's call()) and as the
`activation` of Dense, the convolutions and EinsumDense: values against NumPy and against
the linear layer followed by `layers.Activation`, gradients against float64 finite
differences, configs and saving, and the errors of recurrent layers and unknown names."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import activations, layers, ops
from gradient_check import assert_gradients_match_finite_differences


def _softplus(x):
    return np.logaddexp(0.0, x)


REFERENCES = {
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "softsign": lambda x: x / (np.abs(x) + 1.0),
    "exponential": np.exp,
    "hard_sigmoid": lambda x: np.clip(x + 3.0, 0.0, 6.0) / 6.0,
    "hard_silu": lambda x: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
    "hard_swish": lambda x: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "log_softmax": lambda x: (
        x
        - x.max(-1, keepdims=True)
        - np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True))
    ),
    "log_sigmoid": lambda x: -_softplus(-x),
    "celu": lambda x: np.maximum(x, 0.0) + np.expm1(np.minimum(x, 0.0)),
    "hard_tanh": lambda x: np.clip(x, -1.0, 1.0),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0.0),
    "soft_shrink": lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0.0),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4.0)) / 2.0,
    "sparse_plus": lambda x: np.where(x <= -1, 0.0, np.where(x >= 1, x, (x + 1.0) ** 2 / 4.0)),
    "sparse_sigmoid": lambda x: np.clip((x + 1.0) / 2.0, 0.0, 1.0),
}

X = np.random.default_rng(5).normal(scale=3.0, size=(6, 7)).astype("float32")


@keras.saving.register_keras_serializable(package="test_traced_activations")
def cube_root_ish(x):
    return x / (1.0 + ops.abs(x)) ** 0.5


@pytest.fixture
def float64():
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx("float32")


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_named_activation_in_a_model_equals_numpy(name):
    inputs = keras.Input((7,))
    model = keras.Model(inputs, layers.Activation(name)(inputs))
    expected = REFERENCES[name](X.astype("float64"))
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(activations.get(name)(X), expected, rtol=2e-6, atol=2e-6)
    saved_as = "hard_silu" if name == "hard_swish" else name  # Keras's name for both
    assert layers.Activation(name).get_config()["activation"] == saved_as


@pytest.mark.parametrize(
    "activation",
    ["mish", "hard_silu", "log_softmax", "celu", "squareplus", "soft_shrink", "sparse_plus",
     "tanh_shrink", cube_root_ish],
)  # fmt: skip
def test_traced_activation_gradients_match_finite_differences(float64, activation):
    model = keras.Sequential(
        [keras.Input((5,)), layers.Dense(4), layers.Activation(activation), layers.Dense(2)]
    )
    model.compile("sgd", "mse")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 5)), rng.normal(size=(6, 2))
    assert_gradients_match_finite_differences(model, x, y)


def test_custom_activation_function_trains_saves_and_loads(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((7,)),
            layers.Dense(8),
            layers.Activation(cube_root_ish),
            layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    y = X.sum(1, keepdims=True)
    losses = model.fit(X, y, epochs=5, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    config = model.layers[1].get_config()["activation"]
    assert config == {  # Keras 3's form: a registered function by its registered name
        "module": "builtins",
        "class_name": "function",
        "config": "test_traced_activations>cube_root_ish",
        "registered_name": "function",
    }
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[1].activation is cube_root_ish
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


# Layers taking an `activation` compute linearly in the core and run any other activation
# after (traced): each must equal the same layer, linear, followed by layers.Activation.
LAYERS_WITH_ACTIVATION = {
    "Dense": (lambda a: layers.Dense(4, activation=a), (6, 7)),
    "Dense-3d": (lambda a: layers.Dense(4, activation=a), (6, 3, 7)),
    "Conv1D": (lambda a: layers.Conv1D(4, 3, activation=a), (6, 7, 2)),
    "Conv2D": (lambda a: layers.Conv2D(3, 2, padding="same", activation=a), (6, 5, 5, 2)),
    "Conv2DTranspose": (lambda a: layers.Conv2DTranspose(3, 2, activation=a), (6, 4, 4, 2)),
    "SeparableConv1D": (lambda a: layers.SeparableConv1D(4, 3, activation=a), (6, 7, 2)),
    "DepthwiseConv2D": (lambda a: layers.DepthwiseConv2D(2, activation=a), (6, 5, 5, 2)),
    "EinsumDense": (
        lambda a: layers.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c", activation=a),
        (6, 7),
    ),
}


def _linear_twin(layer):
    config = {**layer.get_config(), "activation": None, "name": layer.name + "_linear"}
    return type(layer).from_config(config)


@pytest.mark.parametrize("kind", sorted(LAYERS_WITH_ACTIVATION))
@pytest.mark.parametrize("activation", ["mish", "relu6", cube_root_ish])
def test_layer_with_any_activation_equals_linear_layer_then_activation(kind, activation):
    make, shape = LAYERS_WITH_ACTIVATION[kind]
    x = np.random.default_rng(3).normal(size=shape).astype("float32")
    layer = make(activation)
    inputs = keras.Input(shape[1:])
    model = keras.Model(inputs, layer(inputs))
    twin = _linear_twin(layer)
    twin(x)
    twin.set_weights(layer.get_weights())
    expected = np.asarray(layers.Activation(activation)(twin(x)))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-5, atol=1e-6)  # on arrays
    assert [type(v).__name__ for v in model.layers] == ["InputLayer", type(layer).__name__]
    assert activations.deserialize(layer.get_config()["activation"]) is activations.get(activation)


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.Dense(3, activation="mish"),
        lambda: layers.Conv1D(3, 2, activation=cube_root_ish),
        lambda: layers.EinsumDense("ab,bc->ac", output_shape=3, activation="softsign"),
    ],
)
def test_layer_activation_gradients_match_finite_differences(float64, make):
    is_conv = isinstance(make(), layers.Conv1D)
    shape = (4, 2) if is_conv else (5,)
    model = keras.Sequential(
        [keras.Input(shape), make(), layers.Flatten(), layers.Dense(2, activation="log_softmax")]
    )
    model.compile("sgd", "mse")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, *shape)), rng.normal(size=(6, 2))
    assert_gradients_match_finite_differences(model, x, y)


def test_layer_with_custom_activation_trains_like_its_twin_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(4)
    model = keras.Sequential(
        [keras.Input((7,)), layers.Dense(8, activation=cube_root_ish), layers.Dense(1)]
    )
    twin = keras.Sequential(
        [keras.Input((7,)), layers.Dense(8), layers.Activation(cube_root_ish), layers.Dense(1)]
    )
    twin.set_weights(model.get_weights())
    y = X.sum(1, keepdims=True)
    for m in (model, twin):
        m.compile(keras.optimizers.Adam(0.01), "mse")
    fit = dict(epochs=4, batch_size=3, shuffle=False, verbose=0)
    losses = model.fit(X, y, **fit).history["loss"]
    np.testing.assert_allclose(losses, twin.fit(X, y, **fit).history["loss"], rtol=1e-5)
    assert losses[-1] < losses[0]
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[0].activation is cube_root_ish
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_activation_after_a_layer_keeps_automatic_names_and_fusions_out():
    keras.utils.clear_session()
    dense = layers.Dense(3, activation="mish")
    assert layers.Activation("relu").name == "activation"  # none used by the Dense's
    inputs = keras.Input((3,))
    out = layers.Add()([dense(inputs), inputs])  # not fused as a residual block: mish kept
    x = X[:, :3]
    twin = _linear_twin(dense)
    twin(x)
    twin.set_weights(dense.get_weights())
    expected = np.asarray(activations.mish(twin(x))) + x
    np.testing.assert_allclose(keras.Model(inputs, out).predict(x, verbose=0), expected,
                               rtol=1e-5, atol=1e-6)  # fmt: skip


def test_activation_must_keep_the_layer_output_shape():
    def halves(x):
        return x[..., :2]

    model_input = keras.Input((5,))
    with pytest.raises(ValueError, match="must keep the shape"):
        keras.Model(model_input, layers.Dense(4, activation=halves)(model_input)).predict(
            X[:, :5], verbose=0
        )


def test_recurrent_layers_and_unknown_names_refuse_with_a_pointer():
    with pytest.raises(ValueError, match=r"layers\.RNN"):
        layers.LSTM(3, activation="mish")
    with pytest.raises(ValueError, match="Unknown activation 'no_such'"):
        layers.Dense(3, activation="no_such")
    with pytest.raises(ValueError, match="Unknown activation 'no_such'"):
        layers.Activation("no_such")
    with pytest.raises(TypeError, match="name or a function"):
        layers.Activation(3)


def test_activations_get_serialize_deserialize_as_keras():
    assert activations.get(None) is activations.linear
    assert activations.get("relu6") is activations.relu6
    assert activations.get(cube_root_ish) is cube_root_ish
    assert activations.serialize(activations.mish) == "mish"
    assert activations.serialize("swish") == "silu"  # as Keras 3 saves it
    assert activations.deserialize(activations.serialize(cube_root_ish)) is cube_root_ish
    assert activations.deserialize("hard_swish") is activations.hard_silu


def test_layers_with_non_native_activations_train_like_keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    kr = pytest.importorskip("keras")
    from keras_parity import assert_trains_like_keras

    def build(lib):
        return lib.Sequential(
            [
                lib.Input((6, 6, 1)),
                lib.layers.Conv2D(3, 3, activation="relu6"),
                lib.layers.Flatten(),
                lib.layers.Dense(5, activation="mish"),
                lib.layers.Dense(2, activation="hard_sigmoid"),
            ]
        )

    ours, theirs = build(keras), build(kr)
    theirs.set_weights(ours.get_weights())
    for m, lib in ((ours, keras), (theirs, kr)):
        m.compile(lib.optimizers.Adam(0.01), "mse")
    rng = np.random.default_rng(7)
    x = rng.normal(size=(16, 6, 6, 1)).astype("float32")
    y = rng.uniform(size=(16, 2)).astype("float32")
    assert_trains_like_keras(ours, theirs, x, y)


NEW_OPS = {  # keras.ops functions added with Keras 3's newer activations, with arguments
    "celu": {"alpha": 0.7},
    "glu": {"axis": -1},
    "hard_tanh": {},
    "hard_shrink": {"threshold": 0.8},
    "soft_shrink": {"threshold": 0.3},
    "tanh_shrink": {},
    "squareplus": {"b": 2.0},
    "sparse_plus": {},
    "sparse_sigmoid": {},
    "threshold": {"threshold": 0.2, "default_value": -1.5},
    "normalize": {"axis": 1},
}


@pytest.mark.parametrize("name", sorted(NEW_OPS))
def test_new_ops_equal_keras_on_arrays_and_in_a_model(name):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    kr = pytest.importorskip("keras")
    kwargs = NEW_OPS[name]
    x = np.random.default_rng(9).normal(scale=2.0, size=(5, 6)).astype("float32")
    expected = kr.ops.convert_to_numpy(getattr(kr.ops, name)(x, **kwargs))
    np.testing.assert_allclose(getattr(ops, name)(x, **kwargs), expected, rtol=1e-6, atol=1e-6)
    inputs = keras.Input((6,))
    model = keras.Model(inputs, getattr(ops, name)(inputs, **kwargs))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    if name != "normalize":  # (an op, not an activation)
        assert activations.get(name) is getattr(activations, name)


def test_glu_halves_its_axis_and_refuses_odd_lengths():
    assert layers.Activation("glu")(np.ones((2, 6), "float32")).shape == (2, 3)
    with pytest.raises(ValueError, match="even length"):
        ops.glu(np.ones((2, 5), "float32"))
    inputs = keras.Input((5,))
    with pytest.raises(ValueError, match="must keep the shape"):
        keras.Model(inputs, layers.Dense(4, activation="glu")(inputs)).predict(
            np.ones((2, 5), "float32"), verbose=0
        )


def _sparsemax_reference(z):
    """Martins and Astudillo's Algorithm 1, row by row."""
    out = np.empty_like(z)
    for r, row in enumerate(z):
        desc = np.sort(row)[::-1]
        cumulative = np.cumsum(desc)
        k = np.arange(1, len(row) + 1)
        support = k[1 + k * desc > cumulative].max()
        out[r] = np.maximum(row - (cumulative[support - 1] - 1) / support, 0)
    return out


def test_sparsemax_projects_onto_the_simplex_and_trains(float64):
    x = np.random.default_rng(8).normal(scale=2.0, size=(6, 7))
    expected = _sparsemax_reference(x)
    np.testing.assert_allclose(ops.sparsemax(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ops.sparsemax(np.array([[0.0, 0.5, 1.0]])), [[0, 0.25, 0.75]])
    inputs = keras.Input((7,))
    model = keras.Model(inputs, layers.Activation("sparsemax")(inputs))
    predicted = model.predict(x, verbose=0)
    np.testing.assert_allclose(predicted, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(predicted.sum(-1), 1.0)
    x3 = np.random.default_rng(9).normal(size=(2, 5, 3))
    moved = _sparsemax_reference(np.moveaxis(x3, 1, -1).reshape(-1, 5)).reshape(2, 3, 5)
    np.testing.assert_allclose(ops.sparsemax(x3, axis=1), np.moveaxis(moved, -1, 1), atol=1e-12)
    net = keras.Sequential(
        [keras.Input((5,)), layers.Dense(6), layers.Activation("sparsemax"), layers.Dense(2)]
    )
    net.compile("sgd", "mse")
    rng = np.random.default_rng(10)
    assert_gradients_match_finite_differences(net, rng.normal(size=(6, 5)), rng.normal(size=(6, 2)))


def test_time_distributed_layer_runs_its_wrapped_layers_activation():
    x = np.random.default_rng(12).normal(size=(3, 4, 5)).astype("float32")
    wrapper = layers.TimeDistributed(layers.Dense(3, activation=cube_root_ish))
    model = keras.Sequential([keras.Input((4, 5)), wrapper])
    kernel, bias = wrapper.layer.get_weights()
    expected = np.asarray(cube_root_ish(x @ kernel + bias))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(wrapper(x), expected, rtol=1e-5, atol=1e-6)
