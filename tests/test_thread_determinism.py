"""The same seed gives the same training at 1 and 2 threads, within 1e-6 relative.

One small model per layer family, each sized so that the core really splits its work between
two threads (the grain sizes below mirror the C++ ones; each case asserts its sizes clear
them), trained for a few steps with the same seed at 1 and at 2 threads. Weights, epoch
losses and predictions must agree within RTOL relative to each tensor's largest magnitude: a
reduction whose order follows the thread split changes results only at float rounding, ~1e-7.
"""

import numpy as np
import pytest

import eigennet as keras

RTOL = 1e-6

# Grain sizes of the core (cpp/include/eigennet/threading.hpp, gemm.hpp, cpp/src/conv.cpp,
# cpp/src/recurrent.cpp): below them a loop or product stays on one thread.
ELEMENTWISE_GRAIN = 1 << 18  # activations, dropout, pooling, normalization (values)
GEMM_GRAIN_FLOPS = 4.0e6  # gemm(), conv chunks, recurrent time loops
OPTIMIZER_GRAIN = 1 << 16  # parameters per step
CONV_CHUNK_ELEMENTS = 1 << 18  # a convolution chunk's column matrix
RECURRENT_MIN_ROWS_PER_THREAD = 4


# Two causes found with a C++ probe comparing every layer's forward, parameter gradient and
# input gradient bit for bit at 1 and 2 threads, both fixed: gemm() column slices now keep
# Eigen's 3-packet panels whole (test_mlp_width_512), and fused recurrent cells accumulate
# their weight gradients per group of batch rows fixed by the batch size, not per thread.


@pytest.fixture(autouse=True)
def restore_threads():
    original = keras.config.get_num_threads()
    yield
    keras.config.set_num_threads(original)


def _conv_splits(batch, pixels, patch, filters):
    """Whether Conv's chunks go to two threads (Conv::slot_count)."""
    chunk = max(1, CONV_CHUNK_ELEMENTS // (pixels * max(patch, filters)))
    chunks = -(-batch // chunk)
    return chunks >= 2 and 2.0 * batch * pixels * patch * filters >= GEMM_GRAIN_FLOPS


def _recurrent_splits(batch, steps, units, gates):
    """Whether a recurrent layer's time loop runs on two threads (row_range_threads)."""
    flops = 2.0 * batch * steps * units * gates * units
    return batch // RECURRENT_MIN_ROWS_PER_THREAD >= 2 and flops >= GEMM_GRAIN_FLOPS


def _train(threads, build, x, y, loss, optimizer, batch_size, epochs=2, seed=7):
    keras.config.set_num_threads(threads)
    keras.utils.set_random_seed(seed)
    model = build()
    model.compile(optimizer=optimizer(), loss=loss)
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
    predictions = model.predict(x, batch_size=batch_size, verbose=0)
    return model.get_weights(), history.history["loss"], predictions


def _assert_close(name, a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, name
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(b)), name
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)), np.finfo(np.float32).tiny)
    worst = np.max(np.abs(a - b)) / scale
    assert worst <= RTOL, f"{name}: differs by {worst:.2e} of its scale at 1 vs 2 threads"


def _check_threads_change_only_rounding(build, x, y, loss, batch_size, optimizer=None):
    optimizer = optimizer or (lambda: keras.optimizers.Adam(1e-3))
    one = _train(1, build, x, y, loss, optimizer, batch_size)
    two = _train(2, build, x, y, loss, optimizer, batch_size)
    w1, h1, p1 = one
    w2, h2, p2 = two
    assert len(w1) == len(w2)
    for i, (a, b) in enumerate(zip(w1, w2)):
        _assert_close(f"weight {i} {a.shape}", a, b)
    _assert_close("epoch losses", h1, h2)
    _assert_close("predictions", p1, p2)


def _data(shape, n, seed=0):
    return np.random.RandomState(seed).randn(n, *shape).astype("float32")


def _labels(n, classes, seed=1):
    return np.random.RandomState(seed).randint(classes, size=n).astype("float32")


# -- Dense, Dropout, BatchNormalization, LayerNormalization --------------------------------

MLP_BATCH = 512


def _mlp(features, width):
    def build():
        return keras.Sequential(
            [
                keras.Input(shape=(features,)),
                keras.layers.Dense(width, activation="relu"),
                keras.layers.Dropout(0.3),
                keras.layers.BatchNormalization(),
                keras.layers.Dense(width, activation="gelu"),
                keras.layers.LayerNormalization(),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )

    return build


def _check_mlp(features, width, optimizer):
    # Products, the element-wise passes (dropout, activations, normalization) and the
    # optimizer step all clear their grains.
    assert 2.0 * MLP_BATCH * features * width >= GEMM_GRAIN_FLOPS
    assert MLP_BATCH * width >= ELEMENTWISE_GRAIN
    assert features * width >= OPTIMIZER_GRAIN
    n = 4 * MLP_BATCH
    x, y = _data((features,), n), _labels(n, 10)
    _check_threads_change_only_rounding(
        _mlp(features, width), x, y, "sparse_categorical_crossentropy", MLP_BATCH, optimizer
    )


OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(1e-3),
    "adam_amsgrad": lambda: keras.optimizers.Adam(1e-3, amsgrad=True),
    "adamw": lambda: keras.optimizers.AdamW(1e-3, weight_decay=0.01),
    "sgd_nesterov": lambda: keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
    "rmsprop_centered": lambda: keras.optimizers.RMSprop(1e-3, momentum=0.5, centered=True),
    "adagrad": lambda: keras.optimizers.Adagrad(0.01),
    "adam_global_clipnorm": lambda: keras.optimizers.Adam(1e-3, global_clipnorm=1.0),
}


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_mlp_dense_dropout_normalization(optimizer):
    # 576 units: every product split along its columns gets slices of 288 = 6 * 48 columns;
    # the next test has slices that are not multiples of 16 alone.
    _check_mlp(384, 576, OPTIMIZERS[optimizer])


def test_mlp_width_512():
    _check_mlp(256, 512, OPTIMIZERS["adam"])


# -- Conv2D / Conv1D and pooling -----------------------------------------------------------

CNN_BATCH = 128


def _cnn2d():
    # A single-channel input takes the taps-major im2col; the second and third convolutions
    # the pixel-major one, with a stride and with a dilation.
    return keras.Sequential(
        [
            keras.Input(shape=(20, 20, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.AveragePooling2D(2, strides=1),
            keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="tanh"),
            keras.layers.Conv2D(32, 3, dilation_rate=2, padding="same", activation="relu"),
            keras.layers.GlobalMaxPooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def test_cnn_conv2d_pooling():
    assert _conv_splits(CNN_BATCH, 18 * 18, 9, 16)
    assert _conv_splits(CNN_BATCH, 9 * 9, 9 * 16, 32)
    assert _conv_splits(CNN_BATCH, 4 * 4, 9 * 32, 32)
    assert CNN_BATCH * 18 * 18 * 16 >= ELEMENTWISE_GRAIN  # the first pooling
    n = 3 * CNN_BATCH
    x = np.random.RandomState(0).rand(n, 20, 20, 1).astype("float32")
    _check_threads_change_only_rounding(
        _cnn2d, x, _labels(n, 10), "sparse_categorical_crossentropy", CNN_BATCH
    )


CONV1D_BATCH, CONV1D_STEPS = 256, 64


def _cnn1d():
    return keras.Sequential(
        [
            keras.Input(shape=(CONV1D_STEPS, 8)),
            keras.layers.Conv1D(32, 5, padding="causal", activation="relu"),
            keras.layers.MaxPooling1D(2),
            keras.layers.Conv1D(32, 3, dilation_rate=2, activation="elu"),
            keras.layers.AveragePooling1D(2),
            keras.layers.Conv1D(32, 3, strides=2),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1),
        ]
    )


def test_cnn_conv1d_pooling():
    assert _conv_splits(CONV1D_BATCH, CONV1D_STEPS, 5 * 8, 32)
    assert _conv_splits(CONV1D_BATCH, 28, 3 * 32, 32)
    assert CONV1D_BATCH * CONV1D_STEPS * 32 >= ELEMENTWISE_GRAIN
    n = 3 * CONV1D_BATCH
    x, y = _data((CONV1D_STEPS, 8), n), _data((1,), n, seed=2)
    _check_threads_change_only_rounding(_cnn1d, x, y, "mse", CONV1D_BATCH)


# -- Recurrent layers ----------------------------------------------------------------------

RNN_BATCH, RNN_STEPS, RNN_FEATURES = 64, 12, 16
RNN_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


def _rnn(layer):
    def build():
        return keras.Sequential(
            [keras.Input(shape=(RNN_STEPS, RNN_FEATURES)), layer(), keras.layers.Dense(1)]
        )

    return build


RECURRENT = {
    "lstm": ("LSTM", lambda: keras.layers.LSTM(64)),
    "lstm_sequences": (
        "LSTM",
        lambda: keras.layers.LSTM(64, return_sequences=True, go_backwards=True),
    ),
    "lstm_dropout": ("LSTM", lambda: keras.layers.LSTM(64, dropout=0.2, recurrent_dropout=0.2)),
    "gru": ("GRU", lambda: keras.layers.GRU(64)),
    "gru_reset_before": ("GRU", lambda: keras.layers.GRU(64, reset_after=False)),
    "simple_rnn": ("SimpleRNN", lambda: keras.layers.SimpleRNN(128)),
    "bidirectional_lstm": ("LSTM", lambda: keras.layers.Bidirectional(keras.layers.LSTM(64))),
    "bidirectional_gru_sum": (
        "GRU",
        lambda: keras.layers.Bidirectional(
            keras.layers.GRU(64, return_sequences=True), merge_mode="sum"
        ),
    ),
}


@pytest.mark.parametrize("case", list(RECURRENT))
def test_recurrent(case):
    cell, layer = RECURRENT[case]
    units = 128 if cell == "SimpleRNN" else 64
    assert _recurrent_splits(RNN_BATCH, RNN_STEPS, units, RNN_GATES[cell])
    n = 4 * RNN_BATCH
    x = _data((RNN_STEPS, RNN_FEATURES), n)
    build = _rnn(layer)
    out_steps = build().output_shape[1:-1]
    y = _data((*out_steps, 1), n, seed=2)
    _check_threads_change_only_rounding(build, x, y, "mse", RNN_BATCH)


# -- Embedding -----------------------------------------------------------------------------

EMB_BATCH, EMB_STEPS, EMB_DIM, VOCAB = 256, 32, 64, 2000


def _embedding_model():
    return keras.Sequential(
        [
            keras.Input(shape=(EMB_STEPS,)),
            keras.layers.Embedding(VOCAB, EMB_DIM),
            keras.layers.Conv1D(64, 3, activation="relu"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def test_embedding():
    # The table (128k values) is one optimizer segment split between the threads.
    assert VOCAB * EMB_DIM >= OPTIMIZER_GRAIN
    assert EMB_BATCH * EMB_STEPS * EMB_DIM >= ELEMENTWISE_GRAIN
    assert _conv_splits(EMB_BATCH, EMB_STEPS - 2, 3 * EMB_DIM, 64)
    n = 4 * EMB_BATCH
    rng = np.random.RandomState(0)
    x = rng.randint(VOCAB, size=(n, EMB_STEPS)).astype("float32")
    y = rng.randint(2, size=(n, 1)).astype("float32")
    _check_threads_change_only_rounding(_embedding_model, x, y, "binary_crossentropy", EMB_BATCH)
