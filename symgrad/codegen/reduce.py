"""Derive reductions and normalizations from their index expressions.

The vjp of ``out[o] = F(x[o, :])`` is ``x_bar[o, r] = grad[o] d out[o] / d x[o, r]`` (for
a normalization, ``Sum_r2 grad[o, r2] d out[o, r2] / d x[o, r]``). SymPy differentiates
the index expression into Kronecker deltas; delta summation collapses them. Candidate
forms reuse the output: each sum in the forward is held as an opaque symbol and solved
for from ``out = forward`` (logsumexp: the sum is exp(out)), and for a normalization the
element itself is solved for (softmax: exp(x) is out times the sum). Each candidate is
lowered to array code (``grad[o]`` becomes the gradient with the reduced axes kept as
size 1, ``Sum(f, r2)`` a keepdims sum over the axes), and the cheapest that passes the
numeric checks of its rendered class pass is kept (``symgrad.codegen.pipeline``).
"""

from dataclasses import dataclass

import sympy
from sympy import Function, IndexedBase, Sum, Symbol, symbols
from sympy.concrete.delta import deltasummation
from sympy.printing.precedence import PRECEDENCE
from sympy.simplify.simplify import factor_sum

from symgrad.codegen.derive import cost
from symgrad.codegen.printer import RulePrinter, UnprintableError, print_numpy, select_may_warn
from symgrad.codegen.verify.policy import CheckError

X, GRAD = IndexedBase("x", real=True), IndexedBase("grad", real=True)
KEPT, ELEMENT, OUT_ELEMENT = symbols("o r r2", integer=True)
COUNT = Symbol("n", integer=True, positive=True)


# The temperature at which a limit op's definition is compared with its kernel: within
# LOW_TEMPERATURE * log(n) of the limit, and exp(x / LOW_TEMPERATURE) finite for |x| < 7.
LOW_TEMPERATURE = 0.01


class KeptSum(Function):
    """A sum over the reduced axes that keeps them (size 1), in lowered code."""


class KeptProduct(Function):
    """A product over the reduced axes that keeps them (size 1), in lowered code."""


class ProductBefore(Function):
    """Per element, the product of the elements before it along the reduced axes."""


class ProductAfter(Function):
    """Per element, the product of the elements after it along the reduced axes."""


class ReductionPrinter(RulePrinter):
    def _print_KeptSum(self, expr):
        # NOTE: the method, not numpy.sum: that wrapper costs ~2 us a call on small arrays
        # (a tensor, under create_graph, has the same method)
        summed = self.parenthesize(expr.args[0], PRECEDENCE["Atom"], strict=True)
        return f"{summed}.sum(axis=axes, keepdims=True)"

    def _print_KeptProduct(self, expr):
        return f"numpy.prod({self._print(expr.args[0])}, axis=axes, keepdims=True)"

    def _print_ProductBefore(self, expr):
        return f"product_before({self._print(expr.args[0])}, axes)"

    def _print_ProductAfter(self, expr):
        return f"product_after({self._print(expr.args[0])}, axes)"


class UnlowerableError(ValueError):
    pass


@dataclass
class DerivedReduction:
    reduction: object
    forward: sympy.Expr  # the index expression of the output
    vjp: sympy.Expr  # the chosen x_bar[o, r], indexed
    code: str  # its array code
    forward_code: str  # the definition as array code (to check the kernel against)
    quiet: bool = False  # the code selects with a branch that can warn (see select_may_warn)
    jvp_code: str | None = None  # a normalization's jvp (the reductions' comes from the vjp)


def out_base(reduction):
    return (
        IndexedBase("out", nonnegative=True)
        if reduction.nonnegative
        else IndexedBase("out", real=True)
    )


def out_index(reduction):
    return (KEPT, OUT_ELEMENT) if reduction.normalize else (KEPT,)


def collapse(expr):
    """Evaluate every Sum of Kronecker deltas by delta summation, innermost first."""
    return expr.replace(lambda e: isinstance(e, Sum), _collapse_sum)


def _collapse_sum(total):
    term = collapse(total.function)
    for limit in total.limits:
        term = deltasummation(term, limit, no_piecewise=True)
    return term


def forward_of(reduction):
    """out[o] (its sums over r2), or for a normalization out[o, r2]."""
    return reduction.forward(X, KEPT, OUT_ELEMENT, COUNT)


def raw_vjp(reduction, forward):
    derivative = sympy.diff(forward, X[KEPT, ELEMENT])
    if reduction.normalize:
        return collapse(Sum(GRAD[KEPT, OUT_ELEMENT] * derivative, (OUT_ELEMENT, 0, COUNT - 1)))
    return collapse(GRAD[KEPT] * derivative)


TANGENT = sympy.IndexedBase("t", real=True)


def normalization_jvp_code(reduction, forward):
    """A normalization's jvp as array code over ``t`` (the tangent, shaped as x): the index
    derivative contracted with the tangent instead of the gradient, sum_r t[o, r] *
    d out[o, r2] / d x[o, r], collapsed, rewritten with the output as the vjp is, and the
    cheapest lowerable form kept (softmax: out*(t - sum(out*t)))."""
    derivative = sympy.diff(forward, X[KEPT, ELEMENT])
    raw = collapse(Sum(TANGENT[KEPT, ELEMENT] * derivative, (ELEMENT, 0, COUNT - 1)))
    forms = []
    for form in [raw, *reuse_candidates(reduction, forward, raw)]:
        # the free index as the vjp's (r), the summed one as r2: lowered the same way
        form = form.xreplace({ELEMENT: OUT_ELEMENT, OUT_ELEMENT: ELEMENT})
        try:
            lowered = lower(reduction, form)
            forms.append((cost(lowered), print_lowered(lowered)))
        except (UnlowerableError, UnprintableError):
            continue
    if not forms:
        raise CheckError(reduction.name, "the jvp", None, f"no lowerable jvp: {raw}")
    return min(forms)[1]


def reuse_candidates(reduction, forward, vjp):
    """The vjp rewritten in terms of the output, by solving ``out = forward`` for each sum
    of the forward (held opaque) and, for a normalization, for the element."""
    out = out_base(reduction)[out_index(reduction)]
    sums = sorted(forward.atoms(Sum), key=sympy.default_sort_key)
    opaque = {s: Symbol(f"opaque{i}", positive=True) for i, s in enumerate(sums)}
    forward_o, vjp_o = forward.xreplace(opaque), vjp.xreplace(opaque)
    found = []
    for symbol in opaque.values():
        for solution in _solve(out, forward_o, symbol):
            found.append(vjp_o.xreplace({symbol: solution}))
    if reduction.normalize:
        element, value = Symbol("element", real=True), Symbol("value", real=True)
        for solution in _solve(value, forward_o.xreplace({X[KEPT, OUT_ELEMENT]: element}), element):
            found.append(
                vjp_o.replace(
                    lambda e: isinstance(e, sympy.Indexed) and e.base == X,
                    lambda e, s=solution: s.xreplace({value: out_base(reduction)[e.indices]}),
                )
            )
    back = {symbol: s for s, symbol in opaque.items()}
    return [_tidy(form.xreplace(back)) for form in found]


def zero_temperature(reduction, vjp):
    """The limit of ``vjp`` as the temperature goes to 0+. Every exp(u/tau) is first
    shifted by the output (exp((u -+ out)/tau): the vjp is a ratio, so the shift cancels);
    with the exponent then <= 0, exp(v/tau) tends to 1 where v = 0 and to 0 elsewhere.
    Both signs of shift are candidates; the checks keep the one that is right."""
    tau, out = reduction.temperature, out_base(reduction)[out_index(reduction)]

    def is_tempered(e):
        return isinstance(e, sympy.exp) and e.args[0].has(tau)

    forms = []
    for sign in (1, -1):
        shifted = vjp.replace(is_tempered, lambda e, s=sign: sympy.exp(e.args[0] - s * out / tau))
        limit = shifted.replace(
            is_tempered,
            lambda e: sympy.Piecewise((1, _equal_sides(e.args[0] * tau)), (0, True)),
        )
        if not limit.has(tau):
            forms.append(limit)
    return forms


def _equal_sides(difference):
    """``difference == 0`` as an equation between its positive and its negative terms:
    ``out - x == 0`` as ``out == x``, which holds where both are the same infinity too
    (inf - inf is nan)."""
    terms = sympy.Add.make_args(sympy.expand(difference))
    positive = sympy.Add(*(t for t in terms if not t.could_extract_minus_sign()))
    return sympy.Eq(positive, positive - sympy.expand(difference))


def _solve(out, forward, symbol):
    try:
        return sympy.solve(sympy.Eq(out, forward), symbol)
    except (NotImplementedError, ValueError, TypeError):
        return []


def _tidy(form):
    form = form.replace(lambda e: isinstance(e, Sum), lambda e: factor_sum(sympy.expand(e)))
    return sympy.powsimp(sympy.cancel(form))


def lower(reduction, expr, bound=frozenset()):
    """Array code (a SymPy expression over x, grad, out, ...) for an indexed expression."""
    element = bound | {ELEMENT}
    if isinstance(expr, Sum | sympy.Product):
        ((index, low, high),) = expr.limits
        kind = _ORDERED.get((type(expr), low, high))
        if kind is None:
            raise UnlowerableError(f"{type(expr).__name__} over {expr.limits}")
        return kind(lower(reduction, expr.function, bound | {index}))
    if isinstance(expr, sympy.Indexed):
        name = expr.base.label.name
        if expr.indices == (KEPT,):
            return Symbol(f"{name}_kept", real=True)
        if len(expr.indices) == 2 and expr.indices[0] == KEPT and expr.indices[1] in element:
            return Symbol(name, real=True)
        raise UnlowerableError(f"{expr} has an index out of place")
    if not expr.args:
        return expr
    return expr.func(*(lower(reduction, arg, bound) for arg in expr.args))


def with_conventions(reduction, lowered):
    """The lowered vjp taking each declared convention's value where it applies."""
    for convention in reduction.conventions:
        if convention.where is None:
            continue
        grad = Symbol("grad" if reduction.normalize else "grad_kept", real=True)
        value = sympy.sympify(convention.value) * grad
        lowered = sympy.Piecewise((value, convention.where), (lowered, True))
    return lowered


def _ordered_kinds():
    """Sums and products over the reduced axes: all of them (kept as size 1), or, per
    element r, those before r or after r (what a product's derivative leaves)."""
    return {
        (Sum, 0, COUNT - 1): KeptSum,
        (sympy.Product, 0, COUNT - 1): KeptProduct,
        (sympy.Product, 0, ELEMENT - 1): ProductBefore,
        (sympy.Product, ELEMENT + 1, COUNT - 1): ProductAfter,
    }


_ORDERED = _ordered_kinds()


def print_lowered(expr):
    return print_numpy(expr, printer=ReductionPrinter)


def reduction_candidates(reduction):
    """Every lowerable vjp of ``reduction``, cheapest first, each as the DerivedReduction
    to render; the raw derivative's form is named when none can be lowered."""
    forward = forward_of(reduction)
    definition = forward
    if reduction.temperature is not None:  # checked against the kernel at a low temperature
        definition = forward.xreplace({reduction.temperature: LOW_TEMPERATURE})
    forward_code = print_lowered(lower(reduction, definition, frozenset({OUT_ELEMENT})))
    raw = raw_vjp(reduction, forward)
    if reduction.temperature is not None:
        candidates = zero_temperature(reduction, raw)
    else:
        candidates = [raw, *reuse_candidates(reduction, forward, raw)]
    forms = []
    for form in candidates:
        try:
            lowered = with_conventions(reduction, lower(reduction, form))
            code = print_lowered(lowered)
        except (UnlowerableError, UnprintableError):
            continue
        forms.append((cost(lowered), code, form, select_may_warn(lowered)))
    forms.sort(key=lambda entry: entry[:2])
    if not forms:
        raise CheckError(reduction.name, "x", None, f"no lowerable vjp: {raw}")
    jvp_code = normalization_jvp_code(reduction, forward) if reduction.normalize else None
    return [
        DerivedReduction(reduction, forward, form, code, forward_code, quiet, jvp_code)
        for _, code, form, quiet in forms
    ]
