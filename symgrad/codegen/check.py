"""Check a candidate rule before anything is rendered.

Four checks, all at seeded points so that generation is deterministic:

1. high precision: the rule equals SymPy's derivative of the op's definition (mpmath, 30
   digits) at sample points inside the op's domain;
2. float64: the printed NumPy rule matches central finite differences of the printed
   NumPy kernel, and the high-precision value, at the same points;
3. stress: at 0, +-40, +-700, +-1000 (inside the domain) the float64 rule is finite and
   accurate wherever the true value is a float64 (inf where it overflows);
4. kinks: at each declared kink the rule gives the declared value.

A failure raises CheckError naming the op, the input and the point.
"""

import zlib

import mpmath
import numpy
import sympy

from symgrad.codegen.evaluate import mp_value

SAMPLES = 16
STRESS = (0.0, 40.0, -40.0, 700.0, -700.0, 1000.0, -1000.0)
DEFAULT_SAMPLE = (-3.0, 3.0)
# Check points keep this far from singular points and kinks (finite differences straddle
# a kink otherwise).
CLEARANCE = 0.05
FLOAT64_MAX = float(numpy.finfo(numpy.float64).max)

HIGH_PRECISION_TOL = 1e-20
FINITE_DIFFERENCE_TOL = 1e-5
FLOAT64_TOL = 1e-9
STRESS_REL_TOL = 1e-8
STRESS_ABS_TOL = 1e-12


class CheckError(Exception):
    """A rule failed a check; generation stops and nothing is written."""

    def __init__(self, op, input_name, point, reason):
        self.op, self.input_name, self.point, self.reason = op, input_name, point, reason
        where = f" at {_format_point(point)}" if point else ""
        of = ""
        if input_name:
            of = f"d/d{input_name} " if input_name.isidentifier() else f"{input_name}: "
        super().__init__(f"{op}: {of}{reason}{where}")


def _format_point(point):
    return "(" + ", ".join(f"{k}={v!r}" for k, v in point.items()) + ")"


def _given_output(rule, forward):
    """``rule(*inputs, out)`` as a function of the inputs alone, out = forward(*inputs)."""

    def evaluate(*args):
        return rule(*args, forward(*args))

    return evaluate


class Checker:
    """The checks of one op: its kernel, and each candidate rule for each input."""

    def __init__(self, op, forward, kernel, evaluator):
        from symgrad.codegen.derive import OUT, expand_definitions, sanitize

        self.op, self.evaluator, self.out = op, evaluator, OUT
        self.params = {sympy.Symbol(k, real=True): v for k, v in op.param_values().items()}
        self.names = list(op.inputs)
        self.symbols = [sympy.Symbol(name, real=True) for name in self.names]
        definition = expand_definitions(forward).xreplace(self.params)
        self.kernel = evaluator.numpy_function(kernel.xreplace(self.params), self.names)
        self.mp_forward = evaluator.mp_function(definition, self.names)
        self.mp_partials = {
            name: evaluator.mp_function(
                sanitize(sympy.diff(definition, symbol), op.name, name), self.names
            )
            for name, symbol in zip(self.names, self.symbols, strict=True)
        }
        self.expand_definitions = expand_definitions
        self.rng = numpy.random.default_rng(zlib.crc32(op.name.encode()))
        self.samples = self._sample_points()
        self.typical = {name: values[0] for name, values in self.samples.items()}

    # ---- points --------------------------------------------------------------------
    def _interval(self, name):
        lo, hi = self.op.domain.get(name, (-numpy.inf, numpy.inf))
        return max(lo, DEFAULT_SAMPLE[0]), min(hi, DEFAULT_SAMPLE[1])

    def _sample_points(self):
        points = {name: [] for name in self.names}
        while len(points[self.names[0]]) < SAMPLES:
            point = {name: self._draw(name) for name in self.names}
            if not self._near_kink(point):
                for name, value in point.items():
                    points[name].append(value)
        return {name: numpy.array(values) for name, values in points.items()}

    def _draw(self, name):
        spec = self.op.sample.get(name)
        if isinstance(spec, list):  # discrete choices
            return float(self.rng.choice(spec))
        lo, hi = spec if spec is not None else self._interval(name)
        margin = CLEARANCE * (hi - lo)
        while True:
            value = float(self.rng.uniform(lo + margin, hi - margin))
            if all(abs(value - s) > CLEARANCE for s in self.op.singular.get(name, ())):
                return value

    def _near_kink(self, point):
        for kink in self.op.kinks:
            at = self._kink_point(kink, point)
            if all(abs(point[k] - at[k]) < CLEARANCE for k in kink.at):
                return True
        return False

    def _kink_point(self, kink, base):
        """The kink's position, other inputs taken from ``kink.given``, else ``base``."""
        point = dict(base, **kink.given)
        values = {sympy.Symbol(k, real=True): v for k, v in point.items()}
        values.update(self.params)
        for name, where in kink.at.items():
            point[name] = float(sympy.sympify(where).xreplace(values))
        return point

    def _stress_points(self):
        for name in self.names:
            if isinstance(self.op.sample.get(name), list):
                continue
            lo, hi = self.op.domain.get(name, (-numpy.inf, numpy.inf))
            avoid = set(self.op.singular.get(name, ()))
            for value in STRESS:
                if lo < value < hi and value not in avoid:
                    point = dict(self.typical, **{name: value})
                    if not self._at_kink(point):
                        yield point

    def _at_kink(self, point):
        return any(self._kink_point(kink, point) == point for kink in self.op.kinks)

    # ---- evaluation ------------------------------------------------------------------
    def _args(self, point):
        return [point[name] for name in self.names]

    def _float64(self, function, point):
        # NumPy scalars, not Python floats: x/0 must give inf as it does on arrays.
        args = [numpy.float64(value) for value in self._args(point)]
        with numpy.errstate(all="ignore"):
            return numpy.asarray(function(*args), dtype=numpy.float64)

    def _rule_function(self, rule):
        """The printed NumPy rule as a function of the inputs (``out`` from the kernel)."""
        function = self.evaluator.numpy_function(rule.xreplace(self.params), [*self.names, "out"])
        return _given_output(function, self.kernel)

    def _mp_rule_function(self, rule):
        """The rule in mpmath as a function of the inputs (``out`` from the definition)."""
        rule = self.expand_definitions(rule.xreplace(self.params))
        function = self.evaluator.mp_function(rule, [*self.names, "out"])
        return _given_output(function, self.mp_forward)

    def _points(self, arrays):
        count = len(arrays[self.names[0]])
        return [{name: float(arrays[name][i]) for name in self.names} for i in range(count)]

    # ---- the checks --------------------------------------------------------------------
    def check_kernel(self):
        """The NumPy kernel equals the definition at sample and stress points."""
        for point in self._points(self.samples):
            self._compare(None, self.kernel, self.mp_forward, point, FLOAT64_TOL, "forward")
        for point in self._stress_points():
            self._compare_stress(None, self.kernel, self.mp_forward, point, "forward")

    def check_rule(self, name, rule):
        mp_rule = self._mp_rule_function(rule)
        reference = self.mp_partials[name]
        for point in self._points(self.samples):
            got, want = (
                mp_value(mp_rule, *self._args(point)),
                mp_value(reference, *self._args(point)),
            )
            if (
                got is None
                or want is None
                or abs(got - want) > HIGH_PRECISION_TOL * (1 + abs(want))
            ):
                raise CheckError(
                    self.op.name, name, point, f"rule {rule} is {got}, SymPy's derivative is {want}"
                )
        rule_f64 = self._rule_function(rule)
        for point in self._points(self.samples):
            self._compare(name, rule_f64, reference, point, FLOAT64_TOL, "float64 rule")
            self._compare_finite_difference(name, rule_f64, point)
        for point in self._stress_points():
            self._compare_stress(name, rule_f64, reference, point, "float64 rule")
        for kink in self.op.kinks:
            if name in kink.grads:
                point = self._kink_point(kink, self.typical)
                got = float(self._float64(rule_f64, point))
                want = self._kink_value(kink, name)
                if not numpy.isclose(got, want, rtol=1e-12, atol=0):
                    raise CheckError(
                        self.op.name,
                        name,
                        point,
                        f"gives {got} at a kink, the convention is {want}",
                    )

    def _kink_value(self, kink, name):
        return float(sympy.sympify(kink.grads[name]).xreplace(self.params))

    def apply_kinks(self, name, rule):
        """Give ``rule`` each declared kink value for ``name`` where the derived form is
        undefined there (x**y's d/dy at x = 0 is 0 * -inf). A finite derived value that
        disagrees with the convention is left alone: check_rule then fails, because the
        forward should be declared so that its derivative takes the convention."""
        for kink in self.op.kinks:
            if name not in kink.grads:
                continue
            point = self._kink_point(kink, self.typical)
            if numpy.isnan(float(self._float64(self._rule_function(rule), point))):
                where = sympy.And(
                    *(
                        sympy.Eq(sympy.Symbol(k, real=True), sympy.sympify(v))
                        for k, v in sorted(kink.at.items())
                    )
                )
                rule = sympy.Piecewise((sympy.sympify(kink.grads[name]), where), (rule, True))
        return rule

    def _compare(self, name, function, reference, point, tol, what):
        got = float(self._float64(function, point))
        want = mp_value(reference, *self._args(point))
        if want is None or not numpy.isfinite(got) or abs(got - want) > tol * max(1, abs(want)):
            raise CheckError(self.op.name, name, point, f"{what} is {got}, expected {want}")

    def _compare_finite_difference(self, name, rule, point):
        value = point[name]
        step = 1e-6 * max(1.0, abs(value))
        above, below = dict(point, **{name: value + step}), dict(point, **{name: value - step})
        slope = (self._float64(self.kernel, above) - self._float64(self.kernel, below)) / (2 * step)
        got = float(self._float64(rule, point))
        if abs(got - slope) > FINITE_DIFFERENCE_TOL * max(1.0, abs(slope)):
            raise CheckError(
                self.op.name,
                name,
                point,
                f"rule gives {got}, central finite differences {float(slope)}",
            )

    def _compare_stress(self, name, function, reference, point, what):
        got = float(self._float64(function, point))
        want = mp_value(reference, *self._args(point))
        if want is None:
            return  # undefined there in exact arithmetic too
        if abs(want) > FLOAT64_MAX:
            ok = numpy.isinf(got) and numpy.sign(got) == mpmath.sign(want)
        else:
            ok = (
                numpy.isfinite(got)
                and abs(got - want) <= STRESS_REL_TOL * abs(want) + STRESS_ABS_TOL
            )
        if not ok:
            raise CheckError(self.op.name, name, point, f"{what} is {got}, expected {want}")
