"""Zero stays zero (DESIGN.md, issue 13): where an op's derivative can be non-finite (its
row's singular points, domain edges, kinks), an upstream gradient of exactly 0 gives
exactly 0, so the branch a ``where`` does not take contributes nothing, to the first
derivative and, under create_graph, to the second. Only those ops carry the guard."""

import inspect

import numpy as np
import pytest

import symgrad as sg
from symgrad.codegen.verify import elementwise as verify
from symgrad.generated import elementwise as ew
from symgrad.ops.elementwise import OPS

XS = np.array([-2.0, -1.0, -1e-300, 0.0, 0.25, 0.5, 2.0])
POSITIVE = XS > 0


def _sinc_prime(x):  # its series near 0, where the closed form cancels or overflows
    return np.where(abs(x) < 1e-3, -x / 3, np.cos(x) / x - np.sin(x) / x**2)


def _sinc_second(x):
    closed = -np.sin(x) / x - 2 * np.cos(x) / x**2 + 2 * np.sin(x) / x**3
    return np.where(abs(x) < 1e-3, -1 / 3, closed)


# f, its derivative and its second derivative where the taken branch is the function's
# (elsewhere the constant branch's: 0)
CASES = {
    "sqrt": (
        lambda x: sg.where(x > 0, sg.sqrt(x), 0),
        lambda x: 0.5 / np.sqrt(x),
        lambda x: -0.25 * x**-1.5,
        POSITIVE,
    ),
    "sinc": (
        lambda x: sg.where(x != 0, sg.sin(x) / x, 1),
        _sinc_prime,
        _sinc_second,
        XS != 0,
    ),
    "log": (
        lambda x: sg.where(x > 0, sg.log(x), 0),
        lambda x: 1 / x,
        lambda x: -1 / x**2,
        POSITIVE,
    ),
    "power": (
        lambda x: sg.where(x > 0, x**0.5, 0),
        lambda x: 0.5 * x**-0.5,
        lambda x: -0.25 * x**-1.5,
        POSITIVE,
    ),
}


def _expected(derivative, taken):
    with np.errstate(all="ignore"):
        return np.where(taken, derivative(XS), 0.0)


@pytest.mark.parametrize("case", sorted(CASES))
def test_where_of_a_singular_op_has_a_finite_correct_gradient(case):
    f, first, _, taken = CASES[case]
    x = sg.tensor(XS, requires_grad=True)
    with np.errstate(all="ignore"):  # the forward of the branch not taken (sqrt(-1))
        y = f(x)
    y.sum().backward()
    assert np.isfinite(x.grad).all()
    np.testing.assert_allclose(x.grad, _expected(first, taken), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", sorted(CASES))
def test_where_of_a_singular_op_differentiates_again(case):
    f, first, second, taken = CASES[case]
    x = sg.tensor(XS, requires_grad=True)
    with np.errstate(all="ignore"):
        (g,) = sg.grad(f(x).sum(), x, create_graph=True)
        (h,) = sg.grad(g.sum(), x)
    np.testing.assert_allclose(g.data, _expected(first, taken), rtol=1e-12, atol=1e-12)
    h = np.asarray(h)
    assert np.isfinite(h[~taken]).all()  # the branch not taken: exactly its constant's 0
    np.testing.assert_array_equal(h[~taken], 0)
    # at the tiny input the taken branch's own formula overflows (1/x**3): compare elsewhere
    want = _expected(second, taken)
    usual = taken & (abs(XS) > 1e-100)
    np.testing.assert_allclose(h[usual], want[usual], rtol=1e-10, atol=1e-12)


def test_where_of_a_singular_op_gives_no_warning_in_backward():
    x = sg.tensor(np.array([0.0, 1.0]), requires_grad=True)
    y = sg.where(x != 0, sg.sin(x) / sg.where(x != 0, x, 1), 1)  # a warning-free forward
    with np.errstate(all="raise"):
        y.sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, _sinc_prime(1.0)])


def test_a_nonzero_gradient_at_a_singular_point_is_still_inf():
    # the guard changes nothing where grad is not 0: sqrt'(0) is inf, as declared
    x = sg.tensor(np.array([0.0, 4.0]), requires_grad=True)
    sg.sqrt(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [np.inf, 0.25])


ROWS = [(op, name) for op in OPS for name in op.grad_inputs]


@pytest.mark.parametrize(("op", "name"), ROWS, ids=[f"{op.name}-{n}" for op, n in ROWS])
def test_zero_gradient_gives_zero_at_every_edge_point(op, name):
    cls = getattr(ew, op.class_name)
    for point in verify.check_points(op).edges:
        assert verify.rule_value(cls, op, name, point, want=0.0, grad=0.0) == 0, point


GUARDED = {
    "divide",
    "power",
    "reciprocal",
    "sqrt",
    "log",
    "log2",
    "log10",
    "log1p",
    "arcsin",
    "arccos",
    "arctan2",
    "arccosh",
    "arctanh",
}


def test_exactly_the_ops_singular_at_an_edge_point_have_a_guard():
    guarded = {op.name for op in OPS if getattr(ew, op.class_name).guarded}
    assert guarded == GUARDED


@pytest.mark.parametrize(
    "name", ["sigmoid", "tanh", "add", "multiply", "exp", "relu", "subtract", "logaddexp"]
)
def test_non_singular_ops_have_no_guard(name):
    cls = getattr(ew, next(op.class_name for op in OPS if op.name == name))
    assert cls.guarded == ()
    source = inspect.getsource(cls)
    assert "zero_stays_zero" not in source and "errstate" not in source
    assert cls.calculate_grads is not sg.function.BackwardFcn.zero_stays_zero


def test_the_guard_keeps_the_dtype():
    x = sg.tensor(np.array([0.0, 1.0], dtype=np.float32), requires_grad=True)
    sg.where(x > 0, sg.sqrt(x), 0).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, np.array([0.0, 0.5], dtype=np.float32))
