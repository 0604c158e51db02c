"""Benchmarks of symgrad against NumPy written by hand (`make bench`).

What is measured, each as the median of many runs, in one process:

* ``sigmoid*tanh 1e6``: forward and backward of ``L = sum(sigmoid(x*w + b) * tanh(x))`` on
  10**6 float64 elements (``b`` of shape (1,), broadcast), giving the gradients of x, w and b.
  Reported as symgrad's median time, NumPy's median time and their ratio; target <= 1.2x.
* ``2000 small ops``: ``y = y*1.0001 + 0.001`` a thousand times on a shape-(4,) tensor, then
  ``y.sum().backward()``: the per-op overhead of the runtime (graph building, dispatch, the
  backward engine), as microseconds per op, forward and backward together; target <= 5 us/op.

The NumPy column is a yardstick only: the same computation with its gradients derived and
fused by hand, reusing intermediates the way a competent NumPy programmer would. symgrad
itself contains no hand-written derivative (its backward rules are derived by SymPy and
generated); the question the yardstick answers is what that costs against the best one
could write by hand. Before anything is timed, symgrad's results are checked against the
yardstick's, so the two columns always time the same computation; a mismatch exits non-zero.
A missed target is reported, not an error: the machine may be shared and noisy, which is
also why only medians and ratios are quoted.

Symgrad and NumPy runs are interleaved (alternating which goes first), so that machine noise
hits both; the ratio is the median of the per-repeat ratios.

More benchmarks (an MLP, a LeNet, pooling, conv) are added as functions returning rows and
listed in ``BENCHMARKS``.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

try:
    import symgrad as sg
except ImportError as exc:  # the library is built by `make generate`
    sys.exit(f"bench: cannot import symgrad ({exc}); run `make generate` first")
if not hasattr(sg, "tensor"):
    sys.exit("bench: symgrad has no runtime yet (no sg.tensor); run `make generate` first")


# --------------------------------------------------------------------------------------------
# Measuring and reporting


@dataclass(frozen=True)
class Timing:
    """Medians, in seconds, of two functions timed in interleaved runs."""

    a: float
    b: float
    ratio: float  # median of the per-repeat ratios a/b
    repeats: int


def median_ratio(fn_a: Callable[[], object], fn_b: Callable[[], object], repeats: int) -> Timing:
    """Time ``fn_a`` and ``fn_b`` ``repeats`` times each, interleaved; return the medians.

    Each function runs once untimed first (warm-up). In every repeat both run back to back,
    alternating which goes first, so slow phases of a noisy machine hit both; garbage left by
    one run is collected before the next, so it is not charged to the wrong side.
    """
    fn_a()
    fn_b()
    times_a, times_b = [], []
    for i in range(repeats):
        order = ((fn_a, times_a), (fn_b, times_b))
        for fn, times in order if i % 2 == 0 else reversed(order):
            gc.collect()
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    ratios = [ta / tb for ta, tb in zip(times_a, times_b, strict=True)]
    return Timing(
        a=statistics.median(times_a),
        b=statistics.median(times_b),
        ratio=statistics.median(ratios),
        repeats=repeats,
    )


@dataclass(frozen=True)
class Row:
    """One line of the report. ``symgrad`` and ``numpy`` are medians in ``unit``.

    The target bounds the ratio (``target_on="ratio"``) or symgrad's own median
    (``target_on="symgrad"``).
    """

    name: str
    unit: str
    symgrad: float
    numpy: float
    ratio: float
    target: float
    target_on: str
    repeats: int

    @property
    def target_text(self) -> str:
        if self.target_on == "ratio":
            return f"<= {self.target:g}x"
        return f"<= {self.target:g} {self.unit}"

    @property
    def measured(self) -> float:
        return self.ratio if self.target_on == "ratio" else self.symgrad

    @property
    def passed(self) -> bool:
        return self.measured <= self.target

    @property
    def measured_text(self) -> str:
        if self.target_on == "ratio":
            return f"{self.ratio:.2f}x"
        return f"{self.symgrad:.2f} {self.unit}"


class MismatchError(Exception):
    """symgrad and the NumPy yardstick disagree: the timings would compare different things."""


def check_close(
    name: str,
    got: object,
    want: np.ndarray,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    dtype: type[np.generic] | None = None,
) -> None:
    """Raise ``MismatchError`` unless ``got`` is an array of ``want``'s shape and close to it.

    ``rtol`` and ``atol`` are ``np.allclose``'s (its defaults suit float64; float32 needs
    looser ones). With ``dtype``, ``got`` must also have exactly that dtype.
    """
    if got is None:
        raise MismatchError(f"{name}: symgrad gave None, expected shape {want.shape}")
    got = np.asarray(got)
    if got.shape != want.shape:
        raise MismatchError(f"{name}: symgrad gave shape {got.shape}, expected {want.shape}")
    if dtype is not None and got.dtype != dtype:
        raise MismatchError(f"{name}: symgrad gave dtype {got.dtype}, expected {np.dtype(dtype)}")
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(got - want)))
        raise MismatchError(f"{name}: symgrad differs from NumPy by up to {worst:.3g}")


def clear_grads(*leaves: sg.Tensor) -> None:
    """Forget accumulated gradients, so every run computes (not accumulates) them afresh."""
    for leaf in leaves:
        leaf.grad = None


# --------------------------------------------------------------------------------------------
# Benchmarks: each takes a repeat count (None: its default) and returns rows


def bench_sigmoid_tanh(repeats: int | None) -> list[Row]:
    """forward+backward of sum(sigmoid(x*w + b) * tanh(x)) on 10**6 float64 elements."""
    n = 10**6
    rng = np.random.default_rng(0)
    x_np, w_np, b_np = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(1)
    x = sg.tensor(x_np, requires_grad=True)
    w = sg.tensor(w_np, requires_grad=True)
    b = sg.tensor(b_np, requires_grad=True)

    def with_symgrad():
        clear_grads(x, w, b)
        loss = (sg.sigmoid(x * w + b) * sg.tanh(x)).sum()
        loss.backward()
        return loss

    def by_hand():
        s = 1.0 / (1.0 + np.exp(-(x_np * w_np + b_np)))
        t = np.tanh(x_np)
        loss = np.sum(s * t)
        dz = t * s * (1.0 - s)
        dx = dz * w_np + s * (1.0 - t * t)
        dw = dz * x_np
        db = np.sum(dz, keepdims=True)
        return loss, dx, dw, db

    loss = with_symgrad()
    want_loss, dx, dw, db = by_hand()
    check_close("sigmoid*tanh: L", loss.item(), np.asarray(want_loss))
    check_close("sigmoid*tanh: x.grad", x.grad, dx)
    check_close("sigmoid*tanh: w.grad", w.grad, dw)
    check_close("sigmoid*tanh: b.grad", b.grad, db)

    timing = median_ratio(with_symgrad, by_hand, repeats or 21)
    ms = 1e3
    return [
        Row(
            name="sigmoid*tanh 1e6 fwd+bwd",
            unit="ms",
            symgrad=timing.a * ms,
            numpy=timing.b * ms,
            ratio=timing.ratio,
            target=1.2,
            target_on="ratio",
            repeats=timing.repeats,
        )
    ]


def bench_small_ops(repeats: int | None) -> list[Row]:
    """2,000 small ops on a shape-(4,) tensor: the runtime's per-op overhead."""
    steps = 1000
    n_ops = 2 * steps
    x_np = np.linspace(-1.0, 1.0, 4)
    x = sg.tensor(x_np, requires_grad=True)

    def with_symgrad():
        clear_grads(x)
        y = x
        for _ in range(steps):
            y = y * 1.0001 + 0.001
        loss = y.sum()
        loss.backward()
        return loss

    def by_hand():
        # The same chain op by op, then its backward op by op, as an interpreter would.
        y = x_np
        for _ in range(steps):
            y = y * 1.0001 + 0.001
        loss = y.sum()
        grad = np.ones_like(x_np)
        for _ in range(steps):
            grad = grad * 1.0001
        return loss, grad

    loss = with_symgrad()
    want_loss, want_grad = by_hand()
    check_close("small ops: y.sum()", loss.item(), np.asarray(want_loss))
    check_close("small ops: x.grad", x.grad, want_grad)

    timing = median_ratio(with_symgrad, by_hand, repeats or 31)
    us_per_op = 1e6 / n_ops
    return [
        Row(
            name="2000 small ops fwd+bwd",
            unit="us/op",
            symgrad=timing.a * us_per_op,
            numpy=timing.b * us_per_op,
            ratio=timing.ratio,
            target=5.0,
            target_on="symgrad",
            repeats=timing.repeats,
        )
    ]


MLP_SIZES = (784, 256, 128, 10)
MLP_BATCH = 128


def missing_for_mlp() -> list[str]:
    """What of the MLP benchmark's API symgrad lacks, found on tiny float32 examples.

    Each feature is tried forward and backward, untimed, before anything is timed; a
    feature that raises (not implemented yet, or broken) is named with its error.
    """
    rng = np.random.default_rng(1)

    def leaf(*shape: int) -> sg.Tensor:
        return sg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)

    def matmul() -> list[sg.Tensor]:
        a, b = leaf(2, 3), leaf(3, 4)
        (a @ b).sum().backward()
        return [a, b]

    def relu() -> list[sg.Tensor]:
        a = leaf(2, 3)
        sg.relu(a).sum().backward()
        return [a]

    def log_softmax() -> list[sg.Tensor]:
        a = leaf(2, 3)
        sg.log_softmax(a, axis=-1).sum().backward()
        return [a]

    def fancy_index() -> list[sg.Tensor]:
        a = leaf(2, 3)
        a[np.arange(2), np.array([2, 0])].mean().backward()
        return [a]

    probes = {
        "matmul `@`": matmul,
        "sg.relu": relu,
        "sg.log_softmax(x, axis=-1)": log_softmax,
        "indexing t[np.arange(n), labels]": fancy_index,
    }
    missing = []
    for what, probe in probes.items():
        try:
            leaves = probe()
        except Exception as exc:  # the probe, not the timed code: anything means "missing"
            missing.append(f"{what} ({type(exc).__name__}: {exc})")
            continue
        if any(t.grad is None for t in leaves):
            missing.append(f"{what} (no gradient reached the input)")
    return missing


def bench_mlp(repeats: int | None) -> list[Row]:
    """MLP 784-256-128-10 (bias, relu, log_softmax, mean NLL), batch 128, float32.

    forward+backward, giving the gradients of all six parameters.
    """
    name = "MLP 784-256-128-10 b128 f32 fwd+bwd"
    missing = missing_for_mlp()
    if missing:
        print(f"skipped: {name}: symgrad lacks " + "; ".join(missing))
        return []

    f32 = np.float32
    rng = np.random.default_rng(0)
    params_np = []
    for fan_in, fan_out in itertools.pairwise(MLP_SIZES):
        scale = f32(np.sqrt(2.0 / fan_in))  # He initialisation, for relu
        params_np.append(rng.standard_normal((fan_in, fan_out), dtype=f32) * scale)
        params_np.append(rng.standard_normal(fan_out, dtype=f32) * f32(0.1))
    W1_np, b1_np, W2_np, b2_np, W3_np, b3_np = params_np
    X_np = rng.standard_normal((MLP_BATCH, MLP_SIZES[0]), dtype=f32)
    labels = rng.integers(0, MLP_SIZES[-1], size=MLP_BATCH)
    rows = np.arange(MLP_BATCH)

    params = [sg.tensor(p, requires_grad=True) for p in params_np]
    W1, b1, W2, b2, W3, b3 = params
    X = sg.tensor(X_np)

    def with_symgrad():
        clear_grads(*params)
        h1 = sg.relu(X @ W1 + b1)
        h2 = sg.relu(h1 @ W2 + b2)
        logits = h2 @ W3 + b3
        logp = sg.log_softmax(logits, axis=-1)
        loss = -logp[rows, labels].mean()
        loss.backward()
        return loss

    def by_hand():
        h1 = np.maximum(X_np @ W1_np + b1_np, 0)
        h2 = np.maximum(h1 @ W2_np + b2_np, 0)
        logits = h2 @ W3_np + b3_np
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        logp = shifted - np.log(s)
        loss = -logp[rows, labels].mean()
        # dloss/dlogits = (softmax - onehot) / batch, built in place in e
        dlogits = e
        dlogits /= s
        dlogits[rows, labels] -= 1
        dlogits *= f32(1.0 / MLP_BATCH)
        dW3 = h2.T @ dlogits
        db3 = dlogits.sum(axis=0)
        dh2 = dlogits @ W3_np.T
        dh2 *= h2 > 0  # relu'(0) = 0
        dW2 = h1.T @ dh2
        db2 = dh2.sum(axis=0)
        dh1 = dh2 @ W2_np.T
        dh1 *= h1 > 0
        dW1 = X_np.T @ dh1
        db1 = dh1.sum(axis=0)
        return loss, (dW1, db1, dW2, db2, dW3, db3)

    loss = with_symgrad()
    want_loss, want_grads = by_hand()
    tol = {"rtol": 1e-4, "atol": 1e-5, "dtype": f32}
    check_close("MLP: loss", loss.data, np.asarray(want_loss), **tol)
    for pname, param, want in zip(("W1", "b1", "W2", "b2", "W3", "b3"), params, want_grads):
        if want.dtype != f32:  # the yardstick itself must stay in float32
            raise MismatchError(f"MLP: hand-written d{pname} is {want.dtype}, not float32")
        check_close(f"MLP: {pname}.grad", param.grad, want, **tol)

    timing = median_ratio(with_symgrad, by_hand, repeats or 51)
    ms = 1e3
    return [
        Row(
            name=name,
            unit="ms",
            symgrad=timing.a * ms,
            numpy=timing.b * ms,
            ratio=timing.ratio,
            target=1.2,
            target_on="ratio",
            repeats=timing.repeats,
        )
    ]


BENCHMARKS: list[Callable[[int | None], list[Row]]] = [
    bench_sigmoid_tanh,
    bench_small_ops,
    bench_mlp,
]


# --------------------------------------------------------------------------------------------
# Report


def print_table(rows: Sequence[Row]) -> None:
    header = ("benchmark", "symgrad median", "numpy median", "ratio", "target", "repeats")
    cells = [
        (
            row.name,
            f"{row.symgrad:.3f} {row.unit}",
            f"{row.numpy:.3f} {row.unit}",
            f"{row.ratio:.2f}x",
            row.target_text,
            str(row.repeats),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]

    def fmt(line: Sequence[str]) -> str:
        first = line[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    print(fmt(header))
    print("  ".join("-" * width for width in widths))
    for line in cells:
        print(fmt(line))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed runs per benchmark (default: its own)"
    )
    args = parser.parse_args(argv)

    print(f"symgrad bench: Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"machine: {platform.machine()}, {platform.system()} {platform.release()}")
    print("medians of interleaved runs; ratio = median of per-run symgrad/numpy ratios")
    print()

    rows: list[Row] = []
    try:
        for bench in BENCHMARKS:
            rows.extend(bench(args.repeats))
    except MismatchError as exc:
        print(f"bench: MISMATCH, {exc}", file=sys.stderr)
        return 1

    print_table(rows)
    print()
    for row in rows:
        verdict = "PASS" if row.passed else "MISS"
        print(f"{verdict}  {row.name}: {row.measured_text} (target {row.target_text})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
