"""Linear algebra with NumPy's semantics, composed of generated differentiable ops
(matmul, einsum, reshape), so that none of it carries gradient code of its own."""

import numpy

from symgrad import einsum_spec
from symgrad.generated import contractions, functions
from symgrad.tensor import Tensor, apply


def _ndim(value):
    return value.data.ndim if isinstance(value, Tensor) else numpy.ndim(value)


def _shape(value):
    return value.shape if isinstance(value, Tensor) else numpy.shape(value)


def _reshape(value, shape):
    return value.reshape(shape) if isinstance(value, Tensor) else numpy.reshape(value, shape)


def matmul(a, b):
    """NumPy's matmul: batch axes broadcast; a 1-D operand is a row (left) or a column
    (right) vector, and that axis is removed from the result."""
    a_ndim, b_ndim = _ndim(a), _ndim(b)
    if a_ndim >= 2 and b_ndim >= 2:
        return apply(contractions.MatmulBackward, (a, b))
    a_vector, b_vector = a_ndim == 1, b_ndim == 1
    if a_ndim == 0 or b_ndim == 0:
        raise ValueError(
            f"matmul: operands must have at least 1 dimension, not {_shape(a)} @ {_shape(b)}"
        )
    inner_a, inner_b = _shape(a)[-1], _shape(b)[0 if b_vector else -2]
    if inner_a != inner_b:
        raise ValueError(
            f"matmul: {_shape(a)} @ {_shape(b)}: the contracted axes have sizes "
            f"{inner_a} and {inner_b}"
        )
    if a_vector:
        a = _reshape(a, (1, *_shape(a)))
    if b_vector:
        b = _reshape(b, (*_shape(b), 1))
    out = apply(contractions.MatmulBackward, (a, b))
    if a_vector or b_vector:
        drop = (-2 if a_vector else None, -1 if b_vector else None)
        shape = [n for axis, n in enumerate(out.shape, -out.ndim) if axis not in drop]
        out = out.reshape(tuple(shape))
    return out


def einsum(subscripts, *operands, optimize=None):
    """NumPy's einsum (explicit or implicit output, ``...`` broadcasting, repeated
    letters); ``optimize`` is accepted for NumPy compatibility and decided here."""
    inputs, output = einsum_spec.parse(subscripts, [_ndim(op) for op in operands])
    return apply(contractions.EinsumBackward, operands, (inputs, output))


def dot(a, b):
    """NumPy's dot: inner product of vectors, matmul for matrices, a sum over the last
    axis of ``a`` with a vector ``b``, and over a's last and b's second-to-last axis."""
    if _ndim(a) == 0 or _ndim(b) == 0:
        return a * b
    if _ndim(b) == 1:
        return einsum("...j,j->...", a, b)
    if _ndim(a) <= 2 and _ndim(b) == 2:
        return matmul(a, b)
    letters = "abcdefghklmnopqrstuvwxyz"
    a_term = letters[: _ndim(a) - 1] + "j"
    b_rest = letters[_ndim(a) - 1 : _ndim(a) + _ndim(b) - 2]
    b_term = b_rest[:-1] + "j" + b_rest[-1]
    return einsum(f"{a_term},{b_term}->{a_term[:-1]}{b_rest}", a, b)


def outer(a, b):
    """NumPy's outer: the inputs are flattened."""
    return einsum("i,j->ij", _reshape(a, (-1,)), _reshape(b, (-1,)))


def trace(x, offset=0, axis1=0, axis2=1):
    """NumPy's trace: the sums along the diagonal ``offset`` of the axes ``axis1`` and
    ``axis2`` (rectangular too), the other axes kept; a diagonal read and a sum."""
    if _ndim(x) < 2:
        raise ValueError(f"trace: needs at least 2 dimensions, not shape {_shape(x)}")
    return functions.sum(functions.diagonal(x, offset, axis1, axis2), axis=-1)
