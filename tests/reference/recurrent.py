"""Keras 3 recurrent layers (SimpleRNN, LSTM, GRU), forward and backpropagation through time,
one sample batch and one step at a time.

Weights are in Keras's layouts: kernel (features, G*units), recurrent_kernel (units, G*units),
bias (G*units,) or, for GRU with reset_after, (2, 3*units) (input row, recurrent row). Gate
blocks: LSTM i, f, c, o; GRU z, r, h.

Dropout as Keras: ``in_masks`` is None, one (batch, features) mask shared by every gate, or a
list of one mask per gate (Keras's implementation 1, used with recurrent dropout);
``rec_masks`` is None or a list of one (batch, units) mask per gate.
"""

import numpy as np

from . import activations

GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


class Spec:
    """A layer's settings."""

    def __init__(
        self,
        kind,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        return_sequences=False,
        go_backwards=False,
        reset_after=True,
    ):
        self.kind, self.units = kind, units
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.return_sequences, self.go_backwards = return_sequences, go_backwards
        self.reset_after = reset_after
        self.gates = GATES[kind]


def _blocks(a, g, u):
    return a[..., g * u : (g + 1) * u]


def _per_gate(value, masks, gates):
    if masks is None:
        return [value] * gates
    if isinstance(masks, np.ndarray):
        return [value * masks] * gates
    return [value * m for m in masks]


def _split_bias(spec, weights):
    """(input bias, recurrent bias), each (G*u,) or None."""
    if len(weights) < 3:
        return None, None
    bias = weights[2]
    if spec.kind == "GRU" and spec.reset_after:
        return bias[0], bias[1]
    return bias, None


def forward(spec, x, weights, in_masks=None, rec_masks=None, initial=None, mask=None):
    """Returns (y, cache): y (batch, T, units) with return_sequences, else (batch, units).
    `initial`: Keras's initial_state ([h] or [h, c]; zeros when None); `mask`: Keras's
    (batch, T) mask (a masked step keeps the states and repeats the last output, zeros before
    the first unmasked step). The final
    states are cache["states"]. (Backward: without a mask.)"""
    kernel, recurrent = weights[0], weights[1]
    b_in, b_rec = _split_bias(spec, weights)
    batch, steps, _ = x.shape
    u, G = spec.units, spec.gates
    act, ract = spec.activation, spec.recurrent_activation
    h = np.zeros((batch, u), dtype=x.dtype) if initial is None else initial[0]
    c = np.zeros((batch, u), dtype=x.dtype)
    if initial is not None and len(initial) > 1:
        c = initial[1]
    outputs, caches = [], []
    seen = np.zeros((batch, 1), dtype=bool)  # a kept step so far (Keras: zeros before any)
    for s in range(steps):
        t = steps - 1 - s if spec.go_backwards else s
        h_kept, c_kept = h, c
        xs = _per_gate(x[:, t], in_masks, G)
        hs = _per_gate(h, rec_masks, G)
        proj = [xs[g] @ _blocks(kernel, g, u) for g in range(G)]
        if b_in is not None:
            proj = [p + _blocks(b_in, g, u) for g, p in enumerate(proj)]
        step = {"t": t, "xs": xs, "hs": hs, "h_prev": h, "c_prev": c}
        if spec.kind == "SimpleRNN":
            z = proj[0] + hs[0] @ recurrent
            h = activations.forward(act, z)
            step.update(z=z)
        elif spec.kind == "LSTM":
            z = [proj[g] + hs[g] @ _blocks(recurrent, g, u) for g in range(4)]
            i, f, o = (activations.forward(ract, z[k]) for k in (0, 1, 3))
            cand = activations.forward(act, z[2])
            c = f * c + i * cand
            act_c = activations.forward(act, c)
            h = o * act_c
            step.update(z=z, i=i, f=f, o=o, cand=cand, c=c, act_c=act_c)
        elif spec.reset_after:
            q = [hs[g] @ _blocks(recurrent, g, u) for g in range(3)]
            if b_rec is not None:
                q = [qg + _blocks(b_rec, g, u) for g, qg in enumerate(q)]
            a_z, a_r = proj[0] + q[0], proj[1] + q[1]
            zg, r = activations.forward(ract, a_z), activations.forward(ract, a_r)
            a_h = proj[2] + r * q[2]
            hh = activations.forward(act, a_h)
            h = zg * h + (1 - zg) * hh
            step.update(a_z=a_z, a_r=a_r, a_h=a_h, zg=zg, r=r, hh=hh, q=q)
        else:
            a_z = proj[0] + hs[0] @ _blocks(recurrent, 0, u)
            a_r = proj[1] + hs[1] @ _blocks(recurrent, 1, u)
            zg, r = activations.forward(ract, a_z), activations.forward(ract, a_r)
            rh = r * hs[2]
            a_h = proj[2] + rh @ _blocks(recurrent, 2, u)
            hh = activations.forward(act, a_h)
            h = zg * h + (1 - zg) * hh
            step.update(a_z=a_z, a_r=a_r, a_h=a_h, zg=zg, r=r, hh=hh, rh=rh)
        if mask is not None:
            keep = mask[:, t : t + 1] != 0
            h, c = np.where(keep, h, h_kept), np.where(keep, c, c_kept)
            seen |= keep
        outputs.append(h if mask is None else np.where(seen, h, 0.0))
        caches.append(step)
    y = np.stack(outputs, axis=1) if spec.return_sequences else outputs[-1]
    cache = {"x": x, "weights": weights, "steps": caches, "in_masks": in_masks}
    cache["rec_masks"] = rec_masks
    cache["states"] = [h, c] if spec.kind == "LSTM" else [h]
    return y, cache


def backward(spec, cache, dy, d_states=None):
    """Returns (weight gradients in Keras order, dL/dx) for dL/dy; with `d_states` (the
    gradients of the final states, Keras's return_state) also dL/d(initial states)."""
    x, weights, steps = cache["x"], cache["weights"], cache["steps"]
    in_masks, rec_masks = cache["in_masks"], cache["rec_masks"]
    kernel, recurrent = weights[0], weights[1]
    u, G = spec.units, spec.gates
    act, ract = spec.activation, spec.recurrent_activation
    dK, dR = np.zeros_like(kernel), np.zeros_like(recurrent)
    db_in = np.zeros(G * u, dtype=x.dtype)
    db_rec = np.zeros(G * u, dtype=x.dtype)
    dx = np.zeros_like(x)
    batch = x.shape[0]
    dh_next = np.zeros((batch, u), dtype=x.dtype)
    dc_next = np.zeros((batch, u), dtype=x.dtype)
    if d_states is not None:
        dh_next = d_states[0].copy()
        if len(d_states) > 1:
            dc_next = d_states[1].copy()
    n = len(steps)
    for s in reversed(range(n)):
        st = steps[s]
        dh = dh_next.copy()
        if spec.return_sequences:
            dh += dy[:, s]
        elif s == n - 1:
            dh += dy
        dh_prev = np.zeros_like(dh)
        if spec.kind == "SimpleRNN":
            dz = [activations.backward(act, st["z"], dh)]
            dq = dz
        elif spec.kind == "LSTM":
            do = dh * st["act_c"]
            dc = dc_next + activations.backward(act, st["c"], dh * st["o"])
            di, df, dcand = dc * st["cand"], dc * st["c_prev"], dc * st["i"]
            dc_next = dc * st["f"]
            z = st["z"]
            dz = [
                activations.backward(ract, z[0], di),
                activations.backward(ract, z[1], df),
                activations.backward(act, z[2], dcand),
                activations.backward(ract, z[3], do),
            ]
            dq = dz
        else:
            dzg = dh * (st["h_prev"] - st["hh"])
            dhh = dh * (1 - st["zg"])
            dh_prev += dh * st["zg"]
            da_h = activations.backward(act, st["a_h"], dhh)
            da_z = activations.backward(ract, st["a_z"], dzg)
            if spec.reset_after:
                da_r = activations.backward(ract, st["a_r"], da_h * st["q"][2])
                dz = [da_z, da_r, da_h]
                dq = [da_z, da_r, da_h * st["r"]]
            else:
                drh = da_h @ _blocks(recurrent, 2, u).T
                dR[:, 2 * u :] += st["rh"].T @ da_h
                dhs_h = drh * st["r"]
                da_r = activations.backward(ract, st["a_r"], drh * st["hs"][2])
                dh_prev += dhs_h if rec_masks is None else dhs_h * rec_masks[2]
                dz = [da_z, da_r, da_h]
                dq = [da_z, da_r]
        for g in range(len(dq)):
            cols = slice(g * u, (g + 1) * u)
            dR[:, cols] += st["hs"][g].T @ dq[g]
            dhs = dq[g] @ recurrent[:, cols].T
            dh_prev += dhs if rec_masks is None else dhs * rec_masks[g]
            db_rec[cols] += dq[g].sum(axis=0)
        for g in range(G):
            cols = slice(g * u, (g + 1) * u)
            dK[:, cols] += st["xs"][g].T @ dz[g]
            db_in[cols] += dz[g].sum(axis=0)
            dxs = dz[g] @ kernel[:, cols].T
            if in_masks is None:
                dx[:, st["t"]] += dxs
            elif isinstance(in_masks, np.ndarray):
                dx[:, st["t"]] += dxs * in_masks
            else:
                dx[:, st["t"]] += dxs * in_masks[g]
        dh_next = dh_prev
    grads = [dK, dR]
    if len(weights) == 3:
        if spec.kind == "GRU" and spec.reset_after:
            grads.append(np.stack([db_in, db_rec]))
        else:
            grads.append(db_in)
    if d_states is not None:
        return grads, dx, [dh_next, dc_next][: len(d_states)]
    return grads, dx


def bidirectional_forward(
    spec_f, spec_b, x, weights_f, weights_b, merge_mode="concat", initial=None, mask=None
):
    """Keras's Bidirectional: the backward layer's sequence is flipped back to input order.
    `initial`: the forward layer's initial states then the backward layer's (Keras's halves),
    `mask`: Keras's (batch, T) mask (see forward);
    the final states are cache[0]["states"] and cache[1]["states"]. merge_mode None: the two
    outputs."""
    half = None if initial is None else len(initial) // 2
    fi, bi = (None, None) if initial is None else (initial[:half], initial[half:])
    yf, cf = forward(spec_f, x, weights_f, initial=fi, mask=mask)
    yb, cb = forward(spec_b, x, weights_b, initial=bi, mask=mask)
    if spec_f.return_sequences:
        yb = yb[:, ::-1]
    merged = {
        "concat": lambda: np.concatenate([yf, yb], axis=-1),
        "sum": lambda: yf + yb,
        "mul": lambda: yf * yb,
        "ave": lambda: (yf + yb) / 2,
        None: lambda: [yf, yb],
    }[merge_mode]()
    return merged, (cf, cb, yf, yb)


def bidirectional_backward(spec_f, spec_b, cache, dy, merge_mode="concat", d_states=None):
    """dL/d(weights), dL/dx for dL/dy (a list of two with merge_mode None); with `d_states`
    (the forward layer's final states' gradients then the backward layer's) also dL/d(initial
    states) in that order."""
    cf, cb, yf, yb = cache
    uf = spec_f.units
    if merge_mode is None:
        dyf, dyb = dy
    elif merge_mode == "concat":
        dyf, dyb = dy[..., :uf], dy[..., uf:]
    elif merge_mode == "sum":
        dyf, dyb = dy, dy
    elif merge_mode == "mul":
        dyf, dyb = dy * yb, dy * yf
    else:
        dyf, dyb = dy / 2, dy / 2
    if spec_f.return_sequences:
        dyb = dyb[:, ::-1]
    if d_states is None:
        gf, dxf = backward(spec_f, cf, dyf)
        gb, dxb = backward(spec_b, cb, dyb)
        return gf + gb, dxf + dxb
    half = len(d_states) // 2
    gf, dxf, d0f = backward(spec_f, cf, dyf, d_states[:half])
    gb, dxb, d0b = backward(spec_b, cb, dyb, d_states[half:])
    return gf + gb, dxf + dxb, d0f + d0b
