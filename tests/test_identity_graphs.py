"""Models that compute nothing: every layer returns its input (CenterCrop or Resizing at the
input's own size) or the outputs are the inputs. The core's graph needs a node, so the builder
puts an identity in front; the model predicts, evaluates, trains (nothing) and saves."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers


def _images(n=3):
    return np.random.default_rng(0).random((n, 5, 4, 2)).astype("float32")


def test_sequential_of_an_identity_crop_builds_and_runs(tmp_path):
    model = keras.Sequential([keras.Input((5, 4, 2)), layers.CenterCrop(5, 4)])
    x = _images()
    assert model.output_shape == (None, 5, 4, 2) and model.weights == []
    assert [layer.name for layer in model.layers] == [model.layers[0].name]  # no extra layer
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(np.asarray(model(x)), x)
    model.compile(optimizer="adam", loss="mse")
    assert model.evaluate(x, x, verbose=0) == 0.0
    with pytest.warns(UserWarning, match="trainable weights"):
        model.fit(x, x, epochs=1, verbose=0)
    path = tmp_path / "identity.keras"
    model.save(path)
    np.testing.assert_array_equal(keras.models.load_model(path).predict(x, verbose=0), x)


def test_stack_of_identities_then_a_layer_and_nested():
    crops = keras.Sequential(
        [keras.Input((5, 4, 2)), layers.CenterCrop(5, 4), layers.Resizing(5, 4)], name="crops"
    )
    x = _images()
    np.testing.assert_array_equal(crops.predict(x, verbose=0), x)
    model = keras.Sequential([keras.Input((5, 4, 2)), crops, layers.Flatten(), layers.Dense(1)])
    expected = x.reshape(3, -1) @ model.layers[-1].get_weights()[0]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_functional_whose_outputs_are_its_inputs():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    model = keras.Model([a, b], [b, a])
    xa, xb = np.ones((4, 3), "float32"), np.full((4, 2), 2.0, "float32")
    out_b, out_a = model.predict([xa, xb], verbose=0)
    np.testing.assert_array_equal(out_a, xa)
    np.testing.assert_array_equal(out_b, xb)
    images = keras.Input((5, 4, 2))
    cropped = keras.Model(images, layers.CenterCrop(5, 4)(images))
    np.testing.assert_array_equal(cropped.predict(_images(), verbose=0), _images())


def test_keras_agrees_the_crop_is_an_identity():
    real = pytest.importorskip("keras")
    model = real.Sequential([real.Input((5, 4, 2)), real.layers.CenterCrop(5, 4)])
    x = _images()
    np.testing.assert_allclose(
        np.asarray(model.predict(x, verbose=0)),
        keras.Sequential([keras.Input((5, 4, 2)), layers.CenterCrop(5, 4)]).predict(x, verbose=0),
    )
