"""layers.MultiHeadAttention (issue 15 §1), written with keras.ops and traced into the graph.

Forward against a NumPy reference (on arrays, in functional models, self- and
cross-attention, masks, causal mask, sliding window, gate, inputs of rank 4, variable
lengths), float64 gradients against finite differences, dropout (training only, seeded),
returned scores, fit and `.keras` round trips, bad arguments and inputs; and parity with
Keras 3 (torch backend) on the same weights: outputs, scores, masks, configs, error types and
a few epochs of training of a small transformer block.

A functional config stores each call's positional and keyword arguments, as Keras 3: a
MultiHeadAttention called directly in a functional model with `attention_mask=`,
`use_causal_mask=True` or a key reloads as the same model."""

import os

import numpy as np
import pytest

import eigennet
from eigennet import layers
from gradient_check import assert_gradients_match_finite_differences
from keras_parity import assert_trains_like_keras

os.environ.setdefault("KERAS_BACKEND", "torch")

RNG = np.random.default_rng(15)


@pytest.fixture(autouse=True)
def _seeded():
    global RNG
    eigennet.utils.set_random_seed(1515)
    RNG = np.random.default_rng(1515)


@pytest.fixture
def keras_ref():
    """Keras 3 on the torch backend (skips when it is not installed)."""
    if os.environ.get("KERAS_BACKEND", "torch") != "torch":
        pytest.skip("parity tests compare with Keras's torch backend")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


def _np(x):
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)


# -- the NumPy reference -----------------------------------------------------------------------
def reference(layer, query, value, key=None, mask=None, causal=False):
    """Keras's MultiHeadAttention in float64 NumPy from the layer's weights: (output, scores);
    `mask` broadcastable to (B, T, S)."""
    key = value if key is None else key
    w = [np.asarray(a, dtype=np.float64) for a in layer.get_weights()]
    names = ["query", "key"] + (["gate"] if layer._use_gate else []) + ["value", "output"]
    per = 2 if layer.use_bias else 1
    weights = {n: (w[i * per], w[i * per + 1] if per == 2 else 0.0) for i, n in enumerate(names)}
    q_shape = query.shape
    t_axes, s_axes = q_shape[1:-1], value.shape[1:-1]
    t, s = int(np.prod(t_axes)), int(np.prod(s_axes))
    flat = lambda x, n: x.reshape(len(x), n, x.shape[-1]).astype(np.float64)  # noqa: E731
    q_in, v_in, k_in = flat(query, t), flat(value, s), flat(key, s)

    def project(x, name):
        kernel, bias = weights[name]
        return np.einsum("bld,dnh->blnh", x, kernel) + bias

    q, k, v = project(q_in, "query"), project(k_in, "key"), project(v_in, "value")
    logits = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(layer.key_dim)
    keep = np.ones((1, t, s), dtype=bool)
    if mask is not None:
        mask = np.asarray(mask)
        mask = mask.reshape(-1, t, s) if len(t_axes) > 1 else mask
        keep = keep & (mask > 0.5)
    if causal:
        keep = keep & np.tril(np.ones((t, s), dtype=bool))[None]
    if layer._sliding_window is not None:
        band = np.abs(np.arange(t)[:, None] - np.arange(s)[None]) < layer._sliding_window
        keep = keep & band[None]
    keep = keep[:, None]  # every head
    logits = np.where(keep, logits, -1e9)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    scores = np.where(keep, e / e.sum(-1, keepdims=True), 0.0)
    attended = np.einsum("bnts,bsnh->btnh", scores, v)
    if layer._use_gate:
        attended = attended / (1.0 + np.exp(-project(q_in, "gate")))
    kernel, bias = weights["output"]
    out = np.tensordot(attended, kernel, axes=([2, 3], [0, 1])) + bias
    out = out.reshape(len(query), *t_axes, *kernel.shape[2:])
    return out, scores.reshape(len(query), layer.num_heads, *t_axes, *s_axes)


# (id, constructor kwargs, query sample shape, value sample shape or None (self-attention),
#  key sample shape or None, mask sample shape or None, causal)
CASES = [
    ("self", dict(num_heads=2, key_dim=3), (5, 4), None, None, None, False),
    ("cross", dict(num_heads=2, key_dim=3), (5, 4), (3, 6), None, None, False),
    ("cross_key", dict(num_heads=3, key_dim=2), (4, 4), (3, 6), (3, 5), None, False),
    ("value_dim_no_bias", dict(num_heads=2, key_dim=3, value_dim=5, use_bias=False),
     (4, 6), (3, 6), None, None, False),
    ("output_shape", dict(num_heads=2, key_dim=3, output_shape=(2, 3)), (4, 5), None, None,
     None, False),
    ("causal", dict(num_heads=2, key_dim=3), (5, 4), None, None, None, True),
    ("causal_cross", dict(num_heads=2, key_dim=3), (5, 4), (3, 4), None, None, True),
    ("mask", dict(num_heads=2, key_dim=3), (5, 4), (3, 4), None, (5, 3), False),
    ("padding_mask", dict(num_heads=2, key_dim=3), (5, 4), None, None, (1, 5), False),
    ("mask_causal", dict(num_heads=2, key_dim=3), (5, 4), None, None, (5, 5), True),
    ("gate", dict(num_heads=2, key_dim=3, use_gate=True), (4, 4), (3, 5), None, None, False),
    ("sliding_window", dict(num_heads=2, key_dim=2, sliding_window=2), (5, 4), None, None,
     None, True),
    ("rank4", dict(num_heads=2, key_dim=2), (2, 3, 4), None, None, None, False),
    ("rank4_mask", dict(num_heads=2, key_dim=2), (2, 3, 4), (3, 2, 5), None, (2, 3, 3, 2),
     False),
]  # fmt: skip
IDS = [c[0] for c in CASES]


def _data(shape, n=3, dtype="float32"):
    return RNG.normal(size=(n, *shape)).astype(dtype)


def _case_arrays(case, n=3, dtype="float32"):
    _, _, q, v, k, m, _ = case
    query = _data(q, n, dtype)
    value = query if v is None else _data(v, n, dtype)
    key = None if k is None else _data(k, n, dtype)
    mask = None if m is None else (RNG.uniform(size=(n, *m)) > 0.35).astype(dtype)
    if mask is not None:
        mask[..., 0] = 1  # every query attends to something (Keras's fast path needs it)
    return query, value, key, mask


def _call_kwargs(key, mask, causal):
    kwargs = {}
    if key is not None:
        kwargs["key"] = key
    if mask is not None:
        kwargs["attention_mask"] = mask
    if causal:
        kwargs["use_causal_mask"] = True
    return kwargs


def _functional(layer, case, scores=False):
    """A functional model of the case's call: inputs query[, value][, key][, mask]."""
    _, _, q, v, k, m, causal = case
    inputs = [eigennet.Input(q)]
    query = value = inputs[0]
    key = mask = None
    if v is not None:
        inputs.append(eigennet.Input(v))
        value = inputs[-1]
    if k is not None:
        inputs.append(eigennet.Input(k))
        key = inputs[-1]
    if m is not None:
        inputs.append(eigennet.Input(m))
        mask = inputs[-1]
    out = layer(query, value, **_call_kwargs(key, mask, causal), return_attention_scores=scores)
    return eigennet.Model(inputs, list(out) if scores else out)


def _model_inputs(case, arrays):
    _, _, _, v, k, m, _ = case
    query, value, key, mask = arrays
    xs = [query] + ([value] if v is not None else []) + ([key] if k is not None else [])
    return xs + ([mask] if m is not None else [])


# -- forward ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_matches_numpy_on_arrays_and_in_functional_models(case):
    _, kwargs, *_, causal = case
    query, value, key, mask = _case_arrays(case)
    layer = layers.MultiHeadAttention(**kwargs)
    out, scores = layer(
        query, value, **_call_kwargs(key, mask, causal), return_attention_scores=True
    )
    expected, expected_scores = reference(layer, query, value, key, mask, causal)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        layer(query, value, **_call_kwargs(key, mask, causal)), expected, rtol=1e-5, atol=1e-5
    )
    model = _functional(layer, case)
    assert model.output_shape == (None, *expected.shape[1:])
    xs = _model_inputs(case, (query, value, key, mask))
    np.testing.assert_allclose(model.predict(xs, verbose=0), expected, rtol=1e-5, atol=1e-5)
    with_scores = _functional(layer, case, scores=True)
    got, got_scores = with_scores.predict(xs, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_scores, expected_scores, rtol=1e-5, atol=1e-6)
    assert with_scores.outputs[1].shape == (None, *expected_scores.shape[1:])


def test_weights_shapes_names_and_order_are_keras():
    layer = layers.MultiHeadAttention(4, 8, value_dim=6, output_shape=5)
    layer.build((None, 7, 16), (None, 9, 12), (None, 9, 10))
    assert [w.shape for w in layer.weights] == [
        (16, 4, 8), (4, 8), (10, 4, 8), (4, 8), (12, 4, 6), (4, 6), (4, 6, 5), (5,)
    ]  # fmt: skip
    assert [w.path for w in layer.weights] == [
        f"{layer.name}/{p}/{w}"
        for p in ("query", "key", "value", "attention_output")
        for w in ("kernel", "bias")
    ]
    assert layer.count_params() == sum(int(np.prod(w.shape)) for w in layer.weights)
    assert layer.compute_output_shape((None, 7, 16), (None, 9, 12)) == (None, 7, 5)


def test_a_model_with_a_fused_attention_keeps_no_score_tensor():
    """Without masks, dropout or returned scores the attention is the fused native op."""
    x = eigennet.Input((6, 8))
    model = eigennet.Model(x, layers.MultiHeadAttention(2, 4)(x, x, use_causal_mask=True))
    model.predict(np.zeros((1, 6, 8)), verbose=0)
    kinds = [type(core).__name__ for core, _ in model._network_nodes()]
    assert any(k.startswith("DotProductAttentionOp") for k in kinds)
    assert not any(k.startswith("SoftmaxOp") for k in kinds)


def test_sequences_of_variable_length():
    layer = layers.MultiHeadAttention(2, 3)
    x = eigennet.Input((None, 4))
    model = eigennet.Model(x, layer(x, x, use_causal_mask=True))
    assert model.output_shape == (None, None, 4)
    for length in (3, 7):
        data = _data((length, 4))
        expected, _ = reference(layer, data, data, causal=True)
        np.testing.assert_allclose(model.predict(data, verbose=0), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="sliding_window needs sequences of fixed length"):
        layers.MultiHeadAttention(2, 3, sliding_window=2)(x, x)
    # masks over variable lengths: tests/test_variable_length_ops.py


def test_float64_layers_compute_in_float64(float64):
    layer = layers.MultiHeadAttention(2, 3)
    x = _data((4, 5), dtype="float64")
    inputs = eigennet.Input((4, 5))
    model = eigennet.Model(inputs, layer(inputs, inputs))
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, reference(layer, x, x)[0], rtol=1e-12, atol=1e-12)


# -- gradients --------------------------------------------------------------------------------
def _gradient_model(case, **extra):
    """Dense before the layer (so gradients reach its inputs), the case's call, a head."""
    _, kwargs, q, v, k, m, causal = case
    inputs = [eigennet.Input(q)]
    query = layers.Dense(q[-1], name="before")(inputs[0])
    value, key, mask = query, None, None
    if v is not None:
        inputs.append(eigennet.Input(v))
        value = inputs[-1]
    if k is not None:
        inputs.append(eigennet.Input(k))
        key = inputs[-1]
    if m is not None:
        inputs.append(eigennet.Input(m))
        mask = inputs[-1]
    layer = layers.MultiHeadAttention(**kwargs, **extra)
    out = layer(query, value, **_call_kwargs(key, mask, causal))
    head = layers.Dense(2, name="head")(layers.Flatten()(out))
    return eigennet.Model(inputs, head)


GRADIENT_CASES = [c for c in CASES if c[0] not in ("rank4",)]


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_float64_gradients_match_finite_differences(float64, case):
    model = _gradient_model(case)
    model.compile(optimizer="sgd", loss="mse")
    xs = _model_inputs(case, _case_arrays(case, n=2, dtype="float64"))
    assert_gradients_match_finite_differences(
        model, xs, RNG.normal(size=(2, 2)), rtol=1e-5, atol=1e-8
    )


def _frozen_noise(model, xs):
    """Every random op of the model's graph draws the same values at each gradient
    evaluation (their streams rewound), so finite differences see one function."""
    model.predict(xs, verbose=0)
    cores = [core for core, _ in model._network_nodes() if getattr(core, "rng_state", None)]
    states = [core.rng_state for core in cores]
    compute = model._compute_gradients

    def rewound(x, y):
        for core, state in zip(cores, states):
            core.rng_state = state
        return compute(x, y)

    model._compute_gradients = rewound
    return cores


def test_float64_gradients_with_dropout(float64):
    case = CASES[1]  # cross-attention
    model = _gradient_model(case, dropout=0.4, seed=3)
    model.compile(optimizer="sgd", loss="mse")
    xs = _model_inputs(case, _case_arrays(case, n=2, dtype="float64"))
    assert _frozen_noise(model, xs)
    y = RNG.normal(size=(2, 2))
    assert model._compute_gradients(xs, y)[0] == model._compute_gradients(xs, y)[0]
    assert_gradients_match_finite_differences(model, xs, y, rtol=1e-5, atol=1e-8)


def test_regularizers_add_their_penalties(float64):
    x = _data((3, 4), n=4, dtype="float64")
    plain = layers.MultiHeadAttention(2, 2)
    penalized = layers.MultiHeadAttention(
        2, 2, kernel_regularizer="l2", bias_regularizer="l1", activity_regularizer="l2",
        bias_initializer="ones",
    )  # fmt: skip
    losses = []
    for layer in (plain, penalized):
        inputs = eigennet.Input((3, 4))
        model = eigennet.Model(inputs, layer(inputs, inputs))
        model.compile(optimizer="sgd", loss="mse")
        if layer is penalized:
            layer.set_weights(plain.get_weights()[:-2] + [np.ones((2, 2, 4)), np.ones(4)])
        losses.append(model.evaluate(x, np.zeros_like(x), verbose=0))
    kernels = [w for w in penalized.get_weights() if w.ndim == 3]
    biases = [w for w in penalized.get_weights() if w.ndim < 3]
    expected_weights = 0.01 * sum(np.sum(k**2) for k in kernels) + 0.01 * sum(
        np.sum(np.abs(b)) for b in biases
    )
    # activity: the four projections' outputs, each 0.01 * sum(y**2) / batch
    w = penalized.get_weights()
    q = np.einsum("bld,dnh->blnh", x, w[0]) + w[1]
    k = np.einsum("bld,dnh->blnh", x, w[2]) + w[3]
    v = np.einsum("bld,dnh->blnh", x, w[4]) + w[5]
    out = reference(penalized, x, x)[0]
    activity = 0.01 * sum(np.sum(a**2) for a in (q, k, v, out)) / len(x)
    mse = np.mean(out**2)
    np.testing.assert_allclose(losses[1], mse + expected_weights + activity, rtol=1e-6)


# -- dropout ------------------------------------------------------------------------------------
def _dropout_model(seed=None):
    inputs = eigennet.Input((6, 8))
    layer = layers.MultiHeadAttention(2, 4, dropout=0.5, seed=seed)
    out = layers.GlobalAveragePooling1D()(layer(inputs, inputs))
    model = eigennet.Model(inputs, layers.Dense(1)(out))
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_dropout_only_in_training():
    x = _data((6, 8), n=16)
    model = _dropout_model()
    model.predict(x, verbose=0)
    kinds = [type(core).__name__ for core, _ in model._network_nodes()]
    assert not any(k.startswith("ModeSelect") for k in kinds)  # one graph for both modes
    # the dropout is fused into the attention op: no probabilities, no dropout op
    assert any(k.startswith("DotProductAttentionOp") for k in kinds)
    assert not any(k.startswith(("DropoutOp", "SoftmaxOp")) for k in kinds)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_array_equal(model(x), model.predict(x, verbose=0))
    first, second = model(x, training=True), model(x, training=True)
    assert not np.allclose(first, second)  # new masks at every batch
    layer = model.layers[1]
    np.testing.assert_array_equal(layer(x, x), layer(x, x, training=False))
    assert not np.allclose(layer(x, x, training=True), layer(x, x))
    # the scores returned are the probabilities before dropout, as in Keras
    _, scores = layer(x, x, training=True, return_attention_scores=True)
    np.testing.assert_allclose(scores, reference(layer, x, x)[1], rtol=1e-5, atol=1e-6)


def test_dropout_is_deterministic_under_set_random_seed():
    x, y = _data((6, 8), n=32), RNG.normal(size=(32, 1)).astype("float32")

    def run(seed):
        eigennet.utils.set_random_seed(seed)
        model = _dropout_model()
        history = model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        return model(x, training=True), history.history["loss"]

    first, again, other = run(7), run(7), run(8)
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1]
    assert not np.array_equal(first[0], other[0])
    a = layers.MultiHeadAttention(2, 4, dropout=0.5, seed=11)
    b = layers.MultiHeadAttention(2, 4, dropout=0.5, seed=11)
    a(x, x)
    b(x, x)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x, x, training=True), b(x, x, training=True))


def _seeded_pair_model(scores: bool):
    """A model around one MultiHeadAttention with dropout, seed 11: fused (the default), or
    through the unfused probabilities (returning the scores forces them)."""
    inputs = eigennet.Input((40, 8))
    layer = layers.MultiHeadAttention(2, 4, dropout=0.4, seed=11)
    out = layer(inputs, inputs, return_attention_scores=scores)
    out = out[0] if scores else out
    model = eigennet.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling1D()(out)))
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_fused_dropout_drops_what_the_unfused_dropout_op_drops():
    """The fused op draws the dropout op's values over the (B, N, T, S) probabilities, so the
    fused and unfused layers, same seed and weights, train alike step by step."""
    x, y = _data((40, 8), n=8), RNG.normal(size=(8, 1)).astype("float32")
    fused, unfused = _seeded_pair_model(False), _seeded_pair_model(True)
    unfused.set_weights(fused.get_weights())
    kinds = [type(core).__name__ for core, _ in unfused._network_nodes()]
    assert any(k.startswith("DropoutOp") for k in kinds)  # the control is unfused
    np.testing.assert_allclose(fused(x, training=True), unfused(x, training=True), rtol=1e-5)
    for _ in range(3):
        losses = [m.train_on_batch(x, y) for m in (fused, unfused)]
        np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    for a, b in zip(fused.get_weights(), unfused.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert not np.allclose(fused(x, training=True), fused(x, training=True))


def test_fused_dropout_resumes_bit_exactly_from_a_keras_file(tmp_path):
    """The fused op's random stream is saved with the model: training on after loading draws
    the masks the uninterrupted model draws."""
    x, y = _data((40, 8), n=8), RNG.normal(size=(8, 1)).astype("float32")
    model = _seeded_pair_model(False)
    model.train_on_batch(x, y)
    model.save(tmp_path / "m.keras")
    loaded = eigennet.models.load_model(tmp_path / "m.keras")
    for m in (model, loaded):
        m.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_dropout_rate_of_the_probabilities():
    """Values all ones and an identity output projection: each output sums the kept
    probabilities of its query divided by 1 - rate (1 in inference)."""
    layer = layers.MultiHeadAttention(1, 4, dropout=0.3, seed=5)
    x = _data((40, 4), n=8)
    layer(x, x)
    w = layer.get_weights()
    w[4], w[5] = np.zeros_like(w[4]), np.ones_like(w[5])
    w[6], w[7] = np.eye(4, dtype="float32").reshape(1, 4, 4), np.zeros_like(w[7])
    layer.set_weights(w)
    inputs = eigennet.Input((40, 4))
    model = eigennet.Model(inputs, layer(inputs, inputs))
    np.testing.assert_allclose(model.predict(x, verbose=0), 1.0, rtol=1e-5)
    out = model(x, training=True)[..., 0]
    assert abs(out.mean() - 1.0) < 0.05 and out.std() > 0.05
    eager = layer(x, x, training=True)[..., 0]
    assert abs(eager.mean() - 1.0) < 0.05 and eager.std() > 0.05


# -- training and saving ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", [c for c in CASES if c[5] is None and not c[6]],
                         ids=[c[0] for c in CASES if c[5] is None and not c[6]])  # fmt: skip
def test_fit_and_keras_file_round_trip(case, tmp_path):
    model = _gradient_model(case, dropout=0.1)
    model.compile(optimizer="adam", loss="mse")
    xs = _model_inputs(case, _case_arrays(case, n=16))
    y = RNG.normal(size=(16, 2)).astype("float32")
    history = model.fit(xs, y, epochs=3, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = eigennet.models.load_model(path)
    layer = next(la for la in loaded.layers if isinstance(la, layers.MultiHeadAttention))
    original = next(la for la in model.layers if isinstance(la, layers.MultiHeadAttention))
    assert layer.get_config() == original.get_config()
    np.testing.assert_allclose(
        loaded.predict(xs, verbose=0), model.predict(xs, verbose=0), rtol=1e-6, atol=1e-6
    )
    loaded.fit(xs, y, epochs=1, verbose=0)


@eigennet.saving.register_keras_serializable(package="test_attention")
class TransformerBlock(layers.Layer):
    def __init__(self, dim, heads, ff_dim, rate=0.1, causal=False, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.heads, self.ff_dim, self.rate, self.causal = dim, heads, ff_dim, rate, causal
        self.att = layers.MultiHeadAttention(num_heads=heads, key_dim=dim)
        self.ffn_1 = layers.Dense(ff_dim, activation="relu")
        self.ffn_2 = layers.Dense(dim)
        self.norm_1 = layers.LayerNormalization(epsilon=1e-6)
        self.norm_2 = layers.LayerNormalization(epsilon=1e-6)
        self.drop_1 = layers.Dropout(rate)
        self.drop_2 = layers.Dropout(rate)

    def call(self, inputs, attention_mask=None, training=None):
        attn = self.att(inputs, inputs, attention_mask=attention_mask, use_causal_mask=self.causal)
        out = self.norm_1(inputs + self.drop_1(attn, training=training))
        ffn = self.ffn_2(self.ffn_1(out))
        return self.norm_2(out + self.drop_2(ffn, training=training))

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "heads": self.heads,
                "ff_dim": self.ff_dim, "rate": self.rate, "causal": self.causal}  # fmt: skip


def test_a_transformer_block_saves_and_loads(tmp_path):
    """A custom layer calling MultiHeadAttention with use_causal_mask: reloading traces its
    call() again, so the causal mask is kept."""
    tokens = eigennet.Input((6, 8))
    block = TransformerBlock(8, 2, 16, causal=True)
    out = layers.Dense(1)(layers.GlobalAveragePooling1D()(block(tokens)))
    model = eigennet.Model(tokens, out)
    model.compile(optimizer="adam", loss="mse")
    x = _data((6, 8), n=16)
    model.fit(x, RNG.normal(size=(16, 1)), epochs=2, verbose=0)
    path = tmp_path / "block.keras"
    model.save(path)
    loaded = eigennet.models.load_model(path)
    predicted = model.predict(x, verbose=0)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), predicted, rtol=1e-6)
    # causal: changing the last token changes only the last position's attention output
    attention = loaded.layers[1].att
    changed = x.copy()
    changed[:, -1] += 3.0
    a, b = attention(x, x, use_causal_mask=True), attention(changed, changed, use_causal_mask=True)
    np.testing.assert_allclose(a[:, :-1], b[:, :-1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[:, -1], b[:, -1])
    mask = np.broadcast_to((np.arange(6) < 4)[None, None, :], (16, 6, 6)).astype("float32")
    _, scores = attention(x, x, attention_mask=mask, use_causal_mask=True,
                          return_attention_scores=True)  # fmt: skip
    assert np.all(scores[..., 4:] == 0) and np.all(np.triu(scores[0, 0], 1) == 0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_from_config_remakes_the_layer(case):
    _, kwargs, *_ = case
    layer = layers.MultiHeadAttention(**kwargs, dropout=0.2, seed=4, kernel_regularizer="l2")
    config = layer.get_config()
    again = layers.MultiHeadAttention.from_config(config)
    assert again.get_config() == config
    query, value, key, mask = _case_arrays(case)
    layer(query, value, key=key)
    again(query, value, key=key)
    again.set_weights(layer.get_weights())
    np.testing.assert_allclose(again(query, value, key=key), layer(query, value, key=key))


# -- bad arguments and inputs ----------------------------------------------------------------------
# (constructor, error type; True when Keras raises the same type at construction)
BAD_ARGUMENTS = [
    (lambda L: L.MultiHeadAttention(0, 4), ValueError, True),
    (lambda L: L.MultiHeadAttention(2.0, 4), ValueError, True),
    (lambda L: L.MultiHeadAttention(2, 0), ValueError, True),
    (lambda L: L.MultiHeadAttention(2, "4"), ValueError, True),
    (lambda L: L.MultiHeadAttention(2, 4, value_dim=-1), ValueError, True),
    (lambda L: L.MultiHeadAttention(2, 4, attention_axes="time"), ValueError, True),
    (lambda L: L.MultiHeadAttention(2, 4, sliding_window=0), ValueError, True),
    (lambda L: L.MultiHeadAttention(2, 4, dropout=1.5), ValueError, False),  # Keras: at build
    (lambda L: L.MultiHeadAttention(2, 4, kernel_initializer="nope"), ValueError, True),
    (lambda L: L.MultiHeadAttention(2, 4, kernel_constraint="nope"), ValueError, True),
    (lambda L: L.MultiHeadAttention(2, 4, unknown_argument=1), ValueError, True),
]


@pytest.mark.parametrize("make, error, _", BAD_ARGUMENTS)
def test_bad_arguments_raise(make, error, _):
    with pytest.raises(error):
        make(layers)


def test_bad_inputs_raise_value_errors():
    q, v = eigennet.Input((5, 4)), eigennet.Input((3, 6))
    with pytest.raises(ValueError, match="value` and `key"):  # key and value lengths differ
        layers.MultiHeadAttention(2, 3)(q, v, key=eigennet.Input((4, 6)))
    with pytest.raises(ValueError, match="attention_mask"):
        layers.MultiHeadAttention(2, 3)(q, v, attention_mask=eigennet.Input((5, 4)))
    with pytest.raises(ValueError, match="attention_mask"):
        layers.MultiHeadAttention(2, 3)(_data((5, 4)), _data((3, 6)), attention_mask=_data((3,)))
    with pytest.raises(ValueError, match="value_mask"):
        layers.MultiHeadAttention(2, 3)(q, v, value_mask=eigennet.Input((5,)))
    with pytest.raises(ValueError, match="same rank"):
        layers.MultiHeadAttention(2, 3)(eigennet.Input((4,)), eigennet.Input((4,)))
    with pytest.raises(ValueError, match="attention_axes"):
        layers.MultiHeadAttention(2, 3, attention_axes=(2,))(eigennet.Input((2, 3, 4)), None)
    layer = layers.MultiHeadAttention(2, 3)
    layer(q, v)
    with pytest.raises(ValueError, match="last dimension of `value`"):  # built for 6 features
        layer(q, eigennet.Input((3, 5)))
    with pytest.raises(ValueError, match="last dimension of `query`"):
        layer(_data((5, 3)), _data((3, 6)))


# -- parity with Keras 3 ------------------------------------------------------------------------
def _keras_twin(keras_ref, layer, kwargs, *arrays):
    theirs = keras_ref.layers.MultiHeadAttention(**kwargs)
    query, value, key = arrays
    theirs(query, value, key=key)
    assert [tuple(w.shape) for w in theirs.weights] == [w.shape for w in layer.weights]
    layer.set_weights([_np(w) for w in theirs.get_weights()])
    return theirs


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_parity_with_keras_outputs_scores_and_configs(keras_ref, case):
    _, kwargs, *_, causal = case
    query, value, key, mask = _case_arrays(case)
    ours = layers.MultiHeadAttention(**kwargs)
    ours(query, value, key=key)
    theirs = _keras_twin(keras_ref, ours, kwargs, query, value, key)
    call = _call_kwargs(key, mask, causal)
    got = ours(query, value, **call)
    np.testing.assert_allclose(got, _np(theirs(query, value, **call)), rtol=1e-5, atol=1e-5)
    got, got_scores = ours(query, value, return_attention_scores=True, **call)
    out, scores = theirs(query, value, return_attention_scores=True, **call)
    np.testing.assert_allclose(got, _np(out), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_scores, _np(scores), rtol=1e-5, atol=1e-6)
    assert ours.compute_output_shape(query.shape, value.shape) == tuple(
        theirs.compute_output_shape(query.shape, value.shape)
    )
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(theirs_config)
    for key_ in set(theirs_config) - {"name", "dtype", "kernel_initializer"}:
        assert ours_config[key_] == theirs_config[key_], key_
    remade = keras_ref.layers.MultiHeadAttention.from_config(ours_config)  # Keras reads ours
    assert remade.get_config()["num_heads"] == ours.num_heads


@pytest.mark.parametrize("make, error, same_in_keras", BAD_ARGUMENTS)
def test_parity_with_keras_error_types(keras_ref, make, error, same_in_keras):
    if not same_in_keras:
        pytest.skip("eigennet raises earlier or differently on purpose (documented)")
    with pytest.raises(error):
        make(keras_ref.layers)


def _block_model(k, heads=2, key_dim=4, dim=8, length=6, masked=False):
    """A transformer block: MHA + residual + LayerNormalization + Dense + pooling."""
    tokens = k.Input((length, dim))
    inputs = [tokens]
    mask = None
    if masked:
        mask = k.Input((length, length))
        inputs.append(mask)
    attn = k.layers.MultiHeadAttention(heads, key_dim)(
        tokens, tokens, attention_mask=mask, use_causal_mask=masked
    )
    x = k.layers.LayerNormalization(epsilon=1e-6)(k.layers.Add()([tokens, attn]))
    ff = k.layers.Dense(dim)(k.layers.Dense(16, activation="relu")(x))
    x = k.layers.LayerNormalization(epsilon=1e-6)(k.layers.Add()([x, ff]))
    x = k.layers.GlobalAveragePooling1D()(x)
    return k.Model(inputs, k.layers.Dense(3, activation="softmax")(x))


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "causal_and_mask"])
def test_parity_with_keras_training_a_transformer_block(keras_ref, masked):
    ours, theirs = _block_model(eigennet, masked=masked), _block_model(keras_ref, masked=masked)
    ours.set_weights([_np(w) for w in theirs.get_weights()])
    x = RNG.normal(size=(32, 6, 8)).astype("float32")
    y = RNG.integers(0, 3, size=32)
    if masked:
        lengths = RNG.integers(2, 7, size=32)
        mask = (np.arange(6)[None, None, :] < lengths[:, None, None]).repeat(6, axis=1)
        x = [x, mask.astype("float32")]
    # SGD: Adam turns the float32 noise of the key bias's gradient (zero in exact arithmetic:
    # softmax ignores a shift shared by every key) into steps of the learning rate's size
    for m, k in ((ours, eigennet), (theirs, keras_ref)):
        m.compile(
            optimizer=k.optimizers.SGD(learning_rate=0.1, momentum=0.9),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    assert_trains_like_keras(ours, theirs, x, y, epochs=3, batch_size=8)


def test_functional_calls_with_masks_flags_and_keys_save_and_load(tmp_path):
    """A functional config records a call's positional and keyword arguments: masks, flags
    and a key that is the query reload as the same model (tests/test_functional_calls.py)."""
    x, v, m = eigennet.Input((4, 6)), eigennet.Input((3, 6)), eigennet.Input((4, 3))
    w = eigennet.Input((4, 5))
    arrays = {
        id(x): RNG.normal(size=(2, 4, 6)),
        id(v): RNG.normal(size=(2, 3, 6)),
        id(m): (RNG.random((2, 4, 3)) > 0.3).astype("float32"),
        id(w): RNG.normal(size=(2, 4, 5)),
    }
    calls = [
        ([x], lambda layer: layer(x, x, use_causal_mask=True)),
        ([x, v, m], lambda layer: layer(x, v, attention_mask=m)),
        ([x, w], lambda layer: layer(x, w, key=x)),
        ([x], lambda layer: layer(x, x, return_attention_scores=True)[0]),
        ([x, v], lambda layer: layer(x, v, key=v, training=True)),
    ]
    for inputs, call in calls:
        model = eigennet.Model(inputs, call(layers.MultiHeadAttention(2, 3)))
        model.save(tmp_path / "call.keras")
        loaded = eigennet.models.load_model(tmp_path / "call.keras")
        data = [arrays[id(t)] for t in inputs]
        np.testing.assert_allclose(
            loaded.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-6
        )


# -- Attention (Luong) and AdditiveAttention (Bahdanau) ------------------------------------------
def luong_reference(layer, query, value, key=None, mask=None, causal=False):
    """Keras's Attention / AdditiveAttention in float64 NumPy: (output, probabilities)."""
    key = value if key is None else key
    q, v, k = (np.asarray(a, dtype=np.float64) for a in (query, value, key))
    weights = [np.asarray(w, dtype=np.float64) for w in layer.get_weights()]
    if isinstance(layer, layers.AdditiveAttention):
        terms = np.tanh(q[:, :, None] + k[:, None])
        scores = (terms * (weights[0] if weights else 1.0)).sum(-1)
    elif layer.score_mode == "dot":
        scores = q @ k.transpose(0, 2, 1) * (weights[0] if layer.use_scale else 1.0)
    else:
        scale = weights[0] if layer.use_scale else 1.0
        scores = weights[-1] * np.tanh(scale * (q[:, :, None] + k[:, None])).sum(-1)
    keep = np.ones(scores.shape[1:], dtype=bool)[None]
    if mask is not None and mask[1] is not None:
        keep = keep & (np.asarray(mask[1]) > 0.5)[:, None, :]
    if causal:
        keep = keep & np.tril(np.ones(scores.shape[1:], dtype=bool))[None]
    scores = scores - 1e9 * (1.0 - keep)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    probabilities = e / e.sum(-1, keepdims=True)
    out = probabilities @ v
    if mask is not None and mask[0] is not None:
        out = out * (np.asarray(mask[0]) > 0.5)[..., None]
    return out, probabilities


LUONG = [
    ("dot", lambda L: L.Attention()),
    ("dot_scale", lambda L: L.Attention(use_scale=True)),
    ("concat", lambda L: L.Attention(score_mode="concat")),
    ("concat_scale", lambda L: L.Attention(use_scale=True, score_mode="concat")),
    ("additive", lambda L: L.AdditiveAttention()),
    ("additive_no_scale", lambda L: L.AdditiveAttention(use_scale=False)),
]
LUONG_IDS = [c[0] for c in LUONG]
LUONG_CALLS = [
    ("plain", False, False),
    ("causal", False, True),
    ("masks", True, False),
    ("masks_causal", True, True),
]


def _luong_arrays(n=3, dtype="float32", tq=5, tv=6, dim=4):
    q, v, k = _data((tq, dim), n, dtype), _data((tv, dim), n, dtype), _data((tv, dim), n, dtype)
    q_mask = (RNG.uniform(size=(n, tq)) > 0.3).astype(dtype)
    v_mask = (RNG.uniform(size=(n, tv)) > 0.3).astype(dtype)
    v_mask[:, 0] = 1
    return q, v, k, [q_mask, v_mask]


def _luong_layer(make, q, v, k, library=None):
    layer = make(library or layers)
    layer([q, v, k])
    if layer.weights:  # away from the initial ones, so a wrong weight shows
        layer.set_weights([np.asarray(w) * 1.3 for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize("call", LUONG_CALLS, ids=[c[0] for c in LUONG_CALLS])
@pytest.mark.parametrize("case", LUONG, ids=LUONG_IDS)
def test_luong_and_additive_attention_forward(case, call):
    _, make = case
    _, masked, causal = call
    q, v, k, mask = _luong_arrays()
    layer = _luong_layer(make, q, v, k)
    kwargs = dict(mask=mask if masked else None, use_causal_mask=causal)
    expected, probabilities = luong_reference(layer, q, v, k, kwargs["mask"], causal)
    out, scores = layer([q, v, k], return_attention_scores=True, **kwargs)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, probabilities, rtol=1e-5, atol=1e-6)
    inputs = [eigennet.Input((5, 4)), eigennet.Input((6, 4)), eigennet.Input((6, 4))]
    masks = [eigennet.Input((5,)), eigennet.Input((6,))] if masked else None
    model = eigennet.Model(
        inputs + (masks or []),
        list(layer(inputs, mask=masks, use_causal_mask=causal, return_attention_scores=True)),
    )
    got, got_scores = model.predict([q, v, k] + (mask if masked else []), verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_scores, probabilities, rtol=1e-5, atol=1e-6)
    assert model.output_shape == [(None, 5, 4), (None, 5, 6)]
    # without a key, the value is the key
    np.testing.assert_allclose(
        layer([q, v], **kwargs), luong_reference(layer, q, v, None, kwargs["mask"], causal)[0],
        rtol=1e-5, atol=1e-5,
    )  # fmt: skip


def test_luong_weights_are_keras():
    q, v, k, _ = _luong_arrays()
    layer = layers.Attention(use_scale=True, score_mode="concat")
    layer([q, v])
    assert [(w.path, w.shape) for w in layer.weights] == [
        (f"{layer.name}/scale", ()), (f"{layer.name}/concat_score_weight", ())
    ]  # fmt: skip
    additive = layers.AdditiveAttention()
    additive([q, v])
    assert [(w.path, w.shape) for w in additive.weights] == [(f"{additive.name}/scale", (4,))]
    assert layers.Attention().compute_output_shape([(None, 5, 4), (None, 6, 3)]) == (None, 5, 3)


@pytest.mark.parametrize("case", LUONG, ids=LUONG_IDS)
def test_luong_float64_gradients_match_finite_differences(float64, case):
    _, make = case
    q_in, v_in, qm, vm = (eigennet.Input(s) for s in ((4, 3), (5, 3), (4,), (5,)))
    query = layers.Dense(3, name="before")(q_in)
    out = make(layers)([query, v_in], mask=[qm, vm], use_causal_mask=True)
    model = eigennet.Model([q_in, v_in, qm, vm], layers.Dense(2)(layers.Flatten()(out)))
    model.compile(optimizer="sgd", loss="mse")
    q, v, k, mask = _luong_arrays(n=2, dtype="float64", tq=4, tv=5, dim=3)
    assert_gradients_match_finite_differences(
        model, [q, v, *mask], RNG.normal(size=(2, 2)), rtol=1e-5, atol=1e-8
    )


def test_luong_dropout_only_in_training_and_seeded():
    q, v, k, _ = _luong_arrays(n=8)
    inputs = [eigennet.Input((5, 4)), eigennet.Input((6, 4))]
    layer = layers.Attention(dropout=0.5, seed=3)
    model = eigennet.Model(inputs, layer(inputs))
    np.testing.assert_array_equal(model.predict([q, v], verbose=0), model([q, v]))
    np.testing.assert_allclose(model([q, v]), luong_reference(layer, q, v)[0], rtol=1e-5)
    assert not np.allclose(model([q, v], training=True), model([q, v], training=True))
    model.predict([q, v], verbose=0)
    assert not any(type(c).__name__.startswith("ModeSelect") for c, _ in model._network_nodes())
    np.testing.assert_array_equal(layer([q, v]), layer([q, v], training=False))
    a = layers.AdditiveAttention(dropout=0.5, seed=9)
    b = layers.AdditiveAttention(dropout=0.5, seed=9)
    a([q, v])
    b([q, v])
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a([q, v], training=True), b([q, v], training=True))
    assert not np.allclose(a([q, v], training=True), a([q, v]))


@pytest.mark.parametrize("case", LUONG, ids=LUONG_IDS)
def test_luong_fit_save_load_and_config(case, tmp_path):
    _, make = case
    inputs = [eigennet.Input((5, 4)), eigennet.Input((6, 4))]
    layer = make(layers)
    model = eigennet.Model(inputs, layers.Dense(1)(layers.Flatten()(layer(inputs))))
    model.compile(optimizer="adam", loss="mse")
    q, v, _, _ = _luong_arrays(n=16)
    model.fit([q, v], RNG.normal(size=(16, 1)), epochs=2, verbose=0)
    model.save(tmp_path / "luong.keras")
    loaded = eigennet.models.load_model(tmp_path / "luong.keras")
    np.testing.assert_allclose(
        loaded.predict([q, v], verbose=0), model.predict([q, v], verbose=0), rtol=1e-6
    )
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    with_mask = eigennet.Model(inputs, make(layers)(inputs, use_causal_mask=True))
    with_mask.save(tmp_path / "causal.keras")  # the call's keyword arguments are saved
    np.testing.assert_allclose(
        eigennet.models.load_model(tmp_path / "causal.keras").predict([q, v], verbose=0),
        with_mask.predict([q, v], verbose=0),
        rtol=1e-6,
    )


def test_luong_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="add")
    with pytest.raises(ValueError):
        layers.Attention(dropout=2.0)
    q, v, _, _ = _luong_arrays()
    with pytest.raises(ValueError, match="list"):
        layers.Attention()(q)
    with pytest.raises(ValueError, match="length 2 or 3"):
        layers.Attention()([q, v, v, v])
    with pytest.raises(ValueError, match="last dimension"):
        layers.Attention()([q, _data((6, 3))])
    with pytest.raises(ValueError, match="same number of steps"):
        layers.Attention()([q, v, _data((7, 4))])
    with pytest.raises(ValueError, match="value_mask"):
        layers.Attention()([q, v], mask=[None, np.ones((3, 5))])
    with pytest.raises(ValueError, match="mask must be a list"):
        layers.Attention()([q, v], mask=np.ones((3, 6)))


@pytest.mark.parametrize("call", LUONG_CALLS, ids=[c[0] for c in LUONG_CALLS])
@pytest.mark.parametrize("case", LUONG, ids=LUONG_IDS)
def test_luong_parity_with_keras(keras_ref, case, call):
    _, make = case
    _, masked, causal = call
    q, v, k, mask = _luong_arrays()
    ours, theirs = _luong_layer(make, q, v, k), make(keras_ref.layers)
    theirs([q, v, k])
    theirs.set_weights(ours.get_weights())
    kwargs = dict(use_causal_mask=causal, return_attention_scores=True)
    got, got_scores = ours([q, v, k], mask=mask if masked else None, **kwargs)
    k_mask = [m.astype(bool) for m in mask] if masked else None
    out, scores = theirs([q, v, k], mask=k_mask, **kwargs)
    np.testing.assert_allclose(got, _np(out), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_scores, _np(scores), rtol=1e-5, atol=1e-6)
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(theirs_config)
    for key in set(theirs_config) - {"name", "dtype"}:
        assert ours_config[key] == theirs_config[key], key
    assert type(theirs).from_config(ours_config).get_config()["dropout"] == ours.dropout
    with pytest.raises(ValueError):
        make(keras_ref.layers)(q)  # not a list: the same error type


def test_we_load_keras_files_with_luong_and_additive_attention(keras_ref, tmp_path):
    q, v = keras_ref.Input((5, 4)), keras_ref.Input((6, 4))
    luong = keras_ref.layers.Attention(use_scale=True, score_mode="concat")
    outputs = keras_ref.layers.Concatenate()(
        [luong([q, v]), keras_ref.layers.AdditiveAttention()([q, v])]
    )
    reference = keras_ref.Model([q, v], outputs)
    luong.set_weights([np.array(1.7, "float32"), np.array(0.6, "float32")])
    reference.save(tmp_path / "keras.keras")
    loaded = eigennet.models.load_model(tmp_path / "keras.keras")
    x = [_data((5, 4)), _data((6, 4))]
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), _np(reference.predict(x, verbose=0)), rtol=1e-5, atol=1e-6
    )
