"""The losses the core computes natively (mean squared and absolute error, Huber, the three
cross-entropies) called on symbolic tensors, as a custom loss or a metric does: traced as
keras.ops formulas that give the native values and gradients; the cross-entropy metric
classes and `metrics.Accuracy`, against NumPy references and against Keras."""

import numpy as np
import pytest

import eigennet as keras
from reference import losses as ref

rs = np.random.RandomState(0)
X = rs.rand(48, 5).astype("float32")
LABELS = rs.randint(0, 3, 48)
CASES = {  # loss name: (head, targets, extra arguments)
    "mean_squared_error": (None, rs.rand(48, 3).astype("float32"), {}),
    "mean_absolute_error": (None, rs.rand(48, 3).astype("float32"), {}),
    "huber": (None, (rs.rand(48, 3) * 3).astype("float32"), {"delta": 0.5}),
    "binary_crossentropy": ("sigmoid", (rs.rand(48, 3) > 0.5).astype("float32"), {}),
    "categorical_crossentropy": ("softmax", np.eye(3, dtype="float32")[LABELS], {}),
    "sparse_categorical_crossentropy": ("softmax", LABELS, {}),
}


def model(head, seed=1):
    m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation=head)])
    r = np.random.RandomState(seed)
    m.set_weights([r.uniform(-1, 1, (5, 3)).astype("float32"), np.zeros(3, "float32")])
    return m


@pytest.mark.parametrize("name", CASES)
def test_a_traced_core_loss_gives_the_native_values_and_gradients(name):
    head, y, extra = CASES[name]
    function = getattr(keras.losses, name)
    native, traced = model(head), model(head)
    native.compile(optimizer="sgd", loss=keras.losses.Huber(**extra) if extra else name)
    traced.compile(optimizer="sgd", loss=lambda t, p: function(t, p, **extra))
    np.testing.assert_allclose(
        traced.evaluate(X, y, verbose=0), native.evaluate(X, y, verbose=0), rtol=1e-5
    )
    for m in (native, traced):
        m.fit(X, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(traced.get_weights(), native.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("from_logits", [False, True])
def test_crossentropy_metrics_match_the_reference(from_logits):
    head = None if from_logits else "softmax"
    m = model(head)
    m.compile(
        optimizer="sgd",
        loss="mse",
        metrics=[
            keras.metrics.CategoricalCrossentropy(from_logits=from_logits, name="cce"),
            keras.metrics.BinaryCrossentropy(from_logits=from_logits, name="bce"),
        ],
    )
    y_onehot = CASES["categorical_crossentropy"][1]
    got = m.evaluate(X, y_onehot, verbose=0, return_dict=True)
    p = m.predict(X, verbose=0).astype("float64")
    cce = ref.categorical_crossentropy(y_onehot, p, from_logits=from_logits).mean()
    bce = ref.binary_crossentropy(y_onehot, p, from_logits=from_logits).mean()
    np.testing.assert_allclose([got["cce"], got["bce"]], [cce, bce], rtol=1e-5)
    sparse = model(head)
    metric = keras.metrics.SparseCategoricalCrossentropy(from_logits=from_logits, name="scce")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    sparse.compile(optimizer="sgd", loss=loss, metrics=[metric])
    got = sparse.evaluate(X, LABELS, verbose=0, return_dict=True)["scce"]
    p = sparse.predict(X, verbose=0).astype("float64")
    want = ref.sparse_categorical_crossentropy(LABELS, p, from_logits=from_logits).mean()
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_accuracy_counts_exact_matches():
    metric = keras.metrics.Accuracy()
    metric.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert float(metric.result()) == pytest.approx(0.75)
    metric.reset_state()
    metric.update_state([1, 2], [1, 2], sample_weight=[1, 0])
    assert float(metric.result()) == pytest.approx(1.0)


def test_metric_values_and_configs_match_keras():
    k = pytest.importorskip("keras")
    y = CASES["categorical_crossentropy"][1]

    def metrics(lib):
        return [
            lib.metrics.CategoricalCrossentropy(label_smoothing=0.1, name="cce"),
            lib.metrics.BinaryCrossentropy(label_smoothing=0.2, name="bce"),
            lib.metrics.BinaryCrossentropy(from_logits=True, name="bce_logits"),
            "categorical_crossentropy",
            lib.losses.binary_crossentropy,
        ]

    ours = model("softmax")
    theirs = k.Sequential([k.Input((5,)), k.layers.Dense(3, activation="softmax")])
    theirs.set_weights(ours.get_weights())
    results = []
    for lib, m in ((keras, ours), (k, theirs)):
        m.compile(optimizer="sgd", loss="mse", metrics=metrics(lib))
        results.append(m.evaluate(X, y, verbose=0, return_dict=True))
    assert sorted(results[0]) == sorted(results[1])
    for key in results[0]:
        np.testing.assert_allclose(results[0][key], results[1][key], rtol=1e-5, err_msg=key)
    for name in ("BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy"):
        config = getattr(keras.metrics, name)(from_logits=True).get_config()
        reference = getattr(k.metrics, name)(from_logits=True).get_config()
        assert config == reference, name
    assert keras.metrics.Accuracy().get_config() == k.metrics.Accuracy().get_config()
