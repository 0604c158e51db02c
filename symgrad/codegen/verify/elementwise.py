"""Verify an element-wise op: its rendered class, run as the engine runs it, against
SymPy's derivative of the op's definition evaluated in mpmath at HIGH_PRECISION_DIGITS.

Points are drawn once per op, seeded by its name (``check_points``): samples inside its
domain, away from singular points and kinks; stress points (``policy.STRESS``) inside
its domain; and each declared kink. There ``verify_class`` checks:

1. the forward equals the definition (samples; stress points, relative error);
2. each input's rule (``calculate_grads`` with grad = 1, given what the node saved)
   equals the derivative (samples), matches central finite differences of the class's
   own forward (samples), stays accurate at stress points (relative error; inf where
   the true value overflows float64), and takes the declared value at each kink;
3. where the true value is finite, the rule raises no NumPy warning;
4. zero stays zero: at the op's edge points (its declared singular points, the finite
   ends of its domain and its kinks, alone and combined across inputs), an upstream
   gradient of exactly 0 gives exactly 0 (``_verify_zero_stays_zero``). A rule that is
   non-finite there needs the guard the pipeline renders for it (``singular_inputs``);
   without it, 0 * inf is nan and this check names the op, the input and the point.

``verify_form`` checks a candidate form as an expression, in mpmath, before it is
rendered: a wrong branch (sin' as sqrt(1 - out**2)) fails there for certain.
"""

import itertools
import zlib
from dataclasses import dataclass

import mpmath
import numpy
import sympy

from symgrad.codegen.symbols import OUT, expand_definitions, sanitize
from symgrad.codegen.verify import policy
from symgrad.codegen.verify.policy import CheckError

# Enough digits that no cancellation at a stress point reaches the float64 range:
# log(1 + exp(-700)) needs ~310 (at 30 digits it is 0, and 1e-304 is a float64).
HIGH_PRECISION_DIGITS = 500
# How far the output a rule is handed may be from the exact one (the forward is checked
# to a few units in the last place): see _rounding_of_out.
OUT_ULPS = 2


# ---- points -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Points:
    samples: tuple  # of {input name: value}
    stress: tuple  # likewise: one input at a stress value, the others typical
    kinks: tuple  # of (Kink, point)
    edges: tuple = ()  # where the rule may be non-finite: see edge_points


def check_points(op):
    """Where ``op`` is checked, drawn deterministically from its row."""
    rng = numpy.random.default_rng(zlib.crc32(op.name.encode()))
    samples = []
    while len(samples) < policy.SAMPLES:
        point = {name: _draw(op, name, rng) for name in op.inputs}
        if not _near_kink(op, point):
            samples.append(point)
    typical = samples[0]
    stress = []
    for name in op.inputs:
        if isinstance(op.sample.get(name), list):
            continue  # a discrete input (a condition) has no tails
        lo, hi = op.domain.get(name, (-numpy.inf, numpy.inf))
        for value in policy.STRESS:
            point = dict(typical, **{name: value})
            inside = lo < value < hi and value not in op.singular.get(name, ())
            if inside and not any(kink_point(op, k, point) == point for k in op.kinks):
                stress.append(point)
    kinks = tuple((kink, kink_point(op, kink, typical)) for kink in op.kinks)
    return Points(tuple(samples), tuple(stress), kinks, edge_points(op, typical, kinks))


def edge_points(op, typical, kinks):
    """Where a rule of ``op`` can be non-finite at finite inputs, from its row: each
    input at its declared singular points and the finite ends of its domain, or typical,
    in every combination (arctan2's rule is 0/0 only where both inputs are 0); and each
    kink (power's x = 0 at y = 1/2)."""
    choices = []
    for name in op.inputs:
        special = set(op.singular.get(name, ()))
        if not isinstance(op.sample.get(name), list):  # a discrete input has no edges
            special |= {float(v) for v in op.domain.get(name, ()) if numpy.isfinite(float(v))}
        choices.append([typical[name], *sorted(float(v) for v in special)])
    points = [dict(zip(op.inputs, values, strict=True)) for values in itertools.product(*choices)]
    points = [p for p in points if p != typical] + [point for _, point in kinks]
    unique = {tuple(p[name] for name in op.inputs): p for p in points}
    return tuple(unique.values())


def _draw(op, name, rng):
    spec = op.sample.get(name)
    if isinstance(spec, list):  # discrete choices
        return float(rng.choice(spec))
    if spec is None:
        lo, hi = op.domain.get(name, (-numpy.inf, numpy.inf))
        spec = max(lo, policy.DEFAULT_SAMPLE[0]), min(hi, policy.DEFAULT_SAMPLE[1])
    lo, hi = spec
    margin = policy.CLEARANCE * (hi - lo)
    while True:
        value = float(rng.uniform(lo + margin, hi - margin))
        if all(abs(value - s) > policy.CLEARANCE for s in op.singular.get(name, ())):
            return value


def _near_kink(op, point):
    for kink in op.kinks:
        at = kink_point(op, kink, point)
        if all(abs(point[k] - at[k]) < policy.CLEARANCE for k in kink.at):
            return True
    return False


def _param_symbols(op):
    return {sympy.Symbol(k, real=True): v for k, v in op.param_values().items()}


def kink_point(op, kink, base):
    """The kink's position: other inputs from ``kink.given``, else from ``base``."""
    point = dict(base, **kink.given)
    values = {sympy.Symbol(k, real=True): v for k, v in point.items()}
    values.update(_param_symbols(op))
    for name, where in kink.at.items():
        point[name] = float(sympy.sympify(where).xreplace(values))
    return point


def kink_value(op, kink, name):
    """The declared derivative for input ``name`` at ``kink`` (params substituted)."""
    return float(sympy.sympify(kink.grads[name]).xreplace(_param_symbols(op)))


# ---- the reference --------------------------------------------------------------------
def _mp_heaviside(value, at_zero=0.5):
    return mpmath.mpf(1) if value > 0 else (mpmath.mpf(at_zero) if value == 0 else mpmath.mpf(0))


# What mpmath lacks of the functions the op tables use.
MP_FUNCTIONS = {"Heaviside": _mp_heaviside, "exp2": lambda value: mpmath.power(2, value)}


def mp_function(expr, names):
    """``expr`` (free of op functions) as an mpmath function of ``names``."""
    symbols = [sympy.Symbol(name, real=True) for name in names]
    return sympy.lambdify(symbols, expr, modules=[MP_FUNCTIONS, "mpmath"])


def mp_call(function, *args):
    """``function`` at mpmath arguments with HIGH_PRECISION_DIGITS; None where it is
    undefined (a pole, log of 0, a complex value)."""
    with mpmath.workdps(HIGH_PRECISION_DIGITS):
        try:
            value = function(*(mpmath.mpf(a) for a in args))
        except (ZeroDivisionError, ValueError, OverflowError):
            return None
        if isinstance(value, mpmath.mpc):
            return None if value.imag != 0 else value.real
        value = mpmath.mpf(value)
        return None if mpmath.isnan(value) else value


class Reference:
    """An op's definition and SymPy's derivatives of it, evaluated in mpmath, each
    value computed once. ``definition`` must be free of op functions."""

    def __init__(self, op, definition):
        self.op = op
        definition = definition.xreplace(_param_symbols(op))
        self.names = list(op.inputs)
        self._forward = mp_function(definition, self.names)
        self._partials = {
            name: mp_function(
                sanitize(sympy.diff(definition, sympy.Symbol(name, real=True)), op.name, name),
                self.names,
            )
            for name in op.grad_inputs
        }
        self._values = {}

    def _value(self, key, function, point):
        key = (key, *(point[name] for name in self.names))
        if key not in self._values:
            self._values[key] = mp_call(function, *key[1:])
        return self._values[key]

    def forward(self, point):
        return self._value(None, self._forward, point)

    def partial(self, name, point):
        return self._value(name, self._partials[name], point)


# ---- the checks -------------------------------------------------------------------------
def verify_form(op, points, reference, name, form):
    """The candidate ``form`` of d out / d ``name`` (over the inputs, the params and
    ``out``) equals SymPy's derivative at every sample, in mpmath."""
    expanded = expand_definitions(form.xreplace(_param_symbols(op)))
    function = mp_function(expanded, [*op.inputs, OUT.name])
    for point in points.samples:
        out, want = reference.forward(point), reference.partial(name, point)
        got = None if out is None else mp_call(function, *(point[n] for n in op.inputs), out)
        if (
            got is None
            or want is None
            or abs(got - want) > policy.HIGH_PRECISION_TOL * (1 + abs(want))
        ):
            raise CheckError(
                op.name, name, point, f"rule {form} is {got}, SymPy's derivative is {want}"
            )


def verify_class(cls, op, points, reference, names=None, zero=True):
    """The rendered class ``cls`` of ``op``: its forward, and the rule of each input in
    ``names`` (default: every input with a gradient), at every point; with ``zero``, also
    that a zero upstream gradient gives 0 at the edge points (a candidate form is chosen
    without its guard: the pipeline renders it for the chosen rules)."""
    for point in points.samples:
        _expect(op, None, point, _forward(cls, op, point), reference.forward(point), "sample")
    for point in points.stress:
        want = reference.forward(point)
        if want is not None:
            _expect(op, None, point, _forward(cls, op, point), want, "stress")
    for name in op.grad_inputs if names is None else names:
        _verify_rule(cls, op, points, reference, name)
        if zero:
            _verify_zero_stays_zero(cls, op, points, name)
    _verify_fresh(cls, op, points.samples[0])
    if names is None:  # the whole class: its jvp sums every input's term
        for point in points.samples:
            _verify_jvp(cls, op, reference, point)


def _verify_jvp(cls, op, reference, point):
    """The class's jvp along a random tangent (seeded by the op and the point) equals
    SymPy's partials contracted with it and central finite differences of its forward
    along it; each input alone, then all together."""
    rng = numpy.random.default_rng(zlib.crc32(repr((op.name, point)).encode()))
    direction = {name: float(rng.uniform(-1, 1)) for name in op.grad_inputs}
    for alone in [*([name] for name in op.grad_inputs), list(op.grad_inputs)]:
        tangent = {name: direction[name] for name in alone}
        got = jvp_value(cls, op, point, tangent)
        want = sum(reference.partial(name, point) * mpmath.mpf(t) for name, t in tangent.items())
        _expect(op, "the jvp", point, got, want, "sample")
        step = 1e-6 * max(1.0, *(abs(point[name]) for name in tangent))
        moved = [
            _forward(
                cls, op, {**point, **{n: point[n] + sign * step * t for n, t in tangent.items()}}
            )
            for sign in (1, -1)
        ]
        slope = (moved[0] - moved[1]) / (2 * step)
        if abs(got - slope) > policy.FINITE_DIFFERENCE_RTOL * max(1.0, abs(slope)):
            raise CheckError(
                op.name, "jvp", point, f"jvp gives {got}, central finite differences {slope}"
            )


def jvp_value(cls, op, point, tangent):
    """The class's ``calculate_jvp`` at ``point`` along ``tangent`` ({input: value}; an
    input not in it has no tangent), its node built as ``apply`` builds it."""
    datas = _arrays(op, point)
    params = tuple(op.param_values().values())
    tangents = tuple(numpy.array(tangent[name]) if name in tangent else None for name in op.inputs)
    try:
        with numpy.errstate(all="ignore"):
            out = cls.forward(*datas, *params)
            needs = tuple(name in op.grad_inputs for name in op.inputs)
            node = cls(tuple(datas), tuple(datas), out, params, needs)
            value = node.calculate_jvp(tangents, node.children, node.out)
        return 0.0 if value is None else float(value)
    except Exception as error:  # the rendered code is under test: any failure is its
        raise CheckError(op.name, "the jvp", point, f"jvp raises {error!r}") from None


def _verify_fresh(cls, op, point):
    """What the class declares fresh is, with every input asking for its gradient."""
    datas = _arrays(op, point)
    params = tuple(op.param_values().values())
    with numpy.errstate(all="ignore"):
        out = cls.forward(*datas, *params)
        needs = tuple(name in op.grad_inputs for name in op.inputs)
        node = cls(tuple(datas), tuple(datas), out, params, needs)
        grad = numpy.ones(numpy.shape(out))
        grads = node.calculate_grads(grad, node.children, node.out, needs)
    policy.check_fresh(op.name, cls, grads, [grad, *datas, out], point)


def _verify_rule(cls, op, points, reference, name):
    for point in points.samples:
        got = rule_value(cls, op, name, point)
        _expect(op, name, point, got, reference.partial(name, point), "sample")
        _expect_slope(cls, op, name, point, got)
    for point in points.stress:
        want = reference.partial(name, point)
        if want is None:
            continue
        got = rule_value(cls, op, name, point, want)
        slack = 0.0
        if not policy.close(got, want, policy.STRESS_RTOL, policy.STRESS_ATOL):
            slack = _rounding_of_out(cls, op, name, point, got)
        _expect(op, name, point, got, want, "stress", slack)
    for kink, point in points.kinks:
        if name in kink.grads:
            want = kink_value(op, kink, name)
            got = rule_value(cls, op, name, point, want)
            if not numpy.isclose(got, want, rtol=policy.KINK_RTOL, atol=0):
                raise CheckError(
                    op.name, name, point, f"gives {got} at a kink, the convention is {want}"
                )


def _verify_zero_stays_zero(cls, op, points, name):
    """At each edge point, an upstream gradient of exactly 0 gives exactly 0 (and no
    NumPy warning): the guard is rendered where the rule is non-finite there, and a rule
    without it must be finite there."""
    for point in points.edges:
        got = rule_value(cls, op, name, point, want=0.0, grad=0.0)
        if got != 0:
            raise CheckError(
                op.name,
                name,
                point,
                f"a zero upstream gradient gives {got} at an edge point (a singular point, "
                "the end of its domain or a kink): the rule needs its zero guard",
            )


def singular_inputs(cls, op, points):
    """The inputs whose rule (in ``cls``, unguarded) is non-finite for grad = 1 at an edge
    point: those that get the zero guard."""
    return tuple(
        name
        for name in op.grad_inputs
        if any(
            not numpy.isfinite(rule_value(cls, op, name, point, numpy.inf))
            for point in points.edges
        )
    )


def _expect(op, name, point, got, want, where, slack=0.0):
    what = "forward" if name is None else "rule"
    if want is None:
        raise CheckError(op.name, name, point, f"{what} is {got}, the definition is undefined")
    if where == "sample":
        ok = policy.close(got, want, policy.SAMPLE_RTOL, policy.SAMPLE_ATOL)
    else:
        ok = policy.close(got, want, policy.STRESS_RTOL, policy.STRESS_ATOL + slack)
    if not ok:
        raise CheckError(op.name, name, point, f"{what} is {got}, expected {float(want)!r}")


def _rounding_of_out(cls, op, name, point, got):
    """How far the rule moves when the output it is handed moves by OUT_ULPS units in
    the last place either way: the error that the rounding of ``out`` alone causes, which
    no form of the rule can undo (sigmoid' as out*(1 - out) where out rounds to 1). A
    form whose own arithmetic cancels (softplus' as 1 - exp(-out)) gets no slack from
    this: nudging out does not move it."""
    moved = [rule_value(cls, op, name, point, numpy.inf, ulps) for ulps in (-OUT_ULPS, OUT_ULPS)]
    return max((abs(value - got) for value in moved if numpy.isfinite(value)), default=0.0)


def _expect_slope(cls, op, name, point, got):
    value = point[name]
    step = 1e-6 * max(1.0, abs(value))
    above = _forward(cls, op, dict(point, **{name: value + step}))
    below = _forward(cls, op, dict(point, **{name: value - step}))
    slope = (above - below) / (2 * step)
    if abs(got - slope) > policy.FINITE_DIFFERENCE_RTOL * max(1.0, abs(slope)):
        raise CheckError(
            op.name, name, point, f"rule gives {got}, central finite differences {slope}"
        )


# ---- running the class as the engine does -----------------------------------------------
def _arrays(op, point):
    return [numpy.array(point[name], dtype=numpy.float64) for name in op.inputs]


def forward_value(cls, op, point):
    """The class's forward at ``point``, a float."""
    return _forward(cls, op, point)


def _forward(cls, op, point):
    try:
        with numpy.errstate(all="ignore"):
            return float(cls.forward(*_arrays(op, point), *op.param_values().values()))
    except Exception as error:  # the rendered code is under test: any failure is its
        raise CheckError(op.name, None, point, f"forward raises {error!r}") from None


def rule_value(cls, op, name, point, want=1.0, ulps=0, grad=1.0):
    """d out / d ``name`` at ``point`` from the class: its node built as ``apply`` builds
    it and its rule called as the engine calls it (with what the node saved), for the
    upstream gradient ``grad`` (1: the derivative itself);
    the output moved by ``ulps`` units in the last place. NumPy warnings fail the check
    where the true value ``want`` is finite."""
    datas = _arrays(op, point)
    params = tuple(op.param_values().values())
    with numpy.errstate(all="ignore"):
        out = cls.forward(*datas, *params)
    for _ in range(abs(ulps)):
        out = numpy.nextafter(out, numpy.inf if ulps > 0 else -numpy.inf)
    needs = tuple(n == name for n in op.inputs)
    try:
        node = cls(tuple(datas), tuple(datas), out, params, needs)
        with policy.warnings_fail(bool(numpy.isfinite(float(want)))):
            grads = node.calculate_grads(
                numpy.full(numpy.shape(out), grad), node.children, node.out, needs
            )
        return float(grads[op.inputs.index(name)])
    except RuntimeWarning as warning:
        raise CheckError(op.name, name, point, f"rule warns: {warning}") from None
    except Exception as error:  # the rendered code is under test: any failure is its
        raise CheckError(op.name, name, point, f"rule raises {error!r}") from None
