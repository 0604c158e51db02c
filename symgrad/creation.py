"""New tensors, as NumPy's constructors make arrays, each also taking ``requires_grad=``:
``zeros ones full empty zeros_like ones_like full_like arange linspace eye``. The
``*_like`` functions take a tensor's shape and dtype (NumPy's own, called on a tensor,
return arrays)."""

import numpy

from symgrad.tensor import Tensor, data_of

__all__ = [
    "arange",
    "empty",
    "eye",
    "full",
    "full_like",
    "linspace",
    "ones",
    "ones_like",
    "zeros",
    "zeros_like",
]


def zeros(shape, dtype=float, *, requires_grad=False):
    """A tensor of ``shape`` filled with 0."""
    return _leaf(numpy.zeros(shape, dtype), requires_grad)


def ones(shape, dtype=None, *, requires_grad=False):
    """A tensor of ``shape`` filled with 1."""
    return _leaf(numpy.ones(shape, dtype), requires_grad)


def full(shape, fill_value, dtype=None, *, requires_grad=False):
    """A tensor of ``shape`` filled with ``fill_value`` (dtype as NumPy infers it)."""
    return _leaf(numpy.full(shape, data_of(fill_value), dtype), requires_grad)


def empty(shape, dtype=float, *, requires_grad=False):
    """A tensor of ``shape`` whose values are whatever the memory held."""
    return _leaf(numpy.empty(shape, dtype), requires_grad)


def zeros_like(a, dtype=None, shape=None, *, requires_grad=False):
    """Zeros of ``a``'s shape and dtype (or those given)."""
    return _leaf(numpy.zeros_like(data_of(a), dtype, shape=shape), requires_grad)


def ones_like(a, dtype=None, shape=None, *, requires_grad=False):
    """Ones of ``a``'s shape and dtype (or those given)."""
    return _leaf(numpy.ones_like(data_of(a), dtype, shape=shape), requires_grad)


def full_like(a, fill_value, dtype=None, shape=None, *, requires_grad=False):
    """``fill_value`` in ``a``'s shape and dtype (or those given)."""
    filled = numpy.full_like(data_of(a), data_of(fill_value), dtype, shape=shape)
    return _leaf(filled, requires_grad)


def arange(*args, dtype=None, requires_grad=False):
    """NumPy's arange: ``arange(stop)``, ``arange(start, stop)``, ``arange(start, stop,
    step)``."""
    return _leaf(numpy.arange(*args, dtype=dtype), requires_grad)


def linspace(start, stop, num=50, endpoint=True, dtype=None, axis=0, *, requires_grad=False):
    """NumPy's linspace: ``num`` evenly spaced numbers from ``start`` to ``stop``."""
    values = numpy.linspace(data_of(start), data_of(stop), num, endpoint, dtype=dtype, axis=axis)
    return _leaf(values, requires_grad)


def eye(N, M=None, k=0, dtype=float, *, requires_grad=False):
    """NumPy's eye: ones on diagonal ``k`` of an N x M matrix."""
    return _leaf(numpy.eye(N, M, k, dtype), requires_grad)


def _leaf(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)
