"""Derive the backward rule of every element-wise op from its forward definition.

For each input: differentiate, sanitize what SymPy leaves behind at jumps, build candidate
forms (the raw derivative, the output reused in place of the forward, the input solved
from the output, cheap rewrites of each), and keep the cheapest candidate that passes
every check of ``symgrad.codegen.check``. Nothing here is keyed to an op's name.
"""

from dataclasses import dataclass
from typing import ClassVar

import sympy
from sympy import (
    Derivative,
    DiracDelta,
    Eq,
    Function,
    Piecewise,
    S,
    Subs,
    Symbol,
    cancel,
    factor,
    factor_terms,
    piecewise_fold,
    powsimp,
    together,
)
from sympy.codegen.rewriting import optimize, optims_c99
from sympy.core.function import AppliedUndef

from symgrad.codegen import check
from symgrad.codegen.check import CheckError

GRAD = Symbol("grad", real=True)
OUT = Symbol("out", real=True)

# Functions whose derivative is zero wherever it exists (their jumps are conventions).
PIECEWISE_CONSTANT = (sympy.floor, sympy.ceiling, sympy.sign, sympy.Heaviside)
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


class OpFunction(Function):
    """An op of the table used inside a later op's forward (silu uses sigmoid).

    Subclasses are made per op by ``op_function``; their derivative is the op's own
    derived rule, with the output standing for the function itself.
    """

    inputs: ClassVar[tuple] = ()
    definition: ClassVar = None  # the op's forward over its input symbols
    rules: ClassVar[dict] = {}  # input name -> derived rule over inputs and OUT

    @classmethod
    def eval(cls, *args):
        return None

    def fdiff(self, argindex=1):
        name = self.inputs[argindex - 1]
        values = dict(zip(self.symbols(), self.args, strict=True))
        values[OUT] = self
        return self.rules[name].xreplace(values)

    @classmethod
    def symbols(cls):
        return [Symbol(name, real=True) for name in cls.inputs]

    def expand_definition(self):
        return self.definition.xreplace(dict(zip(self.symbols(), self.args, strict=True)))


def op_function(name, inputs, definition, rules):
    return type(
        name,
        (OpFunction,),
        {"inputs": tuple(inputs), "definition": definition, "rules": dict(rules)},
    )


def bind_functions(expr, functions):
    """Replace the table's placeholder functions (``Function("sigmoid")``) by the derived
    op functions; a placeholder for an op not yet derived is an error."""

    def bind(applied):
        name = type(applied).__name__
        if name not in functions:
            raise CheckError(name, None, None, "is used before its row in the op table")
        return functions[name](*applied.args)

    return expr.replace(lambda e: isinstance(e, AppliedUndef), bind)


def expand_definitions(expr):
    """The expression with every op function replaced by its definition (for references
    that must not depend on any derived rule)."""
    while expr.has(OpFunction):
        expr = expr.replace(lambda e: isinstance(e, OpFunction), lambda e: e.expand_definition())
    return expr


def sanitize(derivative, op_name, input_name):
    """Remove what SymPy leaves at jumps: DiracDelta and derivatives of piecewise
    constants are 0 (the jump itself is a declared convention); anything else left
    unevaluated stops generation."""
    derivative = derivative.replace(lambda e: isinstance(e, DiracDelta), lambda e: S.Zero)
    derivative = derivative.replace(
        lambda e: isinstance(e, Derivative) and isinstance(e.expr, PIECEWISE_CONSTANT),
        lambda e: S.Zero,
    )
    if derivative.has(Derivative) or derivative.has(Subs):
        raise CheckError(op_name, input_name, None, f"derivative left unevaluated: {derivative}")
    return derivative


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

    @property
    def vjps(self):
        """grad times each partial, with grad pushed into branches so that a branch that
        passes the gradient through prints as ``grad`` (and keeps its dtype)."""
        return {name: piecewise_fold(GRAD * rule) for name, rule in self.rules.items()}


def derive_op(op, functions, evaluator):
    """Derive and check every rule of ``op``; ``functions`` holds the ops derived so far
    (updated with this one), ``evaluator`` compiles expressions to NumPy and mpmath."""
    forward = bind_functions(op.forward, functions)
    kernel = bind_functions(op.kernel, functions) if op.kernel is not None else forward
    symbols = {name: Symbol(name, real=True) for name in op.inputs}
    checker = check.Checker(op, forward, kernel, evaluator)
    checker.check_kernel()
    rules = {}
    for name in op.grad_inputs:
        raw = sanitize(sympy.diff(forward, symbols[name]), op.name, name)
        rules[name] = choose_rule(checker, name, forward, raw, list(symbols.values()))
    functions[op.name] = op_function(op.name, op.inputs, forward, rules)
    evaluator.add_kernel(op.name, op.inputs, [p for p, _ in op.params], kernel)
    return DerivedOp(op, forward, kernel, rules)


def choose_rule(checker, name, forward, raw, inputs):
    """The cheapest candidate that passes every check, preferring one that meets the kink
    conventions by itself over one patched at the kinks; if none passes, the raw
    derivative's failure stops generation."""
    forms = candidates(forward, raw, inputs)
    for patch_kinks in (False, True):
        for form in forms:
            if patch_kinks:
                form = checker.apply_kinks(name, form)
            try:
                checker.check_rule(name, form)
            except CheckError:
                continue
            return form
    checker.check_rule(name, checker.apply_kinks(name, raw))  # raises, naming the point
    raise AssertionError("unreachable: the raw derivative passed after every form failed")
