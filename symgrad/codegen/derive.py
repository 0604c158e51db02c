"""The symbolic half of deriving an element-wise rule: equivalent candidate forms of a
derivative, cheapest first.

The forms: the raw derivative, the output ``out`` put in place of the forward, the input
solved from ``out = f(x)``, a subexpression solved from it (logaddexp's sum of exps is
``exp(out)``), and cheap rewrites of each. Which one is kept is decided by rendering
each and verifying the class (``symgrad.codegen.pipeline``). Nothing here is keyed to an
op's name.
"""

from dataclasses import dataclass

import sympy
from sympy import (
    Eq,
    Piecewise,
    Symbol,
    cancel,
    factor,
    factor_terms,
    piecewise_fold,
    powsimp,
    together,
)
from sympy.codegen.rewriting import optimize, optims_c99

from symgrad.codegen.symbols import GRAD, OUT, PIECEWISE_CONSTANT

# Forwards built from these are not invertible, so solving out = f(x) is not tried.
NOT_INVERTIBLE = (Piecewise, sympy.Max, sympy.Min, sympy.Abs, *PIECEWISE_CONSTANT)

# Relative cost of one evaluation of each kind of operation, per element.
OP_WEIGHTS = {
    "ADD": 1,
    "SUB": 1,
    "MUL": 1,
    "NEG": 1,
    "DIV": 2,
    "POW": 3,
    "ABS": 1,
    "SIGN": 1,
    "EXP": 8,
    "LOG": 8,
    "EXPM1": 8,
    "LOG1P": 8,
    "SQRT": 3,
    "GT": 1,
    "LT": 1,
    "GE": 1,
    "LE": 1,
    "EQ": 1,
    "NE": 1,
    "AND": 1,
    "OR": 1,
    "PIECEWISE": 2,
    "HEAVISIDE": 2,
    "MAX": 1,
    "MIN": 1,
}
UNLISTED_OP_WEIGHT = 12


def cost(expr):
    """Weighted operation count per element; cheaper candidates are tried first."""
    counted = sympy.count_ops(expr, visual=True)
    if counted == 0:
        return 0
    weights = {s: OP_WEIGHTS.get(s.name, UNLISTED_OP_WEIGHT) for s in counted.free_symbols}
    return int(counted.xreplace(weights))


def candidates(forward, derivative, inputs):
    """Equivalent forms of ``derivative``, some reusing the output ``OUT``."""
    forms = [derivative]
    if forward.has(*inputs) and not forward.is_Symbol:
        forms.append(derivative.xreplace({forward: OUT}))
        forms.append(derivative.subs(forward, OUT))
    # Solving is cheap for one input or a rational function, and can be slow otherwise.
    invertible = not forward.has(*NOT_INVERTIBLE)
    if invertible and (len(inputs) == 1 or forward.is_rational_function(*inputs)):
        for symbol in inputs:
            for solution in _solve_for(forward, symbol):
                forms.append(derivative.xreplace({symbol: solution}))
    if invertible:
        forms.extend(_inverted_subexpressions(forward, derivative, inputs))
    rewritten = []
    for form in forms:
        for rewrite in (cancel, factor, together, powsimp, factor_terms, sympy.expand):
            try:
                rewritten.append(rewrite(form))
            except (sympy.PolynomialError, NotImplementedError, TypeError):
                continue
    # NOTE: the rewrites give many equal forms; optimize (the slow step: the expm1 and
    # log1p forms) runs once per distinct one
    distinct = _distinct(forms + rewritten)
    forms = _distinct(distinct + [optimize(form, optims_c99) for form in distinct])
    valid = [form for form in forms if not form.has(sympy.nan, sympy.zoo)]
    return sorted(valid, key=lambda form: (cost(form), sympy.srepr(form)))


def _distinct(forms):
    """``forms`` without repeats (equal as expression trees), in their first order."""
    return list({sympy.srepr(form): form for form in forms}.values())


def _inverted_subexpressions(forward, derivative, inputs):
    """``derivative`` with each compound subexpression of the forward that it shares
    replaced by its value in terms of ``out``, where the forward is a function of that
    subexpression alone: ``log(exp(x) + exp(y))`` gives ``exp(x) + exp(y) = exp(out)``,
    so its derivative ``exp(x)/(exp(x) + exp(y))`` becomes ``exp(x)/exp(out)``."""
    held = Symbol("held", real=True)
    shared = {
        e
        for e in sympy.preorder_traversal(forward)
        if e != forward and not e.is_Atom and e.has(*inputs) and derivative.has(e)
    }
    forms = []
    for part in sorted(shared, key=sympy.default_sort_key):
        reduced = forward.xreplace({part: held})
        if reduced.has(*inputs) or not reduced.has(held):
            continue
        for solution in _solve_for(reduced, held):
            forms.append(derivative.xreplace({part: solution}))
    return forms


def _solve_for(forward, symbol):
    # NOTE: check=False: SymPy's own check of each solution took a third of generation;
    # a wrong solution only gives a candidate that fails the numeric checks
    try:
        solutions = sympy.solve(Eq(OUT, forward), symbol, dict=False, rational=False, check=False)
    except (NotImplementedError, ValueError, TypeError):
        return []
    return [s for s in solutions if not s.has(sympy.I) and not s.has(sympy.RootOf)]


@dataclass
class DerivedOp:
    """An op with its kernel and the chosen rule for each input that gets a gradient."""

    op: object
    forward: sympy.Expr  # bound definition (may call earlier ops)
    kernel: sympy.Expr  # what the NumPy forward evaluates
    rules: dict  # input name -> d out / d input (over inputs, params, OUT)
    guarded: tuple = ()  # the inputs whose rule gets the zero guard (non-finite at an edge)
    safe_point: tuple | None = None  # the inputs' values and the output's where it is regular

    @property
    def vjps(self):
        """grad times each partial, with grad pushed into branches so that a branch that
        passes the gradient through prints as ``grad`` (and keeps its dtype)."""
        return {name: piecewise_fold(GRAD * rule) for name, rule in self.rules.items()}


def at_kinks(rule, kinks):
    """``rule`` taking each of ``kinks``' declared values, as (point, value) pairs, where
    the derived form is undefined (x**y's d/dy at x = 0 is 0 * -inf)."""
    for at, value in kinks:
        where = sympy.And(
            *(Eq(Symbol(k, real=True), sympy.sympify(v)) for k, v in sorted(at.items()))
        )
        rule = Piecewise((sympy.sympify(value), where), (rule, True))
    return rule
