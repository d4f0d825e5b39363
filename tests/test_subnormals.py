"""The core flushes subnormal floats to zero while it trains and predicts (their microcode
assists halved training speed on data in [0, 1), docs/benchmarks.md), and only then: NumPy in
the caller, before, after and inside a callback, keeps IEEE subnormals."""

import numpy as np

import eigennet as keras

TINY = np.float32(1e-39)  # subnormal in float32


def keeps_subnormals() -> bool:
    return bool(np.multiply(TINY, np.float32(1.0)) != 0)


class Probe(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(keeps_subnormals())

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(keeps_subnormals())


def test_numpy_keeps_subnormals_around_and_inside_native_calls():
    assert keeps_subnormals()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).random((64, 3), dtype=np.float32)
    probe = Probe()
    model.fit(x, x[:, :2], epochs=2, batch_size=8, verbose=0, callbacks=[probe])
    assert probe.seen and all(probe.seen)
    assert keeps_subnormals()
    model.predict(x, verbose=0)
    model.evaluate(x, x[:, :2], verbose=0)
    model.train_on_batch(x, x[:, :2])
    assert keeps_subnormals()


def test_training_flushes_subnormal_values_to_zero():
    """A weight of 1e-39 times an input of 1: zero inside the core's forward (flushed), as
    TensorFlow computes it; NumPy outside keeps it."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.set_weights([np.full((1, 1), TINY)])
    assert model.predict(np.ones((1, 1), np.float32), verbose=0)[0, 0] == 0.0
    assert np.ones((1, 1), np.float32) @ np.full((1, 1), TINY) != 0
