"""`trainable` as Keras 3 defines it: set on a model it reaches every layer, training reads it
at every step (no recompile), and the GAN pattern (a frozen discriminator inside a combined
model) updates only the generator."""

import os
import warnings

import numpy as np
import pytest

import eigennet
from eigennet import layers

rng = np.random.default_rng(0)


def _gan(lib):
    generator = lib.Sequential(
        [lib.Input(shape=(3,)), lib.layers.Dense(4, activation="tanh"), lib.layers.Dense(2)],
        name="generator",
    )
    discriminator = lib.Sequential(
        [lib.Input(shape=(2,)), lib.layers.Dense(5, activation="relu"), lib.layers.Dense(1)],
        name="discriminator",
    )
    discriminator.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
    discriminator.trainable = False
    gan = lib.Sequential([generator, discriminator])
    gan.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
    return generator, discriminator, gan


def _run_gan_steps(generator, discriminator, gan, noise, real, steps=3):
    for _ in range(steps):
        fake = generator.predict(noise, verbose=0)
        discriminator.trainable = True
        discriminator.train_on_batch(np.concatenate([real, fake]), np.r_[np.ones(4), np.zeros(4)])
        discriminator.trainable = False
        gan.train_on_batch(noise, np.ones(4))


def test_model_trainable_reaches_every_layer_and_back():
    inner = eigennet.Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(1)])
    inner.layers[0].trainable = False
    inner.trainable = False
    assert not any(layer.trainable for layer in inner.layers)
    assert inner.trainable_weights == [] and len(inner.non_trainable_weights) == 4
    inner.trainable = True  # as Keras 3: every layer again, the one frozen before too
    assert all(layer.trainable for layer in inner.layers)
    assert len(inner.trainable_weights) == 4


def test_frozen_container_hides_trainable_sublayers():
    inner = eigennet.Sequential([layers.Dense(2, input_shape=(3,))])
    outer = eigennet.Sequential([inner, layers.Dense(1)])
    inner.trainable = False
    inner.layers[0].trainable = True  # the container stays frozen: Keras returns []
    assert [w.path for w in outer.trainable_weights] == [
        f"{outer.layers[1].name}/kernel",
        f"{outer.layers[1].name}/bias",
    ]


def test_freezing_after_compile_takes_effect_at_the_next_step():
    model = eigennet.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng.normal(size=(8, 2)), rng.normal(size=(8, 1))
    model.train_on_batch(x, y)
    before = model.get_weights()
    model.layers[0].trainable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras 3.15 does not warn here (its check is dead code)
        model.train_on_batch(x, y)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert not np.array_equal(after[2], before[2])


def test_unfreezing_a_weight_the_optimizer_never_saw_raises():
    model = eigennet.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="mse")
    x, y = rng.normal(size=(8, 2)), rng.normal(size=(8, 1))
    model.train_on_batch(x, y)
    model.layers[0].trainable = True
    with pytest.raises(ValueError, match="Unknown variable"):
        model.train_on_batch(x, y)
    model.layers[0].trainable = False  # back to what the optimizer knows: training works
    model.train_on_batch(x, y)


def test_gan_pattern_updates_only_the_generator():
    generator, discriminator, gan = _gan(eigennet)
    noise, real = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    d_before, g_before = discriminator.get_weights(), generator.get_weights()
    gan.train_on_batch(noise, np.ones(4))
    for a, b in zip(discriminator.get_weights(), d_before):
        np.testing.assert_array_equal(a, b)
    assert all(not np.array_equal(a, b) for a, b in zip(generator.get_weights(), g_before))
    assert len(gan.trainable_weights) == 4 and len(gan.non_trainable_weights) == 4
    # Keras 3 reads trainable at every step: the frozen discriminator learns nothing alone
    # until it is unfrozen, then it learns.
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        discriminator.train_on_batch(real, np.ones(4))
    for a, b in zip(discriminator.get_weights(), d_before):
        np.testing.assert_array_equal(a, b)
    # ... and, as in Keras, its optimizer was built for no weights at that first step.
    discriminator.trainable = True
    with pytest.raises(ValueError, match="Unknown variable"):
        discriminator.train_on_batch(real, np.ones(4))


def test_discriminator_trained_before_freezing_keeps_learning_when_unfrozen():
    generator, discriminator, gan = _gan(eigennet)
    noise, real = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    _run_gan_steps(generator, discriminator, gan, noise, real, steps=2)
    d_before = discriminator.get_weights()
    _run_gan_steps(generator, discriminator, gan, noise, real, steps=1)
    assert not np.array_equal(discriminator.get_weights()[0], d_before[0])


def test_optimizer_apply_accepts_model_weights_and_subsets():
    model = eigennet.Sequential([layers.Dense(2, input_shape=(3,))])
    optimizer = eigennet.optimizers.SGD(0.5)
    kernel, bias = model.trainable_weights
    optimizer.apply([np.ones((3, 2)), np.ones(2)], [kernel, bias])
    before = bias.numpy()
    optimizer.apply([np.ones((3, 2))], [kernel])  # a subset of what it was built with
    np.testing.assert_array_equal(bias.numpy(), before)
    other = eigennet.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="Unknown variable"):
        optimizer.apply([np.ones((3, 2))], [other.trainable_weights[0]])


def test_gan_steps_match_keras():
    os.environ["KERAS_BACKEND"] = "torch"
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(1)
    k_models, e_models = _gan(keras), _gan(eigennet)
    for k, e in zip(k_models[:2], e_models[:2]):
        e.set_weights([np.array(w) for w in k.get_weights()])
    noise = rng.normal(size=(4, 3)).astype("float32")
    real = rng.normal(size=(4, 2)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run_gan_steps(*k_models, noise, real)
        _run_gan_steps(*e_models, noise, real)
    for k, e in zip(k_models, e_models):
        for kw, ew in zip(k.get_weights(), e.get_weights()):
            np.testing.assert_allclose(ew, kw, rtol=1e-4, atol=1e-5)
