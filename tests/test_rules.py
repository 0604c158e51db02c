"""Every generated element-wise class against an independent reference, parametrized
from the op table: a new row is tested without a new test.

The checks are the generator's own (``symgrad.codegen.verify``: the same points,
tolerances and warning policy, so a row that generates passes here and the reverse),
run on the checked-in class; the reference is computed here from the row's forward
definition alone (SymPy's own derivative, evaluated with mpmath), and the public
functions are compared with finite differences; nothing the generator chose is trusted.
"""

import zlib

import mpmath
import numpy as np
import pytest
import sympy
from sympy.core.function import AppliedUndef

import symgrad as sg
from symgrad.codegen.verify import elementwise as verify
from symgrad.generated import elementwise as generated
from symgrad.ops.elementwise import ALIASES, OPS

BY_NAME = {op.name: op for op in OPS}


def definition(op):
    """The row's forward with every earlier row it calls expanded to its definition."""

    def expand(applied):
        row = BY_NAME[type(applied).__name__]
        values = {sympy.Symbol(n, real=True): a for n, a in zip(row.inputs, applied.args)}
        return definition(row).xreplace(values)

    return op.forward.replace(lambda e: isinstance(e, AppliedUndef), expand)


def params_of(op):
    return op.param_values()


class IndependentReference:
    """The row's definition and SymPy's derivatives of it, in mpmath at the verifier's
    precision, built here without the generator's code."""

    def __init__(self, op):
        self.op = op
        self.names = sorted(dict(params_of(op), **{n: 0 for n in op.inputs}))
        self.expr = definition(op)

    def _at(self, expr, point):
        values = dict(params_of(self.op), **point)
        function = sympy.lambdify(
            [sympy.Symbol(n, real=True) for n in self.names],
            expr,
            modules=[
                {"Heaviside": lambda v, h=0.5: (v > 0) + h * (v == 0), "exp2": lambda v: 2**v},
                "mpmath",
            ],
        )
        with mpmath.workdps(verify.HIGH_PRECISION_DIGITS):
            try:
                value = function(*(mpmath.mpf(values[n]) for n in self.names))
            except (ZeroDivisionError, ValueError):
                return None
            if isinstance(value, mpmath.mpc) or mpmath.isnan(value):
                return None
            return mpmath.mpf(value)

    def forward(self, point):
        return self._at(self.expr, point)

    def partial(self, name, point):
        derivative = sympy.diff(self.expr, sympy.Symbol(name, real=True))
        derivative = derivative.replace(
            lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero
        )
        derivative = derivative.replace(
            lambda e: isinstance(e, sympy.Derivative), lambda e: sympy.S.Zero
        )
        return self._at(derivative, point)


def grad_cases():
    return [
        pytest.param(op, name, id=f"{op.name}-d{name}") for op in OPS for name in op.grad_inputs
    ]


# ---- the class itself -------------------------------------------------------------------
@pytest.mark.parametrize(("op", "name"), grad_cases())
def test_rule_passes_verification_against_an_independent_reference(op, name):
    """Samples (against SymPy's derivative and finite differences), stress points
    (relative error, no NumPy warning where the value is finite) and kinks."""
    cls = getattr(generated, op.class_name)
    points = verify.check_points(op)
    verify.verify_class(cls, op, points, IndependentReference(op), names=[name])


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_forward_passes_verification_against_an_independent_reference(op):
    cls = getattr(generated, op.class_name)
    verify.verify_class(cls, op, verify.check_points(op), IndependentReference(op), names=[])


# ---- the whole stack: public function, engine, unbroadcast ----------------------------
SHAPES = {1: [(2, 3)], 2: [(2, 1, 3), (4, 3)], 3: [(4, 1), (1, 3), (4, 3)]}


def make_inputs(op, dtype=np.float64):
    """Arrays of sample values with size-1 and missing axes, so that they broadcast."""
    shapes = SHAPES[len(op.inputs)]
    rows = verify.check_points(op).samples
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
def test_second_order_matches_finite_differences_of_the_gradient(op):
    """create_graph=True differentiates the rule itself: the gradient of <g(x), v> (g the
    first-order gradient, under broadcasting) against central differences of g."""
    rng = np.random.default_rng(zlib.crc32(op.name.encode()) + 1)
    arrays = make_inputs(op)
    wanted = [n in op.grad_inputs for n in op.inputs]
    cotangent = rng.standard_normal(np.broadcast_shapes(*(a.shape for a in arrays)))
    probes = [rng.standard_normal(a.shape) for a in arrays]

    def first_order(values, create_graph=False):
        tensors = [sg.tensor(a, requires_grad=w) for a, w in zip(values, wanted)]
        out = (call(op, tensors) * cotangent).sum()
        leaves = [t for t, w in zip(tensors, wanted) if w]
        return leaves, sg.grad(out, leaves, create_graph=create_graph)

    def along_probes(grads):
        chosen = [v for v, w in zip(probes, wanted) if w]
        return sum((g * v).sum() for g, v in zip(grads, chosen))

    leaves, grads = first_order(arrays, create_graph=True)
    total = along_probes(grads)
    if total.requires_grad:  # a rule constant in x has no graph
        total.backward()
    for place, leaf in zip([i for i, w in enumerate(wanted) if w], leaves):
        array = arrays[place]
        numeric = np.zeros(array.shape)
        for index in np.ndindex(array.shape):
            step = 1e-5 * max(1.0, abs(array[index]))
            values = []
            for sign in (1, -1):
                moved = [a.copy() for a in arrays]
                moved[place][index] += sign * step
                values.append(along_probes(first_order(moved)[1]).item())
            numeric[index] = (values[0] - values[1]) / (2 * step)
        got = np.zeros(array.shape) if leaf.grad is None else leaf.grad
        np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-6, err_msg=op.inputs[place])


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_empty_inputs_give_empty_outputs_and_gradients(op):
    arrays = [a[:0] for a in make_inputs(op)]  # no elements along the first axis
    tensors = [sg.tensor(a, requires_grad=n in op.grad_inputs) for n, a in zip(op.inputs, arrays)]
    with np.errstate(all="raise"):
        out = call(op, tensors)
        assert out.shape == np.broadcast_shapes(*(a.shape for a in arrays))
        out.sum().backward()
    for name, tensor, array in zip(op.inputs, tensors, arrays):
        if name in op.grad_inputs:
            assert tensor.grad.shape == array.shape


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


@pytest.mark.parametrize(("alias", "name"), ALIASES)
def test_numpy_aliases_are_the_ops(alias, name):
    assert getattr(sg, alias) is getattr(sg, name)
    assert alias in sg.__all__
    x = sg.tensor([0.5, -2.0, 3.0], requires_grad=True)
    arguments = (x, 1.5) if len(BY_NAME[name].inputs) == 2 else (x,)
    out = getattr(np, alias)(*arguments)  # NumPy's function of that name, on a tensor
    assert isinstance(out, sg.Tensor)
    np.testing.assert_allclose(out.data, getattr(np, alias)(x.data, *arguments[1:]))


def test_the_modulo_operator_is_mod():
    x = sg.tensor([5.5, -3.2, 7.0], requires_grad=True)
    y = sg.tensor([2.0, 2.0, -3.0], requires_grad=True)
    out = x % y
    np.testing.assert_array_equal(out.data, np.mod(x.data, y.data))
    assert type(out.grad_fn).__name__ == "ModBackward"
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(y.grad, -np.floor(x.data / y.data))
    np.testing.assert_array_equal((7.5 % x).data, np.mod(7.5, x.data))


# ---- found by tests/test_torch_differential.py: Python-bool conditions, powers at 0 --------
@pytest.mark.parametrize("condition", [False, True])
def test_where_takes_a_python_bool_condition(condition):
    # where's rule masks y's gradient with the condition's logical not, never with ~,
    # which is -1 or -2 for a Python bool
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = sg.tensor([3.0, 4.0], requires_grad=True)
    sg.where(condition, x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0] if condition else [0.0, 0.0])
    np.testing.assert_array_equal(y.grad, [0.0, 0.0] if condition else [1.0, 1.0])


def test_a_number_to_a_tensor_power_differentiates_again():
    # PowerBackward's grad_y is numpy.where(x == 0, 0, ...): with x a Python number the
    # condition is a Python bool, and under create_graph that where is sg.where.
    x = sg.tensor([0.5, 1.0], requires_grad=True)
    (g,) = sg.grad((2.0**x).sum(), x, create_graph=True)
    (h,) = sg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, np.log(2.0) ** 2 * 2.0**x.data, rtol=1e-12)


@pytest.mark.parametrize(("exponent", "slope"), [(1, 1.0), (1.0, 1.0), (0.5, np.inf)])
def test_power_at_zero_has_its_slope(exponent, slope):
    # d/dx x**y at 0 is y * 0**(y - 1): 1 for y = 1, +inf for 0 < y < 1 (PyTorch's too)
    x = sg.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        (x**exponent).sum().backward()
    np.testing.assert_allclose(x.grad, [slope, exponent * 4.0 ** (exponent - 1)])


@pytest.mark.parametrize(("exponent", "curvature"), [(2, 2.0), (3, 0.0)])
def test_power_at_zero_differentiates_again(exponent, curvature):
    x = sg.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (g,) = sg.grad((x**exponent).sum(), x, create_graph=True)
        (h,) = sg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, [curvature, exponent * (exponent - 1.0)])
