"""The `keras.ops` calls of a functional model saved by Keras 3, replayed with eigennet's ops.

Keras records an op applied to symbolic tensors (`x + y`, `ops.relu(x)`, `x[:, 0]`,
`ops.concatenate([a, b], axis=-1)`) as a layer entry of the functional config: module
`keras.src.ops.<numpy|nn|core|math|linalg|image>`, the op's class (`Add`, `Relu`, `GetItem`,
`Concatenate`), a config holding its name and the arguments its class took (`axis`,
`keepdims`, `newshape`), and inbound nodes holding the call's arguments (tensors, constants,
slices: the functional config's replay turns them into Python values). The class's name is
the function's in CamelCase, so `Concatenate` replays as
`eigennet.ops.concatenate(*args, axis=-1)`: the ops eigennet records natively.
"""

from __future__ import annotations

import inspect
import re

_MODULES = ("numpy", "nn", "core", "math", "linalg", "image")


def is_keras_op(entry: dict) -> bool:
    module = entry.get("module") or ""
    return module.startswith("keras.src.ops.") and module.rsplit(".", 1)[-1] in _MODULES


def _function_name(class_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def _function(module: str, class_name: str):
    """eigennet's function for Keras's op class (image ops in ops.image, the rest in ops)."""
    from eigennet import ops

    name = _function_name(class_name)
    namespace = ops.image if module.endswith(".image") else ops
    function = getattr(namespace, name, None) if name in dir(namespace) else None
    if function is None:
        raise ValueError(
            f"The functional config calls Keras's op {class_name!r} ({module}.{name}), which "
            "eigennet.ops does not have"
        )
    return function


def keras_op(entry: dict):
    """A callable that records Keras's op `entry` with eigennet's ops when a functional
    config's replay calls it like a layer; ValueError for an op eigennet does not have or an
    argument its function does not take."""
    module, class_name = entry["module"], str(entry.get("class_name"))
    function = _function(module, class_name)
    config = {k: v for k, v in (entry.get("config") or {}).items() if k != "name"}
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        parameters = {}
    unknown = [k for k in config if parameters and k not in parameters]
    if unknown:
        raise ValueError(
            f"Keras's op {class_name!r} was saved with {', '.join(unknown)}, which "
            f"eigennet.ops.{_function_name(class_name)} does not take"
        )

    def replay(*args, **kwargs):
        args = list(args)
        if class_name == "GetItem" and len(args) == 2 and isinstance(args[1], list):
            args[1] = tuple(args[1])  # JSON kept `x[:, 0]`'s key tuple as a list
        return function(*args, **config, **kwargs)

    return replay
