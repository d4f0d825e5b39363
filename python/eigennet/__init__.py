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
    utils,
)
from eigennet.dtype_policies import DTypePolicy, FloatDTypePolicy
from eigennet.layers import Input, Variable
from eigennet.models import Model, Sequential

__version__ = "0.1.0"


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
    "Input",
    "Model",
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
    "utils",
]
