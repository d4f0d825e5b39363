"""The memory of attention grows linearly with the sequence length (issue 15): the fused
MultiHeadAttention keeps no (B, heads, T, S) tensor in its forward or backward, with or without
attention dropout.

Each length trains one batch in a fresh interpreter and reports its peak resident memory. The
control, the same layer returning its attention scores (which materializes the probabilities),
must grow quadratically under the same measure, so the measure can tell the two apart.
"""

import subprocess
import sys

import pytest

PROGRAM = """
import resource, sys
import numpy as np
import eigennet as keras
from eigennet import layers

length, dropout, scores = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "scores"
inputs = keras.Input((length, 32))
attention = layers.MultiHeadAttention(4, 16, dropout=dropout)
attended = attention(inputs, inputs, use_causal_mask=True, return_attention_scores=scores)
attended = attended[0] if scores else attended
model = keras.Model(inputs, layers.Dense(1)(attended))
model.compile("sgd", "mse")
x = np.random.default_rng(0).normal(size=(2, length, 32)).astype("float32")
model.train_on_batch(x, np.zeros((2, length, 1), "float32"))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_mb(length: int, dropout: float, scores: bool) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(length), str(dropout), "scores" if scores else "-"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return float(out.stdout.split()[-1])


def growth(lengths, dropout, scores=False):
    small, middle, large = (peak_mb(n, dropout, scores) for n in lengths)
    return middle - small, large - middle


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in kB is Linux's")
@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_fused_attention_memory_grows_linearly(dropout):
    first, second = growth((512, 1024, 2048), dropout)
    # linear: doubling the length again adds about as much again (quadratic: 4x as much)
    assert second < 2.6 * first + 8, (first, second)
    assert first + second < 64, (first, second)  # 2 x 4 heads x 2048^2 floats is 128 MB


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in kB is Linux's")
def test_the_measure_sees_quadratic_growth():
    first, second = growth((256, 512, 1024), dropout=0.1, scores=True)
    assert second > 3.0 * first, (first, second)
