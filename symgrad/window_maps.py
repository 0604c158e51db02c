"""The window gather, a linear map of its own kind, and its transpose; and the reductions
over kernel offsets that window ops compose it with. NumPy only, called by the generated
window ops (generated/windows.py).

The gather reads ``window[n, c, s..., k...] = x_padded[n, c, s*stride + k*dilation]``:
an affine index, a strided view of the padded input. Its transpose adds each window
element's gradient back where it was read: a scatter-add with one strided slice per
kernel offset, never a loop over pixels. A window is then contracted (an einsum, whose
vjps the einsum rule derives), averaged (``offset_sum`` over the count; the transpose
shares the gradient among the offsets) or reduced to its first maximum
(``offset_max``; the transpose of the selection, ``first_max_parts``, gives each
window's gradient to its first maximum alone, ties included, never to the padding).
"""

import functools
import itertools

import numpy
from numpy.lib.stride_tricks import as_strided

from symgrad import layout


def pad(x, padding, value, batch_inner=False):
    """``x`` with ``padding[i]`` elements of ``value`` before and after spatial axis i;
    with ``batch_inner``, laid out with the batch innermost (a copy even without
    padding, unless ``x`` has that layout already)."""
    relayout = batch_inner and not layout.batch_is_inner(x)
    if not any(padding) and not relayout:
        return x
    # NOTE: not numpy.pad, whose general machinery costs 3x this on small inputs
    shape = (*x.shape[:2], *(n + 2 * p for n, p in zip(x.shape[2:], padding)))
    if batch_inner:
        padded = numpy.full((*shape[1:], shape[0]), value, dtype=x.dtype)
        padded = padded.transpose(x.ndim - 1, *range(x.ndim - 1))
    else:
        padded = numpy.full(shape, value, dtype=x.dtype)
    padded[(..., *(slice(p, p + n) for p, n in zip(padding, x.shape[2:])))] = x
    return padded


def out_length(size, kernel, stride, padding, dilation):
    """The number of windows along an axis of ``size`` (PyTorch's output length)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def windows(x, kernel, stride, dilation):
    """The view ``window[n, c, s..., k...] = x[n, c, s*stride + k*dilation]``."""
    spatial = x.shape[2:]
    out = tuple(
        out_length(size, k, s, 0, d) for size, k, s, d in zip(spatial, kernel, stride, dilation)
    )
    strides = (
        *x.strides[:2],
        *(step * s for step, s in zip(x.strides[2:], stride)),
        *(step * d for step, d in zip(x.strides[2:], dilation)),
    )
    return as_strided(x, (*x.shape[:2], *out, *kernel), strides, writeable=False)


class Parts:
    """The gradient of a window, kernel offset by kernel offset, without the whole of it
    in memory: ``at(offset, part, into)`` gives the gradient of the window elements at
    ``offset`` and the output positions ``part`` (a tuple of slices), written into
    ``into`` when that is not None (as a ufunc's ``out``); ``like``, shaped (N, C, *out)
    as those gradients, gives their dtype and the order of their axes in memory."""

    __slots__ = ("at", "like")

    def __init__(self, at, like):
        self.at, self.like = at, like


def windows_adjoint(parts, shape, kernel, stride, padding, dilation):
    """The transpose of windows() of pad(): every window element adds its gradient
    (``parts``) back where it was read from, into an array of the unpadded ``shape``
    (what was read from the padding has no input to go to); one strided slice per
    kernel offset. The result has the dtype and the axis order of ``parts.like``."""
    grad_at, like = parts.at, parts.like
    disjoint, tiled, pieces = _adjoint_plan(
        shape[2:], like.shape[2:], kernel, stride, padding, dilation
    )
    # like's axis order in memory (a convolution's input gradient comes out channel-major,
    # as the product gives it): copies between the two then run through memory in order
    result = numpy.empty_like(like, shape=shape)
    if not tiled:
        # NOTE: not numpy.zeros: its lazily zeroed pages fault twice when first read (by
        # the +=) and then written, and page faults cost more than the fill.
        result.fill(0)
    for offset, part, elements in pieces:
        if disjoint:
            grad_at(offset, part, result[elements])
        else:
            result[elements] += grad_at(offset, part, None)
    return result


@functools.lru_cache(maxsize=256)
def _adjoint_plan(spatial, out, kernel, stride, padding, dilation):
    """What windows_adjoint does for one configuration, computed once: whether windows
    are disjoint and whether they tile the input, and per kernel offset that reads any
    input, (offset, the output positions that do, the elements they read)."""
    # A stride longer than the dilated kernel's reach: no element is in two windows, so
    # each offset's slice is written once instead of added to; if the windows also
    # cover the whole input, nothing is left to zero.
    disjoint = all(s > d * (k - 1) for k, s, d in zip(kernel, stride, dilation))
    tiled = disjoint and all(
        d == 1 and s == k and p == 0 and n * s == size
        for k, s, p, d, n, size in zip(kernel, stride, padding, dilation, out, spatial)
    )
    # per axis and kernel offset: the output positions inside the input, and where
    # they read from (None: only padding)
    slices = [
        [_inside(size, n, k * d - p, s) for k in range(kernel_size)]
        for size, n, kernel_size, s, p, d in zip(spatial, out, kernel, stride, padding, dilation)
    ]
    pieces = []
    for offset in itertools.product(*map(range, kernel)):
        inside = [axis[k] for axis, k in zip(slices, offset)]
        if None not in inside:
            part = tuple(positions for positions, _ in inside)
            elements = (..., *(elements for _, elements in inside))
            pieces.append((offset, part, elements))
    return disjoint, tiled, tuple(pieces)


def _inside(size, out, shift, stride):
    """The output positions (a slice) whose element ``position*stride + shift`` is inside
    an axis of ``size``, and those elements (a slice); None if there are none."""
    lo = max(0, -(shift // stride))
    hi = min(out, (size - 1 - shift) // stride + 1)
    if lo >= hi:
        return None
    first = lo * stride + shift
    return slice(lo, hi), slice(first, first + stride * (hi - lo - 1) + 1, stride)


def written(value, into):
    """``value``, or a copy of it in ``into`` when that is not None."""
    if into is None:
        return value
    numpy.copyto(into, value)
    return into


def offsets(window, rank):
    """The window's elements at each kernel offset, each shaped (N, C, *out), in order."""
    for offset in itertools.product(*map(range, window.shape[-rank:])):
        yield offset, window[(..., *offset)]


def add_term(out, term, rank):
    """``out`` (a fresh product, (n, *term's axes, *rank positions)) plus ``term``
    broadcast over the batch and the positions: a bias, added in place when the dtypes
    allow (NumPy's promotion otherwise)."""
    term = term.reshape(*term.shape, *(1,) * rank)
    if numpy.result_type(out, term) == out.dtype:
        out += term  # in place: the product is a fresh array
        return out
    return out + term


def grouped(a, groups, axis=1):
    """``a`` with axis ``axis`` split into (groups, size // groups)."""
    # NOTE: sizes, not -1: NumPy cannot infer a -1 in an empty array (a zero batch)
    return a.reshape(*a.shape[:axis], groups, a.shape[axis] // groups, *a.shape[axis + 1 :])


def ungrouped(a):
    """``a`` with axes 1 and 2 (groups, size in group) merged again: grouped()'s inverse."""
    return a.reshape(a.shape[0], a.shape[1] * a.shape[2], *a.shape[3:])


# ---- reductions over the kernel offsets, and their transposes -------------------------
def offset_sum(window, rank):
    """The sum of each window over its kernel offsets, in the input's layout."""
    elements = offsets(window, rank)
    _, out = next(elements)
    out = out.copy(order="K")  # the input's layout (channel-major after a convolution)
    for _, element in elements:
        out += element
    return out


def offset_max(window, rank):
    """The maximum of each window over its kernel offsets, in the input's layout."""
    elements = offsets(window, rank)
    _, out = next(elements)
    out = out.copy(order="K")
    for _, element in elements:
        numpy.maximum(out, element, out=out)
    return out


def window_parts(grad_window, rank):
    """A whole window's gradient (N, C, *out, *kernel) as Parts."""

    def grad_at(offset, part, into):
        return written(grad_window[(..., *part, *offset)], into)

    return Parts(grad_at, grad_window[(..., *(0,) * rank)])


def shared_parts(share, grad):
    """The transpose of a sum over the kernel offsets, as Parts: every offset's element
    gets ``share`` (what the sum's vjp gives for ``grad``)."""

    def grad_at(offset, part, into):
        return written(share[(..., *part)], into)

    return Parts(grad_at, grad)


def first_max_parts(grad, window, out, rank):
    """The transpose of selecting each window's first maximum (``out``) among the
    elements read from the input, as Parts: walking the offsets in order, each window's
    gradient goes to the first element equal to its maximum. Only the positions ``part``
    that read the input at an offset may claim their window there, so the padding (-inf)
    is never selected, even where the input's maximum is -inf too (PyTorch's convention);
    every window reads the input (padding is at most half a kernel), so the last offset
    takes the windows still unclaimed. windows_adjoint asks for the offsets in order."""
    elements = dict(offsets(window, rank))
    last = next(reversed(elements))
    # NOTE: the masks, and out they are compared with, in grad's layout: a pass over two
    # arrays of different layouts (a pooling after a convolution is channel-major, its
    # gradient often not) ran up to 2.5x slower, once per offset; one copy of out costs
    # less
    out = layout.in_layout_of(grad, out)
    unclaimed = numpy.ones_like(grad, dtype=bool)
    first = numpy.empty_like(grad, dtype=bool)

    def grad_at(offset, part, into):
        part = (..., *part)
        claims, left = first[part], unclaimed[part]
        if offset == last:
            return numpy.multiply(grad[part], left, out=into)
        numpy.equal(elements[offset][part], out[part], out=claims)
        numpy.logical_and(claims, left, out=claims)
        numpy.logical_xor(left, claims, out=left)
        return numpy.multiply(grad[part], claims, out=into)

    return Parts(grad_at, grad)


def first_max_mask(x, out, kernel, stride, padding, dilation):
    """Where each window of ``x`` (an array, or a tensor's data) has its first maximum
    ``out`` among the elements read from the input: a boolean array shaped as the
    windows (N, C, *out, *kernel), true at one offset per window, the selection
    first_max_parts transposes. A constant of the data, as where's condition: a max
    pool's backward differentiated again (create_graph=True) applies it to the gradient
    with differentiable ops."""
    x, out = numpy.asarray(x), numpy.asarray(out)
    window = windows(pad(x, padding, -numpy.inf), kernel, stride, dilation)
    parts = first_max_parts(numpy.ones_like(out), window, out, len(kernel))
    mask = numpy.zeros(window.shape, dtype=bool)
    # the offsets in order, as first_max_parts asks: those that read any input
    _, _, pieces = _adjoint_plan(x.shape[2:], out.shape[2:], kernel, stride, padding, dilation)
    for offset, part, _ in pieces:
        mask[(..., *part, *offset)] = parts.at(offset, part, None) != 0
    return mask


def spread_over(value, kernel):
    """``value``, one per window, at every offset of its window (a broadcast view)."""
    spread = numpy.reshape(value, (*numpy.shape(value), *(1,) * len(kernel)))
    return numpy.broadcast_to(spread, (*numpy.shape(value), *kernel))


def selected(mask, value):
    """``value``, one per window, at the offset ``mask`` selects in it, 0 at the others."""
    rank = numpy.ndim(mask) - numpy.ndim(value)
    return numpy.where(mask, numpy.reshape(value, (*numpy.shape(value), *(1,) * rank)), 0)


def at_selection(mask, window, rank):
    """What each window holds at the offset ``mask`` selects in it (the max pool's first
    maximum, applied to a tangent's windows)."""
    return numpy.where(mask, window, 0).sum(axis=tuple(range(-rank, 0)))
