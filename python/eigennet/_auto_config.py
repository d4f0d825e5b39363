"""The constructor arguments of a custom layer or model, kept for its default get_config().

Keras 3 saves a subclass that does not override get_config() with the arguments its
`__init__` was called with, when they are plain values; so do we. Other arguments (a layer
object, a function) need the user's own get_config().
"""

from __future__ import annotations

import inspect


def capture(cls, args: tuple, kwargs: dict) -> dict | None:
    """The arguments of `cls(*args, **kwargs)` by name, or None when they do not bind."""
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return None
    config = {}
    for name, value in list(bound.arguments.items())[1:]:  # skip self
        kind = inspect.signature(cls.__init__).parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            config.update(value)
        elif kind is not inspect.Parameter.VAR_POSITIONAL:
            config[name] = value
    return config


def _plain(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def merged(base: dict, auto: dict | None, owner: str) -> dict:
    """`base` with the captured arguments added; raises when they are not plain values."""
    if auto is None:
        raise NotImplementedError(
            f"{owner} cannot be saved: its constructor arguments are unknown; define "
            "get_config() returning them (and from_config if needed)"
        )
    bad = sorted(k for k, v in auto.items() if not _plain(v))
    if bad:
        raise NotImplementedError(
            f"{owner} cannot be saved automatically: its argument(s) {', '.join(bad)} are not "
            "plain values; define get_config() (and from_config) to save them"
        )
    return {**base, **{k: v for k, v in auto.items() if k not in base}}
