"""Neural-network functions with PyTorch's names and semantics (``symgrad.nn.functional``),
composed of differentiable symgrad ops."""

from symgrad import methods as _methods  # noqa: F401 - binds the ops as Tensor methods
from symgrad.nn import functional

__all__ = ["functional"]
