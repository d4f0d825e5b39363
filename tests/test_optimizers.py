"""eigennet optimizers vs the NumPy reference (tests/reference/optimizers.py)."""

import numpy as np
import pytest

import eigennet
from reference import optimizers as ref

STEPS = 6
SHAPES = [(3, 4), (4,), (2, 3, 2)]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}
CASES = [
    ("SGD", {}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"learning_rate": 0.1, "weight_decay": 0.01}),
    ("Adagrad", {}),
    ("Adagrad", {"learning_rate": 0.05, "initial_accumulator_value": 0.5, "epsilon": 1e-5}),
    ("RMSprop", {}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.9, "centered": True}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("Adam", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("Adam", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("AdamW", {}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.05, "amsgrad": True}),
    ("Adamax", {}),
    ("Adamax", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("Adamax", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("Nadam", {}),
    ("Nadam", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("Nadam", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("Adadelta", {}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.8, "epsilon": 1e-5}),
    ("Lion", {}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.1}),
    ("Lamb", {}),
    ("Lamb", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("Lamb", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("Ftrl", {}),
    (
        "Ftrl",
        {
            "learning_rate": 0.05,
            "learning_rate_power": -0.7,
            "initial_accumulator_value": 0.3,
            "l1_regularization_strength": 0.01,
            "l2_regularization_strength": 0.02,
            "l2_shrinkage_regularization_strength": 0.03,
            "beta": 0.5,
        },
    ),  # fmt: skip
]
CASE_IDS = [cls + "".join(f"-{k}={v}" for k, v in kw.items()) for cls, kw in CASES]
# Keras 3 default learning rates; the other defaults (epsilon, rho, betas, initial accumulator,
# AdamW weight_decay) are checked numerically by the kwargs-free cases above.
DEFAULT_LEARNING_RATES = {
    "SGD": 0.01,
    "Adagrad": 0.001,
    "RMSprop": 0.001,
    "Adam": 0.001,
    "AdamW": 0.001,
    "Adamax": 0.001,
    "Adadelta": 0.001,
    "Lion": 0.001,
    "Nadam": 0.001,
    "Lamb": 0.001,
    "Ftrl": 0.001,
}


def gradient_stream(dtype, seed):
    """Random gradients whose scale alternates (1, 0.01) so adaptive/amsgrad paths matter."""
    rng = np.random.default_rng(seed)
    for step in range(STEPS):
        scale = 0.01 if step % 2 else 1.0
        yield [(rng.normal(size=s) * scale).astype(dtype) for s in SHAPES]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,kwargs", CASES, ids=CASE_IDS)
def test_matches_reference_every_step(cls, kwargs, dtype):
    rng = np.random.default_rng(0)
    initial = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    variables = [v.copy() for v in initial]
    expected = [v.copy() for v in initial]
    optimizer = getattr(eigennet.optimizers, cls)(**kwargs)
    reference = getattr(ref, cls)(**kwargs)
    for step, grads in enumerate(gradient_stream(dtype, seed=1), start=1):
        optimizer.apply([g.copy() for g in grads], variables)
        reference.apply(grads, expected)
        assert int(optimizer.iterations) == step
        for got, want in zip(variables, expected, strict=True):
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, **TOL[dtype], err_msg=f"step {step}")


@pytest.mark.parametrize("cls", list(DEFAULT_LEARNING_RATES))
def test_default_learning_rate_and_iterations(cls):
    optimizer = getattr(eigennet.optimizers, cls)()
    assert float(optimizer.learning_rate) == pytest.approx(DEFAULT_LEARNING_RATES[cls])
    assert int(optimizer.iterations) == 0


@pytest.mark.parametrize("cls", ["SGD", "Adam"])
def test_zero_gradient_with_weight_decay_only_decays(cls):
    """Decoupled decay: var -= var * wd * lr, independent of the gradient."""
    variables = [np.full((2, 2), 3.0)]
    getattr(eigennet.optimizers, cls)(learning_rate=0.1, weight_decay=0.5).apply(
        [np.zeros((2, 2))], variables
    )
    np.testing.assert_allclose(variables[0], 3.0 - 3.0 * 0.5 * 0.1, rtol=1e-12)


def test_lion_beta_1_outside_its_range_raises_as_keras():
    for beta_1 in (0.0, 1.5):
        with pytest.raises(ValueError, match="must be in the \\[0, 1\\] range"):
            eigennet.optimizers.Lion(beta_1=beta_1)


@pytest.mark.parametrize("name", ["adamax", "Adadelta", "lion", "nadam"])
def test_new_optimizers_by_name_and_config(name):
    optimizer = eigennet.optimizers.get(name)
    again = type(optimizer).from_config(optimizer.get_config())
    assert again.get_config() == optimizer.get_config()


def test_lamb_on_variables_large_enough_to_share_between_threads():
    """Lamb's per-variable norms: the threads take whole variables, not slices of one."""
    shapes = [(400, 300), (300,), (200, 200)]
    rng = np.random.default_rng(3)
    variables = [rng.normal(size=s).astype(np.float32) for s in shapes]
    expected = [v.copy() for v in variables]
    optimizer, reference = eigennet.optimizers.Lamb(0.01), ref.Lamb(0.01)
    for _ in range(3):
        grads = [rng.normal(size=s).astype(np.float32) for s in shapes]
        optimizer.apply([g.copy() for g in grads], variables)
        reference.apply(grads, expected)
    for got, want in zip(variables, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
