"""How many core variants a build compiles, read from CMake's configure step (not timed).

A source install (the README's commands) compiles only the variant this CPU runs best; a wheel
for distribution, built with the environment pyproject.toml gives cibuildwheel, compiles the
three that the import-time dispatch chooses from.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    shutil.which("cmake") is None or not sys.platform.startswith("linux"),
    reason="needs cmake (the build-requirements) on Linux",
)


def configured_variants(tmp_path, variants=None) -> list[str]:
    pybind11 = pytest.importorskip("pybind11")
    args = ["cmake", "-S", str(ROOT), "-B", str(tmp_path / "build"), "-DEIGENNET_BUILD_PYTHON=ON"]
    if shutil.which("ninja"):
        args += ["-G", "Ninja"]
    args.append(f"-Dpybind11_DIR={pybind11.get_cmake_dir()}")
    if variants is not None:
        args.append(f"-DEIGENNET_ISA_VARIANTS={variants}")
    env = {k: v for k, v in os.environ.items() if k != "EIGENNET_ISA_VARIANTS"}
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    if out.returncode != 0 and "Eigen3" in out.stderr:
        pytest.skip("Eigen (cmeel-eigen) is not installed in this environment")
    assert out.returncode == 0, out.stderr[-3000:]
    match = re.search(r"eigennet: ISA variants (\S+);", out.stdout)
    assert match, out.stdout[-3000:]
    return match.group(1).split(";")


def test_a_source_install_builds_the_one_variant_this_cpu_runs_best(tmp_path):
    from eigennet import _cpuprobe

    assert configured_variants(tmp_path) == [_cpuprobe.best_level()]


def test_a_wheel_for_distribution_builds_the_three_variants(tmp_path):
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel_env = config["tool"]["cibuildwheel"]["linux"]["environment"]
    variants = wheel_env["EIGENNET_ISA_VARIANTS"]
    assert configured_variants(tmp_path, variants) == ["baseline", "v3", "v4"]
    if not (tmp_path / "build" / "build.ninja").exists():
        return
    # The wheel's baseline core is built -O2 with the vectorizer, the others -O3, the bindings
    # for size (docs/building.md: the 5 MB wheel); all in unity batches.
    ninja = (tmp_path / "build" / "build.ninja").read_text(encoding="utf-8")

    def last_opt_level(target: str) -> str:
        block = ninja[ninja.index(f"build CMakeFiles/{target}.dir/Unity/unity_0_cxx.cxx.o") :]
        flags = re.search(r"FLAGS = (.*)", block).group(1)
        return re.findall(r"-O[0-3s]", flags)[-1] + (" vectorized" * ("-ftree-vectorize" in flags))

    assert last_opt_level("eigennet_core_baseline") == "-O2 vectorized"
    for variant in ("v3", "v4"):
        assert last_opt_level(f"eigennet_core_{variant}") == "-O3"
    for variant in ("baseline", "v3", "v4"):
        assert last_opt_level(f"_core_{variant}") == "-Os"


def test_the_build_requirements_file_covers_pyproject(tmp_path):
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lines = (ROOT / "build-requirements.txt").read_text(encoding="utf-8").splitlines()
    listed = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert set(config["build-system"]["requires"]) <= listed
