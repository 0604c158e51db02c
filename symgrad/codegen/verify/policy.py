"""What every check shares, generator and tests alike: the error a failed check raises,
where ops are probed, how close is close enough, and when a NumPy warning is a failure.

Tolerances are relative wherever the value itself is the point: a form that loses
precision in a tail (softplus' as ``1 - exp(-out)`` at x = -40) must fail, so stress
points are judged by relative error alone.
"""

import contextlib
import warnings

import numpy


class CheckError(Exception):
    """A rule failed a check; generation stops and nothing is written."""

    def __init__(self, op, input_name, point, reason):
        self.op, self.input_name, self.point, self.reason = op, input_name, point, reason
        where = f" at {_format_point(point)}" if point else ""
        of = ""
        if input_name:
            of = f"d/d{input_name} " if input_name.isidentifier() else f"{input_name}: "
        super().__init__(f"{op}: {of}{reason}{where}")


def _format_point(point):
    return "(" + ", ".join(f"{k}={v!r}" for k, v in point.items()) + ")"


# ---- where element-wise ops are probed ------------------------------------------------
SAMPLES = 16  # random points per op, seeded by its name
DEFAULT_SAMPLE = (-3.0, 3.0)  # where they are drawn, unless the row says otherwise
# Points keep this far from singular points and kinks (finite differences straddle a
# kink otherwise).
CLEARANCE = 0.05
# Where float64 forms overflow, cancel or lose their tails.
STRESS = (0.0, 40.0, -40.0, 700.0, -700.0, 1000.0, -1000.0)

# ---- how close ------------------------------------------------------------------------
HIGH_PRECISION_TOL = 1e-20  # a candidate form against SymPy's derivative, in mpmath
SAMPLE_RTOL, SAMPLE_ATOL = 1e-9, 1e-12  # float64 code at the sample points (values ~1)
STRESS_RTOL = 1e-8  # float64 code at the stress points: relative, ...
STRESS_ATOL = float(numpy.finfo(numpy.float64).tiny)  # ... down to the normal floats
FINITE_DIFFERENCE_RTOL = 1e-5  # against central differences, relative to max(1, slope)
KINK_RTOL = 1e-12  # a convention is a value, not an approximation
DOT_PRODUCT_RTOL = 1e-12  # <A x, y> against <x, A^T y>, relative to max(1, |<A x, y>|)
FLOAT64_MAX = float(numpy.finfo(numpy.float64).max)


def adjoint_agrees(left, right):
    """The dot-product test: <A x, y> (``left``) against <x, A^T y> (``right``)."""
    return abs(left - right) <= DOT_PRODUCT_RTOL * max(1.0, abs(left))


def close(got, want, rtol, atol):
    """Whether the float64 value ``got`` is within tolerance of the exact ``want`` (an
    mpmath or float value): beyond float64's range, ``got`` must be the infinity of the
    same sign."""
    if abs(want) > FLOAT64_MAX:
        return bool(numpy.isinf(got)) and (got > 0) == (want > 0)
    return bool(numpy.isfinite(got)) and abs(got - want) <= rtol * abs(want) + atol


# ---- warnings -------------------------------------------------------------------------
@contextlib.contextmanager
def warnings_fail(fail=True):
    """Run a rule as a user's code runs it, with NumPy's floating-point warnings turned
    into errors (``fail``: the true value is finite there, so a warning is the rule's
    own noise) or silenced (the true value is infinite or undefined, and NumPy's warning
    about reaching it is expected)."""
    with warnings.catch_warnings():
        if fail:
            warnings.simplefilter("error")
            # NumPy's defaults (underflow to 0 is silent)
            with numpy.errstate(divide="warn", over="warn", invalid="warn", under="ignore"):
                yield
        else:
            with numpy.errstate(all="ignore"):
                yield


# ---- fresh gradients ------------------------------------------------------------------
def check_fresh(op, cls, grads, seen, point):
    """Each gradient the class declares fresh (``cls.fresh_grads``) shares no memory
    with ``seen`` (the incoming gradient, what the node saved, its output) nor with
    another gradient it returned: the engine may add into it in place."""
    for place in cls.fresh_grads:
        value = grads[place]
        others = [*seen, *(g for k, g in enumerate(grads) if k != place and g is not None)]
        if value is None or any(numpy.may_share_memory(value, other) for other in others):
            raise CheckError(
                op, f"input {place}", point, "its gradient is declared fresh, but is not"
            )
