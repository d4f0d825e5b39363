"""`keras.utils.pad_sequences`: lists of sequences of different lengths as one array."""

from __future__ import annotations

import numpy as np


def pad_sequences(
    sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0
):
    """Pads (or truncates) sequences to one length, as Keras 3's `pad_sequences`.

    Args:
        sequences: A list (or any sized iterable) of sequences; each a list or array whose
            elements may themselves be arrays of one common shape.
        maxlen: Optional int, the length of the result; defaults to the longest sequence.
        dtype: The result's dtype ("int32" by default, as Keras; `object` for strings).
        padding: "pre" or "post": pad before or after each sequence.
        truncating: "pre" or "post": drop values from the start or the end of sequences
            longer than `maxlen`.
        value: The padding value (float or string).

    Returns:
        An array of shape `(len(sequences), maxlen, *element_shape)`.

    Raises:
        ValueError: `sequences` is not sized, an element is not a sequence, elements have
            different shapes, a string `value` with a non-string dtype, or an unknown
            `padding`/`truncating`.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    lengths, element_shape, found = [], (), False
    for seq in sequences:
        try:
            lengths.append(len(seq))
        except TypeError as e:
            raise ValueError(
                f"`sequences` must be a list of iterables. Found non-iterable: {seq}"
            ) from e
        if not found and len(seq):  # the first non-empty sequence fixes the element shape
            element_shape = np.asarray(seq).shape[1:]
            found = True
    if maxlen is None:
        maxlen = np.max(lengths)  # an empty `sequences` raises ValueError here, as Keras
    is_text = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings."
        )
    out = np.full((len(lengths), maxlen, *element_shape), value, dtype=dtype)
    for row, seq in enumerate(sequences):
        if not len(seq):
            continue
        if truncating == "pre":
            kept = seq[-maxlen:]
        elif truncating == "post":
            kept = seq[:maxlen]
        else:
            raise ValueError(f'Truncating type "{truncating}" not understood')
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != element_shape:
            raise ValueError(
                f"Shape of sample {kept.shape[1:]} of sequence at position {row} is "
                f"different from expected shape {element_shape}"
            )
        if padding == "post":
            out[row, : len(kept)] = kept
        elif padding == "pre":
            out[row, -len(kept) :] = kept
        else:
            raise ValueError(f'Padding type "{padding}" not understood')
    return out
