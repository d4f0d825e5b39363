"""One seed fixes everything; the thread count changes results by float rounding only."""

import numpy as np
import pytest

import eigennet as keras


@pytest.fixture
def restore_threads():
    original = keras.config.get_num_threads()
    yield
    keras.config.set_num_threads(original)


def _train(seed, width=16, features=8, n=64, batch_size=16, optimizer="adam"):
    """Seeded init and shuffling; returns final weights, predictions and epoch losses."""
    keras.utils.set_random_seed(seed)
    data = np.random.RandomState(0)
    x = data.randn(n, features).astype("float32")
    y = data.randn(n, 1).astype("float32")
    model = keras.Sequential(
        [
            keras.Input(shape=(features,)),
            keras.layers.Dense(width, activation="relu"),
            keras.layers.Dense(width, activation="tanh"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=optimizer, loss="mse")
    history = model.fit(x, y, batch_size=batch_size, epochs=2, shuffle=True, verbose=0)
    return model.get_weights(), model.predict(x, verbose=0), history.history["loss"]


WIDE = dict(width=256, features=64, n=512, batch_size=128)  # big enough to use threads


@pytest.mark.parametrize("size", [{}, WIDE], ids=["small", "wide"])
def test_same_seed_is_bit_identical(size):
    w1, p1, h1 = _train(seed=123, **size)
    w2, p2, h2 = _train(seed=123, **size)
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(p1, p2)
    assert h1 == h2


def test_same_seed_same_initial_weights():
    def initial(seed):
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(7)]).get_weights()

    for a, b in zip(initial(7), initial(7)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(initial(7)[0], initial(8)[0])


def test_different_seeds_differ():
    w1, p1, _ = _train(seed=1)
    w2, p2, _ = _train(seed=2)
    assert not np.array_equal(w1[0], w2[0])
    assert not np.allclose(p1, p2)


def test_seed_drives_shuffling():
    data = np.random.RandomState(0)
    x = data.randn(40, 3).astype("float32")
    y = data.randn(40, 1).astype("float32")
    init = [
        data.randn(3, 4).astype("float32"),
        np.zeros(4, "float32"),
        data.randn(4, 1).astype("float32"),
        np.zeros(1, "float32"),
    ]

    def run(seed, shuffle):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential(
            [keras.Input(shape=(3,)), keras.layers.Dense(4, "tanh"), keras.layers.Dense(1)]
        )
        model.set_weights(init)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
        model.fit(x, y, batch_size=4, epochs=1, shuffle=shuffle, verbose=0)
        return model.get_weights()[0]

    np.testing.assert_array_equal(run(1, True), run(1, True))
    assert not np.array_equal(run(1, True), run(2, True))
    np.testing.assert_array_equal(run(1, False), run(2, False))


def test_num_threads_round_trip(restore_threads):
    for n in (1, 2, 1):
        keras.config.set_num_threads(n)
        assert keras.config.get_num_threads() == n


def test_thread_count_changes_only_rounding(restore_threads):
    keras.config.set_num_threads(1)
    w1, p1, h1 = _train(seed=9, optimizer=keras.optimizers.SGD(learning_rate=0.01), **WIDE)
    keras.config.set_num_threads(2)
    w2, p2, h2 = _train(seed=9, optimizer=keras.optimizers.SGD(learning_rate=0.01), **WIDE)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p1, p2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h1, h2, rtol=1e-5)


def test_openmp_spin_count_default_and_user_choice():
    """eigennet shortens OpenMP's barrier spinning unless the user chose a setting."""
    import os
    import subprocess
    import sys

    code = "import os, eigennet; print(os.environ.get('GOMP_SPINCOUNT'))"
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}

    def spin(**extra):
        env = {**base, **extra}
        return subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    assert spin() == "10000"
    assert spin(GOMP_SPINCOUNT="500000") == "500000"
    assert spin(OMP_WAIT_POLICY="active") == "None"
