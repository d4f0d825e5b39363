"""`layers.RNN(cell)` with SimpleRNNCell, LSTMCell and GRUCell: the same numbers as the matching
recurrent layer on the same weights (forward, training, states), Keras's configs and file
layout (files cross between Keras and eigennet), cells called step by step, and the errors."""

import subprocess
import sys

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers

CELLS = {
    "SimpleRNNCell": (layers.SimpleRNNCell, layers.SimpleRNN),
    "LSTMCell": (layers.LSTMCell, layers.LSTM),
    "GRUCell": (layers.GRUCell, layers.GRU),
}
X = np.random.RandomState(0).standard_normal((6, 5, 3)).astype("float32")


def pair(name, **rnn_arguments):
    """An RNN over the cell and the recurrent layer it stands for, with the same weights."""
    cell_class, layer_class = CELLS[name]
    rnn = keras.Sequential([keras.Input((5, 3)), layers.RNN(cell_class(4), **rnn_arguments)])
    native = keras.Sequential([keras.Input((5, 3)), layer_class(4, **rnn_arguments)])
    native.set_weights(rnn.get_weights())
    return rnn, native


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize(
    "arguments", [{}, {"return_sequences": True}, {"go_backwards": True, "return_sequences": True}]
)
def test_rnn_over_a_cell_computes_what_its_layer_computes(name, arguments):
    rnn, native = pair(name, **arguments)
    assert [w.shape for w in rnn.weights] == [w.shape for w in native.weights]
    np.testing.assert_array_equal(rnn.predict(X, verbose=0), native.predict(X, verbose=0))


@pytest.mark.parametrize("name", CELLS)
def test_rnn_over_a_cell_trains_as_its_layer(name):
    rnn, native = pair(name)
    y = np.random.RandomState(1).standard_normal((6, 4)).astype("float32")
    histories = []
    for model in (rnn, native):
        model.compile(optimizer="adam", loss="mse")
        histories.append(
            model.fit(X, y, epochs=3, batch_size=3, shuffle=False, verbose=0).history["loss"]
        )
    assert histories[0] == histories[1]
    for a, b in zip(rnn.get_weights(), native.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_lstm_cell_states_and_initial_state_in_a_functional_model():
    inputs = keras.Input((5, 3))
    h0, c0 = keras.Input((4,)), keras.Input((4,))
    out, h, c = layers.RNN(layers.LSTMCell(4), return_state=True)(inputs, initial_state=[h0, c0])
    model = keras.Model([inputs, h0, c0], [out, h, c])
    native_layer = layers.LSTM(4, return_state=True)
    outs = native_layer(inputs, initial_state=[h0, c0])
    native = keras.Model([inputs, h0, c0], outs)
    native.set_weights(model.get_weights())
    rs = np.random.RandomState(2)
    feeds = [X, rs.rand(6, 4).astype("float32"), rs.rand(6, 4).astype("float32")]
    for a, b in zip(model.predict(feeds, verbose=0), native.predict(feeds, verbose=0)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        model.predict(feeds, verbose=0)[1], model.predict(feeds, verbose=0)[0]
    )


def test_masked_steps_are_skipped_as_by_the_layer():
    tokens = np.array([[3, 1, 0, 0], [2, 2, 2, 1]])
    models = []
    for recurrent in (layers.RNN(layers.GRUCell(3)), layers.GRU(3)):
        models.append(
            keras.Sequential(
                [
                    keras.Input((4,), dtype="int32"),
                    layers.Embedding(5, 2, mask_zero=True),
                    recurrent,
                ]
            )
        )
    models[1].set_weights(models[0].get_weights())
    np.testing.assert_array_equal(
        models[0].predict(tokens, verbose=0), models[1].predict(tokens, verbose=0)
    )


def test_a_cell_called_step_by_step_matches_the_sequence():
    cell = layers.LSTMCell(4)
    states = [np.zeros((6, 4), "float32")] * 2
    steps = []
    for t in range(5):
        out, states = cell(X[:, t], states)
        steps.append(out)
    assert cell.state_size == [4, 4] and cell.output_size == 4
    assert cell.kernel.shape == (3, 16)
    whole = keras.Sequential([keras.Input((5, 3)), layers.LSTM(4, return_sequences=True)])
    whole.set_weights([cell.kernel.numpy(), cell.recurrent_kernel.numpy(), cell.bias.numpy()])
    np.testing.assert_allclose(
        np.stack(steps, 1), whole.predict(X, verbose=0), rtol=1e-6, atol=1e-6
    )


def test_files_and_configs_cross_between_keras_and_eigennet(tmp_path):
    k = pytest.importorskip("keras")
    for name in CELLS:
        theirs = k.Sequential(
            [k.Input((5, 3)), k.layers.RNN(getattr(k.layers, name)(4), return_sequences=True)]
        )
        theirs.save(tmp_path / "theirs.keras")
        ours = keras.models.load_model(tmp_path / "theirs.keras")
        assert type(ours.layers[0]).__name__ == "RNN"
        np.testing.assert_allclose(
            ours.predict(X, verbose=0), theirs.predict(X, verbose=0), atol=1e-5
        )
        ours.save(tmp_path / "ours.keras")
        back = k.models.load_model(tmp_path / "ours.keras")
        np.testing.assert_allclose(
            back.predict(X, verbose=0), ours.predict(X, verbose=0), atol=1e-5
        )

        config = layers.RNN(getattr(layers, name)(3, dropout=0.1), go_backwards=True).get_config()
        reference = k.layers.RNN(getattr(k.layers, name)(3, dropout=0.1), go_backwards=True)
        reference = reference.get_config()
        for c in (config, reference, config["cell"]["config"], reference["cell"]["config"]):
            c.pop("dtype"), c.pop("name")  # (names are numbered per library)
        initializer = reference["cell"]["config"]["kernel_initializer"]["config"]
        for key in ("input_axes", "output_axes"):  # (newer Keras's GlorotUniform options)
            initializer.pop(key, None)
        reference["cell"].pop("build_config", None)
        assert config == reference


def test_bidirectional_rnn_round_trips(tmp_path):
    inputs = keras.Input((5, 3))
    model = keras.Model(inputs, layers.Bidirectional(layers.RNN(layers.LSTMCell(2)))(inputs))
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))


def stacked_pair(**arguments):
    """RNN over [LSTMCell, GRUCell] and the LSTM -> GRU chain it computes, same weights."""
    rnn = keras.Sequential(
        [keras.Input((5, 3)), layers.RNN([layers.LSTMCell(4), layers.GRUCell(3)], **arguments)]
    )
    chain = keras.Sequential(
        [
            keras.Input((5, 3)),
            layers.LSTM(
                4, return_sequences=True, go_backwards=arguments.get("go_backwards", False)
            ),
            layers.GRU(3, return_sequences=arguments.get("return_sequences", False)),
        ]
    )
    rs = np.random.RandomState(6)
    rnn.set_weights([rs.uniform(-0.5, 0.5, w.shape).astype("float32") for w in rnn.weights])
    chain.set_weights(rnn.get_weights())
    return rnn, chain


@pytest.mark.parametrize(
    "arguments", [{}, {"return_sequences": True}, {"go_backwards": True, "return_sequences": True}]
)
def test_stacked_cells_compute_the_chain_of_their_layers(arguments):
    rnn, chain = stacked_pair(**arguments)
    assert type(rnn.layers[0].cell).__name__ == "StackedRNNCells"
    assert rnn.layers[0].cell.state_size == [[4, 4], 3]
    np.testing.assert_allclose(
        rnn.predict(X, verbose=0), chain.predict(X, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_stacked_cells_train_as_the_chain():
    rnn, chain = stacked_pair()
    y = np.random.RandomState(7).standard_normal((6, 3)).astype("float32")
    histories = []
    for model in (rnn, chain):
        model.compile(optimizer="adam", loss="mse")
        history = model.fit(X, y, epochs=3, batch_size=3, shuffle=False, verbose=0)
        histories.append(history.history["loss"])
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-5)
    for a, b in zip(rnn.get_weights(), chain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_stacked_cells_states_follow_their_state_sizes():
    inputs = keras.Input((5, 3))
    output, lstm_states, gru_state = layers.RNN(
        layers.StackedRNNCells([layers.LSTMCell(4), layers.GRUCell(3)]), return_state=True
    )(inputs)
    assert [tuple(t.shape) for t in lstm_states] == [(None, 4), (None, 4)]
    assert tuple(gru_state.shape) == (None, 3)
    model = keras.Model(inputs, [output, *lstm_states, gru_state])
    got = model.predict(X, verbose=0)
    np.testing.assert_array_equal(got[0], got[3])  # a GRU's output is its state


def test_stacked_cells_in_files_both_ways(tmp_path):
    rnn, _ = stacked_pair(return_sequences=True)
    rnn.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(again.predict(X, verbose=0), rnn.predict(X, verbose=0))
    k = pytest.importorskip("keras")
    theirs = k.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(theirs.predict(X, verbose=0), rnn.predict(X, verbose=0), atol=1e-6)
    reference = k.Sequential(
        [k.Input((5, 3)), k.layers.RNN([k.layers.GRUCell(3), k.layers.SimpleRNNCell(2)])]
    )
    reference.save(tmp_path / "theirs.keras")
    ours = keras.models.load_model(tmp_path / "theirs.keras")
    np.testing.assert_allclose(
        ours.predict(X, verbose=0), reference.predict(X, verbose=0), atol=1e-6
    )


def test_errors():
    with pytest.raises(ValueError, match="at least one cell"):
        layers.StackedRNNCells([])
    with pytest.raises(ValueError, match="should have a `call` method"):
        layers.RNN([layers.LSTMCell(2), layers.Dense(2)])
    with pytest.raises(ValueError, match="should have a `call` method and a `state_size`"):
        layers.RNN(layers.Dense(2))
    cell = layers.GRUCell(2)
    layers.RNN(cell)
    with pytest.raises(ValueError, match="already runs in the RNN layer"):
        layers.RNN(cell)
    with pytest.raises(ValueError, match="units must be a positive integer"):
        layers.LSTMCell(0)
    with pytest.raises(ValueError, match=r"initial_state\[0\] must have shape"):
        layers.SimpleRNNCell(3)(np.ones((2, 4), "float32"), [np.zeros((2, 5), "float32")])


def test_cells_take_no_automatic_name_from_layers():
    program = (
        "import eigennet as keras; cell = keras.layers.LSTMCell(2); "
        "assert keras.layers.LSTM(2).name == 'lstm', 'a cell took the name'; "
        "assert keras.layers.RNN(cell).name == 'rnn'"
    )
    subprocess.run([sys.executable, "-c", program], check=True)


def tanh_cell_class(lib):
    """SimpleRNN's step written as a cell of one's own (Keras's RNN docstring's
    MinimalRNNCell, with a bias and tanh)."""

    @lib.saving.register_keras_serializable(package="rnn_cells_test")
    class TanhCell(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(
                shape=(self.units, self.units), name="recurrent_kernel"
            )
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

        def call(self, inputs, states):
            ops = lib.ops
            z = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel)
            output = ops.tanh(z + self.bias)
            return output, [output]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return TanhCell


def numpy_tanh_rnn(x, weights, mask=None, go_backwards=False, h0=None):
    kernel, recurrent, bias = weights
    h = np.zeros((len(x), kernel.shape[1])) if h0 is None else h0.astype("float64")
    outputs, previous = [], np.zeros_like(h)
    steps = range(x.shape[1])
    for t in reversed(steps) if go_backwards else steps:
        new = np.tanh(x[:, t] @ kernel + h @ recurrent + bias)
        if mask is not None:
            keep = mask[:, t : t + 1]
            new, out = np.where(keep, new, h), np.where(keep, new, previous)
        else:
            out = new
        h, previous = new, out
        outputs.append(out)
    return np.stack(outputs, 1), h


@pytest.mark.parametrize("go_backwards", [False, True])
def test_a_cell_of_ones_own_runs_every_step_with_masks_and_states(go_backwards):
    tokens = np.array([[3, 1, 0, 0, 0], [2, 2, 2, 1, 4], [0, 4, 1, 0, 2]])
    inputs, h0 = keras.Input((5,), dtype="int32"), keras.Input((4,))
    embedded = layers.Embedding(6, 3, mask_zero=True, name="embedding")(inputs)
    rnn = layers.RNN(
        tanh_cell_class(keras)(4),
        return_sequences=True,
        return_state=True,
        go_backwards=go_backwards,
    )
    assert type(rnn).__name__ == "RNN" and rnn.name.startswith("rnn")
    sequence, state = rnn(embedded, initial_state=[h0])
    model = keras.Model([inputs, h0], [sequence, state])
    rs = np.random.RandomState(3)
    model.set_weights([rs.uniform(-0.5, 0.5, w.shape).astype("float32") for w in model.weights])
    start = rs.rand(3, 4).astype("float32")
    got_sequence, got_state = model.predict([tokens, start], verbose=0)
    table, *cell_weights = [w.numpy().astype("float64") for w in model.weights]
    want_sequence, want_state = numpy_tanh_rnn(
        table[tokens], cell_weights, mask=tokens != 0, go_backwards=go_backwards, h0=start
    )
    np.testing.assert_allclose(got_sequence, want_sequence, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state, want_state, rtol=1e-5, atol=1e-6)


def test_a_cell_of_ones_own_trains_as_the_layer_it_rewrites():
    y = np.random.RandomState(4).standard_normal((6, 4)).astype("float32")
    custom = keras.Sequential([keras.Input((5, 3)), layers.RNN(tanh_cell_class(keras)(4))])
    native = keras.Sequential([keras.Input((5, 3)), layers.SimpleRNN(4)])
    native.set_weights(custom.get_weights())
    histories = []
    for model in (custom, native):
        model.compile(optimizer="adam", loss="mse")
        history = model.fit(X, y, epochs=4, batch_size=3, shuffle=False, verbose=0)
        histories.append(history.history["loss"])
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-5)
    for a, b in zip(custom.get_weights(), native.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_cell_of_ones_own_in_files_both_ways(tmp_path):
    model = keras.Sequential([keras.Input((5, 3)), layers.RNN(tanh_cell_class(keras)(4))])
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))
    k = pytest.importorskip("keras")
    keras_cell = tanh_cell_class(k)  # (registered with Keras before it loads the file)
    theirs = k.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(theirs.predict(X, verbose=0), model.predict(X, verbose=0), atol=1e-6)
    inputs = k.Input((5, 3))
    reference = k.Model(inputs, k.layers.RNN(keras_cell(4), return_sequences=True)(inputs))
    reference.save(tmp_path / "theirs.keras")
    ours = keras.models.load_model(tmp_path / "theirs.keras")
    np.testing.assert_allclose(
        ours.predict(X, verbose=0), reference.predict(X, verbose=0), atol=1e-6
    )


def test_a_cell_of_ones_own_needs_a_known_length_and_its_states():
    cell_class = tanh_cell_class(keras)
    with pytest.raises(ValueError, match="known number of timesteps"):
        layers.RNN(cell_class(2))(keras.Input((None, 3)))
    with pytest.raises(ValueError, match=r"expects 1 initial state\(s\), got 2"):
        layers.RNN(cell_class(2))(keras.Input((4, 3)), initial_state=[keras.Input((2,))] * 2)
    with pytest.raises(ValueError, match="stateful=True"):
        layers.RNN(cell_class(2), stateful=True)

    class Echo(keras.layers.Layer):  # returns its input as its state: not its state_size
        state_size = 2

        def call(self, inputs, states):
            return inputs, [inputs]

    with pytest.raises(ValueError, match=r"states of widths \[3\], its state_size says \[2\]"):
        layers.RNN(Echo())(keras.Input((4, 3)))
