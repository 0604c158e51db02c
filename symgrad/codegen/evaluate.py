"""Evaluate expressions two ways: as the printed NumPy code that gets rendered (float64),
and as a high-precision mpmath reference built from the ops' definitions."""

import mpmath
import numpy
import sympy

from symgrad import special
from symgrad.codegen.printer import print_numpy

HIGH_PRECISION_DIGITS = 30


def _mp_heaviside(value, at_zero=0.5):
    return mpmath.mpf(1) if value > 0 else (mpmath.mpf(at_zero) if value == 0 else mpmath.mpf(0))


class Evaluator:
    """Compiles expressions over named symbols; knows the kernels of the ops derived so
    far, so that a rule calling ``sigmoid(x)`` runs the real generated kernel."""

    def __init__(self):
        self.namespace = {"numpy": numpy, "special": special}
        self.kernel_sources = {}

    @property
    def op_functions(self):
        return tuple(self.kernel_sources)

    def add_kernel(self, name, inputs, params, kernel):
        args = ", ".join((*inputs, *params))
        source = f"def {name}({args}):\n    return {print_numpy(kernel, self.op_functions)}\n"
        exec(source, self.namespace)  # the same printed code that gets rendered
        self.kernel_sources[name] = source

    def numpy_function(self, expr, names):
        """The printed NumPy code of ``expr`` as a function of ``names``."""
        code = print_numpy(expr, self.op_functions)
        return eval(f"lambda {', '.join(names)}: {code}", self.namespace)

    def mp_function(self, expr, names):
        """A high-precision mpmath function of ``names``; ``expr`` must be free of op
        functions (see derive.expand_definitions)."""
        symbols = [sympy.Symbol(name, real=True) for name in names]
        return sympy.lambdify(symbols, expr, modules=[{"Heaviside": _mp_heaviside}, "mpmath"])


def mp_value(function, *args):
    """Call an mpmath function at float arguments with HIGH_PRECISION_DIGITS; None where
    the expression is undefined there (a pole, log of 0)."""
    with mpmath.workdps(HIGH_PRECISION_DIGITS):
        try:
            value = function(*(mpmath.mpf(float(a)) for a in args))
        except (ZeroDivisionError, ValueError, OverflowError):
            return None
        if isinstance(value, mpmath.mpc):
            return None if value.imag != 0 else value.real
        return mpmath.mpf(value)
