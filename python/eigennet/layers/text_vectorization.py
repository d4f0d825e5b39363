"""TextVectorization: raw strings to token indices or token vectors (Keras 3).

Standardization, splitting and n-grams run in Python on the strings (with TF's rules:
ASCII lowercasing, Keras's punctuation set, splitting on ASCII whitespace, n-grams joined
by a space, widths in order); the vocabulary and its lookup are a StringLookup's (mask
"" at 0, "[UNK]" at 1, then tokens by count). The layer prepares data (`x =
vectorize(texts)`) or sits on a model's string input, where it runs in Python before the
native graph (numbers only; see _stage_layer).
"""

from __future__ import annotations

import re

import numpy as np

from eigennet.layers import _adapt_data, _categorical
from eigennet.layers._ops_layer import OpsLayer
from eigennet.layers._stage_layer import PreprocessingStageLayer
from eigennet.layers.hashing import reject_symbolic
from eigennet.layers.index_lookup import StringLookup

_PUNCTUATION = str.maketrans("", "", "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")


def _check_choice(name: str, value, allowed: tuple):
    if value is None or callable(value) or value in allowed:
        return value
    raise ValueError(
        f"TextVectorization: invalid value for argument `{name}`. Expected one of "
        f"{allowed}, None or a callable. Received: {name}={value!r}"
    )


class TextVectorization(PreprocessingStageLayer, OpsLayer):
    """Turns strings into sequences of token indices or into token vectors.

    Args:
        max_tokens: Most vocabulary entries (mask and OOV included), or None.
        standardize: "lower_and_strip_punctuation" (default), "lower", "strip_punctuation",
            None or a callable taking and returning a NumPy array of str.
        split: "whitespace" (default), "character", None or a callable taking a NumPy array
            of str and returning a list of token lists.
        ngrams: None, an int n (1..n-grams) or a tuple of widths.
        output_mode: "int" (default), "multi_hot", "count", "tf_idf" (or "one_hot").
        output_sequence_length: "int" mode: pad or cut every sequence to this length
            (default: the longest of the batch).
        pad_to_max_tokens: Vectors of length `max_tokens` in the other modes.
        vocabulary: Optional list of tokens or a file path.
        idf_weights: "tf_idf" with a given vocabulary.
        sparse, ragged: Only False.
        encoding: The encoding of bytes inputs (default "utf-8").
    """

    def __init__(
        self,
        max_tokens=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        vocabulary=None,
        idf_weights=None,
        sparse=False,
        ragged=False,
        encoding="utf-8",
        name=None,
        **kwargs,
    ):
        kwargs.pop("dtype", None)
        has_input = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        _check_choice(
            "standardize",
            standardize,
            ("lower_and_strip_punctuation", "lower", "strip_punctuation"),
        )
        _check_choice("split", split, ("whitespace", "character"))
        output_mode = _categorical.check_output_mode(
            "TextVectorization", output_mode, ("int", "one_hot", "multi_hot", "count", "tf_idf")
        )
        if not (
            ngrams is None
            or (isinstance(ngrams, int) and not isinstance(ngrams, bool) and ngrams >= 1)
            or (
                isinstance(ngrams, (tuple, list))
                and ngrams
                and all(isinstance(i, int) and not isinstance(i, bool) and i >= 1 for i in ngrams)
            )
        ):
            raise ValueError(
                "TextVectorization: `ngrams` must be None, a positive integer, or a tuple of "
                f"positive integers. Received: ngrams={ngrams}"
            )
        if output_mode == "int":
            _categorical.check_positive_int(
                "TextVectorization",
                "output_sequence_length",
                output_sequence_length,
                allow_none=True,
            )
        elif output_sequence_length is not None:
            raise ValueError(
                "TextVectorization: `output_sequence_length` must not be set if `output_mode` "
                f"is not 'int'. Received output_sequence_length={output_sequence_length}."
            )
        if sparse or ragged:
            raise ValueError(
                "TextVectorization: `sparse` and `ragged` are not supported by eigennet"
            )
        self._max_tokens = max_tokens
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = tuple(ngrams) if isinstance(ngrams, list) else ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else self._ngrams_arg
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens,
            mask_token="",
            output_mode=output_mode,
            encoding=encoding,
            has_input_vocabulary=has_input,
            vocabulary_size=vocabulary_size,
            name=f"{self.name}_lookup",
        )

    # -- text processing ------------------------------------------------------------------
    def _strings(self, inputs) -> np.ndarray:
        values = np.asarray(inputs)
        if values.dtype.kind == "O":
            values = np.asarray(values.tolist())
        if values.dtype.kind == "S":
            values = np.char.decode(values, self._encoding)
        if values.dtype.kind != "U":
            raise ValueError(
                f"TextVectorization {self.name!r}: inputs must be strings, got dtype {values.dtype}"
            )
        return values

    def _standardized(self, values: np.ndarray) -> np.ndarray:
        mode = self._standardize
        if callable(mode):
            return np.asarray(mode(values)).astype(np.str_)
        if mode in ("lower", "lower_and_strip_punctuation"):
            values = np.char.translate(values, _ASCII_LOWER)
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            values = np.char.translate(values, _PUNCTUATION)
        return values

    def _tokens(self, text: str) -> list:
        if self._split == "whitespace":
            return [t for t in _WHITESPACE.split(text) if t]
        return list(text)  # "character": Unicode code points, as tf.strings.unicode_split

    def _ngrammed(self, tokens: list) -> list:
        if self._ngrams is None:
            return tokens
        return [
            " ".join(tokens[i : i + n]) for n in self._ngrams for i in range(len(tokens) - n + 1)
        ]

    def _preprocess(self, inputs):
        """The token lists of the texts (split), or the standardized strings (no split)."""
        values = self._standardized(self._strings(inputs))
        if self._split is None:
            return values
        if values.ndim > 1:
            if values.shape[-1] != 1:
                raise ValueError(
                    "When using `TextVectorization` to tokenize strings, the input rank must be "
                    "1 or the last shape dimension must be 1. Received: "
                    f"inputs.shape={values.shape} with rank={values.ndim}"
                )
            values = values[..., 0]
        scalar = values.ndim == 0
        texts = values.reshape(-1).tolist()
        if callable(self._split):
            docs = [list(d) for d in self._split(np.asarray(texts, dtype=np.str_))]
        else:
            docs = [self._tokens(t) for t in texts]
        docs = [self._ngrammed(d) for d in docs]
        return docs[0] if scalar else docs

    # -- adapt and vocabulary ---------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Builds the vocabulary from texts (an array or list of strings, a PyDataset or an
        iterable of batches of strings)."""
        docs_batches = []
        for batch in _adapt_data.batches("TextVectorization", data, steps):
            values = self._strings(batch)
            if values.ndim == 0:
                values = values.reshape(1)
            processed = self._preprocess(values)
            if self._split is None:
                docs = [
                    np.asarray(v, dtype=np.str_).reshape(-1)
                    for v in processed.reshape(len(processed), -1)
                ]
            else:
                docs = [np.asarray(d, dtype=np.str_) for d in processed]
            docs_batches.append(docs)
        if not any(len(d) for docs in docs_batches for d in docs):
            raise ValueError(f"TextVectorization {self.name!r}: adapt() received empty data")
        self._lookup_layer.adapt(iter(docs_batches))

    def get_vocabulary(self, include_special_tokens=True) -> list:
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None) -> None:
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # -- call -----------------------------------------------------------------------------
    def call(self, inputs):
        reject_symbolic(self, inputs)
        processed = self._preprocess(inputs)
        lookup = self._lookup_layer
        if self._split is None:
            indices = lookup._lookup(processed)
            if self._output_mode != "int":
                if indices.ndim <= 1:
                    indices = indices.reshape(-1, 1)
                return lookup._encode(indices)
            if self._output_sequence_length is not None and indices.ndim:
                indices = self._fit_length(indices)
            return indices
        if processed and not isinstance(processed[0], list):  # one text (a scalar input)
            processed = [processed]
        sequences = [
            lookup._lookup(np.asarray(d, dtype=np.str_)) if d else np.zeros(0, np.int64)
            for d in processed
        ]
        lookup._called = True
        if self._output_mode == "int":
            length = self._output_sequence_length
            if length is None:
                length = max((len(s) for s in sequences), default=0)
            out = np.zeros((len(sequences), length), dtype=np.int64)
            for row, seq in zip(out, sequences):
                row[: min(len(seq), length)] = seq[:length]
            return out
        depth = lookup.max_tokens if lookup.pad_to_max_tokens else lookup.vocabulary_size()
        counts = np.zeros((len(sequences), depth), dtype=np.float32)
        for row, seq in zip(counts, sequences):
            seq = seq[(seq >= 0) & (seq < depth)]
            np.add.at(row, seq, 1.0)
        if self._output_mode in ("multi_hot", "one_hot"):
            return np.minimum(counts, 1.0)
        if self._output_mode == "tf_idf":
            return counts * lookup._idf[:depth]
        return counts

    def _fit_length(self, indices: np.ndarray) -> np.ndarray:
        length = self._output_sequence_length
        indices = indices[..., :length]
        pad = length - indices.shape[-1]
        if pad > 0:
            indices = np.pad(indices, [(0, 0)] * (indices.ndim - 1) + [(0, pad)])
        return indices

    def compute_output_shape(self, input_shape):
        if self._output_mode == "int":
            return (input_shape[0], self._output_sequence_length)
        lookup = self._lookup_layer
        depth = lookup.max_tokens if lookup.pad_to_max_tokens else lookup._frozen_vocab_size
        return (input_shape[0], depth)

    # -- config ---------------------------------------------------------------------------
    def get_config(self):
        from eigennet.saving import serialization_lib

        lookup = self._lookup_layer
        config = super().get_config()
        config.pop("dtype", None)
        standardize, split = self._standardize, self._split
        if callable(standardize):
            standardize = serialization_lib.serialize_keras_object(standardize)
        if callable(split):
            split = serialization_lib.serialize_keras_object(split)
        config.update(
            {
                "max_tokens": lookup.max_tokens,
                "standardize": standardize,
                "split": split,
                "ngrams": self._ngrams_arg,
                "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens,
                "sparse": False,
                "ragged": False,
                "vocabulary": lookup._saved_vocabulary(),
                "idf_weights": lookup._saved_idf(),
                "encoding": self._encoding,
                "vocabulary_size": self.vocabulary_size(),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        from eigennet.saving import serialization_lib

        config = dict(config)
        for key in ("standardize", "split"):
            if config.get(key) is not None and not isinstance(config[key], str):
                config[key] = serialization_lib.deserialize_keras_object(config[key])
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        if config.get("vocabulary") is not None:
            config.pop("vocabulary_size", None)
        return cls(**config)
