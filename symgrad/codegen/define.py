"""The derivation behind ``sg.define``: a user's element-wise op, declared at run time,
goes through the very pipeline ``make generate`` runs (derive, render from the same
template, import the rendered text, verify the class) and comes out as the module text
to load, or a CheckError naming the op, the input and the point.

The definition may call the element-wise table's ops by name (``x * sigmoid(beta * x)``);
those rows are derived first, in the same pipeline, so that the user's rule calls their
checked kernels. A definition written the textbook way has the table's stable
functions recognised in it first (``symgrad/codegen/recognize.py``).
"""

import sympy
from sympy.core.function import AppliedUndef

from symgrad.codegen.pipeline import ElementwisePipeline
from symgrad.codegen.recognize import recognized
from symgrad.ops import elementwise
from symgrad.ops.spec import INF, Elementwise, Kink

TABLE = {op.name: op for op in elementwise.OPS}


def parse(name, text_or_expr, inputs, params):
    """The definition as a SymPy expression of real symbols named by ``inputs`` and
    ``params``: a SymPy expression or a string."""
    symbols = {n: sympy.Symbol(n, real=True) for n in (*inputs, *params)}
    if isinstance(text_or_expr, str):
        # the table's ops by name, but where SymPy has the function (log, exp, sin): SymPy's
        ops = {op: sympy.Function(op) for op in TABLE if not hasattr(sympy, op)}
        namespace = {**ops, **symbols}
        expr = sympy.sympify(text_or_expr, locals=namespace)
    else:
        expr = sympy.sympify(text_or_expr)
    # the user's symbols (any assumptions) as the table's: real
    expr = expr.xreplace({s: symbols[s.name] for s in expr.free_symbols if s.name in symbols})
    unknown = sorted(s.name for s in expr.free_symbols if s.name not in symbols)
    if unknown:
        raise ValueError(f"{name}: {', '.join(unknown)} is neither an input nor a param")
    return expr


def derive(name, forward, inputs, params, domain, kinks, kernel):
    """(module text, class name) of the user's op, verified; raises CheckError."""
    placeholders = {op: sympy.Function(op) for op in TABLE}
    written = forward
    forward = recognized(_as_placeholders(forward), placeholders)
    kernel = None if kernel is None else _as_placeholders(kernel)
    values, slopes = removable_singularities(written, inputs)
    if values:  # the forward takes its limits there (sin(pi x)/(pi x) is 1 at 0)
        kernel = sympy.Piecewise(*values, (forward if kernel is None else kernel, True))
        kinks = [*kinks, *slopes]
    row = Elementwise(
        name,
        forward,
        inputs=tuple(inputs),
        params=tuple(params.items()),
        kernel=kernel,
        domain={key: tuple(_bound(v) for v in bounds) for key, bounds in domain.items()},
        kinks=tuple(Kink(*kink) for kink in kinks),
    )
    pipeline = ElementwisePipeline(f"sg.define({name!r})")
    for used in _table_rows_used([forward, kernel]):
        pipeline.add(used)
    pipeline.add(row)
    module = pipeline.render([pipeline.states[-1].derived()])
    return module, row.class_name


def removable_singularities(expr, inputs):
    """Where ``expr`` of one input is 0/0 with a finite limit (from both sides): the
    forward's value there, as (value, condition) cases, and its slope, as kinks."""
    if len(expr.free_symbols) != 1:
        return [], []
    (symbol,) = expr.free_symbols
    _, denominator = sympy.fraction(sympy.together(expr))
    if not denominator.has(symbol):
        return [], []
    zeros = sympy.solveset(denominator, symbol, domain=sympy.S.Reals)
    if not isinstance(zeros, sympy.FiniteSet):
        return [], []
    values, slopes = [], []
    for point in sorted(zeros, key=float):
        value = sympy.limit(expr, symbol, point)
        if not value.is_finite or value != sympy.limit(expr, symbol, point, "-"):
            continue  # a pole, or a jump: not removable
        slope = sympy.limit(sympy.diff(expr, symbol), symbol, point)
        values.append((value, sympy.Eq(symbol, point)))
        why = "the limit there (a removable singularity)"
        slopes.append(({symbol.name: point}, {symbol.name: slope}, why))
    return values, slopes


def _bound(value):
    """An end of a domain: +-inf as the table writes it."""
    return INF if value == float("inf") else -INF if value == float("-inf") else value


def _as_placeholders(expr):
    """Calls of the table's ops (as parsed or as the user's own Function objects) as the
    placeholders the pipeline binds."""
    return expr.replace(
        lambda e: isinstance(e, AppliedUndef) and type(e).__name__ in TABLE,
        lambda e: sympy.Function(type(e).__name__)(*e.args),
    )


def _table_rows_used(exprs):
    """The table's rows the expressions call, each after the rows it calls, in order."""
    wanted, stack = set(), [e for e in exprs if e is not None]
    while stack:
        for applied in stack.pop().atoms(AppliedUndef):
            name = type(applied).__name__
            if name in TABLE and name not in wanted:
                wanted.add(name)
                stack.append(TABLE[name].forward)
                if TABLE[name].kernel is not None:
                    stack.append(TABLE[name].kernel)
    return [op for op in elementwise.OPS if op.name in wanted]
