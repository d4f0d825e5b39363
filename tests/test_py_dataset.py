"""PyDataset and generators in fit/evaluate/predict: Keras 3's batch forms, epoch rules and
hooks; worker threads and spawned worker processes; errors inside __getitem__ surface
without hanging."""

import faulthandler
import math
import os
import threading
import time
import warnings

import numpy as np
import pytest

import eigennet
from eigennet import layers
from eigennet.utils import PyDataset

rng = np.random.default_rng(1)
N, FEATURES, OUTPUTS, BATCH = 100, 4, 2, 16
X = rng.normal(size=(N, FEATURES)).astype("float32")
Y = rng.normal(size=(N, OUTPUTS)).astype("float32")
W = rng.uniform(0.1, 2.0, size=N).astype("float32")
RAN_OUT = "Your input ran out of data"


@pytest.fixture(autouse=True)
def _deadline():
    """A hang aborts the run with a traceback instead of blocking it."""
    faulthandler.dump_traceback_later(300, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


class Batches(PyDataset):
    """Batches of X, Y (and W); records hook calls and the threads that load."""

    def __init__(self, form="xy", batch=BATCH, fail_at=None, bad_at=None, **kwargs):
        super().__init__(**kwargs)
        self.form, self.batch, self.fail_at, self.bad_at = form, batch, fail_at, bad_at
        self.events, self.threads, self.parent = [], set(), os.getpid()
        self.lock = threading.Lock()
        self.shift = 0.0
        self.delay = 0.0

    def __len__(self):
        return math.ceil(N / self.batch)

    def __getitem__(self, index):
        if index == self.fail_at:
            raise KeyError(f"no batch {index}")
        if self.delay:
            time.sleep(self.delay * (index % 3))  # out-of-order completion across workers
        with self.lock:
            self.events.append(index)
            self.threads.add(threading.current_thread().name)
        rows = slice(index * self.batch, (index + 1) * self.batch)
        x, y, w = X[rows] + self.shift, Y[rows], W[rows]
        if index == self.bad_at:
            x = np.ones((len(x), FEATURES + 1), "float32")
        return {
            "xy": lambda: (x, y),
            "xyw": lambda: (x, y, w),
            "list": lambda: [x, y],
            "x": lambda: x,
            "x,": lambda: (x,),
        }[self.form]()

    def on_epoch_begin(self):
        self.events.append("begin")

    def on_epoch_end(self):
        self.events.append("end")

    def __getstate__(self):  # locks do not pickle
        state = dict(self.__dict__)
        del state["lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state, lock=threading.Lock())


class InWorkers(Batches):
    """With use_multiprocessing, refuses to load in the parent process (but for batch 0,
    read there to build the model)."""

    def __getitem__(self, index):
        if index and self._use_multiprocessing and os.getpid() == self.parent:
            raise RuntimeError("loaded in the parent process")
        return super().__getitem__(index)


class Shifting(InWorkers):
    """Changes between epochs: worker processes must see the change."""

    def on_epoch_end(self):
        self.shift += 1.0


class Dies(Batches):
    def __getitem__(self, index):
        if index == 2 and os.getpid() != self.parent:
            os._exit(3)
        return super().__getitem__(index)


class Endless(PyDataset):
    def __init__(self):
        super().__init__()
        self.seen = []

    @property
    def num_batches(self):
        return None

    def __getitem__(self, index):
        self.seen.append(index)
        rows = np.arange(index * 8, index * 8 + 8) % N
        return X[rows], Y[rows]


def _model(seed=5, loss="mse", outputs=OUTPUTS, activation=None, metrics=("mae",)):
    eigennet.utils.set_random_seed(seed)
    model = eigennet.Sequential(
        [
            eigennet.Input(shape=(FEATURES,)),
            layers.Dense(6, activation="tanh"),
            layers.Dense(outputs, activation=activation),
        ]
    )
    model.compile(optimizer="adam", loss=loss, metrics=list(metrics))
    return model


def _assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def _reference(epochs=2, **kwargs):
    """The same training on the arrays in memory (same batches, no shuffle)."""
    model = _model()
    history = model.fit(X, Y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0, **kwargs)
    return model, history.history


# -- PyDataset ---------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["xy", "list", "xyw"])
def test_batch_forms_train_like_arrays_in_memory(form):
    reference, expected = _reference(sample_weight=W if form == "xyw" else None)
    model = _model()
    history = model.fit(Batches(form), epochs=2, shuffle=False, verbose=0)
    assert history.history == expected
    assert history.params["steps"] == 7
    _assert_same_weights(reference, model)
    logs = model.evaluate(Batches(form), verbose=0, return_dict=True)
    kwargs = {"sample_weight": W} if form == "xyw" else {}
    assert logs == reference.evaluate(X, Y, batch_size=BATCH, verbose=0, return_dict=True, **kwargs)


@pytest.mark.parametrize("form", ["x", "x,", "xy"])
def test_predict_takes_the_inputs_of_each_batch(form):
    model = _model()
    np.testing.assert_array_equal(
        model.predict(Batches(form), verbose=0), model.predict(X, batch_size=BATCH, verbose=0)
    )


def test_epoch_hooks_run_once_per_epoch():
    data, val = Batches(), Batches()
    _model().fit(data, validation_data=val, epochs=3, shuffle=False, verbose=0)
    epoch = ["begin", *range(7), "end"]
    assert data.events[-3 * len(epoch) :] == epoch * 3
    assert val.events == epoch * 3
    evaluated = Batches()
    _model().evaluate(evaluated, verbose=0)
    assert evaluated.events[-len(epoch) :] == epoch


def test_worker_threads_keep_the_order():
    reference, expected = _reference()
    data = Batches(workers=3, max_queue_size=4)
    data.delay = 0.002
    model = _model()
    assert model.fit(data, epochs=2, shuffle=False, verbose=0).history == expected
    _assert_same_weights(reference, model)
    main = threading.current_thread().name  # reads batch 0 only, to build the model
    assert len(data.threads - {main}) > 1 and data.events.count(0) == 3


def test_one_worker_loads_in_a_background_thread():
    data = Batches()
    _model().fit(data, epochs=1, shuffle=False, verbose=0)
    assert threading.current_thread().name in data.threads  # batch 0, read to build
    assert len(data.threads) == 2


def test_worker_processes_are_spawned_and_see_epoch_changes():
    expected_model = _model()
    expected = expected_model.fit(Shifting(), epochs=3, shuffle=False, verbose=0).history
    model = _model()
    data = Shifting(workers=2, use_multiprocessing=True)
    history = model.fit(data, epochs=3, shuffle=False, verbose=0).history
    assert history == expected
    _assert_same_weights(expected_model, model)
    assert model.predict(InWorkers("x", workers=2, use_multiprocessing=True), verbose=0).shape == (
        N,
        OUTPUTS,
    )


@pytest.mark.parametrize(
    "options",
    [{}, {"workers": 2}, {"workers": 2, "use_multiprocessing": True}],
    ids=["inline", "threads", "processes"],
)
def test_an_error_in_getitem_surfaces(options):
    with pytest.raises(KeyError, match="no batch 3") as info:
        _model().fit(Batches(fail_at=3, **options), epochs=2, verbose=0)
    assert any("Batches[3]" in note for note in getattr(info.value, "__notes__", []))


def test_a_dying_worker_process_is_an_error_not_a_hang():
    with pytest.raises(RuntimeError, match="worker process died"):
        _model().fit(Dies(workers=2, use_multiprocessing=True), epochs=1, verbose=0)


def test_bad_batches_name_the_batch():
    with pytest.raises(ValueError, match=r"batch 2 of the PyDataset: .*expects inputs of shape"):
        _model().fit(Batches(bad_at=2), verbose=0)
    with pytest.raises(ValueError, match="batch 0 of the PyDataset.*no targets"):
        _model().fit(Batches("x"), verbose=0)

    class Four(Batches):
        def __getitem__(self, index):
            return (*super().__getitem__(index), None, None)

    with pytest.raises(ValueError, match="tuple of 4 elements"):
        _model().fit(Four(), verbose=0)

    class NaNs(Batches):
        def __getitem__(self, index):
            x, y = super().__getitem__(index)
            return (x * np.nan, y) if index == 4 else (x, y)

    with pytest.raises(ValueError, match="batch 4 of the PyDataset: x contains NaN"):
        _model().fit(NaNs(), verbose=0)
    with pytest.raises(ValueError, match="`y` should not be passed"):
        _model().fit(Batches(), Y, verbose=0)
    with pytest.raises(ValueError, match="validation_split is only supported for arrays"):
        _model().fit(Batches(), validation_split=0.2, verbose=0)


def test_steps_per_epoch_follows_keras_epoch_rules():
    """Keras 3: with steps_per_epoch the pass over the data set continues into the next
    epoch; an epoch ends early (with a warning) where the pass ends."""
    data = Batches(batch=34)  # 3 batches
    with pytest.warns(UserWarning, match=RAN_OUT):
        history = _model().fit(data, epochs=3, steps_per_epoch=2, shuffle=False, verbose=0)
    assert data.events[1:] == [  # events[0]: batch 0, read to build the model
        "begin", 0, 1, "end", "begin", 2, "end", "begin", 0, 1, "end",
    ]  # fmt: skip
    assert history.params["steps"] == 2 and len(history.epoch) == 3


def test_infinite_dataset_needs_steps():
    with pytest.raises(ValueError, match="infinite.*steps_per_epoch"):
        _model().fit(Endless(), verbose=0)
    data = Endless()
    _model().fit(data, steps_per_epoch=3, epochs=2, verbose=0)
    assert data.seen[1:] == [0, 1, 2, 3, 4, 5]  # the first read builds the model


def test_shuffled_batch_order_is_seeded():
    orders = []
    for _ in range(2):
        data = Batches()
        eigennet.utils.set_random_seed(7)
        _model().fit(data, epochs=2, verbose=0)
        orders.append(data.events[1:])
    assert orders[0] == orders[1]
    epochs = [orders[0][1:8], orders[0][10:17]]
    assert all(sorted(e) == list(range(7)) for e in epochs) and epochs[0] != epochs[1]


def test_class_weight_and_super_not_called():
    labels = (Y[:, :1] > 0).astype("float32")

    class Labels(Batches):
        def __getitem__(self, index):
            x, _ = super().__getitem__(index)
            return x, labels[index * BATCH : (index + 1) * BATCH]

    cw = {0: 0.5, 1: 3.0}
    binary = dict(loss="binary_crossentropy", outputs=1, activation="sigmoid", metrics=["acc"])
    reference = _model(**binary)
    expected = reference.fit(
        X, labels, batch_size=BATCH, class_weight=cw, shuffle=False, verbose=0
    ).history
    model = _model(**binary)
    assert model.fit(Labels(), class_weight=cw, shuffle=False, verbose=0).history == expected

    class NoSuper(PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

        def __getitem__(self, index):
            return X, Y

    with pytest.warns(UserWarning, match="should call `super"):
        _model().fit(NoSuper(), verbose=0)


# -- generators --------------------------------------------------------------------------
def _batches(count, sizes=BATCH, log=None):
    for index in range(count):
        if log is not None:
            log.append(index)
        rows = slice(index * sizes, (index + 1) * sizes)
        yield X[rows], Y[rows]


def test_generator_with_steps_continues_across_epochs():
    reference = _model()
    expected = [
        reference.fit(X[e * 48 : (e + 1) * 48], Y[e * 48 : (e + 1) * 48], batch_size=BATCH,
                      shuffle=False, verbose=0).history["loss"][0]
        for e in range(2)
    ]  # fmt: skip
    model = _model()
    log = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: shuffle=False, enough data
        history = model.fit(
            _batches(7, log=log), steps_per_epoch=3, epochs=2, shuffle=False, verbose=0
        )
    assert history.history["loss"] == expected
    assert log == [0, 1, 2, 3, 4, 5]  # nothing read beyond the last step
    _assert_same_weights(reference, model)


def test_generator_running_out_stops_training():
    with pytest.warns(UserWarning, match=RAN_OUT):
        history = _model().fit(_batches(5), steps_per_epoch=2, epochs=4, shuffle=False, verbose=0)
    assert history.epoch == [0, 1, 2]  # the third epoch got one batch, then training stopped
    with pytest.warns(UserWarning, match=RAN_OUT):
        history = _model().fit(_batches(4), steps_per_epoch=2, epochs=3, shuffle=False, verbose=0)
    assert history.epoch == [0, 1]
    with pytest.warns(UserWarning, match="`shuffle=True` was passed"):
        history = _model().fit(_batches(7), epochs=1, verbose=0)  # until exhausted
    assert history.params["steps"] is None and len(history.history["loss"]) == 1


def test_generator_last_batch_may_be_smaller_and_progress_counts_it(capsys):
    reference, expected = _reference(epochs=1)
    model = _model()
    assert model.fit(_batches(7), shuffle=False, verbose=1).history == expected
    _assert_same_weights(reference, model)
    model.fit(_batches(7), shuffle=False, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("7/7 ") and lines[1].startswith("7/7 - ")  # counted, as Keras


def test_validation_generator_and_steps_of_evaluate_and_predict():
    model = _model()
    val_log = []
    history = model.fit(
        Batches(),
        validation_data=_batches(6, log=val_log),
        validation_steps=2,
        epochs=3,
        shuffle=False,
        verbose=0,
    )
    assert val_log == [0, 1, 2, 3, 4, 5]
    assert len(history.history["val_loss"]) == 3
    with pytest.raises(ValueError, match="validation generator ran out"):
        _model().fit(Batches(), validation_data=_batches(2), epochs=2, verbose=0)
    log = []
    generator = _batches(7, log=log)
    loss = model.evaluate(generator, steps=2, verbose=0)
    assert log == [0, 1] and loss == model.evaluate(X[:32], Y[:32], batch_size=BATCH, verbose=0)
    assert next(generator)[0][0, 0] == X[32, 0]  # the generator continues after the steps
    out = model.predict(((x,) for x, _ in _batches(7)), steps=3, verbose=0)
    np.testing.assert_array_equal(out, model.predict(X[:48], batch_size=BATCH, verbose=0))


def test_empty_and_failing_generators():
    with pytest.raises(ValueError, match="at least one batch"):
        _model().fit((b for b in []), shuffle=False, verbose=0)

    def failing():
        yield X[:16], Y[:16]
        yield X[16:32], Y[16:32]
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        _model().fit(failing(), shuffle=False, verbose=0)
    with pytest.raises(ValueError, match="class_weight` is not supported"):
        _model().fit(_batches(3), class_weight={0: 1.0}, shuffle=False, verbose=0)


# -- parity with Keras 3 -----------------------------------------------------------------
def test_history_matches_keras_for_a_pydataset_and_a_generator():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")

    class KerasBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()

        def __len__(self):
            return 3

        def __getitem__(self, index):
            rows = slice(index * 34, (index + 1) * 34)
            return X[rows], Y[rows]

    keras.utils.set_random_seed(3)
    k_model = keras.Sequential(
        [keras.Input(shape=(FEATURES,)), keras.layers.Dense(6, activation="tanh"),
         keras.layers.Dense(OUTPUTS)]
    )  # fmt: skip
    k_model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model = _model()
    model.set_weights([np.array(w) for w in k_model.get_weights()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k_hist = k_model.fit(KerasBatches(), epochs=3, steps_per_epoch=2, shuffle=False, verbose=0)
        e_hist = model.fit(Batches(batch=34), epochs=3, steps_per_epoch=2, shuffle=False, verbose=0)
        k_gen = k_model.fit(_batches(6), steps_per_epoch=3, epochs=2, shuffle=False, verbose=0)
        e_gen = model.fit(_batches(6), steps_per_epoch=3, epochs=2, shuffle=False, verbose=0)
    for k, e in [(k_hist, e_hist), (k_gen, e_gen)]:
        assert e.epoch == k.epoch and set(e.history) == set(k.history)
        for key, values in k.history.items():
            np.testing.assert_allclose(e.history[key], values, rtol=1e-4, atol=1e-6)
    for kw, ew in zip(k_model.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(ew, kw, rtol=1e-4, atol=1e-5)


def test_unpicklable_dataset_with_processes_says_so():
    class Local(Batches):  # a local class cannot be pickled for worker processes
        pass

    with pytest.raises(TypeError, match="picklable PyDataset"):
        _model().fit(Local(workers=2, use_multiprocessing=True), verbose=0)
