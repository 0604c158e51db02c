"""Print SymPy expressions as plain NumPy code.

The stock NumPyPrinter is close, but prints erf as scalar-only ``math.erf``, Max via
``functools.reduce``, Piecewise via ``numpy.select`` and integer powers as floats; this
subclass fixes those and refuses what it cannot print.
"""

from sympy import (
    Abs,
    Float,
    Heaviside,
    Max,
    Min,
    Mul,
    Piecewise,
    Pow,
    Rational,
    S,
    ceiling,
    floor,
    preorder_traversal,
    sign,
)
from sympy.logic.boolalg import BooleanFunction
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import precedence

# Names a printed expression may call besides numpy.*: the NumPy-less special functions.
SPECIAL_FUNCTIONS = {"erf": "special.erf", "SinPi": "special.sinpi"}


class UnprintableError(ValueError):
    pass


# Functions whose NumPy forms never raise a floating-point warning (and the logic of
# conditions: and, or, not).
QUIET_FUNCTIONS = (Abs, sign, Max, Min, floor, ceiling, Heaviside, Piecewise, BooleanFunction)


def select_may_warn(expr):
    """Whether ``expr``, printed, computes a select (numpy.where) with a branch that can
    raise a NumPy floating-point warning (a division, a power, a function that overflows
    or is singular): the select computes that branch where the other is taken, too."""
    return any(
        _may_warn(part)
        for select in expr.atoms(Piecewise)
        for branch in select.args
        for part in branch
    )


def _may_warn(expr):
    for node in preorder_traversal(expr):
        if node.is_Pow and not (node.exp.is_Integer and node.exp >= 0):
            return True
        if node.is_Function and not isinstance(node, QUIET_FUNCTIONS):
            return True
    return False


class RulePrinter(NumPyPrinter):
    _module = "numpy"

    def __init__(self, op_functions=()):
        super().__init__({"fully_qualified_modules": True, "strict": True})
        # Ops of the table called inside others print as calls to their kernels.
        self.op_functions = frozenset(op_functions)

    # ---- numbers: Python literals, so float32 arrays stay float32 -----------------
    def _print_Integer(self, expr):
        return str(int(expr))

    def _print_Rational(self, expr):
        return repr(float(expr))

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Half(self, expr):
        return "0.5"

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.args
        if exponent == S.Half:
            return self._print_Function_call("numpy.sqrt", [base])
        if exponent == -S.Half:
            return f"(1 / {self._print_Function_call('numpy.sqrt', [base])})"
        if exponent.is_Integer and exponent < 0:
            return f"(1 / {self.parenthesize(base ** (-exponent), 1000)})"
        prec = precedence(expr)
        return f"{self.parenthesize(base, prec, strict=True)}**{self.parenthesize(exponent, prec)}"

    def _print_Abs(self, expr):
        return self._print_Function_call("numpy.abs", expr.args)

    # ---- branches: numpy.where, nested ------------------------------------------------
    def _print_Piecewise(self, expr):
        *branches, (last, last_cond) = expr.args
        if last_cond != S.true:
            raise UnprintableError(f"Piecewise without a default branch: {expr}")
        masked = self._mask_form(branches, last)
        if masked is not None:
            return masked
        code = self._print(last)
        for value, cond in reversed(branches):
            code = f"numpy.where({self._print(cond)}, {self._print(value)}, {code})"
        return code

    def _mask_form(self, branches, last):
        """``grad`` where a condition holds and 0 elsewhere, as ``grad * (condition)``: a
        third of numpy.where's cost. As in JAX and HIPS autograd, an inf or nan gradient
        under the mask gives nan (numpy.where would give 0). Only a bare ``grad`` branch
        is masked this way: a computed branch may be nan exactly where it is masked off
        (a kink convention), and there only a select is right."""
        if len(branches) != 1:
            return None
        (value, cond), default = branches[0], last
        mask = self._print(cond)
        if not cond.is_Relational:  # a relation prints in parentheses already
            mask = f"({mask})"
        if value.is_Symbol and value.name == "grad" and default == 0:
            return f"grad*{mask}"
        if default.is_Symbol and default.name == "grad" and value == 0:
            # NOTE: not ~: the condition may be a Python bool (where(False, x, y)), whose
            # ~ is -1
            return f"grad*numpy.logical_not{mask}"
        return None

    def _print_Relational(self, expr):
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[expr.rel_op]
        return f"({self._print(expr.lhs)} {op} {self._print(expr.rhs)})"

    def _print_And(self, expr):
        return " & ".join(f"{self._print(arg)}" for arg in sorted(expr.args, key=str))

    def _print_Or(self, expr):
        return " | ".join(f"{self._print(arg)}" for arg in sorted(expr.args, key=str))

    def _print_Heaviside(self, expr):
        at_zero = expr.pargs[1] if len(expr.pargs) > 1 else Rational(1, 2)
        return f"numpy.heaviside({self._print(expr.pargs[0])}, {self._print(at_zero)})"

    def _print_Max(self, expr):
        return self._fold("numpy.maximum", expr.args)

    def _print_Min(self, expr):
        return self._fold("numpy.minimum", expr.args)

    def _fold(self, fn, args):
        args = sorted(args, key=str)
        code = self._print(args[0])
        for arg in args[1:]:
            code = f"{fn}({code}, {self._print(arg)})"
        return code

    def _print_Mul(self, expr):
        # -a*(b - c) prints as a*(c - b): one negation (and one array) fewer.
        coeff, rest = expr.as_coeff_Mul()
        factors = Mul.make_args(rest)
        sums = [f for f in factors if f.is_Add]
        if coeff.is_negative and sums:
            others = [f for f in factors if f is not sums[0]]
            if coeff != -1:
                others.insert(0, -coeff)
            return self._print_factors([-sums[0], *others])
        divides = any(f.is_Pow and f.exp.is_negative for f in factors)
        if coeff == 1 and len(factors) > 1 and not divides:
            return self._print_factors(list(factors))
        return super()._print_Mul(expr)

    def _print_factors(self, factors):
        """A product with its computed factors first: NumPy then writes the result into
        the first temporary instead of a new array (its temporary elision)."""
        computed = [f for f in factors if not f.is_Atom]
        plain = [f for f in factors if f.is_Atom]
        prec = precedence(Mul(*factors, evaluate=False))
        return "*".join(self.parenthesize(f, prec) for f in (*computed, *plain))

    def _print_Function_call(self, name, args):
        """``name(args)``; a unary NumPy function of a computed (temporary) array is run
        in place, over that temporary."""
        if len(args) == 1 and name.startswith("numpy.") and not args[0].is_Atom:
            return f"special.inplace({name}, {self._print(args[0])})"
        return f"{name}({', '.join(self._print(a) for a in args)})"

    def _print_sign(self, expr):
        return self._print_Function_call("numpy.sign", expr.args)

    def _print_erf(self, expr):
        return f"{SPECIAL_FUNCTIONS['erf']}({self._print(expr.args[0])})"

    def _print_SinPi(self, expr):
        return f"{SPECIAL_FUNCTIONS['SinPi']}({self._print(expr.args[0])})"

    def _print_Function(self, expr):
        name = type(expr).__name__
        if name in self.op_functions:
            return f"{name}({', '.join(self._print(arg) for arg in expr.args)})"
        return super()._print_Function(expr)

    def _print_AppliedUndef(self, expr):
        return self._print_Function(expr)

    def _print_DiracDelta(self, expr):
        raise UnprintableError(f"DiracDelta survived sanitizing: {expr}")

    def _print_Derivative(self, expr):
        raise UnprintableError(f"an unevaluated derivative survived: {expr}")

    def _print_Subs(self, expr):
        raise UnprintableError(f"an unevaluated substitution survived: {expr}")

    def _print_Symbol(self, expr):
        return expr.name


def _print_known_function(self, expr):
    name = self._module_format(self.known_functions[type(expr).__name__])
    return self._print_Function_call(name, expr.args)


# NumPyPrinter binds one module-level function per known NumPy function; route them
# through _print_Function_call (for the in-place form) unless overridden above.
for _name in NumPyPrinter._kf:
    if f"_print_{_name}" not in RulePrinter.__dict__:
        setattr(RulePrinter, f"_print_{_name}", _print_known_function)


def fold_constants(expr):
    """Numeric subexpressions (sqrt(2)/2, log(10), 1/3) as float literals; exponents kept
    exact so that x**2 and x**(1/2) still print as x**2 and sqrt(x)."""
    if expr.is_Integer or expr.is_Float or expr.is_Symbol:
        return expr
    if expr.is_number and expr.is_real:
        return Float(expr.evalf(20), 17)
    if isinstance(expr, Pow):
        return Pow(fold_constants(expr.base), expr.exp)
    if not expr.args:
        return expr
    return expr.func(*(fold_constants(arg) for arg in expr.args))


def print_numpy(expr, op_functions=(), printer=None):
    """NumPy code for ``expr``; raises UnprintableError for anything not plain NumPy."""
    code = (printer or RulePrinter)(op_functions).doprint(fold_constants(expr))
    for bad in ("math.", "mpmath.", "functools.", "numpy.select", "# Not supported"):
        if bad in code:
            raise UnprintableError(f"cannot print {expr} as NumPy: {code}")
    return code
