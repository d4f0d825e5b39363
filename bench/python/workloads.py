#!/usr/bin/env python
"""Reference workloads W1-W8 (see /work/shared/bench/workloads.md); W1F is W1 written functionally,
W3C is W3 written with a custom layer (add_weight, ops.matmul, a bias and ops.relu).
W3P-int8 is W3P after ``model.quantize("int8")``; its peer is onnxruntime's int8 dynamic
quantization of the PyTorch twin (``quantize_dynamic``, QInt8 weights) when onnxruntime is
installed (else n/a); both report their argmax agreement with their own float32 model.
W5P-int8 is W5's CNN predicting after ``model.quantize("int8")`` (its convolutions too), against
the same onnxruntime quantization of its PyTorch twin (ConvInteger, MatMulInteger).
W3P-ort is W3P against onnxruntime running the PyTorch twin in float32.
W4-bf16 is W4 with every Dense under the ``"mixed_bfloat16"`` policy; its peer is the same
PyTorch loop under ``torch.autocast("cpu", dtype=torch.bfloat16)``.

Runs each workload with eigennet (written as a Keras user writes it:
``import eigennet as keras``; Sequential, compile, fit, predict) and, in the
same process and on the same data, with the PyTorch peer (idiomatic
hand-written loop) and optionally Keras 3 on the torch backend (``--keras``).
Prints a Markdown table; ratios are eigennet speed / peer speed, so > 1 means
eigennet is faster (for W1/W2: peer_seconds / eigennet_seconds).

Method (workloads.md): float32 data from ``np.random.RandomState(0)``, every
library pinned to the same thread count, one warm-up per model covering the
full and the final partial batch shape, only the fit/predict call timed,
median of ``--repeats`` repeats. Repeats are interleaved across libraries
(en, torch, keras, en, torch, keras, ...) so host drift hits all alike; the
same model keeps training across repeats (the cost per step does not depend
on the weights).

Examples::

    python bench/python/workloads.py                      # all, 2 threads
    python bench/python/workloads.py --threads 1,2 --keras --json out.json
    python bench/python/workloads.py --only W1,W3 --repeats 5
    python bench/python/workloads.py --quick              # CI smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import statistics
import sys
import time
import warnings

# W1F is W1 written with the Functional API: the graph's overhead on a tiny model.
# W3C is W3 made of a subclassed Dense: a traced custom layer against the built-in one.
# W3P-int8 is W3P after model.quantize("int8") (peer: onnxruntime int8 dynamic quantization);
# W5P-int8 is W5's CNN the same way (predict only: convolutions quantized too).
# W4-bf16 is W4 under mixed_bfloat16 (peer: PyTorch under autocast bf16).
ALL_WORKLOADS = (
    "W1", "W1F", "W2", "W3", "W3C", "W3P", "W3P-ort", "W3P-int8", "W4", "W4-bf16", "W5",
    "W5P-int8", "W6", "W7", "W8",
)  # fmt: skip
W3_FAMILY = ("W3", "W3C", "W3P", "W3P-ort", "W3P-int8")
INT8_WORKLOADS = ("W3P-int8", "W5P-int8")  # eigennet quantized, onnxruntime int8 the peer
ONNX_PEERS = ("W3P-ort", *INT8_WORKLOADS)  # workloads whose peer is an onnxruntime session
# Workloads that run on another workload's data.
SAME_DATA = {wid: "W3" for wid in (*W3_FAMILY, "W7")} | {
    "W1F": "W1",
    "W4-bf16": "W4",
    "W5P-int8": "W5",
}

# Full-size parameters, and the smaller ones used by --quick.
FULL = {
    "W12_epochs": 1000,
    "W3_n": 60000,
    "W4_n": 20000,
    "W5_n": 10000,
    "W6_n": 6400,
    "W8_n": 4096,
}
QUICK = {"W12_epochs": 200, "W3_n": 6000, "W4_n": 2000, "W5_n": 1000, "W6_n": 640, "W8_n": 256}

NOISY_SPREAD = 1.5  # max/min repeat time above which a figure is flagged with a dagger

W3_LAYERS = (784, 256, 256, 10)
W4_LAYERS = (1024, 2048, 2048, 10)
W6_SHAPE = (50, 32, 128)  # timesteps, features, LSTM units
W7_WIDTH, W7_BLOCKS = 256, 4  # residual MLP: width and number of [Dense, Dense, Add] blocks
# transformer encoder: vocabulary, length and width; heads, head size, feed-forward width, blocks
W8_VOCAB, W8_LENGTH, W8_WIDTH = 1000, 128, 128
W8_HEADS, W8_KEY_DIM, W8_FF, W8_BLOCKS = 4, 32, 512, 2


# --------------------------------------------------------------------------- #
# Data (identical arrays are handed to every library)
# --------------------------------------------------------------------------- #
_DATA_CACHE = {}


def make_data(wid, sizes):
    import numpy as np

    _cache = _DATA_CACHE
    key = (
        SAME_DATA.get(wid, wid),
        sizes["W3_n"],
        sizes["W4_n"],
        sizes["W5_n"],
        sizes["W6_n"],
        sizes["W8_n"],
    )
    if key in _cache:
        return _cache[key]
    if wid in ("W1", "W1F"):
        x = np.array([[1, 2, 3, 4]], dtype=np.float32)
        y = np.array([[1]], dtype=np.float32)
    elif wid == "W2":
        x = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32)
        y = np.array([[0], [1], [1]], dtype=np.float32)
    elif wid in ("W5", "W5P-int8"):  # 28x28x1 images in [0, 1), channels last (torch: NCHW)
        rs = np.random.RandomState(0)
        x = rs.uniform(0.0, 1.0, size=(sizes["W5_n"], 28, 28, 1)).astype(np.float32)
        y = rs.randint(0, 10, size=sizes["W5_n"]).astype(np.int64)
    elif wid == "W6":
        steps, features, _ = W6_SHAPE
        rs = np.random.RandomState(0)
        x = rs.standard_normal((sizes["W6_n"], steps, features)).astype(np.float32)
        y = rs.standard_normal((sizes["W6_n"], 1)).astype(np.float32)
    elif wid == "W8":
        rs = np.random.RandomState(0)
        x = rs.randint(0, W8_VOCAB, size=(sizes["W8_n"], W8_LENGTH)).astype(np.int64)
        y = rs.randint(0, 2, size=sizes["W8_n"]).astype(np.int64)
    else:
        n, d = (sizes["W3_n"], 784) if wid in (*W3_FAMILY, "W7") else (sizes["W4_n"], 1024)
        rs = np.random.RandomState(0)
        x = rs.standard_normal((n, d)).astype(np.float32)
        y = rs.randint(0, 10, size=n).astype(np.int64)
    _cache[key] = (x, y)
    return x, y


def spec(wid, sizes):
    """Batch size, epochs, kind and a label for one workload."""
    e = sizes["W12_epochs"]
    quick = sizes is QUICK
    if wid in ("W1", "W1F"):
        form = " functional" if wid == "W1F" else ""
        return dict(batch=1, epochs=e, kind="fit_time", label=f"{wid} seed-tiny{form} ({e} ep)")
    if wid == "W2":
        return dict(batch=1, epochs=e, kind="fit_time", label=f"W2 seed-mlp ({e} ep)")
    big = {  # workload: (batch, epochs, kind, label, size key)
        "W3": (128, 1, "fit_rate", "W3 mlp-784 fit", "W3_n"),
        "W3C": (128, 1, "fit_rate", "W3C mlp-784 custom-layer fit", "W3_n"),
        "W3P": (1024, None, "predict_rate", "W3P mlp-784 predict", "W3_n"),
        "W3P-ort": (
            1024,
            None,
            "predict_rate",
            "W3P-ort mlp-784 predict (torch column: onnxruntime fp32)",
            "W3_n",
        ),
        "W3P-int8": (
            1024,
            None,
            "predict_rate",
            "W3P-int8 mlp-784 int8 predict (torch column: onnxruntime int8)",
            "W3_n",
        ),
        "W4": (256, 1, "fit_rate", "W4 wide-mlp fit", "W4_n"),
        "W4-bf16": (
            256,
            1,
            "fit_rate",
            "W4-bf16 wide-mlp mixed_bfloat16 fit (torch column: autocast bf16)",
            "W4_n",
        ),
        "W5": (64, 1, "fit_rate", "W5 cnn fit", "W5_n"),
        "W5P-int8": (
            256,
            None,
            "predict_rate",
            "W5P-int8 cnn int8 predict (torch column: onnxruntime int8)",
            "W5_n",
        ),
        "W6": (64, 1, "fit_rate", "W6 lstm fit", "W6_n"),
        "W7": (128, 1, "fit_rate", "W7 residual-mlp fit", "W3_n"),
        "W8": (32, 1, "fit_rate", "W8 transformer fit", "W8_n"),
    }
    if wid in big:
        batch, epochs, kind, label, size_key = big[wid]
        suffix = f" (n={sizes[size_key]})" if quick else ""
        return dict(batch=batch, epochs=epochs, kind=kind, label=label + suffix)
    raise ValueError(wid)


def warmup_slice(n, batch):
    """Number of leading samples whose single epoch hits the full batch shape
    and the final partial batch shape of an epoch over n samples."""
    full = min(batch, n)
    rem = n % batch if n > batch else 0
    return full + rem


def n_weights(layers):
    return sum(a * b + b for a, b in zip(layers[:-1], layers[1:], strict=True))


def w5_forward_flops():
    """Multiply-adds x 2 of one W5 sample's forward: two 3x3 convolutions (26x26x32 and
    11x11x64 outputs) and the two dense layers."""
    return 2 * (26 * 26 * 9 * 32 + 11 * 11 * 9 * 32 * 64 + 1600 * 128 + 128 * 10)


# Predict workloads: 2 flops per weight per sample (int8: 2 operations per multiply-add).
PREDICT_FLOPS = {wid: 2 * n_weights(W3_LAYERS) for wid in ("W3P", "W3P-ort", "W3P-int8")}
PREDICT_FLOPS["W5P-int8"] = w5_forward_flops()


def peak_kind(wid, core):
    """The arithmetic a workload runs on, as eigennet's core runs it (arithmetic_peak kinds)."""
    if wid == "W4-bf16":
        kernel = core.bf16_kernel()
        return {"amx": "amx_bf16", "avx512": "bf16_dot"}.get(kernel, "fp32_fma")
    if wid in INT8_WORKLOADS:
        return {"amx": "amx_int8", "vnni": "int8_dot"}.get(core.int8_kernel(), "fp32_fma")
    return "fp32_fma"


def cpu_name():
    """The CPU's model name (Linux), for the figures' record."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def w8_forward_flops():
    """Multiply-adds x 2 of one W8 sample's forward: the four projections, the two attention
    products and the feed-forward pair of each block (the rest is element-wise)."""
    t, d, ff = W8_LENGTH, W8_WIDTH, W8_FF
    inner = W8_HEADS * W8_KEY_DIM
    projections = 2 * t * (3 * d * inner + inner * d)
    attention = 2 * 2 * t * t * inner
    feed_forward = 2 * 2 * t * d * ff
    return W8_BLOCKS * (projections + attention + feed_forward)


def mlp_train_flops(layers):
    """Flops of one MLP training sample: 2 per weight forward, 2 for its gradient and 2 for the
    input gradient, which the first layer does not compute (the data needs none)."""
    return 6 * n_weights(layers) - 2 * layers[0] * layers[1]


def w5_train_flops():
    """One W5 training sample: the forward, the weight gradients, and the input gradients of
    all but the first convolution (the image needs none)."""
    first_conv = 2 * 26 * 26 * 9 * 32
    return 3 * w5_forward_flops() - first_conv


def w6_train_flops():
    """One W6 training sample: per step, the gate product of [x_t, h] with the (features +
    units) x 4 units kernels forward, its weight gradient, and the gradient of h only (x needs
    none); the last Dense is negligible."""
    steps, features, units = W6_SHAPE
    gates = 4 * units
    per_step = 2 * (features + units) * gates * 2 + 2 * units * gates
    return steps * per_step


# Training workloads: flops per training sample, for GFLOP/s and the shares of the GEMM
# ceiling and of the arithmetic peak measured in the same run.
TRAIN_FLOPS = {
    "W3": mlp_train_flops(W3_LAYERS),
    "W3C": mlp_train_flops(W3_LAYERS),
    "W4": mlp_train_flops(W4_LAYERS),
    "W4-bf16": mlp_train_flops(W4_LAYERS),
    "W5": w5_train_flops(),
    "W6": w6_train_flops(),
    "W7": mlp_train_flops((784, W7_WIDTH))
    + 6 * (2 * W7_BLOCKS * n_weights((W7_WIDTH, W7_WIDTH)) + n_weights((W7_WIDTH, 10))),
    "W8": 3 * w8_forward_flops(),
}


# --------------------------------------------------------------------------- #
# Keras-API side (eigennet, or real Keras 3 on the torch backend)
# --------------------------------------------------------------------------- #
def _custom_dense(keras):
    """Dense written as a user writes a custom layer (Keras's subclassing guide)."""
    ops = keras.ops

    class CustomDense(keras.layers.Layer):
        def __init__(self, units, activation=None, **kwargs):
            super().__init__(**kwargs)
            self.units, self.activation = units, activation

        def build(self, input_shape):
            self.kernel = self.add_weight(
                shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel"
            )
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

        def call(self, x):
            y = ops.matmul(x, self.kernel) + self.bias
            if self.activation == "relu":
                return ops.relu(y)
            return ops.softmax(y) if self.activation == "softmax" else y

    return CustomDense


def _keras_transformer(keras):
    """W8 as keras-io's "Text classification with Transformer" writes it: a custom token and
    position embedding layer, then functional transformer blocks."""
    layers, ops = keras.layers, keras.ops

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
            super().__init__(**kwargs)
            self.token_emb = layers.Embedding(vocab_size, embed_dim)
            self.pos_emb = layers.Embedding(maxlen, embed_dim)

        def call(self, x):
            positions = self.pos_emb(ops.arange(0, ops.shape(x)[-1], 1))
            return self.token_emb(x) + positions

    inputs = keras.Input(shape=(W8_LENGTH,), dtype="int32")
    x = TokenAndPositionEmbedding(W8_LENGTH, W8_VOCAB, W8_WIDTH)(inputs)
    for _ in range(W8_BLOCKS):
        attended = layers.MultiHeadAttention(W8_HEADS, W8_KEY_DIM)(x, x)
        x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attended]))
        ff = layers.Dense(W8_FF, activation="gelu")(x)
        ff = layers.Dense(W8_WIDTH)(ff)
        x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, ff]))
    x = layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, layers.Dense(2, activation="softmax")(x))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
    )
    return model


class KerasAPIRunner:
    """The workload written exactly as a Keras user writes it."""

    def __init__(self, keras, name, verbose=0):
        self.keras = keras
        self.name = name
        self.verbose = verbose  # "auto" is what users get: a progress bar

    def build(self, wid):
        keras = self.keras
        layers = keras.layers
        if wid == "W1":
            model = keras.Sequential(
                [
                    keras.Input(shape=(4,)),
                    layers.Dense(2, activation="sigmoid"),
                    layers.Dense(1, activation="sigmoid"),
                ]
            )
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="binary_crossentropy"
            )
        elif wid == "W1F":
            inputs = keras.Input(shape=(4,))
            hidden = layers.Dense(2, activation="sigmoid")(inputs)
            model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(hidden))
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="binary_crossentropy"
            )
        elif wid == "W7":
            inputs = keras.Input(shape=(784,))
            x = layers.Dense(W7_WIDTH, activation="relu")(inputs)
            for _ in range(W7_BLOCKS):
                block = layers.Dense(W7_WIDTH, activation="relu")(x)
                block = layers.Dense(W7_WIDTH)(block)
                x = layers.ReLU()(layers.Add()([block, x]))
            model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                loss="sparse_categorical_crossentropy",
            )
        elif wid == "W8":
            model = _keras_transformer(keras)
        elif wid == "W2":
            model = keras.Sequential(
                [
                    keras.Input(shape=(2,)),
                    layers.Dense(10, activation="relu"),
                    layers.Dense(5, activation="relu"),
                    layers.Dense(1, activation="sigmoid"),
                ]
            )
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="binary_crossentropy"
            )
        elif wid in ("W5", "W5P-int8"):
            model = keras.Sequential(
                [
                    keras.Input(shape=(28, 28, 1)),
                    layers.Conv2D(32, 3, activation="relu"),
                    layers.MaxPooling2D(2),
                    layers.Conv2D(64, 3, activation="relu"),
                    layers.MaxPooling2D(2),
                    layers.Flatten(),
                    layers.Dense(128, activation="relu"),
                    layers.Dense(10, activation="softmax"),
                ]
            )
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                loss="sparse_categorical_crossentropy",
            )
        elif wid == "W6":
            steps, features, units = W6_SHAPE
            model = keras.Sequential(
                [keras.Input(shape=(steps, features)), layers.LSTM(units), layers.Dense(1)]
            )
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
        else:
            dims = W3_LAYERS if wid in W3_FAMILY else W4_LAYERS
            dense = _custom_dense(keras) if wid == "W3C" else layers.Dense
            if wid == "W4-bf16":
                dense = functools.partial(layers.Dense, dtype="mixed_bfloat16")
            model = keras.Sequential(
                [
                    keras.Input(shape=(dims[0],)),
                    dense(dims[1], activation="relu"),
                    dense(dims[2], activation="relu"),
                    dense(dims[3], activation="softmax"),
                ]
            )
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                loss="sparse_categorical_crossentropy",
            )
        self.float_model = None
        if wid in INT8_WORKLOADS:  # the float twin (same weights) answers argmax_agreement
            self.float_model = self.keras.models.clone_model(model)
            self.float_model.set_weights(model.get_weights())
            with warnings.catch_warnings():  # pooling and Flatten have no quantize()
                warnings.simplefilter("ignore")
                model.quantize("int8")
        self.model = model

    def argmax_agreement(self, x, out):
        """Share of rows whose argmax the quantized model keeps (None: not quantized)."""
        if self.float_model is None:
            return None
        reference = self.float_model.predict(x, batch_size=1024, verbose=0)
        return float((out.argmax(-1) == reference.argmax(-1)).mean())

    def fit(self, x, y, batch, epochs):
        hist = self.model.fit(
            x, y, batch_size=batch, epochs=epochs, verbose=self.verbose, shuffle=True
        )
        return float(hist.history["loss"][-1])

    def predict(self, x, batch):
        return self.model.predict(x, batch_size=batch, verbose=self.verbose)


# --------------------------------------------------------------------------- #
# PyTorch peer: the idiomatic hand-written loop
# --------------------------------------------------------------------------- #
def _torch_lstm_regressor(nn):
    """W6 in PyTorch: nn.LSTM (batch_first) whose last output feeds nn.Linear(units, 1)."""
    _, features, units = W6_SHAPE

    class LSTMRegressor(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(features, units, batch_first=True)
            self.head = nn.Linear(units, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    return LSTMRegressor()


def _torch_residual_mlp(nn):
    """W7 in PyTorch: the same blocks as a hand-written nn.Module."""

    class ResidualMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Linear(784, W7_WIDTH)
            self.blocks = nn.ModuleList(
                nn.Sequential(
                    nn.Linear(W7_WIDTH, W7_WIDTH), nn.ReLU(), nn.Linear(W7_WIDTH, W7_WIDTH)
                )
                for _ in range(W7_BLOCKS)
            )
            self.head = nn.Linear(W7_WIDTH, 10)

        def forward(self, x):
            x = self.stem(x).relu()
            for block in self.blocks:
                x = (block(x) + x).relu()
            return self.head(x)

    return ResidualMLP()


def _torch_transformer(nn, torch):
    """W8 in PyTorch: token and position embeddings, nn.TransformerEncoder of the same sizes
    (post-norm, gelu, no dropout), the mean over the sequence and a linear head."""

    class TransformerClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = nn.Embedding(W8_VOCAB, W8_WIDTH)
            self.positions = nn.Embedding(W8_LENGTH, W8_WIDTH)
            block = nn.TransformerEncoderLayer(
                W8_WIDTH,
                W8_HEADS,
                dim_feedforward=W8_FF,
                dropout=0.0,
                activation="gelu",
                layer_norm_eps=1e-6,
                batch_first=True,
                norm_first=False,
            )
            self.encoder = nn.TransformerEncoder(block, W8_BLOCKS, enable_nested_tensor=False)
            self.head = nn.Linear(W8_WIDTH, 2)
            self.register_buffer("steps", torch.arange(W8_LENGTH))

        def forward(self, ids):
            x = self.tokens(ids) + self.positions(self.steps)
            return self.head(self.encoder(x).mean(dim=1))

    return TransformerClassifier()


class TorchRunner:
    name = "torch"

    def __init__(self, torch):
        self.torch = torch

    def build(self, wid):
        nn = self.torch.nn
        if wid in ("W1", "W1F"):
            model = nn.Sequential(nn.Linear(4, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
            loss_fn, lr = nn.BCELoss(), 0.1
        elif wid == "W2":
            model = nn.Sequential(
                nn.Linear(2, 10),
                nn.ReLU(),
                nn.Linear(10, 5),
                nn.ReLU(),
                nn.Linear(5, 1),
                nn.Sigmoid(),
            )
            loss_fn, lr = nn.BCELoss(), 1e-3
        elif wid in ("W5", "W5P-int8"):  # NCHW, as PyTorch users write it
            model = nn.Sequential(
                nn.Conv2d(1, 32, 3),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Linear(64 * 5 * 5, 128),
                nn.ReLU(),
                nn.Linear(128, 10),
            )
            loss_fn, lr = nn.CrossEntropyLoss(), 1e-3
        elif wid == "W6":
            model, loss_fn, lr = _torch_lstm_regressor(nn), nn.MSELoss(), 1e-3
        elif wid == "W7":
            model, loss_fn, lr = _torch_residual_mlp(nn), nn.CrossEntropyLoss(), 1e-3
        elif wid == "W8":
            model, loss_fn, lr = _torch_transformer(nn, self.torch), nn.CrossEntropyLoss(), 1e-3
        else:
            d = W3_LAYERS if wid in W3_FAMILY else W4_LAYERS
            model = nn.Sequential(
                nn.Linear(d[0], d[1]),
                nn.ReLU(),
                nn.Linear(d[1], d[2]),
                nn.ReLU(),
                nn.Linear(d[2], d[3]),
            )
            loss_fn, lr = nn.CrossEntropyLoss(), 1e-3
        self.model = model
        self.loss_fn = loss_fn
        self.autocast = wid == "W4-bf16"
        self.opt = self.torch.optim.Adam(model.parameters(), lr=lr)
        self._tensors = {}
        self.int8 = wid in INT8_WORKLOADS
        sample = (1, 1, 28, 28) if wid == "W5P-int8" else (1, W3_LAYERS[0])
        self.session = (
            _onnx_session(self.torch, model, self.int8, sample) if wid in ONNX_PEERS else None
        )

    def supports(self, wid):
        """W3P-ort and the int8 workloads need onnxruntime (their peer); every other workload
        runs."""
        return wid not in ONNX_PEERS or _has_onnxruntime()

    def argmax_agreement(self, x, out):
        if not self.int8:
            return None
        self.session, session = None, self.session  # the float twin, just this once
        reference = self.predict(x, 1024)
        self.session = session
        return float((out.argmax(-1) == reference.argmax(-1)).mean())

    def _as_tensors(self, x, y):
        # The whole data set as tensors (zero-copy views of the shared arrays);
        # converted once, outside the timed region.
        key = (id(x), id(y))
        if key not in self._tensors:
            torch = self.torch
            X = torch.from_numpy(x)
            if X.ndim == 4:  # channels-last images -> NCHW, once
                X = X.permute(0, 3, 1, 2).contiguous()
            self._tensors[key] = (X, None if y is None else torch.from_numpy(y))
        return self._tensors[key]

    def prepare(self, x, y):
        self._as_tensors(x, y)

    def fit(self, x, y, batch, epochs):
        torch = self.torch
        X, Y = self._as_tensors(x, y)
        model, opt, loss_fn = self.model, self.opt, self.loss_fn
        n = X.shape[0]
        model.train()
        last = None
        for _ in range(epochs):
            perm = torch.randperm(n)
            for i in range(0, n, batch):
                idx = perm[i : i + batch]
                xb, yb = X[idx], Y[idx]
                opt.zero_grad()
                with self._precision():
                    loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                last = loss.detach()
        return float(last)  # last batch loss

    def _precision(self):
        """autocast bf16 for W4-bf16, as PyTorch's mixed precision recipe writes it."""
        if not self.autocast:
            return contextlib.nullcontext()
        return self.torch.autocast("cpu", dtype=self.torch.bfloat16)

    def predict(self, x, batch):
        torch = self.torch
        X, _ = self._as_tensors(x, None)
        model = self.model
        model.eval()
        outs = []
        if self.session is not None:  # onnxruntime (softmax inside the graph)
            import numpy as np

            feed = X.numpy()  # images as NCHW, as the twin was exported
            for i in range(0, x.shape[0], batch):
                outs.append(self.session.run(None, {"x": feed[i : i + batch]})[0])
            return np.concatenate(outs)
        with torch.no_grad():
            for i in range(0, X.shape[0], batch):
                # softmax so the output matches Keras predict (probabilities)
                outs.append(torch.softmax(model(X[i : i + batch]), dim=-1))
        return torch.cat(outs).numpy()


def _has_onnxruntime():
    try:
        import onnxruntime  # noqa: F401
        import onnxruntime.quantization  # noqa: F401
    except ImportError:
        return False
    return True


def _onnx_session(torch, model, int8, sample_shape):
    """The PyTorch twin (with its softmax) exported to ONNX, with `int8` its weights quantized
    to int8 by onnxruntime's dynamic quantization (activations quantized per batch at run
    time), and a session pinned to torch's thread count."""
    import tempfile

    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = tempfile.mkdtemp(prefix="predict-onnx-")
    fp32, quantized = os.path.join(folder, "twin.onnx"), os.path.join(folder, "twin-int8.onnx")
    twin = torch.nn.Sequential(model, torch.nn.Softmax(dim=-1)).eval()
    torch.onnx.export(
        twin,
        (torch.zeros(*sample_shape),),
        fp32,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
        dynamo=False,
    )
    if int8:
        quantize_dynamic(fp32, quantized, weight_type=QuantType.QInt8)
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    # Its pool's threads otherwise spin after each run, taking the cores from the next
    # library of the interleaved repeats.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    path = quantized if int8 else fp32
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


# --------------------------------------------------------------------------- #
# Driver
# --------------------------------------------------------------------------- #
def run_workload(wid, runners, sizes, repeats, seed_all):
    runners = [r for r in runners if not hasattr(r, "supports") or r.supports(wid)]
    sp = spec(wid, sizes)
    x, y = make_data(wid, sizes)
    n = x.shape[0]
    batch = sp["batch"]
    w = warmup_slice(n, batch)

    # Build + warm-up (full and final partial batch shape) for every library.
    for r in runners:
        seed_all()
        r.build(wid)
        if hasattr(r, "prepare"):
            r.prepare(x, y)
        if sp["kind"] == "predict_rate":
            r.predict(x[:w], batch)
        else:
            r.fit(x[:w], y[:w], batch, 1)

    times = {r.name: [] for r in runners}
    losses = {r.name: None for r in runners}
    outs = {}
    for _ in range(repeats):
        for r in runners:
            t0 = time.perf_counter()
            if sp["kind"] == "predict_rate":
                out = r.predict(x, batch)
            else:
                losses[r.name] = r.fit(x, y, batch, sp["epochs"])
            times[r.name].append(time.perf_counter() - t0)
            if sp["kind"] == "predict_rate":
                outs[r.name] = out

    results = {}
    for r in runners:
        med = statistics.median(times[r.name])
        res = {
            "times_s": times[r.name],
            "median_s": med,
            "min_s": min(times[r.name]),
            "loss": losses[r.name],
        }
        if sp["kind"] == "fit_time":
            res.update(value=med, unit="s")
        else:
            res.update(value=n / med, unit="samples/s")
            flops = TRAIN_FLOPS.get(wid) or PREDICT_FLOPS.get(wid)
            if flops:
                res["gflops"] = flops * n / med / 1e9
        if sp["kind"] == "predict_rate":
            o = outs[r.name]
            res["output_shape"] = list(getattr(o, "shape", ()))
            try:  # probabilities: each row should sum to 1
                res["row_sum_max_err"] = float(abs(o.sum(axis=-1) - 1).max())
            except Exception:  # pragma: no cover - defensive
                pass
            agreement = r.argmax_agreement(x, o) if hasattr(r, "argmax_agreement") else None
            if agreement is not None:
                res["argmax_agreement"] = agreement
        results[r.name] = res
    return sp, n, results


def gemm_ceiling(matmul, n, repeats=5):
    """GFLOP/s of an n x n x n float32 product (median of repeats, after a warm-up)."""
    import numpy as np

    rng = np.random.RandomState(0)
    a = rng.standard_normal((n, n)).astype("float32")
    b = rng.standard_normal((n, n)).astype("float32")
    matmul(a, b)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        matmul(a, b)
        times.append(time.perf_counter() - t0)
    return 2.0 * n**3 / statistics.median(times) / 1e9


def speed_ratio(kind, a, b):
    """a speed / b speed (> 1: a faster)."""
    if a is None or b is None:
        return None
    if kind == "fit_time":
        return b["median_s"] / a["median_s"]
    return a["value"] / b["value"]


def fmt_value(wid, kind, res):
    if res is None:
        return "n/a"
    if kind == "fit_time":
        t = res["value"]
        s = f"{t * 1000:.2f} ms" if t < 0.1 else f"{t:.3f} s"
    else:
        v = res["value"]
        s = f"{v / 1000:.1f}k samples/s" if v >= 1000 else f"{v:.0f} samples/s"
        if "gflops" in res:
            s += f", {res['gflops']:.0f} GFLOP/s"
            if "pct_of_gemm_ceiling" in res:
                s += f" = {res['pct_of_gemm_ceiling']:.0f} % of the core's GEMM"
            if "pct_of_peak" in res:
                s += f", {res['pct_of_peak']:.0f} % of the {res['peak_kind']} peak"
    if noisy(res):
        s += " †"
    return s


def noisy(res):
    """Repeats disagree by more than NOISY_SPREAD (host busy: see the JSON times)."""
    ts = res["times_s"]
    return len(ts) > 1 and max(ts) > NOISY_SPREAD * min(ts)


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}x"


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--threads",
        default="2",
        help="thread count(s) every library is pinned to, e.g. 2 or 1,2 (default 2)",
    )
    p.add_argument("--repeats", type=int, default=3, help="timed repeats; the median is quoted")
    p.add_argument("--only", default=None, help="comma list of workloads, e.g. W1,W3")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smaller W3/W4 data and 200 epochs for W1/W2 (CI smoke run)",
    )
    p.add_argument(
        "--keras",
        action="store_true",
        help="also run Keras 3 (KERAS_BACKEND=torch) as a second peer",
    )
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    p.add_argument(
        "--verbose",
        choices=("0", "auto"),
        default="0",
        help='verbose of fit/predict on the Keras side: "auto" (what users get: a progress bar) '
        "or 0 (default)",
    )
    p.add_argument("--json", metavar="PATH", help="also write all figures to this JSON file")
    # Internal: validate the script with real Keras standing in for eigennet.
    p.add_argument(
        "--impl", choices=("eigennet", "keras"), default="eigennet", help=argparse.SUPPRESS
    )
    args = p.parse_args(argv)
    args.threads = [int(t) for t in str(args.threads).split(",") if t.strip()]
    if args.only:
        canonical = {w.upper(): w for w in ALL_WORKLOADS}  # W3P-int8 written any case
        args.only = [
            canonical.get(w.strip().upper(), w.strip()) for w in args.only.split(",") if w.strip()
        ]
        bad = [w for w in args.only if w not in ALL_WORKLOADS]
        if bad:
            p.error(f"unknown workload(s) {bad}; choose from {', '.join(ALL_WORKLOADS)}")
    else:
        args.only = list(ALL_WORKLOADS)
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    first = max(args.threads)
    # Pin BLAS/OpenMP pools before any numeric library is imported; the
    # set_num_threads calls below are the authoritative pinning.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(first))
    if args.keras or args.impl == "keras":
        os.environ["KERAS_BACKEND"] = "torch"

    import numpy as np

    load_before = os.getloadavg()

    # eigennet first: torch ships its own libgomp.so.1, and whichever library loads first
    # provides the one OpenMP runtime both then share. eigennet sets GOMP_SPINCOUNT before
    # loading it (python/eigennet/_openmp_env.py); loaded after torch, it would run on
    # libgomp's default busy-wait, which cost W8 a third of its speed on 2 cores.
    t0 = time.perf_counter()
    if args.impl == "keras":
        import keras as main_lib

        main_name = "keras-as-eigennet"
    else:
        import eigennet as main_lib

        main_name = "eigennet"
    import_s = time.perf_counter() - t0

    torch = None
    if not args.no_torch or args.keras or args.impl == "keras":
        try:
            import torch  # noqa: F811
        except ImportError:
            torch = None
            if args.keras or args.impl == "keras":
                sys.exit("--keras / --impl keras need torch (KERAS_BACKEND=torch)")

    real_keras = None
    if args.keras:
        import keras as real_keras

    verbose = 0 if args.verbose == "0" else "auto"
    runners = [KerasAPIRunner(main_lib, main_name, verbose)]
    if torch is not None and not args.no_torch:
        runners.append(TorchRunner(torch))
    if real_keras is not None:
        runners.append(KerasAPIRunner(real_keras, "keras", verbose))
    names = [r.name for r in runners]
    has_torch = "torch" in names
    has_keras = "keras" in names

    def set_threads(nt):
        if torch is not None:
            torch.set_num_threads(nt)
        if args.impl == "eigennet":
            main_lib.config.set_num_threads(nt)
        got = {}
        if torch is not None:
            got["torch"] = torch.get_num_threads()
        if args.impl == "eigennet":
            got["eigennet"] = main_lib.config.get_num_threads()
        return got

    def seed_all():
        np.random.seed(0)
        if torch is not None:
            torch.manual_seed(0)
        for lib in (main_lib, real_keras):
            if lib is not None:
                lib.utils.set_random_seed(0)

    sizes = QUICK if args.quick else FULL
    # The instruction-set variant of eigennet's core (eigennet.config.isa(); None for real Keras).
    isa = main_lib.config.isa() if args.impl == "eigennet" else None
    meta = {
        "impl": main_name,
        "isa": isa,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            main_name: getattr(main_lib, "__version__", "?"),
            **({"torch": torch.__version__} if torch is not None else {}),
            **({"keras": real_keras.__version__} if real_keras is not None else {}),
        },
        "import_s": {main_name: import_s},
        "machine": platform.machine(),
        "cpu": cpu_name(),
        "cpus": os.cpu_count(),
        "loadavg_before": load_before,
        "repeats": args.repeats,
        "quick": args.quick,
        "sizes": sizes,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    vers = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    print(f"# eigennet reference workloads ({'quick' if args.quick else 'full'})")
    print(
        f"\n{meta['cpu']}; {vers}; {os.cpu_count()} CPUs; load avg before "
        f"{load_before[0]:.2f}; median of {args.repeats}; import {main_name} {import_s:.2f} s"
        + (f"; ISA variant {isa}" if isa else "")
    )
    if not has_torch:
        print(
            "\n(PyTorch peer skipped: "
            + ("--no-torch" if args.no_torch else "torch is not installed")
            + ")"
        )
    if load_before[0] > 0.5:
        print(
            f"\nWARNING: load average {load_before[0]:.2f} before start; other processes "
            "compete for the cores, figures will be low and noisy."
        )
    sys.stdout.flush()

    rows, records = [], []
    for nt in args.threads:
        got = set_threads(nt)
        thr = (
            str(nt)
            if all(v == nt for v in got.values())
            else f"{nt} (" + ", ".join(f"{k}={v}" for k, v in got.items()) + ")"
        )
        # The fp32 GEMM ceiling of this thread count, measured in this run: the core's own
        # product (its instruction set and threads) and PyTorch's (MKL).
        gemm_n = 1024 if args.quick else 2048
        ceiling = {}
        if args.impl == "eigennet":
            ceiling[main_name] = gemm_ceiling(main_lib._core.matmul, gemm_n)
        if torch is not None:
            ceiling["torch"] = gemm_ceiling(
                lambda a, b: torch.mm(torch.from_numpy(a), torch.from_numpy(b)), gemm_n
            )
        meta.setdefault("gemm_ceiling_gflops", {})[nt] = ceiling
        print(
            f"\nfp32 GEMM {gemm_n}^3 at {nt} thread(s): "
            + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in ceiling.items()),
            flush=True,
        )
        # The machine's arithmetic peaks at this thread count (register-only loops).
        peaks = {}
        if args.impl == "eigennet":
            core = main_lib._core
            peaks = {k: core.arithmetic_peak(k, nt, 0.3) for k in core.arithmetic_peak_kinds()}
            meta.setdefault("arithmetic_peak_gflops", {})[nt] = peaks
            print(
                f"arithmetic peak at {nt} thread(s): "
                + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
                + " GFLOP/s (int8: GOP/s)",
                flush=True,
            )
        # The bf16 ceiling (operands rounded to bfloat16, float32 sums) for W4-bf16.
        bf16_ceiling = {}
        if "W4-bf16" in args.only:
            if args.impl == "eigennet":
                bf16_ceiling[main_name] = gemm_ceiling(main_lib._core.bf16_gemm, gemm_n)
            if torch is not None:
                bf16_ceiling["torch"] = gemm_ceiling(
                    lambda a, b: torch.mm(
                        torch.from_numpy(a).bfloat16(), torch.from_numpy(b).bfloat16()
                    ),
                    gemm_n,
                )
            meta.setdefault("bf16_gemm_ceiling_gflops", {})[nt] = bf16_ceiling
            print(
                f"bf16 GEMM {gemm_n}^3 at {nt} thread(s) (kernel "
                f"{main_lib._core.bf16_kernel() if args.impl == 'eigennet' else 'n/a'}): "
                + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in bf16_ceiling.items()),
                flush=True,
            )
        for wid in args.only:
            sp, n, res = run_workload(wid, runners, sizes, args.repeats, seed_all)
            peak = bf16_ceiling if wid == "W4-bf16" else ceiling
            for r in res.values():
                if r is not None and "gflops" in r and main_name in peak:
                    r["pct_of_gemm_ceiling"] = 100.0 * r["gflops"] / peak[main_name]
            kind = peak_kind(wid, main_lib._core) if peaks else None
            if kind in peaks and res.get(main_name) and "gflops" in res[main_name]:
                res[main_name]["peak_kind"] = kind
                res[main_name]["pct_of_peak"] = 100.0 * res[main_name]["gflops"] / peaks[kind]
            kind = sp["kind"]
            en = res[main_name]
            row = [sp["label"], fmt_value(wid, kind, en)]
            if has_torch:
                row += [
                    fmt_value(wid, kind, res.get("torch")),
                    fmt_ratio(speed_ratio(kind, en, res.get("torch"))),
                ]
            if has_keras:
                row += [
                    fmt_value(wid, kind, res["keras"]),
                    fmt_ratio(speed_ratio(kind, en, res["keras"])),
                ]
            row.append(thr)
            rows.append(row)
            for name, r in res.items():
                records.append(
                    {
                        "workload": wid,
                        "label": sp["label"],
                        "threads": nt,
                        "threads_reported": got,
                        "impl": name,
                        "kind": kind,
                        "n": n,
                        "batch": sp["batch"],
                        "epochs": sp["epochs"],
                        **r,
                    }
                )
            print(
                f"  done {wid} @ {nt} thread(s): "
                + ", ".join(f"{k} {fmt_value(wid, kind, v)}" for k, v in res.items()),
                file=sys.stderr,
                flush=True,
            )

    header = ["workload", main_name]
    if has_torch:
        header += ["torch", f"{main_name}/torch"]
    if has_keras:
        header += ["keras (torch backend)", f"{main_name}/keras"]
    header.append("threads")
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(
        "\nRatio = eigennet speed / peer speed (> 1: eigennet faster; W1/W2: peer s / eigennet s)."
    )
    if any(noisy(r) for r in records):
        print(
            f"† the slowest repeat took over {NOISY_SPREAD}x the fastest: the host was busy "
            "(other processes on the cores); rerun, or use more --repeats."
        )

    # Sanity: final training loss (Keras: last epoch mean; torch: last batch).
    print("\nFinal training loss (sanity; Keras-API: last-epoch mean, torch: last batch):")
    for nt in args.threads:
        for wid in args.only:
            recs = [r for r in records if r["workload"] == wid and r["threads"] == nt]
            parts = []
            for r in recs:
                if r["loss"] is not None:
                    parts.append(f"{r['impl']} {r['loss']:.4g}")
                elif "row_sum_max_err" in r:
                    parts.append(
                        f"{r['impl']} out {tuple(r['output_shape'])} "
                        f"|rowsum-1| {r['row_sum_max_err']:.1e}"
                        + (
                            f", argmax agreement with float32 {r['argmax_agreement']:.4f}"
                            if "argmax_agreement" in r
                            else ""
                        )
                    )
            print(f"- {wid} @ {nt}: " + "; ".join(parts))

    meta["loadavg_after"] = os.getloadavg()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": records}, f, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
