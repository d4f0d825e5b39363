"""eigennet: Keras-compatible deep learning on a fast native CPU core.

Use it as Keras: `import eigennet as keras`. This module lists the public API.
"""

# Before the native core loads OpenMP: its barrier spinning (see _openmp_env).
from eigennet import _openmp_env  # noqa: F401

# isort: split
# Then the native core: _dispatch imports the instruction-set variant this CPU runs best and
# registers it as eigennet._core, which the modules below import.
from eigennet import _dispatch  # noqa: F401

# isort: split
from eigennet import (
    activations,
    backend,
    callbacks,
    config,
    constraints,
    datasets,
    dtype_policies,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    regularizers,
    saving,
    tree,
    utils,
)
from eigennet.dtype_policies import DTypePolicy, FloatDTypePolicy
from eigennet.initializers import Initializer
from eigennet.layers import Input, InputSpec, Layer, Variable
from eigennet.layers.keras_tensor import KerasTensor
from eigennet.losses import Loss
from eigennet.metrics import Metric
from eigennet.models import Model, Sequential
from eigennet.optimizers import Optimizer
from eigennet.regularizers import Regularizer

__version__ = "0.1.0"


def version() -> str:
    """eigennet's version (keras.version())."""
    return __version__


def __getattr__(name):
    # eigennet.distributed needs mpi4py (the `mpi` extra): imported on first use only, and
    # kept out of __all__ so that `from eigennet import *` never needs it.
    if name == "distributed":
        import importlib

        return importlib.import_module("eigennet.distributed")
    raise AttributeError(f"module 'eigennet' has no attribute {name!r}")


__all__ = [
    "DTypePolicy",
    "FloatDTypePolicy",
    "Initializer",
    "Input",
    "InputSpec",
    "KerasTensor",
    "Layer",
    "Loss",
    "Metric",
    "Model",
    "Optimizer",
    "Regularizer",
    "Sequential",
    "Variable",
    "__version__",
    "activations",
    "backend",
    "callbacks",
    "config",
    "constraints",
    "datasets",
    "dtype_policies",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "mixed_precision",
    "models",
    "ops",
    "optimizers",
    "preprocessing",
    "random",
    "regularizers",
    "saving",
    "tree",
    "utils",
    "version",
]
