"""TensorBoard callback: the event-file format (CRC-32C, record framing, protobuf encoding)
against known bytes and TensorBoard's own protos, and fit's logs read back through
TensorBoard's EventAccumulator with Keras 3's layout (tags, steps, train/validation)."""

import io
import json
import os
import struct

import numpy as np
import pytest

import eigennet as keras
from eigennet.callbacks import _event_file as ef
from eigennet.callbacks.core import CallbackList

# -- format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"123456789", 0xE3069283),
        (b"", 0),
        (bytes(32), 0x8A9136AA),  # RFC 3720 B.4
        (bytes([0xFF] * 32), 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(range(31, -1, -1)), 0x113FDB5C),
    ],
)
def test_crc32c_known_vectors(data, expected):
    assert ef.crc32c(data) == expected


@pytest.mark.parametrize(
    "data, expected_hex",
    [  # bytes written by TensorBoard's RecordWriter
        (b"", "000000000000000029039807d8ea82a2"),
        (b"abc", "0300000000000000b099490e6162636e57f121"),
    ],
)
def test_record_framing_known_bytes(data, expected_hex):
    assert ef.frame_record(data).hex() == expected_hex


def test_record_framing_matches_tensorboard_writer():
    record_writer = pytest.importorskip("tensorboard.summary.writer.record_writer")
    rng = np.random.default_rng(0)
    for n in (1, 7, 255, 256, 70000):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        buffer = io.BytesIO()
        record_writer.RecordWriter(buffer).write(data)
        assert ef.frame_record(data) == buffer.getvalue()
    assert ef.masked_crc32c(b"") == 0xA282EAD8  # rotate(0) + the mask constant


def test_varint_encoding():
    assert ef.pb_varint(1, 0) == b"\x08\x00"
    assert ef.pb_varint(2, 300) == b"\x10\xac\x02"
    assert ef.pb_varint(1, -1) == b"\x08" + b"\xff" * 9 + b"\x01"
    assert ef.pb_bytes(3, "ab") == b"\x1a\x02ab"


def test_messages_parse_with_tensorboard_protos():
    event_pb2 = pytest.importorskip("tensorboard.compat.proto.event_pb2")
    graph_pb2 = pytest.importorskip("tensorboard.compat.proto.graph_pb2")
    values = np.array([-1.0, 0.0, 0.5, 2.0, 2.0])
    summary = ef.summary(
        ef.scalar_value("epoch_loss", 0.25),
        ef.histogram_value("d/kernel/histogram", values),
        ef.string_tensor_value("keras", '{"a": 1}', "graph_keras_model", b"1"),
        ef.image_value("w/image", np.arange(6, dtype=np.uint8).reshape(2, 3, 1)),
    )
    event = event_pb2.Event.FromString(ef.event(7, wall_time=12.5, summary=summary))
    assert event.wall_time == 12.5 and event.step == 7
    scalar, histo, tensor, image = event.summary.value
    assert scalar.tag == "epoch_loss" and scalar.simple_value == 0.25
    h = histo.histo
    assert (h.min, h.max, h.num, h.sum, h.sum_squares) == (-1.0, 2.0, 5.0, 3.5, 9.25)
    assert len(h.bucket) == len(h.bucket_limit) == 30 and sum(h.bucket) == 5
    assert h.bucket_limit[-1] == 2.0 and h.bucket[-1] == 2 and h.bucket[0] == 1
    assert tensor.metadata.plugin_data.plugin_name == "graph_keras_model"
    assert tensor.metadata.plugin_data.content == b"1"
    assert tensor.tensor.string_val == [b'{"a": 1}'] and tensor.tensor.dtype == 7
    assert (image.image.height, image.image.width, image.image.colorspace) == (2, 3, 1)
    assert image.image.encoded_image_string.startswith(b"\x89PNG")
    version = event_pb2.Event.FromString(ef.event(file_version="brain.Event:2"))
    assert version.file_version == "brain.Event:2" and version.step == 0
    graph = graph_pb2.GraphDef.FromString(
        ef.graph_def([("a", "InputLayer", []), ("b", "Dense", ["a"])])
    )
    assert [(n.name, n.op, list(n.input)) for n in graph.node] == [
        ("a", "InputLayer", []),
        ("b", "Dense", ["a"]),
    ]


def test_png_decodes():
    pil = pytest.importorskip("PIL.Image")
    for channels in (1, 3, 4):
        image = np.random.default_rng(channels).integers(0, 256, (5, 7, channels), np.uint8)
        decoded = np.asarray(pil.open(io.BytesIO(ef.png(image))))
        np.testing.assert_array_equal(decoded.reshape(image.shape), image)


def test_event_file_name_and_first_record(tmp_path):
    writer = ef.EventFileWriter(tmp_path / "run")
    writer.close()
    (name,) = os.listdir(tmp_path / "run")
    parts = name.split(".")
    assert parts[:3] == ["events", "out", "tfevents"] and parts[-1] == "v2"
    assert parts[3].isdigit() and parts[-3] == str(os.getpid()) and parts[-2].isdigit()
    data = (tmp_path / "run" / name).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    assert len(data) == 8 + 4 + length + 4
    assert b"brain.Event:2" in data


def test_failed_write_leaves_no_half_record(tmp_path, monkeypatch):
    writer = ef.EventFileWriter(tmp_path)
    size = os.path.getsize(writer.path)
    writer.add(ef.event(1, summary=ef.summary(ef.scalar_value("x", 1.0))))
    real_write = os.write

    def half_then_fail(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ef.os, "write", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        writer.flush()
    monkeypatch.undo()
    assert os.path.getsize(writer.path) == size
    writer.flush()  # the kept records go out once the disk recovers
    writer.close()
    assert os.path.getsize(writer.path) > size
    ea = _accumulator(tmp_path)
    assert [e.value for e in ea.Scalars("x")] == [1.0]


# -- the callback ---------------------------------------------------------------------


def _accumulator(path):
    module = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    ea = module.EventAccumulator(
        os.fspath(path), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0}
    )
    ea.Reload()
    return ea


def _scalars(ea, tag):
    return [(e.step, e.value) for e in ea.Scalars(tag)]


def _functional():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="out")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(
        keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def _data(n=40):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


def test_fit_epoch_logs_layout(tmp_path):
    pytest.importorskip("tensorboard")
    model = _functional()
    x, y = _data()
    tb = keras.callbacks.TensorBoard(tmp_path / "logs", histogram_freq=2)
    history = model.fit(
        x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0, callbacks=[tb]
    )
    assert sorted(os.listdir(tmp_path / "logs")) == ["train", "validation"]
    train, val = _accumulator(tmp_path / "logs/train"), _accumulator(tmp_path / "logs/validation")
    assert sorted(train.Tags()["scalars"]) == [
        "epoch_accuracy",
        "epoch_learning_rate",
        "epoch_loss",
    ]
    for name in ("loss", "accuracy"):
        np.testing.assert_allclose(
            [v for _, v in _scalars(train, f"epoch_{name}")], history.history[name], rtol=1e-6
        )
        assert [s for s, _ in _scalars(train, f"epoch_{name}")] == [0, 1, 2]
        np.testing.assert_allclose(
            [v for _, v in _scalars(val, f"epoch_{name}")], history.history[f"val_{name}"],
            rtol=1e-6,
        )  # fmt: skip
        # Keras validates through evaluate(): step = optimizer iterations (4 batches/epoch)
        assert [s for s, _ in _scalars(val, f"evaluation_{name}_vs_iterations")] == [4, 8, 12]
    np.testing.assert_allclose([v for _, v in _scalars(train, "epoch_learning_rate")], [0.05] * 3)
    hist_tags = ["hidden/kernel", "hidden/bias", "out/kernel", "out/bias"]
    assert sorted(train.Tags()["histograms"]) == sorted(f"{t}/histogram" for t in hist_tags)
    kernel = train.Histograms("out/kernel/histogram")
    assert [e.step for e in kernel] == [0, 2]  # every histogram_freq epochs
    final = model.get_layer("out").get_weights()[0]
    assert kernel[-1].histogram_value.num == final.size
    np.testing.assert_allclose(kernel[-1].histogram_value.max, final.max(), rtol=1e-6)
    assert train.Tags()["graph"] and not val.Tags()["graph"]
    nodes = {n.name: (n.op, list(n.input)) for n in train.Graph().node}
    input_name = model.layers[0].name
    assert nodes == {
        input_name: ("InputLayer", []),
        "hidden": ("Dense", [input_name]),
        "out": ("Dense", ["hidden"]),
    }
    (config,) = train.Tensors("keras")
    assert b'"class_name": "Functional"' in config.tensor_proto.string_val[0]
    assert val.Tags()["histograms"] == [] and val.Tags()["tensors"] == []
    assert len(os.listdir(tmp_path / "logs/train")) == 1


def test_tensorboard_ui_loading_path(tmp_path):
    """What TensorBoard's server loads: every value migrated to its plugin, and the Keras
    config turned into the conceptual graph by the graph plugin."""
    pea = pytest.importorskip("tensorboard.backend.event_processing.plugin_event_accumulator")
    keras_util = pytest.importorskip("tensorboard.plugins.graph.keras_util")
    model = _functional()
    x, y = _data()
    tb = keras.callbacks.TensorBoard(tmp_path, histogram_freq=1, write_images=True)
    model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0, callbacks=[tb])
    ea = pea.EventAccumulator(os.fspath(tmp_path / "train"))
    ea.Reload()
    plugins = {tag: ea.SummaryMetadata(tag).plugin_data.plugin_name for tag in ea.Tags()["tensors"]}
    assert plugins["epoch_loss"] == plugins["epoch_learning_rate"] == "scalars"
    assert plugins["out/kernel/histogram"] == "histograms"
    assert plugins["out/kernel/image"] == "images"
    assert plugins["__run_graph__"] == "graphs" and plugins["keras"] == "graph_keras_model"
    config = ea.Tensors("keras")[0].tensor_proto.string_val[0]
    graph = keras_util.keras_model_to_graph_def(json.loads(config))
    edges = {n.name.split("/")[-1]: [i.split("/")[-1] for i in n.input] for n in graph.node}
    assert edges == {model.layers[0].name: [], "hidden": [model.layers[0].name], "out": ["hidden"]}


def test_flushed_every_epoch_closed_at_train_end(tmp_path):
    pytest.importorskip("tensorboard")
    model = _functional()
    x, y = _data()
    tb = keras.callbacks.TensorBoard(tmp_path)
    seen = []

    def read_back(epoch, logs):
        seen.append([s for s, _ in _scalars(_accumulator(tmp_path / "train"), "epoch_loss")])
        if epoch == 2:
            raise RuntimeError("stop here")

    after = keras.callbacks.LambdaCallback(on_epoch_end=read_back)
    with pytest.raises(RuntimeError, match="stop here"):  # an error mid-training
        model.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[tb, after])
    assert seen == [[0], [0, 1], [0, 1, 2]]
    writers = list(tb._writers.values())
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[tb])
    assert all(w.closed for w in writers) and tb._writers == {}
    assert len(os.listdir(tmp_path / "train")) == 2  # one file per fit, as Keras
    assert [s for s, _ in _scalars(_accumulator(tmp_path / "train"), "epoch_loss")] == [0, 1, 2, 0]


def test_epoch_default_stays_off_the_batch_path():
    model = _functional()
    assert not CallbackList([keras.callbacks.TensorBoard()], model).wants_batches("train")
    assert CallbackList([keras.callbacks.TensorBoard(update_freq="batch")], model).wants_batches(
        "train"
    )


@pytest.mark.parametrize("update_freq, steps", [("batch", list(range(1, 11))), (3, [3, 6, 9])])
def test_batch_logs(tmp_path, update_freq, steps):
    pytest.importorskip("tensorboard")
    model = _functional()
    x, y = _data()
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(logs["loss"])
    )
    tb = keras.callbacks.TensorBoard(
        tmp_path, update_freq=update_freq, write_graph=False, write_steps_per_second=True
    )
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[tb, record])
    train = _accumulator(tmp_path / "train")
    # the batch count runs on across epochs (Keras's _global_train_batch), from 1
    assert [s for s, _ in _scalars(train, "batch_loss")] == steps
    np.testing.assert_allclose(
        [v for _, v in _scalars(train, "batch_loss")], [seen[s - 1] for s in steps], rtol=1e-6
    )
    assert [s for s, _ in _scalars(train, "batch_steps_per_second")] == steps
    assert [s for s, _ in _scalars(train, "epoch_steps_per_second")] == [0, 1]
    assert all(v > 0 for _, v in _scalars(train, "epoch_steps_per_second"))
    assert not train.Tags()["graph"]
    assert not os.path.exists(tmp_path / "validation")


def test_sequential_graph_images_and_generator(tmp_path):
    pytest.importorskip("tensorboard")
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(1, name="b")]
    )
    model.compile("sgd", "mse")

    def batches():
        rng = np.random.default_rng(0)
        while True:
            yield rng.normal(size=(5, 4)), rng.normal(size=(5, 1))

    tb = keras.callbacks.TensorBoard(tmp_path, histogram_freq=1, write_images=True)
    model.fit(batches(), steps_per_epoch=3, epochs=2, shuffle=False, verbose=0, callbacks=[tb])
    train = _accumulator(tmp_path / "train")
    first = model.get_config()["layers"][0]["config"]["name"]
    assert [(n.name, n.op, list(n.input)) for n in train.Graph().node] == [
        (first, "InputLayer", []),
        ("a", "Dense", [first]),
        ("b", "Dense", ["a"]),
    ]
    assert [s for s, _ in _scalars(train, "epoch_loss")] == [0, 1]
    # as Keras: a kernel as one image (long side down), a 1-element bias squeezes to nothing
    assert sorted(train.Tags()["images"]) == ["a/bias/image", "a/kernel/image", "b/kernel/image"]
    image = train.Images("a/kernel/image")[0]
    assert (image.height, image.width) == (3, 4) and [
        i.step for i in train.Images("a/kernel/image")
    ] == [0, 1]


def test_subclassed_model(tmp_path):
    pytest.importorskip("tensorboard")

    class TwoDense(keras.Model):
        def __init__(self):
            super().__init__()
            self.first, self.second = keras.layers.Dense(2), keras.layers.Dense(1)

        def call(self, x):
            return self.second(self.first(x))

    model = TwoDense()
    model.compile("sgd", "mse")
    tb = keras.callbacks.TensorBoard(tmp_path, histogram_freq=1)
    model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, verbose=0, callbacks=[tb])
    train = _accumulator(tmp_path / "train")
    names = [layer.name for layer in model.layers]
    assert [(n.name, list(n.input)) for n in train.Graph().node] == [(n, []) for n in names]
    assert train.Tags()["tensors"] == []  # Keras writes the config of functional models only
    assert len(train.Tags()["histograms"]) == 4
    assert [s for s, _ in _scalars(train, "epoch_loss")] == [0, 1]


def test_evaluate_logs_to_validation(tmp_path):
    pytest.importorskip("tensorboard")
    model = _functional()
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=10, verbose=0)
    tb = keras.callbacks.TensorBoard(tmp_path)
    loss, accuracy = model.evaluate(x, y, verbose=0, callbacks=[tb])
    val = _accumulator(tmp_path / "validation")
    assert _scalars(val, "evaluation_loss_vs_iterations") == [(4, pytest.approx(loss))]
    assert _scalars(val, "evaluation_accuracy_vs_iterations") == [(4, pytest.approx(accuracy))]


def test_unwritable_log_dir_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    model = _functional()
    x, y = _data()
    before = [w.copy() for w in model.get_weights()]
    tb = keras.callbacks.TensorBoard(blocker / "logs")
    with pytest.raises(OSError, match=r"TensorBoard cannot write .*file.*writable directory"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[tb])
    assert int(model.optimizer.iterations) == 0
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_log_dir(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="TensorBoard cannot write"):
            keras.callbacks.TensorBoard(tmp_path / "logs").on_train_begin()
    finally:
        tmp_path.chmod(0o700)


def test_argument_errors():
    with pytest.raises(ValueError, match="profiling is not supported"):
        keras.callbacks.TensorBoard(profile_batch=2)
    with pytest.raises(ValueError, match="profiling is not supported"):
        keras.callbacks.TensorBoard(profile_batch=(2, 4))
    keras.callbacks.TensorBoard(profile_batch=0)
    with pytest.raises(NotImplementedError, match="embedding projector"):
        keras.callbacks.TensorBoard(embeddings_freq=1)
    for bad in (0, -2, "step", 1.5, True):
        with pytest.raises(ValueError, match="update_freq"):
            keras.callbacks.TensorBoard(update_freq=bad)
    with pytest.raises(ValueError, match="histogram_freq"):
        keras.callbacks.TensorBoard(histogram_freq=-1)
