"""eigennet against a hand-written PyTorch model (nn.Linear weight = kernel.T).

Gradients come from torch autograd; the Adam step is Keras 3's formula written out in torch.
Skipped when torch is not installed.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import eigennet  # noqa: E402

N, FEATURES, HIDDEN, BATCH, EPOCHS = 30, 5, 8, 8, 3  # 30 rows: the last batch is partial


def _data(outputs, kind, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(N, FEATURES).astype("float32")
    if kind == "regression":
        return x, rng.randn(N, outputs).astype("float32")
    if kind == "binary":
        return x, (rng.rand(N, 1) > 0.5).astype("float32")
    return x, rng.randint(0, outputs, size=N)


def _eigennet_model(outputs, hidden_act, out_act):
    return eigennet.Sequential(
        [
            eigennet.Input(shape=(FEATURES,)),
            eigennet.layers.Dense(HIDDEN, activation=hidden_act),
            eigennet.layers.Dense(outputs, activation=out_act),
        ]
    )


def _torch_params(model):
    """Leaf tensors [W1, b1, W2, b2] in torch layout (weight = kernel.T)."""
    params = []
    for w in model.get_weights():
        t = torch.tensor(w.T.copy() if w.ndim == 2 else w.copy(), dtype=torch.float32)
        params.append(t.requires_grad_(True))
    return params


def _forward(params, x, hidden_act, out_act):
    w1, b1, w2, b2 = params
    h = torch.nn.functional.linear(x, w1, b1)
    h = torch.relu(h) if hidden_act == "relu" else torch.tanh(h)
    z = torch.nn.functional.linear(h, w2, b2)
    return torch.sigmoid(z) if out_act == "sigmoid" else z


def _keras_bce(p, y):  # Keras: clip to [1e-7, 1 - 1e-7], mean over last axis, then batch
    p = torch.clamp(p, 1e-7, 1.0 - 1e-7)
    return torch.nn.functional.binary_cross_entropy(p, y)


LOSSES = {
    "mse": lambda out, y: torch.mean((out - y) ** 2),
    "binary_crossentropy": _keras_bce,
    "sparse_logits": lambda out, y: torch.nn.functional.cross_entropy(out, y),
}


class KerasAdam:
    """Keras 3 Adam: alpha = lr*sqrt(1-b2^t)/(1-b1^t); var -= alpha*m/(sqrt(v)+eps)."""

    def __init__(self, params, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, beta_1, beta_2, epsilon
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def step(self):
        self.t += 1
        alpha = self.lr * np.sqrt(1 - self.b2**self.t) / (1 - self.b1**self.t)
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                m += (p.grad - m) * (1 - self.b1)
                v += (p.grad**2 - v) * (1 - self.b2)
                p -= alpha * m / (torch.sqrt(v) + self.eps)

    def zero_grad(self):
        for p in self.params:
            p.grad = None


def _train_torch(params, optimizer, x, y, hidden_act, out_act, loss_fn):
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y) if y.dtype == np.float32 else torch.from_numpy(y.astype(np.int64))
    epoch_losses = []
    for _ in range(EPOCHS):
        total = 0.0
        for start in range(0, N, BATCH):
            xb, yb = xt[start : start + BATCH], yt[start : start + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(_forward(params, xb, hidden_act, out_act), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        epoch_losses.append(total / N)
    return epoch_losses


CASES = {
    # id: (outputs, hidden act, output act, data kind, eigennet loss, torch loss, optimizer)
    "adam_mse": (2, "relu", None, "regression", "mse", "mse", "adam"),
    "adam_bce": (
        1,
        "tanh",
        "sigmoid",
        "binary",
        "binary_crossentropy",
        "binary_crossentropy",
        "adam",
    ),
    "adam_sparse_logits": (3, "relu", None, "sparse", "sparse_logits", "sparse_logits", "adam"),
    "sgd_nesterov_mse": (2, "tanh", None, "regression", "mse", "mse", "sgd_nesterov"),
}


def _eigennet_loss(name):
    if name == "sparse_logits":
        return eigennet.losses.SparseCategoricalCrossentropy(from_logits=True)
    return name


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_torch(case):
    outputs, hidden_act, out_act, kind, e_loss, t_loss, opt = CASES[case]
    x, y = _data(outputs, kind)
    model = _eigennet_model(outputs, hidden_act, out_act)
    params = _torch_params(model)
    if opt == "adam":
        e_opt = eigennet.optimizers.Adam(learning_rate=0.01)
        t_opt = KerasAdam(params, lr=0.01)
    else:
        e_opt = eigennet.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True)
        t_opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True)

    model.compile(optimizer=e_opt, loss=_eigennet_loss(e_loss))
    history = model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    torch_losses = _train_torch(params, t_opt, x, y, hidden_act, out_act, LOSSES[t_loss])

    np.testing.assert_allclose(history.history["loss"], torch_losses, rtol=1e-4, atol=1e-6)
    for i, (w, p) in enumerate(zip(model.get_weights(), params)):
        expected = p.detach().numpy()
        np.testing.assert_allclose(
            w, expected.T if w.ndim == 2 else expected, rtol=1e-4, atol=1e-5, err_msg=f"w{i}"
        )
    with torch.no_grad():
        expected_out = _forward(params, torch.from_numpy(x), hidden_act, out_act).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), expected_out, rtol=1e-4, atol=1e-5)


def test_gradients_match_autograd():
    x, y = _data(1, "binary")
    model = _eigennet_model(1, "tanh", "sigmoid")
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    params = _torch_params(model)
    loss, grads = model._compute_gradients(x, y)
    t_loss = _keras_bce(
        _forward(params, torch.from_numpy(x), "tanh", "sigmoid"), torch.from_numpy(y)
    )
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-5)
    for g, p in zip(grads, params):
        expected = p.grad.numpy()
        np.testing.assert_allclose(g, expected.T if g.ndim == 2 else expected, rtol=1e-4, atol=1e-6)
