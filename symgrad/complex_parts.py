"""NumPy's complex-number functions, for real tensors (symgrad's tensors are real): the
real part and the conjugate are the tensor itself, the imaginary part is 0 and the angle
0 or pi, constants of the data (their gradient is 0), in the graph all the same."""

import numpy

from symgrad.generated.functions import where
from symgrad.tensor import Tensor, as_tensor, data_of

__all__ = ["angle", "conj", "conjugate", "imag", "real", "real_if_close"]


def real(val):
    """NumPy's real: a real tensor itself."""
    return val if isinstance(val, Tensor) else numpy.real(val)


def conj(x):
    """NumPy's conj: a real tensor itself."""
    return x if isinstance(x, Tensor) else numpy.conj(x)


conjugate = conj


def real_if_close(a, tol=100):
    """NumPy's real_if_close: a real tensor itself."""
    return a if isinstance(a, Tensor) else numpy.real_if_close(a, tol)


def imag(val):
    """NumPy's imag: zeros, which pass a zero gradient."""
    return _constant_of(val, numpy.zeros_like(numpy.asarray(data_of(val))))


def angle(z, deg=False):
    """NumPy's angle: 0 for positive numbers and pi (180 degrees) for negative ones
    (-0.0 included, as NumPy's), which pass a zero gradient."""
    return _constant_of(z, numpy.angle(data_of(z), deg=deg))


def _constant_of(x, value):
    """``value`` in the graph of ``x`` with a zero gradient (a branch of ``where`` that
    is never taken), so that backward through it reaches x's leaves."""
    x = as_tensor(x)
    return where(numpy.zeros(x.shape, bool), x, numpy.asarray(value, x.dtype))
