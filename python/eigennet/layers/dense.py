"""Dense (fully connected) layer."""

from __future__ import annotations

from eigennet import _core, activations, constraints, initializers, regularizers
from eigennet.layers import quantization
from eigennet.layers.activation import take_activation
from eigennet.layers.kernel_bias import KernelBiasMixin
from eigennet.layers.layer import Layer


class Dense(KernelBiasMixin, Layer):
    """Just your regular densely-connected layer: `activation(inputs @ kernel + bias)`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation name or function of `eigennet.activations`
            (default None: linear).
        use_bias: Whether the layer uses a bias vector (default True).
        kernel_initializer: Initializer of the kernel (default "glorot_uniform").
        bias_initializer: Initializer of the bias (default "zeros").
        kernel_regularizer, bias_regularizer: Optional `eigennet.regularizers` (L1, L2, L1L2)
            whose penalty is added to the loss.
        kernel_constraint, bias_constraint: Optional `eigennet.constraints` (MaxNorm,
            MinMaxNorm, NonNeg, UnitNorm) applied after each optimizer step.
        quantization_config: None, or Keras's default int8 config (as Keras writes it for a
            quantized layer; see `quantize`).
        activity_regularizer: Optional regularizer of the layer's output (divided by the
            batch size, as Keras 3).

    Input shape: N-D array `(batch_size, ..., input_dim)`.
    Output shape: `(batch_size, ..., units)`.
    Weights, in Keras order: kernel `(input_dim, units)`, then bias `(units,)`.

    `quantize("int8")` (or `model.quantize("int8")`), as Keras: the kernel becomes int8
    (per-output-channel abs-max) with a float `kernel_scale (units,)`; weights are then
    kernel, bias, kernel_scale. Inputs are quantized per row at run time and the products
    run in integers (AVX512-VNNI where the CPU has it). The bias still trains; the kernel no
    longer does.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        quantization_config=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        quantization.check_config_argument("Dense", quantization_config)
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}")
        self.units = units
        take_activation(self, activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _make_core(self, dtype):
        kind = "Int8Dense" if self.quantization_mode == "int8" else "Dense"
        return getattr(_core, f"{kind}_{dtype}")(self.units, self._activation_name, self.use_bias)

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantizes the kernel as Keras's Dense.quantize (see the class docstring)."""
        self._quantize_kernel(mode, type_check, config, exact=type(self) is Dense)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": quantization.config_entry(self),
        }
