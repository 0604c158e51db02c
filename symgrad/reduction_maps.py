"""The kinds of code that generated reductions call (generated/reductions.py): how many
elements an axis selection holds, the shape a reduction gives, a reduced value with its
axes kept, a reduced
gradient seen at the input's shape, NumPy's mean without its wrapper, and the products
before and after each element that a product's derived vjp is lowered to. NumPy only;
none of it is one op's rule."""

import numpy


def count(shape, axes):
    """How many elements the reduced axes hold, as a Python int (so float32 stays)."""
    n = 1
    for axis in axes if isinstance(axes, tuple) else (axes,):
        n *= shape[axis]
    return n


def reduced_shape(shape, axes, keepdims):
    """The shape a reduction over ``axes`` gives for an input of ``shape``."""
    axes = {a % len(shape) for a in (axes if isinstance(axes, tuple) else (axes,))}
    if keepdims:
        return tuple(1 if a in axes else n for a, n in enumerate(shape))
    return tuple(n for a, n in enumerate(shape) if a not in axes)


def kept(value, axes, ndim):
    """``value``, reduced over ``axes`` of an ``ndim``-dimensional array without keepdims,
    with those axes back as size 1 (numpy.expand_dims, without its checks' cost). A
    0-d value (every axis reduced) broadcasts as it is."""
    if value.ndim == 0:
        return value
    shape = list(value.shape)
    for axis in sorted(a % ndim for a in (axes if isinstance(axes, tuple) else (axes,))):
        shape.insert(axis, 1)
    return value.reshape(shape)


def mean_kernel(x, axis, keepdims):
    """numpy.mean(x, axis=axis, keepdims=keepdims) without its wrapper's cost (5-10 us a
    call): float32 and float64 are summed in their own dtype and divided by the count,
    which is what numpy.mean does for them; other dtypes (integers and float16, which
    numpy.mean sums in a wider type) and empty reductions go to numpy.mean itself."""
    axes = tuple(range(x.ndim)) if axis is None else axis
    try:
        n = count(x.shape, axes)
    except IndexError:  # an axis out of range: numpy.mean's error says which
        n = 0
    if x.dtype.kind != "f" or x.dtype.itemsize < 4 or n == 0:
        return numpy.mean(x, axis=axis, keepdims=keepdims)
    return numpy.add.reduce(x, axis=axis, keepdims=keepdims) / n


def shaped(value, shape):
    """``value`` broadcast to ``shape`` (a read-only view), unless it has that shape."""
    if getattr(value, "shape", None) == shape:
        return value
    if isinstance(value, numpy.generic):
        value = numpy.asarray(value)  # NumPy's result of 0-d arithmetic
    if type(value) is not numpy.ndarray or value.ndim != 0:
        return numpy.broadcast_to(value, shape)
    # NOTE: a 0-d value (the gradient of a full reduction, a loss) seen through zero
    # strides: the same view as numpy.broadcast_to gives, at a third of its cost.
    view = numpy.ndarray(shape, value.dtype, value, 0, (0,) * len(shape))
    view.flags.writeable = False
    return view


def _flat_along(x, axes):
    """``x`` with the reduced axes moved last and flattened (in C order), and a function
    that undoes it."""
    axes = tuple(sorted(numpy.atleast_1d(numpy.asarray(axes)) % x.ndim))
    kept = x.ndim - len(axes)
    moved = numpy.moveaxis(x, axes, range(kept, x.ndim))
    # the reduced length spelled out: -1 is ambiguous when an axis is empty
    flat = moved.reshape((*moved.shape[:kept], int(numpy.prod(moved.shape[kept:]))))

    def undo(y):
        return numpy.moveaxis(y.reshape(moved.shape), range(kept, x.ndim), axes)

    return flat, undo


def product_before(x, axes):
    """Per element, the product of the elements before it along the reduced axes."""
    flat, undo = _flat_along(x, axes)
    # NOTE: no out= and no writes: on tensors (create_graph=True) each call is an op
    one = numpy.ones_like(flat[..., :1])
    return undo(numpy.concatenate([one, numpy.cumprod(flat[..., :-1], axis=-1)], axis=-1))


def product_after(x, axes):
    """Per element, the product of the elements after it along the reduced axes."""
    flat, undo = _flat_along(x, axes)
    one = numpy.ones_like(flat[..., :1])
    running = numpy.cumprod(flat[..., :0:-1], axis=-1)[..., ::-1]  # from the end
    return undo(numpy.concatenate([running, one], axis=-1))


def zero_stays_zero(grad_kept, x_bar):
    """``x_bar``, exactly 0 where the upstream gradient is exactly 0: a rule that is not
    finite there (no degrees of freedom left) passes nothing for a gradient of nothing."""
    return numpy.where(shaped(grad_kept, numpy.shape(x_bar)) == 0, 0, x_bar)


def jvp_by_partials(node, tangent, x, out):
    """The jvp of a reduction whose every output depends on its own elements alone: its
    vjp of ones holds each partial d out[o] / d x[o, r], contracted with the tangent over
    the reduced axes."""
    axis, keepdims = node.params[:2]
    axes = tuple(range(x.ndim)) if axis is None else axis
    ones = numpy.ones(reduced_shape(x.shape, axes, keepdims), x.dtype)
    (partials,) = node.calculate_grads(ones, (x,), out, (True,))
    return (partials * tangent).sum(axis=axes, keepdims=keepdims)
