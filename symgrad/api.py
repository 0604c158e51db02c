"""The public API, gathered: ``import symgrad as sg`` gives everything listed here."""

import numpy

from symgrad import nn
from symgrad import tensor as _tensor
from symgrad.engine import enable_grad, grad, no_grad
from symgrad.generated import functions
from symgrad.generated.functions import *  # noqa: F403 - the generated ops
from symgrad.gradcheck import gradcheck
from symgrad.linalg import dot, einsum, matmul, outer, trace
from symgrad.shape import split, stack
from symgrad.tensor import Tensor, tensor

# The generated ops as Tensor methods, and as what NumPy calls on tensors dispatch to.
for _name in functions.METHODS:
    setattr(Tensor, _name, getattr(functions, _name))
_tensor.DISPATCH.update(functions.UFUNCS)
_tensor.DISPATCH.update(functions.ARRAY_FUNCTIONS)
_tensor.DISPATCH["erf"] = functions.erf
_tensor.DISPATCH.update({numpy.matmul: matmul, numpy.einsum: einsum})
_tensor.DISPATCH.update({numpy.stack: stack, numpy.split: split})
Tensor.dot = dot

__all__ = [
    "Tensor",
    "dot",
    "einsum",
    "enable_grad",
    "grad",
    "gradcheck",
    "matmul",
    "nn",
    "no_grad",
    "outer",
    "split",
    "stack",
    "tensor",
    "trace",
    *(name for name in dir(functions) if not name.startswith("_") and name.islower()),
]
__all__ = sorted(set(__all__) - {"apply", "elementwise", "numpy", "reductions", "structural"})
