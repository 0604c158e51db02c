"""Neural-network functions with PyTorch's names and semantics (``symgrad.nn.functional``),
composed of differentiable symgrad ops."""

from symgrad.nn import functional

__all__ = ["functional"]
