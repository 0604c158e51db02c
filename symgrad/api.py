"""The public API, gathered: ``import symgrad as sg`` gives everything listed here."""

from symgrad import (
    complex_parts,
    creation,
    linalg,
    nn,
    optim,
    scans,
    selection,
    shape,
    utils,
    viz,
)
from symgrad import memory as _memory  # noqa: F401 - sets how malloc keeps memory
from symgrad import methods as _methods  # noqa: F401 - binds the ops as Tensor methods
from symgrad.autograd import grad
from symgrad.complex_parts import *  # noqa: F403 - real, imag, ... of real tensors
from symgrad.creation import *  # noqa: F403 - the constructors
from symgrad.forward import hessian, jacobian, jvp, vjp
from symgrad.generated import functions
from symgrad.generated.functions import *  # noqa: F403 - the generated ops
from symgrad.grad_mode import enable_grad, no_grad
from symgrad.gradcheck import gradcheck
from symgrad.linalg import cross, dot, einsum, inner, kron, matmul, outer, tensordot, trace
from symgrad.random import manual_seed
from symgrad.scans import *  # noqa: F403 - cumprod, diff
from symgrad.selection import *  # noqa: F403 - sort, partition, select, nan_to_num
from symgrad.serialization import load, save
from symgrad.shape import *  # noqa: F403 - the shape composites
from symgrad.tensor import Tensor, tensor
from symgrad.user_ops import DerivationError, define

# the composites, from the modules that hold each kind
COMPOSITE_MODULES = (complex_parts, creation, scans, selection, shape)

__all__ = [
    "DerivationError",
    "Tensor",
    "cross",
    "define",
    "dot",
    "einsum",
    "enable_grad",
    "grad",
    "gradcheck",
    "hessian",
    "jacobian",
    "jvp",
    "inner",
    "kron",
    "linalg",
    "load",
    "manual_seed",
    "matmul",
    "nn",
    "no_grad",
    "optim",
    "outer",
    "save",
    *(name for module in COMPOSITE_MODULES for name in module.__all__),
    "tensor",
    "tensordot",
    "trace",
    "utils",
    "vjp",
    "viz",
    *(name for name in dir(functions) if not name.startswith("_") and name.islower()),
]
__all__ = sorted(set(__all__) - {"apply", "elementwise", "numpy", "reductions", "structural"})
