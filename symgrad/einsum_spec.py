"""The calculus of einsum specs: the vjp rule of every contraction, in one place.

For ``out = einsum("A,B,...->O", operands)``, the vector-Jacobian product for operand j
is the einsum of the output's gradient with the other operands into j's letters:
letters that only j has were summed away by the forward, so the gradient is broadcast
along them; letters that j repeats ("ii") were read through a diagonal, so the gradient
is written back through that diagonal; j's ellipsis, broadcast against the others', is
summed back to its own axes. The generator uses this to derive the fixed
contractions (matmul); ``sg.einsum`` uses it at run time for any spec.

A spec is kept as a list of input terms and an output term; a term is a string of
letters in which ``*`` stands for NumPy's ``...``.
"""

import numpy

from symgrad import index_maps

ELLIPSIS = "*"


def parse(subscripts, ndims=None):
    """(inputs, output) in explicit form for ``subscripts`` (checked against operands of
    ``ndims`` dimensions, if given); the implicit output is NumPy's: letters used once,
    sorted, ``...`` first."""
    subscripts = subscripts.replace(" ", "").replace("...", ELLIPSIS)
    left, arrow, output = subscripts.partition("->")
    inputs = left.split(",")
    if ndims is None:
        ndims = [len(term) + 32 * (ELLIPSIS in term) for term in inputs]
    if len(inputs) != len(ndims):
        raise ValueError(
            f"einsum: {len(inputs)} operand terms in {subscripts!r}, {len(ndims)} operands"
        )
    for term, ndim in zip(inputs, ndims):
        letters = len(term.replace(ELLIPSIS, ""))
        if (ELLIPSIS not in term and letters != ndim) or letters > ndim:
            raise ValueError(f"einsum: term {term!r} does not fit an operand of {ndim} dims")
    if not arrow:
        counts = {c: left.count(c) for c in left if c.isalpha()}
        output = "".join(sorted(c for c, k in counts.items() if k == 1))
        if any(ELLIPSIS in term for term in inputs):
            output = ELLIPSIS + output
    return inputs, output


def numpy_spec(inputs, output):
    return (",".join(inputs) + "->" + output).replace(ELLIPSIS, "...")


def vjp_plan(inputs, output, place):
    """The einsum spec that contracts (grad, the other operands) into operand
    ``place``'s distinct letters, batch axes first; and those letters."""
    term = inputs[place]
    letters = "".join(dict.fromkeys(term.replace(ELLIPSIS, "")))
    others = [t for k, t in enumerate(inputs) if k != place]
    available = set(output).union(*others)
    kept = "".join(c for c in letters if c in available)
    # Batch axes stay in front, as broadcast among all the operands: vjp() sums them back
    # to this operand's own (a matmul rendered from this spec, its ellipses leading every
    # term, leaves that to the engine's unbroadcast).
    batch = ELLIPSIS if ELLIPSIS in output + "".join(others) + term else ""
    return numpy_spec([output, *others], batch + kept), kept, letters


def vjp(grad, operands, inputs, output, place):
    """The gradient of operand ``place``, of its shape."""
    spec, kept, letters = vjp_plan(inputs, output, place)
    others = [op for k, op in enumerate(operands) if k != place]
    value = numpy.einsum(spec, grad, *others, optimize=len(others) > 1)
    term, shape = inputs[place], numpy.shape(operands[place])
    sizes = _letter_sizes(term, shape)
    # The batch axes come first, as the operands' ellipses broadcast together (aligned
    # at their ends, as NumPy's); this operand's own were broadcast to them, so its
    # gradient is summed back to its own: that broadcast's transpose. (Not the engine's
    # unbroadcast: the ellipsis need not lead the operand's axes.)
    batch = _ellipsis_shape(term, shape)
    value = index_maps.sum_to(value, (*batch, *(sizes[c] for c in kept)))
    if kept != letters:  # letters only this operand has: broadcast along them
        for position, letter in enumerate(letters):
            if letter not in kept:
                value = numpy.expand_dims(value, len(batch) + position)
        value = numpy.broadcast_to(value, batch + tuple(sizes[c] for c in letters))
    plain = term.replace(ELLIPSIS, "")
    if plain != letters:  # repeated letters: written back through the diagonal
        value = _on_diagonals(value, plain, letters, sizes)
    if ELLIPSIS in term and not term.startswith(ELLIPSIS):  # put the batch axes back
        start = term.index(ELLIPSIS)
        value = numpy.moveaxis(value, range(len(batch)), range(start, start + len(batch)))
    return value


def _ellipsis_shape(term, shape):
    """The sizes of the axes the ellipsis of ``term`` stands for in an operand of
    ``shape`` (none if it has no ellipsis)."""
    if ELLIPSIS not in term:
        return ()
    start = term.index(ELLIPSIS)
    return tuple(shape[start : start + len(shape) - len(term) + 1])


def _on_diagonals(value, plain, letters, sizes):
    """``value`` (batch axes, then one axis per letter of ``letters``) on the diagonals of
    ``plain``, a term that repeats letters, zeros elsewhere: each repeat is a fresh letter
    tied to the first by an identity matrix. An einsum rather than a write into zeros, so
    that on tensors (create_graph) the result keeps its graph."""
    fresh = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in plain)
    term, ties = "", []
    for letter in plain:
        if letter in term:
            other = next(fresh)
            ties.append(letter + other)
            letter = other
        term += letter
    identities = [numpy.eye(sizes[tie[0]], dtype=value.dtype) for tie in ties]
    spec = numpy_spec([ELLIPSIS + letters, *ties], ELLIPSIS + term)
    return numpy.einsum(spec, value, *identities)


def _letter_sizes(term, shape):
    sizes, axis = {}, 0
    batch = len(shape) - len(term.replace(ELLIPSIS, ""))
    for letter in term:
        if letter == ELLIPSIS:
            axis += batch
            continue
        sizes[letter] = shape[axis]
        axis += 1
    return sizes


def as_matmul(inputs, output, names):
    """NumPy code computing the two-operand contraction ``inputs -> output`` with
    numpy.matmul (and the swapaxes method), when it is a batched matrix product; else
    None. ``names`` are plain names (atoms), so a method call on them needs no brackets."""
    terms = (*inputs, output)
    if len(inputs) != 2 or not all(t.startswith(ELLIPSIS) and len(t) == 3 for t in terms):
        return None
    (a, b), c = [t[1:] for t in inputs], output[1:]
    contracted = (set(a) & set(b)) - set(c)
    if len(contracted) != 1 or len(set(a)) != 2 or len(set(b)) != 2:
        return None
    (k,) = contracted
    free_a, free_b = (set(a) - {k}).pop(), (set(b) - {k}).pop()
    if {free_a, free_b} != set(c) or free_a == free_b:
        return None
    (left, lterm, lfree), (right, rterm, rfree) = (
        ((names[0], a, free_a), (names[1], b, free_b))
        if c == free_a + free_b
        else ((names[1], b, free_b), (names[0], a, free_a))
    )
    # NOTE: the method, not numpy.swapaxes: the function's dispatch wrapper costs more
    # than the view it makes (a few us a call); Tensors have the method too.
    left = left if lterm == lfree + k else f"{left}.swapaxes(-1, -2)"
    right = right if rterm == k + rfree else f"{right}.swapaxes(-1, -2)"
    return f"numpy.matmul({left}, {right})"


def contract(spec, a, b):
    """``numpy.einsum(spec, a, b)`` as one batched matrix product (BLAS): letters in both
    operands and the output are the batch, letters in both but not the output are summed
    by the product, the rest stay. ``numpy.einsum`` does not use BLAS when a letter is
    shared by all three, as a convolution's group letter is."""
    return contract_keeping(spec, a, b)[0]


def contract_keeping(spec, a, b, layout=None):
    """``contract(spec, a, b)``, and the operands as the product read them: where an
    operand had to be copied into its matrix (a convolution's window: im2col), the copy,
    seen through its own letters. Contracting that copy again (in the backward) reads it
    in place, with no second copy.

    ``layout``, if given, is the output's letters in the order wanted in memory (the
    outermost first): the batch letters, then one operand's free letters, then the
    other's. The product is then planned to give that layout (copying an operand if its
    matrix needs it), for a caller whose next pass runs faster over it."""
    # NOTE: planning costs ~20 us of Python per call, as much as a small product; a
    # training loop contracts the same spec with the same shapes and strides every step.
    key = (spec, layout, a.shape, a.strides, b.shape, b.strides)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= MAX_PLANS:
            _PLANS.clear()
        plan = _PLANS[key] = _plan(spec, a, b, layout)
    return plan(a, b)


MAX_PLANS = 1024
_PLANS = {}


def _plan(spec, a, b, layout=None):
    """How to contract operands of these shapes and strides: a function of (a, b)."""
    (term_a, term_b), output = parse(spec)
    if (
        ELLIPSIS in term_a + term_b
        or len(set(term_a)) < len(term_a)
        or len(set(term_b)) < len(term_b)
    ):
        return lambda a, b: (numpy.einsum(spec, a, b), a, b)
    only_a = tuple(term_a.index(c) for c in term_a if c not in term_b and c not in output)
    only_b = tuple(term_b.index(c) for c in term_b if c not in term_a and c not in output)
    if only_a or only_b:  # summed away by one operand alone: do that first
        kept_a = "".join(c for k, c in enumerate(term_a) if k not in only_a)
        kept_b = "".join(c for k, c in enumerate(term_b) if k not in only_b)
        kept_spec = numpy_spec([kept_a, kept_b], output)

        def presummed(a, b):
            summed_a = a.sum(axis=only_a) if only_a else a
            summed_b = b.sum(axis=only_b) if only_b else b
            return contract_keeping(kept_spec, summed_a, summed_b, layout)[0], a, b

        return presummed
    batch = [c for c in term_a if c in term_b and c in output]
    summed = [c for c in term_a if c in term_b and c not in output]
    free_a = [c for c in term_a if c not in term_b]
    free_b = [c for c in term_b if c not in term_a]
    sizes = {**dict(zip(term_a, a.shape)), **dict(zip(term_b, b.shape))}
    # the summed letters in the order the larger operand holds them in memory (outermost
    # first), so that its matrix can be a view of it (a saved im2col copy, say)
    big, big_term = (a, term_a) if numpy.size(a) >= numpy.size(b) else (b, term_b)
    strides = dict(zip(big_term, numpy.abs(big.strides)))
    summed.sort(key=lambda c: -strides[c])
    if layout is None:
        swap = _right_side_first(a, b, term_a, term_b, free_a, free_b, summed, sizes)
    else:
        batch, free_a, free_b, swap = _layout_plan(layout, batch, free_a, free_b, spec)
    if swap:  # the same product transposed: (free_b x summed) @ (summed x free_a)
        left = _matrix_plan(b, term_b, batch, free_b, summed, sizes)
        right = _matrix_plan(a, term_a, batch, summed, free_a, sizes)
        letters = [*batch, *free_b, *free_a]
    else:
        left = _matrix_plan(a, term_a, batch, free_a, summed, sizes)
        right = _matrix_plan(b, term_b, batch, summed, free_b, sizes)
        letters = [*batch, *free_a, *free_b]
    shape = [sizes[c] for c in letters]
    order = [letters.index(c) for c in output]

    def product(a, b):
        if swap:
            left_matrix, b = _matrix(b, *left)
            right_matrix, a = _matrix(a, *right)
        else:
            left_matrix, a = _matrix(a, *left)
            right_matrix, b = _matrix(b, *right)
        return _product(left_matrix, right_matrix).reshape(shape).transpose(order), a, b

    return product


def _layout_plan(layout, batch, free_a, free_b, spec):
    """The letters of the product (batch, free of a, free of b) in the order ``layout``
    asks for, and whether b's free letters come first (the product transposed)."""
    ordered = [[c for c in layout if c in group] for group in (batch, free_a, free_b)]
    batch, free_a, free_b = ordered
    for swap in (False, True):
        if list(layout) == [*batch, *(free_b + free_a if swap else free_a + free_b)]:
            return batch, free_a, free_b, swap
    raise ValueError(f"einsum {spec}: no product gives the layout {layout}")


def _matrix_plan(x, term, batch, rows, cols, sizes):
    """How ``x`` (letters ``term``) becomes a stack of (rows x cols) matrices, as the
    arguments of _matrix: a view when its memory allows, else the transpose of a
    (cols x rows) view (BLAS reads either), else a copy."""
    shape = (_size(sizes, batch), _size(sizes, rows), _size(sizes, cols))
    for inner, outer, flip in ((cols, rows, False), (rows, cols, True)):
        order = tuple(term.index(c) for c in (*batch, *outer, *inner))
        view_shape = (shape[0], shape[2], shape[1]) if flip else shape
        try:
            numpy.transpose(x, order).reshape(view_shape, copy=False)
        except ValueError:  # the memory does not allow it
            continue
        return order, view_shape, flip, None
    order = tuple(term.index(c) for c in (*batch, *rows, *cols))
    return order, shape, False, tuple(numpy.argsort(order))


def _matrix(x, order, shape, flip, copy_back):
    """``x`` as planned by _matrix_plan, and ``x`` again: for a copy, the copy seen through
    ``x``'s letters."""
    if copy_back is None:
        view = x.transpose(order).reshape(shape)
        return (view.swapaxes(-1, -2) if flip else view), x
    copy = numpy.ascontiguousarray(x.transpose(order))
    return copy.reshape(shape), copy.transpose(copy_back)


# NOTE: measured with OpenBLAS on x86-64: a product of a few rows and columns summed over
# a long axis (a convolution's weight gradient: 25 x 6 summed over 50176 pixels of a batch)
# ran at a third of BLAS's speed in one call, and its operands stream from memory. Summing
# over blocks of ~1024, one batched product whose matrices stay in cache, and adding the
# partial products took 0.26-0.62 of the time; from 800 output elements up, no gain.
SMALL_PRODUCT = 512  # output elements per matrix, at most
LONG_SUM_BYTES = 1 << 20  # operand bytes per matrix, at least
SUM_BLOCK = 1024


def _product(left, right):
    """``numpy.matmul(left, right)`` of stacks of matrices; when each product is small
    and summed over a long axis, that axis is cut into blocks whose products are added."""
    rows, summed = left.shape[-2:]
    cols = right.shape[-1]
    operand_bytes = (rows + cols) * summed * left.itemsize
    if rows * cols > SMALL_PRODUCT or operand_bytes < LONG_SUM_BYTES:
        return numpy.matmul(left, right)
    blocks, rest = divmod(summed, SUM_BLOCK)
    whole = blocks * SUM_BLOCK
    # splitting the last axis of left and the second-to-last of right is always a view
    left_blocks = left[..., :whole].reshape(*left.shape[:-1], blocks, SUM_BLOCK)
    right_blocks = right[..., :whole, :].reshape(*right.shape[:-2], blocks, SUM_BLOCK, cols)
    total = numpy.matmul(numpy.swapaxes(left_blocks, -3, -2), right_blocks).sum(axis=-3)
    if rest:
        total += numpy.matmul(left[..., whole:], right[..., whole:, :])
    return total


def _right_side_first(a, b, term_a, term_b, free_a, free_b, summed, sizes):
    """Whether to compute the product transposed. Forming the larger operand's matrix is
    a copy (im2col, for a convolution), fastest when the matrix's inner axis is the one
    of that operand's trailing free and summed letters that it reads most contiguously
    (then the longer): a copy's inner loop then runs long over near memory. The left
    matrix has its summed letters inner, the right its free ones."""
    big_is_a = numpy.size(a) >= numpy.size(b)
    big, term, free = (a, term_a, free_a) if big_is_a else (b, term_b, free_b)
    if not free or not summed:
        return False
    strides = dict(zip(term, numpy.abs(numpy.asarray(big).strides)))

    def inner_cost(letters):
        letter = max(letters, key=term.index)
        return (strides[letter], -sizes[letter])

    free_inner = inner_cost(free) <= inner_cost(summed)
    # a is on the left (summed inner) and b on the right (free inner) unless swapped
    return free_inner if big_is_a else not free_inner


def _size(sizes, letters):
    total = 1
    for letter in letters:
        total *= sizes[letter]
    return total


def multilinear_jvp(forward, operands, tangents, params=()):
    """The jvp of a map linear in each operand (a contraction): the sum, over the operands
    that have a tangent, of the map with that operand replaced by its tangent."""
    total = None
    for place, tangent in enumerate(tangents):
        if tangent is None:
            continue
        term = forward(*operands[:place], tangent, *operands[place + 1 :], *params)
        total = term if total is None else total + term
    return total
