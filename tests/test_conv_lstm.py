"""ConvLSTM1D and ConvLSTM2D: forward against a NumPy reference and against Keras on the same
weights (padding, strides, dilation, go_backwards, states, masks), gradients against float64
finite differences, dropout, training, files both ways with Keras, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers
from gradient_check import assert_gradients_match_finite_differences

RNG = np.random.default_rng(0)


def _conv(x, k, stride, padding, dilation):
    """NumPy N-D (1 or 2) correlation, channels last: x (B, *S, C), k (*K, C, F)."""
    rank = k.ndim - 2
    stride, dilation = (stride,) * rank if np.isscalar(stride) else stride, (dilation,) * rank
    sizes = x.shape[1:-1]
    if padding == "same":
        outs = [-(-n // s) for n, s in zip(sizes, stride)]
        pads = []
        for n, o, s, kk, d in zip(sizes, outs, stride, k.shape[:rank], dilation):
            total = max((o - 1) * s + d * (kk - 1) + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0), *pads, (0, 0)])
    sizes = x.shape[1:-1]
    outs = [
        (n - d * (kk - 1) - 1) // s + 1 for n, kk, s, d in zip(sizes, k.shape, stride, dilation)
    ]
    out = np.zeros((x.shape[0], *outs, k.shape[-1]))
    for tap in np.ndindex(*k.shape[:rank]):
        index = tuple(
            slice(t * d, t * d + (o - 1) * s + 1, s)
            for t, d, o, s in zip(tap, dilation, outs, stride)
        )
        out += np.tensordot(x[(slice(None), *index)], k[tap], axes=([-1], [0]))
    return out


def _reference(x, kernel, recurrent, bias, stride=1, padding="valid", dilation=1, backwards=False):
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    n = kernel.shape[-1] // 4
    h = c = None
    outputs = []
    steps = range(x.shape[1])
    for t in reversed(steps) if backwards else steps:
        z = _conv(x[:, t], kernel, stride, padding, dilation) + bias
        if h is None:
            h = c = np.zeros(z.shape[:-1] + (n,))
        z = z + _conv(h, recurrent, 1, "same", 1)
        i, f, g, o = (z[..., j * n : (j + 1) * n] for j in range(4))
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, 1), h, c


@pytest.mark.parametrize(
    "rank, kwargs",
    [(2, {}), (2, {"padding": "same"}), (2, {"strides": 2}), (2, {"dilation_rate": 2}),
     (2, {"go_backwards": True, "padding": "same"}), (1, {}),
     (1, {"padding": "same", "strides": 2})],
)  # fmt: skip
def test_forward_matches_numpy(rank, kwargs):
    shape = (2, 4, 7, 6, 3) if rank == 2 else (2, 4, 9, 3)
    x = RNG.normal(size=shape)
    cls = layers.ConvLSTM2D if rank == 2 else layers.ConvLSTM1D
    layer = cls(4, 3, return_sequences=True, return_state=True, **kwargs)
    seq, h, c = layer(x.astype("float32"))
    kernel, recurrent, bias = (w.numpy().astype(np.float64) for w in layer.weights)
    ref = _reference(
        x, kernel, recurrent, bias, kwargs.get("strides", 1), kwargs.get("padding", "valid"),
        kwargs.get("dilation_rate", 1), kwargs.get("go_backwards", False),
    )  # fmt: skip
    for got, want in zip((seq, h, c), ref):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert layer.weights[2].numpy()[4:8].tolist() == [1.0] * 4  # unit_forget_bias


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"padding": "same", "return_sequences": True}, {"strides": 2, "return_state": True},
     {"go_backwards": True, "activation": "relu", "recurrent_activation": "hard_sigmoid"}],
)  # fmt: skip
def test_matches_keras_on_the_same_weights(kwargs):
    kr = pytest.importorskip("keras")
    x = RNG.normal(size=(3, 5, 6, 5, 2)).astype("float32")
    ours, theirs = layers.ConvLSTM2D(3, 3, **kwargs), kr.layers.ConvLSTM2D(3, 3, **kwargs)
    ours(x), theirs(x)
    theirs.set_weights([RNG.normal(scale=0.3, size=w.shape) for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    a, b = ours(x), theirs(x)
    a, b = (a if isinstance(a, list) else [a]), (list(b) if isinstance(b, tuple) else [b])
    for p, q in zip(a, b):
        np.testing.assert_allclose(p, kr.ops.convert_to_numpy(q), rtol=1e-4, atol=1e-5)
    for key in ("filters", "kernel_size", "strides", "padding", "return_sequences", "dropout"):
        assert ours.get_config()[key] == theirs.get_config()[key]


def test_masked_steps_keep_the_states_as_keras():
    kr = pytest.importorskip("keras")
    x = RNG.normal(size=(3, 5, 4, 4, 2)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 1, 0, 1]], bool)
    ours = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    theirs = kr.layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    ours(x), theirs(x)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(
        ours(x, mask=mask), kr.ops.convert_to_numpy(theirs(x, mask=mask)), rtol=1e-4, atol=1e-5
    )


def test_gradients_match_finite_differences(float64):
    inputs = keras.Input((3, 4, 4, 2))
    h = layers.ConvLSTM2D(2, 2, padding="same", return_sequences=True)(inputs)
    outputs = layers.Dense(1)(layers.Flatten()(h))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.normal(size=(3, 3, 4, 4, 2)), RNG.normal(size=(3, 1))
    assert_gradients_match_finite_differences(model, x, y)


def test_initial_state_and_symbolic_states():
    x = RNG.normal(size=(2, 3, 5, 5, 2)).astype("float32")
    encoder = layers.ConvLSTM2D(3, 3, padding="same", return_state=True)
    _, h, c = encoder(x)
    decoder = layers.ConvLSTM2D(3, 3, padding="same")
    out = decoder(x, initial_state=[h, c])
    inputs = keras.Input((3, 5, 5, 2))
    _, sh, sc = encoder(inputs)
    model = keras.Model(inputs, decoder(inputs, initial_state=[sh, sc]))
    np.testing.assert_allclose(model.predict(x, verbose=0), out, rtol=1e-5, atol=1e-6)


def test_dropout_masks_only_in_training():
    x = RNG.normal(size=(4, 3, 5, 5, 2)).astype("float32")
    layer = layers.ConvLSTM2D(3, 3, dropout=0.5, recurrent_dropout=0.3, seed=1)
    np.testing.assert_array_equal(layer(x), layer(x))  # inference: no dropout
    assert not np.allclose(layer(x, training=True), layer(x))
    model = keras.Sequential([keras.Input((3, 5, 5, 2)), layer, layers.Flatten(), layers.Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(x, np.ones((4, 1)), epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_next_frame_training_reduces_the_loss():
    frames = np.zeros((16, 5, 8, 8, 1), "float32")
    for i in range(16):
        for t in range(5):
            frames[i, t, (i + t) % 8, :, 0] = 1.0  # a bar moving down
    model = keras.Sequential([
        keras.Input((4, 8, 8, 1)),
        layers.ConvLSTM2D(8, 3, padding="same", return_sequences=True),
        layers.BatchNormalization(),
        layers.Conv3D(1, 3, padding="same", activation="sigmoid"),
    ])  # fmt: skip
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    history = model.fit(frames[:, :4], frames[:, 1:], epochs=20, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_files_both_ways_with_keras(tmp_path):
    kr = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    x = RNG.normal(size=(2, 3, 5, 5, 2)).astype("float32")
    theirs = kr.Sequential(
        [kr.Input((3, 5, 5, 2)), kr.layers.ConvLSTM2D(2, 3), kr.layers.Flatten()]
    )
    theirs.save(tmp_path / "keras.keras")
    ours = keras.saving.load_model(tmp_path / "keras.keras")
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), kr.ops.convert_to_numpy(theirs(x)), rtol=1e-4, atol=1e-5
    )
    ours.save(tmp_path / "ours.keras")
    again = kr.saving.load_model(tmp_path / "ours.keras")
    for a, b in zip(again.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_errors():
    with pytest.raises(ValueError, match="stateful"):
        layers.ConvLSTM2D(2, 3, stateful=True)
    with pytest.raises(ValueError, match="`filters`"):
        layers.ConvLSTM2D(0, 3)
    with pytest.raises(ValueError, match="strides > 1 is not supported with dilation"):
        layers.ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="`dropout`"):
        layers.ConvLSTM2D(2, 3, dropout=1.0)
    with pytest.raises(ValueError, match="expected ndim=5"):
        layers.ConvLSTM2D(2, 3)(np.zeros((2, 3, 4, 2), "float32"))
    with pytest.raises(ValueError, match="known number of timesteps"):
        layers.ConvLSTM2D(2, 3)(keras.Input((None, 5, 5, 2)))
