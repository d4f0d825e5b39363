"""Keras 3's other losses (KLDivergence ... Dice) and their metrics: values against a NumPy
reference and Keras 3 (torch backend), gradients by finite differences, training parity,
history keys, configs and bad input."""

import os

import numpy as np
import pytest

import eigennet
import eigennet as keras
from eigennet import losses, ops

EPS = 1e-7


# ---- NumPy reference (float64), written from Keras's definitions --------------------------
def _hinge_labels(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def _norm(x, axis):
    return x * np.minimum(1 / np.sqrt(np.sum(x * x, axis=axis, keepdims=True)), 1 / EPS)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def ref_cfce(t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    if label_smoothing:
        t = t * (1 - label_smoothing) + label_smoothing / t.shape[axis]
    p = _softmax(p, axis) if from_logits else p
    out = np.clip(p / p.sum(axis=axis, keepdims=True), EPS, 1 - EPS)
    return np.sum(alpha * (1 - out) ** gamma * -t * np.log(out), axis=axis)


def ref_bfce(t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
             label_smoothing=0.0, axis=-1):  # fmt: skip
    if label_smoothing:
        t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    p = 1 / (1 + np.exp(-p)) if from_logits else p
    o = np.clip(p, EPS, 1 - EPS)
    bce = -(t * np.log(o) + (1 - t) * np.log(1 - o))
    p_t = t * p + (1 - t) * (1 - p)
    focal = (1 - p_t) ** gamma * bce
    if apply_class_balancing:
        focal = (t * alpha + (1 - t) * (1 - alpha)) * focal
    return focal.mean(axis=axis)


def ref_tversky(t, p, alpha=0.5, beta=0.5, axis=None):
    tp = np.sum(t * p, axis=axis)
    fp, fn = np.sum((1 - p) * t, axis=axis), np.sum(p * (1 - t), axis=axis)
    return 1 - tp / (tp + alpha * fp + beta * fn + EPS)


REFERENCE = {
    "kl_divergence": lambda t, p: np.sum(
        np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1)), -1
    ),
    "poisson": lambda t, p: np.mean(p - t * np.log(p + EPS), -1),
    "log_cosh": lambda t, p: np.mean(np.log(np.cosh(p - t)), -1),
    "cosine_similarity": lambda t, p, axis=-1: -np.sum(_norm(t, axis) * _norm(p, axis), axis),
    "hinge": lambda t, p: np.mean(np.maximum(1 - _hinge_labels(t) * p, 0), -1),
    "squared_hinge": lambda t, p: np.mean(np.maximum(1 - _hinge_labels(t) * p, 0) ** 2, -1),
    "categorical_hinge": lambda t, p: np.maximum(
        np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1, 0
    ),
    "mean_squared_logarithmic_error": lambda t, p: np.mean(
        (np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2, -1
    ),
    "mean_absolute_percentage_error": lambda t, p: (
        100 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPS)), -1)
    ),
    "categorical_focal_crossentropy": ref_cfce,
    "binary_focal_crossentropy": ref_bfce,
    "tversky": ref_tversky,
    "dice": lambda t, p, axis=None: (
        1 - 2 * np.sum(t * p, axis=axis) / (np.sum(t, axis=axis) + np.sum(p, axis=axis) + EPS)
    ),
}

# name -> (class, output units, output activation, kind of targets)
LOSSES = {
    "kl_divergence": ("KLDivergence", 3, "softmax", "distribution"),
    "poisson": ("Poisson", 2, "softplus", "counts"),
    "log_cosh": ("LogCosh", 2, "linear", "normal"),
    "cosine_similarity": ("CosineSimilarity", 3, "linear", "normal"),
    "hinge": ("Hinge", 1, "tanh", "binary"),
    "squared_hinge": ("SquaredHinge", 1, "tanh", "signs"),
    "categorical_hinge": ("CategoricalHinge", 3, "linear", "one_hot"),
    "mean_squared_logarithmic_error": ("MeanSquaredLogarithmicError", 2, "softplus", "positive"),
    "mean_absolute_percentage_error": ("MeanAbsolutePercentageError", 2, "linear", "away"),
    "categorical_focal_crossentropy": ("CategoricalFocalCrossentropy", 3, "softmax", "one_hot"),
    "binary_focal_crossentropy": ("BinaryFocalCrossentropy", 1, "sigmoid", "binary"),
    "tversky": ("Tversky", 2, "sigmoid", "binary"),
    "dice": ("Dice", 2, "sigmoid", "binary"),
}
NAMES = list(LOSSES)
ALIASES = {
    "kld": "kl_divergence",
    "KLD": "kl_divergence",
    "mape": "mean_absolute_percentage_error",
    "MAPE": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "MSLE": "mean_squared_logarithmic_error",
}
# Extra arguments worth checking, per class.
VARIANTS = {
    "cosine_similarity": [{"axis": 0}],
    "categorical_focal_crossentropy": [
        {"alpha": 0.5, "gamma": 1.5, "label_smoothing": 0.1},
        {"from_logits": True},
    ],
    "binary_focal_crossentropy": [
        {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0},
        {"from_logits": True, "label_smoothing": 0.2},
    ],
    "tversky": [{"alpha": 0.3, "beta": 0.7}, {"axis": -1}],
    "dice": [{"axis": -1}],
}
CASES = [(n, {}) for n in NAMES] + [(n, kw) for n, kws in VARIANTS.items() for kw in kws]
CASE_IDS = [n + "".join(f"-{k}={v}" for k, v in kw.items()) for n, kw in CASES]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def targets(kind, rng, shape):
    if kind == "distribution":
        return rng.dirichlet(np.ones(shape[-1]), size=shape[0])
    if kind == "counts":
        return rng.poisson(2.0, size=shape).astype(float)
    if kind == "binary":
        return rng.integers(0, 2, size=shape).astype(float)
    if kind == "signs":
        return rng.choice([-1.0, 1.0], size=shape)
    if kind == "one_hot":
        return np.eye(shape[-1])[rng.integers(0, shape[-1], size=shape[0])]
    if kind == "positive":
        return rng.uniform(0, 3, size=shape)
    if kind == "away":
        return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2, size=shape)
    return rng.normal(size=shape)


def predictions(name, kwargs, rng, shape):
    if kwargs.get("from_logits"):
        return rng.normal(scale=2.0, size=shape)
    activation = LOSSES[name][2]
    if activation == "softmax":
        return _softmax(rng.normal(size=shape))
    if activation in ("sigmoid",):
        return rng.uniform(0.05, 0.95, size=shape)
    if activation == "softplus":
        return rng.uniform(0.1, 3.0, size=shape)
    if activation == "tanh":
        return rng.uniform(-0.99, 0.99, size=shape)
    return rng.normal(size=shape)


def make_case(name, kwargs, seed=0, batch=6):
    rng = np.random.default_rng(seed)
    shape = (batch, max(LOSSES[name][1], 2))
    return targets(LOSSES[name][3], rng, shape), predictions(name, kwargs, rng, shape)


def keras_or_skip():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


# ---- values ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_function_and_class_match_reference(name, kwargs, dtype):
    y_true, y_pred = make_case(name, kwargs, seed=1)
    expected = REFERENCE[name](y_true, y_pred, **kwargs)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)
    got = getattr(losses, name)(y_true.astype(dtype), y_pred.astype(dtype), **kwargs)
    assert np.asarray(got).dtype == dtype
    np.testing.assert_allclose(got, expected, **tol)
    loss = getattr(losses, LOSSES[name][0])(**kwargs)
    value = loss(y_true.astype(dtype), y_pred.astype(dtype))
    np.testing.assert_allclose(value, np.mean(expected), **tol)


def test_hinge_keeps_labels_that_are_not_binary():
    y_pred = np.array([[0.3, -0.8], [0.9, 0.1]])
    binary, signs = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[-1.0, 1.0], [1.0, -1.0]])
    np.testing.assert_allclose(losses.hinge(binary, y_pred), losses.hinge(signs, y_pred))
    mixed = np.array([[0.0, 1.0], [1.0, -1.0]])  # not all 0/1: used as given
    np.testing.assert_allclose(losses.hinge(mixed, y_pred), REFERENCE["hinge"](mixed, y_pred))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_matches_keras_with_sample_weight_and_reduction(name, kwargs, reduction):
    keras = keras_or_skip()
    y_true, y_pred = make_case(name, kwargs, seed=2)
    sw = np.random.default_rng(3).uniform(0.2, 2.0, size=len(y_true))
    cls = LOSSES[name][0]
    ours = getattr(losses, cls)(reduction=reduction, **kwargs)
    theirs = getattr(keras.losses, cls)(reduction=reduction, **kwargs)
    weights = (None,) if kwargs.get("axis") == 0 else (None, sw)  # axis 0: one value per column
    for weight in weights:
        expected = np.asarray(theirs(y_true, y_pred, sample_weight=weight))
        got = ours(y_true, y_pred, sample_weight=weight)
        assert np.shape(got) == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(  # the functions, unreduced
        getattr(losses, name)(y_true, y_pred, **kwargs),
        np.asarray(getattr(keras.losses, name)(y_true, y_pred, **kwargs)),
        rtol=1e-6,
        atol=1e-7,
    )


@pytest.mark.parametrize("name", NAMES + list(ALIASES))
def test_names_resolve_like_keras(name):
    keras = keras_or_skip()
    ours, theirs = losses.get(name), keras.losses.get(name)
    assert ours.__name__ == theirs.__name__
    cls = LOSSES[ALIASES.get(name, name)][0]
    assert isinstance(losses.get(cls), getattr(losses, cls))


# ---- gradients and training -------------------------------------------------------------------
def small_model(lib, name, kwargs=None, dtype=None, loss=None, metrics=None, seed=0):
    units, activation = LOSSES[name][1], LOSSES[name][2]
    if kwargs and kwargs.get("from_logits"):
        activation = "linear"
    model = lib.Sequential(
        [
            lib.Input(shape=(4,)),
            lib.layers.Dense(5, activation="tanh"),
            lib.layers.Dense(units, activation=activation),
        ]
    )
    return model


def model_data(name, seed=0, n=24):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = targets(LOSSES[name][3], rng, (n, LOSSES[name][1]))
    if name == "hinge":
        y[0] = 1.0  # keep the batch binary
    return x, y


@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_gradients_match_finite_differences(name, kwargs, float64):
    from gradient_check import assert_gradients_match_finite_differences

    eigennet.utils.set_random_seed(5)
    model = small_model(eigennet, name, kwargs)
    loss = getattr(losses, LOSSES[name][0])(**kwargs)
    model.compile(optimizer="sgd", loss=loss)
    x, y = model_data(name, seed=6, n=6)
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)


def test_gradients_with_sum_reduction(float64):
    from gradient_check import assert_gradients_match_finite_differences

    eigennet.utils.set_random_seed(5)
    model = small_model(eigennet, "poisson")
    model.compile(optimizer="sgd", loss=losses.Poisson(reduction="sum"))
    x, y = model_data("poisson", seed=6, n=6)
    value, _ = model._compute_gradients(x, y)
    pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(value, np.sum(REFERENCE["poisson"](y, pred)), rtol=1e-10)
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)


def keras_pair(keras, name, kwargs=None):
    keras.utils.set_random_seed(7)
    theirs = small_model(keras, name, kwargs)
    ours = small_model(eigennet, name, kwargs)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    return ours, theirs


@pytest.mark.parametrize("name", NAMES)
def test_trains_like_keras_by_name(name):
    from keras_parity import assert_trains_like_keras

    keras = keras_or_skip()
    ours, theirs = keras_pair(keras, name)
    ours.compile(optimizer="adam", loss=name)
    theirs.compile(optimizer="adam", loss=name)
    x, y = model_data(name, seed=8)
    assert_trains_like_keras(ours, theirs, x.astype("float32"), y.astype("float32"))


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("categorical_focal_crossentropy", {"from_logits": True, "label_smoothing": 0.1}),
        ("binary_focal_crossentropy", {"apply_class_balancing": True, "gamma": 1.0}),
        ("tversky", {"alpha": 0.3, "beta": 0.7}),
        ("cosine_similarity", {"reduction": "sum"}),
    ],
)
def test_trains_like_keras_with_arguments_and_weights(name, kwargs):
    keras = keras_or_skip()
    model_kwargs = {k: v for k, v in kwargs.items() if k == "from_logits"}
    ours, theirs = keras_pair(keras, name, model_kwargs)
    cls = LOSSES[name][0]
    ours.compile(optimizer="sgd", loss=getattr(losses, cls)(**kwargs))
    theirs.compile(optimizer="sgd", loss=getattr(keras.losses, cls)(**kwargs))
    x, y = model_data(name, seed=9)
    sw = np.random.default_rng(10).uniform(0.5, 1.5, size=len(x)).astype("float32")
    fit = dict(epochs=3, batch_size=8, shuffle=False, verbose=0, sample_weight=sw)
    h_ours = ours.fit(x.astype("float32"), y.astype("float32"), **fit).history
    h_theirs = theirs.fit(x.astype("float32"), y.astype("float32"), **fit).history
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], rtol=2e-4, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)


# ---- metrics -------------------------------------------------------------------------------
METRICS = {  # metric class -> (loss case whose data it is given, Keras string name)
    "KLDivergence": "kl_divergence",
    "Poisson": "poisson",
    "LogCoshError": "log_cosh",
    "CosineSimilarity": "cosine_similarity",
    "Hinge": "hinge",
    "SquaredHinge": "squared_hinge",
    "CategoricalHinge": "categorical_hinge",
    "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error",
    "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
}


@pytest.mark.parametrize("cls", list(METRICS))
def test_metric_standalone_matches_keras(cls):
    keras = keras_or_skip()
    y_true, y_pred = make_case(METRICS[cls], {}, seed=11)
    sw = np.random.default_rng(12).uniform(0.2, 2.0, size=len(y_true))
    ours, theirs = getattr(eigennet.metrics, cls)(), getattr(keras.metrics, cls)()
    assert ours.name == theirs.name
    for half in (slice(0, 3), slice(3, None)):
        ours.update_state(y_true[half], y_pred[half], sample_weight=sw[half])
        theirs.update_state(y_true[half], y_pred[half], sample_weight=sw[half])
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-5)
    ours.reset_state()
    assert float(ours.result()) == 0.0
    config = ours.get_config()
    again = type(ours).from_config(config)
    assert again.get_config() == config
    assert eigennet.metrics.deserialize(eigennet.metrics.serialize(ours)).name == ours.name


@pytest.mark.parametrize("form", ["class", "string"])
def test_metrics_history_matches_keras(form):
    keras = keras_or_skip()
    groups = {  # one model per kind of output
        "poisson": ["Poisson", "LogCoshError", "MeanSquaredLogarithmicError",
                    "MeanAbsolutePercentageError"],
        "kl_divergence": ["KLDivergence", "CosineSimilarity", "CategoricalHinge"],
        "hinge": ["Hinge", "SquaredHinge"],
    }  # fmt: skip
    strings = {
        "Poisson": "poisson",
        "LogCoshError": "log_cosh_error",
        "MeanSquaredLogarithmicError": "msle",
        "MeanAbsolutePercentageError": "mape",
        "KLDivergence": "kl_divergence",
        "CosineSimilarity": "cosine_similarity",
        "CategoricalHinge": "categorical_hinge",
        "Hinge": "hinge",
        "SquaredHinge": "squared_hinge",
    }
    for loss, classes in groups.items():
        ours, theirs = keras_pair(keras, loss)
        if form == "class":
            m_ours = [getattr(eigennet.metrics, c)() for c in classes]
            m_theirs = [getattr(keras.metrics, c)() for c in classes]
        else:
            m_ours = m_theirs = [strings[c] for c in classes]
        ours.compile(optimizer="adam", loss=loss, metrics=m_ours)
        theirs.compile(optimizer="adam", loss=loss, metrics=m_theirs)
        x, y = model_data(loss, seed=13)
        x, y = x.astype("float32"), y.astype("float32")
        fit = dict(epochs=2, batch_size=8, shuffle=False, verbose=0, validation_split=0.25)
        h_ours, h_theirs = ours.fit(x, y, **fit).history, theirs.fit(x, y, **fit).history
        assert sorted(h_ours) == sorted(h_theirs)
        for key in h_theirs:
            np.testing.assert_allclose(
                h_ours[key], h_theirs[key], rtol=2e-4, atol=1e-6, err_msg=key
            )
        e_ours = ours.evaluate(x, y, verbose=0, return_dict=True)
        e_theirs = theirs.evaluate(x, y, verbose=0, return_dict=True)
        assert sorted(e_ours) == sorted(e_theirs)
        for key in e_theirs:
            np.testing.assert_allclose(e_ours[key], e_theirs[key], rtol=2e-4, atol=1e-6)


# ---- configs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", CASES, ids=CASE_IDS)
def test_config_round_trip_matches_keras(name, kwargs):
    cls = LOSSES[name][0]
    loss = getattr(losses, cls)(reduction="sum", **kwargs)
    config = loss.get_config()
    again = getattr(losses, cls).from_config(config)
    assert again.get_config() == config
    y_true, y_pred = make_case(name, kwargs, seed=14)
    assert again(y_true, y_pred) == loss(y_true, y_pred)
    keras = keras_or_skip()
    theirs = getattr(keras.losses, cls)(reduction="sum", **kwargs).get_config()
    theirs.pop("dtype", None)
    assert {key: config[key] for key in theirs} == theirs  # (Keras's CosineSimilarity drops axis)


def test_model_with_new_loss_saves_and_reloads(tmp_path):
    model = small_model(eigennet, "binary_focal_crossentropy")
    model.compile(
        optimizer="adam",
        loss=losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=3.0),
        metrics=[eigennet.metrics.Hinge()],
    )
    x, y = model_data("binary_focal_crossentropy", seed=15)
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "focal.keras")
    model.save(path)
    reloaded = eigennet.saving.load_model(path)
    np.testing.assert_allclose(
        reloaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6
    )


# ---- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_wrong_shapes_raise(name):
    y_true, y_pred = make_case(name, {}, seed=16)
    with pytest.raises(ValueError, match="does not match y_pred"):
        getattr(losses, name)(y_true[:, :1].repeat(3, axis=1), y_pred[:, :2])
    with pytest.raises(ValueError, match="samples"):
        getattr(losses, LOSSES[name][0])()(y_true[:4], y_pred)


def test_wrong_target_shape_in_fit_raises():
    model = small_model(eigennet, "categorical_hinge")
    model.compile(optimizer="sgd", loss="categorical_hinge")
    x = np.zeros((4, 4))
    with pytest.raises(ValueError):
        model.fit(x, np.zeros(4), epochs=1, verbose=0)  # integer labels, not one-hot


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: losses.Hinge(reduction="average"), "reduction"),
        (lambda: losses.CategoricalFocalCrossentropy(label_smoothing=1.5), "label_smoothing"),
        (lambda: losses.BinaryFocalCrossentropy(label_smoothing=-0.1), "label_smoothing"),
        (lambda: losses.CosineSimilarity(axis="last"), "axis"),
        (lambda: losses.Tversky(alpha=float("nan")), "alpha"),
        (lambda: losses.get("no_such_loss"), "Unknown loss"),
        (lambda: losses.CosineSimilarity(axis=3)(np.ones((2, 3)), np.ones((2, 3))), "axis 3"),
    ],
)
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_untrainable_reduction_raises_at_compile():
    model = small_model(eigennet, "poisson")
    with pytest.raises(NotImplementedError, match="mean_with_sample_weight"):
        model.compile(optimizer="sgd", loss=losses.Poisson(reduction="mean_with_sample_weight"))


@pytest.mark.parametrize("name", ["hinge", "binary_focal_crossentropy", "squared_hinge"])
def test_rank_1_targets_and_class_weight_like_keras(name):
    """y of shape (batch,) against an output (batch, 1), and class_weight, as Keras."""
    keras = keras_or_skip()
    ours, theirs = keras_pair(keras, name)
    ours.compile(optimizer="sgd", loss=name)
    theirs.compile(optimizer="sgd", loss=name)
    x, y = model_data(name, seed=17)
    y = (y[:, 0] > 0).astype("float32")  # 0/1 labels, rank 1
    fit = dict(epochs=2, batch_size=8, shuffle=False, verbose=0, class_weight={0: 1.0, 1: 2.5})
    h_ours = ours.fit(x.astype("float32"), y, **fit).history
    h_theirs = theirs.fit(x.astype("float32"), y, **fit).history
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], rtol=2e-4, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)


def test_dice_over_the_batch_in_training_matches_keras():
    """Dice/Tversky with axis=None sum over the whole batch: one value per batch."""
    keras = keras_or_skip()
    ours, theirs = keras_pair(keras, "dice")
    ours.compile(optimizer="adam", loss=losses.Dice())
    theirs.compile(optimizer="adam", loss=keras.losses.Dice())
    x, y = model_data("dice", seed=18, n=20)  # a last batch of 4
    x, y = x.astype("float32"), y.astype("float32")
    np.testing.assert_allclose(
        ours.evaluate(x, y, batch_size=8, verbose=0),
        theirs.evaluate(x, y, batch_size=8, verbose=0),
        rtol=1e-5,
    )


# ---- the element-wise losses the core computes itself -----------------------------------------
NATIVE = sorted(losses.NATIVE_FORMULAS)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NATIVE)
def test_native_core_value_and_grad(name, dtype):
    from eigennet import _core

    y_true, y_pred = make_case(name, {}, seed=19)
    value, grad = _core.loss_value_and_grad(name, y_true.astype(dtype), y_pred.astype(dtype), False)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(value, REFERENCE[name](y_true, y_pred).mean(), **tol)
    h, fd = 1e-6, np.zeros_like(y_pred)
    for idx in np.ndindex(y_pred.shape):
        moved = [y_pred.copy(), y_pred.copy()]
        moved[0][idx] += h
        moved[1][idx] -= h
        fd[idx] = (
            REFERENCE[name](y_true, moved[0]).mean() - REFERENCE[name](y_true, moved[1]).mean()
        ) / (2 * h)
    np.testing.assert_allclose(
        grad,
        fd,
        rtol=1e-5 if dtype == np.float64 else 2e-2,
        atol=1e-7 if dtype == np.float64 else 1e-4,
    )


@pytest.mark.parametrize("name", NAMES)
def test_compile_trains_element_wise_losses_natively(name):
    """The element-wise losses run in the core's loss code, the others as traced graphs;
    reduction="sum" always traces (the core's losses average)."""
    native = name in losses.NATIVE_FORMULAS
    assert isinstance(losses.spec_of(name), losses.LossSpec) is native
    cls = getattr(losses, LOSSES[name][0])
    assert isinstance(losses.spec_of(cls()), losses.LossSpec) is native
    assert isinstance(losses.spec_of(cls(reduction="sum")), losses.TracedLoss)


def test_native_hinge_converts_only_all_binary_batches():
    from eigennet import _core

    y_pred = np.array([[0.3, -0.8], [0.9, 0.1]])
    for y_true in (np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [1.0, -1.0]])):
        for name in ("hinge", "squared_hinge"):
            value, _ = _core.loss_value_and_grad(name, y_true, y_pred, False)
            np.testing.assert_allclose(value, REFERENCE[name](y_true, y_pred).mean(), rtol=1e-12)


FORMS = ["name", "class_name", "function", "class", "instance"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", NAMES)
def test_compile_accepts_every_form(name, form):
    cls = LOSSES[name][0]
    spec = {
        "name": name,
        "class_name": cls,
        "function": getattr(losses, name),
        "class": getattr(losses, cls),
        "instance": getattr(losses, cls)(),
    }[form]
    eigennet.utils.set_random_seed(20)
    model = small_model(eigennet, name)
    model.compile(optimizer="sgd", loss=spec)
    x, y = model_data(name, seed=21, n=8)
    value = model.evaluate(x, y, batch_size=8, verbose=0)
    pred = model.predict(x, verbose=0).astype(np.float64)
    np.testing.assert_allclose(value, np.mean(REFERENCE[name](y, pred)), rtol=2e-5, atol=1e-6)


def test_several_outputs_with_new_losses_and_metrics():
    inputs = eigennet.Input(shape=(4,))
    hidden = eigennet.layers.Dense(5, activation="tanh")(inputs)
    rate = eigennet.layers.Dense(2, activation="softplus", name="rate")(hidden)
    mask = eigennet.layers.Dense(2, activation="sigmoid", name="mask")(hidden)
    model = eigennet.Model(inputs, [rate, mask])
    model.compile(
        optimizer="adam",
        loss={"rate": "poisson", "mask": eigennet.losses.Dice()},
        loss_weights={"rate": 1.0, "mask": 0.5},
        metrics={"rate": ["msle", eigennet.metrics.LogCoshError()], "mask": ["hinge"]},
    )
    x, y_rate = model_data("poisson", seed=22)
    y_mask = (y_rate > 2).astype("float64")
    history = model.fit(x, {"rate": y_rate, "mask": y_mask}, epochs=2, batch_size=8, verbose=0)
    assert sorted(history.history) == [
        "loss", "mask_hinge", "mask_loss", "rate_logcosh", "rate_loss", "rate_msle",
    ]  # fmt: skip
    assert all(np.isfinite(v).all() for v in history.history.values())


@pytest.mark.parametrize("cls", sorted({v[0] for v in LOSSES.values()}) + ["metrics"])
def test_signatures_match_keras(cls):
    import inspect

    keras = keras_or_skip()
    pairs = (
        [(getattr(eigennet.metrics, c), getattr(keras.metrics, c)) for c in METRICS]
        if cls == "metrics"
        else [(getattr(losses, cls), getattr(keras.losses, cls))]
    )
    for ours, theirs in pairs:
        mine = inspect.signature(ours.__init__).parameters
        keras_params = inspect.signature(theirs.__init__).parameters
        assert list(mine) == list(keras_params), ours.__name__
        for key, param in keras_params.items():
            assert mine[key].default == param.default, (ours.__name__, key)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "cls", ["MeanSquaredError", "Huber", "BinaryCrossentropy", "CategoricalCrossentropy"]
)
def test_existing_losses_take_every_reduction_when_called(cls, reduction):
    """The reductions now also apply to the losses eigennet had; they train with the batch
    mean only (a clear error at compile otherwise)."""
    keras = keras_or_skip()
    rng = np.random.default_rng(23)
    y_true = np.eye(3)[rng.integers(0, 3, size=5)]
    y_pred = _softmax(rng.normal(size=(5, 3)))
    sw = rng.uniform(0.2, 2.0, size=5)
    ours = getattr(losses, cls)(reduction=reduction)
    theirs = getattr(keras.losses, cls)(reduction=reduction)
    for weight in (None, sw):
        expected = np.asarray(theirs(y_true, y_pred, sample_weight=weight))
        np.testing.assert_allclose(ours(y_true, y_pred, sample_weight=weight), expected, rtol=1e-6)
    model = small_model(eigennet, "kl_divergence")
    if reduction in ("sum_over_batch_size", "mean"):
        model.compile(optimizer="sgd", loss=ours)
    else:
        with pytest.raises(NotImplementedError, match="reduction"):
            model.compile(optimizer="sgd", loss=ours)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
def test_loss_objects_called_in_a_traced_custom_loss(reduction):
    """A custom loss written with Keras's loss objects (weighted and reduced as Keras's
    reduce_weighted_values) is traced: training and evaluate give the same value as the
    objects called on arrays."""
    rng = np.random.default_rng(5)
    x = rng.random((32, 3)).astype("float32")
    y = rng.integers(0, 2, (32, 1)).astype("float32")
    weights = np.linspace(0.5, 1.5, 32).astype("float32")
    mse = keras.losses.MeanSquaredError(reduction=reduction)
    bce = keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    kld = keras.losses.KLDivergence()

    def combined(y_true, y_pred):
        return (
            mse(y_true, y_pred, sample_weight=ops.squeeze(y_true, -1) + 1.0)
            + 0.5 * bce(y_true, y_pred)
            + 0.1 * kld(y_true, ops.sigmoid(y_pred))
        )

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", loss=combined)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    p = model.predict(x, verbose=0)
    expected = (
        mse(y, p, sample_weight=y[:, 0] + 1.0)
        + 0.5 * bce(y, p)
        + 0.1 * kld(y, 1.0 / (1.0 + np.exp(-p)))
    )
    assert np.isclose(model.evaluate(x, y, batch_size=32, verbose=0), expected, rtol=1e-5)
    weighted = model.evaluate(x, y, sample_weight=weights, batch_size=32, verbose=0)
    assert np.isfinite(weighted)
    none = keras.losses.MeanSquaredError(reduction="none")
    inputs, targets = keras.Input((1,)), keras.Input((1,))
    per_sample = keras.Model([inputs, targets], none(targets, inputs))
    got = per_sample.predict([p, y], verbose=0)
    np.testing.assert_allclose(got, none(y, p), rtol=1e-6)
