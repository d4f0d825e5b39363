"""The native trainer's streaming entry points: an epoch fed in chunks equals the same epoch
in one call, and a gradient hook sees (and may change) every step's gradients."""

import numpy as np
import pytest

import eigennet
from eigennet import layers

rng = np.random.default_rng(0)


def _model():
    eigennet.utils.set_random_seed(4)
    model = eigennet.Sequential(
        [eigennet.Input(shape=(5,)), layers.Dense(8, activation="tanh"), layers.Dense(3)]
    )
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def test_chunked_epoch_equals_one_call():
    x = rng.normal(size=(100, 5)).astype("float32")
    y = rng.normal(size=(100, 3)).astype("float32")
    whole, chunked = _model(), _model()
    logs = whole.fit(x, y, batch_size=10, shuffle=False, verbose=0).history
    trainer = chunked._ensure_trainer(y)
    trainer.reset_metrics()
    batches = []
    for start in range(0, 100, 30):  # chunks of 3 batches, the last one of 1
        stop = min(start + 30, 100)
        trainer.run_chunk(
            x[start:stop],
            y[start:stop],
            None,
            10,
            False,
            0,
            start // 10,
            True,
            lambda batch, _logs: batches.append(batch) or False,
        )
    assert batches == list(range(10))
    loss, mae = trainer.logs()
    assert (loss, mae) == (logs["loss"][0], logs["mae"][0])
    for a, b in zip(whole.get_weights(), chunked.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_gradient_hook_sees_and_changes_each_step():
    x = rng.normal(size=(40, 5)).astype("float32")
    y = rng.normal(size=(40, 3)).astype("float32")
    model = _model()
    trainer = model._ensure_trainer(y)
    seen = []

    def zero(grads):
        seen.append(float(np.abs(grads).sum()))
        grads[:] = 0

    trainer.set_gradient_hook(zero)
    model.optimizer.learning_rate = 0.1
    before = model.get_weights()
    model.fit(x, y, batch_size=10, epochs=2, verbose=0)
    assert len(seen) == 8 and all(s > 0 for s in seen)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # Adam with zero gradients moves nothing
    trainer.set_gradient_hook(None)
    model.fit(x, y, batch_size=10, verbose=0)
    assert len(seen) == 8
    assert not np.array_equal(model.get_weights()[0], before[0])


def _run_blocks(trainer, blocks, y, shuffle):
    trainer.reset_metrics()
    trainer.run_chunk_blocks(blocks, y, None, 8, shuffle, 7, 0, True, None)
    return trainer.logs()


def _run_whole(trainer, x, y, shuffle):
    trainer.reset_metrics()
    trainer.run_chunk(x, y, None, 8, shuffle, 7, 0, True, None)
    return trainer.logs()


def test_blocked_chunk_equals_contiguous_chunk():
    """x given as blocks of rows (streamed chunks used in place) trains exactly like the
    same rows in one array, shuffled (rows gathered across blocks) or not."""
    x = rng.normal(size=(50, 5)).astype("float32")
    y = rng.normal(size=(50, 3)).astype("float32")
    blocks = [x[:13], x[13:14], x[14:40], x[40:]]
    for shuffle in (False, True):
        whole, blocked = _model(), _model()
        logs = _run_whole(whole._ensure_trainer(y), x, y, shuffle)
        assert _run_blocks(blocked._ensure_trainer(y), blocks, y, shuffle) == logs
        for a, b in zip(whole.get_weights(), blocked.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_blocked_chunk_rejects_mismatched_blocks():
    x = rng.normal(size=(20, 5)).astype("float32")
    y = rng.normal(size=(20, 3)).astype("float32")
    trainer = _model()._ensure_trainer(y)
    with pytest.raises(ValueError, match="at least one block"):
        _run_blocks(trainer, [], y, True)
    with pytest.raises(ValueError, match="differ in features per sample: 4 and 5"):
        _run_blocks(trainer, [x[:10], x[10:, :4].copy()], y, True)
    with pytest.raises(ValueError, match="x has 15 samples but y has 20"):
        _run_blocks(trainer, [x[:10], x[10:15]], y, True)
    with pytest.raises(ValueError, match="expects 5"):
        _run_blocks(trainer, [x[:, :4].copy()], y, True)
