"""The activations of ``torch.nn.functional`` with PyTorch's argument names (``dim``,
``inplace``, ``approximate``, ``beta``/``threshold``), each a generated element-wise or
normalization op of symgrad, or a composite of them."""

import math
import warnings

from symgrad.generated import functions as ops
from symgrad.tensor import data_of


def relu(input, inplace=False):
    _not_in_place("relu", inplace)
    return ops.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _not_in_place("leaky_relu", inplace)
    return ops.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    _not_in_place("elu", inplace)
    return ops.elu(input, alpha)


def selu(input, inplace=False):
    _not_in_place("selu", inplace)
    return ops.selu(input)


def silu(input, inplace=False):
    _not_in_place("silu", inplace)
    return ops.silu(input)


def gelu(input, approximate="none"):
    """GELU: exact (``x * Phi(x)``, the erf form) or PyTorch's tanh approximation."""
    if approximate == "none":
        return ops.gelu(input)
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1.0 + ops.tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")


def sigmoid(input):
    return ops.sigmoid(input)


def tanh(input):
    return ops.tanh(input)


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, and x itself where ``beta * x > threshold``
    (PyTorch's switch to the linear function, for numerical stability)."""
    scaled = input * beta if beta != 1 else input
    smooth = ops.softplus(scaled) / beta if beta != 1 else ops.softplus(scaled)
    return ops.where(data_of(scaled) > threshold, input, smooth)


def softmax(input, dim=None, dtype=None):
    return ops.softmax(_cast(input, dtype), _dim("softmax", input, dim))


def log_softmax(input, dim=None, dtype=None):
    return ops.log_softmax(_cast(input, dtype), _dim("log_softmax", input, dim))


def _dim(name, input, dim):
    """PyTorch's implicit dim, with its warning: 0 for 0-, 1- and 3-d inputs, else 1."""
    if dim is not None:
        return dim
    warnings.warn(
        f"{name}: implicit dimension choice is deprecated; pass dim (as PyTorch warns)",
        UserWarning,
        stacklevel=3,
    )
    return 0 if input.ndim in (0, 1, 3) else 1


def _cast(input, dtype):
    return input if dtype is None else input.astype(dtype)


def _not_in_place(name, inplace):
    if inplace:
        raise ValueError(f"{name}: inplace=True is not supported (symgrad never mutates inputs)")
