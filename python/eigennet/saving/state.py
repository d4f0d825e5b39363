"""A model's state as named arrays, with Keras 3's key scheme (its `.weights.h5` paths):

    layers/dense/vars/0, layers/dense/vars/1      a layer's variables: trainable ones first,
                                                  then non-trainable (batch-norm statistics)
    layers/sequential/layers/dense/vars/0         layers of a nested model
    layers/lstm/cell/vars/0                       a recurrent layer's (in its cell)
    layers/bidirectional/forward_layer/cell/...   a wrapper's (also backward_layer, and
    layers/time_distributed/layer/vars/0          TimeDistributed's `layer`)
    layers/multi_head_attention/query_dense/...   MultiHeadAttention's projections
    layers/my_block/proj/vars/0                   a custom layer's sublayer, under the
    layers/my_block/norms/layer_normalization/... attribute holding it (or its list)
    layers/dropout/rng_state                      eigennet: a layer's random stream
    optimizer/vars/0                              the iteration count
    optimizer/vars/1                              the learning rate (unless a schedule)
    optimizer/vars/2...                           the slots, in Keras's order (that of the
                                                  model's trainable weights)
    optimizer/built_for                           eigennet: indices in model.weights of the
                                                  variables the optimizer was built for
    optimizer/slot_order                          eigennet: when Keras's order differs from
                                                  built_for's, the slots' order (positions
                                                  in built_for)
    training_metadata/epoch                       BackupAndRestore's epoch, kept in the same
                                                  file as the state; loaders ignore it

Layers are named by class (snake_case, numbered when repeated), not by their own names,
as Keras does: the keys do not depend on auto-generated names. Written as HDF5 (groups and
datasets), this is the `model.weights.h5` that Keras 3 loads; files of older eigennet
versions (recurrent, wrapper and custom layers' weights under their own path) still load.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from eigennet import optimizers, storage_formats
from eigennet.layers.layer import snake_case, write_values
from eigennet.saving.file_io import ArrayStore, LoadError
from eigennet.saving.own_variables import VariablesStore, hook_owner

TRAINING_METADATA = "training_metadata/"  # entries about a run, not state: not loaded

# Iteration counts beyond 2**53 are not exact as floats (Adam's bias correction, schedules);
# a negative one makes Adam's first step divide by zero.
MAX_ITERATIONS = 2**53
# The most slots per variable of any optimizer (Adam with amsgrad, centered RMSprop with
# momentum: 3), for bounding the size of a state file before knowing its optimizer.
MAX_SLOTS = 3


def layer_paths(model, prefix: str = "", store=None) -> list[tuple[str, object]]:
    """(path, leaf layer) for every layer, in model.weights order. With `store` (a file being
    loaded), a MultiHeadAttention saved by an older eigennet (all its weights under its own
    `vars`) is read in that form."""
    if getattr(model, "_subclassed", False):  # Keras walks its attributes, as a layer's
        path = prefix.rstrip("/")
        own = [(path, _OwnWeights(model))] if model._own_weights else []
        return own + _sublayer_paths(model, path, store)
    return _paths(model.layers, prefix, store)


# Keras's MultiHeadAttention keeps its projections in EinsumDense sublayers of these names.
# (use_gate's has no public property there, so its attribute name keeps the underscore.)
_MHA_SUBLAYERS = (("query", "query_dense"), ("key", "key_dense"), ("gate", "_gate_dense"),
                  ("value", "value_dense"), ("attention_output", "output_dense"))  # fmt: skip


class _WeightGroup:
    """Some of a layer's weights saved under a path of their own (no other state)."""

    def __init__(self, weights: list, quantization_mode=None):
        self.weights = weights
        self.quantization_mode = quantization_mode  # see _keras_ordered

    def _extra_state(self) -> dict:
        return {}

    def _set_extra_state(self, state: dict) -> None:
        """Holds no other state."""


def _mha_paths(layer, path: str, store) -> list | None:
    """A MultiHeadAttention's weights as Keras saves them (`query_dense/vars/0` ...), its
    random stream under its own path; None when it keeps them its own way (a file of an older
    eigennet)."""
    if (
        store is not None
        and f"{path}/vars/0" in store
        and f"{path}/query_dense/vars/0" not in store
    ):
        return None
    gated = getattr(layer, "_use_gate", False)
    own = _OwnWeights(layer)
    weights = own.weights
    own.weights = []
    out = [(path, own)]
    for prefix, sublayer in _MHA_SUBLAYERS:
        if prefix == "gate" and not gated:
            continue
        group = [w for w in weights if w.name.split("/")[0] == prefix]
        out.append((f"{path}/{sublayer}", _WeightGroup(group, layer.quantization_mode)))
    if sum(len(g.weights) for _, g in out[1:]) != len(weights):
        return None
    return out


class _ExtraStateOf:
    """A layer's random state, its weights being saved under sublayer paths."""

    def __init__(self, layer):
        self.weights = []
        self._layer = layer

    def _extra_state(self) -> dict:
        return self._layer._extra_state()

    def _set_extra_state(self, state: dict) -> None:
        self._layer._set_extra_state(state)


def _cell_path(layer) -> str:
    """Keras keeps a SimpleRNN's, LSTM's, GRU's or ConvLSTM's weights in its cell."""
    return "/cell" if getattr(layer, "_keras_cell_weights", False) else ""


def _inner_layer_paths(layer, path: str, store) -> list | None:
    """The weights of a recurrent layer or a wrapper at Keras's paths (`lstm/cell/vars/0`,
    `bidirectional/forward_layer/cell/vars/0`, `time_distributed/layer/vars/0`), the layer's
    random state under its own path; None for other layers, and for a file of an older
    eigennet, which saved them all under the layer's own `vars`."""
    from eigennet.layers import Bidirectional, TimeDistributed

    weights = layer.weights
    if isinstance(layer, Bidirectional):
        groups = [
            (f"{side}_layer{_cell_path(sub)}", [w for w in weights if w.name.startswith(side)])
            for side, sub in (("forward", layer.forward_layer), ("backward", layer.backward_layer))
        ]
        if sum(len(g) for _, g in groups) != len(weights):
            return None
    elif isinstance(layer, TimeDistributed):
        groups = [(f"layer{_cell_path(layer.layer)}", weights)]
    elif _cell_path(layer):
        groups = [("cell", weights)]
    else:
        return None
    if store is not None and f"{path}/vars/0" in store:
        return None
    parts = [(f"{path}/{sub}", _WeightGroup(group)) for sub, group in groups]
    return [(path, _ExtraStateOf(layer)), *parts]


def _paths(layers: list, prefix: str, store=None) -> list[tuple[str, object]]:
    from eigennet.layers import InputLayer

    out, used = [], {}
    for layer in layers:
        if isinstance(layer, InputLayer):  # no variables (Keras writes an empty group)
            continue
        out.extend(_layer_entries(layer, f"{prefix}layers/{_unique_name(layer, used)}", store))
    return out


def _unique_name(layer, used: dict) -> str:
    """Keras's name for a layer in a list: its class in snake_case, `_1`, `_2`... when repeated."""
    base = snake_case(type(layer).__name__)
    count = used.get(base)
    used[base] = 0 if count is None else count + 1
    return base if count is None else f"{base}_{count + 1}"


def entry_key(path: str, name: str) -> str:
    """The key of a layer's entry `name` (e.g. "vars/0"); a model's own ones at the root."""
    return f"{path}/{name}" if path else name


def _layer_entries(layer, path: str, store) -> list[tuple[str, object]]:
    from eigennet.layers import MultiHeadAttention
    from eigennet.models import Model

    if isinstance(layer, Model):
        return layer_paths(layer, path + "/", store)
    if isinstance(layer, MultiHeadAttention) and _mha_paths(layer, path, store):
        return _mha_paths(layer, path, store)
    if (inner := _inner_layer_paths(layer, path, store)) is not None:
        return inner
    if getattr(layer, "_traced", False):  # a custom layer: its weights, its sublayers'
        return [(path, _OwnWeights(layer)), *_sublayer_paths(layer, path, store)]
    return [(path, layer)]


def _sublayer_paths(layer, path: str, store) -> list[tuple[str, object]]:
    """A custom layer's or subclassed model's sublayers where Keras saves them: under the
    attribute holding them (`block/proj/vars/0`; attributes in sorted order, a sublayer under
    the first one; a model's `layers` list is one of them), and for lists, tuples and dicts
    of layers under the attribute and the layer's class name, numbered as Keras numbers
    them (`block/norms/layer_normalization_1/vars/0`). A file of an older eigennet kept them
    under `layers/<class name>`, as for a Sequential model: read in that form."""
    tracked = layer.__dict__.get("_tracked_layers", [])
    attributes = {k: v for k, v in vars(layer).items() if not k.startswith("_")}
    if getattr(layer, "_subclassed", False):
        attributes["layers"] = layer.layers
    prefix = f"{path}/" if path else ""
    out, seen = [], set()

    def visit(value, where: str) -> None:
        if any(value is t for t in tracked):
            if id(value) not in seen:
                seen.add(id(value))
                out.extend(_layer_entries(value, where, store))
        elif isinstance(value, (list, tuple, dict)):
            used = {}  # Keras numbers every layer of the list, also those saved before
            for item in value.values() if isinstance(value, dict) else value:
                if isinstance(item, (list, tuple, dict)):
                    visit(item, f"{where}/{_unique_container(used)}")
                elif any(item is t for t in tracked):
                    visit(item, f"{where}/{_unique_name(item, used)}")

    for name in sorted(attributes):
        visit(attributes[name], prefix + name)
    # Layers tracked but no longer held by an attribute keep their weights too.
    rest = [t for t in tracked if id(t) not in seen]
    out += _paths(rest, prefix, store) if rest else []
    if store is not None and not _all_in(out, store):
        legacy = _paths(tracked, prefix, store)
        if _all_in(legacy, store):
            return legacy
    return out


def _all_in(entries: list, store) -> bool:
    return all(
        entry_key(path, f"vars/{i}") in store
        for path, part in entries
        for i in range(len(part.weights))
    )


def _unique_container(used: dict) -> str:
    count = used.get("container")
    used["container"] = 0 if count is None else count + 1
    return "container" if count is None else f"container_{count + 1}"


class _OwnWeights:
    """What a custom layer holds itself (its sublayers are saved apart): the weights it made
    with add_weight, and the random streams of the keras.random ops in its traced call()."""

    def __init__(self, layer):
        self.layer = layer
        self.weights = [o.variable for o in layer._own_weights]
        self.quantization_mode = getattr(layer, "quantization_mode", None)  # _keras_ordered
        self._random_ops = _random_ops(layer)

    def _extra_state(self) -> dict:
        return {
            f"rng_state_{k}": np.array(core.rng_state, dtype=np.uint64)
            for k, core in enumerate(self._random_ops)
        }

    def _set_extra_state(self, state: dict) -> None:
        for k, core in enumerate(self._random_ops):
            if f"rng_state_{k}" in state:
                seed, draws = (int(v) for v in state[f"rng_state_{k}"])
                core.rng_state = (seed, draws)


def _random_ops(layer) -> list:
    """The native random ops of a custom layer's traces, in a fixed order (its calls, then the
    trace a Sequential model runs; each trace's nodes in order)."""
    traces = [n.trace for n in layer._inbound_nodes if getattr(n, "trace", None) is not None]
    standalone = getattr(layer, "_standalone_trace", None)  # (a model has none)
    if standalone is not None and all(t is not standalone for t in traces):
        traces.append(standalone)
    from eigennet.ops.symbolic import Operation

    return [
        node.layer._core
        for trace in traces
        for node in trace.nodes
        if isinstance(node.layer, Operation)
        and getattr(node.layer._core, "rng_state", None) is not None  # None: draws nothing
    ]


def _keras_ordered(layer) -> list:
    """Keras saves a layer's trainable variables, then its non-trainable ones; a quantized
    layer in its variable_serialization_spec order (kernel, bias, kernel_scale), which is
    its weights' order here (a layer written with ops: the order it made them)."""
    weights = layer.weights
    if getattr(layer, "quantization_mode", None) is not None:
        return weights
    return [w for w in weights if w._trainable] + [w for w in weights if not w._trainable]


def _key(var) -> tuple:
    return id(var._layer), var._slice.start, var._slice.stop


def state_byte_bound(model) -> int:
    """The most bytes a state file (npz or h5) for `model` can legitimately hold: every
    variable and random state in 8-byte numbers, once plus once per optimizer slot, and
    64 KiB of headers per entry (HDF5's object headers and B-trees) plus 1 MiB. Reading a
    weights member stops there, so a zip bomb costs at most this much memory."""
    sizes = [int(np.prod(var.shape)) for _, layer in layer_paths(model) for var in layer.weights]
    sizes += [value.size for value in _hooked_arrays(model)]
    sizes += [
        int(np.prod(np.shape(value)))
        for _, layer in layer_paths(model)
        for value in layer._extra_state().values()
    ]
    entries = (len(sizes) + 1) * (1 + MAX_SLOTS) + 8
    return 8 * sum(sizes) * (1 + MAX_SLOTS) + (64 << 10) * entries + (1 << 20)


def _hooked_arrays(model) -> list[np.ndarray]:
    """What the layers that override save_own_variables write for the model as it is (a
    model being loaded has the file's architecture, so about the file's sizes)."""
    out = []
    for _, layer in layer_paths(model):
        if (owner := hook_owner(layer)) is not None:
            store = VariablesStore(owner.name)
            try:
                owner.save_own_variables(store)
            except Exception:  # e.g. state that only loading sets: the slack covers it
                continue
            out.extend(store.values())
    return out


def non_finite_entries(model) -> list[str]:
    """The state entries (weights, optimizer slots) holding NaN or inf, read one variable
    at a time rather than as a copy of the whole state."""
    bad = [
        entry_key(path, f"vars/{i}")
        for path, layer in layer_paths(model)
        for i, var in enumerate(_keras_ordered(layer))
        if not np.isfinite(var.numpy()).all()
    ]
    opt = getattr(model, "optimizer", None)
    if opt is not None and opt.built and opt._native is not None:
        bad += [
            f"optimizer slot {name!r}"
            for i, name in enumerate(opt._native.slot_names())
            if not np.isfinite(np.asarray(opt._native.slot(i))).all()
        ]
    return bad


# -- saving ---------------------------------------------------------------------------------
def model_state(model, include_optimizer: bool = True) -> dict[str, np.ndarray]:
    state = {}
    for path, layer in layer_paths(model):
        if (owner := hook_owner(layer)) is not None:
            store = VariablesStore(owner.name)
            owner.save_own_variables(store)
            state.update((entry_key(path, f"vars/{key}"), value) for key, value in store.items())
        else:
            for i, var in enumerate(_keras_ordered(layer)):
                value = var.numpy()
                if var.dtype == "bfloat16":  # (without ml_dtypes, float32 of the same values)
                    value = storage_formats.bfloat16_bits(value)
                state[entry_key(path, f"vars/{i}")] = value
        for name, value in layer._extra_state().items():
            state[entry_key(path, name)] = np.asarray(value)
    opt = getattr(model, "optimizer", None)
    if include_optimizer and opt is not None and opt.built:
        state.update(_optimizer_state(model, opt))
    return state


def _optimizer_state(model, opt) -> dict[str, np.ndarray]:
    index = {_key(w): i for i, w in enumerate(model.weights)}
    built = opt._built_variables or []
    if not all(hasattr(v, "_layer") and _key(v) in index for v in built):
        warnings.warn(
            f"Optimizer {opt.name!r} was built for variables that are not weights of model "
            f"{model.name!r}: its state is not saved (training will restart its slots)",
            stacklevel=4,
        )
        return {}
    values = []
    if isinstance(opt, optimizers.LossScaleOptimizer):
        # Keras's order: its own iterations and learning rate (both unused, 0), the scale's
        # step counter and the scale, then the inner optimizer's variables.
        values += [np.array(0, dtype=np.int64), np.array(0.0), np.array(opt.step_counter)]
        values.append(np.array(opt.dynamic_scale))
    values.append(np.array(opt.iterations, dtype=np.int64))
    if opt._schedule is None:
        values.append(np.array(opt.learning_rate, dtype=np.float64))
    native, offsets = opt._native, opt._native.slot_offsets
    order = _keras_slot_order(model, built)
    for group in opt._slot_groups():
        for k in order:
            var = built[k]
            size = int(np.prod(var.shape))
            for i in group:
                flat = native.slot(i)[offsets[k] : offsets[k] + size]
                values.append(np.array(flat).reshape(var.shape))
    # State besides the slots (Nadam's momentum product): last, as Keras makes it last.
    values += [np.array(x, dtype=model._native_dtype) for x in native.scalar_state]
    state = {f"optimizer/vars/{i}": v for i, v in enumerate(values)}
    if isinstance(opt, optimizers.LossScaleOptimizer):  # Keras also saves the inner one alone
        state.update({f"optimizer/inner_optimizer/vars/{i}": v for i, v in enumerate(values[4:])})
    state["optimizer/built_for"] = np.array([index[_key(v)] for v in built], dtype=np.int64)
    if order != list(range(len(built))):
        state["optimizer/slot_order"] = np.array(order, dtype=np.int64)
    return state


def _keras_slot_order(model, built: list) -> list[int]:
    """The positions in `built` (the variables the optimizer was built for) in Keras's order,
    the model's trainable weights' (a custom layer's own weights before its sublayers'),
    in which Keras keeps an optimizer's slots; eigennet's own order when they are not
    exactly the model's trainable weights."""
    position = {_key(v): k for k, v in enumerate(built) if hasattr(v, "_layer")}
    order = [position[_key(w)] for w in model.trainable_weights if _key(w) in position]
    return order if len(order) == len(built) else list(range(len(built)))


# -- loading --------------------------------------------------------------------------------
def quantize_as_saved(model, store: ArrayStore) -> None:
    """Keras saves a model whose MultiHeadAttention it quantized with the layer's float
    dtype policy in the config (and then cannot load it itself); the file's projections hold
    kernel scales. A model just made from such a config quantizes those layers, so that the
    file's weights load into them."""
    from eigennet.layers import MultiHeadAttention

    for path, part in layer_paths(model, store=store):
        layer = getattr(part, "layer", None)
        if (
            isinstance(layer, MultiHeadAttention)
            and layer.built
            and layer.quantization_mode is None
            and f"{path}/query_dense/vars/{1 + layer.use_bias}" in store
        ):
            layer.quantize("int8")


def load_model_state(model, store: ArrayStore, strict: bool = True) -> None:
    """Sets the model's weights, random state and (if compiled) optimizer state from
    `store`. Everything is read and checked first: a mismatch raises LoadError and leaves
    the model unchanged. `strict` rejects entries the model has no place for.

    Values holding NaN or inf load, with a UserWarning naming them (as Keras, which loads
    them): refusing would make the file of a diverged run unloadable, even for inspection."""
    paths = layer_paths(model, store=store)
    dtype = model._native_dtype
    variables, values, extra, non_finite, hooked = [], [], [], [], []
    expected = set()
    for path, layer in paths:
        if (owner := hook_owner(layer)) is not None:  # the layer reads its own entries
            group = entry_key(path, "vars/")
            keys = [k for k in store.keys() if k.startswith(group) and "/" not in k[len(group) :]]
            expected.update(keys)
            own = {k[len(group) :]: store.get(k) for k in keys}
            hooked.append((owner, VariablesStore(owner.name, own)))
            continue
        for i, var in enumerate(_keras_ordered(layer)):
            key = entry_key(path, f"vars/{i}")
            expected.add(key)
            value = _as_float(store.get(key, var.shape), dtype)
            if var.dtype == "int8" and not (
                np.all(value == np.rint(value)) and np.all((value >= -128) & (value <= 127))
            ):  # (an h5 int8 dataset cannot hold such values; an npz or a crafted file can)
                raise LoadError(
                    f"{store.source}: {key} holds the int8 weight {var.path} but values that "
                    "are not whole numbers in [-128, 127]"
                )
            if not np.isfinite(value).all():
                non_finite.append(key)
            variables.append(var)
            values.append(value)
        for name, current in layer._extra_state().items():
            key = entry_key(path, name)
            expected.add(key)
            if key in store:  # absent in Keras files: the layer keeps its fresh stream
                value = store.get(key, np.shape(current), integer=True)
                extra.append((layer, name, _as_uint64(value, key, store.source)))
    if strict:  # the layers' entries first: a file of another architecture says so
        _refuse_unexpected(store, expected, lambda k: k.startswith("optimizer/"))
    optimizer_plan = _plan_optimizer(model, store, non_finite)
    if optimizer_plan is not None:
        expected.update(optimizer_plan[0])
    elif strict:
        expected.update(k for k in store.keys() if k.startswith("optimizer/"))
    if strict:
        _refuse_unexpected(store, expected, lambda k: False)
    if non_finite:
        warnings.warn(
            f"{store.source}: {', '.join(non_finite[:5])}{', ...' if len(non_finite) > 5 else ''}"
            " hold NaN or inf; loaded as they are (the model will compute NaN until they are "
            "replaced)",
            UserWarning,
            stacklevel=4,
        )
    # Every check passed and every value has its variable's shape and the model's dtype:
    # write. Not assign_all, which refuses NaN (as set_weights does). A layer's own loading
    # hook may still refuse its entries: then every weight gets its old value back.
    before = [(var, var._view().copy()) for var in model.weights] if hooked else []
    for var, value in zip(variables, values):
        write_values(var, value)
    try:
        for owner, own in hooked:
            owner.load_own_variables(own)
    except BaseException:
        for var, value in before:
            write_values(var, value)
        raise
    by_layer: dict = {}
    for layer, name, value in extra:
        by_layer.setdefault(id(layer), (layer, {}))[1][name] = value
    for layer, state in by_layer.values():
        layer._set_extra_state(state)
    if optimizer_plan is not None:
        optimizer_plan[1]()


def _refuse_unexpected(store: ArrayStore, expected: set, skip) -> None:
    unexpected = sorted(
        k
        for k in store.keys()
        if k not in expected and not k.startswith(TRAINING_METADATA) and not skip(k)
    )
    if unexpected:
        raise LoadError(
            f"{store.source}: holds entries the model has no place for "
            f"({', '.join(unexpected[:5])}{', ...' if len(unexpected) > 5 else ''}): "
            "the file does not match the model's architecture"
        )


def _as_float(value: np.ndarray, dtype) -> np.ndarray:
    """`value` in the model's dtype (a float64 Keras file may overflow to inf in float32,
    which the finiteness check then reports)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(value, dtype=dtype)


def _as_uint64(value: np.ndarray, key: str, source: str) -> np.ndarray:
    """A random state (integers already checked) as uint64, refusing values outside
    [0, 2**64): the native setter would raise only after the weights were written."""
    if value.dtype.kind == "i" and (value < 0).any():
        raise LoadError(f"{source}: {key} holds negative values; a random state is unsigned")
    if value.dtype.itemsize > 8:  # e.g. a 128-bit integer type
        raise LoadError(f"{source}: {key} has dtype {value.dtype}, wider than 64 bits")
    return value.astype(np.uint64)


def _iteration_count(
    value: np.ndarray, source: str, key: str = "optimizer/vars/0", limit: int = MAX_ITERATIONS
) -> int:
    """An iteration count (optimizer/vars/0) as an int in [0, limit] (Keras stores an int64;
    a float file must hold an integral value)."""
    number = value.item()
    if isinstance(number, float) and not (math.isfinite(number) and number.is_integer()):
        raise LoadError(f"{source}: {key} (iterations) is {number}, not an integer")
    number = int(number)
    if not 0 <= number <= limit:
        raise LoadError(
            f"{source}: {key} (iterations) is {number}, outside 0..{limit} "
            "(a corrupt or crafted file)"
        )
    return number


def _loss_scale_state(opt, store: ArrayStore) -> tuple[list[str], tuple[int, float] | None]:
    """A LossScaleOptimizer's own entries ahead of its inner optimizer's (Keras's order:
    iterations and learning rate, unused, then the step counter and the scale), checked."""
    if not isinstance(opt, optimizers.LossScaleOptimizer):
        return [], None
    keys = [f"optimizer/vars/{i}" for i in range(4)]
    if any(k not in store for k in keys):
        raise LoadError(
            f"{store.source}: has no loss scale state (optimizer/vars/0..3) for "
            f"{type(opt).__name__}: the optimizer differs from the saved one"
        )
    counter = _iteration_count(
        store.get(keys[2], ()), store.source, keys[2], opt.dynamic_growth_steps - 1
    )
    scale = float(store.get(keys[3], ()))
    if not 0 < scale <= float(np.finfo(np.float32).max):
        raise LoadError(f"{store.source}: {keys[3]} (the loss scale) is {scale}")
    return keys, (counter, scale)


def _plan_optimizer(model, store: ArrayStore, non_finite: list[str]):
    """(keys used, apply function) restoring the optimizer, or None when there is nothing
    to restore (no optimizer state in the file, or the model is not compiled). Every value
    is checked and converted here, so that apply() cannot fail after the weights were
    written; slots holding NaN or inf are appended to `non_finite`."""
    opt = getattr(model, "optimizer", None)
    if "optimizer/vars/0" not in store or opt is None:
        return None
    weights = model.weights
    if "optimizer/built_for" in store:
        raw = store.get("optimizer/built_for", integer=True)
        indices = raw.tolist() if raw.ndim == 1 else [-1]
        if len(set(indices)) != len(indices) or not all(0 <= i < len(weights) for i in indices):
            raise LoadError(
                f"{store.source}: optimizer/built_for does not list distinct indices of the "
                f"model's {len(weights)} weights"
            )
        built = [weights[i] for i in indices]
    else:  # a Keras file: Keras builds its optimizer for the trainable weights
        built = model._trained_variables()
    if opt.built:
        current = [_key(v) if hasattr(v, "_layer") else None for v in opt._built_variables or []]
        if current != [_key(v) for v in built]:
            raise LoadError(
                f"{store.source}: the optimizer state was saved for a different set of "
                f"variables ({len(built)}) than model {model.name!r}'s optimizer is built for "
                f"({len(current)}); compile the model again (a fresh optimizer) before loading"
            )
    native = opt._core_for(model._native_dtype)
    n_slots = len(native.slot_names())
    scale_keys, scale_state = _loss_scale_state(opt, store)
    keys = [f"optimizer/vars/{len(scale_keys)}"]
    if opt._schedule is None:
        keys.append(f"optimizer/vars/{len(scale_keys) + 1}")
    lead = len(scale_keys) + len(keys)
    present = sum(1 for k in store.keys() if k.startswith("optimizer/vars/"))
    if "optimizer/built_for" not in store and present == lead and not opt.built:
        built = []  # Keras saved its optimizer before building it (no fit yet): no slots
    slot_keys = [f"optimizer/vars/{lead + i}" for i in range(n_slots * len(built))]
    after = lead + len(slot_keys)
    scalar_keys = [f"optimizer/vars/{after + j}" for j in range(len(native.scalar_state))]
    scalar_keys = scalar_keys if built else []  # (made when the optimizer is built)
    if present != after + len(scalar_keys):
        raise LoadError(
            f"{store.source}: holds {present} optimizer variables but {type(opt).__name__} "
            f"{'with a schedule ' if opt._schedule is not None else ''}built for "
            f"{len(built)} weights has {after + len(scalar_keys)}: the optimizer or the "
            "architecture differs from the saved one"
        )
    scalars = [float(store.get(key, ())) for key in scalar_keys]
    if not all(math.isfinite(x) for x in scalars):
        raise LoadError(f"{store.source}: {', '.join(scalar_keys)} must be finite, got {scalars}")
    iterations = _iteration_count(store.get(keys[0], ()), store.source, keys[0])
    learning_rate = None
    if opt._schedule is None:
        learning_rate = float(store.get(keys[1], ()))
        # Finite in the model's dtype too: 1e300 would become inf in a float32 core.
        if not (0 <= learning_rate <= float(np.finfo(model._native_dtype).max)):
            raise LoadError(f"{store.source}: {keys[1]} (learning rate) is {learning_rate}")
    # Keras order: group by group, variable by variable, slot by slot within a group.
    order = _slot_order(model, store, built)
    slots = {}
    position = iter(slot_keys)
    for group in opt._slot_groups():
        for k in order:
            var = built[k]
            for i in group:
                key = next(position)
                value = _as_float(store.get(key, var.shape), model._native_dtype)
                if not np.isfinite(value).all():
                    non_finite.append(key)
                slots[(i, k)] = value

    def apply():
        if not opt.built and built:
            opt.build(built)
        offsets = native.slot_offsets
        for (i, k), value in slots.items():
            size = value.size
            native.slot(i)[offsets[k] : offsets[k] + size] = value.ravel()
        native.iterations = iterations
        if scalars:
            native.scalar_state = scalars
        if learning_rate is not None:
            opt.learning_rate = learning_rate
        if scale_state is not None:
            native.loss_scale_counter, native.loss_scale = scale_state

    used = [*scale_keys, *keys, *slot_keys, *scalar_keys]
    if scale_keys:  # the inner optimizer's copy (see _optimizer_state)
        used += [f"optimizer/inner_optimizer/vars/{i}" for i in range(len(used) - 4)]
    return [*used, "optimizer/built_for", "optimizer/slot_order"], apply


def _slot_order(model, store: ArrayStore, built: list) -> list[int]:
    """The order of the variables' slots in `store`, as positions in `built`: Keras's (the
    model's trainable weights') in a Keras file, `optimizer/slot_order` in an eigennet file
    that differs from its build order."""
    if "optimizer/built_for" not in store:
        return _keras_slot_order(model, built)
    if "optimizer/slot_order" not in store:
        return list(range(len(built)))
    order = store.get("optimizer/slot_order", (len(built),), integer=True).tolist()
    if sorted(order) != list(range(len(built))):
        raise LoadError(
            f"{store.source}: optimizer/slot_order is not an ordering of the "
            f"{len(built)} variables the optimizer state is for"
        )
    return order
