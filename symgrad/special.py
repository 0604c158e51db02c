"""NumPy helpers that generated code calls: special functions NumPy lacks (``erf``,
``sinpi``: forward evaluations only; their derivatives are derived like any other), and
``inplace``.
"""

import numpy as np

_TWO_OVER_SQRT_PI = 1.1283791670955126
_ONE_OVER_SQRT_PI = 0.5641895835477563
# Below this |x| the series converges quickly; above it the continued fraction does.
_SERIES_LIMIT = 2.5
# erfc(6) < 2**-53 / 2, so erf rounds to +-1 beyond it.
_SATURATION = 6.0
_CF_DEPTH = 90


def erf(x):
    """The error function, accurate to a few ulp in float64, vectorized over ``x``."""
    dispatch = getattr(type(x), "_special_dispatch", None)
    if dispatch is not None:  # a Tensor: run the differentiable op instead
        return dispatch("erf", x)
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    z = x.astype(np.float64).reshape(-1)
    a = np.abs(z)
    result = np.sign(z)  # the saturated value, kept beyond _SATURATION
    small = a < _SERIES_LIMIT
    mid = ~small & (a < _SATURATION)
    if small.any():
        result[small] = _erf_series(z[small])
    if mid.any():
        result[mid] = np.sign(z[mid]) * (1.0 - _erfc_continued_fraction(a[mid]))
    # [()] turns a 0-d result into a scalar, as NumPy's ufuncs do.
    return result.reshape(x.shape).astype(dtype, copy=False)[()]


def _erf_series(x):
    # erf(x) = 2/sqrt(pi) * x * exp(-x^2) * sum_n (2x^2)^n / (1*3*...*(2n+1)):
    # every term is positive, so the sum has no cancellation.
    two_x2 = 2.0 * x * x
    term = np.ones_like(x)
    total = np.ones_like(x)
    n = 0
    while True:
        n += 1
        term = term * two_x2 / (2 * n + 1)
        total += term
        if not (term > 1e-17 * total).any():
            break
    return _TWO_OVER_SQRT_PI * x * np.exp(-x * x) * total


def _erfc_continued_fraction(a):
    # erfc(a) = exp(-a^2)/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), a > 0,
    # evaluated from the tail; at a >= 2.5 the fixed depth gives full precision.
    tail = a
    for k in range(_CF_DEPTH, 0, -1):
        tail = a + (k / 2.0) / tail
    return _ONE_OVER_SQRT_PI * np.exp(-a * a) / tail


def sinpi(x):
    """sin(pi * x), exact at the integers (0 there, where sin of the rounded pi * x is
    not): sin(pi * (n + r)) = (-1)**n * sin(pi * r), with n the nearest integer and r,
    in [-1/2, 1/2], computed exactly."""
    dispatch = getattr(type(x), "_special_dispatch", None)
    if dispatch is not None:  # a Tensor: run the differentiable op instead
        return dispatch("sinpi", x)
    n = np.round(x)
    value = np.sin(np.pi * (x - n))
    return np.where(np.fmod(n, 2) == 0, value, -value)[()]


def inplace(ufunc, value):
    """``ufunc(value)``, written over ``value`` when it is a float array.

    The generator prints this only where ``value`` is a temporary that nothing else
    references (the result of an expression), so overwriting it saves an allocation;
    on this kind of machine a fresh large array costs more than the arithmetic.
    """
    if type(value) is np.ndarray and value.dtype.kind == "f" and value.ndim:
        return ufunc(value, out=value)
    return ufunc(value)
