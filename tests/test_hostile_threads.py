"""Python threads on shared models and layers: the scenarios of Keras programs (a GAN's
discriminator used while the GAN trains, a layer called eagerly while its model fits, trainable
flags toggled mid-fit). Each runs in a fresh interpreter with a time bound, so a crash or a
deadlock fails the test instead of the run. Conflicting calls may wait for each other; they
must never crash or corrupt a result."""

import pytest

from subprocess_harness import run_python

PRELUDE = """
import threading, time, warnings
import numpy as np
import eigennet as keras
from eigennet import layers

rng = np.random.default_rng(0)
errors = []

def in_thread(loop, seconds):
    stop = threading.Event()
    def run():
        try:
            while not stop.is_set():
                loop()
        except Exception as e:  # reported below: an exception is a failure here too
            errors.append(repr(e))
    thread = threading.Thread(target=run)
    thread.start()
    return stop, thread

def for_seconds(seconds, body):
    end = time.time() + seconds
    while time.time() < end:
        body()
"""

GAN = """
d = keras.Sequential([keras.Input((20, 4)), layers.LSTM(16), layers.Dense(1)])
g = keras.Sequential([keras.Input((8,)), layers.Dense(80), layers.Reshape((20, 4))])
gan = keras.Sequential([g, d])
d.compile(optimizer="adam", loss="mse")
gan.compile(optimizer="adam", loss="mse")
z = rng.normal(size=(256, 8)).astype("float32")
ones = np.ones((256, 1), "float32")
f = rng.normal(size=(256, 20, 4)).astype("float32")
sizes = np.random.default_rng(1)
stop, thread = in_thread(
    lambda: gan.fit(z, ones, batch_size=int(sizes.integers(1, 129)), epochs=1, verbose=0), 4)
"""

SCENARIOS = {
    # issue 12.1: the discriminator predicts and trains while the GAN holding it fits.
    "gan_fit_vs_discriminator": GAN
    + """
def body():
    n = int(rng.integers(1, 129))
    out = d.predict(f[:n], batch_size=n, verbose=0)
    assert out.shape == (n, 1) and np.all(np.isfinite(out))
    d.train_on_batch(f[:n], ones[:n])
for_seconds(4, body)
""",
    # issue 12.2: a layer called on arrays while its model fits.
    "eager_layer_call_during_fit": GAN
    + """
lstm = d.layers[0]
def body():
    n = int(rng.integers(1, 65))
    out = lstm(f[:n])
    assert out.shape == (n, 16) and np.all(np.isfinite(out))
for_seconds(4, body)
""",
    # issue 12.3: trainable toggled, train_on_batch and evaluate while the same model fits.
    "trainable_toggled_during_fit": """
model = keras.Sequential([keras.Input((16,)), layers.Dense(64, activation="relu"),
                          layers.BatchNormalization(), layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
x = rng.normal(size=(512, 16)).astype("float32")
y = rng.normal(size=(512, 1)).astype("float32")
model.train_on_batch(x[:8], y[:8])  # the optimizer now knows every weight
stop, thread = in_thread(lambda: model.fit(x, y, batch_size=16, epochs=1, verbose=0), 4)
def body():
    for layer in model.layers:
        layer.trainable = not layer.trainable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no trainable weights" while all are frozen
        model.train_on_batch(x[:8], y[:8])
    assert np.isfinite(model.evaluate(x[:64], y[:64], verbose=0))
for_seconds(4, body)
""",
    # Two threads fitting one model: the calls take turns.
    "two_fits_on_one_model": """
model = keras.Sequential([keras.Input((8,)), layers.Dense(32, activation="tanh"),
                          layers.Dropout(0.2), layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
x = rng.normal(size=(256, 8)).astype("float32")
y = rng.normal(size=(256, 1)).astype("float32")
stop, thread = in_thread(lambda: model.fit(x, y, batch_size=7, epochs=1, verbose=0), 4)
for_seconds(4, lambda: model.fit(x, y, batch_size=5, epochs=1, verbose=0))
""",
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_threads_never_crash(scenario):
    script = (
        PRELUDE
        + SCENARIOS[scenario]
        + """
stop.set()
thread.join()
assert not errors, errors
print("SURVIVED")
"""
    )
    out, detail = run_python(script, timeout=120)
    assert "SURVIVED" in out, detail
