"""``Conv1d`` and ``Conv2d``: weight (out, in / groups, *kernel), initialised as
PyTorch's (uniform in +-1/sqrt(fan_in), fan_in = in / groups * kernel size)."""

import math

from symgrad.nn import functional as F  # noqa: N812 - PyTorch's spelling
from symgrad.nn.convolution import check_padding_string
from symgrad.nn.init import uniform_parameter
from symgrad.nn.modules.module import Module


class _ConvNd(Module):
    rank = 0
    function = None

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode {padding_mode!r} (only 'zeros')")
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels {in_channels} and out_channels {out_channels} must be "
                f"divisible by groups {groups}"
            )
        kernel = _tuple(kernel_size, self.rank)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel
        self.stride = _tuple(stride, self.rank)
        if isinstance(padding, str):  # 'same' or 'valid', kept (and printed) as given
            check_padding_string(name, padding, self.stride)
            self.padding = padding
        else:
            self.padding = _tuple(padding, self.rank)
        self.dilation, self.groups = _tuple(dilation, self.rank), groups
        fan_in = in_channels // groups * math.prod(kernel)
        bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
        self.weight = uniform_parameter(
            (out_channels, in_channels // groups, *kernel), bound, dtype
        )
        if bias:
            self.bias = uniform_parameter((out_channels,), bound, dtype)
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        return type(self).function(
            input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self):
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if any(self.padding):
            text += f", padding={self.padding}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    rank = 1
    function = staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    rank = 2
    function = staticmethod(F.conv2d)


def _tuple(value, rank):
    return tuple(value) if isinstance(value, tuple | list) else (value,) * rank
