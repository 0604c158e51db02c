"""Ten ops defined the way a textbook writes them, derived and proven by ``sg.define``,
then used: their rules read, a small network trained with one of them (Adam), a
second derivative (a Hessian-vector product) and a forward-mode derivative (jvp)
checked against finite differences.

    python examples/define_ops.py        (needs pip install symgrad[derive])
"""

import time

import numpy as np

import symgrad as sg
from symgrad import nn

DEFINITIONS = [
    # name, definition, inputs, params, domain
    ("logaddexp", "log(exp(x) + exp(y))", ("x", "y"), None, None),
    ("logaddexp2", "log(2**x + 2**y, 2)", ("x", "y"), None, None),
    ("mish", "x*tanh(log(1 + exp(x)))", ("x",), None, None),
    ("softsign", "x/(1 + Abs(x))", ("x",), None, None),
    ("log_sigmoid", "-log(1 + exp(-x))", ("x",), None, None),
    ("xlogy", "x*log(y)", ("x", "y"), None, {"y": (0, float("inf"))}),
    ("hypot", "sqrt(x**2 + y**2)", ("x", "y"), None, None),
    ("sinc", "sin(pi*x)/(pi*x)", ("x",), None, None),
    ("hardtanh", "Piecewise((-1, x < -1), (1, x > 1), (x, True))", ("x",), None, None),
    ("swish", "x*sigmoid(beta*x)", ("x",), {"beta": 1.0}, None),
]


def define_all():
    ops = {}
    for name, definition, inputs, params, domain in DEFINITIONS:
        start = time.perf_counter()
        ops[name] = sg.define(name, definition, inputs, params=params, domain=domain)
        seconds = time.perf_counter() - start
        rules = "; ".join(f"d/d{k}: {v}" for k, v in ops[name].rules.items())
        print(f"{name:12} {seconds:5.2f} s  {definition}\n{'':20}{rules}")
    return ops


class Net(nn.Module):
    """A small regression network whose activations are defined ops."""

    def __init__(self, ops):
        super().__init__()
        self.first, self.second = nn.Linear(1, 32), nn.Linear(32, 1)
        self.ops = ops

    def forward(self, x):
        hidden = self.ops["mish"](self.first(x))
        return self.ops["softsign"](self.second(hidden)) * 2


def train(ops):
    sg.manual_seed(0)
    x = np.linspace(-3, 3, 128, dtype=np.float32)[:, None]
    target = np.sin(2 * x) * 0.8
    model = Net(ops)
    optimizer = sg.optim.Adam(model.parameters(), lr=0.02)
    for step in range(400):
        loss = nn.functional.mse_loss(model(sg.tensor(x)), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == 399:
            print(f"step {step:3}  loss {loss.item():.5f}")
    return loss.item()


def second_and_forward_mode(ops):
    """A Hessian-vector product (create_graph through the defined ops) and a jvp, each
    with central finite differences: ((hvp, numeric), (jvp, numeric))."""
    rng = np.random.default_rng(1)
    x0, v = rng.standard_normal(5), rng.standard_normal(5)

    def f(x):
        return (ops["swish"](x, beta=1.5) * ops["sinc"](x) + ops["logaddexp"](x, -x)).sum()

    def gradient(values):
        x = sg.tensor(values, requires_grad=True)
        f(x).backward()
        return x.grad

    x = sg.tensor(x0, requires_grad=True)
    (g,) = sg.grad(f(x), x, create_graph=True)
    (g * v).sum().backward()
    step = 1e-5
    hvp_numeric = (gradient(x0 + step * v) - gradient(x0 - step * v)) / (2 * step)
    print("Hessian-vector product:", np.round(x.grad, 6))
    print("   finite differences:  ", np.round(hvp_numeric, 6))
    _, tangent = sg.jvp(
        lambda t: ops["mish"](t) * ops["hypot"](t, 2.0), sg.tensor(x0), sg.tensor(v)
    )

    def h(values):
        return np.asarray(ops["mish"](sg.tensor(values)).data) * np.hypot(values, 2.0)

    jvp_numeric = (h(x0 + step * v) - h(x0 - step * v)) / (2 * step)
    print("jvp:                  ", np.round(tangent.data, 6))
    print("   finite differences:  ", np.round(jvp_numeric, 6))
    return (x.grad, hvp_numeric), (tangent.data, jvp_numeric)


def main():
    ops = define_all()
    final = train(ops)
    print(f"final loss {final:.5f}")
    second_and_forward_mode(ops)


if __name__ == "__main__":
    main()
