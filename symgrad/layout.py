"""Where the batch goes in memory, for the window ops: the one place that chooses a layout.

A convolution can run with the batch innermost (rows of batch x positions) instead of in
its input's layout (rows as long as an output row): the im2col gather and the scatter-add
of its adjoint then copy or add long rows instead of short ones. The generated code asks
``batch_inner_pays`` and passes the answer on as an explicit argument (the checks pass
each layout themselves), and ``in_layout_of`` lays a gradient out as the value it pairs
with.
"""

import numpy


def batch_is_inner(x):
    """Whether ``x`` (a batch of more than one) has the batch innermost in memory."""
    return x.shape[0] > 1 and x.strides[0] == x.itemsize


# NOTE: measured on x86-64 with NumPy 2.4: a gather (im2col) or scatter-add pass costs
# ~20 ns per row of contiguous elements it copies or adds (and ~0.3 ns an element), and
# laying an input out with the batch innermost, and its gradient back, costs two
# transposing copies, ~10 ns an element of the input.
ROW_NS = 20
COPY_NS = 10


def batch_inner_pays(x, out_last, kernel, stride_last):
    """Whether a convolution of ``x`` runs better with the batch innermost (rows of
    batch x positions, merged when the last stride is 1) than in x's layout (rows as
    long as the last output axis, ``out_last``): always when x has that layout already
    (the layer before chose it: nothing to copy), else when the rows it saves over all
    ``kernel`` offsets cost more than its copies."""
    if batch_is_inner(x):
        return True
    n = x.shape[0]
    rows_now = max(out_last, 1)
    rows_then = max(n * out_last if stride_last == 1 else n, 1)
    offsets = int(numpy.prod(kernel))
    return offsets * ROW_NS * (1 / rows_now - 1 / rows_then) > COPY_NS


def in_layout_of(x, value):
    """``value``, shaped like ``x``, with x's axis order in memory: a copy unless it has
    it already. The ops that read a gradient next (a pooling's backward, a relu's) run
    several times faster when it is laid out as the values they pair it with."""
    out = numpy.empty_like(x)
    if out.strides == value.strides:
        return value
    numpy.copyto(out, value)
    return out
