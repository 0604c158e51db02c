"""Initial weights, drawn from symgrad's generator (``sg.manual_seed``) as PyTorch's
layers draw theirs from torch's; float32 unless a dtype is given (PyTorch's default)."""

import numpy

from symgrad import random
from symgrad.nn.parameter import Parameter

DEFAULT_DTYPE = numpy.float32


def uniform_parameter(shape, bound, dtype=None):
    """A Parameter of ``shape`` uniform in [-bound, bound)."""
    values = random.default_generator().uniform(-bound, bound, shape)
    return Parameter(values.astype(dtype or DEFAULT_DTYPE))


def normal_parameter(shape, dtype=None):
    """A Parameter of ``shape`` drawn from the standard normal distribution."""
    values = random.default_generator().standard_normal(shape)
    return Parameter(values.astype(dtype or DEFAULT_DTYPE))


def filled_parameter(shape, value, dtype=None):
    return Parameter(numpy.full(shape, value, dtype or DEFAULT_DTYPE))
