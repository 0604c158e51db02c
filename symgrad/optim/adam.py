"""Adam and AdamW, as PyTorch documents their updates (``torch.optim.Adam``, ``AdamW``).

Per parameter p, with gradient g, at its step t (counted per parameter, from 1):

    g = -g if maximize
    Adam:   g = g + weight_decay * p         (L2 regularisation, in the gradient)
    AdamW:  p = p * (1 - lr * weight_decay)  (decoupled weight decay)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    amsgrad: v_max = max(v_max, v), and v_max stands for v below
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

The bias corrections are Python floats, computed once a parameter a step (and folded
into eps and the step size, so no pass over the array divides by one); the rest runs in
one scratch array per parameter, written with ``out=``.
"""

import math

import numpy

from symgrad.function import note_changed
from symgrad.optim.optimizer import Optimizer, check_number, direction, with_grad


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    amsgrad=False, *, maximize=False)``; a parameter's state: ``"step"`` (a number),
    ``"exp_avg"``, ``"exp_avg_sq"`` and, with amsgrad, ``"max_exp_avg_sq"``."""

    # AdamW decays the parameter itself instead of adding to its gradient
    _decoupled_weight_decay = False

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0,
        amsgrad=False,
        *,
        maximize=False,
    ):
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_options(self, group):
        check_number("lr", group["lr"])
        check_number("eps", group["eps"])
        betas = group["betas"]
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise ValueError(f"Invalid betas: {betas!r} (must be a pair (beta1, beta2))")
        check_number("betas[0]", betas[0], high=1.0, high_open=True)
        check_number("betas[1]", betas[1], high=1.0, high_open=True)
        check_number("weight_decay", group["weight_decay"])

    def _update_group(self, group):
        lr = float(group["lr"])
        beta1, beta2 = (float(beta) for beta in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        amsgrad = bool(group["amsgrad"])
        maximize = bool(group["maximize"])
        decoupled = self._decoupled_weight_decay
        for p in with_grad(group):
            data = p.data
            state = self._state(p, amsgrad)
            t = state["step"] = state["step"] + 1
            if decoupled and weight_decay:
                data *= 1.0 - lr * weight_decay
            g, _ = direction(data, p.grad, 0.0 if decoupled else weight_decay, maximize)
            m, v = state["exp_avg"], state["exp_avg_sq"]

            # m = beta1 * m + (1 - beta1) * g, as m += (1 - beta1) * (g - m): one scratch
            scratch = numpy.subtract(g, m)
            scratch *= 1.0 - beta1
            m += scratch
            v *= beta2  # v += (1 - beta2) * g * g
            numpy.multiply(g, g, out=scratch)
            scratch *= 1.0 - beta2
            v += scratch
            if amsgrad:
                v = numpy.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])

            # lr / c1 * m / (sqrt(v) / c2 + eps), as lr * c2 / c1 * m / (sqrt(v) + eps * c2):
            # the corrections c1, c2 multiply a number, not an array
            c1, c2 = 1.0 - beta1**t, math.sqrt(1.0 - beta2**t)
            numpy.sqrt(v, out=scratch)
            scratch += eps * c2
            numpy.divide(m, scratch, out=scratch)
            scratch *= lr * c2 / c1
            data -= scratch
            note_changed(p)

    def _state(self, p, amsgrad):
        """The parameter's state, made at its first step (zeros in its dtype)."""
        state = self.state.get(p)
        if not state:
            state = self.state[p] = {
                "step": 0,
                "exp_avg": numpy.zeros_like(p.data),
                "exp_avg_sq": numpy.zeros_like(p.data),
            }
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = numpy.zeros_like(p.data)
        return state


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
    amsgrad=False, *, maximize=False)``: Adam with decoupled weight decay."""

    _decoupled_weight_decay = True

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        *,
        maximize=False,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
