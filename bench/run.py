"""Benchmarks of symgrad against NumPy written by hand (`make bench`).

What is measured, each as the median of many runs, in one process (but the PyTorch row):

* ``sigmoid*tanh 1e6``: forward and backward of ``L = sum(sigmoid(x*w + b) * tanh(x))`` on
  10**6 float64 elements (``b`` of shape (1,), broadcast), giving the gradients of x, w and b.
  Reported as symgrad's median time, NumPy's median time and their ratio; target <= 1.2x.
* ``2000 small ops``: ``y = y*1.0001 + 0.001`` a thousand times on a shape-(4,) tensor, then
  ``y.sum().backward()``: the per-op overhead of the runtime (graph building, dispatch, the
  backward engine), as microseconds per op, forward and backward together; target <= 5 us/op.

The yardstick column is NumPy written by hand, unless a row below says otherwise: the same
computation with its gradients derived and fused by hand, reusing intermediates the way a
competent NumPy programmer would. symgrad itself contains no hand-written derivative (its
backward rules are derived by SymPy and generated); the question the yardstick answers is
what that costs against the best one could write by hand. Before anything is timed,
symgrad's results are checked against the yardstick's, so the two columns always time the
same computation; a mismatch exits non-zero. A missed target is reported, not an error: the
machine may be shared and noisy, which is also why only medians and ratios are quoted.

Symgrad and yardstick runs are interleaved (alternating which goes first), so that machine
noise hits both; the ratio is the median of the per-repeat ratios.

* ``MLP 784-256-128-10``: an MLP on a float32 batch of 128; target <= 1.2x.
* ``LeNet-5``: conv 1->6 k5 pad 2, relu, max-pool 2, conv 6->16 k5, relu, max-pool 2,
  flatten, linear 400-120-84-10 with relus, mean cross-entropy, on a float32 batch of 64
  28x28 images, giving the gradients of all ten weights and biases; target <= 1.0x.
* ``LeNet-5 training step``: the same LeNet-5's forward, backward and ``sg.optim.Adam`` step
  against its forward and backward alone (the yardstick is symgrad itself here): what the
  optimizer adds to a step; target <= 1.05x. The first step is checked against Adam's
  formula.
* ``max_pool2d k2 s2``, ``avg_pool2d k3 s2 p1`` (counting padded zeros) on (64,16,28,28) and
  ``conv2d k3 s2 p1 d2`` of (32,16,32,32) by (32,16,3,3), float32, forward and backward
  seeded with a fixed random cotangent; targets <= 1.2x.
* ``digits CNN epoch vs PyTorch (1 thread)``: seconds per training epoch of
  ``examples/digits.py`` (its LeNet-style model, bundled data, batch size, loss, Adam and
  ``train_epoch``) against the same epoch in PyTorch (``torch.nn``, ``torch.optim.Adam``,
  ``torch.utils.data.DataLoader``), both held to one thread, in a process of their own;
  target <= 1.0x. The two models start from the same weights and are checked to give the
  same loss and gradients first. Skipped, with a line saying so, where PyTorch is not
  installed.
* ``sg.define mish``: seconds ``sg.define`` takes to derive, render, verify and load the
  textbook mish into an empty cache (the table rows it calls derived too), against loading
  it from the cache; target <= 2 s. Skipped where SymPy is not installed.

For the window ops the yardstick is an im2col convolution (a strided window view copied into
columns, one BLAS product; backward: the weight gradient from the saved columns, the input
gradient by col2im, a loop over kernel offsets adding strided slices) and pooling by strided
views of the kernel offsets (max-pooling gives each window's gradient to its first maximum,
like PyTorch). Before it is trusted, the yardstick itself is checked, in float64 on tiny
inputs, against naive references written from the definitions (loops over every output
element), and the hand-written LeNet also against finite differences. That check runs even
when symgrad lacks the functions; the benchmark then prints a ``skipped:`` line naming them.

More benchmarks are added as functions returning rows and listed in ``BENCHMARKS``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib.util
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import as_strided

try:
    import symgrad as sg
except ImportError as exc:  # the library is built by `make generate`
    sys.exit(f"bench: cannot import symgrad ({exc}); run `make generate` first")
if not hasattr(sg, "tensor"):
    sys.exit("bench: symgrad has no runtime yet (no sg.tensor); run `make generate` first")
F_IMPORT_ERROR = ""
try:
    import symgrad.nn.functional as F  # noqa: N812 (PyTorch's naming)
except Exception as exc:  # not built yet, or broken: the benchmarks using it are skipped
    F = None
    F_IMPORT_ERROR = f"{type(exc).__name__}: {exc}"


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
    return run_probes(probes)


def run_probes(probes: dict[str, Callable[[], list[sg.Tensor]]]) -> list[str]:
    """Run each probe (a tiny forward and backward returning its leaves); name the failures.

    A probe that raises (not implemented yet, or broken), or after which a leaf has no
    gradient, is named with what went wrong.
    """
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


# --------------------------------------------------------------------------------------------
# Window ops written by hand: the yardstick of the LeNet, pooling and conv benchmarks
#
# Competent vectorised NumPy: no Python loop over pixels or over the batch, at most one over
# the kernel offsets. They work in any float dtype (float64 to check them against the naive
# references further down, float32 to time them) and on arrays of any memory layout.


def conv_out_len(length: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """PyTorch's output length, along one axis, of a convolution or a pooling."""
    return (length + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class ConvCache:
    """What the backward of ``hand_conv2d`` needs from its forward."""

    cols: np.ndarray  # (C*KH*KW, N*OH*OW), the im2col matrix
    x_shape: tuple[int, ...]
    stride: int
    padding: int
    dilation: int


def hand_conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
) -> tuple[np.ndarray, ConvCache]:
    """PyTorch's conv2d (NCHW, weight (out, in, kh, kw)) by im2col.

    The zero-padded input's windows, one strided view, are copied once into columns
    (rows: input channel and kernel offset; columns: image and output pixel), then one BLAS
    product with the weights gives the output as (out channel, image, pixel), returned as an
    NCHW view of it (no transposing copy: the ops after it follow its layout).
    """
    N, C, H, W = x.shape
    O, _, KH, KW = w.shape
    OH = conv_out_len(H, KH, stride, padding, dilation)
    OW = conv_out_len(W, KW, stride, padding, dilation)
    if padding:
        xp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), x.dtype)
        xp[:, :, padding : padding + H, padding : padding + W] = x
    else:
        xp = x
    sn, sc, sh, sw = xp.strides
    windows = as_strided(
        xp,
        shape=(C, KH, KW, N, OH, OW),
        strides=(sc, sh * dilation, sw * dilation, sn, sh * stride, sw * stride),
        writeable=False,
    )
    cols = windows.reshape(C * KH * KW, N * OH * OW)  # the one copy
    out = w.reshape(O, -1) @ cols
    if b is not None:
        out += b[:, None]
    y = out.reshape(O, N, OH, OW).transpose(1, 0, 2, 3)
    return y, ConvCache(cols, x.shape, stride, padding, dilation)


def hand_conv2d_backward(
    g: np.ndarray, w: np.ndarray, cache: ConvCache, need_dx: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """The gradients (dx, dw, db) of ``hand_conv2d`` given the output's gradient ``g``.

    dw is one product with the saved columns; dx is col2im: the columns' gradient (one
    product with the weights) added back into the padded input, one strided slice per kernel
    offset. dx is skipped (None) when the input needs no gradient.
    """
    N, C, H, W = cache.x_shape
    O, _, KH, KW = w.shape
    OH, OW = g.shape[2:]
    s, p, d = cache.stride, cache.padding, cache.dilation
    g_cols = g.transpose(1, 0, 2, 3).reshape(O, N * OH * OW)  # free in the forward's layout
    dw = (cache.cols @ g_cols.T).T.reshape(w.shape)
    db = g_cols.sum(axis=1)
    if not need_dx:
        return None, dw, db
    dcols = (w.reshape(O, -1).T @ g_cols).reshape(C, KH, KW, N, OH, OW)
    dxp = np.zeros((C, N, H + 2 * p, W + 2 * p), g.dtype)  # each dcols[:, i, j] in its layout
    for i in range(KH):
        for j in range(KW):
            rows = slice(i * d, i * d + s * (OH - 1) + 1, s)
            cols = slice(j * d, j * d + s * (OW - 1) + 1, s)
            dxp[:, :, rows, cols] += dcols[:, i, j]
    dx = dxp[:, :, p : p + H, p : p + W].transpose(1, 0, 2, 3)
    return dx, dw, db


def hand_max_pool2d(x: np.ndarray, kernel: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """max_pool2d with stride = kernel and no padding, on sizes the kernel divides (what the
    benchmarks need): the element-wise maximum of the strided views of the kernel offsets.
    Returns the output and the views (row-major offset order), for the backward."""
    H, W = x.shape[-2:]
    if H % kernel or W % kernel:
        raise ValueError(f"hand_max_pool2d: kernel {kernel} does not divide {H}x{W}")
    views = [x[..., i::kernel, j::kernel] for i in range(kernel) for j in range(kernel)]
    y = views[0].copy()
    for view in views[1:]:
        np.maximum(y, view, out=y)
    return y, views


def hand_max_pool2d_backward(
    g: np.ndarray, x: np.ndarray, y: np.ndarray, views: list[np.ndarray]
) -> np.ndarray:
    """The gradient of ``hand_max_pool2d``'s input: each window's goes to its first maximum
    in row-major order, as in PyTorch (``free`` marks the windows whose maximum is not met
    yet; the last offset takes the rest, where the maximum must be)."""
    kernel = round(len(views) ** 0.5)
    dx = np.empty_like(x)
    free = np.ones(y.shape, dtype=bool)
    hit = np.empty(y.shape, dtype=bool)
    for k, view in enumerate(views):
        if k < len(views) - 1:
            np.equal(view, y, out=hit)
            hit &= free
            free ^= hit
        else:
            hit = free
        i, j = divmod(k, kernel)
        np.multiply(g, hit, out=dx[..., i::kernel, j::kernel])
    return dx


def _offset_span(length: int, out_len: int, offset: int, stride: int, padding: int):
    """For one kernel offset of a pooling: the output indices ``lo:hi`` whose input index
    ``a*stride - padding + offset`` lies inside the input (not in the padding), and the input
    index of ``lo``."""
    lo = max(0, -((offset - padding) // stride))
    hi = min(out_len, (length - 1 + padding - offset) // stride + 1)
    return lo, hi, lo * stride - padding + offset


def _avg_pool_slices(shape: tuple[int, ...], kernel: int, stride: int, padding: int):
    """Per kernel offset, the matching (output slices, input slices) of an avg_pool2d; the
    padded zeros add nothing, so they are left out instead of padding the input."""
    H, W = shape[-2:]
    OH, OW = conv_out_len(H, kernel, stride, padding), conv_out_len(W, kernel, stride, padding)
    pairs = []
    for i in range(kernel):
        a0, a1, h0 = _offset_span(H, OH, i, stride, padding)
        for j in range(kernel):
            b0, b1, w0 = _offset_span(W, OW, j, stride, padding)
            if a1 > a0 and b1 > b0:
                out_sl = (..., slice(a0, a1), slice(b0, b1))
                in_sl = (
                    ...,
                    slice(h0, h0 + stride * (a1 - a0 - 1) + 1, stride),
                    slice(w0, w0 + stride * (b1 - b0 - 1) + 1, stride),
                )
                pairs.append((out_sl, in_sl))
    return (OH, OW), pairs


def hand_avg_pool2d(x: np.ndarray, kernel: int, stride: int, padding: int) -> np.ndarray:
    """avg_pool2d counting padded zeros (PyTorch's count_include_pad=True): a sum of strided
    slices, one per kernel offset, divided by kernel**2."""
    (OH, OW), pairs = _avg_pool_slices(x.shape, kernel, stride, padding)
    y = np.zeros((*x.shape[:-2], OH, OW), x.dtype)
    for out_sl, in_sl in pairs:
        y[out_sl] += x[in_sl]
    y *= x.dtype.type(1.0 / kernel**2)
    return y


def hand_avg_pool2d_backward(
    g: np.ndarray, x_shape: tuple[int, ...], kernel: int, stride: int, padding: int
) -> np.ndarray:
    """The gradient of ``hand_avg_pool2d``'s input: g / kernel**2 added into strided slices."""
    _, pairs = _avg_pool_slices(x_shape, kernel, stride, padding)
    g_scaled = g * g.dtype.type(1.0 / kernel**2)
    dx = np.zeros(x_shape, g.dtype)
    for out_sl, in_sl in pairs:
        dx[in_sl] += g_scaled[out_sl]
    return dx


def hand_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[np.generic, np.ndarray]:
    """Mean cross-entropy of (n, classes) logits and integer labels, by a stable
    log-softmax; returns the loss and its gradient with respect to the logits."""
    n = logits.shape[0]
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    loss = np.log(s).mean() - shifted[rows, labels].mean()
    dlogits = e  # (softmax - onehot) / n, built in place
    dlogits /= s
    dlogits[rows, labels] -= 1
    dlogits *= logits.dtype.type(1.0 / n)
    return loss, dlogits


LENET_PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4", "W5", "b5")


def hand_lenet(
    X: np.ndarray, labels: np.ndarray, params: Sequence[np.ndarray]
) -> tuple[np.generic, tuple[np.ndarray, ...]]:
    """LeNet-5's mean cross-entropy and the gradients of its ten parameters, by hand."""
    W1, b1, W2, b2, W3, b3, W4, b4, W5, b5 = params
    n = X.shape[0]
    z1, conv1 = hand_conv2d(X, W1, b1, stride=1, padding=2)
    a1 = np.maximum(z1, 0)
    p1, views1 = hand_max_pool2d(a1, 2)
    z2, conv2 = hand_conv2d(p1, W2, b2)
    a2 = np.maximum(z2, 0)
    p2, views2 = hand_max_pool2d(a2, 2)
    f = p2.reshape(n, -1)  # PyTorch's flatten order: (channel, row, column)
    h3 = f @ W3.T
    h3 += b3
    np.maximum(h3, 0, out=h3)  # relu in place: h3 > 0 exactly where its input is
    h4 = h3 @ W4.T
    h4 += b4
    np.maximum(h4, 0, out=h4)
    logits = h4 @ W5.T
    logits += b5
    loss, dlogits = hand_cross_entropy(logits, labels)
    dW5 = dlogits.T @ h4
    db5 = dlogits.sum(axis=0)
    dh4 = dlogits @ W5
    dh4 *= h4 > 0  # relu'(0) = 0
    dW4 = dh4.T @ h3
    db4 = dh4.sum(axis=0)
    dh3 = dh4 @ W4
    dh3 *= h3 > 0
    dW3 = dh3.T @ f
    db3 = dh3.sum(axis=0)
    dp2 = (dh3 @ W3).reshape(p2.shape)
    da2 = hand_max_pool2d_backward(dp2, a2, p2, views2)
    da2 *= z2 > 0
    dp1, dW2, db2 = hand_conv2d_backward(da2, W2, conv2)
    da1 = hand_max_pool2d_backward(dp1, a1, p1, views1)
    da1 *= z1 > 0
    _, dW1, db1 = hand_conv2d_backward(da1, W1, conv1, need_dx=False)  # X needs no gradient
    return loss, (dW1, db1, dW2, db2, dW3, db3, dW4, db4, dW5, db5)


# --------------------------------------------------------------------------------------------
# Naive references, straight from the definitions (a loop over every output element), and
# the checks of the hand-written yardstick against them, in float64 on tiny inputs


def naive_conv2d(x, w, b, stride, padding, dilation):
    """conv2d by its definition: each output element a sum over its window, gathered by
    index arithmetic."""
    N, _, H, W = x.shape
    O, _, KH, KW = w.shape
    OH = conv_out_len(H, KH, stride, padding, dilation)
    OW = conv_out_len(W, KW, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    y = np.zeros((N, O, OH, OW))
    for n, o, r, c in itertools.product(range(N), range(O), range(OH), range(OW)):
        rows = (r * stride + dilation * np.arange(KH))[:, None]
        cols = (c * stride + dilation * np.arange(KW))[None, :]
        y[n, o, r, c] = np.sum(xp[n][:, rows, cols] * w[o]) + (0.0 if b is None else b[o])
    return y


def naive_conv2d_backward(x, w, g, stride, padding, dilation):
    """conv2d's gradients (dx, dw, db) by the definition: each output element's gradient
    spread over its window and its weights."""
    H, W = x.shape[2:]
    O, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros(O)
    for n, o, r, c in itertools.product(*(range(k) for k in g.shape)):
        rows = (r * stride + dilation * np.arange(KH))[:, None]
        cols = (c * stride + dilation * np.arange(KW))[None, :]
        dxp[n][:, rows, cols] += g[n, o, r, c] * w[o]
        dw[o] += g[n, o, r, c] * xp[n][:, rows, cols]
        db[o] += g[n, o, r, c]
    return dxp[:, :, padding : padding + H, padding : padding + W], dw, db


def naive_max_pool2d(x, g, kernel, stride):
    """max_pool2d (no padding) and its input gradient (given g, the output's): each window
    scanned in row-major order; its first maximum takes the gradient."""
    N, C, H, W = x.shape
    OH, OW = conv_out_len(H, kernel, stride, 0), conv_out_len(W, kernel, stride, 0)
    y, dx = np.zeros((N, C, OH, OW)), np.zeros_like(x)
    for n, c, r, q in itertools.product(range(N), range(C), range(OH), range(OW)):
        best = None
        for i, j in itertools.product(range(kernel), range(kernel)):
            at = (n, c, r * stride + i, q * stride + j)
            if best is None or x[at] > x[best]:
                best = at
        y[n, c, r, q] = x[best]
        if g is not None:
            dx[best] += g[n, c, r, q]
    return y, dx


def naive_avg_pool2d(x, g, kernel, stride, padding):
    """avg_pool2d counting padded zeros, and its input gradient (given g, the output's)."""
    N, C, H, W = x.shape
    OH, OW = conv_out_len(H, kernel, stride, padding), conv_out_len(W, kernel, stride, padding)
    y, dx = np.zeros((N, C, OH, OW)), np.zeros_like(x)
    for n, c, r, q in itertools.product(range(N), range(C), range(OH), range(OW)):
        for i, j in itertools.product(range(kernel), range(kernel)):
            h, v = r * stride - padding + i, q * stride - padding + j
            if 0 <= h < H and 0 <= v < W:
                y[n, c, r, q] += x[n, c, h, v] / kernel**2
                dx[n, c, h, v] += g[n, c, r, q] / kernel**2
    return y, dx


def naive_cross_entropy(logits, labels):
    """Mean cross-entropy and its gradient, one row at a time."""
    n = logits.shape[0]
    loss, dlogits = 0.0, np.zeros_like(logits)
    for i in range(n):
        row = logits[i]
        logsumexp = row.max() + np.log(np.sum(np.exp(row - row.max())))
        loss += (logsumexp - row[labels[i]]) / n
        dlogits[i] = np.exp(row - logsumexp) / n
        dlogits[i, labels[i]] -= 1.0 / n
    return loss, dlogits


def naive_lenet(X, labels, params):
    """LeNet-5's loss and parameter gradients composed from the naive references."""
    W1, b1, W2, b2, W3, b3, W4, b4, W5, b5 = params
    n = X.shape[0]
    z1 = naive_conv2d(X, W1, b1, 1, 2, 1)
    p1, _ = naive_max_pool2d(np.maximum(z1, 0), None, 2, 2)
    z2 = naive_conv2d(p1, W2, b2, 1, 0, 1)
    p2, _ = naive_max_pool2d(np.maximum(z2, 0), None, 2, 2)
    f = p2.reshape(n, -1)
    z3 = f @ W3.T + b3
    z4 = np.maximum(z3, 0) @ W4.T + b4
    loss, dlogits = naive_cross_entropy(np.maximum(z4, 0) @ W5.T + b5, labels)
    dz4 = (dlogits @ W5) * (z4 > 0)
    dz3 = (dz4 @ W4) * (z3 > 0)
    _, da2 = naive_max_pool2d(np.maximum(z2, 0), (dz3 @ W3).reshape(p2.shape), 2, 2)
    dp1, dW2, db2 = naive_conv2d_backward(p1, W2, da2 * (z2 > 0), 1, 0, 1)
    _, da1 = naive_max_pool2d(np.maximum(z1, 0), dp1, 2, 2)
    _, dW1, db1 = naive_conv2d_backward(X, W1, da1 * (z1 > 0), 1, 2, 1)
    grads = (dW1, db1, dW2, db2)
    grads += (dz3.T @ f, dz3.sum(axis=0), dz4.T @ np.maximum(z3, 0), dz4.sum(axis=0))
    grads += (dlogits.T @ np.maximum(z4, 0), dlogits.sum(axis=0))
    return loss, grads


def check_reference(name: str, got: object, want: object) -> None:
    """Raise ``MismatchError`` unless the hand-written result matches the naive one (float64)."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-9, atol=1e-11):
        raise MismatchError(
            f"yardstick {name}: the NumPy written by hand differs from the naive reference"
            f" (shapes {got.shape}, {want.shape})"
        )


@functools.cache
def verify_hand_conv2d() -> None:
    """hand_conv2d and its backward against the definition, in float64 on tiny inputs:
    the 1x2x5x5 case, the LeNet and conv benchmark configurations, a non-square kernel."""
    rng = np.random.default_rng(2)
    cases = [  # x shape, w shape, bias, stride, padding, dilation
        ((1, 2, 5, 5), (3, 2, 3, 3), True, 1, 0, 1),
        ((1, 2, 5, 5), (3, 2, 3, 3), False, 2, 1, 2),
        ((2, 1, 8, 7), (3, 1, 5, 5), True, 1, 2, 1),
        ((2, 3, 9, 9), (4, 3, 5, 5), True, 1, 0, 1),
        ((2, 3, 9, 8), (4, 3, 3, 3), False, 2, 1, 2),
        ((2, 3, 7, 6), (2, 3, 2, 3), True, 3, 2, 1),
    ]
    for x_shape, w_shape, bias, stride, padding, dilation in cases:
        case = f"conv2d x{x_shape} w{w_shape} s{stride} p{padding} d{dilation}"
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        b = rng.standard_normal(w_shape[0]) if bias else None
        y, cache = hand_conv2d(x, w, b, stride, padding, dilation)
        check_reference(case, y, naive_conv2d(x, w, b, stride, padding, dilation))
        g = rng.standard_normal(y.shape)
        dx, dw, db = hand_conv2d_backward(g, w, cache)
        want_dx, want_dw, want_db = naive_conv2d_backward(x, w, g, stride, padding, dilation)
        check_reference(f"{case} dx", dx, want_dx)
        check_reference(f"{case} dw", dw, want_dw)
        check_reference(f"{case} db", db, want_db)


@functools.cache
def verify_hand_pools() -> None:
    """hand_max_pool2d and hand_avg_pool2d with their backwards against the definitions, in
    float64 on tiny inputs; the max-pool inputs are small integers, so that windows have
    ties (the first maximum must take the gradient)."""
    rng = np.random.default_rng(3)
    for x_shape, kernel in (((2, 3, 6, 8), 2), ((1, 2, 9, 6), 3)):
        case = f"max_pool2d x{x_shape} k{kernel}"
        x = rng.integers(0, 3, x_shape).astype(np.float64)
        y, views = hand_max_pool2d(x, kernel)
        g = rng.standard_normal(y.shape)
        want_y, want_dx = naive_max_pool2d(x, g, kernel, kernel)
        check_reference(case, y, want_y)
        check_reference(f"{case} dx", hand_max_pool2d_backward(g, x, y, views), want_dx)
    for x_shape, kernel, stride, padding in (
        ((2, 3, 7, 6), 3, 2, 1),
        ((2, 3, 8, 8), 3, 2, 1),
        ((1, 2, 6, 6), 2, 2, 0),
        ((1, 2, 5, 6), 3, 1, 1),
    ):
        case = f"avg_pool2d x{x_shape} k{kernel} s{stride} p{padding}"
        x = rng.standard_normal(x_shape)
        y = hand_avg_pool2d(x, kernel, stride, padding)
        g = rng.standard_normal(y.shape)
        want_y, want_dx = naive_avg_pool2d(x, g, kernel, stride, padding)
        check_reference(case, y, want_y)
        dx = hand_avg_pool2d_backward(g, x.shape, kernel, stride, padding)
        check_reference(f"{case} dx", dx, want_dx)


def lenet_params(rng: np.random.Generator, dtype: type[np.generic]) -> list[np.ndarray]:
    """LeNet-5's weights (He initialisation) and biases, in ``LENET_PARAMS`` order."""
    shapes = [(6, 1, 5, 5), (16, 6, 5, 5), (120, 400), (84, 120), (10, 84)]
    params = []
    for shape in shapes:
        fan_in = int(np.prod(shape[1:]))
        params.append((rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype))
        params.append((rng.standard_normal(shape[0]) * 0.1).astype(dtype))
    return params


@functools.cache
def verify_hand_lenet() -> None:
    """hand_lenet in float64 on two images: against the naive composition, loss and all
    gradients, and its gradients against a central finite difference along a random
    direction (which also checks the composition's own chain rule)."""
    verify_hand_conv2d()
    verify_hand_pools()
    rng = np.random.default_rng(4)
    params = lenet_params(rng, np.float64)
    X = rng.standard_normal((2, 1, 28, 28))
    labels = rng.integers(0, 10, size=2)
    logits = rng.standard_normal((5, 10)) * 3
    loss, dlogits = hand_cross_entropy(logits, np.arange(5) % 10)
    want_loss, want_dlogits = naive_cross_entropy(logits, np.arange(5) % 10)
    check_reference("cross_entropy", loss, want_loss)
    check_reference("cross_entropy dlogits", dlogits, want_dlogits)

    loss, grads = hand_lenet(X, labels, params)
    want_loss, want_grads = naive_lenet(X, labels, params)
    check_reference("LeNet loss", loss, want_loss)
    for pname, got, want in zip(LENET_PARAMS, grads, want_grads, strict=True):
        check_reference(f"LeNet d{pname}", got, want)

    step = 1e-6
    direction = [rng.standard_normal(p.shape) for p in params]
    plus, _ = hand_lenet(X, labels, [p + step * v for p, v in zip(params, direction)])
    minus, _ = hand_lenet(X, labels, [p - step * v for p, v in zip(params, direction)])
    slope = (plus - minus) / (2 * step)
    dot = sum(np.sum(gr * v) for gr, v in zip(grads, direction))
    if not np.isclose(slope, dot, rtol=1e-6, atol=1e-8):
        raise MismatchError(
            f"yardstick LeNet: gradients give a slope of {dot:.9g}, finite differences {slope:.9g}"
        )


# --------------------------------------------------------------------------------------------
# Benchmarks of symgrad.nn.functional: LeNet-5, pooling, conv


def functional_missing() -> list[str]:
    """[] when ``symgrad.nn.functional`` imports; else what went wrong, as a missing item."""
    if F is None:
        return [f"symgrad.nn.functional ({F_IMPORT_ERROR})"]
    return []


def probe_leaf(rng: np.random.Generator, *shape: int) -> sg.Tensor:
    """A tiny float32 leaf requiring grad, for the probes."""
    return sg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)


def missing_for_lenet() -> list[str]:
    """What of the LeNet benchmark's API symgrad lacks, tried on tiny float32 examples."""
    if missing := functional_missing():
        return missing
    rng = np.random.default_rng(1)

    def conv2d() -> list[sg.Tensor]:
        x, w, b = probe_leaf(rng, 1, 2, 5, 5), probe_leaf(rng, 3, 2, 3, 3), probe_leaf(rng, 3)
        F.conv2d(x, w, b, stride=1, padding=2).sum().backward()
        return [x, w, b]

    def relu() -> list[sg.Tensor]:
        x = probe_leaf(rng, 1, 2, 4, 4)
        sg.relu(x).sum().backward()
        return [x]

    def max_pool2d() -> list[sg.Tensor]:
        x = probe_leaf(rng, 1, 2, 4, 4)
        F.max_pool2d(x, 2).sum().backward()
        return [x]

    def reshape() -> list[sg.Tensor]:
        x = probe_leaf(rng, 2, 3, 2, 2)
        x.reshape(2, -1).sum().backward()
        return [x]

    def linear() -> list[sg.Tensor]:
        x, w, b = probe_leaf(rng, 2, 4), probe_leaf(rng, 3, 4), probe_leaf(rng, 3)
        F.linear(x, w, b).sum().backward()
        return [x, w, b]

    def cross_entropy() -> list[sg.Tensor]:
        logits = probe_leaf(rng, 2, 3)
        F.cross_entropy(logits, sg.tensor(np.array([2, 0]))).backward()
        return [logits]

    return run_probes(
        {
            "F.conv2d(x, w, b, stride=1, padding=2)": conv2d,
            "sg.relu": relu,
            "F.max_pool2d(x, 2)": max_pool2d,
            "t.reshape(n, -1)": reshape,
            "F.linear(x, W, b)": linear,
            "F.cross_entropy(logits, labels)": cross_entropy,
        }
    )


LENET_BATCH = 64


def f32_tol(want: object) -> dict:
    """``check_close``'s float32 tolerances for ``want``: rtol 1e-4, and an atol of 1e-5 of
    the array's largest magnitude (at least 1e-5), since an element of a float32 sum of
    many terms carries a rounding error relative to the terms, not to itself."""
    scale = max(1.0, float(np.max(np.abs(want))))
    return {"rtol": 1e-4, "atol": 1e-5 * scale, "dtype": np.float32}


def check_grads_f32(bench: str, names: Sequence[str], got: Sequence, want: Sequence) -> None:
    """symgrad's gradients against the hand-written float32 ones (which must be float32)."""
    for name, got_grad, want_grad in zip(names, got, want, strict=True):
        if want_grad.dtype != np.float32:  # the yardstick itself must stay in float32
            raise MismatchError(f"{bench}: hand-written d{name} is {want_grad.dtype}, not float32")
        check_close(f"{bench}: {name}.grad", got_grad, want_grad, **f32_tol(want_grad))


def ms_row(name: str, timing: Timing, target: float) -> Row:
    """A row of medians in milliseconds with a target on the ratio."""
    return Row(
        name=name,
        unit="ms",
        symgrad=timing.a * 1e3,
        numpy=timing.b * 1e3,
        ratio=timing.ratio,
        target=target,
        target_on="ratio",
        repeats=timing.repeats,
    )


def lenet_inputs() -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The LeNet benchmarks' float32 weights, batch of 64 28x28 images and labels."""
    rng = np.random.default_rng(0)
    params_np = lenet_params(rng, np.float32)
    X_np = rng.standard_normal((LENET_BATCH, 1, 28, 28), dtype=np.float32)
    labels_np = rng.integers(0, 10, size=LENET_BATCH)
    # With these seeds no decision of the network is closer than ~5e-6 to flipping (a relu
    # input at 0, two maxima of a pooling window), against float32 rounding errors of ~1e-7:
    # a different summation order in symgrad cannot route a gradient differently.
    return params_np, X_np, labels_np


class SymgradLeNet:
    """LeNet-5 in symgrad.nn.functional on the benchmarks' inputs: ``params``, leaves made
    of copies of the weights (an optimizer may change them in place), ``X`` and ``labels``."""

    def __init__(self, params_np: Sequence[np.ndarray], X_np: np.ndarray, labels_np: np.ndarray):
        self.params = [sg.tensor(p.copy(), requires_grad=True) for p in params_np]
        self.X = sg.tensor(X_np)
        self.labels = sg.tensor(labels_np)

    def loss(self) -> sg.Tensor:
        """The mean cross-entropy (the forward)."""
        W1, b1, W2, b2, W3, b3, W4, b4, W5, b5 = self.params
        h = F.max_pool2d(sg.relu(F.conv2d(self.X, W1, b1, stride=1, padding=2)), 2)
        h = F.max_pool2d(sg.relu(F.conv2d(h, W2, b2)), 2)
        h = h.reshape(self.X.shape[0], -1)
        h = sg.relu(F.linear(h, W3, b3))
        h = sg.relu(F.linear(h, W4, b4))
        return F.cross_entropy(F.linear(h, W5, b5), self.labels)

    def forward_backward(self) -> sg.Tensor:
        """The loss and, afresh, the gradients of all ten weights and biases."""
        clear_grads(*self.params)
        loss = self.loss()
        loss.backward()
        return loss


def bench_lenet(repeats: int | None) -> list[Row]:
    """LeNet-5 on 64 28x28 float32 images, mean cross-entropy over 10 classes.

    forward+backward, giving the gradients of all ten weights and biases, against the
    hand-written im2col implementation (``hand_lenet``).
    """
    name = f"LeNet-5 b{LENET_BATCH} f32 fwd+bwd"
    verify_hand_lenet()
    missing = missing_for_lenet()
    if missing:
        print(f"skipped: {name}: symgrad lacks " + "; ".join(missing))
        return []

    params_np, X_np, labels_np = lenet_inputs()
    net = SymgradLeNet(params_np, X_np, labels_np)

    def by_hand():
        return hand_lenet(X_np, labels_np, params_np)

    loss = net.forward_backward()
    want_loss, want_grads = by_hand()
    check_close("LeNet: loss", loss.data, np.asarray(want_loss), **f32_tol(np.asarray(want_loss)))
    check_grads_f32("LeNet", LENET_PARAMS, [p.grad for p in net.params], want_grads)

    timing = median_ratio(net.forward_backward, by_hand, repeats or 31)
    return [ms_row(name, timing, 1.0)]


def bench_lenet_train_step(repeats: int | None) -> list[Row]:
    """LeNet-5's training step (forward, backward, ``sg.optim.Adam`` step) against its
    forward and backward alone, both symgrad: what the optimizer adds to a step.

    The same weights, batch and loss as ``bench_lenet``. The gradients are checked against
    the hand-written ones, and the first update against Adam's formula.
    """
    name = f"LeNet-5 b{LENET_BATCH} training step (fwd+bwd+Adam)"
    missing = missing_for_lenet()
    if not missing and not hasattr(getattr(sg, "optim", None), "Adam"):
        missing = ["sg.optim.Adam"]
    if missing:
        print(f"skipped: {name}: symgrad lacks " + "; ".join(missing))
        return []

    params_np, X_np, labels_np = lenet_inputs()
    net = SymgradLeNet(params_np, X_np, labels_np)
    lr, eps = 1e-3, 1e-8
    optimizer = sg.optim.Adam(net.params, lr=lr, eps=eps)

    def training_step():
        optimizer.zero_grad()
        loss = net.loss()
        loss.backward()
        optimizer.step()
        return loss

    # Adam's first step, its moments bias-corrected, is p - lr * g / (|g| + eps). It is
    # computed from symgrad's gradients (checked against the hand-written ones): where a
    # gradient is ~eps, float32 rounding in it would change the step by up to ~lr.
    training_step()
    _, want_grads = hand_lenet(X_np, labels_np, params_np)
    check_grads_f32("LeNet step", LENET_PARAMS, [p.grad for p in net.params], want_grads)
    for pname, p, p0 in zip(LENET_PARAMS, net.params, params_np, strict=True):
        g = p.grad.astype(np.float64)
        want = (p0 - lr * g / (np.abs(g) + eps)).astype(np.float32)
        check_close(f"LeNet step: {pname} after Adam", p.data, want, **f32_tol(want))

    timing = median_ratio(training_step, net.forward_backward, repeats or 61)
    return [ms_row(name, timing, 1.05)]


POOL_SHAPE = (64, 16, 28, 28)


def bench_max_pool(repeats: int | None) -> list[Row]:
    """F.max_pool2d(x, 2, 2) on (64,16,28,28) float32, forward+backward (the grad of x)."""
    name = "max_pool2d k2 s2 (64,16,28,28) f32 fwd+bwd"
    verify_hand_pools()
    missing = functional_missing()
    if not missing:
        rng = np.random.default_rng(1)

        def probe() -> list[sg.Tensor]:
            x = probe_leaf(rng, 1, 2, 4, 6)
            F.max_pool2d(x, 2, 2).backward(rng.standard_normal((1, 2, 2, 3)))
            return [x]

        missing = run_probes({"F.max_pool2d(x, 2, 2)": probe})
    if missing:
        print(f"skipped: {name}: symgrad lacks " + "; ".join(missing))
        return []

    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(POOL_SHAPE, dtype=np.float32)
    g_np = rng.standard_normal((*POOL_SHAPE[:2], 14, 14), dtype=np.float32)
    x = sg.tensor(x_np, requires_grad=True)

    def with_symgrad():
        clear_grads(x)
        out = F.max_pool2d(x, 2, 2)
        out.backward(g_np)
        return out

    def by_hand():
        y, views = hand_max_pool2d(x_np, 2)
        return y, hand_max_pool2d_backward(g_np, x_np, y, views)

    out = with_symgrad()
    want_y, want_dx = by_hand()
    check_close("max_pool2d: output", out.data, want_y, **f32_tol(want_y))
    check_grads_f32("max_pool2d", ["x"], [x.grad], [want_dx])

    timing = median_ratio(with_symgrad, by_hand, repeats or 51)
    return [ms_row(name, timing, 1.2)]


def bench_avg_pool(repeats: int | None) -> list[Row]:
    """F.avg_pool2d(x, 3, stride=2, padding=1) on (64,16,28,28) float32, forward+backward."""
    name = "avg_pool2d k3 s2 p1 (64,16,28,28) f32 fwd+bwd"
    verify_hand_pools()
    missing = functional_missing()
    if not missing:
        rng = np.random.default_rng(1)

        def probe() -> list[sg.Tensor]:
            x = probe_leaf(rng, 1, 2, 5, 6)
            F.avg_pool2d(x, 3, stride=2, padding=1).backward(rng.standard_normal((1, 2, 3, 3)))
            return [x]

        missing = run_probes({"F.avg_pool2d(x, 3, stride=2, padding=1)": probe})
    if missing:
        print(f"skipped: {name}: symgrad lacks " + "; ".join(missing))
        return []

    kernel, stride, padding = 3, 2, 1
    out_hw = conv_out_len(POOL_SHAPE[2], kernel, stride, padding)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(POOL_SHAPE, dtype=np.float32)
    g_np = rng.standard_normal((*POOL_SHAPE[:2], out_hw, out_hw), dtype=np.float32)
    x = sg.tensor(x_np, requires_grad=True)

    def with_symgrad():
        clear_grads(x)
        out = F.avg_pool2d(x, kernel, stride=stride, padding=padding)
        out.backward(g_np)
        return out

    def by_hand():
        y = hand_avg_pool2d(x_np, kernel, stride, padding)
        return y, hand_avg_pool2d_backward(g_np, x_np.shape, kernel, stride, padding)

    out = with_symgrad()
    want_y, want_dx = by_hand()
    check_close("avg_pool2d: output", out.data, want_y, **f32_tol(want_y))
    check_grads_f32("avg_pool2d", ["x"], [x.grad], [want_dx])

    timing = median_ratio(with_symgrad, by_hand, repeats or 51)
    return [ms_row(name, timing, 1.2)]


def bench_conv(repeats: int | None) -> list[Row]:
    """F.conv2d(x, w, stride=2, padding=1, dilation=2), x (32,16,32,32), w (32,16,3,3),
    float32, forward+backward (the grads of x and w)."""
    name = "conv2d 16->32 k3 s2 p1 d2 (32,16,32,32) f32 fwd+bwd"
    verify_hand_conv2d()
    missing = functional_missing()
    if not missing:
        rng = np.random.default_rng(1)

        def probe() -> list[sg.Tensor]:
            x, w = probe_leaf(rng, 1, 2, 5, 5), probe_leaf(rng, 3, 2, 3, 3)
            out = F.conv2d(x, w, stride=2, padding=1, dilation=2)
            out.backward(rng.standard_normal((1, 3, 2, 2)))
            return [x, w]

        missing = run_probes({"F.conv2d(x, w, stride=2, padding=1, dilation=2)": probe})
    if missing:
        print(f"skipped: {name}: symgrad lacks " + "; ".join(missing))
        return []

    stride, padding, dilation = 2, 1, 2
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((32, 16, 32, 32), dtype=np.float32)
    w_np = rng.standard_normal((32, 16, 3, 3), dtype=np.float32) * np.float32(1 / 12)
    out_hw = conv_out_len(32, 3, stride, padding, dilation)
    g_np = rng.standard_normal((32, 32, out_hw, out_hw), dtype=np.float32)
    x = sg.tensor(x_np, requires_grad=True)
    w = sg.tensor(w_np, requires_grad=True)

    def with_symgrad():
        clear_grads(x, w)
        out = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
        out.backward(g_np)
        return out

    def by_hand():
        y, cache = hand_conv2d(x_np, w_np, None, stride, padding, dilation)
        dx, dw, _ = hand_conv2d_backward(g_np, w_np, cache)
        return y, dx, dw

    out = with_symgrad()
    want_y, want_dx, want_dw = by_hand()
    check_close("conv2d: output", out.data, want_y, **f32_tol(want_y))
    check_grads_f32("conv2d", ["x", "w"], [x.grad, w.grad], [want_dx, want_dw])

    timing = median_ratio(with_symgrad, by_hand, repeats or 31)
    return [ms_row(name, timing, 1.2)]


# --------------------------------------------------------------------------------------------
# The example's training epoch against PyTorch's

DIGITS_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "digits.py"
DIGITS_ROW = "digits CNN epoch vs PyTorch (1 thread)"
# The comparison runs in a process of its own, where every BLAS and OpenMP library is held
# to one thread like PyTorch (set before NumPy loads), and where importing PyTorch can
# change nothing for the other benchmarks.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
DIGITS_CHILD_FLAG = "--digits-epoch-child"


def bench_digits_epoch(repeats: int | None) -> list[Row]:
    """Seconds per training epoch of ``examples/digits.py`` (its model, data, batch size,
    loss and Adam, its ``train_epoch``) against the same epoch in PyTorch, both on one
    thread; target <= 1.0x. Skipped where PyTorch is not installed."""
    if importlib.util.find_spec("torch") is None:
        print(f"skipped: {DIGITS_ROW}: PyTorch is not installed (pip install torch to compare)")
        return []
    command = [sys.executable, __file__, DIGITS_CHILD_FLAG]
    if repeats:
        command += ["--repeats", str(repeats)]
    child = subprocess.run(
        command, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, check=False
    )
    if child.returncode != 0:
        raise MismatchError(f"{DIGITS_ROW}: the measuring process failed:\n{child.stderr}")
    timing = Timing(**json.loads(child.stdout.splitlines()[-1]))
    return [
        Row(
            name=DIGITS_ROW,
            unit="s/epoch",
            symgrad=timing.a,
            numpy=timing.b,
            ratio=timing.ratio,
            target=1.0,
            target_on="ratio",
            repeats=timing.repeats,
        )
    ]


def import_digits_example():
    """``examples/digits.py`` as a module (examples/ is no package)."""
    spec = importlib.util.spec_from_file_location("digits_example", DIGITS_EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


# The layer types a twin can be made of, and the attributes that are their constructors'
# keyword arguments (PyTorch's names on both sides); a layer with a bias says so as well.
TWIN_ARGUMENTS = {
    "Conv2d": (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "dilation",
        "groups",
    ),
    "MaxPool2d": ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "Linear": ("in_features", "out_features"),
    "Flatten": ("start_dim", "end_dim"),
    "ReLU": (),
}


def torch_twin(model, torch):
    """The PyTorch twin of a symgrad ``Sequential`` of the layer types in
    ``TWIN_ARGUMENTS``: the same layers with the same arguments and a copy of the weights."""

    def twin(layer):
        kind = type(layer).__name__
        if kind not in TWIN_ARGUMENTS:
            raise MismatchError(f"{DIGITS_ROW}: no PyTorch twin for the layer {layer!r}")
        arguments = {name: getattr(layer, name) for name in TWIN_ARGUMENTS[kind]}
        if hasattr(layer, "bias"):  # None when made with bias=False
            arguments["bias"] = layer.bias is not None
        return getattr(torch.nn, kind)(**arguments)

    twin_model = torch.nn.Sequential(*(twin(layer) for layer in model))
    weights = {name: torch.tensor(t.data) for name, t in model.state_dict().items()}
    twin_model.load_state_dict(weights)  # strict: the same names and shapes
    return twin_model


def measure_digits_epoch(repeats: int | None) -> Timing:
    """In the one-thread process: the example's epoch, symgrad against PyTorch, after
    checking that the two models compute the same loss and gradients."""
    import torch

    torch.set_num_threads(1)
    digits = import_digits_example()
    x_train, y_train, _, _ = digits.load_digits()
    batch_size, lr, smoothing = digits.BATCH_SIZE, digits.LEARNING_RATE, digits.LABEL_SMOOTHING

    sg.manual_seed(0)
    model = digits.build_model()
    twin = torch_twin(model, torch)

    # the same loss and gradients on a batch
    x, y = x_train[:batch_size], y_train[:batch_size]
    loss = sg.nn.CrossEntropyLoss(label_smoothing=smoothing)(model(sg.tensor(x)), sg.tensor(y))
    loss.backward()
    twin_loss = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)(
        twin(torch.from_numpy(x)), torch.from_numpy(y)
    )
    twin_loss.backward()
    want = twin_loss.detach().numpy()
    check_close("digits: loss", loss.data, want, **f32_tol(want))
    for (name, p), twin_p in zip(model.named_parameters(), twin.parameters(), strict=True):
        want = twin_p.grad.numpy()
        check_close(f"digits: {name}.grad", p.grad, want, **f32_tol(want))
    model.zero_grad()
    twin.zero_grad()

    loader = digits.make_loader(x_train, y_train, batch_size, seed=0)
    optimizer = sg.optim.Adam(model.parameters(), lr=lr)
    loss_fn = sg.nn.CrossEntropyLoss(label_smoothing=smoothing)

    twin_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    twin_optimizer = torch.optim.Adam(twin.parameters(), lr=lr)
    twin_loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)

    def with_symgrad():
        return digits.train_epoch(model, loader, optimizer, loss_fn)

    def with_torch():
        # what digits.train_epoch does per batch, PyTorch's way
        twin.train()
        losses, correct = [], 0
        for images, labels in twin_loader:
            twin_optimizer.zero_grad()
            logits = twin(images)
            batch_loss = twin_loss_fn(logits, labels)
            batch_loss.backward()
            twin_optimizer.step()
            losses.append(batch_loss.item())
            correct += int((logits.detach().argmax(dim=1) == labels).sum())
        return losses, correct

    return median_ratio(with_symgrad, with_torch, repeats or 9)


def bench_define(repeats: int | None) -> list[Row]:
    """Seconds ``sg.define`` takes to derive, render, verify and load a typical one-line
    op (the textbook mish, ``x*tanh(log(1 + exp(x)))``) into an empty cache, against
    loading it again from the cache (the yardstick column); target <= 2 s. Skipped where
    SymPy is not installed."""
    if importlib.util.find_spec("sympy") is None:
        print("skipped: sg.define: SymPy is not installed (pip install symgrad[derive])")
        return []
    from symgrad import user_ops

    definition = "x*tanh(log(1 + exp(x)))"
    with tempfile.TemporaryDirectory() as directory:
        os.environ["SYMGRAD_CACHE_DIR"] = directory
        try:
            sg.define("mish_warm", definition)  # SymPy's import and caches, once
            fresh, cached = [], []
            for repeat in range(repeats or 5):
                name = f"mish_{repeat}"  # a new declaration: derived again
                start = time.perf_counter()
                sg.define(name, definition)
                fresh.append(time.perf_counter() - start)
                start = time.perf_counter()
                user_ops.define(name, definition)
                cached.append(time.perf_counter() - start)
        finally:
            del os.environ["SYMGRAD_CACHE_DIR"]
    a, b = statistics.median(fresh), statistics.median(cached)
    return [
        Row(
            name="sg.define mish: derive+verify (vs cached load)",
            unit="s",
            symgrad=a,
            numpy=b,
            ratio=a / b,
            target=2.0,
            target_on="symgrad",
            repeats=len(fresh),
        )
    ]


BENCHMARKS: list[Callable[[int | None], list[Row]]] = [
    bench_sigmoid_tanh,
    bench_small_ops,
    bench_mlp,
    bench_lenet,
    bench_lenet_train_step,
    bench_max_pool,
    bench_avg_pool,
    bench_conv,
    bench_digits_epoch,
    bench_define,
]


# --------------------------------------------------------------------------------------------
# Report


def print_table(rows: Sequence[Row]) -> None:
    header = ("benchmark", "symgrad median", "yardstick median", "ratio", "target", "repeats")
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
    parser.add_argument(
        "--only",
        default="",
        help="run only the benchmarks whose function name contains this (e.g. lenet)",
    )
    parser.add_argument(DIGITS_CHILD_FLAG, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.digits_epoch_child:  # bench_digits_epoch's process: the timing as JSON
        try:
            print(json.dumps(asdict(measure_digits_epoch(args.repeats))))
        except MismatchError as exc:
            print(f"bench: MISMATCH, {exc}", file=sys.stderr)
            return 1
        return 0

    print(f"symgrad bench: Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"machine: {platform.machine()}, {platform.system()} {platform.release()}")
    print("medians of interleaved runs; ratio = median of per-run symgrad/yardstick ratios")
    print()

    rows: list[Row] = []
    try:
        for bench in BENCHMARKS:
            if args.only in bench.__name__:
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
