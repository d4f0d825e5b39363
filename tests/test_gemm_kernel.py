"""The core's float32 GEMM kernel (cpp/src/sgemm.cpp) through Dense layers wide enough to use it.

Float32 products with at least 32 output columns go to the core's own AVX-512 kernel (where the
build has one), smaller ones and float64 to Eigen. These shapes cover its edges: rows not a
multiple of the 12-row tile, columns not a multiple of 32, depths with a remainder of 16 and
more than one 256-deep block; forward (A·B), weight gradient (Aᵀ·B) and input gradient (A·Bᵀ).
`EIGENNET_GEMM_KERNEL=eigen` switches the kernel off: the fallback must agree too.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import eigennet
from reference import dense as ref

# (batch, [(units, activation), ...], input features)
CASES = {
    "tails": (37, [(100, "tanh"), (70, "relu"), (3, "softmax")], 70),
    "deep-k": (29, [(64, "sigmoid"), (33, "linear"), (4, "softmax")], 600),
    "wide": (130, [(300, "tanh"), (5, "softmax")], 257),
}


def problem(case, seed=0):
    batch, specs, n_in = CASES[case]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, n_in))
    layers, prev = [], n_in
    for units, act in specs:
        layers.append(
            (rng.normal(size=(prev, units)) / np.sqrt(prev), rng.normal(size=units) * 0.1, act)
        )
        prev = units
    y = rng.integers(0, specs[-1][0], size=batch)
    return x, y, layers


def model_for(layers, n_in):
    model = eigennet.Sequential([eigennet.Input(shape=(n_in,))])
    for kernel, _, act in layers:
        model.add(eigennet.layers.Dense(kernel.shape[1], activation=act))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.set_weights([w.astype(np.float32) for k, b, _ in layers for w in (k, b)])
    return model


def run_case(case):
    x, y, layers = problem(case)
    model = model_for(layers, x.shape[1])
    out = model.predict(x.astype(np.float32), batch_size=len(x), verbose=0)
    value, grads = model._compute_gradients(x.astype(np.float32), y)
    return out, value, grads


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_products_match_reference(case):
    x, y, layers = problem(case)
    expected_loss, expected_grads = ref.loss_and_grads(
        x, y, layers, "sparse_categorical_crossentropy"
    )
    out, value, grads = run_case(case)
    np.testing.assert_allclose(out, ref.forward(x, layers), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(value, expected_loss, rtol=1e-4)
    for got, expected in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, expected, rtol=2e-3, atol=2e-5)


ELEMENTWISE = [
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "softplus",
    "swish",
]


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("activation", ELEMENTWISE)
def test_bias_and_activation_on_each_threads_block(activation, use_bias):
    """Dense adds the bias and activates inside the product, on each thread's block of columns
    (64 x 200 x 300 is above the product's threading threshold): the NumPy result whatever the
    threads."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 300))
    kernel = rng.normal(size=(300, 200)) / np.sqrt(300)
    bias = rng.normal(size=200) if use_bias else None
    want = ref.forward(x, [(kernel, bias, activation)])
    layer = eigennet.layers.Dense(200, activation=activation, use_bias=use_bias)
    model = eigennet.Sequential([eigennet.Input(shape=(300,)), layer])
    model.set_weights([w.astype(np.float32) for w in (kernel, bias) if w is not None])
    original = eigennet.config.get_num_threads()
    try:
        for threads in (1, 2):
            eigennet.config.set_num_threads(threads)
            got = model.predict(x.astype(np.float32), batch_size=64, verbose=0)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    finally:
        eigennet.config.set_num_threads(original)


def test_relu_in_the_kernels_registers_is_max_with_zero():
    """The kernel adds the bias and applies relu to each tile before storing it: exactly
    max(linear output, 0), NaN kept (a NaN weight column), whatever the threads."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 300)).astype(np.float32)
    kernel = (rng.normal(size=(300, 200)) / np.sqrt(300)).astype(np.float32)
    kernel[:, 5] = np.nan
    bias = rng.normal(size=200).astype(np.float32)
    original = eigennet.config.get_num_threads()
    try:
        for threads in (1, 2):
            eigennet.config.set_num_threads(threads)
            outs = {}
            for activation in ("linear", "relu"):
                dense = eigennet.layers.Dense(200, activation=activation)
                model = eigennet.Sequential([eigennet.Input(shape=(300,)), dense])
                with pytest.warns(UserWarning, match="NaN"):
                    model.set_weights([kernel, bias])
                outs[activation] = model.predict(x, batch_size=64, verbose=0)
            assert np.isnan(outs["relu"][:, 5]).all()
            np.testing.assert_array_equal(outs["relu"], np.maximum(outs["linear"], 0))
    finally:
        eigennet.config.set_num_threads(original)


def test_thread_count_changes_only_rounding():
    original = eigennet.config.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            eigennet.config.set_num_threads(n)
            results.append(run_case("wide"))
    finally:
        eigennet.config.set_num_threads(original)
    (out1, v1, g1), (out2, v2, g2) = results
    np.testing.assert_allclose(out1, out2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(v1, v2, rtol=1e-6)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_eigen_fallback_agrees():
    """The same products with the kernel switched off (a fresh process reads the variable)."""
    script = textwrap.dedent(
        """
        import json, sys
        sys.path[:0] = json.loads(sys.argv[1])
        import test_gemm_kernel as t
        out = {c: [a.tolist() if hasattr(a, "tolist") else a for a in (o, v, *g)]
               for c in sorted(t.CASES) for o, v, g in [t.run_case(c)]}
        print(json.dumps(out))
        """
    )
    env = dict(os.environ, EIGENNET_GEMM_KERNEL="eigen")
    here = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps([here])],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    fallback = json.loads(done.stdout.strip().splitlines()[-1])
    for case in sorted(CASES):
        out, value, grads = run_case(case)
        ref_out, ref_value, *ref_grads = fallback[case]
        np.testing.assert_allclose(out, np.array(ref_out), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(value, ref_value, rtol=1e-5)
        for got, expected in zip(grads, ref_grads, strict=True):
            np.testing.assert_allclose(got, np.array(expected), rtol=1e-4, atol=1e-6)
