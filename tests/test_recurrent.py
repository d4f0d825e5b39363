"""SimpleRNN, LSTM, GRU and Bidirectional against the NumPy reference (forward, BPTT),
float64 finite differences, dropout masks, threads, shapes, configs and bad arguments."""

import contextlib

import numpy as np
import pytest

import eigennet
from eigennet import layers
from reference import losses as ref_losses
from reference import recurrent as ref

B, T, F = 5, 4, 3
KINDS = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})]
KIND_IDS = ["simple_rnn", "lstm", "gru", "gru_reset_before"]


@contextlib.contextmanager
def floatx(name):
    eigennet.config.set_floatx(name)
    try:
        yield
    finally:
        eigennet.config.set_floatx("float32")


# -- a tiny sequential reference: ("dense", kernel, bias) | ("rnn", spec, weights, kwargs) |
#    ("bidir", spec_f, spec_b, weights_f, weights_b, merge_mode) ---------------------------
def random_weights(rng, kind, n_in, units, use_bias=True, reset_after=True):
    g = ref.GATES[kind]
    w = [
        rng.normal(size=(n_in, g * units)) / np.sqrt(n_in),
        rng.normal(size=(units, g * units)) / np.sqrt(units),
    ]
    if use_bias:
        shape = (2, g * units) if kind == "GRU" and reset_after else (g * units,)
        w.append(rng.normal(size=shape) * 0.3)
    return w


def rnn_entry(rng, kind, n_in, units, use_bias=True, **kwargs):
    spec = ref.Spec(kind, units, **kwargs)
    weights = random_weights(rng, kind, n_in, units, use_bias, kwargs.get("reset_after", True))
    return ("rnn", spec, weights)


def dense_entry(rng, n_in, units):
    return ("dense", rng.normal(size=(n_in, units)) / np.sqrt(n_in), rng.normal(size=units) * 0.1)


def flat_weights(entries, dtype):
    out = []
    for e in entries:
        if e[0] == "dense":
            out += [e[1], e[2]]
        elif e[0] == "rnn":
            out += list(e[2])
        else:
            out += list(e[3]) + list(e[4])
    return [np.asarray(w, dtype=dtype) for w in out]


def eigennet_layer(e):
    if e[0] == "dense":
        return layers.Dense(e[1].shape[1])
    if e[0] == "rnn":
        return make_layer(e[1], use_bias=len(e[2]) == 3)
    fwd = make_layer(e[1], use_bias=len(e[3]) == 3)
    bwd = make_layer(e[2], use_bias=len(e[4]) == 3)
    return layers.Bidirectional(fwd, backward_layer=bwd, merge_mode=e[5])


def make_layer(spec, use_bias=True, **extra):
    cls = getattr(layers, spec.kind)
    kwargs = dict(
        activation=spec.activation,
        use_bias=use_bias,
        return_sequences=spec.return_sequences,
        go_backwards=spec.go_backwards,
        **extra,
    )
    if spec.kind != "SimpleRNN":
        kwargs["recurrent_activation"] = spec.recurrent_activation
    if spec.kind == "GRU":
        kwargs["reset_after"] = spec.reset_after
    return cls(spec.units, **kwargs)


def build_model(entries, input_shape, dtype, loss="mse"):
    model = eigennet.Sequential([eigennet.Input(shape=input_shape)])
    for e in entries:
        model.add(eigennet_layer(e))
    model.compile(optimizer="sgd", loss=loss)
    model.set_weights(flat_weights(entries, dtype))
    return model


def ref_forward(entries, x):
    h, caches = x, []
    for e in entries:
        if e[0] == "dense":
            caches.append(h)
            h = h @ e[1] + e[2]
        elif e[0] == "rnn":
            h, c = ref.forward(e[1], h, e[2])
            caches.append(c)
        else:
            h, c = ref.bidirectional_forward(e[1], e[2], h, e[3], e[4], e[5])
            caches.append(c)
    return h, caches


def ref_loss_and_grads(entries, x, y):
    out, caches = ref_forward(entries, x)
    value, dh = ref_losses.value_and_grad("mean_squared_error", y, out)
    grads = []
    for e, c in zip(reversed(entries), reversed(caches), strict=True):
        if e[0] == "dense":
            n_in = e[1].shape[0]
            g = [
                c.reshape(-1, n_in).T @ dh.reshape(-1, dh.shape[-1]),
                dh.reshape(-1, dh.shape[-1]).sum(0),
            ]
            dh = dh @ e[1].T
        elif e[0] == "rnn":
            g, dh = ref.backward(e[1], c, dh)
        else:
            g, dh = ref.bidirectional_backward(e[1], e[2], c, dh, e[5])
        grads = list(g) + grads
    return value, grads


def stack(rng, kind, kwargs, units=4, return_sequences=False, go_backwards=False, use_bias=True):
    """Dense(3) on each step -> the recurrent layer [-> LSTM(3) when it returns sequences]
    -> Dense(2): the recurrent layer's input gradient and weight gradients all matter."""
    entries = [dense_entry(rng, F, 3)]
    entries.append(
        rnn_entry(
            rng,
            kind,
            3,
            units,
            use_bias,
            return_sequences=return_sequences,
            go_backwards=go_backwards,
            **kwargs,
        )
    )
    last = units
    if return_sequences:
        entries.append(rnn_entry(rng, "LSTM", units, 3))
        last = 3
    entries.append(dense_entry(rng, last, 2))
    return entries


def check_reference(entries, dtype, seed=0, tol=None):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, F))
    y = rng.normal(size=(B, 2))
    with floatx(np.dtype(dtype).name):
        model = build_model(entries, (T, F), dtype)
        expected_out, _ = ref_forward(entries, x)
        expected_loss, expected_grads = ref_loss_and_grads(entries, x, y)
        tol = tol or (
            dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
        )
        np.testing.assert_allclose(model.predict(x.astype(dtype), verbose=0), expected_out, **tol)
        value, grads = model._compute_gradients(x.astype(dtype), y.astype(dtype))
        np.testing.assert_allclose(value, expected_loss, **tol)
        assert len(grads) == len(expected_grads)
        for i, (got, want) in enumerate(zip(grads, expected_grads, strict=True)):
            assert got.shape == want.shape, i
            np.testing.assert_allclose(got, want, err_msg=f"weight {i}", **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("kind,kwargs", KINDS, ids=KIND_IDS)
def test_matches_reference(kind, kwargs, return_sequences, go_backwards, dtype):
    rng = np.random.default_rng(1)
    entries = stack(rng, kind, kwargs, return_sequences=return_sequences, go_backwards=go_backwards)
    check_reference(entries, dtype)


@pytest.mark.parametrize("kind,kwargs", KINDS, ids=KIND_IDS)
def test_long_sequence_matches_reference(kind, kwargs, float64):
    """90 steps: the backward loop accumulates the weight gradients in several chunks."""
    rng = np.random.default_rng(17)
    spec = ref.Spec(kind, 3, return_sequences=True, **kwargs)
    weights = random_weights(rng, kind, 2, 3, True, kwargs.get("reset_after", True))
    x, y = rng.normal(size=(4, 90, 2)), rng.normal(size=(4, 90, 3))
    model = eigennet.Sequential([eigennet.Input(shape=(90, 2)), make_layer(spec)])
    model.compile(optimizer="sgd", loss="mse")
    model.set_weights(weights)
    out, cache = ref.forward(spec, x, weights)
    value, dout = ref_losses.value_and_grad(
        "mean_squared_error", y.reshape(4, -1), out.reshape(4, -1)
    )
    want, _ = ref.backward(spec, cache, dout.reshape(out.shape))
    got_value, got = model._compute_gradients(x, y)
    np.testing.assert_allclose(got_value, value, rtol=1e-10)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind,kwargs", KINDS, ids=KIND_IDS)
def test_without_bias_matches_reference(kind, kwargs):
    entries = stack(np.random.default_rng(2), kind, kwargs, use_bias=False, return_sequences=True)
    check_reference(entries, np.float64)


ACTIVATION_PAIRS = [
    ("relu", "sigmoid"),
    ("elu", "softplus"),
    ("softmax", "linear"),
    ("swish", "tanh"),
]


@pytest.mark.parametrize("act,ract", ACTIVATION_PAIRS, ids=["-".join(p) for p in ACTIVATION_PAIRS])
@pytest.mark.parametrize("kind,kwargs", KINDS, ids=KIND_IDS)
def test_other_activations_match_reference(kind, kwargs, act, ract):
    kw = dict(kwargs, activation=act)
    if kind != "SimpleRNN":
        kw["recurrent_activation"] = ract
    entries = stack(np.random.default_rng(3), kind, kw, return_sequences=True, go_backwards=True)
    check_reference(entries, np.float64)


MERGES = ["concat", "sum", "mul", "ave"]


@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("merge", MERGES)
def test_bidirectional_matches_reference(merge, return_sequences):
    rng = np.random.default_rng(4)
    spec_f = ref.Spec("LSTM", 4, return_sequences=return_sequences)
    spec_b = ref.Spec("LSTM", 4, return_sequences=return_sequences, go_backwards=True)
    bidir = (
        "bidir",
        spec_f,
        spec_b,
        random_weights(rng, "LSTM", 3, 4),
        random_weights(rng, "LSTM", 3, 4),
        merge,
    )
    entries = [dense_entry(rng, F, 3), bidir]
    width = 8 if merge == "concat" else 4
    if return_sequences:
        entries.append(rnn_entry(rng, "GRU", width, 3))
        width = 3
    entries.append(dense_entry(rng, width, 2))
    check_reference(entries, np.float64)
    check_reference(entries, np.float32)


def test_bidirectional_with_a_different_backward_layer():
    """Keras allows any backward layer with go_backwards=True: a GRU of other units behind an
    LSTM, concatenated."""
    rng = np.random.default_rng(5)
    spec_f = ref.Spec("LSTM", 4, return_sequences=True)
    spec_b = ref.Spec("GRU", 2, return_sequences=True, go_backwards=True, activation="relu")
    bidir = (
        "bidir",
        spec_f,
        spec_b,
        random_weights(rng, "LSTM", 3, 4),
        random_weights(rng, "GRU", 3, 2),
        "concat",
    )
    entries = [dense_entry(rng, F, 3), bidir, rnn_entry(rng, "SimpleRNN", 6, 3)]
    entries.append(dense_entry(rng, 3, 2))
    check_reference(entries, np.float64)


# -- finite differences ------------------------------------------------------------------
def check_finite_differences(entries, seed=0, h=1e-6):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, 3, F))
    y = rng.normal(size=(3, 2))
    model = build_model(entries, (3, F), np.float64)
    weights = model.get_weights()
    _, grads = model._compute_gradients(x, y)
    for i, w in enumerate(weights):
        fd = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            values = []
            for sign in (1, -1):
                perturbed = [v.copy() for v in weights]
                perturbed[i][idx] += sign * h
                model.set_weights(perturbed)
                values.append(model._compute_gradients(x, y)[0])
            fd[idx] = (values[0] - values[1]) / (2 * h)
        np.testing.assert_allclose(grads[i], fd, rtol=1e-5, atol=1e-8, err_msg=f"weight {i}")
    model.set_weights(weights)


@pytest.mark.parametrize("kind,kwargs", KINDS, ids=KIND_IDS)
def test_finite_differences(kind, kwargs, float64):
    rng = np.random.default_rng(6)
    check_finite_differences(
        stack(rng, kind, kwargs, units=3, return_sequences=True, go_backwards=True)
    )
    check_finite_differences(stack(rng, kind, kwargs, units=2))


def test_finite_differences_bidirectional(float64):
    rng = np.random.default_rng(7)
    spec_f = ref.Spec("GRU", 2, return_sequences=True)
    spec_b = ref.Spec("GRU", 2, return_sequences=True, go_backwards=True)
    bidir = (
        "bidir",
        spec_f,
        spec_b,
        random_weights(rng, "GRU", 3, 2),
        random_weights(rng, "GRU", 3, 2),
        "mul",
    )
    entries = [
        dense_entry(rng, F, 3),
        bidir,
        rnn_entry(rng, "SimpleRNN", 2, 2),
        dense_entry(rng, 2, 2),
    ]
    check_finite_differences(entries)


# -- dropout -------------------------------------------------------------------------------
def _mix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform01(seed, draw, index):
    """The core's counter-based generator (eigennet/random.hpp), vectorised over index."""
    with np.errstate(over="ignore"):
        inner = np.uint64(draw) * np.uint64(0x9E3779B97F4A7C15) + index.astype(np.uint64)
        bits = _mix64(np.uint64(seed) ^ _mix64(inner))
    return (bits >> np.uint64(40)).astype(np.float32) / np.float32(16777216.0)


def core_masks(seed, draw, rate, shape, copies, first):
    n = copies * int(np.prod(shape))
    keep = uniform01(seed, draw, np.arange(first, first + n)) >= np.float32(rate)
    values = keep * (1.0 / (1.0 - rate))
    return [
        values[i * values.size // copies : (i + 1) * values.size // copies].reshape(shape)
        for i in range(copies)
    ]


@pytest.mark.parametrize(
    "rates", [(0.3, 0.0), (0.0, 0.4), (0.3, 0.4)], ids=["input", "recurrent", "both"]
)
@pytest.mark.parametrize("kind,kwargs", KINDS, ids=KIND_IDS)
def test_dropout_masks_are_kept_over_time_as_keras(kind, kwargs, rates, float64):
    """Training steps use masks drawn once per batch: one input mask for every gate without
    recurrent dropout, else one input and one recurrent mask per gate (Keras's
    implementation 1); values 0 or 1 / (1 - rate)."""
    dropout, recurrent_dropout = rates
    rng = np.random.default_rng(8)
    units, n_in, batch, steps = 4, 3, 6, 5
    spec = ref.Spec(kind, units, return_sequences=True, go_backwards=True, **kwargs)
    weights = random_weights(rng, kind, n_in, units, True, kwargs.get("reset_after", True))
    x = rng.normal(size=(batch, steps, n_in))
    layer = make_layer(spec, dropout=dropout, recurrent_dropout=recurrent_dropout, seed=1234)
    model = eigennet.Sequential([eigennet.Input(shape=(steps, n_in)), layer])
    model.compile(optimizer="sgd", loss="mse")
    model.set_weights(weights)
    # inference: no dropout
    expected, _ = ref.forward(spec, x, weights)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-12, atol=1e-12)
    g = ref.GATES[kind]
    for draw in range(2):  # each training batch draws new masks
        copies = g if recurrent_dropout else 1
        in_masks = None
        n_in_values = 0
        if dropout:
            masks = core_masks(1234, draw, dropout, (batch, n_in), copies, 0)
            in_masks = masks if recurrent_dropout else masks[0]
            n_in_values = copies * batch * n_in
        rec_masks = None
        if recurrent_dropout:
            rec_masks = core_masks(1234, draw, recurrent_dropout, (batch, units), g, n_in_values)
        y = rng.normal(size=(batch, steps, units))
        out, cache = ref.forward(spec, x, weights, in_masks, rec_masks)
        value, dout = ref_losses.value_and_grad(
            "mean_squared_error", y.reshape(batch, -1), out.reshape(batch, -1)
        )
        want, _ = ref.backward(spec, cache, dout.reshape(out.shape))
        got_value, got = model._compute_gradients(x, y)
        np.testing.assert_allclose(got_value, value, rtol=1e-10)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
        assert not np.allclose(out, expected)  # the masks did something


def test_dropout_input_gradient_is_masked(float64):
    """dL/dx through the masks (a Dense layer below the LSTM learns through them)."""
    rng = np.random.default_rng(9)
    layer = layers.LSTM(3, dropout=0.5, recurrent_dropout=0.5, seed=5, return_sequences=True)
    model = eigennet.Sequential([eigennet.Input(shape=(4, 2)), layers.Dense(3), layer])
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng.normal(size=(4, 4, 2)), rng.normal(size=(4, 4, 3))
    _, grads = model._compute_gradients(x, y)
    assert np.all(np.isfinite(grads[0])) and np.abs(grads[0]).sum() > 0


# -- threads and determinism -------------------------------------------------------------
@pytest.mark.parametrize("kind,kwargs", KINDS, ids=KIND_IDS)
def test_thread_count_does_not_change_results(kind, kwargs):
    """Big enough for the time loop to run on several threads (batch rows split)."""
    rng = np.random.default_rng(10)
    x = rng.normal(size=(64, 12, 8)).astype("float32")
    y = rng.normal(size=(64, 12, 64)).astype("float32")
    before = eigennet.config.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            eigennet.config.set_num_threads(threads)
            eigennet.utils.set_random_seed(0)
            layer = getattr(layers, kind)(64, return_sequences=True, **kwargs)
            model = eigennet.Sequential([eigennet.Input(shape=(12, 8)), layer])
            model.compile(optimizer="adam", loss="mse")
            out = model.predict(x, verbose=0)
            loss, grads = model._compute_gradients(x, y)
            results.append((out, loss, grads))
    finally:
        eigennet.config.set_num_threads(before)
    for out, loss, grads in results[1:]:
        np.testing.assert_allclose(out, results[0][0], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(loss, results[0][1], rtol=1e-6)
        for a, b in zip(grads, results[0][2], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


# -- shapes, weights, summary ------------------------------------------------------------
def _params(kind, n_in, units, reset_after=True, use_bias=True):
    g = ref.GATES[kind]
    bias = (2 if kind == "GRU" and reset_after else 1) * g * units if use_bias else 0
    return g * units * (n_in + units) + bias


@pytest.mark.parametrize("kind,kwargs", KINDS, ids=KIND_IDS)
def test_weight_shapes_output_shapes_and_counts(kind, kwargs):
    layer = getattr(layers, kind)(5, return_sequences=True, **kwargs)
    model = eigennet.Sequential(
        [eigennet.Input(shape=(7, 3)), layer, getattr(layers, kind)(2, **kwargs)]
    )
    g = ref.GATES[kind]
    shapes = [w.shape for w in layer.weights]
    bias = (2, 3 * 5) if kind == "GRU" and kwargs.get("reset_after", True) else (g * 5,)
    assert shapes == [(3, g * 5), (5, g * 5), bias]
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert layer.output_shape == (None, 7, 5)
    assert model.output_shape == (None, 2)
    reset_after = kwargs.get("reset_after", True)
    assert model.count_params() == _params(kind, 3, 5, reset_after) + _params(
        kind, 5, 2, reset_after
    )
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 7, 5)" in text and "(None, 2)" in text
    assert f"{_params(kind, 3, 5, reset_after):,}" in text


def test_bidirectional_shapes_names_and_counts():
    lstm = layers.LSTM(6, return_sequences=True)
    bidir = layers.Bidirectional(lstm)
    ave = layers.Bidirectional(layers.GRU(4), merge_mode="ave")
    model = eigennet.Sequential([eigennet.Input(shape=(5, 3)), bidir, ave])
    assert bidir.output_shape == (None, 5, 12)
    assert ave.output_shape == (None, 4)
    assert bidir.forward_layer.name == f"forward_{lstm.name}"
    assert bidir.backward_layer.name == f"backward_{lstm.name}"
    assert bidir.backward_layer.go_backwards and not bidir.forward_layer.go_backwards
    assert bidir.count_params() == 2 * _params("LSTM", 3, 6)
    assert ave.count_params() == 2 * _params("GRU", 12, 4)
    assert [w.shape for w in bidir.weights] == [(3, 24), (6, 24), (24,)] * 2
    assert model.output_shape == (None, 4)


def test_initial_weights_follow_keras():
    eigennet.utils.set_random_seed(0)
    lstm = layers.LSTM(4)
    gru = layers.GRU(3)
    rnn = layers.SimpleRNN(5)
    for layer in (lstm, gru, rnn):
        eigennet.Sequential([eigennet.Input(shape=(2, 6)), layer])
    kernel, recurrent, bias = lstm.get_weights()
    # unit_forget_bias: ones on the forget block, zeros elsewhere
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    # orthogonal recurrent kernel: (u, 4u) has orthonormal rows
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(4), atol=1e-5)
    limit = np.sqrt(6 / (6 + 16))  # glorot_uniform
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.5 * limit
    np.testing.assert_array_equal(gru.get_weights()[2], np.zeros((2, 9)))
    r = rnn.get_weights()[1]
    np.testing.assert_allclose(r @ r.T, np.eye(5), atol=1e-5)
    no_forget = layers.LSTM(2, unit_forget_bias=False)
    eigennet.Sequential([eigennet.Input(shape=(2, 6)), no_forget])
    np.testing.assert_array_equal(no_forget.get_weights()[2], np.zeros(8))


def test_orthogonal_initializer():
    init = eigennet.initializers.Orthogonal(gain=2.0, seed=3)
    w = init((6, 4))
    assert w.dtype == np.float32
    np.testing.assert_allclose(w.T @ w, 4 * np.eye(4), atol=1e-5)
    np.testing.assert_array_equal(w, init((6, 4)))  # seeded: the same every call
    conv = eigennet.initializers.get("orthogonal")((3, 2, 8))
    flat = conv.reshape(6, 8)
    np.testing.assert_allclose(flat @ flat.T, np.eye(6), atol=1e-5)
    assert init.get_config() == {"seed": 3, "gain": 2.0}
    assert isinstance(
        eigennet.initializers.get({"class_name": "Orthogonal", "config": {}}),
        eigennet.initializers.Orthogonal,
    )
    with pytest.raises(ValueError, match="rank >= 2"):
        init((5,))
    # Keras's algorithm: Q of the QR of a normal matrix, signs from R's diagonal
    a = np.random.default_rng(3).standard_normal((7, 4))
    q, r = np.linalg.qr(a)
    np.testing.assert_allclose(
        eigennet._core.orthogonal_factor(a), q * np.sign(np.diag(r)), atol=1e-12
    )


def test_regularizers_add_their_penalty(float64):
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 3))
    plain = eigennet.Sequential([eigennet.Input(shape=(3, 2)), layers.GRU(3)])
    reg = eigennet.Sequential(
        [
            eigennet.Input(shape=(3, 2)),
            layers.GRU(
                3,
                kernel_regularizer=eigennet.regularizers.L2(0.1),
                recurrent_regularizer=eigennet.regularizers.L1(0.01),
                bias_regularizer=eigennet.regularizers.L2(0.2),
            ),
        ]
    )
    for m in (plain, reg):
        m.compile(optimizer="sgd", loss="mse")
    w = plain.get_weights()
    w[2] = rng.normal(size=w[2].shape)
    plain.set_weights(w)
    reg.set_weights(w)
    loss0, g0 = plain._compute_gradients(x, y)
    loss1, g1 = reg._compute_gradients(x, y)
    penalty = 0.1 * np.sum(w[0] ** 2) + 0.01 * np.sum(np.abs(w[1])) + 0.2 * np.sum(w[2] ** 2)
    assert loss1 == pytest.approx(loss0 + penalty, rel=1e-10)
    np.testing.assert_allclose(g1[0], g0[0] + 0.2 * w[0], rtol=1e-10)
    np.testing.assert_allclose(g1[1], g0[1] + 0.01 * np.sign(w[1]), rtol=1e-10)
    np.testing.assert_allclose(g1[2], g0[2] + 0.4 * w[2], rtol=1e-10)


# -- configs -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,kwargs", KINDS, ids=KIND_IDS)
def test_config_round_trip(kind, kwargs):
    layer = getattr(layers, kind)(
        3, return_sequences=True, go_backwards=True, dropout=0.25, use_bias=False, **kwargs
    )
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert config["units"] == 3 and config["go_backwards"] and config["dropout"] == 0.25
    assert config["recurrent_initializer"]["class_name"] == "Orthogonal"


def test_bidirectional_config_round_trip():
    bidir = layers.Bidirectional(layers.GRU(3, reset_after=False), merge_mode="sum")
    config = bidir.get_config()
    assert config["merge_mode"] == "sum"
    assert config["layer"]["class_name"] == "GRU"
    assert config["layer"]["config"]["name"].startswith("forward_")
    assert config["backward_layer"]["config"]["go_backwards"] is True
    clone = layers.Bidirectional.from_config(config)
    assert clone.get_config() == config


def test_predict_training_mode_uses_dropout():
    x = np.random.default_rng(12).normal(size=(8, 5, 3)).astype("float32")
    model = eigennet.Sequential(
        [eigennet.Input(shape=(5, 3)), layers.SimpleRNN(4, dropout=0.5, seed=1)]
    )
    a, b = model(x), model(x)
    np.testing.assert_array_equal(a, b)
    c, d = model(x, training=True), model(x, training=True)
    assert not np.allclose(a, c) and not np.allclose(c, d)


# -- bad arguments and bad inputs -----------------------------------------------------------
@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(units=0), "units must be a positive integer"),
        (dict(units=-2), "units must be a positive integer"),
        (dict(units=2.5), "units must be a positive integer"),
        (dict(units=2, dropout=1.0), r"dropout must be in \[0, 1\)"),
        (dict(units=2, recurrent_dropout=-0.1), "recurrent_dropout"),
        (dict(units=2, dropout="x"), "dropout must be a number"),
        (dict(units=2, stateful=True), "stateful"),
        (dict(units=2, kernel_constraint="nope"), "Constraint 'nope'"),
        (dict(units=2, activation="nope"), "Unknown activation"),
        (dict(units=2, kernel_initializer="nope"), "Unknown initializer"),
        (dict(units=2, seed=-1), "seed"),
    ],
)
def test_bad_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_bad_keywords():
    with pytest.raises(ValueError, match="recurrent_activation"):
        layers.SimpleRNN(2, recurrent_activation="sigmoid")
    with pytest.raises(ValueError, match="reset_after"):
        layers.LSTM(2, reset_after=True)


def test_bidirectional_bad_arguments():
    with pytest.raises(ValueError, match="SimpleRNN, LSTM or GRU"):
        layers.Bidirectional(layers.Dense(3))
    with pytest.raises(ValueError, match="merge mode"):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="return_state"):
        layers.Bidirectional(
            layers.LSTM(3, return_state=True), backward_layer=layers.LSTM(3, go_backwards=True)
        )
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(3))
    with pytest.raises(ValueError, match="return_sequences"):
        layers.Bidirectional(
            layers.LSTM(3), backward_layer=layers.LSTM(3, go_backwards=True, return_sequences=True)
        )
    with pytest.raises(ValueError, match="same units"):
        layers.Bidirectional(
            layers.LSTM(3), backward_layer=layers.GRU(2, go_backwards=True), merge_mode="sum"
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.LSTM(3, name="my_lstm"),
        lambda: layers.Bidirectional(layers.GRU(3), name="my_lstm"),
    ],
)
def test_input_of_wrong_rank_names_the_layer(make):
    with pytest.raises(ValueError, match=r"my_lstm.*\(batch, timesteps, features\).*\(None, 5\)"):
        eigennet.Sequential([eigennet.Input(shape=(5,)), make()])
    with pytest.raises(ValueError, match=r"my_lstm.*\(batch, timesteps, features\)"):
        eigennet.Sequential([eigennet.Input(shape=(5, 2, 3)), make()])
    model = eigennet.Sequential([make()])
    with pytest.raises(ValueError, match=r"my_lstm.*\(batch, timesteps, features\)"):
        model.predict(np.zeros((2, 5), "float32"), verbose=0)


def test_wrong_sample_shape_at_predict_names_the_expected_shape():
    model = eigennet.Sequential([eigennet.Input(shape=(5, 3)), layers.LSTM(2)])
    with pytest.raises(ValueError, match=r"\(None, 5, 3\)"):
        model.predict(np.zeros((2, 4, 3), "float32"), verbose=0)
    with pytest.raises(ValueError, match=r"\(None, 5, 3\)"):
        model.predict(np.zeros((2, 5, 3, 1), "float32"), verbose=0)


def test_set_weights_checks_shapes():
    model = eigennet.Sequential([eigennet.Input(shape=(5, 3)), layers.GRU(2)])
    w = model.get_weights()
    w[2] = np.zeros(6)  # reset_after needs (2, 6)
    with pytest.raises(ValueError, match=r"shape \(6,\).*\(2, 6\)"):
        model.set_weights(w)


def test_training_learns_a_sequence_task():
    """An LSTM learns to output the sum of a sequence's first feature (a few epochs)."""
    eigennet.utils.set_random_seed(1)
    rng = np.random.default_rng(13)
    x = rng.uniform(-1, 1, size=(512, 8, 2)).astype("float32")
    y = x[:, :, 0].sum(axis=1, keepdims=True)
    model = eigennet.Sequential([eigennet.Input(shape=(8, 2)), layers.LSTM(16), layers.Dense(1)])
    model.compile(optimizer=eigennet.optimizers.Adam(0.01), loss="mse")
    history = model.fit(x, y, batch_size=32, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]


def test_save_and_load_round_trip(tmp_path):
    """A .keras archive restores the architecture, the weights and the dropout streams:
    training goes on exactly as it would have."""
    rng = np.random.default_rng(14)
    x = rng.normal(size=(16, 5, 3)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    model = eigennet.Sequential(
        [
            eigennet.Input(shape=(5, 3)),
            layers.Bidirectional(
                layers.LSTM(4, return_sequences=True, dropout=0.2), merge_mode="ave"
            ),
            layers.GRU(
                3,
                recurrent_dropout=0.1,
                reset_after=False,
                return_sequences=True,
                go_backwards=True,
            ),
            layers.SimpleRNN(2, kernel_regularizer=eigennet.regularizers.L2(0.01)),
            layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    path = str(tmp_path / "rnn.keras")
    model.save(path)
    clone = eigennet.models.load_model(path)
    assert [type(layer).__name__ for layer in clone.layers] == [
        "Bidirectional",
        "GRU",
        "SimpleRNN",
        "Dense",
    ]
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    fit = dict(epochs=2, verbose=0, shuffle=False)
    assert clone.fit(x, y, **fit).history == model.fit(x, y, **fit).history
    for a, b in zip(clone.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bidirectional_initial_weights_and_reset_state():
    rng = np.random.default_rng(15)
    source = eigennet.Sequential(
        [eigennet.Input(shape=(4, 2)), layers.Bidirectional(layers.GRU(3))]
    )
    weights = [rng.normal(size=w.shape).astype("float32") for w in source.get_weights()]
    bidir = layers.Bidirectional(layers.GRU(3), weights=weights)
    eigennet.Sequential([eigennet.Input(shape=(4, 2)), bidir])
    for got, want in zip(bidir.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    lstm = layers.LSTM(2)
    lstm.reset_state()  # stateless: nothing to reset, as Keras with stateful=False
    lstm.reset_states()


def test_frozen_recurrent_layer_keeps_its_weights():
    rng = np.random.default_rng(16)
    x, y = rng.normal(size=(8, 4, 2)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    lstm = layers.LSTM(3, return_sequences=True)
    model = eigennet.Sequential(
        [eigennet.Input(shape=(4, 2)), lstm, layers.GRU(2), layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    lstm.trainable = False
    before = lstm.get_weights()
    tail_before = model.layers[1].get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(lstm.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(model.layers[1].get_weights()[0], tail_before[0])
