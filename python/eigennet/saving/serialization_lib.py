"""Objects to and from Keras 3's serialized form, a JSON-able dict:

    {"module": "keras.layers", "class_name": "Dense", "config": {...},
     "registered_name": None, "build_config": {...}, "compile_config": {...}}

The modules are Keras's public ones, so that a config eigennet writes reads as a Keras config
(`keras.models.model_from_json` rebuilds the same architecture). Loading resolves a class by
its name among eigennet's built-ins of the expected kind; it never imports a module named in a
file, so a config cannot run code.
"""

from __future__ import annotations

import types

import numpy as np

from eigennet import activations, initializers, losses, metrics, optimizers, regularizers
from eigennet.optimizers import schedules
from eigennet.saving import object_registration

# kind -> (Keras module written in configs, where eigennet keeps the classes)
_KINDS = {
    "models": "keras",
    "layers": "keras.layers",
    "initializers": "keras.initializers",
    "regularizers": "keras.regularizers",
    "optimizers": "keras.optimizers",
    "schedules": "keras.optimizers.schedules",
    "losses": "keras.losses",
    "metrics": "keras.metrics",
}


def _classes(kind: str) -> dict[str, type]:
    """Built-in classes of one kind by class name (read at call time, so classes added to
    `eigennet.layers` later are found without registering them here)."""
    from eigennet import layers
    from eigennet.layers.layer import Layer
    from eigennet.models import Model, Sequential
    from eigennet.models.functional import Functional

    models = {"Sequential": Sequential, "Functional": Functional, "Model": Functional}
    if kind == "models":
        return models
    if kind == "layers":  # a model can be a layer of another
        return {
            name: obj
            for name, obj in [*vars(layers).items(), *models.items()]
            if isinstance(obj, type)
            and issubclass(obj, (Layer, layers.InputLayer, Model))
            and obj not in (Layer, Model)
        }
    if kind == "initializers":
        return dict(initializers._BY_CLASS_NAME)
    if kind == "regularizers":
        return {cls.__name__: cls for cls in (regularizers.L1, regularizers.L2, regularizers.L1L2)}
    if kind == "optimizers":
        return dict(optimizers.CLASSES)
    if kind == "schedules":
        return dict(schedules._CLASSES)
    if kind == "losses":
        return dict(losses._CLASSES)
    if kind == "metrics":
        return {cls.__name__: cls for cls in set(metrics._BY_NAME.values())}
    raise ValueError(f"unknown kind {kind!r}")


def _kind_of_object(obj) -> str | None:
    from eigennet.layers import InputLayer, Layer
    from eigennet.models import Model

    for kind, base in (
        ("models", Model),
        ("layers", (Layer, InputLayer)),
        ("initializers", initializers.Initializer),
        ("regularizers", regularizers.Regularizer),
        ("optimizers", optimizers.Optimizer),
        ("schedules", schedules.LearningRateSchedule),
        ("losses", losses.Loss),
        ("metrics", metrics.Metric),
    ):
        if isinstance(obj, base):
            return kind
    return None


def _kind_of_module(module) -> str | None:
    """The kind a Keras or eigennet module name stands for (Keras also writes private paths
    such as keras.src.backend.torch.optimizers.torch_adam)."""
    if not isinstance(module, str):
        return None
    if module.split(".")[0] not in ("keras", "eigennet"):
        return None
    for key, kind in (
        ("schedules", "schedules"),
        ("optimizers", "optimizers"),
        ("initializers", "initializers"),
        ("regularizers", "regularizers"),
        ("losses", "losses"),
        ("metrics", "metrics"),
        ("layers", "layers"),
        ("models", "models"),
    ):
        if key in module.split("."):
            return kind
    return "models" if module in ("keras", "eigennet") else None


_FUNCTION_MODULES = {"losses": losses, "metrics": metrics, "activations": activations}


def serialize_keras_object(obj):
    """`obj` in Keras's serialized form (plain values, lists and dicts recursively)."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, types.FunctionType):
        return _serialize_function(obj)
    if isinstance(obj, type):  # e.g. metrics=[Precision]: saved as the instance it makes
        return serialize_keras_object(obj())
    kind = _kind_of_object(obj)
    if kind is None or not hasattr(obj, "get_config"):
        raise TypeError(
            f"Cannot serialize {obj!r}: only eigennet's built-in layers, models, "
            "initializers, regularizers, optimizers, schedules, losses and metrics can be saved"
        )
    # Keras registers its optimizers and Functional under their class name; other built-ins
    # get None. Functional is not public in Keras, so Keras names its module. A custom class
    # (a subclassed layer, model, loss or metric) is written under its module and registered
    # name, as Keras writes it.
    cls = type(obj)
    functional = cls.__name__ == "Functional"
    if not cls.__module__.startswith("eigennet."):
        out = {
            "module": cls.__module__,
            "class_name": cls.__name__,
            "config": serialize_keras_object(obj.get_config()),
            "registered_name": object_registration.get_registered_name(cls),
        }
    else:
        out = {
            "module": "keras.src.models.functional" if functional else _KINDS[kind],
            "class_name": cls.__name__,
            "config": serialize_keras_object(obj.get_config()),
            "registered_name": cls.__name__ if kind == "optimizers" or functional else None,
        }
    if hasattr(obj, "get_build_config"):
        build_config = obj.get_build_config()
        if build_config is not None:
            out["build_config"] = serialize_keras_object(build_config)
    if hasattr(obj, "get_compile_config"):
        out["compile_config"] = serialize_keras_object(obj.get_compile_config() or {})
    return out


class UnknownObjectError(ValueError):
    """A config names a custom class or function that is neither registered nor passed."""


def _serialize_function(fn) -> dict:
    """A function by name (never its code): a built-in loss or metric, or a custom function,
    which loading finds when it is registered or passed in custom_objects."""
    for module in (losses, metrics):
        if getattr(module, fn.__name__, None) is fn:
            return {
                "module": "builtins",
                "class_name": "function",
                "config": fn.__name__,
                "registered_name": "function",
            }
    return {
        "module": fn.__module__,
        "class_name": "function",
        "config": fn.__name__,
        "registered_name": object_registration.get_registered_name(fn),
    }


def deserialize_keras_object(config, kind: str | None = None, custom_objects=None):
    """The object a serialized dict describes. `kind` ("layers", "optimizers", "losses",
    "metrics", ...) is where to look the class up; without it the config's module decides.
    Strings and other plain values are returned as they are (a loss named "mse" stays a
    name). `custom_objects` maps class names to classes to use first."""
    if config is None or isinstance(config, (bool, int, float, str)):
        return config
    if isinstance(config, list):
        return [deserialize_keras_object(c, kind, custom_objects) for c in config]
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Expected a serialized object (a dict with 'class_name' and 'config'), got "
            f"{_short(config)}"
        )
    class_name, module = config["class_name"], config.get("module")
    inner = config.get("config", {})
    if class_name == "function":
        registered = config.get("registered_name")
        for name in (registered, inner):
            if isinstance(name, str) and name != "function":
                custom = object_registration.get_registered_object(name, custom_objects)
                if custom is not None:
                    return custom
        if module != "builtins":
            raise UnknownObjectError(
                f"Unknown function {inner!r}: register it with "
                "keras.saving.register_keras_serializable or pass custom_objects={name: fn}"
            )
        return _deserialize_function(inner, kind or _kind_of_module(module))
    registered = config.get("registered_name")
    custom = None
    if isinstance(registered, str):
        custom = object_registration.get_registered_object(registered, custom_objects)
    if custom is None:
        custom = object_registration.get_registered_object(class_name, custom_objects)
    if custom is not None:
        cls = custom
    else:
        if module is not None and _kind_of_module(module) is None:
            raise UnknownObjectError(
                f"Cannot load {class_name!r} from module {module!r}: eigennet loads only its "
                "own built-in classes (and Keras's of the same names); pass custom classes "
                "with custom_objects={name: class}"
            )
        kind = kind or _kind_of_module(module)
        if kind is None:
            raise ValueError(f"Cannot tell what kind of object {class_name!r} is (no module)")
        known = _classes(kind)
        cls = known.get(class_name)
        if cls is None:
            raise ValueError(
                f"Unknown {kind[:-1]} class {class_name!r}: eigennet has {', '.join(sorted(known))}"
            )
    if not isinstance(inner, dict):
        raise ValueError(f"The config of {class_name!r} must be a dict, got {_short(inner)}")
    from eigennet.models import Model

    try:  # (a custom class's from_config may deserialize what it holds: same objects)
        with object_registration.CustomObjectScope(custom_objects):
            if isinstance(cls, type) and issubclass(cls, Model):
                obj = cls.from_config(inner, custom_objects=custom_objects)
            else:
                obj = cls.from_config(inner)
    except TypeError as e:  # unexpected or missing constructor arguments
        raise ValueError(f"Invalid config for {class_name!r}: {e}") from None
    build_config = config.get("build_config")
    if build_config and hasattr(obj, "build_from_config") and not obj.built:
        obj.build_from_config(build_config)
    compile_config = config.get("compile_config")
    if compile_config and hasattr(obj, "compile_from_config"):
        obj.compile_from_config(compile_config)
    return obj


def _deserialize_function(name, kind):
    module = _FUNCTION_MODULES.get(kind)
    fn = getattr(module, name, None) if isinstance(name, str) and module else None
    if not isinstance(fn, types.FunctionType):
        raise ValueError(f"Unknown function {name!r} (expected one of eigennet.{kind})")
    return fn


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
