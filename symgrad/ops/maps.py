"""The kinds of linear map a structural op is declared as: steps applied in order, each
a map of one kind. The generator derives the op's adjoint from the steps alone, as the
reverse composition of their transposes (``symgrad/codegen/linear.py``), and checks at
generation that the steps give what the op's NumPy forward gives.

Arguments are NumPy code over the op's params, ``x_shape`` (the input's shape;
``x_shapes`` for a sequence of inputs) and ``out_shape`` (the shape of the forward's
result), and may call the shape arithmetic of ``symgrad/index_maps.py``.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Transpose:
    """out = numpy.transpose(x, axes): a permutation of the axes (None: reversed)."""

    axes: str
    inverse: bool = False  # the permutation that undoes ``axes``


@dataclass(frozen=True)
class Flip:
    """out = numpy.flip(x, axis): the elements of the given axes in reverse order."""

    axis: str


@dataclass(frozen=True)
class Roll:
    """out = numpy.roll(x, shift, axis): a cyclic shift of the elements."""

    shift: str
    axis: str
    inverse: bool = False  # the shift back


@dataclass(frozen=True)
class Mask:
    """out = x where ``mask`` (broadcast against x) holds, 0 elsewhere."""

    mask: str


@dataclass(frozen=True)
class Cast:
    """out = x.astype(dtype): each element as it is, rounded to ``dtype``. Its
    transpose casts back to the input's dtype (``x_dtype``), so only a first step may
    be a cast."""

    dtype: str


@dataclass(frozen=True)
class CumSum:
    """out = numpy.cumsum(x, axis): running sums along one axis (reversed: each element
    the sum of itself and what follows it)."""

    axis: str
    reverse: bool = False


@dataclass(frozen=True)
class SwapAxes:
    """out = numpy.swapaxes(x, axis1, axis2)."""

    axis1: str
    axis2: str


@dataclass(frozen=True)
class Reshape:
    """out = numpy.reshape(x, shape): the same elements in C order."""

    shape: str


@dataclass(frozen=True)
class Broadcast:
    """out = numpy.broadcast_to(x, shape): each element read wherever it is repeated."""

    shape: str


@dataclass(frozen=True)
class SumTo:
    """out = x summed down to ``shape`` over the axes broadcasting to x's shape added."""

    shape: str


@dataclass(frozen=True)
class Read:
    """out = x[index]: basic or advanced NumPy indexing (an element may be read twice)."""

    index: str


@dataclass(frozen=True)
class ScatterAdd:
    """out = zeros(shape), with x added at ``index`` (repeated entries accumulate)."""

    index: str
    shape: str


@dataclass(frozen=True)
class Concat:
    """out = numpy.concatenate(xs, axis), from a sequence of inputs."""

    axis: str


@dataclass(frozen=True)
class Split:
    """outs = x cut along ``axis`` into blocks of ``shapes`` (a sequence of outputs)."""

    axis: str
    shapes: str


@dataclass(frozen=True)
class Gather:
    """out[n, c, s..., k...] = x_padded[n, c, s*stride + k*dilation]: the windows of the
    zero-padded input, an affine index per spatial axis (a strided view)."""

    kernel: str
    stride: str
    padding: str
    dilation: str


@dataclass(frozen=True)
class ScatterWindows:
    """Each window element of x (shaped as Gather gives it) added back where it was read
    from, into an array of ``shape``; what was read from the padding is dropped."""

    shape: str
    kernel: str
    stride: str
    padding: str
    dilation: str
