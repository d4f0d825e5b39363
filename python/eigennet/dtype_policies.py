"""Keras's dtype policies: the dtype a layer keeps its variables in and the one it computes in.

`"mixed_bfloat16"` keeps variables (and the optimizer's state) in float32 and runs the layer's
matrix products (Dense, convolutions, recurrent kernels, attention, `ops.matmul`/`einsum`)
with bfloat16 operands and float32 sums, on AMX tiles or AVX512_BF16 where the CPU has them
(see docs/mixed_precision.md). `"mixed_float16"` does the same with float16 operands: they are
rounded to float16 (its range and precision, overflow to inf included) and multiplied by the
float32 kernel, these CPUs having no float16 product instructions; `compile` then wraps the
optimizer in a `LossScaleOptimizer`, as Keras does. Element-wise work stays float32, which
Keras also allows ("hardware may do some of them in float32"), and outputs reach NumPy as
float32. The policies "bfloat16" and "float16" compute as their mixed ones and keep the
variables in that format (see eigennet.storage_formats): float32 values rounded to it after
every assignment and optimizer step, read back as Keras's 16-bit arrays; the optimizer's state
stays float32.
"""

from __future__ import annotations

import numpy as np

from eigennet import config

QUANTIZATION_MODES = ("int8",)
_SIXTEEN_BIT = {"bfloat16": "bfloat16", "float16": "float16", "half": "float16"}
_MIXED = {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def product_precision(compute_dtype: str) -> str:
    """The native product precision of a compute dtype: its own for 16-bit floats."""
    return compute_dtype if compute_dtype in ("bfloat16", "float16") else "float32"


def _parse_name(name) -> tuple[str, str]:
    """(compute dtype, variable dtype) of a policy name."""
    if not isinstance(name, str):
        raise TypeError(
            "'name' must be a string, such as 'mixed_bfloat16'. "
            f"Received: name={name} (of type {type(name)})"
        )
    if name in _MIXED:
        return _MIXED[name], "float32"
    if name in _SIXTEEN_BIT:
        return _SIXTEEN_BIT[name], _SIXTEEN_BIT[name]
    try:
        dtype = str(np.dtype(name))
    except TypeError:
        dtype = None
    if dtype not in ("float32", "float64"):
        raise ValueError(
            f"Cannot convert '{name}' to a mixed precision DTypePolicy. Valid policies include "
            "'mixed_bfloat16' and the name of a float dtype such as 'float32'."
        )
    return dtype, dtype


class DTypePolicy:
    """A layer's dtype policy: `name` is a float dtype ("float32", "float64", "bfloat16",
    "float16"), "mixed_bfloat16" or "mixed_float16"; None takes the global policy's name."""

    def __init__(self, name=None):
        if name is None:
            name = dtype_policy().name
        self._compute_dtype, self._variable_dtype = _parse_name(name)
        self._name = name
        self._quantization_mode = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self._variable_dtype

    @property
    def quantization_mode(self) -> str | None:
        return self._quantization_mode

    def get_config(self) -> dict:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'

    def __eq__(self, other) -> bool:
        if type(self) in (DTypePolicy, FloatDTypePolicy):
            if type(other) not in (DTypePolicy, FloatDTypePolicy):
                return False
        elif type(other) is not type(self):
            return False
        return self._name == other._name

    def __hash__(self) -> int:
        return hash(self._name)


class FloatDTypePolicy(DTypePolicy):
    """Keras's alias of DTypePolicy."""


class QuantizedDTypePolicy(DTypePolicy):
    """The policy of a quantized layer: "int8_from_float32" computes int8 products from the
    float32 policy `source_name`."""

    def __init__(self, mode, source_name=None):
        if source_name is None:
            source_name = dtype_policy().name
        if mode not in QUANTIZATION_MODES:
            raise ValueError(
                f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. "
                f"Received: mode={mode}"
            )
        self._compute_dtype, self._variable_dtype = _parse_name(source_name)
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    def get_config(self) -> dict:
        return {"mode": self._quantization_mode, "source_name": self._source_name}

    def __repr__(self) -> str:
        return f'<QuantizedDTypePolicy "{self._name}">'

    def __eq__(self, other) -> bool:
        return super().__eq__(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(self._name)


_global_policy: DTypePolicy | None = None


def set_dtype_policy(policy) -> None:
    """Sets the default policy of layers made from now on (a name or a DTypePolicy)."""
    global _global_policy
    if isinstance(policy, str):
        policy = get(policy)
    elif not isinstance(policy, DTypePolicy):
        raise ValueError(
            "Invalid `policy` argument. Expected the string name of a policy (such as "
            f"'mixed_bfloat16') or a `DTypePolicy` instance. Received: policy={policy} "
            f"(of type {type(policy)})"
        )
    _global_policy = policy


def dtype_policy() -> DTypePolicy:
    """The default policy of new layers: the one set, else floatx()'s."""
    return _global_policy if _global_policy is not None else DTypePolicy(config.floatx())


def reset() -> None:
    """Forgets the policy set (backend.clear_session): new layers follow floatx() again."""
    global _global_policy
    _global_policy = None


def global_policy_was_set() -> bool:
    """Whether a policy was set (layers without one then follow floatx() when built)."""
    return _global_policy is not None


def serialize(policy: DTypePolicy) -> dict:
    return {
        "module": "keras",
        "class_name": type(policy).__name__.replace("FloatDTypePolicy", "DTypePolicy"),
        "config": policy.get_config(),
        "registered_name": None,
    }


_CLASSES = {
    "DTypePolicy": DTypePolicy,
    "FloatDTypePolicy": FloatDTypePolicy,
    "QuantizedDTypePolicy": QuantizedDTypePolicy,
}


def deserialize(config: dict) -> DTypePolicy:
    cls = _CLASSES.get(config.get("class_name")) if isinstance(config, dict) else None
    if cls is None:
        raise ValueError(f"Unknown dtype policy: {config!r}")
    return cls.from_config(config.get("config") or {})


def get(identifier) -> DTypePolicy:
    """A policy from a name ("mixed_bfloat16", "int8_from_float32"), a config dict, a
    policy, or None (the global one)."""
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier.startswith(QUANTIZATION_MODES):
        mode, _, source = identifier.partition("_from_")
        return QuantizedDTypePolicy(mode, source or None)
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    try:
        name = str(np.dtype(identifier))  # a NumPy dtype or type
    except TypeError:
        raise ValueError(f"Cannot interpret {identifier!r} as a dtype policy") from None
    return DTypePolicy(name)
