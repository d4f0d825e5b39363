"""Recurrent layers with Keras's initial_state and return_state: forward and backward against
the NumPy reference, float64 finite differences through a model (gradients flow into the
initial states and out of the returned states, masks and go_backwards included), Keras 3
parity on the same weights, saving, eager calls and bad input."""

import contextlib
import json

import numpy as np
import pytest

import eigennet
from eigennet import _core, layers, ops
from gradient_check import assert_gradients_match_finite_differences
from keras_parity import assert_trains_like_keras
from reference import recurrent as ref

KINDS = [
    ("SimpleRNN", {}),
    ("LSTM", {}),
    ("GRU", {"reset_after": True}),
    ("GRU", {"reset_after": False}),
]


@contextlib.contextmanager
def floatx(name):
    eigennet.config.set_floatx(name)
    try:
        yield
    finally:
        eigennet.config.set_floatx("float32")


@pytest.fixture
def float64():
    with floatx("float64"):
        yield


def random_weights(rng, spec, n_in):
    g, u = spec.gates, spec.units
    w = [rng.normal(size=(n_in, g * u)) / np.sqrt(n_in), rng.normal(size=(u, g * u)) / np.sqrt(u)]
    shape = (2, g * u) if spec.kind == "GRU" and spec.reset_after else (g * u,)
    return w + [rng.normal(size=shape) * 0.3]


def make_layer(spec, **extra):
    kwargs = dict(return_sequences=spec.return_sequences, go_backwards=spec.go_backwards, **extra)
    if spec.kind == "GRU":
        kwargs["reset_after"] = spec.reset_after
    return getattr(layers, spec.kind)(spec.units, **kwargs)


def state_count(kind):
    return 2 if kind == "LSTM" else 1


@pytest.mark.parametrize("kind,kwargs", KINDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_forward_and_backward_match_reference(
    kind, kwargs, return_sequences, go_backwards, float64
):
    rng = np.random.default_rng(1)
    batch, steps, n_in, units = 3, 4, 2, 5
    spec = ref.Spec(kind, units, return_sequences=return_sequences, go_backwards=go_backwards,
                    **kwargs)  # fmt: skip
    weights = random_weights(rng, spec, n_in)
    x = rng.normal(size=(batch, steps, n_in))
    initial = [rng.normal(size=(batch, units)) for _ in range(state_count(kind))]
    layer = make_layer(spec, return_state=True)
    out = layer(x, initial_state=initial)  # eager: arrays in, arrays out
    layer.set_weights(weights)
    out = layer(x, initial_state=initial)
    y_ref, cache = ref.forward(spec, x, weights, initial=initial)
    assert len(out) == 1 + len(initial)
    np.testing.assert_allclose(out[0], y_ref, rtol=1e-10, atol=1e-12)
    for got, want in zip(out[1:], cache["states"], strict=False):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # backward: the packed core's vector-Jacobian product against the reference's BPTT
    samples = [x.shape[1:]] + [(units,)] * len(initial)
    core = layer._state_call(True)._core_for(samples)
    d_states = [rng.normal(size=(batch, units)) for _ in initial]
    dy = rng.normal(size=y_ref.shape)
    packed_dy = np.concatenate(d_states + [dy.reshape(batch, -1)], axis=1)
    flat = [np.ascontiguousarray(a.reshape(batch, -1)) for a in [x, *initial]]
    _, param_grad, grads = _core.layer_vjp_inputs_float64(core, flat, packed_dy)
    w_grads, dx, d_initial = ref.backward(spec, cache, dy, d_states)
    np.testing.assert_allclose(param_grad, np.concatenate([g.ravel() for g in w_grads]),
                               rtol=1e-9, atol=1e-11)  # fmt: skip
    np.testing.assert_allclose(grads[0].reshape(x.shape), dx, rtol=1e-9, atol=1e-11)
    for got, want in zip(grads[1:], d_initial, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kind,kwargs", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masked_steps_carry_the_initial_state(kind, kwargs, go_backwards, float64):
    rng = np.random.default_rng(2)
    batch, steps, n_in, units = 4, 5, 3, 4
    spec = ref.Spec(kind, units, return_sequences=True, go_backwards=go_backwards, **kwargs)
    weights = random_weights(rng, spec, n_in)
    x = rng.normal(size=(batch, steps, n_in))
    x[0, 3:] = 0  # padding at the end
    x[1, :2] = 0  # and at the start: the initial state carries over
    x[2, :] = 0  # everything masked: the states stay the initial ones
    initial = [rng.normal(size=(batch, units)) for _ in range(state_count(kind))]
    inp = eigennet.Input((steps, n_in))
    states_in = [eigennet.Input((units,)) for _ in initial]
    masked = layers.Masking()(inp)
    layer = make_layer(spec, return_state=True)
    outs = layer(masked, initial_state=states_in, mask=masked._keras_mask)
    model = eigennet.Model([inp, *states_in], outs)
    layer.set_weights(weights)
    got = model.predict([x, *initial], verbose=0)
    mask = np.any(x != 0, axis=-1)
    y_ref, cache = ref.forward(spec, x, weights, initial=initial, mask=mask)
    for a, b in zip(got[1:], cache["states"], strict=False):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # every step (in processing order): masked ones repeat the last output, zeros before any
    np.testing.assert_allclose(got[0], y_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1][2], initial[0][2])  # all masked: h0 itself
    np.testing.assert_allclose(got[0][2], 0)  # (Keras's output there: zeros, not h0)


def encoder_decoder(kind, units=3, go_backwards=False, masked=True, steps=(4, 5), feats=(2, 3)):
    """An encoder whose final states start a decoder; the decoder's sequence and final h are
    the outputs, so gradients flow out of returned states and into initial states."""
    enc_in = eigennet.Input((steps[0], feats[0]))
    dec_in = eigennet.Input((steps[1], feats[1]))
    enc = getattr(layers, kind)(units, return_state=True, go_backwards=go_backwards)
    _, *states = enc(enc_in)
    # (Keras passes no implicit mask to a call with initial_state: given explicitly)
    mask = ops.any(ops.not_equal(dec_in, 0.0), axis=-1) if masked else None
    dec = getattr(layers, kind)(units, return_sequences=True, return_state=True)
    seq, h, *_ = dec(dec_in, initial_state=states, mask=mask)
    out = layers.Dense(2)(seq)
    model = eigennet.Model([enc_in, dec_in], [out, h])
    return model


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_finite_differences_through_states(kind, go_backwards, float64):
    rng = np.random.default_rng(3)
    model = encoder_decoder(kind, go_backwards=go_backwards)
    model.compile(optimizer="sgd", loss=["mse", "mse"])
    xe = rng.normal(size=(3, 4, 2))
    xd = rng.normal(size=(3, 5, 3))
    xd[0, 3:] = 0
    xd[1, :2] = 0
    ys = [rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 3))]
    assert_gradients_match_finite_differences(model, [xe, xd], ys, rtol=1e-6, atol=1e-9)


def test_encoder_learns_through_the_decoder_states(float64):
    """Only the encoder's states carry the information the decoder needs: training must
    change the encoder's weights (its gradient comes through initial_state)."""
    model = encoder_decoder("LSTM", masked=False)
    model.compile(optimizer="sgd", loss=["mse", "mse"], loss_weights=[1.0, 0.0])
    encoder = model.layers[2] if model.layers[2].name.startswith("lstm") else model.layers[1]
    before = [w.copy() for w in encoder.get_weights()]
    rng = np.random.default_rng(4)
    model.fit([rng.normal(size=(8, 4, 2)), rng.normal(size=(8, 5, 3))],
              [rng.normal(size=(8, 5, 2)), np.zeros((8, 3))], epochs=1, verbose=0)  # fmt: skip
    assert any(not np.allclose(a, b) for a, b in zip(before, encoder.get_weights()))


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("explicit_mask", [True, False])
def test_trains_like_keras_with_masked_initial_state(kind, explicit_mask):
    """Keras 3 passes a layer its input's mask implicitly only when the call has one tensor
    argument: with initial_state the mask must be given (mask=...), else the steps are not
    masked (the outputs still carry the mask)."""
    keras = pytest.importorskip("keras")

    def build(lib):
        enc_in = lib.Input((4, 2))
        dec_in = lib.Input((5, 3))
        _, *states = getattr(lib.layers, kind)(4, return_state=True)(enc_in)
        dec_x = lib.layers.Masking()(dec_in)
        decoder = getattr(lib.layers, kind)(4, return_sequences=True, return_state=True)
        mask = lib.ops.any(lib.ops.not_equal(dec_in, 0.0), axis=-1) if explicit_mask else None
        seq, h, *_ = decoder(dec_x, initial_state=states, mask=mask)
        out = lib.layers.Dense(2)(lib.layers.GlobalAveragePooling1D()(seq))
        model = lib.Model([enc_in, dec_in], lib.layers.Concatenate()([out, h]))
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
        return model

    ours, theirs = build(eigennet), build(keras)
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(5)
    xe = rng.normal(size=(16, 4, 2)).astype("float32")
    xd = rng.normal(size=(16, 5, 3)).astype("float32")
    xd[::3, 3:] = 0
    xd[1::4, :1] = 0
    y = rng.normal(size=(16, 6)).astype("float32")
    np.testing.assert_allclose(
        ours.predict([xe, xd], verbose=0), theirs.predict([xe, xd], verbose=0), atol=1e-5
    )
    assert_trains_like_keras(ours, theirs, [xe, xd], y, epochs=2, batch_size=5)


def test_eager_calls_and_shapes():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    lstm = layers.LSTM(5, return_state=True)
    y, h, c = lstm(x)
    assert y.shape == h.shape == c.shape == (2, 5)
    np.testing.assert_allclose(y, h)
    gru = layers.GRU(5)
    out = gru(x, initial_state=[h])
    assert out.shape == (2, 5)
    assert not np.allclose(out, gru(x))  # the initial state matters
    seq, state = layers.SimpleRNN(5, return_sequences=True, return_state=True)(x)
    assert seq.shape == (2, 3, 5) and state.shape == (2, 5)
    np.testing.assert_allclose(seq[:, -1], state)
    # symbolic
    inp = eigennet.Input((None, 4))
    outs = layers.LSTM(5, return_sequences=True, return_state=True)(inp)
    assert [t.shape for t in outs] == [(None, None, 5), (None, 5), (None, 5)]


def test_variable_length_decoder_runs_any_length():
    inp = eigennet.Input((None, 3))
    h_in, c_in = eigennet.Input((4,)), eigennet.Input((4,))
    lstm = layers.LSTM(4, return_sequences=True, return_state=True)
    seq, h, c = lstm(inp, initial_state=[h_in, c_in])
    model = eigennet.Model([inp, h_in, c_in], [seq, h, c])
    rng = np.random.default_rng(7)
    h0, c0 = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    full = model.predict([x, h0, c0], verbose=0)
    first = model.predict([x[:, :2], h0, c0], verbose=0)
    rest = model.predict([x[:, 2:], first[1], first[2]], verbose=0)
    assert full[0].shape == (2, 6, 4) and first[0].shape == (2, 2, 4)
    np.testing.assert_allclose(np.concatenate([first[0], rest[0]], 1), full[0], atol=1e-5)
    np.testing.assert_allclose(rest[1], full[1], atol=1e-5)


def test_save_and_load_round_trip(tmp_path):
    model = encoder_decoder("LSTM")
    model.compile(optimizer="adam", loss=["mse", "mse"])
    rng = np.random.default_rng(8)
    xs = [rng.normal(size=s).astype("float32") for s in ((3, 4, 2), (3, 5, 3))]
    path = tmp_path / "s2s.keras"
    model.save(path)
    loaded = eigennet.saving.load_model(path)
    for a, b in zip(model.predict(xs, verbose=0), loaded.predict(xs, verbose=0), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    config = model.get_config()
    calls = [layer["inbound_nodes"] for layer in config["layers"] if layer["class_name"] == "LSTM"]
    assert "initial_state" in calls[1][0]["kwargs"]
    assert [len(x["kwargs"]["initial_state"]) for x in calls[1]] == [2]


def test_functional_config_is_keras_both_ways():
    keras = pytest.importorskip("keras")
    model = encoder_decoder("GRU", masked=False)
    rng = np.random.default_rng(9)
    xs = [rng.normal(size=s).astype("float32") for s in ((3, 4, 2), (3, 5, 3))]
    theirs = keras.Model.from_config(model.get_config())
    theirs.set_weights(model.get_weights())
    for a, b in zip(model.predict(xs, verbose=0), theirs.predict(xs, verbose=0), strict=True):
        np.testing.assert_allclose(a, np.asarray(b), atol=1e-5)
    back = eigennet.Model.from_config(json.loads(json.dumps(theirs.get_config())))  # as saved
    back.set_weights(model.get_weights())
    for a, b in zip(model.predict(xs, verbose=0), back.predict(xs, verbose=0), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_bad_states_raise_clear_errors():
    x = np.zeros((2, 3, 4), dtype="float32")
    lstm = layers.LSTM(5)
    with pytest.raises(ValueError, match=r"expects 2 initial state\(s\)"):
        lstm(x, initial_state=[np.zeros((2, 5))])
    with pytest.raises(ValueError, match=r"initial_state\[1\] must have shape \(batch, 5\)"):
        lstm(x, initial_state=[np.zeros((2, 5)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="one state per sample"):
        lstm(x, initial_state=[np.zeros((3, 5)), np.zeros((3, 5))])
    with pytest.raises(ValueError, match=r"initial_state\[0\]"):
        layers.GRU(3)(eigennet.Input((3, 4)), initial_state=[eigennet.Input((4,))])
    with pytest.raises(ValueError, match="stateful=True"):
        layers.LSTM(2, stateful=True)
