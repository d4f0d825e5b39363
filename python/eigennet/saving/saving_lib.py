"""`.keras` archives and `.weights.h5` / `.weights.npz` files.

A `.keras` file is a zip, laid out as Keras 3's:
    metadata.json       {"format_version", "eigennet_version", "date_saved"}
    config.json         the model in Keras's serialized form, with build and compile configs
    model.weights.h5    the state (see eigennet.saving.state for the keys) as Keras 3 writes
                        it, so that Keras 3 loads the file; when h5py is installed
    model.weights.npz   the same keys as NumPy arrays (no pickle), when h5py is not
The loader reads whichever the archive holds (Keras 3's files included). Every write goes
to a temporary file that replaces the target only when complete.
Under MPI (eigennet.distributed) only rank 0 writes: the ranks hold the same model.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
import warnings
import zipfile

import numpy as np

from eigennet._rank import is_primary
from eigennet.saving import serialization_lib
from eigennet.saving.file_io import (
    H5PY_MISSING,
    ArrayStore,
    LoadError,
    atomic_write,
    h5py_available,
    import_h5py,
    open_regular,
    open_zip,
    parse_json,
    read_json_member,
    read_member,
    write_h5,
)
from eigennet.saving.state import (
    load_model_state,
    model_state,
    quantize_as_saved,
    state_byte_bound,
)

# Version of the layout written here; files of a later version are refused, earlier ones
# must stay loadable. 2: recurrent, wrapper and custom layers' weights and subclassed
# models' layers at Keras's paths (see eigennet.saving.state), h5 weights with h5py.
FORMAT_VERSION = 2

_CONFIG, _METADATA = "config.json", "metadata.json"
_WEIGHTS_NPZ, _WEIGHTS_H5 = "model.weights.npz", "model.weights.h5"


def _path(filepath) -> str:
    try:
        return os.fspath(filepath)
    except TypeError:
        raise TypeError(f"filepath must be a str or os.PathLike, got {filepath!r}") from None


def _check_overwrite(path: str, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} exists and overwrite=False")


# -- whole models ---------------------------------------------------------------------------
def save_model(model, filepath, overwrite: bool = True, zipped=None, **kwargs) -> None:
    """Saves `model` as a `.keras` zip (see the module docstring)."""
    path = _path(filepath)
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
    if zipped is False:
        raise ValueError("eigennet saves zipped .keras files only (zipped=False is not supported)")
    if not path.endswith(".keras"):
        raise ValueError(
            "Invalid filepath extension for saving: eigennet saves models as .keras files "
            f"(the legacy .h5 format is not supported). Received: filepath={path}"
        )
    _check_overwrite(path, overwrite)
    if not is_primary():  # under MPI rank 0 writes; the ranks hold the same model
        return
    config = json.dumps(serialization_lib.serialize_keras_object(model))
    metadata = json.dumps(_metadata())
    state = model_state(model)
    as_h5 = h5py_available()
    if not as_h5:
        warnings.warn(
            f"Saving {path} with NumPy .npz weights, which eigennet loads but Keras cannot: "
            f"for a file Keras 3 opens (HDF5 weights), {H5PY_MISSING}",
            UserWarning,
            stacklevel=3,
        )
    with atomic_write(path) as f, zipfile.ZipFile(f, "w") as zf:
        zf.writestr(_METADATA, metadata)
        zf.writestr(_CONFIG, config)
        if as_h5:
            # h5py needs a seekable file: build it on disk, then copy it into the zip.
            with tempfile.TemporaryFile(dir=os.path.dirname(os.path.abspath(path))) as tmp:
                write_h5(tmp, state)
                tmp.seek(0)
                with zf.open(_WEIGHTS_H5, "w", force_zip64=True) as weights:
                    shutil.copyfileobj(tmp, weights, 1 << 20)
        else:
            with zf.open(_WEIGHTS_NPZ, "w", force_zip64=True) as weights:
                np.savez(weights, **state)


def _metadata() -> dict:
    from eigennet import __version__

    return {
        "format_version": FORMAT_VERSION,
        "eigennet_version": __version__,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }


def _check_metadata(metadata, source: str) -> None:
    if not isinstance(metadata, dict):
        raise LoadError(f"{source}: metadata.json must hold a JSON object")
    version = metadata.get("format_version")
    if version is None:
        if "keras_version" not in metadata:
            raise LoadError(
                f"{source}: metadata.json has neither format_version nor keras_version; "
                "it is not a model saved by eigennet or Keras 3"
            )
        return  # a Keras file
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise LoadError(f"{source}: invalid format_version {version!r} in metadata.json")
    if version > FORMAT_VERSION:
        raise LoadError(
            f"{source} was saved in format version {version} by eigennet "
            f"{metadata.get('eigennet_version', '?')}; this eigennet reads versions up to "
            f"{FORMAT_VERSION}: upgrade eigennet to load it"
        )


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Loads a model saved by `model.save` (or a Keras 3 `.keras` file of supported layers
    with h5 weights, when h5py is installed): architecture, weights, and, with
    compile=True, the compile config and the optimizer state, so training continues
    exactly where it stopped. `safe_mode` is accepted for Keras compatibility; eigennet
    never deserializes code."""
    path = _path(filepath)
    if not path.endswith(".keras"):
        raise ValueError(f"Invalid filename: expected a .keras extension. Received: {path}")
    with open_zip(path) as zf:
        _check_metadata(read_json_member(zf, _METADATA, path), path)
        config = read_json_member(zf, _CONFIG, path)
        # The model first: its size bounds how much of the weights member is read.
        model = _model_from_config(config, custom_objects, compile, path)
        store = _archive_weights(zf, path, model)
        try:
            quantize_as_saved(model, store)
            load_model_state(model, store, strict=True)
        finally:
            store.close()
    return model


def _archive_weights(zf: zipfile.ZipFile, path: str, model) -> ArrayStore:
    """The weights member of a .keras archive, read up to what `model`'s state can take."""
    names = zf.namelist()
    limit, what = state_byte_bound(model), f" for model {model.name!r}"
    if _WEIGHTS_NPZ in names:
        member = read_member(zf, _WEIGHTS_NPZ, path, limit, what)
        npz = ArrayStore.from_npz(member, path)
        if "__root__" in npz:  # Keras's NpzIOStore layout: one pickled dict per layer
            npz.close()
            raise LoadError(
                f"{path}: Keras's npz weights store pickled dicts, which eigennet refuses to "
                "load; save the Keras model with its default .h5 weights instead"
            )
        return npz
    if _WEIGHTS_H5 in names:
        return ArrayStore.from_h5(read_member(zf, _WEIGHTS_H5, path, limit, what), path)
    raise LoadError(f"{path}: the archive has no {_WEIGHTS_NPZ} (nor Keras's {_WEIGHTS_H5})")


def _model_from_config(config, custom_objects, compile: bool, source: str):
    from eigennet.models import Model

    if not isinstance(config, dict) or "class_name" not in config:
        raise LoadError(
            f"{source}: config.json does not describe a model (expected a JSON object with "
            "'class_name' and 'config')"
        )
    config = dict(config)
    compile_config = config.pop("compile_config", None)
    try:
        model = serialization_lib.deserialize_keras_object(config, "models", custom_objects)
        if not isinstance(model, Model):
            raise ValueError(f"it describes a {type(model).__name__}, not a model")
        if compile and compile_config:
            # The optimizer is built when its state is loaded, for the variables it had.
            try:
                model.compile_from_config(compile_config, build_optimizer=False)
            except serialization_lib.UnknownObjectError as e:  # Keras: load, uncompiled
                warnings.warn(
                    f"{source}: the model is loaded without compiling it: {e}", stacklevel=3
                )
    except LoadError:
        raise
    except RecursionError:  # parse_json bounds the depth; kept as a last resort
        raise LoadError(f"{source}: config.json is nested too deeply to load") from None
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        MemoryError,
        OverflowError,
        RuntimeError,  # pybind11's "Unable to cast" for a value of the wrong type
    ) as e:
        raise LoadError(f"{source}: config.json cannot be loaded: {e}") from None
    return model


def model_from_json(json_string: str, custom_objects=None):
    """The model a `model.to_json()` string describes (new weights; compiled if the JSON
    holds a compile config, as Keras)."""
    if not isinstance(json_string, (str, bytes, bytearray)):
        raise ValueError(f"model_from_json expects a JSON string, got {type(json_string)}")
    config = parse_json(json_string, "model_from_json", "the JSON string")
    return _model_from_config(config, custom_objects, True, "model_from_json")


# -- weights only ---------------------------------------------------------------------------
_WEIGHTS_SUFFIX, _H5_SUFFIX = ".weights.npz", ".weights.h5"


def save_weights(model, filepath, overwrite: bool = True, max_shard_size=None) -> None:
    """Saves the model's state (weights, optimizer, random streams) to a `.weights.h5` file
    in Keras 3's layout (needs h5py) or a `.weights.npz` file (NumPy, eigennet only)."""
    path = _path(filepath)
    if max_shard_size is not None:
        raise ValueError("max_shard_size (sharded weights) is not supported by eigennet")
    if not path.endswith((_H5_SUFFIX, _WEIGHTS_SUFFIX)):
        raise ValueError(
            f"The filename must end in `{_H5_SUFFIX}` (Keras's HDF5 layout) or "
            f"`{_WEIGHTS_SUFFIX}` (NumPy). Received: filepath={path}"
        )
    if path.endswith(_H5_SUFFIX):
        import_h5py(f"Saving {path}")
    if not model.built:
        raise ValueError(
            "You are saving a model that has not yet been built. Try building the model "
            "first by calling it on some data or by using `build()`."
        )
    _check_overwrite(path, overwrite)
    if not is_primary():  # under MPI rank 0 writes; the ranks hold the same model
        return
    state = model_state(model)
    with atomic_write(path) as f:
        if path.endswith(_H5_SUFFIX):
            write_h5(f, state)
        else:
            np.savez(f, **state)


def load_weights(model, filepath, skip_mismatch: bool = False, **kwargs) -> None:
    """Loads a .weights.npz, a .keras archive's weights, or (with h5py) Keras's
    .weights.h5 into `model`. Raises before changing anything when they do not fit."""
    path = _path(filepath)
    if kwargs:
        raise ValueError(f"Invalid keyword arguments: {kwargs}")
    if skip_mismatch:
        raise ValueError("skip_mismatch=True is not supported by eigennet yet")
    if not model.built:
        raise ValueError(
            "You are loading weights into a model that has not yet been built. Try building "
            "the model first by calling it on some data or by using `build()`."
        )
    if path.endswith(_WEIGHTS_SUFFIX):
        # A regular file: its arrays are read one at a time after checking their shapes.
        with _bounded_weights_file(path, model) as fileobj:
            _load_store(model, ArrayStore.from_npz(fileobj, path))
    elif path.endswith(".keras"):
        with open_zip(path) as zf:
            _load_store(model, _archive_weights(zf, path, model))
    elif path.endswith(_H5_SUFFIX):
        with _bounded_weights_file(path, model) as fileobj:
            _load_store(model, ArrayStore.from_h5(fileobj, path))
    else:
        raise ValueError(
            f"File format not supported: filepath={path}. eigennet loads `{_WEIGHTS_SUFFIX}` "
            "files (from save_weights), `.keras` files, and Keras's `.weights.h5` when h5py "
            "is installed."
        )


def _bounded_weights_file(path: str, model):
    """The weights file `path`, opened, if it is no larger than `model`'s state can be: a
    larger one is not for this model, and its index (zip directory, HDF5 groups) would be
    read whole before any entry was checked."""
    fileobj = open_regular(path, "weights file")
    size, limit = os.fstat(fileobj.fileno()).st_size, state_byte_bound(model)
    if size > limit:
        fileobj.close()
        raise LoadError(
            f"{path}: {size} bytes, more than the {limit} a state of model {model.name!r} "
            "may hold; the file does not match the model's architecture (or is crafted)"
        )
    return fileobj


def _load_store(model, store: ArrayStore) -> None:
    try:
        load_model_state(model, store, strict=True)
    finally:
        store.close()
