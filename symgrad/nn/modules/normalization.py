"""``BatchNorm1d``, ``BatchNorm2d`` and ``LayerNorm``, as PyTorch's: weight ones and
bias zeros; BatchNorm's running statistics are buffers (mean zeros, variance ones, and
the count of batches seen)."""

import numpy

from symgrad.function import note_changed
from symgrad.nn import functional as F  # noqa: N812 - PyTorch's spelling
from symgrad.nn.init import filled_parameter
from symgrad.nn.modules.module import Module
from symgrad.tensor import Tensor


class _BatchNorm(Module):
    dims = ()

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_running_stats=True,
        dtype=None,
        *,
        bias=True,
    ):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = filled_parameter((num_features,), 1.0, dtype)
            # PyTorch 2.13's keyword: an affine scale without a shift
            if bias:
                self.bias = filled_parameter((num_features,), 0.0, dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            dtype = dtype or numpy.float32
            self.register_buffer("running_mean", Tensor(numpy.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(numpy.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(numpy.array(0, numpy.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0
            for buffer in (self.running_mean, self.running_var, self.num_batches_tracked):
                note_changed(buffer)

    def forward(self, input):
        if input.ndim not in self.dims:
            expected = " or ".join(f"{d}D" for d in self.dims)
            raise ValueError(
                f"{type(self).__name__}: expected {expected} input (got {input.ndim}D input)"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        counting = self.training and self.track_running_stats
        if counting and self.momentum is None:  # the cumulative average, this batch counted
            factor = 1.0 / (float(self.num_batches_tracked.data) + 1.0)
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        out = F.batch_norm(
            input,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )
        if counting:  # counted once batch_norm took the batch: an input it refuses changes nothing
            self.num_batches_tracked.data += 1
            note_changed(self.num_batches_tracked)
        return out

    def extra_repr(self):
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L)."""

    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W)."""

    dims = (4,)


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None):
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = filled_parameter(shape, 1.0, dtype)
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = filled_parameter(shape, 0.0, dtype)
        else:
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )
