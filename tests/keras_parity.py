"""Training eigennet and Keras 3 side by side from the same weights: one comparison shared by
the parity tests (histories, trained weights, predictions)."""

from __future__ import annotations

import numpy as np


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def assert_trains_like_keras(
    ours, theirs, x, y, epochs: int = 3, batch_size: int = 8, rtol: float = 2e-4
) -> None:
    """Both models compiled alike and holding the same weights: `epochs` epochs without
    shuffling must give the same history, weights and predictions."""
    fit = dict(epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0)
    h_ours, h_theirs = ours.fit(x, y, **fit).history, theirs.fit(x, y, **fit).history
    assert sorted(h_ours) == sorted(h_theirs)
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=rtol, atol=1e-6, err_msg=key)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)
    p_ours, p_theirs = ours.predict(x, verbose=0), theirs.predict(x, verbose=0)
    for a, b in zip(_as_list(p_ours), _as_list(p_theirs), strict=True):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)
