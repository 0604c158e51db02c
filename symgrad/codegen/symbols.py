"""The symbolic vocabulary that derivation and verification share: the names a rule may
use (``grad``, ``out``), the ops of the table as SymPy functions (so that a later row can
call an earlier one), and the clean-up of what SymPy leaves at jumps."""

from typing import ClassVar

import sympy
from sympy import Derivative, DiracDelta, Function, S, Subs, Symbol
from sympy.core.function import AppliedUndef

from symgrad.codegen.verify.policy import CheckError

GRAD = Symbol("grad", real=True)
OUT = Symbol("out", real=True)

# Functions whose derivative is zero wherever it exists (their jumps are conventions).
PIECEWISE_CONSTANT = (sympy.floor, sympy.ceiling, sympy.sign, sympy.Heaviside)


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
    # the chain rule through a piecewise constant of a compound argument, floor(x/y),
    # leaves its derivative 0 at a substituted point: evaluate what is now constant
    derivative = derivative.replace(
        lambda e: isinstance(e, Subs) and not e.expr.has(Derivative), lambda e: e.doit()
    )
    if derivative.has(Derivative) or derivative.has(Subs):
        raise CheckError(op_name, input_name, None, f"derivative left unevaluated: {derivative}")
    return derivative
