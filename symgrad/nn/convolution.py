"""conv1d, conv2d and the pools with PyTorch's arguments and layouts (NCL / NCHW, weight
(out, in / groups, *kernel)), validated here and run by the generated window ops
(generated/windows.py), the bias included."""

import math
import numbers

import numpy

from symgrad.generated import windows
from symgrad.shape import pad
from symgrad.tensor import apply, as_tensor


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation, as PyTorch) of (N, C, L) by (O, C/groups, K);
    ``padding`` ints, 'valid' or 'same' (stride 1 only; an odd total padded at the end)."""
    return _convolution("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch) of (N, C, H, W) by
    (O, C/groups, KH, KW); ``padding`` ints, 'valid' or 'same' (as conv1d's)."""
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """Max over windows of (N, C, L); the gradient goes to the first maximum of each."""
    _no_indices("max_pool1d", return_indices)
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode)


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """Max over windows of (N, C, H, W); the gradient goes to the first maximum of each."""
    _no_indices("max_pool2d", return_indices)
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of (N, C, L): padded zeros counted (count_include_pad) or not."""
    return _avg_pool(
        "avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """Mean over windows of (N, C, H, W): padded zeros counted (count_include_pad) or
    not, or the sums divided by ``divisor_override``."""
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _max_pool(name, rank, x, kernel_size, stride, padding, dilation, ceil_mode):
    x, sizes = _pool_sizes(name, rank, x, kernel_size, stride, padding, dilation, ceil_mode)
    kernel, stride, padding, dilation, extra = sizes
    # ceil_mode's last windows reach past the input: there, -inf, which no maximum is
    x = _padded_right(x, extra, -numpy.inf)
    return apply(windows.MaxPoolBackward, (x,), (kernel, stride, padding, dilation))


def _avg_pool(name, rank, x, kernel_size, stride, padding, ceil_mode, include_pad, divisor):
    x, sizes = _pool_sizes(name, rank, x, kernel_size, stride, padding, 1, ceil_mode)
    kernel, stride, padding, dilation, extra = sizes
    params = (kernel, stride, padding, dilation)
    if include_pad and not any(extra) and divisor is None:
        return apply(windows.AvgPoolBackward, (x,), params)
    # the sums over the windows (the mean counting every position, times its count),
    # divided by how many positions each window counts (a constant)
    size = math.prod(kernel)
    sums = apply(windows.AvgPoolBackward, (_padded_right(x, extra, 0.0),), params) * size
    if divisor is not None:
        if not _is_int(divisor) or divisor == 0:
            raise ValueError(f"{name}: divisor_override must be a nonzero int, not {divisor!r}")
        return sums / divisor
    spatial = x.shape[2:]
    counted = numpy.ones((1, 1, *spatial), x.dtype)
    border = [(0, 0), (0, 0), *((p, p) for p in padding)]
    counted = numpy.pad(counted, border, constant_values=1.0 if include_pad else 0.0)
    counted = numpy.pad(counted, [(0, 0), (0, 0), *((0, e) for e in extra)])
    zero = (0,) * rank
    counts = windows.AvgPoolBackward.forward(counted, kernel, stride, zero, dilation) * size
    return sums / counts


def _pool_sizes(name, rank, x, kernel_size, stride, padding, dilation, ceil_mode):
    x = as_tensor(x)
    _check_input(name, x, rank)
    kernel = _tuple(name, "kernel_size", kernel_size, rank, 1)
    stride = kernel if stride is None else _tuple(name, "stride", stride, rank, 1)
    padding = _tuple(name, "padding", padding, rank, 0)
    dilation = _tuple(name, "dilation", dilation, rank, 1)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    _check_fits(name, x, kernel, padding, dilation)
    extra = (0,) * rank
    if ceil_mode:
        extra = tuple(
            _ceil_extra(n, k, s, p, d)
            for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation)
        )
    return x, (kernel, stride, padding, dilation, extra)


def _ceil_extra(length, kernel, stride, padding, dilation):
    """How far past the padded input ceil_mode's last window reaches: windows are counted
    rounding up, but the last must start inside the input or its left padding
    (PyTorch's rule)."""
    span = dilation * (kernel - 1) + 1
    count = -(-(length + 2 * padding - span) // stride) + 1
    if (count - 1) * stride >= length + padding:
        count -= 1
    return max(0, (count - 1) * stride + span - (length + 2 * padding))


def check_padding_string(name, mode, stride):
    """'valid' or 'same', and 'same' only with stride 1 (PyTorch's rules)."""
    if mode not in ("valid", "same"):
        raise ValueError(f"{name}: padding must be 'valid', 'same' or ints, not {mode!r}")
    if mode == "same" and any(s != 1 for s in stride):
        raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")


def _padded_as(name, mode, x, kernel, stride, dilation):
    """PyTorch's padding strings: 'valid' is no padding; 'same' (stride 1 only) pads
    each axis by ``dilation * (kernel - 1)`` in all, half on each side and the odd one
    more at the end (there, x padded first, a derived pad), so the output has x's size.
    Returns x and the padding left for the convolution to add on both sides."""
    check_padding_string(name, mode, stride)
    if mode == "valid":
        return x, 0
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return _padded_right(x, [t % 2 for t in totals], 0.0), tuple(t // 2 for t in totals)


def _padded_right(x, extra, value):
    """x with ``extra`` positions of ``value`` after each spatial axis (a derived pad)."""
    if not any(extra):
        return x
    return pad(x, [(0, 0), (0, 0), *((0, e) for e in extra)], constant_values=value)


def _no_indices(name, return_indices):
    if return_indices:
        raise NotImplementedError(f"{name}: return_indices=True is not supported")


# ---- validation -------------------------------------------------------------------
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
    x, w = as_tensor(x), as_tensor(w)
    _check_input(name, x, rank)
    if w.ndim != rank + 2:
        raise ValueError(f"{name}: weight must have {rank + 2} dimensions, not shape {w.shape}")
    stride = _tuple(name, "stride", stride, rank, 1)
    dilation = _tuple(name, "dilation", dilation, rank, 1)
    if isinstance(padding, str):
        x, padding = _padded_as(name, padding, x, w.shape[2:], stride, dilation)
    padding = _tuple(name, "padding", padding, rank, 0)
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
        bias = as_tensor(bias)
        if bias.shape != (outputs,):
            raise ValueError(f"{name}: bias must have shape ({outputs},), not {bias.shape}")
    params = (stride, padding, dilation, int(groups))
    return apply(windows.ConvolutionBackward, (x, w, bias), params)
