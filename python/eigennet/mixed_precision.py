"""`keras.mixed_precision`: the global dtype policy under its legacy names.

`set_global_policy("mixed_bfloat16")` (or `"mixed_float16"`) makes the layers created
afterwards keep float32 variables and run their matrix products in bfloat16 (float16); see
eigennet.dtype_policies.
"""

from eigennet.dtype_policies import DTypePolicy, dtype_policy, set_dtype_policy
from eigennet.optimizers import LossScaleOptimizer

Policy = DTypePolicy
set_global_policy = set_dtype_policy
global_policy = dtype_policy

__all__ = [
    "DTypePolicy",
    "LossScaleOptimizer",
    "Policy",
    "dtype_policy",
    "global_policy",
    "set_dtype_policy",
    "set_global_policy",
]
