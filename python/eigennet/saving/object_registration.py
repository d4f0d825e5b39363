"""Custom classes known to saving by name (Keras 3's `keras.saving` registration API).

`@register_keras_serializable(package="MyPackage")` registers a class as "MyPackage>Name";
loading a file finds it there, in `custom_objects=` or in a `custom_object_scope`. Loading never
imports a module named in a file: a custom class must be registered or passed.
"""

from __future__ import annotations

import threading

_GLOBAL_CUSTOM_OBJECTS: dict[str, object] = {}
_GLOBAL_CUSTOM_NAMES: dict[object, str] = {}
_scopes = threading.local()


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """A class decorator registering the class as "package>name" (name: the class name)."""
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"package must be a string without '>', got {package!r}")

    def decorator(obj):
        registered = f"{package}>{name or obj.__name__}"
        if not hasattr(obj, "get_config") and isinstance(obj, type):
            raise ValueError(f"Cannot register {obj.__name__}: it has no get_config()")
        _GLOBAL_CUSTOM_OBJECTS[registered] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = registered
        return obj

    return decorator


def get_registered_name(obj) -> str:
    """The name `obj` (a class or function) is registered under, else its own name."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", str(obj)))


def get_custom_objects() -> dict:
    """The global registry (name -> class); adding to it registers a class."""
    return _GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """`with custom_object_scope({"MyLayer": MyLayer}):` — loading inside finds these."""

    def __init__(self, *custom_objects):
        self.custom_objects = {}
        for mapping in custom_objects:
            self.custom_objects.update(mapping or {})

    def __enter__(self):
        stack = getattr(_scopes, "stack", None)
        if stack is None:
            stack = _scopes.stack = []
        stack.append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _scopes.stack.pop()


custom_object_scope = CustomObjectScope


def get_registered_object(name: str, custom_objects=None, module_objects=None):
    """The class or function registered or passed under `name`, else None."""
    for mapping in (custom_objects, *reversed(getattr(_scopes, "stack", None) or [])):
        if mapping and name in mapping:
            return mapping[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None
