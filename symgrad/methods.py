"""The generated ops bound as Tensor methods (``t.sum()``, ``t.exp()``), and as what NumPy
functions called on tensors dispatch to (``numpy.exp(t)``, ``t @ u``). Imported by
what hands tensors to users (``symgrad``'s API and ``symgrad.nn``), so that a tensor has
its methods whichever of them was imported first."""

import numpy

from symgrad import complex_parts, linalg, scans, selection, shape
from symgrad.generated import functions
from symgrad.tensor import DISPATCH, Tensor

for _name in functions.METHODS:
    setattr(Tensor, _name, getattr(functions, _name))
Tensor.dot = linalg.dot
Tensor.cumprod = scans.cumprod
Tensor.conj = Tensor.conjugate = complex_parts.conj
Tensor.real = property(complex_parts.real)
Tensor.imag = property(complex_parts.imag)
Tensor.trace = linalg.trace
DISPATCH.update(functions.UFUNCS)
DISPATCH.update(functions.ARRAY_FUNCTIONS)
DISPATCH["erf"] = functions.erf
DISPATCH["sinpi"] = functions.sinpi
DISPATCH[numpy.clip] = functions.clip
DISPATCH[numpy.linalg.norm] = linalg.norm
for _name in ("matmul", "einsum", "trace", "dot", "outer", "tensordot", "inner", "kron", "cross"):
    DISPATCH[getattr(numpy, _name)] = getattr(linalg, _name)
# the composites of NumPy's functions (creation's are not: NumPy does not dispatch them)
for _module in (complex_parts, scans, selection, shape):
    DISPATCH.update({getattr(numpy, name): getattr(_module, name) for name in _module.__all__})
