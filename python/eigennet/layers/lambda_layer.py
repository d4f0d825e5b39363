"""Lambda: a layer that applies a Python function, traced like a custom layer's call()."""

from __future__ import annotations

from eigennet.layers.layer import Layer


class Lambda(Layer):
    """Wraps `function(inputs, **arguments)` (written with keras.ops and layers) as a layer.

    Its call is traced into the model's graph once, so it runs natively. As in Keras, a model
    holding a Lambda cannot be saved with its function (that would store code); write a
    registered custom layer instead.

    Args:
        function: The function of the inputs.
        output_shape: Accepted for Keras compatibility (the shape is traced).
        mask: Not supported (None).
        arguments: Keyword arguments passed to `function`.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda needs a callable, got {function!r}")
        if mask is not None:
            raise ValueError("Lambda: mask is not supported by eigennet yet")
        self.function = function
        self.arguments = dict(arguments or {})

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Lambda layer {self.name!r} cannot be saved: eigennet never stores code in a "
            "file. Write the function as a custom layer registered with "
            "keras.saving.register_keras_serializable"
        )
