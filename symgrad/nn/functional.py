"""``symgrad.nn.functional``: PyTorch's ``torch.nn.functional`` names, arguments and
semantics, as composites of differentiable symgrad ops (matmul, log_softmax, indexing,
where, maximum, sum, ...). Nothing here has gradient code of its own: every gradient
comes from the generated rules of the ops used. NumPy touches only constants (targets,
masks, class weights), never the values a gradient flows through.

Float32 in gives float32 out: constants are cast to the input's dtype, and scalars are
Python numbers (NumPy 2 lets those take the array's dtype).
"""

import numbers
import warnings

import numpy

from symgrad import random
from symgrad.generated import functions as ops
from symgrad.generated.functions import (
    log,
    maximum,
    mean,
    multiply,
    reshape,
    square,
    subtract,
    where,
)
from symgrad.generated.functions import sum as _sum
from symgrad.linalg import matmul

# Activations, normalizations and embedding, with PyTorch's arguments.
from symgrad.nn.activations import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)

# The window ops (symgrad/ops/windows.py) with PyTorch's arguments.
from symgrad.nn.convolution import (
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    max_pool1d,
    max_pool2d,
)
from symgrad.nn.embedding import embedding
from symgrad.nn.normalization import batch_norm, layer_norm
from symgrad.tensor import Tensor, check_constant

__all__ = [
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "dropout",
    "elu",
    "embedding",
    "gelu",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool1d",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "relu",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]

_REDUCTIONS = ("none", "mean", "sum")


# ---- helpers -----------------------------------------------------------------------------
def _array_or_tensor(value):
    """A tensor as it is; anything else as an ndarray (so it has shape and dtype)."""
    return value if isinstance(value, Tensor) else numpy.asarray(value)


def _constant(name, value, dtype):
    """A value no gradient flows to (a target, a weight, a mask), as an ndarray of the
    input's floating dtype, so that it does not promote float32 to float64 (checked
    first: a cast would drop an imaginary part). A tensor that requires a gradient stays
    in the graph."""
    if isinstance(value, Tensor) and value.requires_grad:
        return value
    data = numpy.asarray(value.data if isinstance(value, Tensor) else value)
    check_constant(name, data)
    if dtype.kind == "f" and data.dtype != dtype:
        data = data.astype(dtype)
    return data


def _dtype(value):
    dtype = value.dtype
    return dtype if dtype.kind == "f" else numpy.dtype(numpy.float64)


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{name}: reduction must be one of 'none', 'mean', 'sum', not {reduction!r}"
        )


def _nan_like(total):
    """PyTorch's mean over nothing (every target ignored, or no sample): nan, with zero
    gradients."""
    return total * 0.0 + float("nan")


def _reduce(loss, reduction):
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return _sum(loss)
    return loss


# ---- linear ------------------------------------------------------------------------------
def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, with ``weight`` of shape ``(out_features, in_features)``
    (or ``(in_features,)``, which drops the last axis) and ``bias`` of shape
    ``(out_features,)`` or ``()``; ``input`` is ``(*, in_features)``."""
    input, weight = _array_or_tensor(input), _array_or_tensor(weight)
    if weight.ndim not in (1, 2):
        raise ValueError(
            f"linear: weight must be 1-D or 2-D (out_features, in_features), "
            f"not of shape {weight.shape}"
        )
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input of shape {input.shape} does not fit weight of shape "
            f"{weight.shape} (the last axes must both be in_features)"
        )
    out = matmul(input, weight.T if weight.ndim == 2 else weight)
    if bias is None:
        return out
    bias = _array_or_tensor(bias)
    out_features = weight.shape[:1] if weight.ndim == 2 else ()
    if bias.shape not in ((), out_features):
        raise ValueError(
            f"linear: bias of shape {bias.shape} does not fit weight of shape {weight.shape} "
            f"(expected {out_features} or ())"
        )
    return out + bias


# ---- classification losses ---------------------------------------------------------------
def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """The negative log-likelihood loss of log-probabilities ``input``, of shape ``(N, C)``,
    ``(N, C, d1, ...)`` or ``(C,)``, for class indices ``target`` of shape ``(N,)``,
    ``(N, d1, ...)`` or ``()``: ``loss = -weight[target] * input[n, target[n], ...]``.

    Targets equal to ``ignore_index`` add nothing (0 under ``reduction='none'``). ``'mean'``
    is PyTorch's weighted mean: the sum of the losses over the sum of ``weight[target]``
    over the targets not ignored (nan if every target is ignored). ``weight`` (one per
    class) is a constant unless it is a tensor that requires a gradient.
    """
    return _class_index_loss("nll_loss", input, target, weight, ignore_index, reduction, 0.0)


def cross_entropy(
    input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """The cross entropy of unnormalized scores ``input`` (classes on axis 1, or axis 0 for
    a 1-D input): ``log_softmax(input, axis=1)`` then :func:`nll_loss`.

    ``target`` holds class indices (the shapes of :func:`nll_loss`), or class
    probabilities: a float array of ``input``'s shape, for which ``loss = -sum_c weight[c]
    * target[c] * log_softmax(input)[c]``, ``'mean'`` divides by the number of samples
    (``input.size / C``, unweighted) and ``ignore_index`` must stay negative, as in PyTorch.

    ``label_smoothing`` ``e`` in [0, 1] mixes the target with the uniform distribution:
    for probabilities, ``target * (1 - e) + e / C``; for class indices, PyTorch's
    ``(1 - e) * nll + e / C * sum_c(-weight[c] * log_softmax(input)[c])`` with ignored
    targets masked and the same weighted mean.
    """
    name = "cross_entropy"
    input = _array_or_tensor(input)
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis, not shape {input.shape}")
    if not isinstance(label_smoothing, numbers.Real) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], not {label_smoothing!r}")
    _check_reduction(name, reduction)
    class_axis = 0 if input.ndim == 1 else 1
    target_shape = numpy.shape(target.data if isinstance(target, Tensor) else target)
    if target_shape != input.shape:
        return _class_index_loss(
            name,
            ops.log_softmax(input, axis=class_axis),
            target,
            weight,
            ignore_index,
            reduction,
            float(label_smoothing),
        )
    # class probabilities
    target_dtype = target.dtype if isinstance(target, Tensor) else numpy.asarray(target).dtype
    if target_dtype.kind != "f":
        raise ValueError(
            f"{name}: a target of the input's shape {input.shape} holds class probabilities "
            f"and must be floating-point, not {target_dtype}"
        )
    target = _constant(name, target, _dtype(input))
    if ignore_index >= 0:
        raise ValueError(
            f"{name}: ignore_index ({ignore_index}) is not supported for class-probability targets"
        )
    classes = input.shape[class_axis]
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    products = multiply(ops.log_softmax(input, axis=class_axis), target)
    if weight is not None:
        weight = _class_weight(name, weight, classes, _dtype(input))
        shape = [1] * input.ndim
        shape[class_axis] = classes
        products = products * reshape(weight, tuple(shape))
    loss = -_sum(products, axis=class_axis)
    if reduction == "mean":
        samples = input.size // classes if classes else 0
        return _sum(loss) / samples if samples else _nan_like(_sum(loss))
    return _reduce(loss, reduction)


def _class_weight(name, weight, classes, dtype):
    weight = _constant(name, weight, dtype)
    if weight.shape != (classes,):
        raise ValueError(
            f"{name}: weight must have one element per class, shape ({classes},), "
            f"not {weight.shape}"
        )
    return weight


def _class_index_loss(name, input, target, weight, ignore_index, reduction, smoothing):
    """nll_loss of log-probabilities ``input``, with cross_entropy's label smoothing."""
    input = _array_or_tensor(input)
    _check_reduction(name, reduction)
    target = numpy.asarray(target.data if isinstance(target, Tensor) else target)
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis, not shape {input.shape}")
    unbatched = input.ndim == 1
    # (C,) with a 0-d target is a batch of one
    expected = () if unbatched else (input.shape[0], *input.shape[2:])
    if target.shape != expected:
        raise ValueError(
            f"{name}: input of shape {input.shape} needs a target of shape {expected}, "
            f"not {target.shape}"
        )
    if target.dtype.kind not in "iu":
        raise ValueError(
            f"{name}: target must hold integer class indices, not {target.dtype} "
            f"(target shape {target.shape}, input shape {input.shape})"
        )
    if unbatched:
        input, target = reshape(input, (1, *input.shape)), target.reshape(1)
    classes = input.shape[1]
    ignored = target == ignore_index
    any_ignored = bool(ignored.any())
    bad = (target < 0) | (target >= classes)
    if any_ignored:
        bad &= ~ignored
    if bad.any():
        raise ValueError(
            f"{name}: target {target[bad][0]} is out of bounds for {classes} classes "
            f"(input shape {input.shape}, target shape {target.shape})"
        )
    dtype = _dtype(input)
    # NOTE: the common case (every target counts, no class weights) skips the masks:
    # a training step pays each of these NumPy calls
    safe = numpy.where(ignored, 0, target) if any_ignored else target  # only ever read
    kept = numpy.logical_not(ignored).astype(dtype) if any_ignored or weight is not None else None

    # w[n, ...] = weight[target[n, ...]], 0 where ignored (None: 1 everywhere)
    if weight is None:
        target_weight = kept
    else:
        weight = _class_weight(name, weight, classes, dtype)
        target_weight = weight[safe] * kept

    # input[n, target[n, d1, ...], d1, ...]
    if target.ndim == 1:
        grid = (numpy.arange(target.shape[0]),)
    else:
        grid = numpy.indices(target.shape, sparse=True)
    picked = input[(grid[0], safe, *grid[1:])]
    loss = -picked if target_weight is None else -(picked * target_weight)
    if smoothing:
        log_probs = input
        if weight is not None:
            shape = [1] * input.ndim
            shape[1] = classes
            log_probs = input * reshape(weight, tuple(shape))
        uniform = -_sum(log_probs, axis=1)
        if any_ignored:
            uniform = uniform * kept
        loss = loss * (1.0 - smoothing) + uniform * (smoothing / classes)

    if reduction == "none":
        return reshape(loss, ()) if unbatched else loss
    total = _sum(loss)
    if reduction == "sum":
        return total
    if isinstance(target_weight, Tensor):
        return total / _sum(target_weight)
    count = target.size if target_weight is None else float(target_weight.sum(dtype=numpy.float64))
    return total / count if count else _nan_like(total)


# ---- regression losses -------------------------------------------------------------------
def mse_loss(input, target, reduction="mean"):
    """``(input - target) ** 2``, reduced. Shapes broadcast; as in PyTorch, different
    shapes give a warning (it is usually a mistake, such as ``(N, 1)`` against ``(N,)``)."""
    name = "mse_loss"
    _check_reduction(name, reduction)
    input = _array_or_tensor(input)
    target = _constant(name, target, _dtype(input))
    _check_broadcast(name, input.shape, target.shape)
    if input.shape != target.shape:
        warnings.warn(
            f"{name}: target shape {target.shape} differs from input shape {input.shape}; "
            "they are broadcast, which is likely not what you want",
            stacklevel=2,
        )
    return _reduce(square(subtract(input, target)), reduction)


def _check_broadcast(name, *shapes):
    try:
        numpy.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(s) for s in shapes)
        raise ValueError(f"{name}: shapes {listed} cannot be broadcast together") from None


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """``-weight * (target * log(input) + (1 - target) * log(1 - input))`` for
    probabilities ``input`` in [0, 1] and a ``target`` of the same shape. As in PyTorch,
    each log is clamped at -100, so that 0 and 1 give finite losses; the gradient is that
    of the clamped function (0 where the clamp holds), and finite everywhere."""
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    input = _array_or_tensor(input)
    dtype = _dtype(input)
    target = _constant(name, target, dtype)
    if target.shape != input.shape:
        raise ValueError(
            f"{name}: target of shape {target.shape} must have the input's shape {input.shape}"
        )
    probabilities = input.data if isinstance(input, Tensor) else input
    if not numpy.all((probabilities >= 0) & (probabilities <= 1)):
        raise ValueError(
            f"{name}: every element of input (shape {input.shape}) must be a probability in [0, 1]"
        )
    loss = -(target * _clamped_log(input) + (1.0 - target) * _clamped_log(1.0 - input))
    if weight is not None:
        weight = _constant(name, weight, dtype)
        try:
            fits = numpy.broadcast_shapes(input.shape, weight.shape) == input.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{name}: weight of shape {weight.shape} does not broadcast to the input's "
                f"shape {input.shape}"
            )
        loss = loss * weight
    return _reduce(loss, reduction)


def _clamped_log(x):
    """``maximum(log(x), -100)`` for ``x >= 0``. Where ``x == 0`` the log is taken of 1
    instead and replaced by -100: ``log(0)``'s gradient ``1/0`` times the clamp's 0 would
    be nan, and the inner ``where`` keeps that product out of the graph."""
    positive = (x.data if isinstance(x, Tensor) else numpy.asarray(x)) > 0
    if positive.all():
        return maximum(log(x), -100.0)
    return where(positive, maximum(log(where(positive, x, 1.0)), -100.0), -100.0)


# ---- regularization ----------------------------------------------------------------------
def dropout(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Inverted dropout: each element is zeroed with probability ``p`` and the others
    are scaled by ``1 / (1 - p)``, so the expectation is unchanged. With ``training=False``
    or ``p=0`` the input is returned unchanged; ``p=1`` gives zeros.

    The mask is a constant drawn from ``generator`` (a ``numpy.random.Generator``) or
    else from symgrad's own (``sg.manual_seed``), never from NumPy's global random
    state. ``inplace=True`` is refused: symgrad never mutates an input.
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p has to be between 0 and 1, but got {p!r}")
    if inplace:
        raise ValueError("dropout: inplace=True is not supported (symgrad never mutates inputs)")
    if not training or p == 0:
        return input
    input = _array_or_tensor(input)
    dtype = _dtype(input)
    if p == 1:
        return multiply(input, numpy.zeros(input.shape, dtype=dtype))
    rng = random.default_generator() if generator is None else generator
    mask = (rng.random(input.shape) >= p).astype(dtype)
    mask *= dtype.type(1.0 / (1.0 - p))
    return multiply(input, mask)
