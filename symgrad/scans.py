"""Running products and differences along an axis, composed of differentiable ops (a
product reduction, ``where``, reshapes, slices), so they carry no gradient code of their
own: ``cumprod`` and ``diff``. The running sum, a linear map, is the generated
``cumsum``."""

import operator

import numpy

from symgrad.generated.functions import (
    concatenate,
    expand_dims,
    moveaxis,
    prod,
    ravel,
    reshape,
    where,
)
from symgrad.tensor import as_tensor, data_of

__all__ = ["cumprod", "diff"]

# Elements scanned at once: a block of the axis is multiplied out as a triangle of
# BLOCK x BLOCK products (so a gradient through zeros is the product rule's, derived),
# and the blocks' totals are scanned the same way, one level up.
BLOCK = 32


def cumprod(a, axis=None, dtype=None):
    """NumPy's cumprod: the running product along ``axis`` (None: of the flattened
    array). Memory and time are BLOCK times the array's, not its axis length squared."""
    if dtype is not None:
        raise TypeError("cumprod: dtype= is not supported on tensors; cast the input instead")
    a = as_tensor(a)
    if axis is None:
        return _running_products(ravel(a))
    axis = _checked_axis("cumprod", axis, a.shape)
    return moveaxis(_running_products(moveaxis(a, axis, -1)), -1, axis)


def _running_products(x):
    """The running product along the last axis of ``x``."""
    n = x.shape[-1]
    if n <= BLOCK:
        # element j is the product of the row j of x masked to the elements up to j
        lower = numpy.tri(n, dtype=bool)
        return prod(where(lower, expand_dims(x, -2), 1), axis=-1)
    blocks = -(-n // BLOCK)
    lead = x.shape[:-1]
    ones = numpy.ones((*lead, blocks * BLOCK - n), x.dtype)
    tiled = reshape(concatenate([x, ones], axis=-1), (*lead, blocks, BLOCK))
    inner = _running_products(tiled)
    carried = _running_products(inner[..., -1])  # the product of all blocks so far
    before = concatenate([numpy.ones((*lead, 1), x.dtype), carried[..., :-1]], axis=-1)
    out = reshape(inner * expand_dims(before, -1), (*lead, blocks * BLOCK))
    return out[..., :n]


_NO_VALUE = object()


def diff(a, n=1, axis=-1, prepend=_NO_VALUE, append=_NO_VALUE):
    """NumPy's diff: the ``n``-th differences along ``axis``, after ``prepend`` and
    ``append`` (numbers or arrays) are joined to the array along it."""
    a = as_tensor(a)
    if operator.index(n) < 0:
        raise ValueError(f"diff: order must be non-negative, not {n}")
    if a.ndim == 0:
        raise ValueError("diff: needs an input of at least one dimension, not a 0-d one")
    axis = _checked_axis("diff", axis, a.shape)
    ends = []
    for end in (prepend, append):
        if end is not _NO_VALUE and numpy.ndim(data_of(end)) == 0:
            # a number stands for a slice of length 1 along the axis
            end = numpy.broadcast_to(data_of(end), (*a.shape[:axis], 1, *a.shape[axis + 1 :]))
        ends.append(end)
    parts = [part for part in (ends[0], a, ends[1]) if part is not _NO_VALUE]
    if len(parts) > 1:
        a = concatenate(parts, axis=axis)
    lead = (slice(None),) * axis
    for _ in range(n):
        a = a[(*lead, slice(1, None))] - a[(*lead, slice(None, -1))]
    return a


def _checked_axis(name, axis, shape):
    axis = operator.index(axis)
    if not -len(shape) <= axis < len(shape):
        raise numpy.exceptions.AxisError(
            f"{name}: axis {axis} is out of bounds for shape {tuple(shape)}"
        )
    return axis % len(shape)
