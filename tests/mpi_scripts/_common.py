"""Shared by the scripts that tests/test_distributed.py runs under `mpiexec -n 2`."""

import json
import os
import sys

import numpy as np

import eigennet as keras
import eigennet.distributed as dist
from eigennet import layers

OUT = sys.argv[1] if len(sys.argv) > 1 else "."


def data(n=96, features=6, outputs=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(keras.config.floatx())
    y = (x[:, :outputs] * 0.5 + rng.normal(size=(n, outputs)) * 0.1).astype(x.dtype)
    return x, y


def mlp(optimizer, seed=3, features=6, outputs=3, dropout=0.0):
    keras.utils.set_random_seed(seed)
    stack = [keras.Input(shape=(features,)), layers.Dense(16, activation="tanh")]
    if dropout:
        stack.append(layers.Dropout(dropout))
    model = keras.Sequential([*stack, layers.Dense(outputs)])
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def save(name, **arrays):
    """Writes OUT/<name>.rank<r>.npz (arrays) or .json (other values)."""
    path = os.path.join(OUT, f"{name}.rank{dist.rank()}")
    if all(isinstance(v, np.ndarray) for v in arrays.values()):
        np.savez(path + ".npz", **arrays)
    else:
        with open(path + ".json", "w") as f:
            json.dump(arrays, f)


def weights_dict(model, prefix=""):
    return {f"{prefix}w{i}": w for i, w in enumerate(model.get_weights())}
