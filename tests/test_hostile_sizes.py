"""Absurd sizes: window arguments whose products would overflow, layer configs that would
take minutes to build, thread counts the OpenMP runtime cannot create. Each is a clear
ValueError (or finishes quickly), never a wrong shape, a hang or an abort."""

import pytest

from subprocess_harness import assert_raises, run_python

PRELUDE = """
import numpy as np
import eigennet as keras
from eigennet import layers
"""


@pytest.mark.parametrize(
    "layer",
    [
        "layers.Conv1D(1, 2, dilation_rate=2**62, padding='same')",
        "layers.Conv1D(1, 2, dilation_rate=2**62)",
        "layers.Conv1D(1, 2**40, padding='same')",
        "layers.Conv1D(1, 2, strides=2**31)",
        "layers.Conv2D(1, (2, 2), dilation_rate=(1, 2**40))",
        "layers.MaxPooling1D(2**62)",
        "layers.AveragePooling2D((2, 2), strides=(2**33, 1))",
    ],
)
def test_window_sizes_that_would_overflow_are_refused(layer):
    assert_raises(
        f"keras.Sequential([keras.Input((8, 8, 1) if '2D' in {layer!r} else (8, 1)), {layer}])",
        ("ValueError",),
        (("at most", "positive integers"),),
        prelude=PRELUDE,
    )


def test_huge_kernel_config_builds_in_linear_time():
    """A ~300-byte config: kernel 2e6 over 50 000 steps with 'same' padding. Building used
    to loop kernel x length (1e11 steps); the tap tables now cost O(kernel + length)."""
    out, detail = run_python(
        PRELUDE
        + """
config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [None, 50000, 1]}},
    {"class_name": "Conv1D", "config": {"filters": 1, "kernel_size": [2000000],
                                        "padding": "same"}}]}}
import json
model = keras.models.model_from_json(json.dumps(config))
print("BUILT", model.output_shape)
""",
        timeout=60,
    )
    assert "BUILT (None, 50000, 1)" in out, detail


def test_core_refuses_thread_counts_it_cannot_create():
    assert_raises(
        "from eigennet import _core\n_core.set_num_threads(100000)",
        ("ValueError",),
        ("num_threads", "1024"),
        prelude=PRELUDE,
    )


def test_huge_omp_num_threads_is_lowered_at_import():
    import os

    out, detail = run_python(
        PRELUDE
        + """
x = np.ones((512, 512), "float32")  # a product large enough to run on threads
m = keras.Sequential([keras.Input((512,)), layers.Dense(512)])
print("OK", m.predict(x, batch_size=512, verbose=0).shape)
""",
        env=dict(os.environ, OMP_NUM_THREADS="100000"),
        timeout=60,
    )
    assert "OK (512, 512)" in out, detail
