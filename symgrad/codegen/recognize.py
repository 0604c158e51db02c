"""The table's stable functions recognised in a definition written the textbook way, so
that a user's op derives through their checked kernels and rules instead of through
the overflowing or cancelling arithmetic of the text: ``log(1 + exp(u))`` is
``softplus(u)``, ``1/(1 + exp(-u))`` is ``sigmoid(u)``, ``log(exp(a) + exp(b))`` is
``logaddexp(a, b)``, ``sin(pi*u)`` is ``sinpi(u)`` (exact zeros at the integers),
``log(1 + u)`` is ``log1p(u)``, ``exp(u) - 1`` is ``expm1(u)``.

Each rewrite is an identity of real numbers: the definition's value is unchanged, and the
checks compare the op against the definition as written.
"""

import sympy
from sympy.codegen.cfunctions import expm1, log1p

_u, _a, _b = sympy.Wild("u"), sympy.Wild("a"), sympy.Wild("b")


def recognized(expr, functions):
    """``expr`` with the patterns above replaced by calls of ``functions`` (table name ->
    SymPy function; a pattern whose function is missing is left as written)."""
    softplus, sigmoid = functions.get("softplus"), functions.get("sigmoid")
    logaddexp = functions.get("logaddexp")
    previous = None
    while previous != expr:
        previous = expr
        expr = expr.replace(sympy.log, lambda arg: _log_of(arg, softplus, logaddexp))
        if sigmoid is not None:
            expr = expr.replace(
                lambda e: e.is_Pow and e.exp == -1 and _exp_plus_one(e.base) is not None,
                lambda e: sigmoid(-_exp_plus_one(e.base)),
            )
        expr = expr.replace(
            lambda e: e.is_Add and _exp_minus_one(e) is not None,
            lambda e: expm1(_exp_minus_one(e)),
        )
        sinpi = functions.get("sinpi")
        if sinpi is not None:
            expr = expr.replace(
                lambda e: isinstance(e, sympy.sin) and not (e.args[0] / sympy.pi).has(sympy.pi),
                lambda e, sinpi=sinpi: sinpi(e.args[0] / sympy.pi),
            )
    return expr


def _log_of(arg, softplus, logaddexp):
    """log(arg), recognised."""
    exponent = _exp_plus_one(arg)
    if exponent is not None and softplus is not None:
        return softplus(exponent)
    terms = sympy.Add.make_args(arg)
    if len(terms) == 2 and all(isinstance(t, sympy.exp) for t in terms) and logaddexp:
        return logaddexp(terms[0].args[0], terms[1].args[0])
    if arg.is_Add and 1 in arg.args:
        return log1p(arg - 1)
    return sympy.log(arg)


def _exp_plus_one(expr):
    """u where ``expr`` is ``1 + exp(u)``, else None."""
    if expr.is_Add and len(expr.args) == 2 and 1 in expr.args:
        (other,) = (t for t in expr.args if t != 1)
        if isinstance(other, sympy.exp):
            return other.args[0]
    return None


def _exp_minus_one(expr):
    """u where ``expr`` is ``exp(u) - 1``, else None."""
    if len(expr.args) == 2 and -1 in expr.args:
        (other,) = (t for t in expr.args if t != -1)
        if isinstance(other, sympy.exp):
            return other.args[0]
    return None
