"""Derive reductions from their index expressions.

The vjp of ``out[o] = F(x[o, r])`` is ``x_bar[o, r] = Sum_o' grad[o'] d out[o'] / d x[o, r]``;
SymPy differentiates the index expression into Kronecker deltas and delta summation
collapses them. The result is then lowered to array code: an indexed ``grad[o]`` or
``out[o]`` becomes that array with the reduced axes kept (so it broadcasts against
``x``), ``x[o, r]`` becomes ``x`` and ``n`` the count of reduced elements.
"""

from dataclasses import dataclass

import sympy
from sympy import IndexedBase, Sum, Symbol, symbols
from sympy.concrete.delta import deltasummation

from symgrad.codegen.check import CheckError

X, GRAD, OUT = IndexedBase("x"), IndexedBase("grad"), IndexedBase("out")
KEPT, REDUCED, KEPT2, REDUCED2 = symbols("o r o2 r2", integer=True)
COUNT, OUTPUTS = symbols("n m", integer=True, positive=True)

# What each indexed name lowers to in the rendered code.
LOWERED = {
    (GRAD, (KEPT,)): Symbol("grad_kept"),
    (OUT, (KEPT,)): Symbol("out_kept"),
    (X, (KEPT, REDUCED)): Symbol("x"),
}


@dataclass
class DerivedReduction:
    reduction: object
    forward: sympy.Expr  # out[o] as an index expression
    vjp: sympy.Expr  # x_bar[o, r], indexed
    lowered: sympy.Expr  # the same over grad_kept, out_kept, x, n


def collapse(expr):
    """Evaluate every Sum of Kronecker deltas by delta summation, innermost first."""
    return expr.replace(lambda e: isinstance(e, Sum), _collapse_sum)


def _collapse_sum(total):
    term = collapse(total.function)
    for limit in total.limits:
        term = deltasummation(term, limit, no_piecewise=True)
    return term


def derive_reduction(reduction):
    forward = reduction.forward(X, KEPT2, REDUCED2, COUNT)
    derivative = sympy.diff(forward, X[KEPT, REDUCED])
    vjp = collapse(Sum(GRAD[KEPT2] * derivative, (KEPT2, 0, OUTPUTS - 1)))
    lowered = vjp.replace(
        lambda e: isinstance(e, sympy.Indexed), lambda e: _lower(reduction.name, e)
    )
    if lowered.has(Sum, sympy.KroneckerDelta, sympy.Indexed):
        raise CheckError(reduction.name, "x", None, f"vjp did not collapse: {vjp}")
    return DerivedReduction(reduction, reduction.forward(X, KEPT, REDUCED, COUNT), vjp, lowered)


def _lower(name, indexed):
    key = (indexed.base, indexed.indices)
    if key not in LOWERED:
        raise CheckError(name, "x", None, f"cannot lower {indexed} to array code")
    return LOWERED[key]
