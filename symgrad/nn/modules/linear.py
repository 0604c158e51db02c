"""``Linear``, ``Flatten`` and ``Identity``."""

import math

from symgrad.nn import functional as F  # noqa: N812 - PyTorch's spelling
from symgrad.nn.init import uniform_parameter
from symgrad.nn.modules.module import Module


class Linear(Module):
    """``y = x @ weight.T + bias``; weight (out_features, in_features). Initialised as
    PyTorch's: weight and bias uniform in +-1/sqrt(in_features)."""

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        self.weight = uniform_parameter((out_features, in_features), bound, dtype)
        if bias:
            self.bias = uniform_parameter((out_features,), bound, dtype)
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Flatten(Module):
    """The axes from ``start_dim`` to ``end_dim`` merged into one (a reshape)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        ndim = input.ndim
        start, end = self.start_dim % ndim, self.end_dim % ndim
        shape = (*input.shape[:start], -1, *input.shape[end + 1 :])
        return input.reshape(shape)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    def forward(self, input):
        return input
