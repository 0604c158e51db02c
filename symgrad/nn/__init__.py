"""``symgrad.nn``: PyTorch's ``torch.nn``: modules (``Module``, ``Parameter``,
``Sequential``, the layers and losses) and ``functional``, composed of differentiable
symgrad ops."""

from symgrad import methods as _methods  # noqa: F401 - binds the ops as Tensor methods
from symgrad.nn import functional
from symgrad.nn.modules import *  # noqa: F403 - the modules
from symgrad.nn.modules import __all__ as _modules

__all__ = ["functional", *_modules]
