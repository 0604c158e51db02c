"""The kinds of linear map that structural ops are declared as compositions of, in NumPy.

Each function here is one kind of map (or the shape arithmetic a declaration uses), never
one op: the generator declares an op's map as steps of these kinds and derives its
adjoint as the reverse composition of the steps' transposes (``symgrad/codegen/linear.py``).
The kinds and their transposes: a permutation of axes and its inverse, a reversal of axes
(its own transpose), a reshape and the reshape back, broadcasting and ``sum_to``, a read
at an index and ``add_at``, a concatenation and ``split_blocks``, the window gather
``gather_windows`` and ``scatter_windows``.

Each works on Tensors too (a backward differentiated again, create_graph=True): the
NumPy calls dispatch to symgrad's ops, and ``add_at``, ``gather_windows`` and
``scatter_windows`` run the differentiable scatter_add, window_gather and window_scatter
ops.
"""

import numpy
from numpy.lib.stride_tricks import as_strided

from symgrad import window_maps


def reverse_cumsum(x, axis):
    """The transpose of numpy.cumsum along ``axis``: each element the sum of itself and
    the elements after it."""
    return numpy.flip(numpy.cumsum(numpy.flip(x, axis), axis), axis)


def inverse_axes(axes, ndim):
    """The permutation that undoes ``numpy.transpose(x, axes)`` on ``ndim`` axes (None,
    the reversal, undoes itself); negative axes count from the end, as NumPy's."""
    if axes is None:
        return None
    return tuple(int(a) for a in numpy.argsort([a % ndim for a in axes]))


def sum_to(grad, shape):
    """The transpose of broadcasting an array of ``shape`` to ``grad.shape``: ``grad``
    summed over the axes broadcasting added in front and over the size-1 axes it
    stretched."""
    if grad.shape == shape:
        return grad
    leading = grad.ndim - len(shape)
    axes = list(range(leading))
    if 1 in shape:
        for axis, size in enumerate(shape):
            if size == 1 and grad.shape[leading + axis] != 1:
                axes.append(leading + axis)
    # NOTE: one sum over every broadcast axis; an int axis when there is one (the bias
    # of a layer): NumPy takes that path faster than a tuple.
    summed = grad.sum(axis=axes[0] if len(axes) == 1 else tuple(axes))
    return summed if summed.shape == shape else summed.reshape(shape)


def _basic(index):
    """Whether ``index`` is basic indexing (ints, slices, None, Ellipsis): each element
    is then read at most once."""
    for item in index if type(index) is tuple else (index,):
        if not (
            item is None
            or item is Ellipsis
            or type(item) is slice
            or (isinstance(item, int | numpy.integer) and type(item) is not bool)
        ):
            return False
    return True


def add_at(grad, index, shape):
    """The transpose of reading ``x[index]`` from an array of ``shape``: zeros, with each
    element of ``grad`` added where it was read, so that repeated indices accumulate
    (numpy.add.at; a plain assignment for basic indexing, which reads each element once).

    Called on a tensor (a backward differentiated again, create_graph=True), it runs the
    differentiable scatter_add op instead, whose own transpose is the read.
    """
    dispatch = getattr(type(grad), "_special_dispatch", None)
    if dispatch is not None:
        return dispatch("scatter_add", grad, index, shape)
    out = numpy.zeros(shape, dtype=grad.dtype)
    if _basic(index):
        out[index] = grad
    else:
        numpy.add.at(out, index, grad)
    return out


def gather_windows(x, kernel, stride, padding, dilation):
    """The windows of ``x`` zero-padded by ``padding``:
    ``window[n, c, s..., k...] = x_padded[n, c, s*stride + k*dilation]`` (a strided view).

    Called on a tensor (a backward differentiated again, create_graph=True), it runs the
    differentiable window_gather op instead, whose own transpose is scatter_windows.
    """
    dispatch = getattr(type(x), "_special_dispatch", None)
    if dispatch is not None:
        return dispatch("window_gather", x, kernel, stride, padding, dilation)
    return window_maps.windows(window_maps.pad(x, padding, 0.0), kernel, stride, dilation)


def scatter_windows(grad, shape, kernel, stride, padding, dilation):
    """The transpose of gather_windows from an array of ``shape``: each window element
    of ``grad`` (a whole window's gradient, or window_maps.Parts giving it offset by
    offset) added back where it was read from; what was read from the padding dropped.

    Called on a tensor (a backward differentiated again, create_graph=True), it runs the
    differentiable window_scatter op instead, whose own transpose is the gather.
    """
    dispatch = getattr(type(grad), "_special_dispatch", None)
    if dispatch is not None:
        return dispatch("window_scatter", grad, shape, kernel, stride, padding, dilation)
    if not isinstance(grad, window_maps.Parts):
        grad = window_maps.window_parts(grad, len(kernel))
    return window_maps.windows_adjoint(grad, shape, kernel, stride, padding, dilation)


def split_blocks(grad, shapes, axis):
    """The transpose of concatenating arrays of ``shapes`` along ``axis``: ``grad`` cut
    back into blocks of those shapes (axis None: the flattened arrays, reshaped back)."""
    pieces, start = [], 0
    if axis is None:
        for shape in shapes:
            size = int(numpy.prod(shape))
            pieces.append(numpy.reshape(grad[start : start + size], shape))
            start += size
        return pieces
    lead = (slice(None),) * (axis % grad.ndim)
    for shape in shapes:
        size = shape[axis]
        pieces.append(grad[(*lead, slice(start, start + size))])
        start += size
    return pieces


def assigned(x, index, value):
    """A new array: ``x`` with ``x[index] = value`` (NumPy's assignment)."""
    out = numpy.array(x, dtype=numpy.result_type(x))
    out[index] = value
    return out


# ---- shape arithmetic of declarations ---------------------------------------------------
def concatenated_shape(shapes, axis):
    """The shape numpy.concatenate(xs, axis) gives for xs of ``shapes``."""
    if axis is None:
        return (sum(int(numpy.prod(shape)) for shape in shapes),)
    first = list(shapes[0])
    first[axis] = sum(shape[axis] for shape in shapes)
    return tuple(first)


def assign_index(shapes, index):
    """Where each element of ``x`` after ``x[index] = value`` is read from in
    numpy.concatenate([x, value], None), for x and value of ``shapes``: its own position,
    or where it was assigned, the position of the element of value (broadcast) put there."""
    x_shape, value_shape = shapes
    size = int(numpy.prod(x_shape))
    positions = numpy.arange(size, dtype=numpy.intp).reshape(x_shape)
    count = int(numpy.prod(value_shape))
    positions[index] = numpy.arange(size, size + count, dtype=numpy.intp).reshape(value_shape)
    return positions


def pad_interior(pad_width, shape):
    """The index of an array of ``shape`` inside ``numpy.pad(x, pad_width)`` (any of
    NumPy's pad_width forms: n, (n,), (before, after), or one pair per axis)."""
    pairs = numpy.broadcast_to(numpy.asarray(pad_width, dtype=numpy.intp), (len(shape), 2))
    return tuple(slice(int(before), int(before) + n) for (before, _), n in zip(pairs, shape))


def tile_layout(shape, reps):
    """``numpy.tile(x, reps)`` for x of ``shape`` as a reshape, a broadcast and a reshape:
    the shapes (1, n1, 1, n2, ...), (r1, n1, r2, n2, ...) and (r1*n1, r2*n2, ...), each
    axis of the result split into (repetitions, size)."""
    reps = (reps,) if isinstance(reps, int | numpy.integer) else tuple(reps)
    ndim = max(len(shape), len(reps))
    sizes = (1,) * (ndim - len(shape)) + tuple(shape)
    reps = (1,) * (ndim - len(reps)) + tuple(int(r) for r in reps)
    spread = tuple(n for size in sizes for n in (1, size))
    repeated = tuple(n for r, size in zip(reps, sizes) for n in (r, size))
    return spread, repeated, tuple(r * size for r, size in zip(reps, sizes))


def axes_after(function, ndim, *args):
    """The permutation of axes that ``function(x, *args)`` applies to an array of
    ``ndim`` axes (numpy.moveaxis, numpy.rollaxis, ...), read off a probe whose axes
    have distinct strides (one element: nothing is read)."""
    strides = tuple(8 * (axis + 1) for axis in range(ndim))
    probe = as_strided(numpy.empty(1), shape=(1,) * ndim, strides=strides, writeable=False)
    return tuple(strides.index(stride) for stride in function(probe, *args).strides)


def permuted(shape, axes):
    """The shape numpy.transpose(x, axes) gives for x of ``shape``."""
    return tuple(reversed(shape)) if axes is None else tuple(shape[a] for a in axes)


def rot90_flip(k, axes):
    """numpy.rot90(x, k, axes) as a flip of these axes followed by rot90_axes."""
    return ((), (axes[1],), tuple(axes), (axes[0],))[k % 4]


def rot90_axes(ndim, k, axes):
    """The permutation after rot90_flip: the two axes swapped for an odd ``k``."""
    order = list(range(ndim))
    if k % 2:
        order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
    return tuple(order)


def flat_if_none(shape, axis):
    """The shape an op with NumPy's ``axis=None`` convention (numpy.repeat, cumsum,
    take_along_axis) reads x of ``shape`` as: as it is, or flattened for axis None."""
    return (int(numpy.prod(shape)),) if axis is None else tuple(shape)


def repeat_index(shape, repeats, axis):
    """The index that reads numpy.repeat(x, repeats, axis) from x of ``shape`` (already
    flattened for axis None): each position along the axis ``repeats`` times."""
    axis = 0 if axis is None else axis % len(shape)
    positions = numpy.repeat(numpy.arange(shape[axis]), repeats)
    return (slice(None),) * axis + (positions,)


def along_axis_index(shape, indices, axis):
    """The index that reads numpy.take_along_axis(x, indices, axis) from x of ``shape``
    (already flattened for axis None): ``indices`` along the axis, each other axis read
    at its own position (broadcast against indices)."""
    axis = 0 if axis is None else axis % len(shape)
    indices = numpy.asarray(indices)
    if indices.ndim != len(shape):
        raise ValueError(
            f"take_along_axis: indices of {indices.ndim} dimensions for an array of "
            f"{len(shape)} (shape {tuple(shape)})"
        )
    grid = numpy.ogrid[tuple(slice(n) for n in shape)]
    return tuple(indices if a == axis else position for a, position in enumerate(grid))


def pad_read_index(shape, pad_width, mode):
    """Where each element of numpy.pad(x, pad_width, mode) is read from x of ``shape``,
    flattened: the modes that copy elements of x (edge, reflect, symmetric, wrap) pad
    the positions of x as they would pad x."""
    positions = numpy.arange(int(numpy.prod(shape)), dtype=numpy.intp).reshape(shape)
    return numpy.pad(positions, pad_width, mode=mode)


def square_diagonal_index(size, k):
    """The index of diagonal ``k`` of a square matrix holding ``size`` elements there,
    as numpy.diagflat(v, k) places v."""
    side = size + abs(k)
    return diagonal_index(side, side, k)


def diagonal_axes(ndim, axis1, axis2):
    """The permutation that puts ``axis1`` and ``axis2`` last, in that order."""
    axis1, axis2 = axis1 % ndim, axis2 % ndim
    return (*(a for a in range(ndim) if a not in (axis1, axis2)), axis1, axis2)


def diagonal_index(rows, cols, offset):
    """The index of the diagonal ``offset`` of the last two axes, ``rows`` by ``cols``."""
    count = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    start = numpy.arange(count)
    return (..., start + max(-offset, 0), start + max(offset, 0))


def lower_triangle(shape, k):
    """The mask of numpy.tril(x, k) for x of ``shape``: the last two axes' elements on
    and below diagonal ``k``."""
    return numpy.tri(*shape[-2:], k=k, dtype=bool)
