"""Functional configs record each layer call's positional and keyword arguments (Keras 3's
`inbound_nodes` entries `{"args": [...], "kwargs": {...}}`) and replay `layer(*args, **kwargs)`.

Round trips through get_config/from_config and `.keras` files; Keras 3 (torch backend)
rebuilding eigennet's configs and eigennet rebuilding Keras's configs and loading its files;
bad configs raising a ValueError.
"""

import json
import os

import numpy as np
import pytest

import eigennet

os.environ.setdefault("KERAS_BACKEND", "torch")


def _block_class(lib):
    class Block(lib.layers.Layer):
        """A custom layer called with a tensor keyword argument and a plain one."""

        def __init__(self, scale=1.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, x, attention_mask=None, training=None, factor=1.0):
            y = x * self.scale * factor
            if attention_mask is not None:
                y = y * lib.ops.expand_dims(attention_mask, -1)
            return y

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    return Block


BLOCKS = {}


def _block(lib):
    if lib not in BLOCKS:
        BLOCKS[lib] = _block_class(lib)
    return BLOCKS[lib]


def _mha_self(lib):
    x = lib.Input((5, 8), name="x")
    y = lib.layers.MultiHeadAttention(2, 4, name="mha")(x, x, use_causal_mask=True)
    return lib.Model(x, lib.layers.Dense(3, name="head")(y))


def _mha_cross(lib):
    q, v = lib.Input((5, 8), name="q"), lib.Input((6, 8), name="v")
    m = lib.Input((5, 6), name="m")
    y = lib.layers.MultiHeadAttention(2, 4, name="mha")(q, v, attention_mask=m)
    return lib.Model([q, v, m], y)


def _mha_key(lib):
    q, v, k = lib.Input((5, 8), name="q"), lib.Input((6, 8), name="v"), lib.Input((6, 4), name="k")
    return lib.Model([q, v, k], lib.layers.MultiHeadAttention(2, 4, name="mha")(q, v, k))


def _mha_query_as_key(lib):
    q, v = lib.Input((5, 8), name="q"), lib.Input((5, 4), name="v")
    return lib.Model([q, v], lib.layers.MultiHeadAttention(2, 4, name="mha")(q, v, q))


def _luong_causal(lib):
    q, v = lib.Input((5, 4), name="q"), lib.Input((5, 4), name="v")
    y = lib.layers.Attention(use_scale=True, name="att")([q, v], use_causal_mask=True)
    z = lib.layers.AdditiveAttention(name="add_att")([q, v, y], use_causal_mask=False)
    return lib.Model([q, v], [y, z])


def _custom_kwargs(lib):
    x, m = lib.Input((5, 8), name="x"), lib.Input((5,), name="m")
    y = _block(lib)(2.0, name="blk")(x, attention_mask=m, factor=0.5)
    return lib.Model([x, m], lib.layers.Dense(2, name="head")(y))


def _training_false(lib):
    x = lib.Input((8,), name="x")
    y = lib.layers.Dropout(0.5, name="drop")(x, training=False)
    y = _block(lib)(3.0, name="blk")(y, training=False)
    return lib.Model(x, lib.layers.Dense(3, name="d")(y))


def _shared(lib):
    a, b = lib.Input((8,), name="a"), lib.Input((8,), name="b")
    dense = lib.layers.Dense(4, name="d")
    return lib.Model([a, b], lib.layers.Add(name="add")([dense(a), dense(b)]))


def _nested(lib):
    x = lib.Input((8,), name="x")
    inner_in = lib.Input((8,), name="inner_in")
    inner = lib.Model(
        inner_in,
        [lib.layers.Dense(4, name="i1")(inner_in), lib.layers.Dense(2, name="i2")(inner_in)],
        name="inner",
    )
    a, b = inner(x)
    c, _ = inner(lib.layers.Dense(8, name="pre")(x))
    return lib.Model(x, [lib.layers.Concatenate(name="cat")([a, b, c]), a])


def _masked(lib):
    x = lib.Input((6,), dtype="int32", name="ids")
    e = lib.layers.Embedding(10, 8, mask_zero=True, name="emb")(x)
    y = lib.layers.MultiHeadAttention(2, 4, name="mha")(e, e)
    return lib.Model(x, lib.layers.GlobalAveragePooling1D(name="gap")(y))


CASES = {
    "mha_self_causal": _mha_self,
    "mha_cross_attention_mask": _mha_cross,
    "mha_key": _mha_key,
    "mha_query_as_key": _mha_query_as_key,
    "attention_use_causal_mask": _luong_causal,
    "custom_layer_kwargs": _custom_kwargs,
    "training_false": _training_false,
    "shared_layer": _shared,
    "nested_model": _nested,
    "masked": _masked,
}


def _data(model, n=4):
    rng = np.random.default_rng(0)
    out = []
    for t in model.inputs:
        shape = (n, *t.shape[1:])
        if "int" in str(t.dtype):
            ids = rng.integers(1, 10, shape)
            ids[:, 4:] = 0
            out.append(ids.astype("int32"))
        elif t.name in ("m",) or getattr(t, "name", "").startswith("m"):
            out.append((rng.random(shape) > 0.3).astype("float32"))
        else:
            out.append(rng.normal(size=shape).astype("float32"))
    return out


def _predict(model, data):
    out = model.predict(data, verbose=0)
    return [np.asarray(o) for o in (out if isinstance(out, list) else [out])]


def _custom(lib):
    return {"Block": _block(lib)}


def _nodes(config):
    return {entry["name"]: entry["inbound_nodes"] for entry in config["layers"]}


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_and_file_round_trips(case, tmp_path):
    model = CASES[case](eigennet)
    config = model.get_config()
    rebuilt = eigennet.Model.from_config(
        json.loads(json.dumps(config)), custom_objects=_custom(eigennet)
    )
    assert _nodes(rebuilt.get_config()) == _nodes(config)
    data = _data(model)
    model.save(tmp_path / "m.keras")
    loaded = eigennet.models.load_model(tmp_path / "m.keras", custom_objects=_custom(eigennet))
    for a, b in zip(_predict(loaded, data), _predict(model, data)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert _nodes(loaded.get_config()) == _nodes(config)


def test_calls_record_their_arguments():
    config = _mha_cross(eigennet).get_config()
    (call,) = _nodes(config)["mha"]
    assert [a["config"]["keras_history"] for a in call["args"]] == [["q", 0, 0], ["v", 0, 0]]
    assert call["kwargs"]["attention_mask"]["config"]["keras_history"] == ["m", 0, 0]
    (call,) = _nodes(_mha_self(eigennet).get_config())["mha"]
    assert call["kwargs"] == {"use_causal_mask": True}
    nodes = _nodes(_training_false(eigennet).get_config())
    assert nodes["drop"][0]["kwargs"] == {"training": False}
    assert nodes["blk"][0]["kwargs"] == {"training": False}
    (call,) = _nodes(_custom_kwargs(eigennet).get_config())["blk"]
    assert call["kwargs"]["factor"] == 0.5
    # masks stay implicit: no mask op and no mask argument in the config
    config = _masked(eigennet).get_config()
    assert [e["class_name"] for e in config["layers"]] == [
        "InputLayer", "Embedding", "MultiHeadAttention", "GlobalAveragePooling1D",
    ]  # fmt: skip
    assert all(n["kwargs"] == {} for n in sum(_nodes(config).values(), []))


def test_node_indices_count_the_model_s_calls_only():
    """A layer called outside the model before: indices count this model's calls, as Keras."""
    dense = eigennet.layers.Dense(3, name="shared_d")
    dense(eigennet.Input((4,)))  # a call that is not part of the model below
    x = eigennet.Input((4,), name="x")
    model = eigennet.Model(x, dense(x))
    assert model.get_config()["output_layers"] == ["shared_d", 0, 0]
    assert eigennet.Model.from_config(model.get_config()).output_shape == (None, 3)


# -- crossing with Keras 3 -----------------------------------------------------------------------
@pytest.fixture
def keras():
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_rebuilds_our_configs(keras, case):
    model = CASES[case](eigennet)
    config = json.loads(json.dumps(model.get_config()))
    theirs = keras.Model.from_config(json.loads(json.dumps(config)), custom_objects=_custom(keras))
    assert sorted(type(layer).__name__ for layer in theirs.layers) == sorted(
        type(layer).__name__ for layer in model.layers
    )
    assert [tuple(t.shape) for t in theirs.outputs] == [tuple(t.shape) for t in model.outputs]
    # the same model as Keras rebuilds from its own config (Keras's MultiHeadAttention counts
    # no parameters before it runs once)
    own = keras.Model.from_config(CASES[case](keras).get_config(), custom_objects=_custom(keras))
    assert theirs.count_params() == own.count_params()
    assert _nodes(json.loads(json.dumps(theirs.get_config()))) == _nodes(config) or case in (
        "masked",  # Keras adds its mask op and mask arguments
        "nested_model",  # Keras adds mask=None to a model's calls
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_we_rebuild_keras_configs(keras, case):
    theirs = CASES[case](keras)
    config = json.loads(json.dumps(theirs.get_config()))
    ours = eigennet.Model.from_config(config, custom_objects=_custom(eigennet))
    assert [tuple(t.shape) for t in ours.outputs] == [tuple(t.shape) for t in theirs.outputs]
    assert ours.count_params() == theirs.count_params()
    if case != "masked":  # (Keras lists its mask op and mask arguments; eigennet's are implicit)
        assert _nodes(ours.get_config()) == _nodes(config) or case == "nested_model"


@pytest.mark.parametrize("case", sorted(CASES))
def test_we_load_keras_files_with_their_weights(keras, case, tmp_path):
    pytest.importorskip("h5py")
    theirs = CASES[case](keras)
    path = tmp_path / "keras.keras"
    theirs.save(path)
    ours = eigennet.models.load_model(path, custom_objects=_custom(eigennet))
    data = _data(ours)
    expected = theirs.predict(data, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    for a, b in zip(_predict(ours, data), expected):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)


# -- bad configs ---------------------------------------------------------------------------------
def _config_with(mutate):
    config = json.loads(json.dumps(_mha_cross(eigennet).get_config()))
    mutate(_nodes(config)["mha"])
    return config


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda n: n[0]["args"][0]["config"].update(keras_history=["nope", 0, 0]), "unknown"),
        (lambda n: n[0]["args"][0]["config"].update(keras_history=["q", 5, 0]), "never computed"),
        (lambda n: n[0]["args"][0]["config"].update(keras_history=["q", 0, 3]), "unknown tensor"),
        (lambda n: n[0]["args"][0]["config"].update(keras_history="q"), "keras_history"),
        (lambda n: n[0].update(args="q"), "inbound node"),
        (lambda n: n[0].update(kwargs=[1]), "inbound node"),
        (lambda n: n.__setitem__(0, [["q", 0, 0, {}]]), "Keras 2"),
        (lambda n: n.__setitem__(0, 7), "inbound node"),
        (lambda n: n[0]["kwargs"].update(bogus=1), "cannot be called"),
    ],
)
def test_bad_configs_raise_value_errors(mutate, message):
    with pytest.raises(ValueError, match=message):
        eigennet.Model.from_config(_config_with(mutate))


def test_multi_head_attention_weights_use_keras_s_paths_and_older_files_load(tmp_path):
    """MultiHeadAttention's weights are saved under Keras's sublayers (query_dense, key_dense,
    value_dense, output_dense); a file of an older eigennet (all under its own vars) loads."""
    import io
    import zipfile

    model = _mha_cross(eigennet)
    model.save(tmp_path / "new.keras")
    from eigennet.saving.state import model_state

    with zipfile.ZipFile(tmp_path / "new.keras") as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members.pop("model.weights.h5", None)  # the old file: npz weights (h5 has the same keys)
    state = model_state(model)
    subs = ("query_dense", "key_dense", "value_dense", "output_dense")
    assert sorted(k for k in state if "multi_head_attention" in k) == sorted(
        f"layers/multi_head_attention/{s}/vars/{i}" for s in subs for i in (0, 1)
    )
    old = {
        f"layers/multi_head_attention/vars/{2 * j + i}": state.pop(
            f"layers/multi_head_attention/{s}/vars/{i}"
        )
        for j, s in enumerate(subs)
        for i in (0, 1)
    }
    buffer = io.BytesIO()
    np.savez(buffer, **state, **old)
    members["model.weights.npz"] = buffer.getvalue()
    with zipfile.ZipFile(tmp_path / "old.keras", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    data = _data(model)
    for path in ("new.keras", "old.keras"):
        loaded = eigennet.models.load_model(tmp_path / path)
        np.testing.assert_allclose(
            _predict(loaded, data)[0], _predict(model, data)[0], rtol=1e-6, atol=1e-7
        )
