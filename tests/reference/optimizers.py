"""Keras 3 optimizer update rules (defaults included) on NumPy arrays.

``opt.apply(grads, variables)`` performs one step and updates the float arrays
in ``variables`` in place, computing in each variable's dtype like Keras does
(hyper-parameters are cast to the variable dtype).  As in Keras's base
optimizer, a non-None ``weight_decay`` is applied first, decoupled:
``var -= var * weight_decay * learning_rate``; then the optimizer's own update
runs; then ``iterations`` increases by one.
"""

import numpy as np


class Optimizer:
    def __init__(self, learning_rate, weight_decay=None):
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.iterations = 0
        self._slots = None

    def _make_slots(self, variables):
        return [{} for _ in variables]

    def apply(self, grads, variables):
        if self._slots is None:
            self._slots = self._make_slots(variables)
        for grad, var, slots in zip(grads, variables, self._slots, strict=True):
            dtype = var.dtype.type
            lr = dtype(self.learning_rate)
            if self.weight_decay is not None:
                var -= var * dtype(self.weight_decay) * lr
            self._update(np.asarray(grad, dtype=var.dtype), var, slots, lr, dtype)
        self.iterations += 1

    def _update(self, grad, var, slots, lr, dtype):
        raise NotImplementedError


def _zeros(variables, *names):
    return [{n: np.zeros_like(v) for n in names} for v in variables]


class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None):
        super().__init__(learning_rate, weight_decay)
        self.momentum = momentum
        self.nesterov = nesterov

    def _make_slots(self, variables):
        return _zeros(variables, "m") if self.momentum != 0 else super()._make_slots(variables)

    def _update(self, grad, var, slots, lr, dtype):
        if self.momentum == 0:
            var -= grad * lr
            return
        mu = dtype(self.momentum)
        m = slots["m"]
        m[...] = m * mu - grad * lr
        if self.nesterov:
            var += m * mu - grad * lr
        else:
            var += m


class Adagrad(Optimizer):
    def __init__(
        self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None
    ):
        super().__init__(learning_rate, weight_decay)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _make_slots(self, variables):
        return [{"acc": np.full_like(v, self.initial_accumulator_value)} for v in variables]

    def _update(self, grad, var, slots, lr, dtype):
        acc = slots["acc"]
        acc += grad * grad
        var -= lr * grad / np.sqrt(acc + dtype(self.epsilon))


class RMSprop(Optimizer):
    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        weight_decay=None,
    ):
        super().__init__(learning_rate, weight_decay)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def _make_slots(self, variables):
        return _zeros(variables, "velocity", "momentum", "average_gradient")

    def _update(self, grad, var, slots, lr, dtype):
        rho = dtype(self.rho)
        one = dtype(1.0)
        v = slots["velocity"]
        v[...] = rho * v + (one - rho) * grad * grad
        if self.centered:
            a = slots["average_gradient"]
            a[...] = rho * a + (one - rho) * grad
            denominator = v - a * a + dtype(self.epsilon)
        else:
            denominator = v + dtype(self.epsilon)
        increment = lr * grad / np.sqrt(denominator)
        if self.momentum > 0:
            m = slots["momentum"]
            m[...] = dtype(self.momentum) * m + increment
            var -= m
        else:
            var -= increment


class Adam(Optimizer):
    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        weight_decay=None,
    ):
        super().__init__(learning_rate, weight_decay)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def _make_slots(self, variables):
        return _zeros(variables, "m", "v", "v_hat")

    def _update(self, grad, var, slots, lr, dtype):
        one = dtype(1.0)
        b1, b2 = dtype(self.beta_1), dtype(self.beta_2)
        step = dtype(self.iterations + 1)
        alpha = lr * np.sqrt(one - b2**step) / (one - b1**step)
        m, v = slots["m"], slots["v"]
        m += (grad - m) * (one - b1)
        v += (grad * grad - v) * (one - b2)
        if self.amsgrad:
            np.maximum(slots["v_hat"], v, out=slots["v_hat"])
            v = slots["v_hat"]
        var -= m * alpha / (np.sqrt(v) + dtype(self.epsilon))


class AdamW(Adam):
    """Adam with decoupled weight decay (Keras default weight_decay=0.004)."""

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
    ):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay)


class Adamax(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None):  # fmt: skip
        super().__init__(learning_rate, weight_decay)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _make_slots(self, variables):
        return _zeros(variables, "m", "u")

    def _update(self, grad, var, slots, lr, dtype):
        b1, b2 = dtype(self.beta_1), dtype(self.beta_2)
        b1_power = b1 ** dtype(self.iterations + 1)
        m, u = slots["m"], slots["u"]
        m += (grad - m) * (dtype(1) - b1)
        np.maximum(b2 * u, np.abs(grad), out=u)
        var -= lr * m / ((dtype(1) - b1_power) * (u + dtype(self.epsilon)))


class Nadam(Optimizer):
    """Keras 3's Nadam: the product of the momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t)
    is updated once per step, before the variables."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None):  # fmt: skip
        super().__init__(learning_rate, weight_decay)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.u_product = None

    def _make_slots(self, variables):
        return _zeros(variables, "m", "v")

    def apply(self, grads, variables):
        dtype = np.asarray(variables[0]).dtype.type
        if self.u_product is None:
            self.u_product = dtype(1)
        t = dtype(self.iterations + 1)
        self.u_product = (
            self.u_product * dtype(self.beta_1) * (dtype(1) - dtype(0.5) * dtype(0.96) ** t)
        )
        super().apply(grads, variables)

    def _update(self, grad, var, slots, lr, dtype):
        b1, b2 = dtype(self.beta_1), dtype(self.beta_2)
        step, decay = dtype(self.iterations + 1), dtype(0.96)
        u_t = b1 * (dtype(1) - dtype(0.5) * decay**step)
        u_t_1 = b1 * (dtype(1) - dtype(0.5) * decay ** (step + dtype(1)))
        u_product_t = dtype(self.u_product)
        u_product_t_1 = u_product_t * u_t_1
        m, v = slots["m"], slots["v"]
        m += (grad - m) * (dtype(1) - b1)
        v += (grad * grad - v) * (dtype(1) - b2)
        m_hat = u_t_1 * m / (dtype(1) - u_product_t_1) + (dtype(1) - u_t) * grad / (
            dtype(1) - u_product_t
        )
        v_hat = v / (dtype(1) - b2**step)
        var -= (m_hat * lr) / (np.sqrt(v_hat) + dtype(self.epsilon))


class Adadelta(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None):
        super().__init__(learning_rate, weight_decay)
        self.rho, self.epsilon = rho, epsilon

    def _make_slots(self, variables):
        return _zeros(variables, "grad", "delta")

    def _update(self, grad, var, slots, lr, dtype):
        rho, eps = dtype(self.rho), dtype(self.epsilon)
        acc_grad, acc_delta = slots["grad"], slots["delta"]
        acc_grad[...] = rho * acc_grad + (dtype(1) - rho) * grad * grad
        delta = -(np.sqrt(acc_delta + eps) * grad) / np.sqrt(acc_grad + eps)
        acc_delta[...] = rho * acc_delta + (dtype(1) - rho) * delta * delta
        var += lr * delta


class Lion(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None):
        super().__init__(learning_rate, weight_decay)
        self.beta_1, self.beta_2 = beta_1, beta_2

    def _make_slots(self, variables):
        return _zeros(variables, "m")

    def _update(self, grad, var, slots, lr, dtype):
        b1, b2 = dtype(self.beta_1), dtype(self.beta_2)
        m = slots["m"]
        var -= lr * np.sign(m * b1 + grad * (dtype(1) - b1))
        m[...] = m * b2 + grad * (dtype(1) - b2)


class Lamb(Optimizer):
    """Adam's bias-corrected step, scaled per variable by ||var|| / ||step||."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None):  # fmt: skip
        super().__init__(learning_rate, weight_decay)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _make_slots(self, variables):
        return _zeros(variables, "m", "v")

    def _update(self, grad, var, slots, lr, dtype):
        b1, b2, t = dtype(self.beta_1), dtype(self.beta_2), dtype(self.iterations + 1)
        m, v = slots["m"], slots["v"]
        m += (grad - m) * (dtype(1) - b1)
        v += (grad * grad - v) * (dtype(1) - b2)
        step = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + dtype(self.epsilon))
        w_norm = np.sqrt(np.sum(var.astype(np.float64) ** 2))
        s_norm = np.sqrt(np.sum(step.astype(np.float64) ** 2))
        ratio = dtype(w_norm / s_norm) if w_norm > 0 and s_norm > 0 else dtype(1)
        var -= ratio * lr * step


class Ftrl(Optimizer):
    """FTRL-Proximal as Keras 3 writes it."""

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, weight_decay=None):  # fmt: skip
        super().__init__(learning_rate, weight_decay)
        self.power, self.initial = learning_rate_power, initial_accumulator_value
        self.l1, self.l2 = l1_regularization_strength, l2_regularization_strength
        self.shrinkage, self.beta = l2_shrinkage_regularization_strength, beta

    def _make_slots(self, variables):
        return [{"accum": np.full_like(v, self.initial), "linear": np.zeros_like(v)}
                for v in variables]  # fmt: skip

    def _update(self, grad, var, slots, lr, dtype):
        accum, linear = slots["accum"], slots["linear"]
        p = dtype(-self.power)
        l2 = dtype(self.l2) + dtype(self.beta) / (dtype(2) * lr)
        fresh = accum + grad * grad
        linear += grad + dtype(2 * self.shrinkage) * var - (fresh**p - accum**p) / lr * var
        quadratic = fresh**p / lr + dtype(2) * l2
        clipped = np.clip(linear, -dtype(self.l1), dtype(self.l1))
        var[...] = (clipped - linear) / quadratic
        accum[...] = fresh
