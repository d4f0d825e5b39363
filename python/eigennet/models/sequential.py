"""Sequential: a linear stack of layers (other models may be layers too)."""

from __future__ import annotations

from eigennet import config, dtype_policies
from eigennet.layers.input_layer import Input, InputLayer
from eigennet.layers.keras_tensor import KerasTensor
from eigennet.layers.layer import Layer, normalize_shape, unique_name
from eigennet.models.graph_builder import GraphBuilder, expand_call, expand_nodes, nodes_between
from eigennet.models.model import Model, _shared_dtype


class Sequential(Model):
    """A plain stack of layers, each with one input and one output.

    Args:
        layers: Optional list of layers (an `Input(shape=...)`/`InputLayer` may come first;
            a model may be a layer of another).
        trainable: Whether the model's weights are updated by training.
        name: Optional name.

    Example:
        model = Sequential([Input(shape=(4,)), Dense(2, activation="sigmoid"), Dense(1)])
    """

    def __init__(self, layers=None, trainable: bool = True, name: str | None = None):
        super().__init__(name=name or unique_name("sequential"), trainable=trainable)
        self._layers: list = []
        self._input_layer: InputLayer | None = None
        self._recorded = None  # (input, nodes, output) of recorded calls (_record_calls)
        self._symbolic = None  # (input, output) of the layers called symbolically (inputs)
        self._built_input_shape = None
        for layer in layers or []:
            self.add(layer)

    # -- structure ---------------------------------------------------------------------
    def add(self, layer) -> None:
        """Adds a layer (or a model) on top of the stack."""
        if isinstance(layer, KerasTensor) and isinstance(layer._node.layer, InputLayer):
            layer = layer._node.layer  # keras.Input(...) starts the stack
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError(
                    "An InputLayer/Input can only be the first element of a Sequential model"
                )
            if layer.dtype == "string":  # (the preprocessing stage is a functional model's)
                raise ValueError(
                    "A Sequential model cannot take strings: write it with the Functional API, "
                    'e.g. inputs = keras.Input(shape=(1,), dtype="string"); x = '
                    "text_vectorization(inputs); ...; model = keras.Model(inputs, outputs)"
                )
            self._input_layer = layer
            self.build((None, *layer.shape))
            return
        if not isinstance(layer, (Layer, Model)):
            raise TypeError(
                f"Only layers and models can be added to a Sequential model, got {layer!r}"
            )
        if layer is self:
            raise ValueError("A model cannot contain itself")
        built_for = self._built_input_shape
        self._layers.append(layer)
        self._invalidate()
        shape = built_for or self._known_input_shape()  # (the new first layer may declare it)
        if shape is not None:  # built as Keras builds it; a layer that does not fit is refused
            try:
                self.build(shape)
            except Exception:
                self._layers.pop()
                self._invalidate()
                self.build(shape)
                raise

    def pop(self, rebuild: bool = True):
        """Removes and returns the top layer (the rest built again for the known input)."""
        if not self._layers:
            raise ValueError("There are no layers to pop")
        shape = self._known_input_shape()
        layer = self._layers.pop()
        self._invalidate()
        if rebuild and shape is not None and self._layers:
            self.build(shape)
        return layer

    def _known_input_shape(self):
        """The input shape the stack is built for or declares (batch axis first), or None."""
        if self._built_input_shape is not None:
            return self._built_input_shape
        declared = self._declared_input_shape()
        return None if declared is None else (None, *declared)

    @property
    def layers(self) -> list:
        """The layers, without the input layer (Keras's convention)."""
        return list(self._layers)

    def _declared_input_shape(self):
        if self._input_layer is not None:
            return self._input_layer.shape
        first = self._layers[0] if self._layers else None
        if isinstance(first, Layer) and first._input_shape_arg is not None:
            return first._input_shape_arg
        if isinstance(first, Model) and first.built:
            return first.input_shape[1:]
        return None

    def _expand(self, builder: GraphBuilder, inputs: list[int], trains: bool) -> list[int]:
        """Adds the stack's layers to `builder` as a chain reading tensor `inputs[0]`."""
        if self._recorded is not None:
            source, nodes, output = self._recorded
            return expand_nodes([source], nodes, [output], builder, inputs, trains)
        tensors = list(inputs)
        for layer in self._layers:
            tensors = expand_call(layer, builder, tensors, trains)
        return tensors

    def _record_calls(self, shape: tuple) -> None:
        """A stack with a layer that computes only through symbolic calls (one that makes a
        Keras mask, which flows only through such calls, or Dropout(noise_shape)) is recorded
        as a functional graph would be; otherwise the chain is expanded directly."""
        self._recorded = None
        if not any(getattr(x, "_needs_symbolic_call", False) for x in self._layers):
            return
        source = Input(shape=shape[1:])
        output = source
        for layer in self._layers:
            output = layer(output)
        self._recorded = (source, nodes_between([source], [output]), output)

    def _output_masks(self) -> list:
        return [None if self._recorded is None else self._recorded[2]._keras_mask]

    def _mask_sources(self) -> list:
        return [self._recorded[0]]

    def build(self, input_shape=None) -> None:
        """Builds every layer for inputs of `input_shape` (batch axis first)."""
        if input_shape is None:
            input_shape = (
                (None, *self._declared_input_shape()) if self._declared_input_shape() else None
            )
        if input_shape is None:
            raise ValueError(
                "Cannot build the model: give an input shape, e.g. model.build((None, 4)), "
                "or start it with Input(shape=...)"
            )
        shape = (None, *normalize_shape(tuple(input_shape)[1:], "input shape", variable=True))
        if self.built and shape == self.input_shape:
            return
        if not self._layers:
            self._built_input_shape = shape
            return
        self._built_input_shape = shape
        for layer in self._layers:
            if layer.built and not _fits(tuple(layer.input_shape[1:]), shape[1:]):
                raise ValueError(
                    f"Layer {layer.name!r} was built for inputs of shape {layer.input_shape} "
                    f"but receives {shape}"
                )
            shape = layer._build_in_stack(shape)
        self._record_calls(self._built_input_shape)
        self._dtype = _shared_dtype(self._flat_layers())
        self._build_network()

    def _invalidate(self) -> None:
        self._network = None
        self._trainer = None
        self._built_input_shape = None
        self._recorded = None
        self._symbolic = None

    # -- symbolic input and output (Keras's: a built Sequential model is a functional graph) --
    @property
    def inputs(self) -> list:
        return [self._symbolic_stack()[0]]

    @property
    def outputs(self) -> list:
        return [self._symbolic_stack()[1]]

    @property
    def input(self):
        return self._symbolic_stack()[0]

    @property
    def output(self):
        return self._symbolic_stack()[1]

    def _symbolic_stack(self) -> tuple:
        """(input, output): the layers called once on a symbolic input of the built model, so
        that they and every layer's `output` can make other models (feature extractors
        sharing the weights), as Keras's Sequential. Made when first asked for."""
        if not self.built:
            raise AttributeError(f"Sequential model {self.name!r} has no defined inputs yet.")
        if self._recorded is not None:
            return self._recorded[0], self._recorded[2]
        if self.__dict__.get("_symbolic") is None:
            source = getattr(self._input_layer, "output", None)  # keras.Input's tensor
            if source is None or tuple(source.shape) != tuple(self.input_shape):
                source = Input(shape=tuple(self.input_shape)[1:], dtype=self._native_dtype)
            output = source
            for layer in self._layers:
                output = layer(output)
            self._symbolic = (source, output)
        return self._symbolic

    @property
    def built(self) -> bool:
        return self._network is not None

    @property
    def input_shape(self):
        return self._built_input_shape

    @property
    def output_shape(self):
        return self._layers[-1].output_shape if self.built else None

    @property
    def dtype(self) -> str:
        return self._dtype if self.built else config.floatx()

    # -- serialization ---------------------------------------------------------------
    def get_config(self) -> dict:
        """Keras 3's Sequential config: the input layer (if declared) then every layer in
        Keras's serialized form, and the input shape the model was built for."""
        from eigennet.saving.serialization_lib import serialize_keras_object

        stack = ([self._input_layer] if self._input_layer is not None else []) + self._layers
        config = {
            "name": self.name,
            "trainable": self.trainable,
            # (Keras writes the model's policy: it decides compile's loss scaling on loading)
            "dtype": self.dtype
            if self.dtype_policy.name in ("float32", "float64")
            else dtype_policies.serialize(self.dtype_policy),
            "layers": [serialize_keras_object(layer) for layer in stack],
        }
        if self.built:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> Sequential:
        """Rebuilds a model from `get_config()` (or a Keras Sequential config)."""
        from eigennet.saving.serialization_lib import deserialize_keras_object

        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError(
                "A Sequential config must be a dict with a 'layers' list, got "
                f"{type(config).__name__}"
                + (f" with keys {sorted(config)}" if isinstance(config, dict) else "")
            )
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        if isinstance(config.get("dtype"), (str, dict)):
            model._dtype_policy = dtype_policies.get(config["dtype"])
        for layer_config in config["layers"]:
            model.add(deserialize_keras_object(layer_config, "layers", custom_objects))
        shape = config.get("build_input_shape")
        if shape and not model.built:
            model.build(tuple(shape))
        return model


def _fits(built: tuple, given: tuple) -> bool:
    """Whether inputs of shape `given` fit a layer built for `built` (None: any size, as a
    Normalization adapted to images of any size along its reduced axes)."""
    return len(built) == len(given) and all(
        b is None or g is None or b == g for b, g in zip(built, given)
    )
