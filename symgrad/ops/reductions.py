"""The reduction table: reductions and normalizations along axes, each declared as an
index expression.

``forward(x, o, r, n, **params)`` gives the output for the input ``x[o, r]``: ``o``
stands for the kept axes, ``r`` for the element along the reduced axes and ``n`` for
how many elements are reduced. A reduction gives ``out[o]``; a normalization (softmax)
gives ``out[o, r]``, the same shape as ``x``. Sums inside use their own dummy index.
The vector-Jacobian product is derived by delta summation, candidate forms reusing the
output are found by solving ``out = forward``, and the cheapest form that passes the
checks is rendered. ``kernel`` is the NumPy forward (stable where the definition
overflows), checked equal to the definition.
"""

from dataclasses import dataclass, field

from sympy import Eq, Max, Product, Sum, Symbol, exp, log, sqrt

ddof = Symbol("ddof", integer=True, nonnegative=True)
# A temperature: max is the tau -> 0+ limit of a log-sum-exp at temperature tau.
tau = Symbol("tau", positive=True)
# Names of the lowered code a convention's condition may use (see symgrad/codegen/reduce.py).
out_kept = Symbol("out_kept", real=True)


@dataclass(frozen=True)
class Convention:
    """Where the derivative is a convention: ``where`` (over the lowered names), the
    value the vjp takes there (for grad = 1), and an example checked at generation: input
    rows, the axis reduced, and the expected gradient (inf and nan as they are), with
    ``params`` ((name, value) pairs) in place of the defaults. ``where`` None: the example
    only checks what the derived rule gives (prod with zeros). ``why`` is shown in the
    generated docstring and the op reference."""

    where: object
    value: object
    rows: list
    axis: int
    expected: list
    params: tuple = ()
    why: str = ""


@dataclass(frozen=True)
class Reduction:
    """name: public name; forward: the index expression; kernel: NumPy code of the
    forward over ``x``, ``axis``, ``keepdims`` and the params; params: (name, default)
    pairs after axis and keepdims; normalize: the output keeps the reduced axes;
    default_axis: NumPy's (None: all axes) or PyTorch's -1 for softmax; nonnegative:
    the output is >= 0 (lets sqrt(out**2) be out); linear: checked by the dot-product
    test; stress: input values the forward and backward must stay finite at;
    conventions: where the derivative is a convention (see Convention); temperature:
    the op is the limit of ``forward`` as this symbol goes to 0 from above."""

    name: str
    forward: object
    kernel: str
    params: tuple = ()
    normalize: bool = False
    default_axis: int | None = None
    nonnegative: bool = False
    linear: bool = False
    stress: tuple = ()
    conventions: tuple = field(default_factory=tuple)
    temperature: Symbol | None = None

    @property
    def class_name(self):
        return "".join(part.capitalize() for part in self.name.split("_")) + "Backward"


def total(term, index, n):
    return Sum(term, (index, 0, n - 1))


def _sum(x, o, r, n):
    return total(x[o, r], r, n)


def _variance(x, o, r, n):
    # E[x^2] - E[x]^2 form: the same function, and its derivative needs no cancellation
    # of a sum that is identically zero. The kernel computes it stably. No degrees of
    # freedom left (ddof >= n) divide by 0, as NumPy's (and PyTorch's) forward does.
    k = Symbol("k", integer=True)
    return (total(x[o, r] ** 2, r, n) - total(x[o, k], k, n) ** 2 / n) / Max(n - ddof, 0)


def _log_sum_exp(x, o, r, n):
    k = Symbol("k", integer=True)
    return log(total(exp(x[o, k]), k, n))


class _Scaled:
    """``x`` with every element multiplied by ``factor``, as an indexable."""

    def __init__(self, x, factor):
        self.x, self.factor = x, factor

    def __getitem__(self, index):
        return self.factor * self.x[index]


# NOTE: the maxima start from -inf (initial=), so that an empty axis gives an empty
# softmax, as NumPy's and PyTorch's take it, instead of an error.
# NOTE: the kernels call ufunc.reduce (numpy.add.reduce for numpy.sum, ...): the same
# reduction without the Python wrapper, whose cost (2-5 us a call) matters on small arrays.
LOGSUMEXP_KERNEL = """\
peak = numpy.maximum.reduce(x, axis=axis, keepdims=True, initial=-numpy.inf)
peak = numpy.where(numpy.isfinite(peak), peak, 0)
out = numpy.log(numpy.add.reduce(numpy.exp(x - peak), axis=axis, keepdims=True)) + peak
return out if keepdims else numpy.squeeze(out, axis=axis)"""

SOFTMAX_KERNEL = """\
shifted = numpy.exp(x - numpy.maximum.reduce(x, axis=axis, keepdims=True, initial=-numpy.inf))
return shifted / numpy.add.reduce(shifted, axis=axis, keepdims=True)"""

LOG_SOFTMAX_KERNEL = """\
shifted = x - numpy.maximum.reduce(x, axis=axis, keepdims=True, initial=-numpy.inf)
return shifted - numpy.log(numpy.add.reduce(numpy.exp(shifted), axis=axis, keepdims=True))"""

HUGE = (1000.0, -1000.0)
INF, NAN = float("inf"), float("nan")
# Rows of three, one of them constant, for ddof >= 3: no degrees of freedom left.
NO_FREEDOM = [[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]]
TIES = "ties share the gradient evenly"
INFINITE_EXTREME = "an infinite extreme takes the gradient, as PyTorch's, not nan everywhere"

REDUCTIONS = (
    Reduction(
        "sum",
        _sum,
        "return numpy.add.reduce(x, axis=axis, keepdims=keepdims)",
        linear=True,
    ),
    Reduction(
        "mean",
        lambda x, o, r, n: _sum(x, o, r, n) / n,
        "return mean_kernel(x, axis, keepdims)",
        linear=True,
    ),
    Reduction(
        "var",
        _variance,
        "return numpy.var(x, axis=axis, keepdims=keepdims, ddof=ddof)",
        params=(("ddof", 0),),
        conventions=tuple(
            Convention(
                None,
                None,
                NO_FREEDOM,
                1,
                [[-INF, -INF, INF], [NAN] * 3],
                (("ddof", d),),
                "ddof >= n: the value is inf (nan for constant data), the gradient "
                "2*(x - mean)/0 is +-inf, nan where x is the mean, as PyTorch's at ddof = n",
            )
            for d in (3, 4)
        ),
    ),
    Reduction(
        "std",
        lambda x, o, r, n: sqrt(_variance(x, o, r, n)),
        "return numpy.std(x, axis=axis, keepdims=keepdims, ddof=ddof)",
        params=(("ddof", 0),),
        nonnegative=True,
        conventions=(
            Convention(
                Eq(out_kept, 0),
                0,
                [[3.0, 3.0, 3.0]],
                1,
                [[0.0, 0.0, 0.0]],
                why="constant data: a subgradient, 0 (the derivative is 0/0), as PyTorch's",
            ),
            Convention(
                None,
                None,
                NO_FREEDOM,
                1,
                [[NAN] * 3, [NAN] * 3],
                (("ddof", 3),),
                # (nan for constant data: its convention holds where the value is 0, not nan)
                "ddof >= n: the value is inf, the gradient nan, as PyTorch's at ddof = n",
            ),
        ),
    ),
    Reduction(
        "prod",
        lambda x, o, r, n: Product(x[o, r], (r, 0, n - 1)),
        "return numpy.prod(x, axis=axis, keepdims=keepdims)",
        # The derivative is the product of the other elements, computed as products
        # before and after each element: exact with zeros in the input.
        conventions=tuple(
            Convention(None, None, rows, 1, expected, why="the product of the others, zeros too")
            for rows, expected in (
                ([[2.0, 0.0, 3.0, 0.0]], [[0.0, 0.0, 0.0, 0.0]]),
                ([[2.0, 0.0, 3.0, 5.0]], [[0.0, 30.0, 0.0, 0.0]]),
            )
        ),
    ),
    Reduction("logsumexp", _log_sum_exp, LOGSUMEXP_KERNEL, stress=HUGE),
    # max and min as zero-temperature limits of log-sum-exp: the limit of the smooth
    # vjp sends the gradient to the extreme elements, ties sharing it evenly.
    Reduction(
        "max",
        lambda x, o, r, n: tau * _log_sum_exp(_Scaled(x, 1 / tau), o, r, n),
        "return numpy.maximum.reduce(x, axis=axis, keepdims=keepdims)",
        temperature=tau,
        conventions=(
            Convention(None, None, [[1.0, 3.0, 3.0, -2.0]], 1, [[0, 0.5, 0.5, 0]], why=TIES),
            Convention(None, None, [[1.0, INF, 2.0]], 1, [[0, 1, 0]], why=INFINITE_EXTREME),
        ),
    ),
    Reduction(
        "min",
        lambda x, o, r, n: -tau * _log_sum_exp(_Scaled(x, -1 / tau), o, r, n),
        "return numpy.minimum.reduce(x, axis=axis, keepdims=keepdims)",
        temperature=tau,
        conventions=(
            Convention(None, None, [[1.0, -3.0, -3.0, 2.0]], 1, [[0, 0.5, 0.5, 0]], why=TIES),
            Convention(None, None, [[1.0, -INF, 2.0]], 1, [[0, 1, 0]], why=INFINITE_EXTREME),
        ),
    ),
    Reduction(
        "norm",
        lambda x, o, r, n: sqrt(total(x[o, r] ** 2, r, n)),
        "return numpy.sqrt(numpy.add.reduce(x * x, axis=axis, keepdims=keepdims))",
        nonnegative=True,
        conventions=(
            Convention(
                Eq(out_kept, 0),
                0,
                [[0.0, 0.0, 0.0]],
                1,
                [[0.0, 0.0, 0.0]],
                why="the 2-norm's gradient at 0 is 0, a subgradient, as in PyTorch",
            ),
        ),
    ),
    Reduction(
        "softmax",
        lambda x, o, r, n: exp(x[o, r]) / exp(_log_sum_exp(x, o, r, n)),
        SOFTMAX_KERNEL,
        normalize=True,
        default_axis=-1,
        stress=HUGE,
    ),
    Reduction(
        "log_softmax",
        lambda x, o, r, n: x[o, r] - _log_sum_exp(x, o, r, n),
        LOG_SOFTMAX_KERNEL,
        normalize=True,
        default_axis=-1,
        stress=HUGE,
    ),
)
