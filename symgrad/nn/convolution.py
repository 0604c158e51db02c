"""conv1d, conv2d and the pools with PyTorch's arguments and layouts (NCL / NCHW, weight
(out, in / groups, *kernel)), validated here and run by the generated window ops
(generated/windows.py), the bias included."""

import numbers

from symgrad.generated import windows
from symgrad.tensor import Tensor, apply, tensor


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation, as PyTorch) of (N, C, L) by (O, C/groups, K)."""
    return _convolution("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch) of (N, C, H, W) by
    (O, C/groups, KH, KW)."""
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1):
    """Max over windows of (N, C, L); the gradient goes to the first maximum of each."""
    return _pool(
        "max_pool1d", 1, windows.MaxPoolBackward, input, kernel_size, stride, padding, dilation
    )


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1):
    """Max over windows of (N, C, H, W); the gradient goes to the first maximum of each."""
    return _pool(
        "max_pool2d", 2, windows.MaxPoolBackward, input, kernel_size, stride, padding, dilation
    )


def avg_pool1d(input, kernel_size, stride=None, padding=0):
    """Mean over windows of (N, C, L), padded zeros counted (count_include_pad=True)."""
    return _pool("avg_pool1d", 1, windows.AvgPoolBackward, input, kernel_size, stride, padding, 1)


def avg_pool2d(input, kernel_size, stride=None, padding=0):
    """Mean over windows of (N, C, H, W), padded zeros counted (count_include_pad=True)."""
    return _pool("avg_pool2d", 2, windows.AvgPoolBackward, input, kernel_size, stride, padding, 1)


# ---- validation -------------------------------------------------------------------
def _as_tensor(value):
    return value if isinstance(value, Tensor) else tensor(value)


def _tuple(name, what, value, rank, minimum):
    """``value`` (an int or a sequence of ``rank`` ints) as a tuple, each at least
    ``minimum``: a TypeError for anything but ints, a ValueError for a wrong count or size."""
    if type(value) is int and value >= minimum:  # the common case, without ABC checks
        return (value,) * rank
    expected = "an int" + (f" or {rank} ints" if rank > 1 else "")
    if _is_int(value):
        values = (value,) * rank
    elif isinstance(value, tuple | list) and all(map(_is_int, value)):
        values = tuple(value)
    else:
        raise TypeError(f"{name}: {what} must be {expected}, not {value!r}")
    if len(values) != rank:
        raise ValueError(f"{name}: {what} must be {expected}, not {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{name}: {what} must be at least {minimum}, not {value!r}")
    return tuple(int(v) for v in values)


def _is_int(value):
    """An integer (a NumPy one too), but not a bool: True is an Integral, not a size."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_input(name, x, rank):
    if x.ndim != rank + 2:
        layout = "(N, C, L)" if rank == 1 else "(N, C, H, W)"
        raise ValueError(f"{name}: input must be {layout}, not shape {x.shape}")


def _check_fits(name, x, kernel, padding, dilation):
    for size, k, p, d in zip(x.shape[2:], kernel, padding, dilation):
        if d * (k - 1) + 1 > size + 2 * p:
            raise ValueError(
                f"{name}: kernel {kernel} (dilation {dilation}) is larger than the padded "
                f"input {tuple(n + 2 * q for n, q in zip(x.shape[2:], padding))}"
            )


def _convolution(name, rank, x, w, bias, stride, padding, dilation, groups):
    x, w = _as_tensor(x), _as_tensor(w)
    _check_input(name, x, rank)
    if w.ndim != rank + 2:
        raise ValueError(f"{name}: weight must have {rank + 2} dimensions, not shape {w.shape}")
    stride = _tuple(name, "stride", stride, rank, 1)
    padding = _tuple(name, "padding", padding, rank, 0)
    dilation = _tuple(name, "dilation", dilation, rank, 1)
    if not _is_int(groups):
        raise TypeError(f"{name}: groups must be an int, not {groups!r}")
    if groups < 1:
        raise ValueError(f"{name}: groups must be at least 1, not {groups!r}")
    channels, outputs = x.shape[1], w.shape[0]
    if channels % groups or outputs % groups:
        raise ValueError(
            f"{name}: groups={groups} must divide the input channels ({channels}) and the "
            f"output channels ({outputs})"
        )
    if w.shape[1] * groups != channels:
        raise ValueError(
            f"{name}: input has {channels} channels, weight {tuple(w.shape)} expects "
            f"{w.shape[1] * groups} (in / groups = {w.shape[1]}, groups = {groups})"
        )
    _check_fits(name, x, w.shape[2:], padding, dilation)
    if bias is not None:
        bias = _as_tensor(bias)
        if bias.shape != (outputs,):
            raise ValueError(f"{name}: bias must have shape ({outputs},), not {bias.shape}")
    params = (stride, padding, dilation, int(groups))
    return apply(windows.ConvolutionBackward, (x, w, bias), params)


def _pool(name, rank, fcn, x, kernel_size, stride, padding, dilation):
    x = _as_tensor(x)
    _check_input(name, x, rank)
    kernel = _tuple(name, "kernel_size", kernel_size, rank, 1)
    stride = kernel if stride is None else _tuple(name, "stride", stride, rank, 1)
    padding = _tuple(name, "padding", padding, rank, 0)
    dilation = _tuple(name, "dilation", dilation, rank, 1)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    _check_fits(name, x, kernel, padding, dilation)
    return apply(fcn, (x,), (kernel, stride, padding, dilation))
