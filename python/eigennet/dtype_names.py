"""Keras's dtype names and promotion (`keras.backend.standardize_dtype`, `result_type`,
`is_float_dtype`, `is_int_dtype`; `keras.utils.standardize_dtype`).

result_type follows Keras 3's promotion lattice (JAX's): the least type every argument
promotes to, with Python `int` and `float` as weak types that take the other argument's width,
a weak float resolving to floatx(), and uint64 given as uint32, as Keras gives it.
"""

from __future__ import annotations

from eigennet.config import floatx

ALLOWED_DTYPES = (
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
    "string",
    "float8_e4m3fn",
    "float8_e5m2",
    "complex64",
    "complex128",
)
_PYTHON_TYPES = {bool: "bool", int: "int32", float: "float32", str: "string", "int": "int32"}


def standardize_dtype(dtype) -> str:
    """A dtype's Keras name: None is floatx(); Python, NumPy and ml_dtypes types and names
    are accepted. Raises ValueError for anything else."""
    if dtype is None:
        return floatx()
    if isinstance(dtype, (type, str)) and dtype in _PYTHON_TYPES:
        return _PYTHON_TYPES[dtype]
    name = getattr(dtype, "name", None)
    if not isinstance(name, str):
        name = getattr(dtype, "__name__", dtype)
    if name not in ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return name


def is_float_dtype(dtype) -> bool:
    name = standardize_dtype(dtype)
    return name.startswith("float") or name.startswith("bfloat")


def is_int_dtype(dtype) -> bool:
    name = standardize_dtype(dtype)
    return name.startswith("int") or name.startswith("uint")


# The lattice: each type and the types it promotes to directly. "int*" and "float*" are the
# weak Python types.
_PROMOTES_TO = {
    "bool": ("int*",),
    "int*": ("uint8", "int8"),
    "uint8": ("uint16", "int16"),
    "uint16": ("uint32", "int32"),
    "uint32": ("uint64", "int64"),
    "uint64": ("float*",),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("float*",),
    "float*": ("bfloat16", "float16"),
    "bfloat16": ("float32",),
    "float16": ("float32",),
    "float32": ("float64",),
    "float64": (),
}


def _upper_bounds(node: str) -> set[str]:
    bounds = {node}
    for above in _PROMOTES_TO[node]:
        bounds |= _upper_bounds(above)
    return bounds


def _lattice_node(dtype) -> str:
    if dtype is int:
        return "int*"
    if dtype is float:
        return "float*"
    name = standardize_dtype(dtype)
    if name not in _PROMOTES_TO:
        raise ValueError(f"result_type: no promotion for dtype {name}")
    return name


def result_type(*dtypes) -> str:
    """The dtype Keras gives an operation on values of `dtypes` (floatx() for none)."""
    if not dtypes:
        return floatx()
    common = set.intersection(*(_upper_bounds(_lattice_node(d)) for d in dtypes))
    # The least common bound: the one from which every other one is reachable.
    least = next(node for node in common if common <= _upper_bounds(node))
    if least == "float*":
        return floatx()
    if least == "int*":
        return "int32"
    return "uint32" if least == "uint64" else least
