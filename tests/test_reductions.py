"""Every reduction of the table, through the public API, against NumPy's forward and
central finite differences, over every axis combination of a 4-D tensor."""

import itertools
import warnings

import numpy as np
import pytest

import symgrad as sg
from symgrad.ops.reductions import REDUCTIONS

SHAPE = (2, 3, 1, 2)
AXES = [None] + [
    combo for k in range(1, 5) for combo in itertools.combinations(range(4), k)
]  # every combination of the four axes


def call(reduction, x, axis, keepdims, **params):
    function = getattr(sg, reduction.name)
    if reduction.normalize:
        return function(x, axis=axis)
    return function(x, axis=axis, keepdims=keepdims, **params)


def finite_differences(f, x, cotangent, step=1e-6):
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        moved = [x.copy(), x.copy()]
        moved[0][index] += step
        moved[1][index] -= step
        with sg.no_grad():
            values = [np.vdot(cotangent, f(sg.tensor(m)).data) for m in moved]
        numeric[index] = (values[0] - values[1]) / (2 * step)
    return numeric


CASES = [
    pytest.param(r, axis, keepdims, id=f"{r.name}-{axis}-{'keep' if keepdims else 'drop'}")
    for r in REDUCTIONS
    for axis in AXES
    for keepdims in ((False,) if r.normalize else (False, True))
    if not (r.normalize and axis is None)
]


@pytest.mark.parametrize(("reduction", "axis", "keepdims"), CASES)
def test_reduction_value_and_gradient(reduction, axis, keepdims):
    rng = np.random.default_rng(len(str(axis)) + 7 * keepdims)
    data = rng.standard_normal(SHAPE) + 0.5
    x = sg.tensor(data, requires_grad=True)
    out = call(reduction, x, axis, keepdims)
    if hasattr(np, reduction.name):
        np.testing.assert_allclose(
            out.data, getattr(np, reduction.name)(data, axis=axis, keepdims=keepdims)
        )
    cotangent = rng.standard_normal(out.shape)
    out.backward(cotangent)
    numeric = finite_differences(lambda t: call(reduction, t, axis, keepdims), data, cotangent)
    count = np.prod([SHAPE[a] for a in np.atleast_1d(axis if axis is not None else range(4))])
    if reduction.name == "std" and count == 1:
        return  # a single element: std is 0, where it has no derivative
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("name", ["var", "std"])
def test_ddof(name, ddof):
    data = np.random.default_rng(ddof).standard_normal((3, 4))
    x = sg.tensor(data, requires_grad=True)
    out = getattr(sg, name)(x, axis=1, ddof=ddof)
    np.testing.assert_allclose(out.data, getattr(np, name)(data, axis=1, ddof=ddof))
    assert sg.gradcheck(lambda t: getattr(sg, name)(t, axis=1, ddof=ddof), [x])


def test_max_and_min_ties_share_the_gradient_evenly():
    x = sg.tensor([[1.0, 3.0, 3.0, -2.0], [5.0, 5.0, 5.0, 5.0]], requires_grad=True)
    sg.max(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5, 0], [0.25, 0.25, 0.25, 0.25]])
    y = sg.tensor([2.0, -1.0, -1.0], requires_grad=True)
    y.min().backward()
    np.testing.assert_array_equal(y.grad, [0, 0.5, 0.5])


def test_prod_is_exact_with_zeros():
    x = sg.tensor(
        [[2.0, 0.0, 3.0, 5.0], [2.0, 0.0, 3.0, 0.0], [1.0, 2.0, 3.0, 4.0]], requires_grad=True
    )
    sg.prod(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 30, 0, 0], [0, 0, 0, 0], [24, 12, 8, 6]])


@pytest.mark.parametrize(
    "values", [[0.5, -1.2, 2.0, 0.7], [0.5, 0.0, 2.0, 0.7], [0.0, 1.5, 0.0, 0.7]]
)
def test_prod_differentiates_again(values):
    # d2 prod / dx_i dx_j is the product of the elements but x_i and x_j (i != j), and 0
    # for i == j; with create_graph=True the products before and after each element (what
    # the vjp is lowered to) keep their graph. Zeros included; along an axis, and over all.
    x = np.array(values)
    hessian = np.array(
        [[0.0 if i == j else np.prod(np.delete(x, [i, j])) for j in range(4)] for i in range(4)]
    )
    v = np.array([0.3, -0.8, 1.1, 0.4])
    laid_out = [  # (axis, the 4 elements placed along it)
        (None, lambda a: a),
        (1, lambda a: np.broadcast_to(a, (2, 4))),
        (0, lambda a: np.broadcast_to(a.reshape(4, 1, 1), (4, 1, 2))),
    ]
    for axis, place in laid_out:
        t = sg.tensor(place(x).copy(), requires_grad=True)
        (g,) = sg.grad(sg.prod(t, axis=axis).sum(), t, create_graph=True)
        (h,) = sg.grad((g * place(v)).sum(), t)
        np.testing.assert_allclose(h.data, place(hessian @ v), rtol=1e-12, atol=1e-15)


def test_norm_gradient_at_zero_is_zero():
    x = sg.tensor(np.zeros((2, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the convention is a value, not NumPy's 0/0 warning
        sg.norm(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))
    y = sg.tensor([3.0, 4.0], requires_grad=True)
    sg.norm(y).backward()
    np.testing.assert_allclose(y.grad, [0.6, 0.8])


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("scale", [1000.0, -1000.0])
def test_stable_at_plus_minus_1000(name, scale):
    data = scale * np.array([[1.0, 0.999, -1.0], [0.5, 0.5, 0.5]])
    x = sg.tensor(data, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = getattr(sg, name)(x, axis=-1)
        out.backward(np.ones(out.shape))
    assert np.isfinite(out.data).all() and np.isfinite(x.grad).all()
    shifted = data - data.max(axis=-1, keepdims=True)  # the same values, computed small
    expected = getattr(sg, name)(sg.tensor(shifted), axis=-1).data
    if name == "logsumexp":
        expected = expected + data.max(axis=-1)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_softmax_matches_its_definition_and_sums_to_one():
    data = np.random.default_rng(0).standard_normal((4, 5))
    out = sg.softmax(sg.tensor(data)).data
    np.testing.assert_allclose(out, np.exp(data) / np.exp(data).sum(-1, keepdims=True))
    np.testing.assert_allclose(
        sg.log_softmax(sg.tensor(data), axis=0).data,
        np.log(np.exp(data) / np.exp(data).sum(0, keepdims=True)),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
def test_float32_stays_float32(reduction):
    x = sg.tensor(
        np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32), requires_grad=True
    )
    out = call(reduction, x, -1, False)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("name", ["std", "var"])
def test_constant_data_has_gradient_zero(name):
    # std's derivative is 0/0 there; its convention (and var's own rule) give 0, as
    # PyTorch's do, not nan
    x = sg.tensor(np.full((2, 4), 3.0), requires_grad=True)
    getattr(sg, name)(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 4)))


NO_FREEDOM_GRADIENTS = {
    # 2*(x - mean)/0 * grad, grad = -2: -inf where x is above the mean, nan where it is
    # the mean (all of a constant row)
    "var": {(1.0, 2.0, 4.0): [np.inf, np.inf, -np.inf], (3.0, 3.0, 3.0): [np.nan] * 3},
    # grad/(2 std) (0, std being inf) times var's: nan; on a constant row std is 0/0,
    # nan, so its convention (gradient 0 where std is 0) does not apply either
    "std": {(1.0, 2.0, 4.0): [np.nan] * 3, (3.0, 3.0, 3.0): [np.nan] * 3},
}


@pytest.mark.parametrize("row", [(1.0, 2.0, 4.0), (3.0, 3.0, 3.0)], ids=["varied", "constant"])
@pytest.mark.parametrize("axis", [None, 0])
@pytest.mark.parametrize("ddof", [3, 4])
@pytest.mark.parametrize("name", ["var", "std"])
def test_no_degrees_of_freedom_give_numpys_value_and_pytorchs_gradient(name, ddof, axis, row):
    # ddof >= n: the value is NumPy's (inf, or nan for a constant row), the gradient
    # PyTorch's for correction=ddof at ddof = n, the divisor clamped at 0 beyond, as the
    # value's is. NumPy's forward warns (no degrees of freedom, a division by 0): the
    # backward may warn with it (var's 2*(x - mean)/0), never alone (checked at generation)
    x = sg.tensor(row, requires_grad=True)
    # (NumPy's forward divides by 0 too: that warning is its own, not symgrad's)
    with pytest.warns(RuntimeWarning, match="Degrees of freedom <= 0"), np.errstate(all="ignore"):
        out = getattr(sg, name)(x, axis=axis, ddof=ddof)
        expected = getattr(np, name)(np.array(row), axis=axis, ddof=ddof)
    np.testing.assert_array_equal(out.data, expected)
    assert np.isinf(expected) if row[0] != row[1] else np.isnan(expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out.backward(np.array(-2.0))
    np.testing.assert_array_equal(x.grad, NO_FREEDOM_GRADIENTS[name][row])


@pytest.mark.parametrize(("name", "extreme"), [("max", np.inf), ("min", -np.inf)])
def test_an_infinite_extreme_takes_the_gradient(name, extreme):
    x = sg.tensor([[1.0, extreme, 2.0], [4.0, 5.0, -6.0]], requires_grad=True)
    getattr(sg, name)(x, axis=1).sum().backward()
    expected = [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0] if name == "max" else [0.0, 0.0, 1.0]]
    np.testing.assert_array_equal(x.grad, expected)


SECOND_ORDER_AXES = [None, 1, (0, 3), -1]


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
@pytest.mark.parametrize("axis", SECOND_ORDER_AXES, ids=str)
def test_second_order_matches_finite_differences_of_the_gradient(reduction, axis):
    """The gradient of <g(x), v>, g the first-order gradient (create_graph=True), against
    central differences of g."""
    if reduction.normalize and axis is None:
        return
    rng = np.random.default_rng(11)
    data = rng.standard_normal((2, 3, 2, 2)) + 0.5
    cotangent = rng.standard_normal(call(reduction, sg.tensor(data), axis, False).shape)
    probe = rng.standard_normal(data.shape)

    def first_order(values, create_graph=False):
        x = sg.tensor(values, requires_grad=True)
        out = (call(reduction, x, axis, False) * cotangent).sum()
        return x, sg.grad(out, [x], create_graph=create_graph)[0]

    x, grad = first_order(data, create_graph=True)
    along = (grad * probe).sum()
    if along.requires_grad:  # a gradient constant in x (sum, mean) has no graph
        along.backward()
    numeric = np.zeros(data.shape)
    for index in np.ndindex(data.shape):
        values = []
        for sign in (1, -1):
            moved = data.copy()
            moved[index] += sign * 1e-5
            values.append(np.vdot(first_order(moved)[1].data, probe))
        numeric[index] = (values[0] - values[1]) / 2e-5
    got = np.zeros(data.shape) if x.grad is None else x.grad
    np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
def test_an_empty_input_reduces_as_numpy_does(reduction):
    # over an axis of length 0 to its identity (or NaN, where NumPy gives it), over the
    # others to an empty result; the gradient has the input's (empty) shape
    x = sg.tensor(np.zeros((0, 3)), requires_grad=True)
    for axis in (0, 1) if not reduction.normalize else (1,):
        if reduction.name in ("max", "min") and axis == 0:
            continue  # NumPy raises: no identity
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's mean of nothing
            out = call(reduction, x, axis, False)
            out.sum().backward()
        if hasattr(np, reduction.name):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = getattr(np, reduction.name)(x.data, axis=axis)
            np.testing.assert_array_equal(out.data, expected)
        assert x.grad.shape == (0, 3)
        x.grad = None


# Found by tests/test_torch_differential.py: the masked branch of std's where(out == 0, 0,
# .../out) divides 0 by 0 under create_graph; the zero guard of the division it runs
# (DESIGN.md's "zero stays zero") gives 0 there, as PyTorch's second order is.
@pytest.mark.parametrize("shape", [(3, 2), (1, 2)])  # constant along axis 0, or one element
def test_std_of_constant_data_differentiates_again(shape):
    x = sg.tensor(np.ones(shape), requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (g,) = sg.grad(sg.std(x, axis=0).sum(), x, create_graph=True)
        (h,) = sg.grad((g * np.arange(1.0, 1.0 + x.size).reshape(shape)).sum(), x)
    np.testing.assert_array_equal(g.data, np.zeros(shape))  # the first order's convention
    np.testing.assert_array_equal(h.data, np.zeros(shape))  # PyTorch's second order there


@pytest.mark.parametrize("name", ["var", "std"])
def test_no_degrees_of_freedom_and_a_zero_gradient_give_zero(name):
    # zero stays zero: the rule is +-inf or nan there, a zero upstream gradient gives 0
    x = sg.tensor([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]], requires_grad=True)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = getattr(sg, name)(x, axis=1, ddof=3)
        out.backward(np.array([0.0, 0.0]))
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))


# Each: a reduction, a line of its rendered text and what it is changed to (the rest left
# right), and what generation then says.
SABOTAGE = [
    (  # the jvp doubled
        "prod",
        "return jvp_by_partials(self, tangent, children[0], out)",
        "return jvp_by_partials(self, tangent, children[0], out) * 2",
        r"^prod: the jvp: differs from central differences",
    ),
    (  # softmax's derived jvp out*(t - sum(out*t)) cut to out*t
        "softmax",
        "return out*t - out*(out*t).sum(axis=axes, keepdims=True)",
        "return out*t",
        r"^softmax: the jvp: differs from central differences",
    ),
    (  # var without its zero guard (no degrees of freedom left: the rule is +-inf, nan)
        "var",
        "return (zero_stays_zero(grad_kept, x_bar),)",
        "return (x_bar,)",
        r"^var: d/dx a zero gradient gives",
    ),
]


@pytest.mark.parametrize(("name", "right", "wrong", "says"), SABOTAGE, ids=[s[0] for s in SABOTAGE])
def test_the_check_catches_a_sabotaged_rendered_class(name, right, wrong, says):
    from symgrad.codegen import generate
    from symgrad.codegen.verify.loading import load_one
    from symgrad.codegen.verify.policy import CheckError
    from symgrad.codegen.verify.reductions import verify_reduction

    reduction = next(r for r in REDUCTIONS if r.name == name)
    pipeline = generate.derive_reductions((reduction,))
    text = pipeline.module_text()
    assert right in text
    module = load_one("reductions", text.replace(right, wrong))
    with pytest.raises(CheckError, match=says):
        verify_reduction(getattr(module, reduction.class_name), pipeline.derived[0])
