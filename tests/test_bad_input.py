"""Bad input must raise a Python exception that names the problem, never crash.

Each case runs in a fresh interpreter so that a segfault, abort or hang fails the test
instead of killing the test run.
"""

import textwrap

import pytest

from subprocess_harness import MODEL_PRELUDE, assert_raises, run_python

PRELUDE = (
    MODEL_PRELUDE
    + """
def mk_sparse():
    return mk(3, "softmax", "sparse_categorical_crossentropy")

labels = np.arange(13) % 3
"""
)


def _run(code, timeout=60):
    return run_python(PRELUDE + textwrap.dedent(code), timeout=timeout)


def _raises(code, exceptions, keywords):
    assert_raises(code, exceptions, keywords, prelude=PRELUDE)


VALUE = ("ValueError",)
VALUE_OR_TYPE = ("ValueError", "TypeError")
NOT_COMPILED = ("ValueError", "RuntimeError")
LABELS = ("ValueError", "IndexError")
HUGE = ("MemoryError", "ValueError")
FINITE = (("nan", "inf", "finite"),)
NON_NUMERIC = (("dtype", "numeric", "object", "str", "float", "convert"),)

CASES = [
    # id, code, accepted exceptions, keywords the message must contain (tuple = any of)
    ("rows_differ_fit", "mk().fit(x, y[:7], verbose=0)", VALUE, ("13", "7")),
    ("rows_differ_evaluate", "mk().evaluate(x, y[:7], verbose=0)", VALUE, ("13", "7")),
    ("features_fit", "mk(features=6).fit(x, y, verbose=0)", VALUE, ("6", "4")),
    ("features_predict", "mk(features=6).predict(x, verbose=0)", VALUE, ("6", "4")),
    ("features_evaluate", "mk(features=6).evaluate(x, y, verbose=0)", VALUE, ("6", "4")),
    ("nan_x", "x[3, 1] = np.nan; mk().fit(x, y, verbose=0)", VALUE, FINITE),
    ("inf_x", "x[3, 1] = np.inf; mk().fit(x, y, verbose=0)", VALUE, FINITE),
    ("nan_y", "y[5, 0] = np.nan; mk().fit(x, y, verbose=0)", VALUE, FINITE),
    ("inf_y", "y[5, 0] = -np.inf; mk().fit(x, y, verbose=0)", VALUE, FINITE),
    (
        "sparse_label_too_big",
        "labels[4] = 7; mk_sparse().fit(x, labels, verbose=0)",
        LABELS,
        (("7", "range", "bound"),),
    ),
    (
        "sparse_label_negative",
        "labels[4] = -1; mk_sparse().fit(x, labels, verbose=0)",
        LABELS,
        (("-1", "negative", "range", "bound"),),
    ),
    (
        "sparse_label_evaluate",
        "labels[4] = 3; mk_sparse().evaluate(x, labels)",
        LABELS,
        (("3", "range", "bound"),),
    ),
    ("fit_before_compile", "mk(loss=None).fit(x, y, verbose=0)", NOT_COMPILED, ("compile",)),
    (
        "evaluate_before_compile",
        "mk(loss=None).evaluate(x, y, verbose=0)",
        NOT_COMPILED,
        ("compile",),
    ),
    (
        "train_on_batch_before_compile",
        "mk(loss=None).train_on_batch(x, y)",
        NOT_COMPILED,
        ("compile",),
    ),
    ("batch_size_zero", "mk().fit(x, y, batch_size=0, verbose=0)", VALUE, ("batch_size",)),
    ("batch_size_negative", "mk().fit(x, y, batch_size=-4, verbose=0)", VALUE, ("batch_size",)),
    (
        "batch_size_zero_evaluate",
        "mk().evaluate(x, y, batch_size=0, verbose=0)",
        VALUE,
        ("batch_size",),
    ),
    ("batch_size_zero_predict", "mk().predict(x, batch_size=0, verbose=0)", VALUE, ("batch_size",)),
    ("epochs_negative", "mk().fit(x, y, epochs=-1, verbose=0)", VALUE, ("epochs",)),
    (
        "empty_fit",
        "mk().fit(np.zeros((0, 4), 'float32'), np.zeros((0, 1), 'float32'))",
        VALUE,
        (("empty", "sample", "0"),),
    ),
    (
        "empty_evaluate",
        "mk().evaluate(np.zeros((0, 4), 'float32'), np.zeros((0, 1), 'float32'))",
        VALUE,
        (("empty", "sample", "0"),),
    ),
    (
        "object_x",
        "mk().fit(np.array([[object()] * 4] * 13), y, verbose=0)",
        VALUE_OR_TYPE,
        NON_NUMERIC,
    ),
    ("string_x", "mk().fit(np.array([['a'] * 4] * 13), y, verbose=0)", VALUE_OR_TYPE, NON_NUMERIC),
    ("string_y", "mk().fit(x, np.array([['a']] * 13), verbose=0)", VALUE_OR_TYPE, NON_NUMERIC),
    (
        "string_predict",
        "mk().predict(np.array([['a'] * 4] * 13), verbose=0)",
        VALUE_OR_TYPE,
        NON_NUMERIC,
    ),
    ("x_none", "mk().fit(None, y, verbose=0)", VALUE_OR_TYPE, ()),
    (
        "unknown_activation",
        "keras.layers.Dense(3, activation='not_an_activation')",
        VALUE,
        ("not_an_activation", "relu", "tanh", "sigmoid"),
    ),
    (
        "unknown_activation_layer",
        "keras.layers.Activation('not_an_activation')",
        VALUE,
        ("not_an_activation", "relu", "softmax"),
    ),
    (
        "unknown_activation_get",
        "keras.activations.get('not_an_activation')",
        VALUE,
        ("not_an_activation", "relu"),
    ),
    (
        "unknown_loss",
        "m = mk(loss=None); m.compile('sgd', 'not_a_loss'); m.fit(x, y, verbose=0)",
        VALUE,
        ("not_a_loss", ("mean_squared_error", "mse"), "binary_crossentropy"),
    ),
    (
        "unknown_optimizer",
        "mk(loss=None).compile('not_an_optimizer', 'mse')",
        VALUE,
        ("not_an_optimizer", "adam", "sgd", "rmsprop"),
    ),
    (
        "unknown_initializer",
        "keras.Sequential([keras.Input(shape=(4,)),\n"
        "                  keras.layers.Dense(3, kernel_initializer='bad_init')])",
        VALUE,
        ("bad_init", "glorot_uniform", "zeros"),
    ),
    ("units_zero", "keras.layers.Dense(0)", VALUE, ("units",)),
    ("units_negative", "keras.layers.Dense(-2)", VALUE, ("units",)),
    (
        "negative_learning_rate_sgd",
        "keras.optimizers.SGD(learning_rate=-0.1)",
        VALUE,
        (("learning_rate", "learning rate"),),
    ),
    (
        "negative_learning_rate_adam",
        "keras.optimizers.Adam(learning_rate=-1e-3)",
        VALUE,
        (("learning_rate", "learning rate"),),
    ),
    (
        "huge_layer",
        "m = keras.Sequential([keras.Input(shape=(10**6,)), keras.layers.Dense(10**12)])\n"
        "m.predict(np.zeros((1, 10**6), 'float32'), verbose=0)",
        HUGE,
        (),
    ),
    (
        "overflowing_layer",
        "m = keras.Sequential([keras.Input(shape=(16,)), keras.layers.Dense(2**62)])\n"
        "m.predict(np.zeros((1, 16), 'float32'), verbose=0)",
        HUGE + ("OverflowError",),
        (),
    ),
    ("set_weights_count", "mk().set_weights([np.ones((4, 1), 'float32')])", VALUE, ("1", "2")),
    (
        "set_weights_kernel_shape",
        "mk().set_weights([np.ones((3, 1), 'float32'), np.ones(1, 'float32')])",
        VALUE,
        ("(3, 1)", "(4, 1)"),
    ),
    (
        "set_weights_bias_shape",
        "mk().set_weights([np.ones((4, 1), 'float32'), np.ones(2, 'float32')])",
        VALUE,
        ("(2,)", "(1,)"),
    ),
    (
        "rank_3_predict",
        "mk().predict(np.ones((2, 2, 4), 'float32'), verbose=0)",
        VALUE,
        (("rank", "dim", "shape"),),
    ),
    (
        "rank_1_predict",
        "mk().predict(np.ones(4, 'float32'), verbose=0)",
        VALUE,
        (("rank", "dim", "shape"),),
    ),
    (
        "rank_3_fit",
        "mk().fit(np.ones((13, 2, 4), 'float32'), y, verbose=0)",
        VALUE,
        (("rank", "dim", "shape"),),
    ),
]


@pytest.mark.parametrize(
    "code, exceptions, keywords", [pytest.param(*case[1:], id=case[0]) for case in CASES]
)
def test_bad_input_raises(code, exceptions, keywords):
    _raises(code, exceptions, keywords)


ACCEPTED_LAYOUTS = """
rng = np.random.default_rng(0)
x = rng.integers(-3, 4, size=(20, 6)).astype("float32")
y = rng.integers(-2, 3, size=(20, 2)).astype("float32")
init = [rng.normal(size=s).astype("float32") for s in [(6, 5), (5,), (5, 2), (2,)]]

def run(xv, yv):
    m = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(5, activation="tanh"),
                          keras.layers.Dense(2)])
    m.set_weights(init)
    m.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    h = m.fit(xv, yv, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return [m.predict(xv, verbose=0), h.history["loss"], m.evaluate(xv, yv, verbose=0),
            *m.get_weights()]

def strided(a):  # a non-contiguous view holding the same values
    return np.repeat(a, 2, axis=1)[:, ::2]

reference = run(x, y)
variants = {
    "float64": (x.astype(np.float64), y.astype(np.float64)),
    "int64": (x.astype(np.int64), y.astype(np.int64)),
    "int32": (x.astype(np.int32), y),
    "fortran": (np.asfortranarray(x), np.asfortranarray(y)),
    "strided": (strided(x), strided(y)),
    "transposed_view": (np.ascontiguousarray(x.T).T, y),
    "reversed_rows": (x[::-1][::-1], y[::-1][::-1]),
}
for name, (xv, yv) in variants.items():
    assert not (name == "strided" and xv.flags.c_contiguous)
    for got, want in zip(run(xv, yv), reference):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=name)
print("OK")
"""

ACCEPTED_LABELS = """
rng = np.random.default_rng(1)
x = rng.normal(size=(12, 4)).astype("float32")
def run(labels):
    m = mk(3, "softmax", loss=None)
    m.set_weights([np.full((4, 3), 0.1, "float32"), np.zeros(3, "float32")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(x, labels, batch_size=4, shuffle=False, verbose=0)
    return m.get_weights()
labels = np.arange(12) % 3
reference = run(labels)
for variant in (labels.astype(np.int32), labels.astype(np.float32), labels.reshape(-1, 1),
                list(labels)):
    for got, want in zip(run(variant), reference):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
print("OK")
"""

EPOCHS_ZERO = """
m = mk()
before = m.get_weights()
h = m.fit(x, y, epochs=0, verbose=0)
assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
assert h.epoch == [] and all(len(v) == 0 for v in h.history.values())
print("OK")
"""


@pytest.mark.parametrize(
    "code",
    [ACCEPTED_LAYOUTS, ACCEPTED_LABELS, EPOCHS_ZERO],
    ids=["layouts_and_dtypes", "label_dtypes", "epochs_zero"],
)
def test_accepted_inputs(code):
    out, detail = _run(code)
    assert out.strip().endswith("OK"), detail
