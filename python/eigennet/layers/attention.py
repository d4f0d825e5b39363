"""Keras 3's MultiHeadAttention, written with keras.ops and traced into the native graph.

The projections are products with the weights reshaped to matrices (`(d, heads * key_dim)`),
which the graph builder fuses with their bias into one dense op; the attention itself is
the fused native `ops.dot_product_attention` (masks and dropout included) unless the
`(B, heads, T, S)` scores are returned; then scaled scores, the masked softmax of Keras's
`Softmax` layer (masked scores set to -1e9, masked probabilities to zero), dropout and the
product with the values, each a native op (and so on arrays, eagerly, with dropout).

Dropout draws natively at every training batch from the layer's `SeedGenerator` (the fused
op draws exactly what the dropout op would over the probabilities); it is the identity in
inference, so a model traces one graph for both modes.
Inputs of rank above 3 attend over all their axes between the batch and the features
(flattened into one sequence axis); other `attention_axes` raise a ValueError.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from eigennet import constraints, initializers, ops, random, regularizers
from eigennet.layers import quantization
from eigennet.layers._ops_layer import OpsLayer, check_seed, unit_interval
from eigennet.layers.einsum_quantization import Int8Einsum
from eigennet.regularizers import activity_penalty


def _shape(x) -> tuple:
    return tuple(getattr(x, "shape", np.shape(x)))


def _is_symbolic(*values) -> bool:
    from eigennet.ops.symbolic import is_symbolic

    return is_symbolic(*values)


def _positive_int(value, name: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        expected = "a positive integer or `None`" if allow_none else "a positive integer"
        raise ValueError(
            f"Received an invalid value for argument `{name}`, expected {expected}. "
            f"Received: {name}={value}"
        )
    return int(value)


def _projection_equation(free: int, bound: int, output: int) -> str:
    """The einsum of one of Keras's projections (its sublayer EinsumDense): `free` axes kept,
    `bound` contracted with the kernel, `output` made by it ("abc,cde->abde")."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    kept, inner, made = (
        letters[:free],
        letters[free : free + bound],
        letters[free + bound : free + bound + output],
    )
    return f"{kept}{inner},{inner}{made}->{kept}{made}"


class _Projection(NamedTuple):
    """One projection's weights; quantized, also its scale and its int8 product."""

    kernel: object
    bias: object
    scale: object = None
    int8: Int8Einsum | None = None


class MultiHeadAttention(OpsLayer):
    """Multi-head attention ("Attention is all you need"), Keras 3's layer.

    Args:
        num_heads: Number of attention heads.
        key_dim: Size of each head for query and key.
        value_dim: Size of each head for value (default `key_dim`).
        dropout: Dropout rate of the attention probabilities (training only).
        use_bias: Whether the projections have biases.
        output_shape: Shape of the output besides the batch and sequence axes (an int or a
            tuple); default the query's last dimension.
        attention_axes: Axes attention is applied over; only None (all axes between the
            batch and the features) or exactly those axes are supported.
        sliding_window: Optional positive int: each query attends only to keys less than
            `sliding_window` positions away.
        flash_attention: Accepted as None or False (eigennet's fused op is used anyway).
        kernel_initializer, bias_initializer: Initializers of the kernels and biases.
        kernel_regularizer, bias_regularizer: Penalties on the kernels and biases.
        activity_regularizer: Penalty on the outputs of the four projections, as Keras.
        kernel_constraint, bias_constraint: Optional `eigennet.constraints`.
        use_gate: Whether a sigmoid gate computed from the query multiplies the attention
            output before the output projection.
        seed: Optional int seeding the dropout.

    Call arguments: `query (B, T, dim)`, `value (B, S, dim)`, `key` (default `value`),
    `query_mask (B, T)`, `value_mask (B, S)`, `key_mask (B, S)`, `attention_mask`
    (broadcastable to `(B, T, S)`, 1 attends and 0 does not), `return_attention_scores`,
    `training`, `use_causal_mask`. Returns `(B, T, output dim)`, and with
    `return_attention_scores=True` also the probabilities `(B, heads, T, S)`. (Keras 3 reads
    `query_mask` from the query's Keras mask and ignores one passed explicitly; eigennet has
    no Keras masks yet and applies the one passed.)

    Weights, in Keras's order: query kernel `(dim, heads, key_dim)` and bias
    `(heads, key_dim)`, key kernel and bias, gate kernel and bias (`use_gate`), value kernel
    `(dim, heads, value_dim)` and bias, output kernel `(heads, value_dim, *output_shape)`
    and bias `output_shape`.

    `quantize("int8")` (or `model.quantize("int8")`) quantizes the projections as Keras
    quantizes its EinsumDense sublayers: each kernel int8 with its `kernel_scale` in Keras's
    layout after the projection's bias, nothing of them trainable. The layer's dtype policy
    becomes `int8_from_<dtype>`, which Keras reads back (Keras itself saves the float policy
    and cannot load its own quantized attention).
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        sliding_window=None,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate=False,
        seed=None,
        **kwargs,
    ):
        self._num_heads = _positive_int(num_heads, "num_heads")
        self._key_dim = _positive_int(key_dim, "key_dim")
        value_dim = _positive_int(value_dim, "value_dim", allow_none=True)
        super().__init__(**kwargs)
        if flash_attention not in (None, False):
            raise ValueError(
                "MultiHeadAttention: flash_attention=True is not supported by eigennet (its "
                "attention op is fused already); use None"
            )
        self._value_dim = value_dim or self._key_dim
        self._dropout = unit_interval(dropout, "dropout")
        self._use_bias = bool(use_bias)
        self._use_gate = bool(use_gate)
        if output_shape:
            if isinstance(output_shape, (int, np.integer)):
                output_shape = (int(output_shape),)
            try:
                output_shape = tuple(output_shape)
            except TypeError:
                raise ValueError(
                    f"Invalid `output_shape`: {output_shape}. When specified, the "
                    "`output_shape` should be of type tuple, list, or int."
                ) from None
            for dim in output_shape:
                _positive_int(dim, "output_shape")
        self._output_shape = output_shape or None
        if isinstance(attention_axes, (int, np.integer)) and not isinstance(attention_axes, bool):
            attention_axes = (int(attention_axes),)
        elif attention_axes and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(
                "`attention_axes` must be an int, list, or tuple."
                f"Received: attention_axes={attention_axes}"
            )
        self._attention_axes = tuple(attention_axes) if attention_axes else None
        if sliding_window is not None:
            _positive_int(sliding_window, "sliding_window")
        self._sliding_window = sliding_window
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self.seed = check_seed(seed)
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))
        if self._dropout > 0:
            self.seed_generator = random.SeedGenerator(seed)
            # The seed of the native dropout op of every traced call: one value, so the
            # training and inference traces (of this layer and of layers calling it) are the
            # same graph; the op draws new masks at every batch and is the identity in
            # inference. (Calls of one layer at several places of a model share the stream.)
            self._traced_seed = self.seed_generator.next()

    # Keras's read-only properties
    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)

    # -- building ---------------------------------------------------------------------------
    def build(self, query_shape, value_shape=None, key_shape=None):
        """Makes the projection weights for inputs of these shapes (Keras's signature)."""
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        # as Keras, the config lists the axes attention is applied over once built
        self._attention_axes = tuple(range(1, len(query_shape) - 1))
        n, h, hv = self._num_heads, self._key_dim, self._value_dim
        out = self._output_shape or (query_shape[-1],)
        int8 = self.quantization_mode is not None
        if int8:
            quantization.check_supported(self.quantization_mode)

        def projection(name, shape, bias_shape, rank):
            if int8:
                kernel = self.add_weight(
                    shape=shape, initializer="zeros", dtype="int8", trainable=False,
                    name=f"{name}/kernel",
                )  # fmt: skip
            else:
                kernel = self.add_weight(
                    shape=shape,
                    initializer=initializers.fresh(self._kernel_initializer),
                    regularizer=self._kernel_regularizer,
                    constraint=self._kernel_constraint,
                    name=f"{name}/kernel",
                )
            bias = None
            if self._use_bias:
                bias = self.add_weight(
                    shape=bias_shape,
                    initializer=initializers.fresh(self._bias_initializer),
                    regularizer=self._bias_regularizer,
                    constraint=self._bias_constraint,
                    name=f"{name}/bias",
                )
            if not int8:
                return _Projection(kernel, bias)
            saved = Int8Einsum(self._equation(name, rank), rank, self._owner)
            scale = self.add_weight(
                shape=saved.scale_shape(shape), initializer="ones", trainable=False,
                name=f"{name}/kernel_scale",
            )  # fmt: skip
            computed = self._equation(name, 4 if name == "attention_output" else 3)
            return _Projection(kernel, bias, scale, Int8Einsum(computed, 3, self._owner))

        q_rank, k_rank, v_rank = (len(x) for x in (query_shape, key_shape, value_shape))
        self._query = projection("query", (query_shape[-1], n, h), (n, h), q_rank)
        self._key = projection("key", (key_shape[-1], n, h), (n, h), k_rank)
        if self._use_gate:
            self._gate = projection("gate", (query_shape[-1], n, hv), (n, hv), q_rank)
        self._value = projection("value", (value_shape[-1], n, hv), (n, hv), v_rank)
        self._output = projection("attention_output", (n, hv, *out), tuple(out), q_rank + 1)
        self._build_shapes = {
            "query_shape": query_shape,
            "value_shape": value_shape,
            "key_shape": key_shape,
        }
        self.input_shape = query_shape

    @property
    def _owner(self) -> str:
        return f"MultiHeadAttention {self.name!r}"

    def _equation(self, name: str, rank: int) -> str:
        """The einsum of projection `name` on inputs of `rank` axes, as Keras builds it."""
        if name == "attention_output":
            return _projection_equation(rank - 2, 2, len(self._output_shape or (None,)))
        return _projection_equation(rank - 1, 1, 2)

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantizes the projections' kernels as Keras quantizes its EinsumDense sublayers
        (see the class docstring)."""
        mode = quantization.resolve_mode(mode, config)
        quantization.check_layer(self, mode)
        if type_check and type(self) is not MultiHeadAttention:
            raise quantization.not_implemented(self)
        quantization.check_supported(mode)
        shapes = self._build_shapes
        ranks = {"key": len(shapes["key_shape"]), "value": len(shapes["value_shape"])}
        values = []
        for name, weights in self._projections():
            rank = ranks.get(name, len(shapes["query_shape"]))
            rank += name == "attention_output"  # its input has the heads' two axes
            plan = Int8Einsum(self._equation(name, rank), rank, self._owner)
            kernel, scale = plan.quantize_kernel(weights.kernel.numpy())
            values += [kernel, *([weights.bias.numpy()] if self._use_bias else []), scale]
        self._requantize(mode, values)

    def _projections(self) -> list[tuple[str, _Projection]]:
        """The projections in the order their weights are made."""
        gate = [("gate", self._gate)] if self._use_gate else []
        return [("query", self._query), ("key", self._key), *gate, ("value", self._value),
                ("attention_output", self._output)]  # fmt: skip

    def _traced_arguments(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """A call given as a list ([query, value(, key)]: older eigennet configs) is traced
        as query, value, key."""
        if len(args) == 1 and isinstance(args[0], (list, tuple)):
            query, value, key = (*args[0], None, None)[:3]
            return (query, value if value is not None else query, key), kwargs
        return args, kwargs

    def _check_shapes(self, query_shape, value_shape, key_shape) -> None:
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                "All dimensions of `value` and `key`, except the last one, must be equal. "
                f"Received: value_shape={value_shape} and key_shape={key_shape}"
            )
        rank = len(query_shape)
        if rank < 3 or len(value_shape) != rank:
            raise ValueError(
                f"MultiHeadAttention {self.name!r}: `query` and `value` must have the same "
                "rank, at least 3 (batch, sequence axes..., features). Received: "
                f"query_shape={query_shape}, value_shape={value_shape}"
            )
        default = tuple(range(1, rank - 1))
        if self._attention_axes is not None:
            axes = tuple(sorted(a if a >= 0 else rank + a for a in self._attention_axes))
            if axes != default:
                raise ValueError(
                    f"MultiHeadAttention {self.name!r}: eigennet attends over all the axes "
                    f"between the batch and the features ({default} for inputs of rank {rank}); "
                    f"attention_axes={self._attention_axes} is not supported yet"
                )

    def get_build_config(self):
        if not self.built:
            return None
        # Keras's form (Layer.build_from_config calls build(**shapes_dict))
        return {"shapes_dict": {k: list(v) for k, v in self._build_shapes.items()}}

    def build_from_config(self, config):
        if config and isinstance(config.get("shapes_dict"), dict):
            config = config["shapes_dict"]
        if config and "query_shape" in config:
            self.build(config["query_shape"], config["value_shape"], config.get("key_shape"))
        elif config and "input_shape" in config:
            self.build(config["input_shape"])

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                "All dimensions of `value` and `key`, except the last one, must be equal. "
                f"Received: value_shape={value_shape} and key_shape={key_shape}"
            )
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    # -- calling --------------------------------------------------------------------------
    def __call__(self, query, value=None, key=None, **kwargs):
        given = (query, value, key)
        user_call = (given[: max(i + 1 for i, v in enumerate(given) if v is not None)], kwargs)
        if value is None and isinstance(query, (list, tuple)):
            # an older eigennet config's form of a call: [query, value(, key)], or one tensor
            # for self-attention
            if not 1 <= len(query) <= 3:
                raise ValueError(
                    f"MultiHeadAttention {self.name!r}: called on a list of {len(query)} "
                    "tensors; expected [query, value] or [query, value, key]"
                )
            query, value, key = (*query, None, None)[:3] if len(query) > 1 else (query[0],) * 3
        if value is None:
            value = query  # an older eigennet config stores mha(x, x) as one input
        shapes = [_shape(query), _shape(value), None if key is None else _shape(key)]
        if not self.built:
            self.build(*shapes)
        else:
            self._check_call_shapes(*shapes)
        calls = len(self._inbound_nodes)
        result = super().__call__(query, value, key, **kwargs)
        self._note_call(calls, *user_call)  # the call as given, as Keras records it
        return result

    def _check_call_shapes(self, query_shape, value_shape, key_shape) -> None:
        key_shape = value_shape if key_shape is None else key_shape
        self._check_shapes(query_shape, value_shape, key_shape)
        built = self._build_shapes
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            expected = built[f"{what}_shape"][-1]
            if shape[-1] != expected:
                raise ValueError(
                    f"MultiHeadAttention {self.name!r}: the last dimension of `{what}` must be "
                    f"{expected} (the layer was built for it); received {what} of shape {shape}"
                )

    supports_masking = True  # the output carries the query's mask, as in Keras

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        key = value if key is None else key
        q_shape, v_shape = _shape(query), _shape(value)
        t_axes, s_axes = q_shape[1:-1], v_shape[1:-1]
        variable = None in t_axes or None in s_axes
        flat = len(q_shape) > 3
        t = None if None in t_axes else int(np.prod(t_axes))
        s = None if None in s_axes else int(np.prod(s_axes))
        if flat:  # attention over several axes: one sequence axis of their product
            if variable:
                raise ValueError(
                    f"MultiHeadAttention {self.name!r}: inputs of rank above 3 need fixed "
                    f"lengths; received query {q_shape} and value {v_shape}"
                )
            query = ops.reshape(query, (-1, t, q_shape[-1]))
            value = ops.reshape(value, (-1, s, v_shape[-1]))
            key = ops.reshape(key, (-1, s, _shape(key)[-1]))
        n = self._num_heads
        q = self._project(query, self._query)  # (B, T, N, H)
        k = self._project(key, self._key)  # (B, S, N, H)
        v = self._project(value, self._value)  # (B, S, N, Hv)

        # traced, the dropout op follows the model's mode (the rule of built-in layers in a
        # traced call()); on arrays, `training`
        symbolic = _is_symbolic(query, value, key)
        dropping = self._dropout > 0 and (symbolic or bool(training))
        masks = (query_mask, value_mask, key_mask, attention_mask)
        if variable and self._sliding_window is not None:
            raise ValueError(
                f"MultiHeadAttention {self.name!r}: sliding_window needs sequences of fixed "
                f"length; received query {q_shape} and value {v_shape}"
            )
        if use_causal_mask and flat:
            raise ValueError(
                "MultiHeadAttention: use_causal_mask needs one sequence axis (inputs of rank 3)"
            )
        parts = self._mask_parts(t, s, t_axes, s_axes, *masks)
        if not return_attention_scores and (symbolic or not dropping):
            # fused and blocked: no (B, N, T, S) tensor, memory linear in the length; its
            # dropout draws what random.dropout would over the probabilities
            rate, seed = (self._dropout, random._seed(self._traced_seed)) if dropping else (0, 0)
            attended = ops.nn.masked_attention(
                q, k, v, self._inverse_sqrt_key_dim, bool(use_causal_mask), *parts, rate, seed
            )
            scores = None
        else:
            if variable and use_causal_mask:
                raise ValueError(
                    f"MultiHeadAttention {self.name!r}: use_causal_mask with "
                    "return_attention_scores needs sequences of fixed length; received "
                    f"query {q_shape} and value {v_shape}"
                )
            mask = _combined_mask(t, s, *parts, use_causal_mask)
            logits = ops.einsum("bsnh,btnh->bnts", k, q * self._inverse_sqrt_key_dim)
            scores = _masked_softmax(logits, mask)
            probabilities = scores
            if dropping:
                seed = self._traced_seed if symbolic else self.seed_generator
                probabilities = random.dropout(scores, self._dropout, seed=seed)
            attended = ops.einsum("bnts,bsnh->btnh", probabilities, v)  # (B, T, N, Hv)
        if self._use_gate:
            attended = attended * ops.sigmoid(self._project(query, self._gate))
        kernel, bias, scale, int8 = self._output  # (N, Hv, *out), (*out)
        if int8 is not None:
            output = int8(attended, kernel, scale)
        else:
            letters = "opqrsuvw"[: len(kernel.shape) - 2]
            output = ops.einsum(f"btnh,nh{letters}->bt{letters}", attended, kernel)
        if bias is not None:
            output = output + bias
        self._penalize(output)
        if flat:
            output = ops.reshape(output, (-1, *t_axes, *kernel.shape[2:]))
        if return_attention_scores:
            if flat:
                scores = ops.reshape(scores, (-1, n, *t_axes, *s_axes))
            return output, scores
        return output

    def _project(self, x, weights):
        """x (B, L, d) times a kernel (d, N, H) plus a bias (N, H): (B, L, N, H)."""
        kernel, bias, scale, int8 = weights
        if int8 is not None:
            y = int8(x, kernel, scale)
        else:
            y = ops.einsum("bld,dnh->blnh", x, kernel)
        if bias is not None:
            y = y + bias
        self._penalize(y)
        return y

    def _penalize(self, y) -> None:
        penalty = activity_penalty(self._activity_regularizer, y)
        if penalty is not None:
            self.add_loss(penalty)

    def _mask_parts(self, t, s, t_axes, s_axes, query_mask, value_mask, key_mask, attention_mask):
        """The masks given as float ones and zeros: the query's (B, T), the keys' (B, S)
        (value and key masks together) and the pairs' (B or 1, T, S) (attention_mask and the
        sliding window); None where there is none. The causal mask stays a flag."""

        def checked(m, name, expected):
            shape = _shape(m)
            full = (None, *expected)
            ok = len(shape) <= len(full) and all(
                a in (1, b) or b is None or a is None for a, b in zip(shape[::-1], full[::-1])
            )
            if not ok:
                raise ValueError(
                    f"MultiHeadAttention {self.name!r}: `{name}` of shape {shape} is not "
                    f"broadcastable to (batch, {', '.join(map(str, expected))})"
                )
            return ops.nn.float_mask(m, self._native_dtype)

        query = None
        if query_mask is not None:
            query = ops.reshape(checked(query_mask, "query_mask", t_axes), (-1, t))
        key = None
        for m, name in ((value_mask, "value_mask"), (key_mask, "key_mask")):
            if m is not None:
                m = ops.reshape(checked(m, name, s_axes), (-1, s))
                key = m if key is None else key * m
        pairs = None
        if attention_mask is not None:
            m = checked(attention_mask, "attention_mask", (*t_axes, *s_axes))
            shape = _shape(m)
            if len(t_axes) > 1:  # one sequence axis of the attention axes: the full mask
                if shape[1:] != (*t_axes, *s_axes):
                    raise ValueError(
                        f"MultiHeadAttention {self.name!r}: with several attention axes "
                        f"`attention_mask` must have the shape (batch, {t_axes + s_axes}); "
                        f"received {shape}"
                    )
                m = ops.reshape(m, (-1, t, s))
            elif len(shape) == 2 and not _is_symbolic(m):  # (T, S): the same for all
                m = m[None]
            elif len(shape) != 3:
                raise ValueError(
                    f"MultiHeadAttention {self.name!r}: `attention_mask` must have the shape "
                    f"(batch, {t}, {s}) or one that broadcasts to it, with 3 axes; received "
                    f"{shape}"
                )
            rows_axis, cols_axis = _shape(m)[-2:]
            if len(t_axes) == 1 and rows_axis == 1 and cols_axis == s:  # one row for all queries
                m = ops.reshape(m, (-1, s))
                key = m if key is None else key * m
            elif len(t_axes) == 1 and cols_axis == 1 and rows_axis == t:  # whole query rows
                m = ops.reshape(m, (-1, t))
                query = m if query is None else query * m
            elif (rows_axis, cols_axis) == (t, s):
                pairs = m
            elif t is None or s is None:
                raise ValueError(
                    f"MultiHeadAttention {self.name!r}: an `attention_mask` of shape {shape} "
                    f"on sequences of variable length must be (batch, {t}, {s}), (batch, 1, "
                    f"{s}) or (batch, {t}, 1)"
                )
            else:
                pairs = m * np.ones((1, t, s), "float32")
        if self._sliding_window is not None:
            rows = np.arange(t)[:, None]
            cols = np.arange(s)[None, :]
            window = (np.abs(rows - cols) < self._sliding_window).astype(self._native_dtype)[None]
            pairs = window if pairs is None else pairs * window
        return query, key, pairs

    # -- config -------------------------------------------------------------------------------
    def get_config(self):
        base = super().get_config()
        base.pop("activity_regularizer", None)
        return {
            **base,
            "num_heads": self._num_heads,
            "key_dim": self._key_dim,
            "value_dim": self._value_dim,
            "dropout": self._dropout,
            "use_bias": self._use_bias,
            "use_gate": self._use_gate,
            "output_shape": self._output_shape,
            "attention_axes": self._attention_axes,
            "sliding_window": self._sliding_window,
            "kernel_initializer": initializers.serialize(self._kernel_initializer),
            "bias_initializer": initializers.serialize(self._bias_initializer),
            "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self._bias_regularizer),
            "activity_regularizer": regularizers.serialize(self._activity_regularizer),
            "kernel_constraint": constraints.serialize(self._kernel_constraint),
            "bias_constraint": constraints.serialize(self._bias_constraint),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        from eigennet.layers.layer import dtype_from_config

        config = dtype_from_config(dict(config))
        if isinstance(config.get("output_shape"), list):
            config["output_shape"] = tuple(config["output_shape"])
        if isinstance(config.get("attention_axes"), list):
            config["attention_axes"] = tuple(config["attention_axes"])
        return cls(**config)


def _combined_mask(t, s, query, key, pairs, causal):
    """The masks as one float (B or 1, T, S) tensor (None when there is none), for the
    unfused path that materializes the scores."""
    terms = []
    if query is not None:
        terms.append(ops.reshape(query, (-1, t, 1)))
    if key is not None:
        terms.append(ops.reshape(key, (-1, 1, s)))
    if pairs is not None:
        terms.append(pairs)
    if causal:
        terms.append(np.tril(np.ones((t, s), dtype="float32"))[None])
    if not terms:
        return None
    mask = terms[0]
    for other in terms[1:]:
        mask = mask * other
    return mask


def _masked_softmax(logits, mask):
    """Keras's Softmax with a mask: masked logits become -1e9, then after the softmax the
    masked probabilities are zero (so a row with nothing to attend to is all zeros)."""
    if mask is None:
        return ops.softmax(logits, axis=-1)
    mask = ops.expand_dims(mask, 1)  # (B, 1, T, S): the same for every head
    keep = ops.greater(mask, 0.5)
    probabilities = ops.softmax(ops.where(keep, logits, -1e9), axis=-1)
    return ops.where(keep, probabilities, 0.0)


class Attention(OpsLayer):
    """Dot-product attention (Luong), Keras 3's layer: `softmax(scores(query, key)) @ value`.

    Args:
        use_scale: Whether a trainable scalar `scale` multiplies the scores.
        score_mode: "dot" (`query @ key^T`) or "concat" (`concat_score_weight *
            sum(tanh(scale * (query + key)))`).
        dropout: Dropout rate of the attention probabilities (training only).
        seed: Optional int seeding the dropout.

    Call arguments: `inputs` = `[query (B, Tq, dim), value (B, Tv, dim)]` or with a third
    tensor, `key (B, Tv, dim)`; `mask` = `[query_mask (B, Tq), value_mask (B, Tv)]` (1 keeps,
    0 masks: masked values get scores 1e9 lower, masked queries a zero output);
    `return_attention_scores`, `training`, `use_causal_mask`. Returns `(B, Tq, value dim)`,
    and the probabilities `(B, Tq, Tv)` with `return_attention_scores=True`.

    Weights, in Keras's order: `scale` `()` (`use_scale`), `concat_score_weight` `()`
    (score_mode "concat"), both initialized to ones.
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = unit_interval(dropout, "dropout")
        self.seed = check_seed(seed)
        if self.dropout > 0:
            self.seed_generator = random.SeedGenerator(seed)
            self._traced_seed = self.seed_generator.next()  # as MultiHeadAttention's
        if self.score_mode not in ["dot", "concat"]:
            raise ValueError(
                "Invalid value for argument score_mode. Expected one of {'dot', 'concat'}. "
                f"Received: score_mode={score_mode}"
            )
        self.scale = None
        self.concat_score_weight = None

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                name="concat_score_weight", shape=(), initializer="ones"
            )

    def _validate_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, list):
            raise ValueError(
                f"{name} layer must be called on a list of inputs, namely [query, value] or "
                f"[query, value, key]. Received: inputs={inputs}."
            )
        if len(inputs) < 2 or len(inputs) > 3:
            raise ValueError(
                f"{name} layer accepts inputs list of length 2 or 3, namely [query, value] "
                f"or [query, value, key]. Received length: {len(inputs)}."
            )
        if mask is not None:
            if not isinstance(mask, list):
                raise ValueError(
                    f"{name} layer mask must be a list, namely [query_mask, value_mask]. "
                    f"Received: mask={mask}."
                )
            if len(mask) < 2 or len(mask) > 3:
                raise ValueError(
                    f"{name} layer accepts mask list of length 2 or 3. Received: "
                    f"inputs={inputs}, mask={mask}."
                )

    def _check_shapes(self, q, v, k, mask) -> None:
        name = f"{type(self).__name__} {self.name!r}"
        if len(q) != 3 or len(v) != 3 or len(k) != 3:
            raise ValueError(
                f"{name}: query, value and key must be (batch, steps, dim); received {q}, {v}, {k}"
            )
        if q[-1] != k[-1]:
            raise ValueError(
                f"{name}: the last dimension of query ({q[-1]}) and key ({k[-1]}) must be equal"
            )
        if k[1] != v[1] and None not in (k[1], v[1]):
            raise ValueError(
                f"{name}: key and value must have the same number of steps; received key "
                f"{k} and value {v}"
            )
        if mask is None:
            return
        for m, what, steps in ((mask[0], "query_mask", q[1]), (mask[1], "value_mask", v[1])):
            if m is None:
                continue
            shape = _shape(m)
            if len(shape) != 2 or shape[1] != steps:
                raise ValueError(f"{name}: {what} must be (batch, {steps}); received {shape}")

    def _calculate_scores(self, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -2, -1))
            if self.scale is not None:
                scores = scores * self.scale
            return scores
        q, k = ops.expand_dims(query, -2), ops.expand_dims(key, -3)
        summed = q + k if self.scale is None else self.scale * (q + k)
        return self.concat_score_weight * ops.sum(ops.tanh(summed), axis=-1)

    def call(
        self, inputs, mask=None, training=False, return_attention_scores=False,
        use_causal_mask=False,
    ):  # fmt: skip
        self._validate_inputs(inputs, mask)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        self._check_shapes(_shape(q), _shape(v), _shape(k), mask)
        q_mask = mask[0] if mask else None
        v_mask = mask[1] if mask else None
        scores = self._calculate_scores(q, k)  # (B, Tq, Tv)
        keep = None
        if v_mask is not None:
            keep = ops.expand_dims(ops.nn.float_mask(v_mask, self._native_dtype), -2)  # (B, 1, Tv)
        if use_causal_mask:
            tq, tv = _shape(q)[1], _shape(v)[1]
            if tq is None or tv is None:
                raise ValueError(
                    f"{type(self).__name__} {self.name!r}: use_causal_mask needs sequences of "
                    "fixed length"
                )
            causal = np.tril(np.ones((tq, tv), dtype=self._native_dtype))[None]
            keep = causal if keep is None else keep * causal
        if keep is not None:  # Keras: masked scores lowered by 1e9 (not replaced)
            scores = scores - (1.0 - keep) * 1e9
        weights = ops.softmax(scores, axis=-1)
        symbolic = _is_symbolic(q, v, k)
        dropped = weights
        if self.dropout > 0 and (symbolic or training):  # traced: the op follows the mode
            seed = self._traced_seed if symbolic else self.seed_generator
            dropped = random.dropout(weights, self.dropout, seed=seed)
        output = ops.matmul(dropped, v)
        if q_mask is not None:
            output = output * ops.expand_dims(ops.nn.float_mask(q_mask, self._native_dtype), -1)
        if return_attention_scores:
            return output, weights
        return output

    def build_from_config(self, config):
        if config and "input_shape" in config:  # the shapes of [query, value(, key)]
            self.build([tuple(shape) for shape in config["input_shape"]])

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape[0])[:-1], tuple(input_shape[1])[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
            "seed": self.seed,
        }


class AdditiveAttention(Attention):
    """Additive attention (Bahdanau), Keras 3's layer: scores `sum(scale * tanh(query +
    key))` over the features, then as `Attention`.

    Args:
        use_scale: Whether a trainable `scale` of shape `(dim,)` (glorot_uniform) weighs
            the features of the scores; else they are summed.
        dropout: Dropout rate of the attention probabilities (training only).
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        if self.use_scale:
            dim = tuple(input_shape[0])[-1]
            self.scale = self.add_weight(name="scale", shape=(dim,), initializer="glorot_uniform")

    def _calculate_scores(self, query, key):
        q, k = ops.expand_dims(query, -2), ops.expand_dims(key, -3)  # (B, Tq, 1, d), (B, 1, Tv, d)
        terms = ops.tanh(q + k)
        if self.scale is not None:
            terms = terms * self.scale
        return ops.sum(terms, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
