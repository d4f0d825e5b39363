"""Model: compile, fit, evaluate and predict over a native network.

Subclasses (Sequential) provide the structure: `build`, `_flat_layers`, `_network`,
`input_shape`, `output_shape`, `dtype`. Training runs in the native trainer; Python only
validates, converts once, and serves callbacks.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from eigennet import (
    _auto_config,
    _core,
    config,
    dtype_policies,
    losses,
    optimizers,
    storage_formats,
)
from eigennet import callbacks as callbacks_module
from eigennet import metrics as metrics_module
from eigennet.layers import quantization, variable_axes
from eigennet.layers.layer import assign_all, checked_name, layer_tree, losses_of
from eigennet.models import data as data_utils
from eigennet.models import epoch_loop, traced_model
from eigennet.models.graph_builder import GraphBuilder, expand_nodes, nodes_between, with_a_node
from eigennet.models.summary import print_summary


class Model(storage_formats.VariableDtypes):
    """A model: `keras.Model(inputs, outputs)` makes a functional model (see
    `eigennet.models.functional`); `Sequential` is the stack of layers; a subclass that
    defines `call()` is traced into a graph the first time it sees data (or `build`). All
    train in the native core."""

    def __new__(cls, *args, **kwargs):
        if cls is Model:
            if not args and "inputs" not in kwargs:
                raise TypeError(
                    "keras.Model(...) needs inputs and outputs: keras.Model(inputs, outputs) "
                    "with inputs = keras.Input(...), or subclass keras.Model and define call()"
                )
            from eigennet.models.functional import Functional

            return super().__new__(Functional)  # Python then runs Functional.__init__
        instance = super().__new__(cls)
        # For a subclassed model's default get_config (see _auto_config).
        instance.__dict__["_auto_config"] = _auto_config.capture(cls, args, kwargs)
        return instance

    def __init__(
        self, *args, name: str | None = None, trainable: bool = True, dtype=None, **kwargs
    ):
        # A subclass may call super().__init__(inputs=..., outputs=...): a functional model
        # under its own class (Keras 3 accepts it).
        graph_args = list(args[:2]) + [kwargs.pop(k) for k in ("inputs", "outputs") if k in kwargs]
        if graph_args and len(graph_args) != 2:
            raise TypeError("A model takes both inputs and outputs, or neither")
        self.name = checked_name(self, name, kwargs)
        self._traced_graph = None  # a subclassed model's graph, once built (see traced_model)
        self._inbound_nodes: list = []  # its calls on symbolic tensors (a model as a layer)
        self._trainable = bool(trainable)
        self._network = None  # the native graph the model runs (see _build_network)
        self._has_added_losses = False  # whether its graph adds add_loss terms to the loss
        self._mask_ids: list[int] = []  # per output: its Keras mask's tensor in it, or -1
        self._network_samples = None  # the input sample shapes it runs
        self._run_shapes = None  # its outputs' shapes
        self._graphs = None  # the graphs of other input lengths (see _use_input_shapes)
        self._trainers = None  # the trainers of other output shapes
        self._trainer = None
        self._dtype = None
        # The global policy when the model was made (Keras's Layer), or its dtype argument:
        # compile() wraps the optimizer in a LossScaleOptimizer under "mixed_float16".
        self._dtype_policy = dtype_policies.get(dtype)
        self.optimizer = None
        self.loss = None
        self._loss_spec = None
        self._metric_ids: list = []
        self._metrics = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._in_fit = False
        self._compile_options: dict = {}
        self._loss_weights = None
        self._log_layout = (0, False, [])  # how the trainer's logs read (see _log_values)
        self._consumers = None  # (native graph, its input consumers), see _input_consumers
        # Set by BackupAndRestore in on_train_begin: the epoch fit resumes at (Keras's name).
        self._initial_epoch = None
        if graph_args:
            traced_model.adopt(self, *graph_args)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def dtype_policy(self):
        return self._dtype_policy

    # -- subclassed models (see traced_model.py) ----------------------------------------
    def call(self, *args, **kwargs):
        """A subclassed model's computation, written with its layers and keras.ops."""
        raise NotImplementedError(f"Model {type(self).__name__} does not define call()")

    def add_loss(self, loss) -> None:
        """Adds a scalar computed in call() to the training loss (see Layer.add_loss)."""
        from eigennet.layers.layer import Layer

        Layer.add_loss(self, loss)

    @property
    def _subclassed(self) -> bool:
        return type(self).call is not Model.call

    def __setattr__(self, name: str, value) -> None:
        from eigennet.layers.layer import Layer, Variable, _Unowned

        if isinstance(value, Variable) and isinstance(value._layer._owner, _Unowned):
            Layer._adopt(self, value)
        if not name.startswith("_"):
            traced_model.track(self, value)
        super().__setattr__(name, value)

    def add_weight(self, *args, **kwargs):
        """A weight of this subclassed model (Keras 3's signature; see Layer.add_weight)."""
        from eigennet.layers.layer import Layer

        return Layer.add_weight(self, *args, **kwargs)

    @property
    def _own_weights(self) -> list:
        """The weights a subclassed model made itself (add_weight, keras.Variable)."""
        return self.__dict__.setdefault("_own_weight_sources", [])

    @property
    def _traced(self) -> bool:
        return self._subclassed

    @property
    def _built(self) -> bool:
        return self.built

    @property
    def layers(self) -> list:
        return list(self.__dict__.get("_tracked_layers", []))

    @property
    def losses(self) -> list:
        """Keras's: what the layers' add_loss added in their last calls on arrays, then the
        penalties of the regularizers of the trainable weights."""
        return losses_of(self._layer_tree(), self._native_dtype)

    def _layer_tree(self) -> list:
        """This model and its layers (and theirs), depth first, each once."""
        return layer_tree(self, self.layers)

    @property
    def built(self) -> bool:
        return self._traced_graph is not None

    def build(self, input_shape=None) -> None:
        """Traces call() on symbolic inputs of `input_shape` (a shape with the batch axis
        first, or a list or dict of them)."""
        traced_model.build(self, input_shape)

    def _expand(self, builder, inputs: list[int], trains: bool) -> list[int]:
        return self._traced_graph._expand(builder, inputs, trains)

    @property
    def input_shape(self):
        return self._traced_graph.input_shape if self.built else None

    @property
    def output_shape(self):
        return self._traced_graph.output_shape if self.built else None

    @property
    def dtype(self) -> str:
        return self._traced_graph.dtype if self.built else config.floatx()

    @trainable.setter
    def trainable(self, value) -> None:
        """Sets the flag of the model and of every layer in it, as Keras 3 does. Training
        reads the flags at every step: a change needs no recompile."""
        self._trainable = bool(value)
        for layer in self.layers:
            layer.trainable = self._trainable

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        """A model from its config: `keras.Model.from_config` takes a functional config; a
        subclassed model is made from its get_config() arguments."""
        from eigennet.models.functional import Functional

        if cls.call is not Model.call:
            return cls(**config)
        return Functional.from_config(config, custom_objects)

    def get_config(self) -> dict:
        """A subclassed model's config: its name and trainable flag, and the arguments its
        constructor was called with (when they are plain values, as Keras)."""
        if not self._subclassed:
            raise NotImplementedError(f"{type(self).__name__} has no get_config()")
        base = {"name": self.name, "trainable": self.trainable}
        return _auto_config.merged(base, self.__dict__.get("_auto_config"), f"Model {self.name!r}")

    # -- structure ---------------------------------------------------------------------
    def _expanded(self, trains: bool = True) -> GraphBuilder:
        """The model expanded into a builder: the nodes the core runs, and their places."""
        builder = GraphBuilder(self._input_shapes())
        self._expand_with_masks(builder, trains)
        return builder

    def _expand_with_masks(self, builder: GraphBuilder, trains: bool = True):
        """Expands the model into `builder`, then the Keras masks of its outputs (their mask
        ops again, from the inputs: usually one comparison of the input ids), which the
        trainer reads to weigh a loss's time steps. Returns the outputs' tensor ids and one
        mask tensor id per output (-1: none)."""
        inputs = list(range(len(builder.input_shapes)))
        outputs = with_a_node(builder, self._expand(builder, inputs, trains), self._dtype)
        masks = self._output_masks()
        wanted = [(k, m) for k, m in enumerate(masks) if m is not None]
        mask_ids = [-1] * len(outputs)
        if wanted:
            sources = self._mask_sources()
            tensors = [m for _, m in wanted]
            nodes = nodes_between(sources, tensors)
            ids = expand_nodes(sources, nodes, tensors, builder, inputs, False)
            for (k, _), i in zip(wanted, ids):
                mask_ids[k] = i
        return outputs, mask_ids

    def _mask_sources(self) -> list:
        """The symbolic inputs the outputs' masks are computed from."""
        return self._traced_graph.inputs

    def _flat_layers(self, parent_trainable: bool = True) -> list[tuple]:
        """Every leaf layer at each place it is called, with whether it trains there (it
        and all its containers are trainable): the native graph's nodes, in order."""
        return self._expanded(parent_trainable).places

    def _network_nodes(self) -> list[tuple]:
        """(native node, input ids) of the graph the core runs (fused ops included)."""
        return self._expanded().nodes

    # -- the native graph for concrete input shapes ------------------------------------
    def _build_network(self) -> None:
        """Makes the native graph the model runs, for its inputs' shapes (a variable axis at
        its first probe length, see variable_axes: other lengths get graphs of their own)."""
        first = variable_axes.PROBES[0]
        samples = [variable_axes.at_length(s[1:], first) for s in self._input_shapes()]
        self._graphs = variable_axes.RecentCache(4)
        self._trainers = variable_axes.RecentCache(4)
        self._network, self._run_shapes = self._network_for(samples)
        self._network_samples = samples
        quantization.record_cores(self)

    def _network_for(self, samples: list[tuple]):
        """The native graph for inputs of these concrete sample shapes, and its outputs'
        shapes (batch axis None)."""
        builder = GraphBuilder([(None, *s) for s in samples])
        outputs, self._mask_ids = self._expand_with_masks(builder)
        self._has_added_losses = bool(builder.loss_terms)
        dtype = self._dtype or self._native_dtype
        return builder.native_graph(dtype, outputs), builder.output_shapes(outputs)

    def _graph_for(self, samples: list[tuple]):
        """(native graph, output shapes) for inputs of these concrete sample shapes."""
        key = tuple(tuple(s) for s in samples)
        if key == tuple(self._network_samples):
            return self._network, self._run_shapes
        entry = self._graphs.get(key)
        if entry is None:
            entry = self._network_for(list(key))
            self._graphs.put(key, entry)
        return entry

    def _input_samples(self, x, what: str = "x") -> list[tuple]:
        """The sample shapes (no batch axis) of the model inputs in `x`."""
        return [tuple(np.shape(a)[1:]) for a in self._input_list(x, what)]

    def _use_input_shapes(self, samples: list[tuple]) -> None:
        """Runs the model on inputs of these concrete sample shapes from now on. A model
        with a variable axis switches to its graph for that length (its layers' copies
        share the weights); the trainer follows while the outputs keep their sizes (its
        metrics and the optimizer's state carry on), else the trainer for those outputs is
        used. Call it from the thread that runs the model, between runs."""
        quantization.refresh(self)  # a layer.quantize() since the graph was built
        samples = [tuple(s) for s in samples]
        if samples == self._network_samples:
            return
        self._graphs.put(tuple(self._network_samples), (self._network, self._run_shapes))
        network, shapes = self._graph_for(samples)
        if shapes != self._run_shapes:
            if self._trainer is not None:
                self._trainers.put(tuple(self._run_shapes), self._trainer)
            self._trainer = self._trainers.get(tuple(shapes))
        if self._trainer is not None:
            self._trainer.set_graph(network)
        self._network, self._run_shapes, self._network_samples = network, shapes, samples

    def _drop_trainers(self) -> None:
        """Forgets the trainers (a new compile)."""
        self._trainer = None
        if self._network is not None:
            self._trainers = variable_axes.RecentCache(4)

    def _output_masks(self) -> list:
        """The Keras masks of the outputs (None where an output has none)."""
        if self._traced_graph is not None:
            return self._traced_graph._output_masks()
        return [None] * len(self._output_shapes())

    def _input_shapes(self) -> list[tuple]:
        if self._traced_graph is not None:
            return self._traced_graph._input_shapes()
        return [self.input_shape]

    def _output_shapes(self) -> list[tuple]:
        if self._traced_graph is not None:
            return self._traced_graph._output_shapes()
        return [self.output_shape]

    @property
    def input_names(self) -> list[str]:
        if self._traced_graph is not None:
            return self._traced_graph.input_names
        return [f"input_{i}" if i else "input" for i in range(len(self._input_shapes()))]

    @property
    def output_names(self) -> list[str]:
        if self._traced_graph is not None:
            return self._traced_graph.output_names
        return [f"output_{i}" if i else "output" for i in range(len(self._output_shapes()))]

    def get_layer(self, name: str | None = None, index: int | None = None):
        """The layer called `name`, or at position `index` of `layers`."""
        layers = self.layers
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index, not both")
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has "
                    f"{len(layers)} layers."
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[x.name for x in layers]}.")

    def _input_consumers(self) -> list[tuple]:
        """(input index, leaf layer) for every layer call that reads a model input directly:
        the layers whose input checks (e.g. Embedding's index range) see the user's arrays.
        Read once per native graph (`_prepare` runs per batch of a generator)."""
        if self._consumers is not None and self._consumers[0] is self._network:
            return self._consumers[1]
        builder = self._expanded()
        inputs = list(range(len(builder.input_shapes)))
        consumers = [
            (i, layer)
            for (_, ids), (layer, _) in zip(builder.nodes, builder.places)
            for i in ids
            if i < len(inputs)
        ]
        self._consumers = (self._network, consumers)
        return consumers

    def _call_symbolic(self, inputs):
        """A model called on symbolic tensors is one node of the caller's graph."""
        from eigennet.layers.keras_tensor import check_symbolic, record_call

        if self._subclassed and not self.built:
            self.build(traced_model.data_shape(inputs))
        tensors = self._input_list(inputs, "inputs")
        what = f"Model {self.name!r}"
        check_symbolic(what, tensors)
        if not self.built:
            self.build(tensors[0].shape)
        expected = self._input_shapes()
        if [tuple(t.shape[1:]) for t in tensors] != [tuple(e[1:]) for e in expected]:
            raise ValueError(
                f"Input of model {self.name!r} is incompatible: it expects "
                f"{self.input_shape}, got {[t.shape for t in tensors]}"
            )
        outputs = record_call(
            self, tensors, len(tensors) > 1, self._output_shapes(), self._native_dtype,
            self.output_names,
        )  # fmt: skip
        return outputs[0] if len(outputs) == 1 else outputs

    def _fed_input_names(self) -> list[str]:
        """The names of the arrays the native graph is fed (a functional model's after its
        preprocessing stage), for messages."""
        return self.input_names

    def _input_list(self, x, what: str) -> list:
        """x as one entry per model input (a dict is keyed by input name)."""
        names = self.input_names
        return _by_name(x, names, what, f"Model {self.name!r}", "input")

    # -- weights -----------------------------------------------------------------------
    def _build_in_stack(self, input_shape: tuple) -> tuple:
        """Builds the model as one step of a Sequential model; returns its output shape."""
        self.build(input_shape)
        return self.output_shape

    def _weight_owners(self, trains: bool = True) -> list[tuple]:
        """(owner, trains) for every object holding weights of this model, each once, in
        Keras's weights order: its layers in order, a nested model's and a custom layer's
        recursively. `trains` is False under a frozen container (Keras 3: a frozen model
        has no trainable weights, whatever its layers say)."""
        trains = trains and self.trainable
        owners, seen = [], set()
        if self._subclassed:  # its own weights (add_weight, Variable) first
            own = sorted(self._own_weights, key=lambda o: not o.variable._trainable)
            owners = [(o, trains) for o in own]
        for layer in self.layers:
            for owner, owner_trains in layer._weight_owners(trains):
                if id(owner) not in seen:
                    seen.add(id(owner))
                    owners.append((owner, owner_trains))
        return owners

    def _trained_variables(self) -> list:
        """The trainable weights in the order of the native trainer's gradient buffer and
        optimizer slots: each layer at its first place in the graph. Keras's order
        (`trainable_weights`) differs only when custom layers list their weights in another
        order than their call() uses them (or not at all)."""
        seen, out = set(), []
        for place, trains in self._flat_layers():
            layer = getattr(place, "_param_owner", place)  # a weight view is its layer's place
            if id(layer) not in seen:
                seen.add(id(layer))
                if trains:
                    out.extend(layer.trainable_weights)
        return out

    @property
    def weights(self) -> list:
        return [w for owner, _ in self._weight_owners() for w in owner.weights]

    @property
    def trainable_weights(self) -> list:
        return [
            w for owner, trains in self._weight_owners() if trains for w in owner.trainable_weights
        ]

    @property
    def non_trainable_weights(self) -> list:
        return [
            w
            for owner, trains in self._weight_owners()
            for w in (owner.non_trainable_weights if trains else owner.weights)
        ]

    @property
    def variables(self) -> list:
        return self.weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights, in Keras order (per layer: kernel, then bias)."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Sets all weights from a list like the one `get_weights` returns."""
        assign_all(f"Model {self.name!r}", self.weights, weights)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"Model {self.name!r} is not built yet: call build() or fit() first")
        return sum(owner.count_params() for owner, _ in self._weight_owners())

    def summary(
        self,
        line_length=None,
        positions=None,
        print_fn=None,
        expand_nested=False,
        show_trainable=False,
        layer_range=None,
    ) -> None:
        """Prints a table of the layers, output shapes and parameter counts, as Keras:
        `expand_nested` lists a nested model's layers after it, `show_trainable` adds the
        Trainable column, `layer_range` (two names or regular expressions) restricts the
        rows, `line_length`/`positions` set the columns."""
        print_summary(
            self, print_fn, line_length, positions, expand_nested, show_trainable, layer_range
        )

    def quantize(self, mode=None, config=None, filters=None, **kwargs) -> None:
        """Quantizes the weights of the model's Dense and Embedding layers, as Keras 3's
        `model.quantize("int8")` (the model must be built; `filters`: a regex on layer
        names, a list of them, or a callable). Layers that cannot be quantized warn, as
        Keras. predict/evaluate then run integer products; fit still trains the biases and
        the layers that are not quantized (as Keras)."""
        from eigennet.layers import quantization

        quantization.quantize_model(self, mode, config, filters, kwargs)

    # -- compile -----------------------------------------------------------------------
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        run_eagerly=False,
        steps_per_execution=1,
        jit_compile="auto",
        auto_scale_loss=True,
    ) -> None:
        """Configures the model for training.

        Args:
            optimizer: Name or optimizer instance (default "rmsprop", as Keras).
            loss: Name, function of `eigennet.losses` or loss instance; for a model of
                several outputs one for all of them, a list (one per output, None for an
                output that is not trained) or a dict keyed by output name.
            loss_weights: Optional list or dict of floats: the loss is the weighted sum of
                the outputs' losses.
            metrics: List of metric names ("accuracy", "mae", ...) or metric objects; with
                several outputs a list of lists (one per output) or a dict by output name.
        The other Keras arguments are accepted; weighted_metrics must stay None.
        """
        if weighted_metrics is not None:
            raise ValueError("weighted_metrics is not supported by eigennet yet")
        self.optimizer = optimizers.get(optimizer)
        if (
            auto_scale_loss
            and self.dtype_policy.name == "mixed_float16"
            and not isinstance(self.optimizer, optimizers.LossScaleOptimizer)
        ):
            self.optimizer = optimizers.LossScaleOptimizer(
                self.optimizer, name="loss_scale_optimizer"
            )
        per_output = isinstance(loss, (list, tuple, dict))
        self._loss_spec = None if loss is None or per_output else losses.spec_of(loss)
        if per_output:  # fail at compile on entries that can never resolve
            for entry in loss.values() if isinstance(loss, dict) else loss:
                if entry is not None:
                    losses.spec_of(entry)
        self.loss = loss
        self._loss_weights = loss_weights
        if metrics is None:
            metrics = []
        if isinstance(metrics, (str, metrics_module.Metric)) or callable(metrics):
            metrics = [metrics]
        self._metric_ids = metrics if isinstance(metrics, dict) else list(metrics)
        for group in self._metric_ids.values() if isinstance(metrics, dict) else self._metric_ids:
            for m in group if isinstance(group, (list, tuple)) else [group]:
                if m is not None:
                    metrics_module.check(m)  # fail at compile on names that never resolve
        self._metrics = None
        self._drop_trainers()
        self._compile_options = {
            "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile,
        }
        self.compiled = True

    @property
    def metrics_names(self) -> list[str]:
        """Keras's names of the logs: loss, each output's loss (when several outputs have
        one), then the metrics (prefixed by their output's name when there are several)."""
        names = ["loss"]
        if self._metrics is None:
            return names
        outputs = self.output_names
        loss_outputs = [k for k, spec in enumerate(self._output_losses()) if spec is not None]
        if len(loss_outputs) > 1:
            names += [f"{outputs[k]}_loss" for k in loss_outputs]
        metric_names = [m.name for m in self._metrics]
        if len(outputs) > 1:
            metric_names = [f"{outputs[k]}_{n}" for k, n in zip(self._metric_outputs, metric_names)]
        return names + metrics_module.unique_names(metric_names)

    def _output_losses(self) -> list:
        """One LossSpec per output (None where the output has no loss)."""
        names, loss = self.output_names, self.loss
        if isinstance(loss, dict):
            unknown = sorted(set(map(str, loss)) - set(names))
            if unknown:
                raise ValueError(
                    f"The loss dict names unknown output(s) {unknown}; the model's outputs "
                    f"are {names}"
                )
            return [None if loss.get(n) is None else losses.spec_of(loss[n]) for n in names]
        if isinstance(loss, (list, tuple)):
            if len(loss) != len(names):
                raise ValueError(
                    f"The loss list has {len(loss)} entries but the model has {len(names)} "
                    f"outputs {names}"
                )
            return [None if entry is None else losses.spec_of(entry) for entry in loss]
        return [self._loss_spec] * len(names)

    def _loss_weight_list(self) -> list[float]:
        names, weights = self.output_names, self._loss_weights
        if weights is None:
            return [1.0] * len(names)
        if isinstance(weights, dict):
            unknown = sorted(set(map(str, weights)) - set(names))
            if unknown:
                raise ValueError(f"loss_weights names unknown output(s) {unknown}")
            values = [weights.get(n, 1.0) for n in names]
        elif isinstance(weights, (list, tuple)) and len(weights) == len(names):
            values = list(weights)
        else:
            raise ValueError(
                f"loss_weights must be a list of {len(names)} floats or a dict keyed by "
                f"output name, got {weights!r}"
            )
        for w in values:
            if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
                raise ValueError(f"loss_weights must be finite numbers, got {weights!r}")
        return [float(w) for w in values]

    def _output_metric_ids(self) -> list[tuple]:
        """(output index, metric identifier) for each compiled metric, as Keras 3 reads
        `metrics` for one or several outputs."""
        names, ids = self.output_names, self._metric_ids
        if len(names) == 1:
            return [(0, m) for m in (ids if not isinstance(ids, dict) else ids.get(names[0], []))]
        if isinstance(ids, dict):
            unknown = sorted(set(map(str, ids)) - set(names))
            if unknown:
                raise ValueError(f"The metrics dict names unknown output(s) {unknown}")
            per_output = [ids.get(n) or [] for n in names]
        elif not ids:
            per_output = [[] for _ in names]
        elif len(ids) == len(names) and all(isinstance(m, (list, tuple)) or m is None for m in ids):
            per_output = [m or [] for m in ids]
        else:
            raise ValueError(
                f"For a model with several outputs, metrics must be a dict keyed by output "
                f"name or a list of {len(names)} lists (one per output {names}); got {ids!r}"
            )
        pairs = []
        for k, entry in enumerate(per_output):
            entry = [entry] if isinstance(entry, (str, metrics_module.Metric)) else entry
            pairs.extend((k, m) for m in entry)
        return pairs

    def _prepare(
        self,
        x,
        y=None,
        sample_weight=None,
        what: str = "x",
        switch: bool = True,
        for_predict: bool = False,
    ):
        """Builds on first use and converts the arrays once: x packed as the native graph
        takes it (the inputs' samples side by side), y as the targets of every output with
        a loss side by side, and the sample weights. With `switch`, the model then runs
        inputs of x's shapes (see _use_input_shapes; a prefetching thread does not switch:
        the loop switches before running the batch). `for_predict`: x goes to the native
        predict, which checks it for NaN and inf itself when the graph's layers check every
        input anyway (int8 quantization), saving a pass over x."""
        if self._subclassed and not self.built:
            self.build(traced_model.data_shape(x))
        xs = self._input_list(x, what)
        if not self.built:
            arr = data_utils._numeric(xs[0], what)
            if arr.ndim < 2:
                data_utils.as_features(arr, "float32", what)  # raises the rank error
            self.build((None, *arr.shape[1:]))
        names = self._fed_input_names()
        native = for_predict and self._network is not None and self._network.checks_inputs_finite
        arrays = []
        for i, (a, shape) in enumerate(zip(xs, self._input_shapes())):
            label = what if len(xs) == 1 else f"{what}[{names[i]!r}]"
            arr = data_utils.as_features(a, self._native_dtype, label, finite=not native)
            if not variable_axes.compatible(arr.shape[1:], shape[1:]):
                raise ValueError(
                    f"Model {self.name!r} expects "
                    f"{'inputs' if len(xs) == 1 else label} of shape {shape}, got "
                    f"{(None, *arr.shape[1:])}"
                )
            if arrays and len(arr) != len(arrays[0]):
                raise ValueError(
                    f"All inputs must hold the same number of samples, got "
                    f"{[len(a) for a in [*arrays, arr]]}"
                )
            arrays.append(arr)
        samples = [a.shape[1:] for a in arrays]
        if switch:
            self._use_input_shapes(samples)
        output_shapes = self._graph_for(samples)[1]
        for i, layer in self._input_consumers():
            layer._check_input(arrays[i], what if len(xs) == 1 else f"{what}[{names[i]!r}]")
        x_arr = _packed(arrays)
        if y is None:
            return x_arr, None, None
        n = len(x_arr)
        specs, shapes = self._compiled_losses(), output_shapes
        ys = _by_name(y, self.output_names, "y", f"Model {self.name!r}", "output", optional=specs)
        targets = []
        for k, (target, spec, shape) in enumerate(zip(ys, specs, shapes)):
            if spec is None:
                continue
            sparse = spec.name == "sparse_categorical_crossentropy"
            label = "y" if len(shapes) == 1 else f"y[{self.output_names[k]!r}]"
            free = isinstance(spec, losses.TracedLoss)
            targets.append(
                data_utils.as_targets(target, n, shape[1:], sparse, self._native_dtype, label, free)
            )
        sw = data_utils.as_sample_weight(sample_weight, n, self._native_dtype)
        y_arr = _packed(targets) if targets else np.zeros((n, 0), self._native_dtype)
        return x_arr, y_arr, sw

    def _compiled_losses(self) -> list:
        """The outputs' losses; raises when the model cannot train or evaluate."""
        if not self.compiled:
            raise RuntimeError("You must call `compile()` before training or evaluating the model")
        specs = self._output_losses()
        if all(spec is None for spec in specs) and not self._takes_no_targets():
            raise ValueError("The model was compiled without a loss: pass loss=... to compile()")
        for name, spec, mask in zip(self.output_names, specs, self._output_masks()):
            if spec is None or mask is None:
                continue
            if isinstance(spec, losses.TracedLoss):
                raise NotImplementedError(
                    f"Output {name!r} carries a Keras mask (from Embedding(mask_zero=True) or "
                    "Masking): a custom loss over masked time steps is not supported yet; "
                    "built-in losses weigh the unmasked steps as Keras does"
                )
        return specs

    def _takes_no_targets(self) -> bool:
        """Whether the model trains on its add_loss terms alone (compiled without a loss, as
        Keras's endpoint-layer pattern): fit and evaluate then take x without y."""
        if self._network is None and self.built:
            self._build_network()
        return (
            self.compiled
            and all(spec is None for spec in self._output_losses())
            and self._has_added_losses
        )

    def _no_targets(self, n: int):
        """The y of a model that takes none: zero columns per output."""
        empty = np.zeros((n, 0), self._native_dtype)
        return empty if len(self.output_names) == 1 else [empty] * len(self.output_names)

    def _output_steps(self, specs: list, shapes: list) -> list[tuple]:
        """Per output, (time steps its loss reads as rows, its mask's tensor id or -1): a
        masked output, or a categorical cross-entropy of a (batch, steps, ..., classes)
        output, is Keras's loss per step, averaged over the (unmasked) steps."""
        out = []
        for k, (spec, shape, mask) in enumerate(zip(specs, shapes, self._output_masks())):
            name = self.output_names[k]
            if spec is None or isinstance(spec, losses.TracedLoss):
                out.append((1, -1))
                continue
            steps = int(np.prod(shape[1:-1], dtype=np.int64)) if len(shape) > 2 else 1
            if mask is not None:
                leading = shape[1 : len(mask.shape)]
                if len(shape) < 3 or any(
                    m not in (None, d) for m, d in zip(mask.shape[1:], leading)
                ):
                    raise NotImplementedError(
                        f"Output {name!r} of shape {shape} carries a Keras mask of shape "
                        f"{mask.shape}: a loss over masked steps needs a (batch, steps, ..., "
                        "features) output whose leading axes are the mask's"
                    )
                out.append((steps, self._mask_ids[k]))
            elif spec.name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
                out.append((steps, -1))
            else:
                out.append((1, -1))
        return out

    def _ensure_trainer(self, y_raw):
        _refuse_overridden(self, ("train_step", "test_step", "compute_loss", "compute_metrics"))
        specs = self._compiled_losses()
        if self._trainer is None:
            shapes = self._run_shapes
            y_shapes = [
                np.shape(t)
                for t in _by_name(y_raw, self.output_names, "y", self.name, "output", specs)
            ]
            pairs = self._output_metric_ids()
            for k, _ in pairs:
                if specs[k] is None:
                    raise ValueError(
                        f"Output {self.output_names[k]!r} has metrics but no loss (its targets "
                        "come with the loss)"
                    )
            self._metrics = [metrics_module.resolve(m, y_shapes[k], shapes[k]) for k, m in pairs]
            self._metric_outputs = [k for k, _ in pairs]
            steps = self._output_steps(specs, shapes)
            entries = []
            for k, m in zip(self._metric_outputs, self._metrics):
                y_shape, p_shape = y_shapes[k], shapes[k]
                if steps[k][0] > 1 and getattr(m, "_per_position", False):
                    # Its counts add up over positions (IoU's confusion matrix): traced on
                    # one step per row, as the trainer hands the stepped output's rows.
                    y_shape = (None, int(np.prod(y_shape[1:], dtype=np.int64)) // steps[k][0])
                    p_shape = (None, int(np.prod(p_shape[1:], dtype=np.int64)) // steps[k][0])
                entries.append((k, *m._trainer_entry(self._native_dtype, y_shape, p_shape)))
            for k, entry, m in zip(self._metric_outputs, entries, self._metrics):
                per_position = getattr(m, "_per_position", False)
                if steps[k][0] > 1 and not isinstance(entry[1], str) and not per_position:
                    raise NotImplementedError(
                        f"Output {self.output_names[k]!r}: a custom metric over time steps "
                        "(a masked or (batch, steps, classes) output) is not supported yet"
                    )
            flags = self._trainable_flags()
            self._trainer = getattr(_core, f"Trainer_{self._native_dtype}")(
                self._network,
                [None if spec is None else spec.core_config() for spec in specs],
                self._loss_weight_list(),
                self.optimizer._core_for(self._native_dtype),
                entries,
                flags,
                [
                    spec.graph(self._native_dtype, y_shapes[k], shapes[k])
                    if isinstance(spec, losses.TracedLoss)
                    else None
                    for k, spec in enumerate(specs)
                ],
                steps,
            )
            outputs, count = len(specs), sum(spec is not None for spec in specs)
            logged = count if outputs > 1 else 0  # the core's per-output losses
            self._log_layout = (logged, count > 1, self._trainer.metric_sizes())
            self.optimizer._built_for(self._trained_variables())
            self.optimizer._attach_trainer(self._trainer)
        self._sync_trainable()
        return self._trainer

    def _trainable_flags(self) -> list[bool]:
        return [trains for _, trains in self._flat_layers()]

    def _sync_trainable(self) -> None:
        """Keras 3 reads `trainable` at every step: the trainer follows the flags."""
        flags = self._trainable_flags()
        if flags != self._trainer.trainable:
            self._trainer.trainable = flags  # the optimizer rejects weights it was not built for

    def _training_trainer(self, y_raw):
        trainer = self._ensure_trainer(y_raw)
        if not self.trainable_weights:
            warnings.warn("The model does not have any trainable weights.", stacklevel=3)
        return trainer

    def _log_values(self, values) -> list:
        """The native logs as one float (or per-class/threshold array) per metrics_names.
        With several outputs the core logs each loss-bearing output's loss after the total;
        Keras lists them only when more than one output has a loss. (Called once per epoch
        of a whole native fit: the layout is read once, when the trainer is made.)"""
        logged, shown, sizes = self._log_layout
        if logged:
            output_losses = [float(v) for v in values[1 : 1 + logged]]
            values = [values[0], *values[1 + logged :]]
        out = metrics_module.log_values(values, self._metrics, sizes)
        if logged and shown:
            out[1:1] = output_losses
        return out

    def _logs(self, values) -> dict:
        """Logs as Keras reports them: keys sorted by name."""
        return dict(sorted(zip(self.metrics_names, self._log_values(values))))

    # -- training ----------------------------------------------------------------------
    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
    ):
        """Trains the model for `epochs` epochs (Keras semantics: shuffles every epoch,
        the last partial batch included, the epoch loss is the batch-size-weighted mean of the
        batch losses). Returns a `History`.

        Supported: x, y, batch_size (default 32), epochs, verbose ("auto"=1, 0, 1, 2),
        callbacks, validation_split, validation_data, shuffle, class_weight, sample_weight,
        initial_epoch, validation_batch_size, validation_freq; steps_per_epoch and
        validation_steps for PyDatasets and generators. Memory-mapped arrays, PyDatasets
        and generators are streamed (see `eigennet.models.epoch_loop`).
        """
        epochs = data_utils.positive_int(epochs, "epochs", allow_zero=True)
        validation_split = data_utils.as_validation_split(validation_split)
        validation_freq = data_utils.positive_int(validation_freq, "validation_freq")
        if validation_batch_size is not None:  # 0 means batch_size, as Keras's `or`
            validation_batch_size = data_utils.positive_int(
                validation_batch_size, "validation_batch_size", allow_zero=True
            )
        callbacks = _callback_list(callbacks)
        initial_epoch = data_utils.positive_int(initial_epoch, "initial_epoch", allow_zero=True)
        batch_size = 32 if batch_size is None else data_utils.positive_int(batch_size, "batch_size")
        verbose = _verbosity(verbose)
        return epoch_loop.fit(
            self,
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            validation_data=validation_data,
            shuffle=shuffle,
            class_weight=class_weight,
            sample_weight=sample_weight,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            validation_steps=validation_steps,
            validation_batch_size=validation_batch_size,
            validation_freq=validation_freq,
        )

    def _apply_class_weight(self, class_weight, y_arr, sw):
        if class_weight is None:
            return sw
        class_weight = data_utils.as_class_weight(class_weight)
        if len(self._output_shapes()) > 1:
            raise ValueError(
                "class_weight is only supported for models with one output (as Keras); "
                "use sample_weight instead"
            )
        labels = y_arr[:, 0] if y_arr.shape[1] == 1 else np.argmax(y_arr, axis=1)
        if y_arr.shape[1] == 1 and self.output_shape[-1] == 1:
            labels = np.round(labels)
        weights = np.ones(len(y_arr), dtype=y_arr.dtype)
        for cls, w in class_weight.items():
            weights[labels == cls] = w
        return weights if sw is None else sw * weights

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
    ):
        """Returns the loss (a float) when compiled without metrics, else the list
        [loss, metric...]; with return_dict=True a dict {name: value}."""
        batch_size = 32 if batch_size is None else data_utils.positive_int(batch_size, "batch_size")
        return epoch_loop.evaluate(
            self,
            x,
            y,
            batch_size=batch_size,
            verbose=_verbosity(verbose),
            sample_weight=sample_weight,
            steps=steps,
            callbacks=_callback_list(callbacks),
            return_dict=return_dict,
        )

    def _format_result(self, logs: dict, return_dict: bool):
        if return_dict:
            return logs
        names = self.metrics_names  # Keras: loss, then compile order
        if len(self._output_shapes()) > 1:  # Keras: loss, outputs' losses, metrics by name
            losses_end = 1 + sum(n.endswith("_loss") for n in names[1:])
            names = names[:losses_end] + sorted(names[losses_end:])
        values = [logs[name] for name in names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Returns the model's outputs for `x`, computed in batches (default 32): one array,
        or a list (a dict) for several outputs."""
        _refuse_overridden(self, ("predict_step",))
        batch_size = 32 if batch_size is None else data_utils.positive_int(batch_size, "batch_size")
        return epoch_loop.predict(
            self,
            x,
            batch_size=batch_size,
            verbose=_verbosity(verbose),
            steps=steps,
            callbacks=_callback_list(callbacks),
        )

    def _run_network(self, x_arr, batch_size: int, on_batch=None, training=False, report_every=0.0):
        """The outputs for packed x: one array, or a list (a dict) for several outputs.
        on_batch(batch, outputs) runs after every batch, or as progress reports every
        `report_every` s; outputs are the batch's, as predict returns them."""
        shapes = self._run_shapes
        if len(shapes) == 1:
            packed = np.empty((len(x_arr), *shapes[0][1:]), dtype=self._native_dtype)
        else:
            packed = np.empty(
                (len(x_arr), sum(math.prod(s[1:]) for s in shapes)), self._native_dtype
            )
        self._network.predict(
            x_arr,
            batch_size,
            packed,
            self._batch_outputs_callback(on_batch, packed, batch_size),
            bool(training),
            report_every,
        )
        return self._unpacked_outputs(packed)

    def _batch_outputs_callback(self, on_batch, packed, batch_size: int):
        """The native predict's batch callback for on_batch(batch, outputs): the rows the
        batch wrote to `packed`, copied (a callback may keep them), as predict returns them."""
        if on_batch is None:
            return None

        def report(batch, _values):
            first = batch * batch_size
            return on_batch(
                batch, self._unpacked_outputs(packed[first : first + batch_size].copy())
            )

        return report

    def _unpacked_outputs(self, packed):
        """Rows of packed outputs as predict returns them: one array, or a list (a dict) of
        the outputs' arrays."""
        shapes = self._run_shapes
        if len(shapes) == 1:
            return packed
        sizes = [math.prod(shape[1:]) for shape in shapes]
        starts = np.cumsum([0, *sizes])
        outputs = [
            np.ascontiguousarray(packed[:, a:b]).reshape(len(packed), *shape[1:])
            for a, b, shape in zip(starts, starts[1:], shapes)
        ]
        struct = getattr(self, "_outputs_struct", None)
        if isinstance(struct, dict):
            return dict(zip(self.output_names, outputs))
        return outputs

    def __call__(self, x, training=None, **kwargs):
        """The outputs for a batch, as one NumPy array (a list or dict for several outputs;
        no progress output). With training=True, training-mode layers are active (Dropout
        drops). On symbolic tensors: records the model as one layer call of a graph (Keras's
        configs may pass `mask=None`: the masks are the model's own)."""
        from eigennet.layers.keras_tensor import is_symbolic
        from eigennet.ops import symbolic

        if set(kwargs) - {"mask"} or kwargs.get("mask") is not None:
            raise TypeError(
                f"Model {self.name!r} was called with unexpected arguments {sorted(kwargs)}: "
                "a model takes its inputs and `training`"
            )
        if is_symbolic(x):
            calls = len(self._inbound_nodes)
            result = self._call_symbolic(x)
            if len(self._inbound_nodes) > calls:
                node = self._inbound_nodes[calls]
                node.set_call(
                    (x,), {**({} if training is None else {"training": training}), **kwargs}
                )
                if training is not None and symbolic.tracing_layer() is not None:  # see Node
                    node.training = bool(training)
            return result
        x_arr, _, _ = self._prepare(x)
        return self._run_network(x_arr, len(x_arr), training=bool(training))

    def predict_on_batch(self, x) -> np.ndarray:
        return self(x)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns that batch's loss (and metrics)."""
        y = epoch_loop.targets_or_none(self, x, y, "train_on_batch")
        x_arr, y_arr, sw = self._prepare(x, y, sample_weight)
        sw = self._apply_class_weight(class_weight, y_arr, sw)
        logs = self._logs(self._training_trainer(y).train_on_batch(x_arr, y_arr, sw))
        return self._format_result(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) of one batch, without training."""
        y = epoch_loop.targets_or_none(self, x, y, "test_on_batch")
        x_arr, y_arr, sw = self._prepare(x, y, sample_weight)
        logs = self._logs(self._ensure_trainer(y).test_on_batch(x_arr, y_arr, sw))
        return self._format_result(logs, return_dict)

    def _compute_gradients(self, x, y):
        """(loss, gradients of `trainable_weights`, in that order), no update. A weight the
        graph does not use has a zero gradient."""
        x_arr, y_arr, _ = self._prepare(x, y)
        loss, flat = self._ensure_trainer(y).compute_gradients(x_arr, y_arr)
        by_key, offset = {}, 0
        for var in self._trained_variables():
            size = int(np.prod(var.shape))
            by_key[_variable_key(var)] = flat[offset : offset + size].reshape(var.shape)
            offset += size
        grads = [
            by_key.get(_variable_key(v), np.zeros(v.shape, flat.dtype))
            for v in self.trainable_weights
        ]
        return float(loss), grads

    # -- saving (the work is in eigennet.saving) ----------------------------------------
    def save(self, filepath, overwrite: bool = True, zipped=None, **kwargs) -> None:
        """Saves the model as one `.keras` zip: config.json (architecture and compile
        config), metadata.json and model.weights.npz (weights, optimizer state, random
        state). Written to a temporary file then renamed: a crash never leaves a broken
        file. Load it with `eigennet.models.load_model`. Under MPI only rank 0 writes."""
        from eigennet.saving import saving_lib

        saving_lib.save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite: bool = True, max_shard_size=None) -> None:
        """Saves the weights, the optimizer state and the layers' random state to a
        `.weights.npz` file (Keras writes `.weights.h5`; eigennet has no HDF5 dependency).
        Under MPI only rank 0 writes."""
        from eigennet.saving import saving_lib

        saving_lib.save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch: bool = False, **kwargs) -> None:
        """Loads weights saved by `save_weights` (`.weights.npz`) or `save` (`.keras`); also
        Keras's `.weights.h5` when h5py is installed. The optimizer state is restored too
        when the model is compiled. All or nothing: a mismatch raises before any change."""
        from eigennet.saving import saving_lib

        saving_lib.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs) -> None:  # fmt: skip
        """Exports the model for inference (Keras 3's API). eigennet writes `format="onnx"`
        only: one ONNX file (opset 18, or `opset_version=`) with a dynamic batch axis that
        onnxruntime runs as `predict` does; `input_signature` fixes variable axes' lengths.
        Needs the `onnx` package (pip install "eigennet[onnx]"). A layer that cannot be
        exported raises before any file is written; the file is written atomically."""
        from eigennet.export import export_model

        export_model(self, filepath, format, verbose, input_signature, **kwargs)

    def to_json(self, **kwargs) -> str:
        """The model's serialized config (Keras form) as a JSON string; `kwargs` go to
        `json.dumps`. `eigennet.models.model_from_json` rebuilds the model (no weights)."""
        import json

        from eigennet.saving.serialization_lib import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    def get_build_config(self) -> dict | None:
        return {"input_shape": list(self.input_shape)} if self.built else None

    def build_from_config(self, config: dict) -> None:
        self.build(tuple(config["input_shape"]))

    def get_compile_config(self) -> dict | None:
        """What `compile` was given, in Keras's serialized form (None if not compiled)."""
        if not self.compiled:
            return None
        from eigennet.saving.serialization_lib import serialize_keras_object

        return {
            "optimizer": serialize_keras_object(self.optimizer),
            "loss": serialize_keras_object(self.loss),
            "loss_weights": serialize_keras_object(self._loss_weights),
            "metrics": serialize_keras_object(self._metric_ids) if self._metric_ids else None,
            "weighted_metrics": None,
            **self._compile_options,
        }

    def compile_from_config(self, config: dict, build_optimizer: bool = True) -> None:
        """Compiles as `get_compile_config()` describes. As Keras, the optimizer is then
        built for the trainable weights (when the model is built)."""
        from eigennet.saving.serialization_lib import deserialize_keras_object

        known = (
            "optimizer",
            "loss",
            "loss_weights",
            "metrics",
            "weighted_metrics",
            "run_eagerly",
            "steps_per_execution",
            "jit_compile",
        )
        if not isinstance(config, dict):
            raise ValueError(f"A compile config must be a dict, got {type(config).__name__}")
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise ValueError(f"Unknown compile config key(s): {', '.join(unknown)}")
        args = dict(config)
        args["optimizer"] = deserialize_keras_object(config.get("optimizer"), "optimizers")

        def per_output(value, kind):  # a dict keyed by output name, or one object/list
            if isinstance(value, dict) and "class_name" not in value:
                return {k: deserialize_keras_object(v, kind) for k, v in value.items()}
            return deserialize_keras_object(value, kind)

        args["loss"] = per_output(config.get("loss"), "losses")
        args["metrics"] = per_output(config.get("metrics"), "metrics")
        if args["optimizer"] is None:
            args.pop("optimizer")
        self.compile(**args)
        if build_optimizer and self.built and self.trainable_weights:
            self.optimizer.build(self._trained_variables())


def _by_name(value, names: list[str], what: str, owner: str, kind: str, optional=None) -> list:
    """`value` as one entry per name: a dict keyed by name, a list in order, or (for one
    name) the value itself. With `optional`, entries whose flag is None may be missing."""
    if isinstance(value, dict):
        unknown = sorted(set(map(str, value)) - set(names))
        missing = [
            n for i, n in enumerate(names) if n not in value and (optional is None or optional[i])
        ]
        if unknown or missing:
            raise ValueError(
                f"{owner}: the dict {what} "
                + (f"has unknown key(s) {unknown}" if unknown else f"misses key(s) {missing}")
                + f"; the model's {kind}s are {names}"
            )
        return [value.get(n) for n in names]
    if len(names) == 1:
        if isinstance(value, (list, tuple)) and len(value) == 1 and not np.isscalar(value[0]):
            inner = value[0]
            if isinstance(inner, np.ndarray) or hasattr(inner, "__array__"):
                return [inner]  # [array] for a model of one input, as Keras accepts
        return [value]
    if optional is not None and (not isinstance(value, (list, tuple)) or len(value) != len(names)):
        # As Keras: targets for the outputs that have a loss only, in their order (a
        # miniature GPT's compile(loss=[loss_fn, None]) fit on one y)
        required = [i for i, flag in enumerate(optional) if flag is not None]
        given = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(given) == len(required) < len(names):
            placed: list = [None] * len(names)
            for i, v in zip(required, given):
                placed[i] = v
            return placed
    if not isinstance(value, (list, tuple)) or len(value) != len(names):
        got = f"a list of {len(value)}" if isinstance(value, (list, tuple)) else "one array"
        raise ValueError(
            f"{owner} has {len(names)} {kind}s {names}: pass {what} as a list of "
            f"{len(names)} arrays or a dict keyed by {kind} name, got {got}"
        )
    return list(value)


def _packed(arrays: list[np.ndarray]) -> np.ndarray:
    """Arrays of one batch side by side, each sample flattened (the core's packed form)."""
    if len(arrays) == 1:
        return arrays[0]
    return np.ascontiguousarray(np.concatenate([a.reshape(len(a), -1) for a in arrays], axis=1))


def _callback_list(callbacks) -> list:
    """The callbacks argument as a list of Callback objects, or a TypeError naming it."""
    if callbacks is None:
        return []
    if isinstance(callbacks, callbacks_module.Callback) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of Callback objects, got {callbacks!r}")
    for cb in callbacks:
        if not isinstance(cb, callbacks_module.Callback):
            raise TypeError(f"callbacks must hold Callback objects, got {cb!r}")
    return list(callbacks)


def _shared_dtype(places: list[tuple]) -> str:
    """The one dtype of a model's layers."""
    dtypes = {getattr(layer, "_native_dtype", layer.dtype) for layer, _ in places}
    if len(dtypes) > 1:
        raise ValueError(f"All layers of a model must share one dtype, got {sorted(dtypes)}")
    return dtypes.pop() if dtypes else config.floatx()  # (no layer computes: an identity)


def _verbosity(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def _variable_key(var) -> tuple:
    """What identifies a weight (Variable objects are views made on demand)."""
    return id(var._layer), var._slice.start


def _refuse_overridden(model, methods: tuple) -> None:
    """Raises when a subclass overrides one of Keras's step methods: eigennet's steps run in
    the native core and would silently ignore it."""
    for name in methods:
        for cls in type(model).__mro__:
            if cls.__module__.startswith("eigennet."):
                break
            if name in cls.__dict__:
                raise NotImplementedError(
                    f"{cls.__name__} overrides {name}(): eigennet runs training, evaluation and "
                    "prediction natively and cannot run a Python step. Express the computation "
                    "in call(), a custom loss (compile(loss=fn)), add_loss or a custom metric"
                )
