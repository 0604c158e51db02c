"""Functions that choose elements by their values, composed of differentiable ops (a
read along an axis, ``where``, ``maximum``), so they carry no gradient code of their
own: ``sort``, ``partition``, ``select``, ``nan_to_num``, ``fmax`` and ``fmin``. Which
element goes where is decided on the data and is constant for the gradient, as the
branch of a ``where`` is."""

import numpy

from symgrad.generated.functions import maximum, minimum, take_along_axis, where
from symgrad.tensor import as_tensor, data_of

__all__ = ["fmax", "fmin", "nan_to_num", "partition", "select", "sort"]


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """NumPy's sort (along ``axis``; None: of the flattened array): each element's
    gradient goes back to the element that was put there, ties in a stable order."""
    a = as_tensor(a)
    if order is not None:
        raise ValueError("sort: order= applies to structured arrays, which tensors are not")
    # NOTE: a stable order whatever kind is asked: the values are NumPy's either way,
    # and ties then take their gradients in a reproducible order.
    order = _named("sort", numpy.argsort, a, axis=axis, kind="stable")
    return take_along_axis(a, order, axis)


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """NumPy's partition: the ``kth`` elements where a sort would put them, the smaller
    ones before and the larger after, in NumPy's arrangement."""
    a = as_tensor(a)
    if order is not None:
        raise ValueError("partition: order= applies to structured arrays, which tensors are not")
    order = _named("partition", numpy.argpartition, a, kth, axis=axis, kind=kind)
    return take_along_axis(a, order, axis)


def _named(name, function, a, *args, **kwargs):
    """NumPy's ``function`` of ``a``'s data, its errors naming the op and the shape."""
    try:
        return function(a.data, *args, **kwargs)
    except ValueError as error:  # numpy.exceptions.AxisError too
        raise type(error)(f"{name}: {error} (an array of shape {a.shape})") from None


def select(condlist, choicelist, default=0):
    """NumPy's select: per element, the choice of the first condition that holds, else
    ``default``; the gradient goes to the chosen element only."""
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"select: {len(condlist)} conditions for {len(choicelist)} choices; "
            "list and choicelist must be of the same length"
        )
    if not condlist:
        raise ValueError("select: condlist and choicelist must not be empty")
    conditions = [numpy.asarray(data_of(c)) for c in condlist]
    for number, condition in enumerate(conditions):
        if condition.dtype != bool:
            raise TypeError(f"select: condition {number} is of dtype {condition.dtype}, not bool")
    result = default
    # the last condition is the innermost choice, so the first that holds wins
    for condition, choice in zip(reversed(conditions), reversed(list(choicelist)), strict=True):
        result = where(condition, choice, result)
    return result


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NumPy's nan_to_num: NaN and infinities replaced by ``nan``, ``posinf`` and
    ``neginf`` (None: the largest finite numbers of the dtype); a replaced element
    passes no gradient."""
    x = as_tensor(x)
    if not copy:
        raise ValueError("nan_to_num: copy=False would change a tensor in place; use copy=True")
    finite = numpy.isfinite(x.data)
    replaced = numpy.nan_to_num(x.data, nan=nan, posinf=posinf, neginf=neginf)
    return where(finite, x, replaced)


def fmax(x1, x2):
    """NumPy's fmax: ``maximum``, but a NaN loses to a number (the number and its
    gradient are taken); ties share the gradient, as maximum's."""
    return _ignoring_nan(maximum, x1, x2)


def fmin(x1, x2):
    """NumPy's fmin: ``minimum``, but a NaN loses to a number."""
    return _ignoring_nan(minimum, x1, x2)


def _ignoring_nan(choose, x1, x2):
    first_nan, second_nan = numpy.isnan(data_of(x1)), numpy.isnan(data_of(x2))
    if not (first_nan.any() or second_nan.any()):
        return choose(x1, x2)
    # NOTE: the NaNs are kept out of choose's rule (a zero gradient times a NaN there is
    # NaN); where the second is NaN, the first is taken, NaN or not, as NumPy's
    chosen = choose(where(first_nan, 0.0, x1), where(second_nan, 0.0, x2))
    return where(second_nan, x1, where(first_nan, x2, chosen))
