"""Shape composites, built from differentiable structural ops (reshape, expand_dims,
concatenate, the pads, diagflat and diagonal; getitem with slices), so they carry no
gradient code of their own: ``stack``, the ``atleast_*`` family, ``vstack hstack dstack
row_stack column_stack append``, ``split array_split vsplit hsplit dsplit``, ``pad`` and
``diag``."""

import itertools
import operator

import numpy

from symgrad.generated.functions import (
    _pad,
    _pad_copies,
    concatenate,
    diagflat,
    diagonal,
    expand_dims,
    ravel,
    reshape,
)
from symgrad.tensor import Tensor, data_of, holds_tensor, stacked, tensor, wrap

# The public composites (each NumPy's function of that name, called on tensors too).
__all__ = [
    "append",
    "array",
    "array_split",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "column_stack",
    "diag",
    "dsplit",
    "dstack",
    "hsplit",
    "hstack",
    "pad",
    "row_stack",
    "split",
    "stack",
    "vsplit",
    "vstack",
]


def array(object, dtype=None, requires_grad=False):
    """NumPy's array, of tensors too: a (nested) list holding tensors becomes one tensor
    that keeps their graphs (a stack); anything else a new leaf, as ``sg.tensor``."""
    if isinstance(object, list | tuple) and holds_tensor(object):
        result = stacked(object)
        if dtype is not None and numpy.dtype(dtype) != result.dtype:
            raise TypeError(f"array: dtype={dtype} would cut the graph; cast the inputs instead")
        return result
    return tensor(object, dtype=dtype, requires_grad=requires_grad)


def stack(arrays, axis=0):
    """NumPy's stack: arrays of one shape joined along a new axis ``axis``."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("stack: need at least one array to stack")
    shapes = {numpy.shape(data_of(a)) for a in arrays}
    if len(shapes) > 1:
        listed = " and ".join(str(s) for s in sorted(shapes))
        raise ValueError(f"stack: all input arrays must have the same shape, not {listed}")
    ndim = len(shapes.pop()) + 1
    if not -ndim <= operator.index(axis) < ndim:
        raise ValueError(f"stack: axis {axis} is out of bounds for a result of {ndim} dimensions")
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def split(x, indices_or_sections, axis=0):
    """NumPy's split: a list of tensors, the pieces of ``x`` along ``axis``, either
    ``indices_or_sections`` equal pieces or cut before each of its indices."""
    return _split("split", x, indices_or_sections, axis, equal=True)


def array_split(x, indices_or_sections, axis=0):
    """NumPy's array_split: as split, but a number of sections need not divide the
    axis (the first pieces are one longer)."""
    return _split("array_split", x, indices_or_sections, axis, equal=False)


def vsplit(x, indices_or_sections):
    """NumPy's vsplit: split along the first axis (at least 2-D)."""
    return _split("vsplit", x, indices_or_sections, 0, equal=True, min_ndim=2)


def hsplit(x, indices_or_sections):
    """NumPy's hsplit: split along the second axis (the first for 1-D)."""
    axis = 1 if numpy.ndim(data_of(x)) > 1 else 0
    return _split("hsplit", x, indices_or_sections, axis, equal=True, min_ndim=1)


def dsplit(x, indices_or_sections):
    """NumPy's dsplit: split along the third axis (at least 3-D)."""
    return _split("dsplit", x, indices_or_sections, 2, equal=True, min_ndim=3)


def _split(name, x, indices_or_sections, axis, equal, min_ndim=1):
    if not isinstance(x, Tensor):
        x = wrap(numpy.asarray(x))
    if x.ndim < min_ndim:
        raise ValueError(f"{name}: needs at least {min_ndim} dimensions, not shape {x.shape}")
    axis = operator.index(axis)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{name}: axis {axis} is out of bounds for shape {x.shape}")
    length = x.shape[axis]
    try:
        cuts = [operator.index(i) for i in indices_or_sections]
    except TypeError:  # a number of sections
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError(
                f"{name}: the number of sections must be positive, not {sections}"
            ) from None
        if equal and length % sections:
            raise ValueError(
                f"{name}: {sections} sections do not divide axis {axis} of length {length}"
            ) from None
        size, longer = divmod(length, sections)
        cuts = list(itertools.accumulate(size + (i < longer) for i in range(sections - 1)))
    lead = (slice(None),) * (axis % x.ndim)
    bounds = [0, *cuts, length]
    return [x[(*lead, slice(start, stop))] for start, stop in itertools.pairwise(bounds)]


# ---- at least n dimensions, and the stacks built on them ---------------------------------
def atleast_1d(*arys):
    """NumPy's atleast_1d: each array with at least one axis (a 0-d one becomes (1,))."""
    return _each(arys, _at_least(1))


def atleast_2d(*arys):
    """NumPy's atleast_2d: (n,) becomes (1, n), a 0-d array (1, 1)."""
    return _each(arys, _at_least(2))


def atleast_3d(*arys):
    """NumPy's atleast_3d: (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1)."""
    return _each(arys, _at_least(3))


def _at_least(ndim):
    """A reshape to what numpy.atleast_{ndim}d gives."""

    def reshaped(a):
        shape = getattr(numpy, f"atleast_{ndim}d")(numpy.empty(numpy.shape(data_of(a)), bool)).shape
        return a if numpy.shape(data_of(a)) == shape else reshape(a, shape)

    return reshaped


def _each(arys, function):
    results = [function(a) for a in arys]
    return results[0] if len(results) == 1 else tuple(results)


def vstack(tup, *, dtype=None, casting="same_kind"):
    """NumPy's vstack: the arrays, at least 2-D, joined along the first axis."""
    _no_dtype("vstack", dtype)
    return concatenate([_at_least(2)(a) for a in tup], axis=0)


def row_stack(tup, *, dtype=None, casting="same_kind"):
    """NumPy's row_stack: vstack."""
    return vstack(tup, dtype=dtype, casting=casting)


def hstack(tup, *, dtype=None, casting="same_kind"):
    """NumPy's hstack: the arrays, at least 1-D, joined along the second axis (the
    first for 1-D arrays)."""
    _no_dtype("hstack", dtype)
    arrays = [_at_least(1)(a) for a in tup]
    axis = 0 if arrays and numpy.ndim(data_of(arrays[0])) == 1 else 1
    return concatenate(arrays, axis=axis)


def dstack(tup, *, dtype=None, casting="same_kind"):
    """NumPy's dstack: the arrays, at least 3-D, joined along the third axis."""
    _no_dtype("dstack", dtype)
    return concatenate([_at_least(3)(a) for a in tup], axis=2)


def _no_dtype(name, dtype):
    """NumPy's stacks take dtype= (and pass it on to each other); symgrad's keep the
    arrays' own dtypes."""
    if dtype is not None:
        raise TypeError(f"{name}: dtype= is not supported on tensors; cast the inputs instead")


def column_stack(tup):
    """NumPy's column_stack: 1-D arrays as columns (n, 1), the others as they are,
    joined along the second axis."""
    arrays = []
    for a in tup:
        if numpy.ndim(data_of(a)) < 2:
            a = reshape(a, (-1, 1)) if numpy.ndim(data_of(a)) == 1 else _at_least(2)(a)
        arrays.append(a)
    return concatenate(arrays, axis=1)


def append(arr, values, axis=None):
    """NumPy's append: ``values`` after ``arr``, both flattened for axis None."""
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


# ---- pad and diag --------------------------------------------------------------------------
# The modes of numpy.pad whose border copies elements of the array (a linear read).
PAD_COPYING_MODES = ("edge", "reflect", "symmetric", "wrap")


def pad(array, pad_width, mode="constant", constant_values=0):
    """NumPy's pad: a border of ``constant_values`` (a number, or NumPy's pairs per axis)
    for mode "constant", or copies of the array's own elements for the modes edge,
    reflect, symmetric and wrap."""
    ndim = numpy.ndim(data_of(array))
    try:
        pairs = numpy.broadcast_to(numpy.asarray(pad_width), (ndim, 2))
    except ValueError:
        pairs = None
    if pairs is None or pairs.dtype.kind not in "iu" or (pairs < 0).any():
        raise ValueError(
            f"pad: pad_width {pad_width!r} is not n, (before, after) or one such pair of "
            f"non-negative ints per axis of shape {numpy.shape(data_of(array))}"
        )
    if mode == "constant":
        padded = _pad(array, pad_width)
        # the border: what numpy.pad puts around zeros (a constant, no gradient)
        zeros = numpy.zeros(numpy.shape(data_of(array)), numpy.result_type(data_of(array)))
        border = numpy.pad(zeros, pad_width, constant_values=constant_values)
        return padded + border if numpy.any(border) else padded
    if mode in PAD_COPYING_MODES:
        return _pad_copies(array, pad_width, mode)
    modes = ", ".join(("constant", *PAD_COPYING_MODES))
    raise ValueError(f"pad: mode {mode!r} is not supported on tensors (supported: {modes})")


def diag(v, k=0):
    """NumPy's diag: a 1-D array placed along diagonal ``k`` of a square of zeros, or
    diagonal ``k`` of a 2-D array read."""
    ndim = numpy.ndim(data_of(v))
    if ndim == 1:
        return diagflat(v, k)
    if ndim == 2:
        return diagonal(v, k)
    raise ValueError(f"diag: input must be 1-D or 2-D, not of shape {numpy.shape(data_of(v))}")
