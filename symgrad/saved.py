"""What a node keeps of the caller's values for its backward: NumPy arrays passed as
constants (an operand that is not a tensor, a ``where`` condition) and params (an index
with integer or boolean arrays, a list of axes) are copied when the node is recorded, so
that changing the caller's array afterwards changes no gradient. The caller's array is
never touched, not even its writeable flag. Tensors are kept as they are.
"""

import numpy

# Values that cannot change after the forward: kept as they are.
_IMMUTABLE = frozenset(
    (int, float, bool, complex, str, bytes, type(None), type(Ellipsis), slice, range)
)


def frozen(value):
    """``value``, or a copy of it that nothing outside the node can change: ndarrays
    copied read-only, lists and tuples rebuilt of frozen items. Numbers, NumPy scalars,
    slices, tensors and the like as they are."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if isinstance(value, numpy.ndarray):
        copy = value.copy(order="K")  # the same layout, for the backward's speed
        copy.flags.writeable = False
        return copy
    if kind is tuple:
        # NOTE: most params are tuples of numbers and None (axes, shapes, flags): kept
        for item in value:
            if type(item) not in _IMMUTABLE:
                return tuple([frozen(item) for item in value])
        return value
    if kind is list:
        return [frozen(item) for item in value]
    return value
