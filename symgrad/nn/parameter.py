"""``Parameter``: a tensor that is a module's weight."""

import numpy

from symgrad.tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module's weight: assigned to a module, it is registered in its
    ``parameters()``. Requires grad unless told otherwise."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        data = numpy.empty(0, numpy.float32) if data is None else data
        super().__init__(data.data if isinstance(data, Tensor) else data)
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
