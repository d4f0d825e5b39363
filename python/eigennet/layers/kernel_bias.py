"""What layers holding a kernel and an optional bias share (Dense, the convolutions)."""

from __future__ import annotations

import numpy as np

from eigennet.layers import quantization


class KernelBiasMixin:
    """Weights `kernel`, then `bias` when `use_bias`; subclasses set `kernel_initializer`,
    `bias_initializer`, `kernel_regularizer`, `bias_regularizer`, `kernel_constraint`,
    `bias_constraint` and `use_bias`."""

    def _weight_regularizers(self):
        return [self.kernel_regularizer, self.bias_regularizer][: 1 + self.use_bias]

    def _weight_constraints(self):
        return [self.kernel_constraint, self.bias_constraint][: 1 + self.use_bias]

    def _initialize(self):
        # Quantized, as Keras's _int8_build: the kernel stays zeros (as made), the scale ones.
        weights, quantized = self.weights, self.quantization_mode is not None
        if not quantized:
            weights[0].assign(self.kernel_initializer(weights[0].shape, self._native_dtype))
        if self.use_bias:
            weights[1].assign(self.bias_initializer(weights[1].shape, self._native_dtype))
        if quantized:
            weights[-1].assign(np.ones(weights[-1].shape, self._native_dtype))

    # -- int8 (layers whose native core has an int8 form: Dense, the convolutions) ----------
    @property
    def kernel_scale(self):
        """The int8 kernel's scale, once quantized (as Keras: no such attribute before)."""
        if self.quantization_mode is None:
            raise AttributeError(f"{type(self).__name__} {self.name!r} is not quantized")
        return self.weights[-1]

    def _weight_dtypes(self):
        return {"kernel": "int8"} if self.quantization_mode == "int8" else {}

    def _quantize_kernel(self, mode, type_check: bool, config, exact: bool) -> None:
        """Keras's Dense.quantize: the kernel int8 with one abs-max scale per output channel
        (over every axis but the last), the core made again in int8 with weights kernel,
        bias, kernel_scale. `exact`: the layer is of the built-in class itself (Keras refuses
        subclasses when `type_check`)."""
        mode = quantization.resolve_mode(mode, config)
        quantization.check_layer(self, mode)
        if type_check and not exact:
            raise quantization.not_implemented(self)
        quantization.check_supported(mode)
        kernel = self.weights[0].numpy()
        values, scale = quantization.abs_max_quantize(kernel, axis=tuple(range(kernel.ndim - 1)))
        bias = [self.weights[1].numpy()] if self.use_bias else []
        self._requantize(mode, [values, *bias, scale.reshape(-1)])

    @property
    def kernel(self):
        return self.weights[0]

    @property
    def bias(self):
        return self.weights[1] if self.use_bias else None
