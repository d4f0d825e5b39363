"""Ctrl-C reaches a long native fit/predict: KeyboardInterrupt, and the model stays usable."""

import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import os, signal, threading
    import numpy as np
    import eigennet as keras

    m = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(2,)),
                          keras.layers.Dense(1)])
    m.compile("adam", "mse")
    x = np.random.rand(64, 2).astype("float32")
    y = x.sum(1)
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    try:
        {call}
        print("NOT INTERRUPTED")
    except KeyboardInterrupt:
        print("INTERRUPTED")
    print("USABLE", m.predict(x[:2], verbose=0).shape)
    """
)


@pytest.mark.parametrize(
    "call",
    [
        "m.fit(x, y, epochs=10**7, batch_size=8, verbose=0)",
        "m.predict(np.zeros((4 * 10**7, 2), 'float32'), batch_size=1, verbose=0)",
    ],
    ids=["fit", "predict"],
)
def test_ctrl_c_interrupts_native_loop(call):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(call=call)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "INTERRUPTED" in out.stdout and "NOT INTERRUPTED" not in out.stdout
    assert "USABLE (2, 1)" in out.stdout
