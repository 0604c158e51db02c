"""Shape composites: ``stack`` and ``split``, built from differentiable structural ops
(expand_dims and concatenate; getitem with slices), so they carry no gradient code of
their own."""

import itertools
import operator

import numpy

from symgrad.generated.functions import concatenate, expand_dims
from symgrad.tensor import Tensor, wrap


def stack(arrays, axis=0):
    """NumPy's stack: arrays of one shape joined along a new axis ``axis``."""
    arrays = list(arrays)
    if not arrays:
        raise ValueError("stack: need at least one array to stack")
    shapes = {numpy.shape(_data(a)) for a in arrays}
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
    if not isinstance(x, Tensor):
        x = wrap(numpy.asarray(x))
    if x.ndim == 0:
        raise ValueError("split: a 0-d array cannot be split")
    axis = operator.index(axis)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"split: axis {axis} is out of bounds for shape {x.shape}")
    length = x.shape[axis]
    try:
        cuts = [operator.index(i) for i in indices_or_sections]
    except TypeError:  # a number of sections
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise ValueError(
                f"split: the number of sections must be positive, not {sections}"
            ) from None
        if length % sections:
            raise ValueError(
                f"split: {sections} sections do not divide axis {axis} of length {length}"
            ) from None
        cuts = [i * (length // sections) for i in range(1, sections)]
    lead = (slice(None),) * (axis % x.ndim)
    bounds = [0, *cuts, length]
    return [x[(*lead, slice(start, stop))] for start, stop in itertools.pairwise(bounds)]


def _data(value):
    return value.data if isinstance(value, Tensor) else value
