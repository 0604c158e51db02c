"""Every generated element-wise rule against independent references, parametrized from
the op table: a new row is tested without a new test.

The references are computed here from the row's forward definition alone (SymPy's own
derivative, evaluated with mpmath), or from the generated forward by finite differences;
nothing the generator chose is trusted.
"""

import warnings
import zlib

import mpmath
import numpy as np
import pytest
import sympy
from sympy.core.function import AppliedUndef

import symgrad as sg
from symgrad.generated import elementwise as generated
from symgrad.ops.elementwise import OPS

BY_NAME = {op.name: op for op in OPS}
STRESS = (0.0, 40.0, -40.0, 700.0, -700.0, 1000.0, -1000.0)
CLEARANCE = 0.05


def definition(op):
    """The row's forward with every earlier row it calls expanded to its definition."""

    def expand(applied):
        row = BY_NAME[type(applied).__name__]
        values = {sympy.Symbol(n, real=True): a for n, a in zip(row.inputs, applied.args)}
        return definition(row).xreplace(values)

    return op.forward.replace(lambda e: isinstance(e, AppliedUndef), expand)


def params_of(op):
    return op.param_values()


def symbol_values(op, point):
    values = dict(params_of(op), **point)
    return {sympy.Symbol(k, real=True): sympy.Float(v, 30) for k, v in values.items()}


def high_precision(expr, op, point):
    """``expr`` at ``point`` with mpmath at a fixed 30 digits (SymPy's evalf would chase
    relative precision through exact cancellations, such as gelu's at x = -700)."""
    values = dict(params_of(op), **point)
    names = sorted(values)
    function = sympy.lambdify(
        [sympy.Symbol(n, real=True) for n in names],
        expr,
        modules=[{"Heaviside": lambda v, h=0.5: (v > 0) + h * (v == 0)}, "mpmath"],
    )
    with mpmath.workdps(30):
        try:
            value = function(*(mpmath.mpf(values[n]) for n in names))
        except (ZeroDivisionError, ValueError):
            return None
        if isinstance(value, mpmath.mpc) or mpmath.isnan(value):
            return None
        return float(value)  # +-inf where it overflows float64


def reference_partial(op, name, point):
    """SymPy's derivative of the definition, at 30 digits; None where undefined."""
    derivative = sympy.diff(definition(op), sympy.Symbol(name, real=True))
    derivative = derivative.replace(
        lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero
    )
    derivative = derivative.replace(
        lambda e: isinstance(e, sympy.Derivative), lambda e: sympy.S.Zero
    )
    return high_precision(derivative, op, point)


def generated_partials(op, point, dtype=np.float64):
    """What the generated backward class returns for grad = 1 at ``point``."""
    cls = getattr(generated, op.class_name)
    datas = [np.array(point[name], dtype=dtype) for name in op.inputs]
    params = tuple(params_of(op).values())
    with np.errstate(all="ignore"):
        out = cls.forward(*datas, *params)
    # the rule runs as the engine runs it: its warnings are the caller's to see
    node = cls(datas, datas, out, params, [n in op.grad_inputs for n in op.inputs])
    grads = node.calculate_grads(np.ones_like(out), datas, out, node.needs)
    return dict(zip(op.inputs, grads))


def sample_points(op, count=8):
    rng = np.random.default_rng(zlib.crc32(f"test-{op.name}".encode()))
    points = []
    while len(points) < count:
        point = {name: draw(op, name, rng) for name in op.inputs}
        if not near_kink(op, point):
            points.append(point)
    return points


def draw(op, name, rng):
    spec = op.sample.get(name)
    if isinstance(spec, list):
        return float(rng.choice(spec))
    lo, hi = spec or op.domain.get(name, (-3.0, 3.0))
    lo, hi = max(lo, -3.0), min(hi, 3.0)
    lo, hi = lo + CLEARANCE * (hi - lo), hi - CLEARANCE * (hi - lo)
    while True:
        value = float(rng.uniform(lo, hi))
        if all(abs(value - s) > CLEARANCE for s in op.singular.get(name, ())):
            return value


def kink_point(op, kink, base):
    point = dict(base, **kink.given)
    values = symbol_values(op, point)
    for name, where in kink.at.items():
        point[name] = float(sympy.sympify(where).xreplace(values))
    return point


def near_kink(op, point):
    return any(
        all(abs(point[k] - kink_point(op, kink, point)[k]) < CLEARANCE for k in kink.at)
        for kink in op.kinks
    )


def grad_cases():
    return [
        pytest.param(op, name, id=f"{op.name}-d{name}") for op in OPS for name in op.grad_inputs
    ]


# ---- the rule itself ------------------------------------------------------------------
@pytest.mark.parametrize(("op", "name"), grad_cases())
def test_rule_equals_sympy_derivative(op, name):
    for point in sample_points(op):
        want = reference_partial(op, name, point)
        got = float(generated_partials(op, point)[name])
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), point


@pytest.mark.parametrize(("op", "name"), grad_cases())
def test_rule_stays_accurate_at_stress_points(op, name):
    lo, hi = op.domain.get(name, (-np.inf, np.inf))
    base = sample_points(op, 1)[0]
    for value in STRESS:
        point = dict(base, **{name: value})
        if not lo < value < hi or value in op.singular.get(name, ()) or near_kink(op, point):
            continue
        want = reference_partial(op, name, point)
        if want is None:
            continue
        if np.isinf(want):
            assert float(generated_partials(op, point)[name]) == want, point
            continue
        # a finite gradient comes without NumPy's floating-point warnings (the branch of
        # a select not taken may overflow: elu's exp at x = 1000)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = float(generated_partials(op, point)[name])
        assert np.isfinite(got), point
        assert abs(got - want) <= 1e-8 * abs(want) + 1e-12, point


KINKS = [
    pytest.param(op, kink, name, id=f"{op.name}-d{name}-at-{kink.at}")
    for op in OPS
    for kink in op.kinks
    for name in kink.grads
]


@pytest.mark.parametrize(("op", "kink", "name"), KINKS)
def test_rule_takes_the_declared_convention_at_kinks(op, kink, name):
    point = kink_point(op, kink, sample_points(op, 1)[0])
    want = float(sympy.sympify(kink.grads[name]).xreplace(symbol_values(op, {})))
    with warnings.catch_warnings():
        # a finite convention is a value, not a warning; an infinite one (sqrt'(0)) is
        # reached as NumPy reaches it, by its division by zero
        if np.isfinite(want):
            warnings.simplefilter("error")
        got = float(generated_partials(op, point)[name])
    assert got == pytest.approx(want, rel=1e-12)


# ---- the whole stack: public function, engine, unbroadcast ----------------------------
SHAPES = {1: [(2, 3)], 2: [(2, 1, 3), (4, 3)], 3: [(4, 1), (1, 3), (4, 3)]}


def make_inputs(op, dtype=np.float64):
    """Arrays of sample values with size-1 and missing axes, so that they broadcast."""
    shapes = SHAPES[len(op.inputs)]
    rows = sample_points(op, max(int(np.prod(shape)) for shape in shapes))
    arrays = []
    for name, shape in zip(op.inputs, shapes):
        values = np.array([row[name] for row in rows[: int(np.prod(shape))]]).reshape(shape)
        discrete = isinstance(op.sample.get(name), list)
        arrays.append(values.astype(bool if discrete else dtype))
    return arrays


def call(op, tensors):
    return getattr(sg, op.name)(*tensors, **params_of(op))


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_backward_matches_finite_differences_under_broadcasting(op):
    rng = np.random.default_rng(zlib.crc32(op.name.encode()))
    arrays = make_inputs(op)
    tensors = [sg.tensor(a, requires_grad=n in op.grad_inputs) for n, a in zip(op.inputs, arrays)]
    out = call(op, tensors)
    cotangent = rng.standard_normal(out.shape)
    out.backward(cotangent)
    for name, tensor, array in zip(op.inputs, tensors, arrays):
        if name not in op.grad_inputs:
            continue
        assert tensor.grad.shape == array.shape
        numeric = np.zeros(array.shape)
        for index in np.ndindex(array.shape):
            step = 1e-6 * max(1.0, abs(array[index]))
            values = []
            for sign in (1, -1):
                moved = [a.copy() for a in arrays]
                moved[op.inputs.index(name)][index] += sign * step
                with sg.no_grad():
                    values.append(np.vdot(cotangent, call(op, [sg.tensor(m) for m in moved]).data))
            numeric[index] = (values[0] - values[1]) / (2 * step)
        np.testing.assert_allclose(tensor.grad, numeric, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_float32_stays_float32(op):
    arrays = make_inputs(op, dtype=np.float32)
    tensors = [sg.tensor(a, requires_grad=n in op.grad_inputs) for n, a in zip(op.inputs, arrays)]
    out = call(op, tensors)
    assert out.dtype == np.float32
    out.sum().backward()
    for name, tensor in zip(op.inputs, tensors):
        if name in op.grad_inputs:
            assert tensor.grad.dtype == np.float32, name


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_forward_matches_definition(op):
    for point in sample_points(op):
        want = high_precision(definition(op), op, point)
        args = [np.float64(point[n]) for n in op.inputs]
        got = float(call(op, [sg.tensor(a) for a in args]).data)
        assert got == pytest.approx(want, rel=1e-12, abs=1e-14), point


def test_table_covers_every_elementwise_name_of_the_design():
    design = [
        "exp",
        "log",
        "log2",
        "log10",
        "log1p",
        "expm1",
        "sqrt",
        "square",
        "reciprocal",
        "abs",
        "sign",
        "sin",
        "cos",
        "tan",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "arcsinh",
        "arccosh",
        "arctanh",
        "erf",
        "sigmoid",
        "relu",
        "leaky_relu",
        "elu",
        "selu",
        "softplus",
        "gelu",
        "silu",
        "floor",
        "ceil",
        "clip",
        "add",
        "subtract",
        "multiply",
        "divide",
        "power",
        "maximum",
        "minimum",
        "arctan2",
        "where",
    ]
    assert set(design) <= set(BY_NAME)
    for name in design:
        assert callable(getattr(sg, name))


@pytest.mark.parametrize("x", [-1000.0, -40.0, 40.0, 1000.0])
@pytest.mark.parametrize("name", ["sigmoid", "softplus", "silu"])
def test_stable_kernels_do_not_overflow(name, x):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = getattr(sg, name)(sg.tensor([x], requires_grad=True))
        value.sum().backward()
    assert np.isfinite(value.data).all()
