"""Linear algebra with NumPy's semantics, composed of generated differentiable ops
(matmul, einsum, reshape, reductions), so that none of it carries gradient code of its
own: ``matmul einsum dot outer trace tensordot inner kron cross``, and ``norm`` as
``numpy.linalg.norm`` (``sg.linalg.norm``; ``sg.norm`` is the 2-norm reduction)."""

import operator

import numpy

from symgrad import einsum_spec
from symgrad.generated import contractions, functions
from symgrad.shape import stack
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
    letters), in either of NumPy's forms: ``einsum("ij,jk->ik", a, b)`` or the
    interleaved ``einsum(a, [0, 1], b, [1, 2], [0, 2])``; ``optimize`` is accepted for
    NumPy compatibility and decided here."""
    if not isinstance(subscripts, str):
        subscripts, operands = _interleaved(subscripts, *operands)
    inputs, output = einsum_spec.parse(subscripts, [_ndim(op) for op in operands])
    return apply(contractions.EinsumBackward, operands, (inputs, output))


def _interleaved(*args):
    """The subscripts and operands of einsum's interleaved form: operands each followed
    by its sublist of axis numbers (0-51, or Ellipsis), then the output's, if given."""
    operands, sublists = list(args[0::2]), list(args[1::2])
    output = operands.pop() if len(args) % 2 else None  # an output sublist last
    terms = [_letters(sublist) for sublist in sublists]
    subscripts = ",".join(terms) + ("" if output is None else "->" + _letters(output))
    return subscripts, operands


def _letters(sublist):
    letters = []
    for item in sublist:
        if item is Ellipsis:
            letters.append("...")
            continue
        number = operator.index(item)
        if not 0 <= number < len(_LETTERS):
            raise ValueError(f"einsum: subscript {number} is not in range(0, {len(_LETTERS)})")
        letters.append(_LETTERS[number])
    return "".join(letters)


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


def tensordot(a, b, axes=2):
    """NumPy's tensordot: the sum over the last ``axes`` axes of ``a`` and the first of
    ``b``, or over the axes paired by ``axes = (a_axes, b_axes)``; a's other axes, then
    b's, in order."""
    a_ndim, b_ndim = _ndim(a), _ndim(b)
    try:
        a_axes, b_axes = axes
    except TypeError:  # a number of axes
        count = operator.index(axes)
        if not 0 <= count <= min(a_ndim, b_ndim):
            raise ValueError(
                f"tensordot: {count} axes to sum over, for a of shape {_shape(a)} and b of "
                f"shape {_shape(b)}"
            ) from None
        a_axes, b_axes = range(a_ndim - count, a_ndim), range(count)
    a_axes, b_axes = _axis_list(a_axes), _axis_list(b_axes)
    if len(a_axes) != len(b_axes):
        raise ValueError(f"tensordot: {len(a_axes)} axes of a paired with {len(b_axes)} of b")
    a_letters = list(_LETTERS[:a_ndim])
    b_letters = list(_LETTERS[a_ndim : a_ndim + b_ndim])
    for i, j in zip(a_axes, b_axes, strict=True):
        for name, axis, ndim in (("a", i, a_ndim), ("b", j, b_ndim)):
            if not -ndim <= axis < ndim:
                raise ValueError(f"tensordot: axis {axis} of {name} is out of range ({ndim} axes)")
        if _shape(a)[i] != _shape(b)[j]:
            raise ValueError(
                f"tensordot: shape mismatch for sum: axis {i} of a {_shape(a)} and axis {j} "
                f"of b {_shape(b)}"
            )
        b_letters[j] = a_letters[i]
    summed = {a_letters[i] for i in a_axes}
    kept = [x for x in a_letters if x not in summed] + [x for x in b_letters if x not in summed]
    return einsum(f"{''.join(a_letters)},{''.join(b_letters)}->{''.join(kept)}", a, b)


def inner(a, b):
    """NumPy's inner: the sum over the last axes of both (a product for a number)."""
    if _ndim(a) == 0 or _ndim(b) == 0:
        return a * b
    return tensordot(a, b, axes=([-1], [-1]))


def kron(a, b):
    """NumPy's kron: the blocks a[i] * b, laid out as a's elements are (a product of
    broadcast reshapes, reshaped)."""
    ndim = max(_ndim(a), _ndim(b))
    a_shape = (1,) * (ndim - _ndim(a)) + tuple(_shape(a))
    b_shape = (1,) * (ndim - _ndim(b)) + tuple(_shape(b))
    spread_a = tuple(n for size in a_shape for n in (size, 1))
    spread_b = tuple(n for size in b_shape for n in (1, size))
    blocks = _reshape(a, spread_a) * _reshape(b, spread_b)
    return _reshape(blocks, tuple(m * n for m, n in zip(a_shape, b_shape, strict=True)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """NumPy's cross: the cross product of vectors of 3 (or 2, the third 0) components
    along ``axisa`` of a and ``axisb`` of b, the other axes broadcast; the result's
    vectors along ``axisc`` (two 2-vectors give the third component only)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = functions.moveaxis(a, axisa, -1), functions.moveaxis(b, axisb, -1)
    sizes = (a.shape[-1], b.shape[-1])
    if not set(sizes) <= {2, 3}:
        raise ValueError(
            f"cross: vectors must have 2 or 3 components, not {sizes[0]} (a {a.shape}) and "
            f"{sizes[1]} (b {b.shape})"
        )
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if sizes == (2, 2):
        return z
    a2 = a[..., 2] if sizes[0] == 3 else 0.0
    b2 = b[..., 2] if sizes[1] == 3 else 0.0
    x = a1 * b2 - a2 * b1
    y = a2 * b0 - a0 * b2
    return functions.moveaxis(stack([x, y, z], axis=-1), -1, axisc)


def norm(x, ord=None, axis=None, keepdims=False):
    """NumPy's linalg.norm: vector norms (ord None or 2, 1, inf, -inf, 0, any p) along
    one axis or of a 1-D array; matrix norms ('fro', 1, -1, inf, -inf) over two axes or
    of a 2-D array; with ord None, the 2-norm of all elements."""
    ndim = _ndim(x)
    if axis is None:
        if ord is None:
            return functions.norm(x, None, keepdims)
        if ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} needs a 1-D or 2-D array, not shape {_shape(x)}")
        axis = tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | numpy.integer) else tuple(axis)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError(f"norm: axis must name 1 or 2 axes, not {axis!r}")


def _vector_norm(x, ord, axis, keepdims):
    magnitude = functions.abs(x)
    if ord is None or ord == 2:
        return functions.norm(x, axis, keepdims)
    if ord == numpy.inf:
        return functions.max(magnitude, axis, keepdims)
    if ord == -numpy.inf:
        return functions.min(magnitude, axis, keepdims)
    if ord == 0:  # a count: no gradient
        return Tensor(numpy.linalg.norm(numpy.asarray(x), 0, axis, keepdims))
    if ord == 1:
        return functions.sum(magnitude, axis, keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; one axis was given")
    return functions.sum(magnitude**ord, axis, keepdims) ** (1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    rows, cols = (a % _ndim(x) for a in axes)
    if rows == cols:
        raise ValueError(f"norm: the two axes {axes} are the same axis")
    if ord is None or ord == "fro":
        return functions.norm(x, axes, keepdims)
    if ord in (1, -1, numpy.inf, -numpy.inf):
        # the largest (smallest) sum of magnitudes down a column (1) or along a row (inf)
        summed, then = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = functions.sum(functions.abs(x), summed, True)
        pick = functions.max if ord > 0 else functions.min
        out = pick(sums, then, True)
        return out if keepdims else functions.squeeze(out, (rows, cols))
    raise NotImplementedError(
        f"norm: ord={ord!r} over two axes needs singular values, which symgrad does not have"
    )


def _axis_list(axes):
    return [operator.index(axes)] if numpy.ndim(axes) == 0 else [operator.index(a) for a in axes]


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
