"""StringLookup and IntegerLookup: tokens mapped to indices through a vocabulary (Keras 3).

The lookup runs in NumPy (a sorted copy of the vocabulary and `searchsorted`, no loop over
elements in Python), on arrays, before the model: these layers prepare data (`x =
lookup(raw)`) or sit on a model's inputs, running before its graph (see _stage_layer).
Keras's rules are kept: index layout (mask, OOV indices, then tokens), `adapt` ordering
(by count, ties by token, both descending), OOV hashing with several OOV indices, the
"one_hot", "multi_hot", "count" and "tf_idf" outputs (IDF `log(1 + docs / (1 + df))`).

Saving: an adapted vocabulary (and IDF weights) is written into the layer's config, which
Keras also reads (it is what `vocabulary=` takes); Keras keeps it in an asset file instead.
"""

from __future__ import annotations

import collections
import os

import numpy as np

from eigennet.layers import _adapt_data, _categorical, _string_hash
from eigennet.layers._ops_layer import OpsLayer
from eigennet.layers._stage_layer import PreprocessingStageLayer
from eigennet.layers.hashing import check_salt, reject_symbolic

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


class IndexLookup(PreprocessingStageLayer, OpsLayer):
    """The shared lookup layer; use StringLookup or IntegerLookup."""

    _is_string = True

    def __init__(
        self,
        max_tokens,
        num_oov_indices,
        mask_token,
        oov_token,
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        name=None,
        **kwargs,
    ):
        layer = type(self).__name__
        kwargs.pop("dtype", None)
        kwargs.pop("trainable", None)
        self._frozen_vocab_size = kwargs.pop("vocabulary_size", None)
        has_input = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        super().__init__(name=name, **kwargs)
        max_tokens = _categorical.check_positive_int(
            layer, "max_tokens", max_tokens, minimum=2, allow_none=True
        )
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(
                f"{layer}: if `pad_to_max_tokens` is True, `max_tokens` must be set. "
                f"Received: max_tokens={max_tokens}"
            )
        num_oov_indices = _categorical.check_positive_int(
            layer, "num_oov_indices", num_oov_indices, minimum=0
        )
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(
                f"{layer}: invalid value for argument `oov_method`. Expected one of "
                f"('floormod', 'farmhash'). Received: oov_method={oov_method!r}"
            )
        if salt is not None and not self._is_string and oov_method != "farmhash":
            raise ValueError(
                f"{layer}: `salt` can only be used when `oov_method='farmhash'`. Received: "
                f"oov_method={oov_method}"
            )
        salt = check_salt(layer, salt)
        output_mode = _categorical.check_output_mode(layer, output_mode, _MODES)
        if invert and output_mode != "int":
            raise ValueError(
                f"{layer}: `output_mode` must be `'int'` when `invert` is true. Received: "
                f"output_mode={output_mode}"
            )
        if sparse:
            raise ValueError(f"{layer}: `sparse=True` is not supported by eigennet")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                f"{layer}: `idf_weights` should only be set if `output_mode` is `'tf_idf'`. "
                f"Received: idf_weights={idf_weights} and output_mode={output_mode}"
            )
        if output_mode == "tf_idf" and has_input and vocabulary is not None and idf_weights is None:
            raise ValueError(
                f"{layer}: when specifying the `vocabulary` argument, in TF-IDF output mode, "
                "the `idf_weights` argument must also be provided."
            )
        self.invert = invert
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = pad_to_max_tokens
        self.oov_method = oov_method
        self.salt = salt
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_input
        self._set_tokens(np.asarray([], dtype=self._token_dtype()), None)
        self._vocab_file = vocabulary if isinstance(vocabulary, str) else None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # -- conversions ----------------------------------------------------------------------
    def _token_dtype(self):
        return np.str_ if self._is_string else np.int64

    def _as_tokens(self, values) -> np.ndarray:
        """Inputs or vocabulary as an array of str (StringLookup) or int64 (IntegerLookup)."""
        values = np.asarray(values)
        if values.dtype.kind == "O":
            values = np.asarray(values.tolist())
        if self._is_string:
            if values.dtype.kind == "S":
                return np.char.decode(values, getattr(self, "encoding", "utf-8"))
            if values.dtype.kind == "U":
                return values
            if values.size == 0:
                return values.astype(np.str_)
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected string inputs, got dtype "
                f"{values.dtype}"
            )
        if values.dtype.kind in "iub" or values.size == 0:
            return values.astype(np.int64)
        if (
            values.dtype.kind == "f"
            and np.all(np.isfinite(values))
            and np.all(values == np.round(values))
        ):
            return values.astype(np.int64)
        raise ValueError(
            f"{type(self).__name__} {self.name!r}: expected integer inputs, got "
            f"{values.dtype} values that are not all integers"
        )

    # -- vocabulary -----------------------------------------------------------------------
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def _set_tokens(self, tokens: np.ndarray, idf_weights) -> None:
        self._tokens = tokens
        self._order = np.argsort(tokens, kind="stable")
        self._sorted = tokens[self._order]
        self._idf = idf_weights

    def vocabulary_size(self) -> int:
        """The vocabulary's size, including the mask and OOV indices."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """The vocabulary, index order (a token's index is its position when
        `include_special_tokens`)."""
        vocab = [self.oov_token] * self._token_start_index() + self._tokens.tolist()
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        if not include_special_tokens:
            vocab = vocab[self._token_start_index() :]
        return vocab

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        """Sets the vocabulary (and IDF weights in "tf_idf" mode), as Keras: an array/list
        of tokens, optionally starting with the special tokens, or a text file path (one
        token per line)."""
        layer = f"{type(self).__name__} {self.name!r}"
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{layer}: `idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(
                f"{layer}: `idf_weights` should only be set if output_mode is `'tf_idf'`. "
                f"Received: output_mode={self.output_mode} and idf_weights={idf_weights}"
            )
        if isinstance(vocabulary, (str, os.PathLike)):
            path = os.fspath(vocabulary)
            if not os.path.isfile(path):
                raise ValueError(f"{layer}: vocabulary file {path} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError(
                    f"{layer}: output_mode `'tf_idf'` does not support loading a vocabulary "
                    "from file."
                )
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
            while lines and lines[-1] == "":
                lines.pop()
            vocabulary = lines if self._is_string else [int(v) for v in lines]
        vocabulary = self._as_tokens(vocabulary)
        if vocabulary.ndim != 1 or vocabulary.size == 0:
            raise ValueError(
                f"{layer}: cannot set an empty (or non-flat) vocabulary. Received: "
                f"vocabulary={vocabulary}"
            )
        token_start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [
            self.oov_token
        ] * self.num_oov_indices
        found_special = (
            len(vocabulary) >= token_start and list(vocabulary[:token_start].tolist()) == special
        )
        tokens = vocabulary[token_start:] if found_special else vocabulary
        counts = collections.Counter(tokens.tolist())
        repeated = [t for t, c in counts.items() if c > 1]
        if repeated:
            raise ValueError(
                f"{layer}: the passed vocabulary has at least one repeated term. Please "
                f"uniquify your dataset. The repeated terms are: {repeated}"
            )
        for what, token in (("mask_token", self.mask_token), ("oov_token", self.oov_token)):
            if token is None or (what == "oov_token" and not self.invert):
                continue
            if token in counts:
                raise ValueError(
                    f"{layer}: found reserved {what} {token!r} at an unexpected location in "
                    "`vocabulary`. Note that passed `vocabulary` does not need to include the "
                    "OOV and mask tokens. Either remove all mask and OOV tokens, or include "
                    f"them only at the start of the vocabulary in precisely this order: "
                    f"{special}."
                )
        size = token_start + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(
                f"{layer}: attempted to set a vocabulary larger than the maximum vocab size. "
                f"Received vocabulary size is {size}; `max_tokens` is {self.max_tokens}."
            )
        idf = None
        if self.output_mode == "tf_idf":
            weights = np.asarray(idf_weights, dtype=np.float64)
            if weights.ndim != 1 or len(weights) != len(vocabulary):
                raise ValueError(
                    f"{layer}: `idf_weights` must be a flat list of the same length as the "
                    f"vocabulary. len(idf_weights) is {weights.size}; len(vocabulary) is "
                    f"{len(vocabulary)}"
                )
            if not np.isfinite(weights).all():
                raise ValueError(f"{layer}: `idf_weights` holds NaN or inf values")
            front = 0 if found_special else token_start
            idf = self._pad_idf(weights, front, weights.mean() if weights.size else 0.0)
        self._check_size_unchanged(size)
        self._set_tokens(tokens, idf)
        self._frozen_vocab_size = self.vocabulary_size()

    def _pad_idf(self, weights: np.ndarray, front: int, front_value: float) -> np.ndarray:
        back = 0
        if self.pad_to_max_tokens and self.max_tokens is not None:
            back = max(self.max_tokens - front - len(weights), 0)
        return np.pad(weights, (front, back), constant_values=(front_value, 0.0)).astype("float32")

    def _check_size_unchanged(self, size: int) -> None:
        if self.output_mode == "int" or self.pad_to_max_tokens:
            return
        if getattr(self, "_called", False) and self._frozen_vocab_size not in (None, size):
            raise RuntimeError(
                f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, "
                "the vocabulary size cannot be changed after the layer is called. Old vocab "
                f"size is {self._frozen_vocab_size}, new vocab size is {size}"
            )

    # -- adapt ----------------------------------------------------------------------------
    def _documents(self, batch, whole_array: bool) -> list:
        """A batch as a list of documents (1-D token arrays), as Keras: a rank-1 array given
        to adapt() is one token per document; a rank-1 batch of an iterable one document."""
        if isinstance(batch, list) and batch and all(isinstance(d, np.ndarray) for d in batch):
            return [self._as_tokens(d).reshape(-1) for d in batch]  # (TextVectorization's)
        values = self._as_tokens(batch)
        if values.size == 0:
            return []
        if values.ndim == 0:
            values = values.reshape(1, 1)
        elif values.ndim == 1:
            values = values[:, None] if whole_array else values[None, :]
        return list(values.reshape(len(values), -1))

    def adapt(self, data, steps=None):
        """Builds the vocabulary from `data` (an array or list, a PyDataset or an iterable
        of batches): tokens by count, ties by token, both descending; at most `max_tokens`
        indices in all. In "tf_idf" mode also the document frequencies (a row is a
        document)."""
        layer = f"{type(self).__name__} {self.name!r}"
        if self._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via "
                "`vocabulary` argument or `set_vocabulary()` method."
            )
        whole = isinstance(data, (np.ndarray, list, tuple)) and not isinstance(data, np.memmap)
        counts: collections.Counter = collections.Counter()
        doc_counts: collections.Counter = collections.Counter()
        documents = 0
        for batch in _adapt_data.batches(type(self).__name__, data, steps):
            docs = self._documents(batch, whole)
            if not self._is_string:
                for d in docs:
                    if d.size and not np.isfinite(d).all():
                        raise ValueError(f"{layer}: adapt() `data` holds NaN or inf values")
            flat = np.concatenate(docs) if docs else np.asarray([], self._token_dtype())
            tokens, n = np.unique(flat, return_counts=True)
            counts.update(dict(zip(tokens.tolist(), n.tolist())))
            if self.output_mode == "tf_idf":
                documents += len(docs)
                unique = [np.unique(d) for d in docs]
                if unique:
                    tokens, n = np.unique(np.concatenate(unique), return_counts=True)
                    doc_counts.update(dict(zip(tokens.tolist(), n.tolist())))
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        if not counts:
            raise ValueError(f"{layer}: adapt() received empty data (no tokens)")
        tokens = np.asarray(list(counts.keys()), dtype=self._token_dtype())
        n = np.asarray(list(counts.values()), dtype=np.int64)
        order = np.lexsort((tokens, n))[::-1]
        if self.max_tokens:
            order = order[: self.max_tokens - self._token_start_index()]
        tokens = tokens[order]
        idf = None
        if self.output_mode == "tf_idf":
            df = np.asarray([doc_counts[t] for t in tokens.tolist()], dtype=np.float64)
            weights = np.log(1.0 + documents / (1.0 + df)).astype("float32")
            idf = self._pad_idf(weights, self._token_start_index(), float(np.mean(weights)))
        self._check_size_unchanged(self._token_start_index() + len(tokens))
        self._set_tokens(tokens, idf)
        self._frozen_vocab_size = self.vocabulary_size()

    # -- lookup ---------------------------------------------------------------------------
    def _lookup(self, values: np.ndarray) -> np.ndarray:
        """Indices of `values` (int64), OOV and mask rules applied; mask positions are -1
        outside "int" mode (they encode as zeros)."""
        n = len(self._sorted)
        pos = np.searchsorted(self._sorted, values) if n else np.zeros(values.shape, np.int64)
        clipped = np.minimum(pos, max(n - 1, 0))
        found = (pos < n) & (self._sorted[clipped] == values) if n else np.zeros(values.shape, bool)
        indices = np.where(found, self._order[clipped] + self._token_start_index(), -1)
        mask = values == self.mask_token if self.mask_token is not None else None
        missing = ~found if mask is None else ~found & ~mask
        if missing.any():
            if self.num_oov_indices == 0:
                raise ValueError(
                    f"{type(self).__name__} {self.name!r}: when `num_oov_indices=0` all inputs "
                    f"should be in vocabulary, found OOV values {np.unique(values[missing])}, "
                    "consider setting `num_oov_indices=1`."
                )
            oov = values[missing]
            if self.num_oov_indices == 1:
                bucket = 0
            elif not self._is_string and self.oov_method != "farmhash":
                bucket = np.mod(oov, self.num_oov_indices)
            else:
                bucket = _string_hash.hash_bucket(oov, self.num_oov_indices, self.salt)
            indices[missing] = bucket + self._oov_start_index()
        if mask is not None:
            indices[mask] = 0 if self.output_mode == "int" else -1
        return indices.astype(np.int64)

    def _invert(self, values: np.ndarray) -> np.ndarray:
        vocab = np.asarray(self.get_vocabulary(), dtype=object)
        valid = (values >= 0) & (values < len(vocab))
        out = np.where(valid, vocab[np.where(valid, values, 0)], self.oov_token)
        if self.mask_token is not None:
            out = np.where(values == 0, self.mask_token, out)
        return out.astype(self._token_dtype())

    def call(self, inputs):
        reject_symbolic(self, inputs)
        layer = f"{type(self).__name__} {self.name!r}"
        if self.output_mode != "int" and not self.pad_to_max_tokens and not len(self._tokens):
            raise RuntimeError(
                f"{layer}: when using `output_mode={self.output_mode}` and "
                "`pad_to_max_tokens=False`, you must set the layer's vocabulary before calling "
                "it. Either pass a `vocabulary` argument to the layer, or call `adapt` with "
                "some sample data."
            )
        self._called = True
        if self.invert:
            values = np.asarray(inputs)
            if values.dtype.kind not in "iu":
                raise ValueError(f"{layer}: with invert=True the inputs are integer indices")
            return self._invert(values.astype(np.int64))
        indices = self._lookup(self._as_tokens(inputs))
        return self._encode(indices)

    def _stage_problem(self, dtype: str) -> str | None:
        if self.invert:
            return "with invert=True its output (strings) cannot enter the model's graph"
        if self._is_string:
            return super()._stage_problem(dtype)
        if dtype.startswith("int"):
            return None
        return (
            'it reads a model input of integers, e.g. keras.Input(shape=(1,), dtype="int64"), '
            f"got one of dtype {dtype}"
        )

    def _encode(self, indices: np.ndarray):
        if self.output_mode == "int":
            return indices
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = _categorical.encode(indices, mode, depth, "float32")
        if self.output_mode == "tf_idf":
            if self._idf is None:
                raise ValueError(
                    f"{type(self).__name__} {self.name!r}: when `output_mode` is `'tf_idf'`, "
                    "`idf_weights` must be provided (or adapt() called)."
                )
            out = out * self._idf[:depth]
        return out

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        return _categorical.output_shape(input_shape, mode, depth)

    # -- config ---------------------------------------------------------------------------
    def _saved_vocabulary(self):
        if self.input_vocabulary is not None:
            vocab = self.input_vocabulary
            return vocab.tolist() if isinstance(vocab, np.ndarray) else list(vocab)
        return self._tokens.tolist() if len(self._tokens) else None

    def _saved_idf(self):
        if self.input_idf_weights is not None:
            return np.asarray(self.input_idf_weights).tolist()
        if self._idf is None or self.input_vocabulary is not None:
            return None
        start = self._token_start_index()
        return self._idf[start : start + len(self._tokens)].tolist()

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "invert": self.invert,
                "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices,
                "oov_token": self.oov_token,
                "mask_token": self.mask_token,
                "output_mode": self.output_mode,
                "sparse": self.sparse,
                "pad_to_max_tokens": self.pad_to_max_tokens,
                "idf_weights": self._saved_idf(),
                "vocabulary": self._saved_vocabulary(),
                "vocabulary_size": self._frozen_vocab_size,
                "oov_method": self.oov_method,
                "salt": self.salt,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("vocabulary") is not None and config.get("vocabulary_size") is not None:
            config.pop("vocabulary_size")  # recomputed from the vocabulary
        return cls(**config)


class StringLookup(IndexLookup):
    """Maps strings to integer indices (Keras 3's StringLookup).

    Args:
        max_tokens: Most indices in the vocabulary (mask and OOV included), or None.
        num_oov_indices: OOV indices (default 1); with several, an OOV string goes to
            `Fingerprint64(string) % num_oov_indices` (keyed SipHash with `salt`), as Keras.
        mask_token: Optional token for index 0 (padding).
        oov_token: The OOV token returned by `invert=True` (default "[UNK]").
        vocabulary: Optional list/array of tokens or a text file path.
        idf_weights: IDF weights for "tf_idf" with a given vocabulary.
        invert: Map indices back to strings.
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        pad_to_max_tokens: Output vectors of length `max_tokens`.
        sparse: Only False.
        encoding: The encoding of bytes inputs (default "utf-8").
        salt: Optional int or 2 ints for keyed OOV hashing.
    """

    _is_string = True

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token="[UNK]",
        vocabulary=None,
        idf_weights=None,
        invert=False,
        output_mode="int",
        pad_to_max_tokens=False,
        sparse=False,
        encoding="utf-8",
        name=None,
        salt=None,
        **kwargs,
    ):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            pad_to_max_tokens=pad_to_max_tokens,
            sparse=sparse,
            name=name,
            salt=salt,
            **kwargs,
        )

    def get_config(self):
        return {**super().get_config(), "encoding": self.encoding}


class IntegerLookup(IndexLookup):
    """Maps integers to contiguous indices (Keras 3's IntegerLookup).

    Args: as StringLookup, with `oov_token=-1` by default and `oov_method` ("floormod":
    an OOV value goes to `value % num_oov_indices`; "farmhash": its decimal string hashed).
    """

    _is_string = False

    def __init__(
        self,
        max_tokens=None,
        num_oov_indices=1,
        mask_token=None,
        oov_token=-1,
        vocabulary=None,
        vocabulary_dtype="int64",
        idf_weights=None,
        invert=False,
        output_mode="int",
        sparse=False,
        pad_to_max_tokens=False,
        oov_method="floormod",
        salt=None,
        name=None,
        **kwargs,
    ):
        if vocabulary_dtype != "int64":
            raise ValueError(
                "IntegerLookup: only `vocabulary_dtype='int64'` is supported at this time. "
                f"Received: vocabulary_dtype={vocabulary_dtype}"
            )
        for what, token in (("mask_token", mask_token), ("oov_token", oov_token)):
            if token is not None and (
                isinstance(token, bool) or not isinstance(token, (int, np.integer))
            ):
                raise ValueError(
                    f"IntegerLookup: `{what}` must be an int or None. Received: {what}={token!r}"
                )
        super().__init__(
            max_tokens=max_tokens,
            num_oov_indices=num_oov_indices,
            mask_token=mask_token,
            oov_token=oov_token,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            invert=invert,
            output_mode=output_mode,
            sparse=sparse,
            pad_to_max_tokens=pad_to_max_tokens,
            oov_method=oov_method,
            salt=salt,
            name=name,
            **kwargs,
        )

    def get_config(self):
        config = super().get_config()
        config["vocabulary_dtype"] = "int64"
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config
