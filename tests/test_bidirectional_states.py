"""Bidirectional with Keras's initial_state, return_state and merge_mode=None: forward and
backward against the NumPy reference, float64 finite differences through an encoder-decoder
whose Bidirectional encoder's concatenated states start the decoder (keras-io's pattern),
Keras 3 parity on the same weights (with and without masks), saving, eager calls and bad
input."""

import json

import numpy as np
import pytest

import eigennet
from eigennet import _core, layers
from gradient_check import assert_gradients_match_finite_differences
from keras_parity import assert_trains_like_keras
from reference import recurrent as ref

KINDS = [
    ("SimpleRNN", {}),
    ("LSTM", {}),
    ("GRU", {"reset_after": True}),
    ("GRU", {"reset_after": False}),
]
MERGE_MODES = ["concat", "sum", "mul", "ave", None]


@pytest.fixture
def float64():
    eigennet.config.set_floatx("float64")
    try:
        yield
    finally:
        eigennet.config.set_floatx("float32")


def state_count(kind):
    return 2 if kind == "LSTM" else 1


def random_weights(rng, spec, n_in):
    g, u = spec.gates, spec.units
    w = [rng.normal(size=(n_in, g * u)) / np.sqrt(n_in), rng.normal(size=(u, g * u)) / np.sqrt(u)]
    shape = (2, g * u) if spec.kind == "GRU" and spec.reset_after else (g * u,)
    return w + [rng.normal(size=shape) * 0.3]


def specs(kind, kwargs, units, return_sequences):
    return (
        ref.Spec(kind, units, return_sequences=return_sequences, **kwargs),
        ref.Spec(kind, units, return_sequences=return_sequences, go_backwards=True, **kwargs),
    )


def bidirectional(kind, kwargs, units, return_sequences, merge_mode, return_state=True):
    inner = getattr(layers, kind)(
        units, return_sequences=return_sequences, return_state=return_state, **kwargs
    )
    return layers.Bidirectional(inner, merge_mode=merge_mode)


def as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


@pytest.mark.parametrize("kind,kwargs", KINDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("merge_mode", MERGE_MODES)
def test_forward_matches_reference(kind, kwargs, return_sequences, merge_mode, float64):
    rng = np.random.default_rng(1)
    batch, steps, n_in, units = 3, 4, 2, 5
    spec_f, spec_b = specs(kind, kwargs, units, return_sequences)
    weights = random_weights(rng, spec_f, n_in) + random_weights(rng, spec_b, n_in)
    x = rng.normal(size=(batch, steps, n_in))
    initial = [rng.normal(size=(batch, units)) for _ in range(2 * state_count(kind))]
    layer = bidirectional(kind, kwargs, units, return_sequences, merge_mode)
    layer(x, initial_state=initial)  # eager: arrays in, arrays out
    layer.set_weights(weights)
    out = layer(x, initial_state=initial)
    merged, cache = ref.bidirectional_forward(
        spec_f, spec_b, x, weights[:3], weights[3:], merge_mode, initial=initial
    )
    want = as_list(merged) + cache[0]["states"] + cache[1]["states"]
    assert len(out) == len(want)
    for got, expected in zip(out, want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    # without initial_state: zeros; without return_state: the outputs alone
    plain = bidirectional(kind, kwargs, units, return_sequences, merge_mode, return_state=False)
    plain(x)
    plain.set_weights(weights)
    merged, _ = ref.bidirectional_forward(spec_f, spec_b, x, weights[:3], weights[3:], merge_mode)
    for got, expected in zip(as_list(plain(x)), as_list(merged), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind,kwargs", KINDS)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_backward_matches_reference(kind, kwargs, return_sequences, float64):
    """The packed core's vector-Jacobian product (states' gradients in, initial states'
    gradients out) against the reference's backpropagation through time."""
    rng = np.random.default_rng(2)
    batch, steps, n_in, units = 3, 4, 2, 3
    spec_f, spec_b = specs(kind, kwargs, units, return_sequences)
    weights = random_weights(rng, spec_f, n_in) + random_weights(rng, spec_b, n_in)
    x = rng.normal(size=(batch, steps, n_in))
    n = state_count(kind)
    initial = [rng.normal(size=(batch, units)) for _ in range(2 * n)]
    layer = bidirectional(kind, kwargs, units, return_sequences, "concat")
    layer(x, initial_state=initial)
    layer.set_weights(weights)
    merged, cache = ref.bidirectional_forward(
        spec_f, spec_b, x, weights[:3], weights[3:], "concat", initial=initial
    )
    core = layer._state_call(True)._core_for([x.shape[1:]] + [(units,)] * (2 * n))
    d_states = [rng.normal(size=(batch, units)) for _ in initial]
    dy = rng.normal(size=merged.shape)
    # packed: step k is [forward state k | backward state k], then the outputs
    state_rows = [np.concatenate([d_states[k], d_states[n + k]], 1) for k in range(n)]
    packed_dy = np.concatenate(state_rows + [dy.reshape(batch, -1)], axis=1)
    flat = [np.ascontiguousarray(a.reshape(batch, -1)) for a in [x, *initial]]
    _, param_grad, grads = _core.layer_vjp_inputs_float64(core, flat, packed_dy)
    w_grads, dx, d_initial = ref.bidirectional_backward(
        spec_f, spec_b, cache, dy, "concat", d_states
    )
    np.testing.assert_allclose(
        param_grad, np.concatenate([g.ravel() for g in w_grads]), rtol=1e-9, atol=1e-11
    )
    np.testing.assert_allclose(grads[0].reshape(x.shape), dx, rtol=1e-9, atol=1e-11)
    for got, want in zip(grads[1:], d_initial, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kind,kwargs", KINDS)
def test_masked_steps_carry_the_states(kind, kwargs, float64):
    rng = np.random.default_rng(3)
    batch, steps, n_in, units = 4, 5, 3, 2
    spec_f, spec_b = specs(kind, kwargs, units, True)
    weights = random_weights(rng, spec_f, n_in) + random_weights(rng, spec_b, n_in)
    x = rng.normal(size=(batch, steps, n_in))
    x[0, 3:] = 0
    x[1, :2] = 0
    x[2, :] = 0  # everything masked: the states stay the initial ones
    initial = [rng.normal(size=(batch, units)) for _ in range(2 * state_count(kind))]
    inp = eigennet.Input((steps, n_in))
    states_in = [eigennet.Input((units,)) for _ in initial]
    masked = layers.Masking()(inp)
    layer = bidirectional(kind, kwargs, units, True, "concat")
    outs = layer(masked, initial_state=states_in, mask=masked._keras_mask)
    model = eigennet.Model([inp, *states_in], outs)
    layer.set_weights(weights)
    got = model.predict([x, *initial], verbose=0)
    mask = np.any(x != 0, axis=-1)
    merged, cache = ref.bidirectional_forward(
        spec_f, spec_b, x, weights[:3], weights[3:], initial=initial, mask=mask
    )
    np.testing.assert_allclose(got[0][mask], merged[mask], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[0][~mask], 0)  # Keras's Bidirectional: zeros there
    for a, b in zip(got[1:], cache[0]["states"] + cache[1]["states"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1][2], initial[0][2])


def encoder_decoder(lib, kind, units=3, merge_mode="concat", masked=True, steps=(4, 5)):
    """keras-io's pattern: a Bidirectional encoder whose forward and backward states,
    concatenated, start a decoder of twice the units; the merged encoder output (pooled) is
    an output too, so every merge mode's gradient is checked. With `masked`, the encoder's
    input goes through Masking (an implicit mask) and the decoder gets an explicit one."""
    enc_in = lib.Input((steps[0], 2))
    dec_in = lib.Input((steps[1], 3))
    enc_x = lib.layers.Masking()(enc_in) if masked else enc_in
    encoder = lib.layers.Bidirectional(
        getattr(lib.layers, kind)(units, return_sequences=True, return_state=True),
        merge_mode=merge_mode,
    )
    enc_out, *states = encoder(enc_x)
    if merge_mode is None:
        enc_out = lib.layers.Concatenate()([enc_out, states.pop(0)])
    n = len(states) // 2
    states = [lib.layers.Concatenate()([states[k], states[n + k]]) for k in range(n)]
    mask = lib.ops.any(lib.ops.not_equal(dec_in, 0.0), axis=-1) if masked else None
    decoder = getattr(lib.layers, kind)(2 * units, return_sequences=True, return_state=True)
    seq, h, *_ = decoder(dec_in, initial_state=states, mask=mask)
    out = lib.layers.Dense(2, name="steps")(seq)
    pooled = lib.layers.GlobalAveragePooling1D()(enc_out)
    summary = lib.layers.Concatenate(name="summary")([h, pooled])
    return lib.Model([enc_in, dec_in], [out, summary])


def encoder_decoder_data(rng, batch, dtype="float64"):
    xe = rng.normal(size=(batch, 4, 2)).astype(dtype)
    xd = rng.normal(size=(batch, 5, 3)).astype(dtype)
    xe[0, 3:] = 0
    xe[1, :1] = 0
    xd[0, 3:] = 0
    xd[1, :2] = 0
    return xe, xd


@pytest.mark.parametrize(
    "kind,merge_mode",
    [("LSTM", "concat"), ("GRU", "mul"), ("SimpleRNN", "ave"), ("LSTM", None), ("GRU", "sum")],
)
@pytest.mark.parametrize("masked", [True, False])
def test_finite_differences_through_the_encoder_states(kind, merge_mode, masked, float64):
    rng = np.random.default_rng(4)
    model = encoder_decoder(eigennet, kind, merge_mode=merge_mode, masked=masked)
    model.compile(optimizer="sgd", loss=["mse", "mse"])
    xe, xd = encoder_decoder_data(rng, 3)
    ys = [rng.normal(size=(3, 5, 2)), rng.normal(size=(3, model.outputs[1].shape[-1]))]
    assert_gradients_match_finite_differences(model, [xe, xd], ys, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "kind,merge_mode", [("LSTM", "concat"), ("GRU", "ave"), ("SimpleRNN", "mul"), ("LSTM", None)]
)
@pytest.mark.parametrize("masked", [True, False])
def test_trains_like_keras(kind, merge_mode, masked):
    keras = pytest.importorskip("keras")

    def build(lib):
        model = encoder_decoder(lib, kind, merge_mode=merge_mode, masked=masked)
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss=["mse", "mse"])
        return model

    ours, theirs = build(eigennet), build(keras)
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(5)
    xe, xd = encoder_decoder_data(rng, 16, "float32")
    xe[::3, 2:] = 0
    width = ours.outputs[1].shape[-1]
    ys = [rng.normal(size=(16, 5, 2)).astype("float32"), rng.normal(size=(16, width))]
    for a, b in zip(
        ours.predict([xe, xd], verbose=0), theirs.predict([xe, xd], verbose=0), strict=True
    ):
        np.testing.assert_allclose(a, np.asarray(b), atol=1e-5)
    assert_trains_like_keras(ours, theirs, [xe, xd], ys, epochs=2, batch_size=5)


def test_initial_state_parity_with_keras_masked_and_not():
    """A Bidirectional given initial_state: Keras splits the list into the forward and
    backward halves; as for the recurrent layers, its input's mask is given only explicitly."""
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(6)
    x = rng.normal(size=(6, 5, 3)).astype("float32")
    x[::2, 3:] = 0
    hs = [rng.normal(size=(6, 4)).astype("float32") for _ in range(4)]

    def build(lib, explicit):
        inp = lib.Input((5, 3))
        states = [lib.Input((4,)) for _ in hs]
        masked = lib.layers.Masking()(inp)
        mask = lib.ops.any(lib.ops.not_equal(inp, 0.0), axis=-1) if explicit else None
        layer = lib.layers.Bidirectional(
            lib.layers.LSTM(4, return_sequences=True, return_state=True), merge_mode="sum"
        )
        return lib.Model([inp, *states], layer(masked, initial_state=states, mask=mask))

    for explicit in (True, False):
        ours, theirs = build(eigennet, explicit), build(keras, explicit)
        theirs.set_weights(ours.get_weights())
        got, want = ours.predict([x, *hs], verbose=0), theirs.predict([x, *hs], verbose=0)
        assert len(got) == len(want) == 5
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, np.asarray(b), atol=1e-5)


def test_save_load_and_functional_config_both_ways(tmp_path):
    keras = pytest.importorskip("keras")
    model = encoder_decoder(eigennet, "LSTM", merge_mode=None)
    model.compile(optimizer="adam", loss=["mse", "mse"])
    rng = np.random.default_rng(7)
    xs = list(encoder_decoder_data(rng, 3, "float32"))
    want = model.predict(xs, verbose=0)
    model.save(tmp_path / "bidirectional_s2s.keras")
    loaded = eigennet.saving.load_model(tmp_path / "bidirectional_s2s.keras")
    for a, b in zip(want, loaded.predict(xs, verbose=0), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # (ops in a functional config are eigennet's: Keras reads the unmasked model's)
    model = encoder_decoder(eigennet, "LSTM", merge_mode=None, masked=False)
    want = model.predict(xs, verbose=0)
    theirs = keras.Model.from_config(model.get_config())
    theirs.set_weights(model.get_weights())
    for a, b in zip(want, theirs.predict(xs, verbose=0), strict=True):
        np.testing.assert_allclose(a, np.asarray(b), atol=1e-5)
    back = eigennet.Model.from_config(json.loads(json.dumps(theirs.get_config())))
    back.set_weights(model.get_weights())
    for a, b in zip(want, back.predict(xs, verbose=0), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_eager_calls_and_shapes():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    y, fh, fc, bh, bc = layers.Bidirectional(layers.LSTM(5, return_state=True))(x)
    assert y.shape == (2, 10) and fh.shape == fc.shape == bh.shape == bc.shape == (2, 5)
    np.testing.assert_allclose(y, np.concatenate([fh, bh], 1))
    gru = layers.Bidirectional(layers.GRU(5), merge_mode="ave")
    out = gru(x, initial_state=[fh, bh])
    assert out.shape == (2, 5)
    assert not np.allclose(out, gru(x))  # the initial states matter
    seq, seq_rev = layers.Bidirectional(layers.SimpleRNN(5, return_sequences=True), None)(x)
    assert seq.shape == seq_rev.shape == (2, 3, 5)
    inp = eigennet.Input((None, 4))
    outs = layers.Bidirectional(layers.LSTM(5, return_sequences=True, return_state=True))(inp)
    assert [t.shape for t in outs] == [(None, None, 10)] + [(None, 5)] * 4
    outs = layers.Bidirectional(layers.GRU(5, return_state=True), merge_mode=None)(inp)
    assert [t.shape for t in outs] == [(None, 5)] * 4


def test_variable_length_encoder_runs_any_length():
    inp = eigennet.Input((None, 3))
    layer = layers.Bidirectional(layers.GRU(4, return_sequences=True, return_state=True), "mul")
    model = eigennet.Model(inp, layer(inp))
    rng = np.random.default_rng(9)
    for steps in (2, 6):
        x = rng.normal(size=(2, steps, 3)).astype("float32")
        seq, fh, bh = model.predict(x, verbose=0)
        assert seq.shape == (2, steps, 4)
        np.testing.assert_allclose(fh, layer(x)[1], atol=1e-6)
        np.testing.assert_allclose(bh, layer(x)[2], atol=1e-6)


def test_bad_states_raise_clear_errors():
    x = np.zeros((2, 3, 4), dtype="float32")
    layer = layers.Bidirectional(layers.LSTM(2))
    with pytest.raises(ValueError, match=r"expects 4 initial state\(s\) \(\[forward_h, "):
        layer(x, initial_state=[np.zeros((2, 2))] * 2)
    with pytest.raises(ValueError, match=r"initial_state\[3\] must have shape \(batch, 2\)"):
        layer(x, initial_state=[np.zeros((2, 2))] * 3 + [np.zeros((2, 3))])
    wide = layers.Bidirectional(layers.GRU(2), backward_layer=layers.GRU(3, go_backwards=True))
    with pytest.raises(ValueError, match=r"initial_state\[1\] must have shape \(batch, 3\)"):
        wide(x, initial_state=[np.zeros((2, 2)), np.zeros((2, 2))])
    with pytest.raises(ValueError, match="return_state"):
        layers.Bidirectional(
            layers.GRU(2, return_state=True), backward_layer=layers.GRU(2, go_backwards=True)
        )
    with pytest.raises(ValueError, match="same states"):
        layers.Bidirectional(
            layers.GRU(2, return_state=True),
            backward_layer=layers.LSTM(2, return_state=True, go_backwards=True),
        )
    with pytest.raises(ValueError, match="mask= applies to symbolic tensors"):
        layers.Bidirectional(layers.GRU(2, return_state=True))(x, mask=np.ones((2, 3)))


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_dropout_is_inactive_at_inference_as_keras(kind):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(10)
    x = rng.normal(size=(4, 5, 3)).astype("float32")
    n = state_count(kind)
    hs = [rng.normal(size=(4, 3)).astype("float32") for _ in range(2 * n)]

    def build(lib):
        inp, states = lib.Input((5, 3)), [lib.Input((3,)) for _ in hs]
        inner = getattr(lib.layers, kind)(
            3, dropout=0.4, recurrent_dropout=0.3, return_sequences=True, return_state=True
        )
        outs = lib.layers.Bidirectional(inner, merge_mode="ave")(inp, initial_state=states)
        return lib.Model([inp, *states], outs)

    ours, theirs = build(eigennet), build(keras)
    theirs.set_weights(ours.get_weights())
    got = ours.predict([x, *hs], verbose=0)
    for a, b in zip(got, theirs.predict([x, *hs], verbose=0), strict=True):
        np.testing.assert_allclose(a, np.asarray(b), atol=1e-5)
    # in training the dropout masks change the output
    trained = [np.asarray(t) for t in ours([x, *hs], training=True)]
    assert not np.allclose(trained[0], got[0])


def test_stateful_is_refused_clearly():
    with pytest.raises(ValueError, match=r"LSTM\(stateful=True\) is not supported"):
        layers.Bidirectional(layers.LSTM(2, stateful=True))


def test_initial_state_call_saves_and_configs_both_ways(tmp_path):
    """The call's initial_state (four tensors) is among the node's kwargs, as Keras's."""
    keras = pytest.importorskip("keras")
    inp, states = eigennet.Input((5, 3)), [eigennet.Input((4,)) for _ in range(4)]
    layer = layers.Bidirectional(
        layers.LSTM(4, return_sequences=True, return_state=True), merge_mode="sum"
    )
    model = eigennet.Model([inp, *states], layer(inp, initial_state=states))
    rng = np.random.default_rng(11)
    xs = [rng.normal(size=(2, 5, 3)).astype("float32")]
    xs += [rng.normal(size=(2, 4)).astype("float32") for _ in states]
    want = model.predict(xs, verbose=0)
    model.save(tmp_path / "initial.keras")
    loaded = eigennet.saving.load_model(tmp_path / "initial.keras")
    theirs = keras.Model.from_config(model.get_config())
    theirs.set_weights(model.get_weights())
    back = eigennet.Model.from_config(json.loads(json.dumps(theirs.get_config())))
    back.set_weights(model.get_weights())
    for other in (loaded, theirs, back):
        for a, b in zip(want, other.predict(xs, verbose=0), strict=True):
            np.testing.assert_allclose(a, np.asarray(b), atol=1e-5)
    node = [c for c in model.get_config()["layers"] if c["class_name"] == "Bidirectional"]
    assert len(node[0]["inbound_nodes"][0]["kwargs"]["initial_state"]) == 4
