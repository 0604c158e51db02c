"""``batch_norm`` and ``layer_norm`` with PyTorch's arguments: the element-wise
``standardize`` op (x less its mean, over the square root of its variance plus eps, a
row of the element-wise table) of x and its mean and variance, both derived reductions
of x, then the affine ``weight * y + bias``. The gradient through the statistics is
their own rules' (the chain rule gives the classic three-term formula); nothing here
differentiates anything by hand. The running statistics are data, updated in place
outside the graph."""

import numpy

from symgrad.function import note_changed
from symgrad.generated.functions import mean, reshape, standardize, var
from symgrad.tensor import Tensor, as_tensor


def batch_norm(
    input,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training=False,
    momentum=0.1,
    eps=1e-5,
):
    """Normalize each channel (axis 1) of (N, C, ...) over the batch and the other axes:
    by the batch's statistics when ``training`` (updating ``running_mean`` and
    ``running_var`` in place, the variance unbiased, as PyTorch's), else by the running
    ones, each ``(1 - momentum) * running + momentum * batch`` (a BatchNorm module with
    momentum None passes 1 / batches seen: the cumulative average)."""
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of at least 2 dimensions, not {x.shape}")
    channels = x.shape[1]
    axes = (0, *range(2, x.ndim))
    shape = (1, channels) + (1,) * (x.ndim - 2)
    count = x.size // channels if channels else 0
    # every shape checked before the running statistics change in place
    _check_shapes("batch_norm", (channels,), weight=weight, bias=bias)
    _check_shapes("batch_norm", (channels,), running_mean=running_mean, running_var=running_var)
    if training:
        if count <= 1:
            raise ValueError(
                "batch_norm: expected more than 1 value per channel when training, "
                f"got input of shape {x.shape}"
            )
        batch_mean = mean(x, axis=axes, keepdims=True)
        batch_var = var(x, axis=axes, keepdims=True)
        _update(running_mean, batch_mean.data, momentum)
        _update(running_var, batch_var.data * (count / (count - 1)), momentum)
        y = standardize(x, batch_mean, batch_var, eps)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "batch_norm: running_mean and running_var are needed when not training"
            )
        # NOTE: arrays, copied when the node is recorded: a later training step's update
        # of the running statistics does not change what this graph saved
        y = standardize(
            x, _data(running_mean).reshape(shape), _data(running_var).reshape(shape), eps
        )
    return _affine(y, weight, bias, shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the last axes, ``normalized_shape``, of each sample."""
    x = as_tensor(input)
    normalized = (
        (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    )
    if not normalized or x.shape[x.ndim - len(normalized) :] != normalized:
        raise ValueError(
            f"layer_norm: normalized_shape {normalized} is not the last axes of the input's "
            f"shape {x.shape}"
        )
    _check_shapes("layer_norm", normalized, weight=weight, bias=bias)
    axes = tuple(range(-len(normalized), 0))
    y = standardize(x, mean(x, axis=axes, keepdims=True), var(x, axis=axes, keepdims=True), eps)
    return _affine(y, weight, bias, normalized)


def _check_shapes(name, expected, **values):
    for what, value in values.items():
        if value is not None and numpy.shape(_data(value)) != expected:
            raise ValueError(
                f"{name}: {what} must have shape {expected}, not {numpy.shape(_data(value))}"
            )


def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * reshape(weight, shape)
    if bias is not None:
        y = y + reshape(bias, shape)
    return y


def _update(running, batch, momentum):
    """running = (1 - momentum) * running + momentum * batch, in place."""
    if running is None:
        return
    array = _data(running)
    array *= 1.0 - momentum
    array += momentum * batch.reshape(array.shape)
    if isinstance(running, Tensor):
        # a change in place: a graph that saved the buffer before refuses its backward,
        # instead of differentiating with the new statistics
        note_changed(running)


def _data(value):
    return value.data if isinstance(value, Tensor) else numpy.asarray(value)
