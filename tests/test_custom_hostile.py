"""Bad input to traced custom code: a Python exception the user can act on, never a crash, a
hang or a silently wrong graph."""

import threading

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops

RNG = np.random.default_rng(11)


def test_nan_from_a_custom_loss_stops_training_with_terminate_on_nan():
    def log_of_error(y_true, y_pred):
        return ops.log(y_pred - y_true - 100.0)  # log of a negative number: NaN

    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile("sgd", loss=log_of_error)
    history = model.fit(
        RNG.normal(size=(64, 3)),
        RNG.normal(size=(64, 1)),
        epochs=5,
        batch_size=16,
        verbose=0,
        callbacks=[keras.callbacks.TerminateOnNaN()],
    )
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])


def test_an_index_out_of_range_in_a_traced_take_raises_at_run_time():
    inputs = keras.Input((2,))
    table = np.arange(12.0).reshape(4, 3)
    model = keras.Model(inputs, ops.take(table, inputs, axis=0))
    assert model.predict(np.array([[0, 3]]), verbose=0).shape == (1, 2, 3)
    with pytest.raises(IndexError):
        model.predict(np.array([[0, 7]]), verbose=0)
    with pytest.raises(IndexError):
        model.predict(np.array([[0, 1e30]]), verbose=0)


def test_an_op_mixing_symbolic_and_an_array_of_a_wrong_shape_names_the_shapes():
    x = keras.Input((4,))
    with pytest.raises(ValueError, match=r"\(None, 4\)"):
        ops.add(x, np.ones((3,)))


def test_a_loss_returning_a_wrong_shape_or_nothing_is_refused():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile("sgd", loss=lambda y_true, y_pred: None)
    with pytest.raises((TypeError, ValueError)):
        model.fit(RNG.normal(size=(8, 3)), RNG.normal(size=(8, 2)), verbose=0)


def test_targets_of_another_shape_than_the_traced_loss_are_refused_before_training():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile("sgd", loss=lambda t, p: ops.mean(ops.square(t - p), axis=-1))
    with pytest.raises(ValueError):
        model.fit(RNG.normal(size=(8, 3)), RNG.normal(size=(8, 5)), verbose=0)


def test_a_metric_assigning_a_batched_value_says_reduce_it():
    class Bad(keras.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(name="bad", **kwargs)
            self.total = self.add_variable(shape=(), name="total")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total.assign_add(y_pred[:, 0])  # one value per sample: not reduced

        def result(self):
            return self.total

    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse", metrics=[Bad()])
    with pytest.raises(ValueError, match="reduce over the batch"):
        model.fit(RNG.normal(size=(8, 3)), RNG.normal(size=(8, 2)), verbose=0)


class Scale(layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return ops.tanh(x * self.w)


def test_two_threads_predicting_with_one_custom_model_agree():
    model = keras.Sequential([keras.Input((5,)), Scale(), layers.Dense(3)])
    x = RNG.normal(size=(256, 5)).astype("float32")
    expected = model.predict(x, verbose=0)
    results, errors = [], []

    def run():
        try:
            for _ in range(10):
                results.append(model.predict(x, verbose=0, batch_size=16))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(results) == 20
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_data_dependent_control_flow_on_symbolic_tensors_names_the_function():
    x = keras.Input((2,))
    with pytest.raises(TypeError, match="ops.cond"):
        ops.cond(x, lambda: x, lambda: -x)
    with pytest.raises(TypeError, match="symbolic"):
        ops.convert_to_numpy(x)


def test_an_overridden_train_step_is_refused_not_ignored():
    class Stepped(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):  # would be silently skipped by a native fit
            return {}

    model = Stepped()
    model.compile("sgd", "mse")
    with pytest.raises(NotImplementedError, match="train_step"):
        model.fit(RNG.normal(size=(4, 2)), RNG.normal(size=(4, 1)), verbose=0)
    assert model.predict(RNG.normal(size=(3, 2)), verbose=0).shape == (3, 1)


def test_two_threads_tracing_custom_layers_at_once_keep_their_traces_apart():
    import time

    class Slow(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            time.sleep(0.01)  # the other thread traces meanwhile
            self.add_loss(ops.sum(self.w) * 0.0)
            return x * self.w

    models, errors = [None, None], []

    def build(k):
        try:
            for _ in range(5):
                models[k] = keras.Sequential([keras.Input((3 + k,)), Slow(), layers.Dense(1)])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=build, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    for k, model in enumerate(models):
        assert model.predict(RNG.normal(size=(2, 3 + k)), verbose=0).shape == (2, 1)
