"""Keras's `quantize("int8")` of Dense and Embedding layers: mode checks, the abs-max weight
quantizer, the quantized dtype policy in configs, and the model-level walk over the layers.

A quantized layer swaps its native core for an int8 one (Int8Dense, Int8Embedding) whose
weights follow Keras's names and saving order; the int8 values are held as whole numbers in
the layer's float parameter block and read back as int8 (see Layer._weight_dtypes).
"""

from __future__ import annotations

import re
import warnings

import numpy as np

# Keras's modes (dtype_policies.QUANTIZATION_MODES); eigennet implements int8.
QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")
SUPPORTED_MODES = ("int8",)
_EPSILON = 1e-7  # Keras's backend.epsilon()


def resolve_mode(mode, config) -> str:
    """The mode to apply, with Keras's errors for a bad mode (validate_and_resolve_config)."""
    if config is not None:
        raise NotImplementedError(
            "quantize(config=...) is not supported by eigennet; use quantize('int8') "
            "(Keras's default abs-max quantizers)"
        )
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise ValueError(
            f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. "
            f"Received: mode={mode}"
        )
    if mode is None:
        raise ValueError("You must provide either `mode` or `config` to `quantize`.")
    return mode


def check_supported(mode: str) -> None:
    """A mode Keras has but eigennet does not: a clear error rather than nothing quantized."""
    if mode not in SUPPORTED_MODES:
        raise NotImplementedError(
            f"quantize(mode={mode!r}) is not supported by eigennet yet; supported: "
            f"{', '.join(SUPPORTED_MODES)}"
        )


def check_layer(layer, mode: str) -> None:
    """Keras's Layer._check_quantize_args."""
    if not layer.built:
        raise ValueError(
            "Cannot quantize a layer that isn't yet built. "
            f"Layer '{layer.name}' (of type '{type(layer).__name__}') is not built yet."
        )
    if layer.quantization_mode is not None:
        raise ValueError(
            f"Layer '{layer.name}' is already quantized with "
            f"dtype_policy='{policy_name(layer)}'. Received: mode={mode}"
        )
    if mode == "int8" and layer.compute_dtype == "float16":
        raise ValueError(
            f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'. "
            "Consider loading model/layer with another dtype policy such as "
            "'mixed_bfloat16' or 'mixed_float16' before calling `quantize()`."
        )


def not_implemented(layer) -> NotImplementedError:
    return NotImplementedError(
        f"Layer {type(layer).__name__} does not have a `quantize` method implemented."
    )


def abs_max_quantize(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Keras's abs_max_quantize(to_numpy=True) to (-127, 127): int8 values and the scale
    (127 / (max|x| + epsilon), kept dims) in the values' dtype."""
    values = np.asarray(values)
    amax = np.max(np.abs(values), axis=axis, keepdims=True)
    scale = np.divide(127, amax + values.dtype.type(_EPSILON)).astype(values.dtype)
    quantized = np.clip(np.round(values * scale), -127, 127).astype(np.int8)
    return quantized, scale


def _default_activation_quantizer() -> dict:
    return {
        "module": "keras.quantizers",
        "class_name": "AbsMaxQuantizer",
        "config": {"value_range": (-127, 127), "epsilon": _EPSILON, "output_dtype": "int8"},
        "registered_name": None,
    }


def config_entry(layer) -> dict | None:
    """The `quantization_config` of a layer's config: Keras's default int8 config once
    quantized (as Keras writes it after quantize("int8")), else None."""
    if layer.quantization_mode is None:
        return None
    return {
        "module": "keras.quantizers",
        "class_name": "Int8QuantizationConfig",
        "config": {
            "weight_quantizer": None,
            "activation_quantizer": _default_activation_quantizer(),
        },
        "registered_name": None,
    }


def check_config_argument(owner: str, value) -> None:
    """A layer's `quantization_config` argument: None or Keras's default int8 config (what
    Keras writes after quantize("int8")); anything else is not supported."""
    if value is None:
        return
    cfg = value.get("config") if isinstance(value, dict) else None
    if (
        isinstance(cfg, dict)
        and value.get("class_name") == "Int8QuantizationConfig"
        and cfg.get("weight_quantizer") is None
        and _is_default_activation_quantizer(cfg.get("activation_quantizer"))
    ):
        return
    raise ValueError(
        f"{owner}(quantization_config=...) is not supported by eigennet: only Keras's default "
        f"int8 configuration (quantize('int8')). Received: {value!r}"
    )


def _is_default_activation_quantizer(value) -> bool:
    if not isinstance(value, dict) or value.get("class_name") != "AbsMaxQuantizer":
        return False
    cfg = value.get("config") or {}
    return (
        tuple(cfg.get("value_range", (-127, 127))) == (-127, 127)
        and float(cfg.get("epsilon", _EPSILON)) == _EPSILON
        and cfg.get("output_dtype", "int8") == "int8"
        and cfg.get("axis") in (None, -1, [-1], (-1,))
    )


def policy_name(layer) -> str:
    return f"{layer.quantization_mode}_from_{layer._float_policy.name}"


def policy_config(layer) -> dict:
    """The dtype entry of a quantized layer's config, as Keras writes it."""
    return {
        "module": "keras.dtype_policies",
        "class_name": "QuantizedDTypePolicy",
        "config": {"mode": layer.quantization_mode, "source_name": layer._float_policy.name},
        "registered_name": None,
    }


def parse_policy(dtype) -> tuple[object, str | None]:
    """(float dtype, quantization mode) of a layer's dtype argument: "int8_from_float32" or
    Keras's QuantizedDTypePolicy dict give the source dtype and "int8"."""
    if isinstance(dtype, dict) and dtype.get("class_name") == "QuantizedDTypePolicy":
        cfg = dtype.get("config") or {}
        mode, source = cfg.get("mode"), cfg.get("source_name", "float32")
    elif isinstance(dtype, str) and "_from_" in dtype:
        mode, source = dtype.split("_from_", 1)
    else:
        return dtype, None
    if mode not in QUANTIZATION_MODES:
        raise ValueError(f"Unsupported dtype policy {dtype!r}: unknown quantization mode {mode!r}")
    check_supported(mode)
    return source, mode


def _should_quantize(layer, filters) -> bool:
    """Keras's should_quantize_layer: a regex on the name, a list of them, or a callable."""
    if filters is None:
        return True
    if isinstance(filters, str):
        return bool(re.search(filters, layer.name))
    if isinstance(filters, (list, tuple)):
        return any(re.search(pattern, layer.name) for pattern in filters)
    return bool(filters(layer))


def _leaf_layers(model) -> list:
    """Every leaf layer of the model once, in order (nested models walked)."""
    seen, out = set(), []

    def visit(layer) -> None:
        inner = getattr(layer, "layers", None)
        if inner is not None and hasattr(layer, "_build_network"):
            for sub in inner:
                visit(sub)
        elif layer.__dict__.get("_tracked_layers"):  # a custom layer: Keras walks into it
            for sub in layer.__dict__["_tracked_layers"]:
                visit(sub)
        elif id(layer) not in seen:
            seen.add(id(layer))
            out.append(layer)

    for layer in model.layers:
        visit(layer)
    return out


def _built_models(model) -> list:
    out = [model]
    for layer in model.layers:
        if hasattr(layer, "_build_network") and getattr(layer, "layers", None) is not None:
            out.extend(_built_models(layer))
    return [m for m in out if m.built]


# How many times a layer swapped its core (Layer._requantize): a model compares it with the
# count when it built its graph, and only then checks its own layers (see refresh).
_requantized = [0]


def note_requantized() -> None:
    _requantized[0] += 1


def record_cores(model) -> None:
    """Called when `model` builds its native graph: the leaf layers' cores it runs."""
    leaves = _leaf_layers(model)
    model.__dict__["_quantize_seen"] = (_requantized[0], [(x, _running(x)) for x in leaves])


def _running(layer) -> tuple:
    """What a layer runs: its native core, or (a layer written with ops) its mode."""
    return layer.__dict__.get("_core"), getattr(layer, "quantization_mode", None)


def refresh(model) -> None:
    """A layer of `model` quantized on its own (`layer.quantize`): rebuild the model's graph
    (and its optimizer, as model.quantize does) so that it runs the quantized layer."""
    seen = model.__dict__.get("_quantize_seen")
    if seen is None or seen[0] == _requantized[0]:
        return
    if any(_running(layer) != running for layer, running in seen[1]):
        _forget_optimizer_state(model)
        model._drop_trainers()
        model._build_network()  # records the cores again
    else:
        model.__dict__["_quantize_seen"] = (_requantized[0], seen[1])


def _forget_optimizer_state(model) -> None:
    """A built optimizer holds the old kernels' buffers: it is built again, for the new
    trainable weights, by the next fit (its slots and iteration count start anew)."""
    opt = getattr(model, "optimizer", None)
    if opt is not None and opt.built:
        opt._native = None
        opt._built_variables = None


def quantize_model(model, mode, config, filters, kwargs) -> None:
    """Keras's Model.quantize: every leaf layer that has quantize() and passes `filters`;
    the others warn, as Keras. The model then runs the quantized layers."""
    kwargs = dict(kwargs)
    type_check = kwargs.pop("type_check", True)
    if kwargs:
        name = type(model).__name__
        raise ValueError(f"Unrecognized keyword arguments passed to {name}: {kwargs}")
    if not (filters is None or isinstance(filters, (str, list, tuple)) or callable(filters)):
        raise ValueError(
            "The `filters` argument must be a regex string, a list of regex strings, or a "
            f"callable. Received: {type(filters)}"
        )
    mode = resolve_mode(mode, config)
    if not model.built:
        raise ValueError(
            "Cannot quantize a layer that isn't yet built. "
            f"Layer '{model.name}' (of type '{type(model).__name__}') is not built yet."
        )
    check_supported(mode)
    changed = False
    for layer in _leaf_layers(model):
        if not _should_quantize(layer, filters):
            continue
        if not hasattr(layer, "quantize"):
            warnings.warn(str(not_implemented(layer)), stacklevel=3)
            continue
        try:
            layer.quantize(mode, type_check=type_check)
            changed = True
        except NotImplementedError as e:
            warnings.warn(str(e), stacklevel=3)
    if changed:
        _forget_optimizer_state(model)
        for m in _built_models(model):
            m._drop_trainers()
            m._build_network()
