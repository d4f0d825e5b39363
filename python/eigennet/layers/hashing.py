"""Hashing: categorical features (strings or integers) hashed into `num_bins` bins, with
the hashes TensorFlow computes for Keras 3 (so the bins equal Keras's): FarmHash
Fingerprint64, or SipHash-2-4 keyed by `salt`. Computed natively on arrays; the layer
prepares data, or sits on a model's input and runs before the model's graph (whose tensors
are numbers; see _stage_layer).
"""

from __future__ import annotations

import numpy as np

from eigennet.layers import _categorical, _string_hash
from eigennet.layers._ops_layer import OpsLayer
from eigennet.layers._stage_layer import PreprocessingStageLayer
from eigennet.layers.keras_tensor import is_symbolic


def check_salt(layer: str, salt):
    """Keras's salt: None, an int (used twice) or 2 ints; as a list of 2 ints."""
    if salt is None:
        return None
    if (
        isinstance(salt, (tuple, list))
        and len(salt) == 2
        and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in salt)
    ):
        return [int(s) for s in salt]
    if isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    raise ValueError(
        f"The `salt` argument for `{layer}` can only be a tuple of size 2 integers, or a "
        f"single integer. Received: salt={salt}."
    )


def reject_symbolic(layer, inputs) -> None:
    """The string layers run in Python, outside the native graph: in a model only on its
    inputs (see _stage_layer), never inside a layer's traced call()."""
    if is_symbolic(inputs):
        raise ValueError(
            f"Layer {layer.name!r} ({type(layer).__name__}) runs on data in Python: in a model "
            "it can only be applied to the model's inputs (right after keras.Input), not inside "
            f"a layer's call() or after other layers. Else apply it to the data first (e.g. "
            f"`x = {type(layer).__name__.lower()}(raw_data)`) and give the model its output."
        )


class Hashing(PreprocessingStageLayer, OpsLayer):
    """Hashes values into `num_bins` bins (Keras 3).

    Args:
        num_bins: Number of bins, including the mask bin when `mask_value` is set.
        mask_value: Optional value that maps to bin 0 (the others to 1..num_bins-1).
        salt: Optional int or pair of ints: use the keyed SipHash (Keras's
            `to_hash_bucket_strong`) instead of FarmHash Fingerprint64.
        output_mode: "int" (bins, int64), "one_hot", "multi_hot" or "count".
        sparse: Only False.

    Strings are hashed as UTF-8 bytes, integers as their decimal strings, floats after
    truncation to integers (as Keras). NumPy "S" arrays drop trailing NUL bytes, so
    b"a\\x00" hashes as b"a" (TF keeps them).
    """

    def __init__(
        self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs
    ):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        dtype = kwargs.pop("dtype")
        if output_mode == "int" and dtype not in ("int32", "int64"):
            raise ValueError(
                'Hashing: when `output_mode="int"`, `dtype` should be an integer type, '
                f"'int32' or 'int64'. Received: dtype={dtype}"
            )
        super().__init__(dtype="float32" if output_mode == "int" else dtype, **kwargs)
        self._output_dtype = dtype
        if (
            num_bins is None
            or isinstance(num_bins, bool)
            or not isinstance(num_bins, (int, np.integer))
            or num_bins <= 0
        ):
            raise ValueError(
                "The `num_bins` for `Hashing` cannot be `None` or non-positive values. "
                f"Received: num_bins={num_bins}."
            )
        self.output_mode = _categorical.check_output_mode(
            "Hashing", output_mode, ("int", *_categorical.OUTPUT_MODES)
        )
        if sparse:
            raise ValueError("Hashing: `sparse=True` is not supported by eigennet")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.salt = check_salt("Hashing", salt)
        self.strong_hash = self.salt is not None
        self.sparse = False

    def _stage_problem(self, dtype: str) -> str | None:
        return None  # strings or numbers

    def _bins(self, values: np.ndarray) -> np.ndarray:
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = values == self.mask_value
        out = _string_hash.hash_bucket(values, bins, self.salt)
        if mask is not None:
            out = np.where(mask, 0, out + 1)
        return out

    def call(self, inputs):
        reject_symbolic(self, inputs)
        values = np.asarray(inputs)
        if values.dtype.kind == "O":
            values = np.asarray(values.tolist())
        if values.dtype.kind not in "SUiufb":
            raise ValueError(
                f"Hashing {self.name!r}: inputs must be strings or numbers, got dtype "
                f"{values.dtype}"
            )
        if self.output_mode == "one_hot" and values.ndim and values.shape[-1] == 1:
            values = values[..., 0]
        bins = self._bins(values)
        if self.output_mode == "int":
            return bins.astype(self._output_dtype)
        return _categorical.encode(bins, self.output_mode, self.num_bins, self._output_dtype)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_bins,)
        return (*tuple(input_shape)[:-1], self.num_bins)

    def get_config(self):
        config = super().get_config()
        config["dtype"] = self._output_dtype
        return {
            **config,
            "num_bins": self.num_bins,
            "salt": self.salt,
            "mask_value": self.mask_value,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        dtype = config.get("dtype")
        if isinstance(dtype, dict):
            config["dtype"] = (dtype.get("config") or {}).get("name")
        return cls(**config)
