"""Recurrent layers in Keras 3 (torch backend) and eigennet from the same weights: predict,
a few epochs of fit (shuffle=False), weights, configs and summaries.

Skipped when keras or torch is not installed.
"""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
pytest.importorskip("torch")
keras = pytest.importorskip("keras")

import eigennet  # noqa: E402

RTOL, ATOL = 2e-4, 2e-5
T, F = 6, 3


@pytest.fixture(autouse=True)
def _seed_keras():
    keras.utils.set_random_seed(5)  # Keras draws the shared initial weights


def _data(n=24, outputs=1, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, T, F).astype("float32"), rng.randn(n, outputs).astype("float32")


def _pair(make_layers):
    """The same stack in both libraries, eigennet holding Keras's initial weights."""
    k_model = keras.Sequential([keras.Input(shape=(T, F)), *make_layers(keras)])
    e_model = eigennet.Sequential([eigennet.Input(shape=(T, F)), *make_layers(eigennet)])
    k_weights = [np.array(w) for w in k_model.get_weights()]
    assert [w.shape for w in e_model.get_weights()] == [w.shape for w in k_weights]
    e_model.set_weights(k_weights)
    return k_model, e_model


RECURRENT = {
    "simple_rnn": lambda lib, **kw: lib.layers.SimpleRNN(5, **kw),
    "lstm": lambda lib, **kw: lib.layers.LSTM(5, **kw),
    "gru": lambda lib, **kw: lib.layers.GRU(5, **kw),
    "gru_reset_before": lambda lib, **kw: lib.layers.GRU(5, reset_after=False, **kw),
}
OPTIONS = {
    "last": {},
    "backwards": {"go_backwards": True},
    "sequences": {"return_sequences": True},
    "sequences_backwards": {"return_sequences": True, "go_backwards": True},
}


def _stack(kind, options):
    def make(lib):
        first = RECURRENT[kind](lib, **options)
        if options.get("return_sequences"):
            return [first, lib.layers.LSTM(3, activation="relu"), lib.layers.Dense(1)]
        return [first, lib.layers.Dense(1)]

    return make


def _assert_close_lists(a, b, rtol=RTOL, atol=ATOL):
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"array {i}")


def _fit_both(k_model, e_model, x, y, epochs=3, lr=0.01, rtol=RTOL, atol=ATOL):
    k_model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse")
    e_model.compile(optimizer=eigennet.optimizers.Adam(lr), loss="mse")
    fit = dict(batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    k_hist = k_model.fit(x, y, **fit)
    e_hist = e_model.fit(x, y, **fit)
    np.testing.assert_allclose(e_hist.history["loss"], k_hist.history["loss"], rtol=rtol)
    _assert_close_lists(
        e_model.get_weights(), [np.array(w) for w in k_model.get_weights()], rtol, atol
    )


@pytest.mark.parametrize("options", OPTIONS, ids=list(OPTIONS))
@pytest.mark.parametrize("kind", RECURRENT)
def test_predict_and_fit_match_keras(kind, options):
    x, y = _data()
    k_model, e_model = _pair(_stack(kind, OPTIONS[options]))
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=RTOL, atol=ATOL
    )
    _fit_both(k_model, e_model, x, y)


@pytest.mark.parametrize("kind", RECURRENT)
def test_layer_output_sequences_match_keras(kind):
    """The raw sequence output (processing order when go_backwards, as Keras)."""
    x, _ = _data()
    k_model, e_model = _pair(
        lambda lib: [RECURRENT[kind](lib, return_sequences=True, go_backwards=True)]
    )
    k_out = k_model.predict(x, verbose=0)
    assert k_out.shape == (24, T, 5)
    np.testing.assert_allclose(e_model.predict(x, verbose=0), k_out, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("act,ract", [("relu", "sigmoid"), ("elu", "tanh"), ("linear", "softplus")])
@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_reset_before"])
def test_other_activations_match_keras(kind, act, ract):
    x, y = _data()
    k_model, e_model = _pair(
        lambda lib: [
            RECURRENT[kind](lib, activation=act, recurrent_activation=ract, return_sequences=True),
            lib.layers.SimpleRNN(2, activation="selu"),
            lib.layers.Dense(1),
        ]
    )
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=RTOL, atol=ATOL
    )
    _fit_both(k_model, e_model, x, y, epochs=2)


@pytest.mark.parametrize("merge", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_bidirectional_matches_keras(merge, return_sequences):
    x, y = _data()

    def make(lib):
        bidir = lib.layers.Bidirectional(
            lib.layers.LSTM(4, return_sequences=return_sequences), merge_mode=merge
        )
        tail = [lib.layers.GRU(3)] if return_sequences else []
        return [bidir, *tail, lib.layers.Dense(1)]

    k_model, e_model = _pair(make)
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=RTOL, atol=ATOL
    )
    _fit_both(k_model, e_model, x, y)


def test_bidirectional_with_backward_layer_matches_keras():
    x, y = _data()
    k_model, e_model = _pair(
        lambda lib: [
            lib.layers.Bidirectional(
                lib.layers.GRU(4, return_sequences=True),
                backward_layer=lib.layers.SimpleRNN(4, return_sequences=True, go_backwards=True),
            ),
            lib.layers.LSTM(2),
            lib.layers.Dense(1),
        ]
    )
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=RTOL, atol=ATOL
    )
    _fit_both(k_model, e_model, x, y)


def test_regularized_lstm_matches_keras():
    x, y = _data()

    def make(lib):
        return [
            lib.layers.LSTM(
                4,
                kernel_regularizer=lib.regularizers.L2(0.01),
                recurrent_regularizer=lib.regularizers.L1(0.001),
                bias_regularizer=lib.regularizers.L2(0.02),
                activity_regularizer=lib.regularizers.L2(0.05),
            ),
            lib.layers.Dense(1),
        ]

    k_model, e_model = _pair(make)
    _fit_both(k_model, e_model, x, y)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.layers.SimpleRNN(3),
        lambda lib: lib.layers.LSTM(3, dropout=0.1),
        lambda lib: lib.layers.GRU(3, reset_after=False, return_sequences=True),
    ],
    ids=["simple_rnn", "lstm", "gru"],
)
def test_config_keys_match_keras(make):
    k_config, e_config = make(keras).get_config(), make(eigennet).get_config()
    assert list(e_config) == list(k_config)
    for key, value in k_config.items():
        if key in ("name", "dtype") or isinstance(value, dict):
            continue
        assert e_config[key] == value, key


def test_bidirectional_config_keys_match_keras():
    k_config = keras.layers.Bidirectional(keras.layers.LSTM(3)).get_config()
    e_config = eigennet.layers.Bidirectional(eigennet.layers.LSTM(3)).get_config()
    assert list(e_config) == list(k_config)
    assert e_config["merge_mode"] == k_config["merge_mode"]
    for key in ("layer", "backward_layer"):
        assert e_config[key]["class_name"] == k_config[key]["class_name"]
        assert list(e_config[key]["config"]) == list(k_config[key]["config"])
        assert e_config[key]["config"]["go_backwards"] == k_config[key]["config"]["go_backwards"]


def test_summary_matches_keras():
    def make(lib):
        return [
            lib.layers.Bidirectional(lib.layers.LSTM(8, return_sequences=True)),
            lib.layers.GRU(4, return_sequences=True),
            lib.layers.GRU(4, reset_after=False, go_backwards=True),
            lib.layers.Dense(2),
        ]

    k_model, e_model = _pair(make)
    assert e_model.count_params() == k_model.count_params()
    for k_layer, e_layer in zip(k_model.layers, e_model.layers, strict=True):
        assert e_layer.count_params() == k_layer.count_params()
        assert tuple(e_layer.output_shape) == tuple(k_layer.output.shape)
        assert type(e_layer).__name__ == type(k_layer).__name__


def _json_stack(lib):
    return [
        lib.layers.Bidirectional(
            lib.layers.LSTM(4, return_sequences=True, dropout=0.2), merge_mode="sum"
        ),
        lib.layers.GRU(3, reset_after=False, return_sequences=True, go_backwards=True),
        lib.layers.SimpleRNN(2, kernel_regularizer=lib.regularizers.L2(0.01)),
        lib.layers.Dense(1),
    ]


@pytest.mark.parametrize("direction", ["eigennet_to_keras", "keras_to_eigennet"])
def test_model_json_moves_between_keras_and_eigennet(direction):
    x, _ = _data()
    if direction == "eigennet_to_keras":
        source = eigennet.Sequential([eigennet.Input(shape=(T, F)), *_json_stack(eigennet)])
        target = keras.models.model_from_json(source.to_json())
    else:
        source = keras.Sequential([keras.Input(shape=(T, F)), *_json_stack(keras)])
        target = eigennet.models.model_from_json(source.to_json())
    assert [type(a).__name__ for a in target.layers] == [type(b).__name__ for b in source.layers]
    assert target.count_params() == source.count_params()
    target.set_weights([np.array(w) for w in source.get_weights()])
    np.testing.assert_allclose(
        target.predict(x, verbose=0), source.predict(x, verbose=0), rtol=RTOL, atol=ATOL
    )
