"""What layers holding a kernel and an optional bias share (Dense, the convolutions)."""

from __future__ import annotations


class KernelBiasMixin:
    """Weights `kernel`, then `bias` when `use_bias`; subclasses set `kernel_initializer`,
    `bias_initializer`, `kernel_regularizer`, `bias_regularizer` and `use_bias`."""

    def _weight_regularizers(self):
        return [self.kernel_regularizer, self.bias_regularizer][: 1 + self.use_bias]

    def _initialize(self):
        weights = self.weights
        weights[0].assign(self.kernel_initializer(weights[0].shape, self.dtype))
        if self.use_bias:
            weights[1].assign(self.bias_initializer(weights[1].shape, self.dtype))

    @property
    def kernel(self):
        return self.weights[0]

    @property
    def bias(self):
        return self.weights[1] if self.use_bias else None
