"""The generated ops bound as Tensor methods (``t.sum()``, ``t.exp()``), and as what NumPy
functions called on tensors dispatch to (``numpy.exp(t)``, ``t @ u``). Imported by
what hands tensors to users (``symgrad``'s API and ``symgrad.nn``), so that a tensor has
its methods whichever of them was imported first."""

import numpy

from symgrad import shape
from symgrad.generated import functions
from symgrad.linalg import dot, einsum, matmul, trace
from symgrad.tensor import DISPATCH, Tensor

for _name in functions.METHODS:
    setattr(Tensor, _name, getattr(functions, _name))
Tensor.dot = dot
DISPATCH.update(functions.UFUNCS)
DISPATCH.update(functions.ARRAY_FUNCTIONS)
DISPATCH["erf"] = functions.erf
DISPATCH.update({numpy.matmul: matmul, numpy.einsum: einsum, numpy.trace: trace})
DISPATCH.update({getattr(numpy, name): getattr(shape, name) for name in shape.__all__})
