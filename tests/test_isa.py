"""Instruction-set dispatch: the variant chosen at import, EIGENNET_ISA, and that every variant
the CPU can run trains to the same result within float rounding (each in its own process, since
a process holds one variant)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import eigennet as keras
from eigennet import _dispatch

BUILT = _dispatch.built_variants()
LEVEL = _dispatch.cpu_level()

# Trains a small classifier with a fixed seed and prints the variant, the weights and the losses.
TRAIN = """
import json, numpy as np, eigennet as keras
keras.config.set_num_threads(1)
keras.utils.set_random_seed(3)
rs = np.random.RandomState(0)
x = rs.normal(size=(512, 20)).astype("float32")
y = (x[:, :3].sum(axis=1) > 0).astype("int64") + (x[:, 3] > 1)
model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(32, activation="tanh"),
                          keras.layers.Dense(3, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
print(json.dumps({"isa": keras.config.isa(), "loss": history.history["loss"],
                  "weights": [w.ravel().tolist() for w in model.get_weights()]}))
"""


def run_python(code, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("EIGENNET_ISA", "EIGENNET_PROBE_LIMIT")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )


def train(**env_overrides):
    proc = run_python(TRAIN, **env_overrides)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_isa_is_the_best_variant_the_cpu_runs():
    requested = os.environ.get("EIGENNET_ISA", "").strip().lower()
    if requested:
        assert keras.config.isa() == requested
        return
    runnable = [
        v
        for v in BUILT
        if v == "native" or _dispatch.LEVELS.index(v) <= _dispatch.LEVELS.index(LEVEL)
    ]
    assert keras.config.isa() == ("native" if "native" in BUILT else runnable[-1])
    if set(_dispatch.LEVELS) <= set(BUILT) and "native" not in BUILT:
        assert keras.config.isa() == LEVEL


def test_core_is_the_chosen_variant():
    from eigennet import _core

    assert sys.modules["eigennet._core"] is _core
    assert _core.__name__ == f"eigennet._core_{keras.config.isa()}"


@pytest.mark.parametrize("variant", ["baseline", "v3", "v4"])
def test_variant_trains_like_the_default(variant):
    if variant not in BUILT:
        pytest.skip(f"variant {variant} not built (built: {BUILT})")
    if _dispatch.LEVELS.index(variant) > _dispatch.LEVELS.index(LEVEL):
        pytest.skip(f"this CPU runs up to {LEVEL}")
    default = train()
    forced = train(EIGENNET_ISA=variant)
    assert forced["isa"] == variant
    # Different instruction sets round differently (FMA, vector widths): close, not identical.
    np.testing.assert_allclose(forced["loss"], default["loss"], rtol=1e-4)
    for got, want in zip(forced["weights"], default["weights"]):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)


def test_probe_limit_lowers_the_choice():
    if "v3" not in BUILT or "native" in BUILT or LEVEL == "baseline":
        pytest.skip("needs a built v3 variant and a CPU that runs it")
    assert train(EIGENNET_PROBE_LIMIT="v3")["isa"] == "v3"
    assert train(EIGENNET_PROBE_LIMIT="baseline")["isa"] == "baseline"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EIGENNET_ISA": "avx9000"}, "is not an instruction-set variant"),
        ({"EIGENNET_ISA": "v4", "EIGENNET_PROBE_LIMIT": "v3"}, "this CPU cannot run that variant"),
        ({"EIGENNET_ISA": "v3", "EIGENNET_PROBE_LIMIT": "baseline"}, "cannot run"),
    ],
)
def test_bad_isa_raises_an_actionable_import_error(env, message):
    if env["EIGENNET_ISA"] in _dispatch.VARIANTS and env["EIGENNET_ISA"] not in BUILT:
        pytest.skip(f"variant {env['EIGENNET_ISA']} not built")
    proc = run_python("import eigennet", **env)
    # An ImportError (exit status 1), never SIGILL (-4) from loading the wrong variant.
    assert proc.returncode == 1, proc.stderr
    assert "ImportError" in proc.stderr and message in proc.stderr, proc.stderr
    assert "EIGENNET_ISA" in proc.stderr


def test_choose():
    choose = _dispatch.choose
    all_levels = ["baseline", "v3", "v4"]
    assert choose("", all_levels, "v4") == "v4"
    assert choose("", all_levels, "v3") == "v3"
    assert choose("", all_levels, "baseline") == "baseline"
    assert choose("", ["baseline", "v3"], "v4") == "v3"  # the best of what is built
    assert choose("", [*all_levels, "native"], "v3") == "native"  # a source build's choice
    assert choose("baseline", all_levels, "v4") == "baseline"
    assert choose("native", ["native"], "baseline") == "native"
    with pytest.raises(ImportError, match="is not an instruction-set variant"):
        choose("sse2", all_levels, "v4")
    with pytest.raises(
        ImportError, match=r"not built in this installation \(built: baseline, v3\)"
    ):
        choose("v4", ["baseline", "v3"], "v4")
    with pytest.raises(ImportError, match="this CPU cannot run that variant"):
        choose("v4", all_levels, "v3")
    with pytest.raises(ImportError, match="No variant .* that this CPU can run is installed"):
        choose("", ["v4"], "v3")


# -- the measured peaks the benchmarks quote shares of --------------------------------------
def test_arithmetic_peaks_are_measured_for_the_cpus_kinds():
    from eigennet import _core

    kinds = _core.arithmetic_peak_kinds()
    assert set(kinds) <= {"fp32_fma", "bf16_dot", "int8_dot", "amx_bf16", "amx_int8"}
    for kind in kinds:
        one = _core.arithmetic_peak(kind, 1, 0.02)
        assert 1 < one < 1e6, (kind, one)  # GFLOP/s (GOP/s) of one core: plausible
    if "amx_bf16" in kinds and "fp32_fma" in kinds:  # tiles do 16x an FMA port's work
        assert _core.arithmetic_peak("amx_bf16", 1, 0.02) > 4 * _core.arithmetic_peak(
            "fp32_fma", 1, 0.02
        )


@pytest.mark.parametrize(
    "args, message",
    [
        (("fp64_fma", 1), "does not run fp64_fma"),
        (("fp32_fma", 0), "threads must be"),
        (("fp32_fma", 1, 0.0), "seconds must be"),
        (("fp32_fma", 1, float("nan")), "seconds must be"),
    ],
)
def test_arithmetic_peak_errors(args, message):
    from eigennet import _core

    if "fp32_fma" not in _core.arithmetic_peak_kinds() and "fp32" in args[0]:
        pytest.skip("this CPU has no FMA")
    with pytest.raises(ValueError, match=message):
        _core.arithmetic_peak(*args)
