"""The public API, gathered: ``import symgrad as sg`` gives everything listed here."""

from symgrad import memory as _memory  # noqa: F401 - sets how malloc keeps memory
from symgrad import methods as _methods  # noqa: F401 - binds the ops as Tensor methods
from symgrad import nn, shape
from symgrad.autograd import grad
from symgrad.generated import functions
from symgrad.generated.functions import *  # noqa: F403 - the generated ops
from symgrad.grad_mode import enable_grad, no_grad
from symgrad.gradcheck import gradcheck
from symgrad.linalg import dot, einsum, matmul, outer, trace
from symgrad.shape import *  # noqa: F403 - the shape composites
from symgrad.tensor import Tensor, tensor

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
    *shape.__all__,
    "tensor",
    "trace",
    *(name for name in dir(functions) if not name.startswith("_") and name.islower()),
]
__all__ = sorted(set(__all__) - {"apply", "elementwise", "numpy", "reductions", "structural"})
