"""GroupNormalization (Keras 3's layer), written with keras.ops and traced into the graph.

The channels (axis `axis`) are split into `groups`; each sample is normalized over each
group's channels and every other non-batch axis, then scaled by `gamma` and shifted by `beta`
per channel: Keras's computation (`moments`, `rsqrt(variance + epsilon)`), each a native op.
"""

from __future__ import annotations

import numpy as np

from eigennet import constraints, initializers, ops, regularizers
from eigennet.layers._ops_layer import OpsLayer, serialized


class GroupNormalization(OpsLayer):
    """Group normalization (Wu & He, 2018).

    Args:
        groups: Number of groups (default 32); -1 makes each channel a group (instance
            normalization). Must divide the number of channels.
        axis: The channel axis (default -1).
        epsilon: Added to the variance (default 1e-3).
        center: Whether to add the learned offset `beta` (default True).
        scale: Whether to multiply by the learned `gamma` (default True).
        beta_initializer, gamma_initializer: default "zeros" and "ones".
        beta_regularizer, gamma_regularizer: Optional regularizers.
        beta_constraint, gamma_constraint: Optional `eigennet.constraints`.

    Weights, in Keras order: `gamma (channels,)` when scale, then `beta (channels,)` when
    center.
    """

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        if (
            isinstance(groups, bool)
            or not isinstance(groups, int)
            or (groups <= 0 and groups != -1)
        ):
            raise ValueError(
                "Received an invalid value for argument `groups`, expected a positive integer "
                f"(or `-1` for instance normalization). Received: groups={groups}"
            )
        super().__init__(**kwargs)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.groups = groups
        self.axis = axis
        self.epsilon = epsilon
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma = self.beta = None

    def build(self, input_shape):
        shape = tuple(input_shape)
        if (
            not isinstance(self.axis, int)
            or not -len(shape) < self.axis < len(shape)
            or (self.axis % len(shape) == 0)
        ):
            raise ValueError(
                f"Axis {self.axis} is out of bounds for input shape {shape}. "
                f"Received: axis={self.axis}"
            )
        dim = shape[self.axis]
        if dim is None:
            raise ValueError(
                f"Axis {self.axis} of input tensor should have a defined dimension but the "
                f"layer received an input with shape {shape}."
            )
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(
                f"Number of groups ({self.groups}) cannot be more than the number of channels "
                f"({dim})."
            )
        if dim % self.groups != 0:
            raise ValueError(
                f"Number of groups ({self.groups}) must be a multiple of the number of "
                f"channels ({dim})."
            )
        if self.scale:
            self.gamma = self.add_weight(
                shape=(dim,),
                initializer=initializers.fresh(self.gamma_initializer),
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                name="gamma",
            )
        if self.center:
            self.beta = self.add_weight(
                shape=(dim,),
                initializer=initializers.fresh(self.beta_initializer),
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                name="beta",
            )
        self.input_shape = shape

    def call(self, inputs, training=None):
        shape = tuple(getattr(inputs, "shape", np.shape(inputs)))
        rank = len(shape)
        axis = self.axis % rank
        dim = shape[axis]
        group_shape = [*shape[1:axis], self.groups, dim // self.groups, *shape[axis + 1 :]]
        x = ops.reshape(inputs, (-1, *group_shape))
        # every axis but the batch and the group one (axis, in the grouped tensor)
        reduce = tuple(a for a in range(1, rank + 1) if a != axis)
        mean, variance = ops.moments(x, axes=reduce, keepdims=True)
        inv = ops.rsqrt(ops.add(variance, self.epsilon))
        broadcast = [1] * (rank + 1)
        broadcast[axis], broadcast[axis + 1] = self.groups, dim // self.groups
        broadcast = tuple(broadcast[1:])
        if self.scale:
            inv = ops.multiply(inv, ops.reshape(self.gamma, broadcast))
        res = ops.multiply(ops.negative(mean), inv)
        if self.center:
            res = ops.add(res, ops.reshape(self.beta, broadcast))
        y = ops.add(ops.multiply(x, inv), res)
        return ops.reshape(y, (-1, *shape[1:]))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def init(i):
            return initializers.serialize(i) if isinstance(i, initializers.Initializer) else None

        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": init(self.beta_initializer),
            "gamma_initializer": init(self.gamma_initializer),
            "beta_regularizer": serialized(regularizers, self.beta_regularizer),
            "gamma_regularizer": serialized(regularizers, self.gamma_regularizer),
            "beta_constraint": serialized(constraints, self.beta_constraint),
            "gamma_constraint": serialized(constraints, self.gamma_constraint),
        }
