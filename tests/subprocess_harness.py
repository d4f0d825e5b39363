"""Runs test code in a fresh interpreter, so that a segfault, abort or hang fails one test
instead of killing the test run. Shared by every bad-input and hostile-input suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# What the bad-input suites' snippets start from: a one-Dense model maker and small arrays.
MODEL_PRELUDE = """
import numpy as np
import eigennet as keras

def mk(units=1, activation=None, loss="mse", features=4):
    m = keras.Sequential(
        [keras.Input(shape=(features,)), keras.layers.Dense(units, activation=activation)]
    )
    if loss:
        m.compile(optimizer="sgd", loss=loss)
    return m

x = np.ones((13, 4), "float32")
y = np.ones((13, 1), "float32")
"""

HARNESS = """
try:
{body}
except Exception as e:
    print("RAISED", *[c.__name__ for c in type(e).__mro__])
    print("MESSAGE", str(e).replace("\\n", " "))
else:
    print("NO EXCEPTION")
"""


def run_python(script: str, timeout: float = 60, cwd=None, env=None) -> tuple[str, str]:
    """Runs `script` with this interpreter; asserts it exits 0 within `timeout` seconds.
    Returns (stdout, a description of the run for assertion messages)."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env=env,
        )
    except subprocess.TimeoutExpired as e:
        raise AssertionError(
            f"no answer within {timeout} s (a hang)\n{e.stdout}\n{e.stderr}"
        ) from None
    detail = f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, detail
    return proc.stdout, detail


def assert_raises(
    code: str, exceptions, keywords=(), prelude: str = "", timeout: float = 60, cwd=None
) -> str:
    """Asserts that `code` (run after `prelude`) raises one of the exception class names in
    `exceptions` with a message holding every keyword (a tuple keyword: any of its
    alternatives), and that the interpreter survives. Returns the message."""
    body = textwrap.indent(textwrap.dedent(code).strip(), "    ")
    script = textwrap.dedent(prelude) + HARNESS.format(body=body)
    out, detail = run_python(script, timeout=timeout, cwd=cwd)
    assert "NO EXCEPTION" not in out, "no exception raised\n" + detail
    raised = next(line for line in out.splitlines() if line.startswith("RAISED")).split()[1:]
    assert set(raised) & set(exceptions), f"expected one of {exceptions}, got {raised[0]}\n{detail}"
    message = next(line for line in out.splitlines() if line.startswith("MESSAGE"))[8:].lower()
    for keyword in keywords:
        alternatives = (keyword,) if isinstance(keyword, str) else keyword
        assert any(a.lower() in message for a in alternatives), (
            f"message does not mention {alternatives}: {message!r}"
        )
    return message
