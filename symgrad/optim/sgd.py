"""Stochastic gradient descent, with PyTorch's momentum, dampening, Nesterov momentum,
weight decay and maximize (``torch.optim.SGD``'s documented update).

Per parameter p, with gradient g, at step t:

    g = -g if maximize;  g = g + weight_decay * p
    with momentum:  b = g at t = 1, else momentum * b + (1 - dampening) * g
                    g = g + momentum * b if nesterov, else b
    p = p - lr * g
"""

import numpy

from symgrad.optim.optimizer import Optimizer, check_number, direction, subtract_scaled, with_grad


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
    maximize=False)``; the state of a parameter, with momentum, is its
    ``"momentum_buffer"``."""

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0,
        dampening=0,
        weight_decay=0,
        nesterov=False,
        *,
        maximize=False,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_options(self, group):
        check_number("lr", group["lr"])
        check_number("momentum", group["momentum"])
        check_number("dampening", group["dampening"], high=1.0)
        check_number("weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "Invalid nesterov: Nesterov momentum requires a momentum and zero dampening "
                f"(momentum={group['momentum']!r}, dampening={group['dampening']!r})"
            )

    def _update_group(self, group):
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        dampening = float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        nesterov = bool(group["nesterov"])
        maximize = bool(group["maximize"])
        for p in with_grad(group):
            step, step_is_new = direction(p.data, p.grad, weight_decay, maximize)
            if momentum:
                buf = self._momentum_buffer(p, step, momentum, dampening)
                if nesterov:
                    # step + momentum * buf, in an array of its own
                    nudge = numpy.multiply(buf, momentum)
                    nudge += step
                    step, step_is_new = nudge, True
                else:
                    step, step_is_new = buf, False  # the buffer is state: not overwritten
            subtract_scaled(p, step, lr, step_is_new)

    def _momentum_buffer(self, p, step, momentum, dampening):
        """The buffer updated by this step's ``step`` (its first value a copy of it, kept
        in the parameter's dtype)."""
        state = self.state.setdefault(p, {})
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = numpy.array(step, dtype=p.data.dtype, copy=True)
            return buf
        buf *= momentum
        if dampening:
            buf += (1.0 - dampening) * step
        else:
            buf += step
        return buf
