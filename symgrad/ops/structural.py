"""The structural table: linear maps that only move elements, each declared by its NumPy
forward and, as steps of the kinds in ``symgrad/ops/maps.py``, by the map it is.

A structural op's Jacobian is the map itself, so its vector-Jacobian product is the
adjoint map, which the generator derives from the steps (the reverse composition of
their transposes); nothing here says what the adjoint is. At generation the steps are
checked to give what the forward gives, and the derived adjoint is proven by the
dot-product test <A x, y> == <x, A^T y>, over the configurations ``configs`` draws.
"""

from dataclasses import dataclass

import numpy

from symgrad.index_maps import gather_windows
from symgrad.ops.maps import (
    Broadcast,
    Cast,
    Concat,
    CumSum,
    Flip,
    Gather,
    Mask,
    Read,
    Reshape,
    Roll,
    ScatterAdd,
    ScatterWindows,
    SwapAxes,
    Transpose,
)


@dataclass(frozen=True)
class Structural:
    """name: public name; forward: a NumPy expression over ``x`` and the params; steps:
    the map, as steps of the kinds of ``symgrad/ops/maps.py``; params: ``(name,)`` for a
    required parameter, ``(name, default)`` for an optional one; configs(rng) draws an
    input shape and param values for the checks.

    method: also a Tensor method (``t.name(...)``). variadic: the op takes a sequence of
    tensors, named ``xs`` in the forward (``arrays`` in the public function, ``x_shapes``
    their shapes in the steps); its adjoint gives one gradient per input, and configs
    draws a list of input shapes. public: exported as ``sg.name``; otherwise the
    function is ``_name`` in the generated functions, and is what NumPy-level calls on
    tensors dispatch to.
    """

    name: str
    forward: str
    steps: tuple
    params: tuple
    configs: object
    method: bool = True
    variadic: bool = False
    public: bool = True

    @property
    def class_name(self):
        return "".join(part.capitalize() for part in self.name.split("_")) + "Backward"


def _shape(rng, low=0, high=4):
    return tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(low, high)))


def _reshape_config(rng):
    shape = _shape(rng)
    flat = int(numpy.prod(shape))
    target = [flat] if rng.random() < 0.5 else [1, flat, 1]
    return shape, {"shape": tuple(target) if rng.random() < 0.5 else (-1,)}


def _expand_dims_config(rng):
    shape = _shape(rng)
    return shape, {"axis": int(rng.integers(-len(shape) - 1, len(shape) + 1))}


def _broadcast_to_config(rng):
    shape = _shape(rng)
    lead = _shape(rng, 0, 2)
    return shape, {"shape": lead + tuple(n if n != 1 else int(rng.integers(1, 4)) for n in shape)}


def _transpose_config(rng):
    shape = _shape(rng, 0, 5)
    axes = None if rng.random() < 0.3 else tuple(int(a) for a in rng.permutation(len(shape)))
    return shape, {"axes": axes}


def _axes_config(rng, ndim):
    """None, one axis or a tuple of distinct axes of ``ndim`` (negative ones too)."""
    if ndim == 0 or rng.random() < 0.25:
        return None
    axes = [int(a) - ndim if rng.random() < 0.4 else int(a) for a in rng.permutation(ndim)]
    axes = axes[: int(rng.integers(1, ndim + 1))]
    return axes[0] if len(axes) == 1 and rng.random() < 0.5 else tuple(axes)


def _swapaxes_config(rng):
    shape = _shape(rng, 1, 5)
    ndim = len(shape)
    return shape, {
        "axis1": int(rng.integers(-ndim, ndim)),
        "axis2": int(rng.integers(-ndim, ndim)),
    }


def _squeeze_config(rng):
    shape = tuple(1 if rng.random() < 0.4 else n for n in _shape(rng, 0, 5))
    ones = [a - len(shape) if rng.random() < 0.4 else a for a, n in enumerate(shape) if n == 1]
    if rng.random() < 0.3 or not ones:
        return shape, {"axis": None}
    chosen = [a for a in ones if rng.random() < 0.6] or ones[:1]
    return shape, {"axis": chosen[0] if len(chosen) == 1 else tuple(chosen)}


def _flip_config(rng):
    shape = _shape(rng, 0, 5)
    return shape, {"axis": _axes_config(rng, len(shape))}


def _pad_config(rng):
    shape = _shape(rng, 0, 4)
    ndim, draw = len(shape), lambda: int(rng.integers(0, 3))
    form = int(rng.integers(5 if ndim else 4))  # NumPy rejects () as pad_width
    if form == 0:
        pad_width = draw()
    elif form == 1:
        pad_width = (draw(),)
    elif form == 2:
        pad_width = (draw(), draw())
    elif form == 3:
        pad_width = ((draw(), draw()),)
    else:
        pad_width = tuple((draw(), draw()) for _ in range(ndim))
    return shape, {"pad_width": pad_width}


def _pad_mode_config(rng):
    shape, params = _pad_config(rng)
    return shape, {**params, "mode": str(rng.choice(["edge", "reflect", "symmetric", "wrap"]))}


def _axis_or_none_config(rng):
    shape = _shape(rng, 0, 4)
    if not shape or rng.random() < 0.3:
        return shape, {"axis": None}
    return shape, {"axis": int(rng.integers(-len(shape), len(shape)))}


def _take_along_axis_config(rng):
    shape, params = _axis_or_none_config(rng)
    axis = params["axis"]
    shape = shape or (int(rng.integers(1, 4)),)
    read = (int(numpy.prod(shape)),) if axis is None else shape
    along = 0 if axis is None else axis % len(read)
    count = int(rng.integers(0, 5))
    indices_shape = tuple(count if a == along else n for a, n in enumerate(read))
    size = read[along]
    return shape, {"indices": rng.integers(-size, size, size=indices_shape), "axis": axis}


def _diagflat_config(rng):
    return _shape(rng, 0, 3), {"k": int(rng.integers(-3, 4))}


def _astype_config(rng):
    # NOTE: float64 only: the dot-product test holds for an exact map, and a cast to a
    # lower precision rounds (the tests run float32 inputs, cast back by the adjoint)
    return _shape(rng, 0, 4), {"dtype": numpy.float64}


def _tile_config(rng):
    shape = _shape(rng, 0, 4)
    reps = tuple(
        int(r) for r in rng.integers(0 if rng.random() < 0.1 else 1, 4, size=rng.integers(0, 5))
    )
    return shape, {"reps": reps[0] if len(reps) == 1 and rng.random() < 0.5 else reps}


def _concatenate_config(rng):
    """Several input shapes (variadic), equal but along ``axis``."""
    count = int(rng.integers(1, 5))
    if rng.random() < 0.15:
        return [_shape(rng, 0, 4) for _ in range(count)], {"axis": None}
    shape = _shape(rng, 1, 4)
    axis = int(rng.integers(-len(shape), len(shape)))
    shapes = []
    for _ in range(count):
        sized = list(shape)
        sized[axis] = int(rng.integers(0, 4))
        shapes.append(tuple(sized))
    return shapes, {"axis": axis}


def _moveaxis_config(rng):
    shape = _shape(rng, 1, 5)
    ndim = len(shape)
    count = int(rng.integers(1, ndim + 1))
    source = [int(a) - ndim * int(rng.integers(2)) for a in rng.permutation(ndim)[:count]]
    destination = [int(a) - ndim * int(rng.integers(2)) for a in rng.permutation(ndim)[:count]]
    if count == 1 and rng.random() < 0.5:
        return shape, {"source": source[0], "destination": destination[0]}
    return shape, {"source": tuple(source), "destination": tuple(destination)}


def _rollaxis_config(rng):
    shape = _shape(rng, 1, 5)
    ndim = len(shape)
    return shape, {
        "axis": int(rng.integers(-ndim, ndim)),
        "start": int(rng.integers(-ndim, ndim + 1)),
    }


def _any_config(rng):
    return _shape(rng, 0, 5), {}


def _matrix_config(rng, params=None):
    """A shape of at least two axes."""
    return _shape(rng, 2, 5), dict(params or {})


def _rot90_config(rng):
    shape = _shape(rng, 2, 5)
    ndim = len(shape)
    first, second = (int(a) for a in rng.permutation(ndim)[:2])
    return shape, {
        "k": int(rng.integers(-5, 6)),
        "axes": (first, second - ndim * int(rng.integers(2))),
    }


def _roll_config(rng):
    shape = _shape(rng, 0, 4)
    ndim, shift = len(shape), lambda: int(rng.integers(-7, 8))
    if ndim == 0 or rng.random() < 0.3:
        return shape, {"shift": shift(), "axis": None}
    axes = [
        int(a) - ndim * int(rng.integers(2))
        for a in rng.permutation(ndim)[: int(rng.integers(1, ndim + 1))]
    ]
    if len(axes) == 1 and rng.random() < 0.5:
        return shape, {"shift": shift(), "axis": axes[0]}
    return shape, {"shift": tuple(shift() for _ in axes), "axis": tuple(axes)}


def _repeat_config(rng):
    shape = _shape(rng, 0, 4)
    ndim = len(shape)
    if ndim == 0 or rng.random() < 0.3:
        size = int(numpy.prod(shape))
        repeats = (
            int(rng.integers(0, 4)) if rng.random() < 0.5 else rng.integers(0, 4, size).tolist()
        )
        return shape, {"repeats": repeats, "axis": None}
    axis = int(rng.integers(-ndim, ndim))
    repeats = (
        int(rng.integers(0, 4)) if rng.random() < 0.5 else rng.integers(0, 4, shape[axis]).tolist()
    )
    return shape, {"repeats": repeats, "axis": axis}


def _diagonal_config(rng):
    shape = _shape(rng, 2, 5)
    ndim = len(shape)
    axis1, axis2 = (int(a) - ndim * int(rng.integers(2)) for a in rng.permutation(ndim)[:2])
    return shape, {"offset": int(rng.integers(-3, 4)), "axis1": axis1, "axis2": axis2}


def _tri_config(rng):
    return _shape(rng, 2, 5), {"k": int(rng.integers(-3, 4))}


def random_index(rng, shape):
    """A random valid index into an array of ``shape``: basic (ints, slices with any step,
    None, Ellipsis), integer arrays (with repeated and negative entries, as arrays or
    lists), a boolean mask, and mixes of these, as NumPy accepts them."""
    ndim = len(shape)
    kind = str(rng.choice(["basic", "integer", "mask", "mixed", "single"]))
    if kind == "single" and ndim:  # one mask, list or integer array, not in a tuple
        form = int(rng.integers(3))
        if form == 0:
            return rng.random(shape[: int(rng.integers(1, ndim + 1))]) < 0.5
        values = rng.integers(-shape[0], shape[0], size=int(rng.integers(0, 7)))
        return values.tolist() if form == 1 else values.reshape(-1, 1)
    # One integer-array shape for all arrays of the index, so that they broadcast.
    arrays = None
    if kind in ("integer", "mixed"):
        arrays = tuple(int(a) for a in rng.integers(1, 4, size=rng.integers(1, 3)))
    masked = kind == "mask" or (kind == "mixed" and rng.random() < 0.5)
    if masked:
        arrays = None
    items, dim, ellipsis = [], 0, False
    while dim < ndim:
        n, choice = shape[dim], rng.random()
        if choice < 0.1:
            items.append(None)
        elif choice < 0.15 and not ellipsis:
            ellipsis = True
            items.append(Ellipsis)
            dim += int(rng.integers(0, ndim - dim + 1))
        elif arrays is not None and choice < 0.55:
            values = rng.integers(-n, n, size=arrays)
            items.append(values.tolist() if rng.random() < 0.2 else values)
            dim += 1
        elif masked and choice < 0.55:
            span = int(rng.integers(1, ndim - dim + 1))
            items.append(rng.random(shape[dim : dim + span]) < 0.5)
            masked = False
            dim += span
        elif choice < 0.7:
            items.append(int(rng.integers(-n, n)))
            dim += 1
        else:
            start = int(rng.integers(-n - 1, n + 2)) if rng.random() < 0.6 else None
            stop = int(rng.integers(-n - 1, n + 2)) if rng.random() < 0.6 else None
            step = int(rng.choice([-3, -2, -1, 1, 2, 3])) if rng.random() < 0.7 else None
            items.append(slice(start, stop, step))
            dim += 1
    if rng.random() < 0.2:
        items.append(None)
    return tuple(items)


def _getitem_config(rng):
    shape = _shape(rng, 0, 5)
    return shape, {"index": random_index(rng, shape)}


def _scatter_add_config(rng):
    shape = _shape(rng, 0, 5)
    index = random_index(rng, shape)
    return numpy.zeros(shape)[index].shape, {"index": index, "shape": shape}


def _gather_config(rng):
    """A batch of 1-2 channels along 1 or 2 spatial axes, and windows on it: any kernel
    size, stride, dilation and padding (up to the dilated kernel's reach) that fit."""
    rank = int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, size=rank))
    stride = tuple(int(s) for s in rng.integers(1, 4, size=rank))
    dilation = tuple(int(d) for d in rng.integers(1, 3, size=rank))
    padding = tuple(int(rng.integers(0, d * (k - 1) + 1)) for k, d in zip(kernel, dilation))
    spatial = tuple(
        max(1, d * (k - 1) + 1 - 2 * p) + int(rng.integers(0, 4))
        for k, d, p in zip(kernel, dilation, padding)
    )
    shape = (int(rng.integers(1, 3)), int(rng.integers(1, 3)), *spatial)
    return shape, {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation}


def _scatter_windows_config(rng):
    shape, params = _gather_config(rng)
    window = gather_windows(numpy.zeros(shape), **params)
    return window.shape, {"shape": shape, **params}


def _setitem_config(rng):
    """x, and a value that broadcasts to x[index]: the index's shape, or its last axes,
    some of them 1."""
    shape = _shape(rng, 0, 4)
    index = random_index(rng, shape)
    target = numpy.zeros(shape)[index].shape
    value = target[int(rng.integers(0, len(target) + 1)) :]
    value = tuple(1 if rng.random() < 0.3 else n for n in value)
    return [shape, value], {"index": index}


STRUCTURAL = (
    Structural(
        "reshape",
        "numpy.reshape(x, shape)",
        (Reshape("out_shape"),),
        (("shape",),),
        _reshape_config,
        method=False,  # Tensor.reshape takes NumPy's varargs form
    ),
    Structural(
        "expand_dims",
        "numpy.expand_dims(x, axis)",
        (Reshape("out_shape"),),
        (("axis",),),
        _expand_dims_config,
        method=False,
    ),
    Structural(
        "broadcast_to",
        "numpy.broadcast_to(x, shape)",
        (Broadcast("shape"),),
        (("shape",),),
        _broadcast_to_config,
        method=False,
    ),
    Structural(
        "transpose",
        "numpy.transpose(x, axes)",
        (Transpose("axes"),),
        (("axes", None),),
        _transpose_config,
        method=False,  # Tensor.transpose takes NumPy's varargs form
    ),
    Structural(
        "swapaxes",
        "numpy.swapaxes(x, axis1, axis2)",
        (SwapAxes("axis1", "axis2"),),
        (("axis1",), ("axis2",)),
        _swapaxes_config,
    ),
    Structural(
        "squeeze",
        "numpy.squeeze(x, axis)",
        (Reshape("out_shape"),),
        (("axis", None),),
        _squeeze_config,
    ),
    Structural(
        "flip",
        "numpy.flip(x, axis)",
        (Flip("axis"),),
        (("axis", None),),
        _flip_config,
    ),
    # numpy.pad is symgrad/shape.py's pad: a constant border is the zero padding below
    # plus a constant; the other modes copy elements of x, and are the read after it.
    Structural(
        "pad",
        "numpy.pad(x, pad_width)",
        # x written into the interior of zeros of the padded shape
        (ScatterAdd("pad_interior(pad_width, x_shape)", "out_shape"),),
        (("pad_width",),),
        _pad_config,
        method=False,
        public=False,
    ),
    Structural(
        "pad_copies",
        "numpy.pad(x, pad_width, mode)",
        # each element of the result read from where the mode copies it from
        (
            Reshape("flat_if_none(x_shape, None)"),
            Read("pad_read_index(x_shape, pad_width, mode)"),
        ),
        (("pad_width",), ("mode",)),
        _pad_mode_config,
        method=False,
        public=False,
    ),
    Structural(
        "astype",
        "x.astype(dtype)",
        (Cast("dtype"),),
        (("dtype",),),
        _astype_config,
        method=False,  # Tensor.astype: a cast to an integer dtype leaves the graph
        public=False,  # NumPy's astype is a method
    ),
    Structural(
        "cumsum",
        "numpy.cumsum(x, axis)",
        (Reshape("flat_if_none(x_shape, axis)"), CumSum("0 if axis is None else axis")),
        (("axis", None),),
        _axis_or_none_config,
    ),
    Structural(
        "take_along_axis",
        "numpy.take_along_axis(x, indices, axis)",
        (
            Reshape("flat_if_none(x_shape, axis)"),
            Read("along_axis_index(flat_if_none(x_shape, axis), indices, axis)"),
        ),
        (("indices",), ("axis",)),
        _take_along_axis_config,
        method=False,
    ),
    Structural(
        "diagflat",
        "numpy.diagflat(x, k)",
        # x flattened, then written along diagonal k of a square of zeros
        (
            Reshape("flat_if_none(x_shape, None)"),
            ScatterAdd("square_diagonal_index(int(numpy.prod(x_shape)), k)", "out_shape"),
        ),
        (("k", 0),),
        _diagflat_config,
        method=False,
    ),
    Structural(
        "tile",
        "numpy.tile(x, reps)",
        # each axis of the result split into (repetitions, size): x read once per tile
        (
            Reshape("tile_layout(x_shape, reps)[0]"),
            Broadcast("tile_layout(x_shape, reps)[1]"),
            Reshape("out_shape"),
        ),
        (("reps",),),
        _tile_config,
    ),
    Structural(
        "concatenate",
        "numpy.concatenate(xs, axis)",
        (Concat("axis"),),
        (("axis", 0),),
        _concatenate_config,
        method=False,
        variadic=True,
    ),
    Structural(
        "moveaxis",
        "numpy.moveaxis(x, source, destination)",
        (Transpose("axes_after(numpy.moveaxis, len(x_shape), source, destination)"),),
        (("source",), ("destination",)),
        _moveaxis_config,
        method=False,
    ),
    Structural(
        "rollaxis",
        "numpy.rollaxis(x, axis, start)",
        (Transpose("axes_after(numpy.rollaxis, len(x_shape), axis, start)"),),
        (("axis",), ("start", 0)),
        _rollaxis_config,
        method=False,
    ),
    Structural("ravel", "numpy.ravel(x)", (Reshape("out_shape"),), (), _any_config),
    Structural("flipud", "numpy.flipud(x)", (Flip("0"),), (), _matrix_config, method=False),
    Structural("fliplr", "numpy.fliplr(x)", (Flip("1"),), (), _matrix_config, method=False),
    Structural(
        "rot90",
        "numpy.rot90(x, k, axes)",
        # a flip, then the two axes swapped for an odd k
        (Flip("rot90_flip(k, axes)"), Transpose("rot90_axes(len(x_shape), k, axes)")),
        (("k", 1), ("axes", (0, 1))),
        _rot90_config,
        method=False,
    ),
    Structural(
        "roll",
        "numpy.roll(x, shift, axis)",
        (Roll("shift", "axis"),),
        (("shift",), ("axis", None)),
        _roll_config,
        method=False,
    ),
    Structural(
        "repeat",
        "numpy.repeat(x, repeats, axis)",
        # x flattened for axis None, then each position read ``repeats`` times
        (
            Reshape("flat_if_none(x_shape, axis)"),
            Read("repeat_index(flat_if_none(x_shape, axis), repeats, axis)"),
        ),
        (("repeats",), ("axis", None)),
        _repeat_config,
    ),
    Structural(
        "diagonal",
        "numpy.diagonal(x, offset, axis1, axis2)",
        # the two axes moved last, then their diagonal read
        (
            Transpose("diagonal_axes(len(x_shape), axis1, axis2)"),
            Read("diagonal_index(x_shape[axis1], x_shape[axis2], offset)"),
        ),
        (("offset", 0), ("axis1", 0), ("axis2", 1)),
        _diagonal_config,
    ),
    Structural(
        "tril",
        "numpy.tril(x, k)",
        (Mask("lower_triangle(x_shape, k)"),),
        (("k", 0),),
        _tri_config,
        method=False,
    ),
    Structural(
        "triu",
        "numpy.triu(x, k)",
        (Mask("~lower_triangle(x_shape, k - 1)"),),
        (("k", 0),),
        _tri_config,
        method=False,
    ),
    # Indexing: Tensor.__getitem__ runs it. Its adjoint scatters the gradient back where
    # each element was read, summing repeated reads.
    Structural(
        "getitem",
        "x[index]",
        (Read("index"),),
        (("index",),),
        _getitem_config,
        method=False,
        public=False,
    ),
    # `t[index] = value` on a tensor in a graph (Tensor.__setitem__ records it): x and
    # value, flattened and joined, then each element read from x or from value. The
    # elements overwritten pass x no gradient; value gets what reached where it went.
    Structural(
        "setitem",
        "assigned(xs[0], index, xs[1])",
        (Concat("None"), Read("assign_index(x_shapes, index)")),
        (("index",),),
        _setitem_config,
        method=False,
        variadic=True,
        public=False,
    ),
    # The adjoint of getitem as an op of its own, so that getitem's backward is itself
    # differentiable (create_graph=True): add_at, called on a tensor, runs this op.
    Structural(
        "scatter_add",
        "add_at(x, index, shape)",
        (ScatterAdd("index", "shape"),),
        (("index",), ("shape",)),
        _scatter_add_config,
        method=False,
        public=False,
    ),
    # The window gather of convolution and pooling (symgrad/ops/windows.py) and its
    # transpose, each an op of its own, so that the window ops' backwards, which scatter
    # a window's gradient and read the input's windows, are differentiable again
    # (create_graph=True): gather_windows and scatter_windows, called on tensors, run them.
    Structural(
        "window_gather",
        "gather_windows(x, kernel, stride, padding, dilation)",
        (Gather("kernel", "stride", "padding", "dilation"),),
        (("kernel",), ("stride",), ("padding",), ("dilation",)),
        _gather_config,
        method=False,
        public=False,
    ),
    Structural(
        "window_scatter",
        "scatter_windows(x, shape, kernel, stride, padding, dilation)",
        (ScatterWindows("shape", "kernel", "stride", "padding", "dilation"),),
        (("shape",), ("kernel",), ("stride",), ("padding",), ("dilation",)),
        _scatter_windows_config,
        method=False,
        public=False,
    ),
)
