"""Every Python block of the README (and of docs/tools.md and docs/training_examples.md, moved
out of it) runs as it stands, in a subprocess, from a scratch folder."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
BLOCKS = [
    block
    for guide in (README, ROOT / "docs" / "tools.md", ROOT / "docs" / "training_examples.md")
    for block in PYTHON_BLOCK.findall(guide.read_text(encoding="utf-8"))
]


def test_readme_has_examples():
    assert len(BLOCKS) >= 7


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index, tmp_path):
    if "eigennet.distributed" in BLOCKS[index] and importlib.util.find_spec("mpi4py") is None:
        pytest.skip('needs the mpi extra: pip install "eigennet[mpi]"')
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKS[index]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"block {index}:\n{BLOCKS[index]}\n--- stderr\n{proc.stderr}"
