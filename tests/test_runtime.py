"""Black-box tests of the runtime's graph semantics and error behaviour (DESIGN.md,
"The public API" and "What bad input gets"), through ``import symgrad as sg`` only.

Every expected value is computed independently: with NumPy, from closed forms, or by
central finite differences of the forward values.
"""

import math

import numpy as np
import pytest

import symgrad as sg

RNG_SEED = 1234


def rng():
    return np.random.default_rng(RNG_SEED)


def grad_enabled():
    """Whether ops record a graph right now, observed through the public API only."""
    probe = sg.tensor(1.0, requires_grad=True)
    out = probe * 2.0
    return out.requires_grad and out.grad_fn is not None


def numeric_grad(f, x, eps=1e-6):
    """Central finite differences of the scalar NumPy function ``f`` at the array ``x``."""
    x = np.array(x, dtype=np.float64)
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        out[index] = (f(up) - f(down)) / (2 * eps)
    return out


def sigmoid_np(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---- sg.tensor and Tensor attributes ----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([1.0, 2.0], np.float64),
        (2.5, np.float64),
        ([1, 2, 3], np.array([1, 2, 3]).dtype),  # int64 on Linux, as NumPy infers
        ([True, False], np.bool_),
        (np.ones(3, dtype=np.float32), np.float32),
        (np.arange(4, dtype=np.int32), np.int32),
    ],
)
def test_tensor_dtype_is_numpys_inference(data, expected):
    t = sg.tensor(data)
    assert t.dtype == np.dtype(expected)
    assert t.data.dtype == np.dtype(expected)
    np.testing.assert_array_equal(t.data, np.array(data))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, "float32"])
def test_tensor_dtype_argument(dtype):
    t = sg.tensor([1, 2, 3], dtype=dtype, requires_grad=True)
    assert t.dtype == np.dtype(dtype)
    assert t.requires_grad is True
    np.testing.assert_array_equal(t.data, np.array([1, 2, 3], dtype=dtype))


def test_tensor_copies_its_input():
    source = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = sg.tensor(source, requires_grad=True)
    assert not np.shares_memory(t.data, source)
    source[0, 0] = 99.0
    source[1] += 5.0
    np.testing.assert_array_equal(t.data, [[1.0, 2.0], [3.0, 4.0]])


def test_tensor_from_a_tensor_copies_it():
    a = sg.tensor([1.0, 2.0])
    b = sg.tensor(a)
    assert isinstance(b, sg.Tensor)
    assert not np.shares_memory(a.data, b.data)
    a.data[0] = 7.0
    np.testing.assert_array_equal(b.data, [1.0, 2.0])


def test_leaf_attributes():
    values = np.arange(24.0).reshape(2, 3, 4)
    t = sg.tensor(values, requires_grad=True)
    assert isinstance(t.data, np.ndarray)
    np.testing.assert_array_equal(t.data, values)
    assert t.grad is None
    assert t.requires_grad is True
    assert t.grad_fn is None
    assert t.is_leaf is True
    assert t.shape == (2, 3, 4)
    assert t.ndim == 3
    assert t.dtype == np.float64
    assert t.size == 24
    plain = sg.tensor(values)
    assert plain.requires_grad is False
    assert plain.is_leaf is True


def test_non_leaf_attributes():
    x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2.0
    assert y.requires_grad is True
    assert y.grad_fn is not None
    assert y.is_leaf is False
    assert y.grad is None
    # An op on tensors that need no gradient records nothing.
    z = sg.tensor([1.0, 2.0]) * 2.0
    assert z.requires_grad is False
    assert z.grad_fn is None
    assert z.is_leaf is True


def test_numpy_and_item():
    t = sg.tensor([[1.5, -2.0], [3.0, 4.25]])
    out = t.numpy()
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [[1.5, -2.0], [3.0, 4.25]])
    scalar = (t * 2.0).sum()
    value = scalar.item()
    assert isinstance(value, float)
    assert value == pytest.approx(2 * (1.5 - 2.0 + 3.0 + 4.25))
    assert sg.tensor([[7]]).item() == 7
    assert isinstance(sg.tensor([[7]]).item(), int)


def test_detach_cuts_the_graph():
    x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    d = y.detach()
    assert d.grad_fn is None
    assert d.requires_grad is False
    assert d.is_leaf is True
    np.testing.assert_array_equal(d.data, [1.0, 4.0, 9.0])
    # d is a constant: d(x * d)/dx = d, not 3x^2.
    (x * d).sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 4.0, 9.0])


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda x: x + x, "AddBackward"),
        (lambda x: x + 1.0, "AddBackward"),
        (lambda x: 1.0 + x, "AddBackward"),
        (lambda x: x * x, "MultiplyBackward"),
        (lambda x: 2.0 * x, "MultiplyBackward"),
        (lambda x: np.ones(3) * x, "MultiplyBackward"),
        (lambda x: sg.multiply(x, x), "MultiplyBackward"),
        (lambda x: sg.sigmoid(x), "SigmoidBackward"),
        (lambda x: x.sigmoid(), "SigmoidBackward"),
        (lambda x: x.sum(), "SumBackward"),
        (lambda x: sg.sum(x, axis=0), "SumBackward"),
    ],
)
def test_grad_fn_class_names(build, name):
    x = sg.tensor([0.5, 1.0, 2.0], requires_grad=True)
    out = build(x)
    assert type(out.grad_fn).__name__ == name


@pytest.mark.parametrize(
    "build",
    [
        lambda x: x - 1.0,
        lambda x: x / 2.0,
        lambda x: x**2,
        lambda x: -x,
        lambda x: sg.exp(x),
        lambda x: sg.tanh(x),
        lambda x: x.mean(),
        lambda x: x.clip(0.0, 1.0),
    ],
)
def test_grad_fn_class_names_end_with_backward(build):
    x = sg.tensor([0.5, 1.0, 2.0], requires_grad=True)
    node = build(x).grad_fn
    assert node is not None
    assert type(node).__name__.endswith("Backward")


# ---- operators ---------------------------------------------------------------------------

X_VALUES = np.array([0.5, 1.25, 2.0])
C_ARRAY = np.array([1.5, -0.75, 3.0])

# (name, symgrad expression, NumPy value, d/dx in closed form), x a tensor of X_VALUES.
OPERATOR_CASES = [
    ("t + t", lambda t: t + t, lambda x: 2 * x, lambda x: 2 + 0 * x),
    ("t + 3", lambda t: t + 3.0, lambda x: x + 3, lambda x: 1 + 0 * x),
    ("3 + t", lambda t: 3.0 + t, lambda x: 3 + x, lambda x: 1 + 0 * x),
    ("t - 3", lambda t: t - 3.0, lambda x: x - 3, lambda x: 1 + 0 * x),
    ("3 - t", lambda t: 3.0 - t, lambda x: 3 - x, lambda x: -1 + 0 * x),
    ("t * 3", lambda t: t * 3.0, lambda x: 3 * x, lambda x: 3 + 0 * x),
    ("3 * t", lambda t: 3.0 * t, lambda x: 3 * x, lambda x: 3 + 0 * x),
    ("2 * t (int)", lambda t: 2 * t, lambda x: 2 * x, lambda x: 2 + 0 * x),
    ("t / 4", lambda t: t / 4.0, lambda x: x / 4, lambda x: 0.25 + 0 * x),
    ("4 / t", lambda t: 4.0 / t, lambda x: 4 / x, lambda x: -4 / x**2),
    ("t ** 3", lambda t: t**3, lambda x: x**3, lambda x: 3 * x**2),
    ("t ** 0.5", lambda t: t**0.5, lambda x: x**0.5, lambda x: 0.5 * x**-0.5),
    ("2 ** t", lambda t: 2.0**t, lambda x: 2**x, lambda x: 2**x * math.log(2)),
    ("t ** t", lambda t: t**t, lambda x: x**x, lambda x: x**x * (np.log(x) + 1)),
    ("t * t", lambda t: t * t, lambda x: x * x, lambda x: 2 * x),
    ("t / t**2", lambda t: t / t**2, lambda x: 1 / x, lambda x: -1 / x**2),
    ("-t", lambda t: -t, lambda x: -x, lambda x: -1 + 0 * x),
    ("-(t*t)", lambda t: -(t * t), lambda x: -x * x, lambda x: -2 * x),
    ("arr + t", lambda t: C_ARRAY + t, lambda x: C_ARRAY + x, lambda x: 1 + 0 * x),
    ("arr - t", lambda t: C_ARRAY - t, lambda x: C_ARRAY - x, lambda x: -1 + 0 * x),
    ("arr * t", lambda t: C_ARRAY * t, lambda x: C_ARRAY * x, lambda x: C_ARRAY + 0 * x),
    ("arr / t", lambda t: C_ARRAY / t, lambda x: C_ARRAY / x, lambda x: -C_ARRAY / x**2),
    ("arr ** t", lambda t: np.abs(C_ARRAY) ** t, lambda x: np.abs(C_ARRAY) ** x,
     lambda x: np.abs(C_ARRAY) ** x * np.log(np.abs(C_ARRAY))),
    ("t * arr", lambda t: t * C_ARRAY, lambda x: x * C_ARRAY, lambda x: C_ARRAY + 0 * x),
    ("t / arr", lambda t: t / C_ARRAY, lambda x: x / C_ARRAY, lambda x: 1 / C_ARRAY + 0 * x),
    ("t ** arr", lambda t: t**C_ARRAY, lambda x: x**C_ARRAY,
     lambda x: C_ARRAY * x ** (C_ARRAY - 1)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("build", "value", "derivative"),
    [case[1:] for case in OPERATOR_CASES],
    ids=[case[0] for case in OPERATOR_CASES],
)
def test_operator_values_and_gradients(build, value, derivative):
    x = sg.tensor(X_VALUES, requires_grad=True)
    out = build(x)
    assert isinstance(out, sg.Tensor)
    assert out.requires_grad is True
    np.testing.assert_allclose(out.data, value(X_VALUES), rtol=1e-12)
    cotangent = np.array([0.3, -1.1, 2.0])
    out.backward(cotangent)
    np.testing.assert_allclose(x.grad, cotangent * derivative(X_VALUES), rtol=1e-10)
    # And against finite differences of the NumPy forward, independently of the closed form.
    numeric = numeric_grad(lambda v: np.sum(cotangent * value(v)), X_VALUES)
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "build",
    [
        lambda a, t: a * t,
        lambda a, t: a + t,
        lambda a, t: a - t,
        lambda a, t: a / t,
        lambda a, t: a**t,
    ],
)
def test_ndarray_on_the_left_gives_a_tensor_with_grad(build):
    arr = np.ones(3) * 1.5
    t = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = build(arr, t)
    assert isinstance(out, sg.Tensor), type(out)
    assert out.requires_grad is True
    assert out.grad_fn is not None
    np.testing.assert_allclose(out.data, build(arr, t.data))
    out.sum().backward()
    numeric = numeric_grad(lambda v: np.sum(build(arr, v)), t.data)
    np.testing.assert_allclose(t.grad, numeric, rtol=1e-6)


def test_ones_times_tensor_example():
    t = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = np.ones(3) * t
    assert isinstance(out, sg.Tensor)
    (out * t).sum().backward()
    np.testing.assert_allclose(t.grad, 2 * t.data)


@pytest.mark.parametrize(
    ("compare", "expected"),
    [
        (lambda t, u: t < u, [True, False, False]),
        (lambda t, u: t <= u, [True, True, False]),
        (lambda t, u: t > u, [False, False, True]),
        (lambda t, u: t >= u, [False, True, True]),
        (lambda t, u: t == u, [False, True, False]),
        (lambda t, u: t != u, [True, False, True]),
        (lambda t, u: t < u.data, [True, False, False]),
        (lambda t, u: t.data < u, [True, False, False]),
        (lambda t, u: t < 2.0, [True, False, False]),
        (lambda t, u: 2.0 > t, [True, False, False]),  # noqa: SIM300 (reflected)
    ],
)
def test_comparisons_give_plain_boolean_arrays(compare, expected):
    t = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    u = sg.tensor([2.0, 2.0, 2.0], requires_grad=True)
    out = compare(t, u)
    assert type(out) is np.ndarray
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out, expected)


# ---- broadcasting ---------------------------------------------------------------------------


def test_seed_blog_example_sum_of_scalar_plus_matrix():
    # d sum(3 + M) / d 3 = 6 for a 2x3 M: the scalar's gradient is summed over the broadcast.
    c = sg.tensor(3.0, requires_grad=True)
    M = sg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (c + M).sum().backward()
    assert c.grad.shape == ()
    assert c.grad == pytest.approx(6.0)
    np.testing.assert_array_equal(M.grad, np.ones((2, 3)))


BINARY_RULES = {
    # name: (forward, d/da, d/db), for a > 0.
    "add": (np.add, lambda a, b: np.ones_like(a * b), lambda a, b: np.ones_like(a * b)),
    "subtract": (np.subtract, lambda a, b: np.ones_like(a * b), lambda a, b: -np.ones_like(a * b)),
    "multiply": (np.multiply, lambda a, b: b + 0 * a, lambda a, b: a + 0 * b),
    "divide": (np.divide, lambda a, b: 1 / b + 0 * a, lambda a, b: -a / b**2),
    "power": (np.power, lambda a, b: b * a ** (b - 1), lambda a, b: a**b * np.log(a)),
}  # fmt: skip
OPERATORS = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
    "power": lambda a, b: a**b,
}


@pytest.mark.parametrize("name", sorted(BINARY_RULES))
def test_broadcast_2x1x3_with_4x3_reduces_grads_to_input_shapes(name):
    forward, d_a, d_b = BINARY_RULES[name]
    gen = rng()
    a_val = gen.uniform(0.5, 2.0, size=(2, 1, 3))
    b_val = gen.uniform(0.5, 2.0, size=(4, 3))
    g = gen.standard_normal((2, 4, 3))
    a = sg.tensor(a_val, requires_grad=True)
    b = sg.tensor(b_val, requires_grad=True)
    out = OPERATORS[name](a, b)
    assert out.shape == (2, 4, 3)
    np.testing.assert_allclose(out.data, forward(a_val, b_val), rtol=1e-12)
    out.backward(g)
    assert a.grad.shape == (2, 1, 3)
    assert b.grad.shape == (4, 3)
    # Closed forms: the broadcast axis of a is 1, b gained the leading axis 0.
    np.testing.assert_allclose(a.grad, (g * d_a(a_val, b_val)).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(b.grad, (g * d_b(a_val, b_val)).sum(axis=0))
    # Finite differences.
    np.testing.assert_allclose(
        a.grad, numeric_grad(lambda v: np.sum(g * forward(v, b_val)), a_val), rtol=1e-6
    )
    np.testing.assert_allclose(
        b.grad, numeric_grad(lambda v: np.sum(g * forward(a_val, v)), b_val), rtol=1e-6
    )


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [
        ((2, 3), (3,)),
        ((3,), (2, 3)),
        ((2, 1), (1, 3)),
        ((), (2, 3)),
        ((2, 3), ()),
        ((1,), (2, 3)),
        ((4, 1, 3), (2, 1)),
        ((2, 3), (2, 3)),
    ],
)
def test_broadcast_gradients_have_input_shapes(shape_a, shape_b):
    gen = rng()
    a_val = gen.uniform(0.5, 2.0, size=shape_a)
    b_val = gen.uniform(0.5, 2.0, size=shape_b)
    a = sg.tensor(a_val, requires_grad=True)
    b = sg.tensor(b_val, requires_grad=True)
    out = sg.sin(a) * b + a / b
    g = gen.standard_normal(out.shape)
    out.backward(g)

    def f(av, bv):
        return np.sum(g * (np.sin(av) * bv + av / bv))

    assert a.grad.shape == shape_a
    assert b.grad.shape == shape_b
    np.testing.assert_allclose(a.grad, numeric_grad(lambda v: f(v, b_val), a_val), rtol=1e-6)
    np.testing.assert_allclose(b.grad, numeric_grad(lambda v: f(a_val, v), b_val), rtol=1e-6)


def test_broadcast_against_constants_keeps_the_tensor_shape():
    x = sg.tensor([[1.0], [2.0]], requires_grad=True)  # (2, 1)
    out = x * np.arange(3.0) + 1.0  # (2, 3)
    assert out.shape == (2, 3)
    out.sum().backward()
    assert x.grad.shape == (2, 1)
    np.testing.assert_allclose(x.grad, [[3.0], [3.0]])  # 0 + 1 + 2


# ---- reuse, diamonds, accumulation --------------------------------------------------------


def test_reused_leaf_accumulates_over_all_uses():
    xv = np.array([-1.5, 0.5, 2.0])
    x = sg.tensor(xv, requires_grad=True)
    y = x * x + x
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * xv + 1)


def test_same_tensor_twice_in_one_op():
    xv = np.array([-1.5, 0.5, 2.0])
    x = sg.tensor(xv, requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * xv)
    y = sg.tensor(xv, requires_grad=True)
    (y + y).sum().backward()
    np.testing.assert_allclose(y.grad, 2.0 * np.ones(3))
    z = sg.tensor(xv, requires_grad=True)
    (z / z).sum().backward()
    np.testing.assert_allclose(z.grad, np.zeros(3), atol=1e-15)


def test_reused_non_leaf_accumulates():
    xv = np.array([-1.5, 0.5, 2.0])
    x = sg.tensor(xv, requires_grad=True)
    h = sg.sin(x)
    y = h * h + h * 3.0 + h
    y.sum().backward()
    hv = np.sin(xv)
    np.testing.assert_allclose(x.grad, (2 * hv + 4) * np.cos(xv))


def test_diamond_graph():
    xv = np.array([0.3, -0.7, 1.1])
    x = sg.tensor(xv, requires_grad=True)
    a = x * 2.0
    b = sg.sin(a)
    c = sg.cos(a)
    d = b * c + a
    d.sum().backward()
    # d = sin(2x) cos(2x) + 2x = sin(4x)/2 + 2x
    np.testing.assert_allclose(x.grad, 2 * np.cos(4 * xv) + 2)
    numeric = numeric_grad(lambda v: np.sum(np.sin(2 * v) * np.cos(2 * v) + 2 * v), xv)
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-6)


def test_deep_diamonds_with_shared_subgraphs():
    # y_{k+1} = y_k * y_k + y_k: every node is used by two ops.
    x = sg.tensor(0.1, requires_grad=True)
    y = x
    values, derivative = 0.1, 1.0
    for _ in range(20):
        y = y * y + y
        derivative = derivative * (2 * values + 1)
        values = values * values + values
    y.backward()
    assert y.item() == pytest.approx(values, rel=1e-12)
    assert x.grad == pytest.approx(derivative, rel=1e-12)


def test_gradients_accumulate_across_backward_calls():
    xv = np.array([1.0, -2.0, 0.5])
    x = sg.tensor(xv, requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * xv)
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * xv + 3)
    sg.exp(x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * xv + 3 + np.exp(xv))


def test_deep_chain_is_iterative():
    # 100,000 ops: a recursive engine would hit the recursion limit.
    factor = 1.0 + 1e-5
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * factor + 0.0
    y.sum().backward()
    expected = np.prod(np.full(50_000, factor))  # same rounding order not needed at 1e-9
    np.testing.assert_allclose(x.grad, [expected, expected], rtol=1e-9)
    assert expected == pytest.approx(math.exp(50_000 * math.log1p(1e-5)), rel=1e-9)


# ---- freed graphs and retain_graph -----------------------------------------------------


def test_second_backward_through_freed_graph_raises():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])
    with pytest.raises(RuntimeError):
        y.backward()
    # Nothing changed by the failed call.
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_backward_through_a_freed_intermediate_raises():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    h = sg.exp(x)
    h.sum().backward()
    with pytest.raises(RuntimeError):
        (h * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]))


def test_retain_graph_allows_a_second_backward():
    xv = np.array([1.0, 2.0])
    x = sg.tensor(xv, requires_grad=True)
    y = (sg.sin(x) * x).sum()
    y.backward(retain_graph=True)
    once = np.sin(xv) + xv * np.cos(xv)
    np.testing.assert_allclose(x.grad, once)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * once)
    with pytest.raises(RuntimeError):
        y.backward()
    np.testing.assert_allclose(x.grad, 2 * once)


# ---- backward's grad argument ------------------------------------------------------------


def test_backward_on_non_scalar_without_grad_raises():
    x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError):
        y.backward()
    assert x.grad is None


def test_backward_with_explicit_grad_is_a_vector_jacobian_product():
    gen = rng()
    xv = gen.standard_normal(3)
    c = gen.standard_normal((2, 3))
    g = gen.standard_normal((2, 3))
    x = sg.tensor(xv, requires_grad=True)
    y = sg.sin(x) * c  # (2, 3); Jacobian dy[i,j]/dx[k] = c[i,j] cos(x[j]) [j == k]
    y.backward(g)
    jacobian = np.zeros((2, 3, 3))
    for i in range(2):
        for j in range(3):
            jacobian[i, j, j] = c[i, j] * np.cos(xv[j])
    np.testing.assert_allclose(x.grad, np.einsum("ij,ijk->k", g, jacobian))


@pytest.mark.parametrize("bad_shape", [(3,), (2, 2), (1, 3), (3, 2), ()])
def test_backward_with_wrong_shaped_grad_raises(bad_shape):
    x = sg.tensor(np.ones(3), requires_grad=True)
    y = x * np.ones((2, 3))
    with pytest.raises((RuntimeError, ValueError)):
        y.backward(np.ones(bad_shape))
    assert x.grad is None


# ---- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8, np.bool_])
def test_requires_grad_on_integer_tensor_raises(dtype):
    with pytest.raises(TypeError):
        sg.tensor(np.array([1, 0, 1], dtype=dtype), requires_grad=True)


def test_setting_requires_grad_on_integer_tensor_raises():
    t = sg.tensor([1, 2, 3])
    with pytest.raises(TypeError):
        t.requires_grad = True
    assert t.requires_grad is False
    f = sg.tensor([1.0, 2.0])
    f.requires_grad = True
    assert f.requires_grad is True


@pytest.mark.parametrize(
    ("op", "name"),
    [
        (lambda a, b: a + b, "add"),
        (lambda a, b: a - b, "subtract"),
        (lambda a, b: a * b, "multiply"),
        (lambda a, b: a / b, "divide"),
        (lambda a, b: a**b, "power"),
        (sg.add, "add"),
        (sg.multiply, "multiply"),
        (sg.maximum, "maximum"),
    ],
)
@pytest.mark.parametrize("which", ["tensor-tensor", "tensor-array", "array-tensor"])
def test_shapes_that_do_not_broadcast_raise_naming_shapes_and_op(op, name, which):
    a_val, b_val = np.ones((2, 3)) * 2.0, np.ones(4) * 3.0
    a = sg.tensor(a_val, requires_grad=True)
    b = sg.tensor(b_val, requires_grad=True)
    if which == "tensor-array":
        b = b_val
    elif which == "array-tensor":
        a = a_val
    with pytest.raises(ValueError) as info:
        op(a, b)
    message = str(info.value)
    assert "(2, 3)" in message, message
    assert "(4,)" in message, message
    assert name in message, message


# Complex numbers and objects have no derived rule: NumPy would carry a complex number
# through an op silently (a complex result), or fail inside it, or turn None into nan.
NOT_REAL = {
    "complex": np.array([1 + 1j, 2]),
    "complex64": np.array([1, 2], dtype=np.complex64),
    "object": np.array([None, 2.0]),
    "object-floats": np.array([1.0, 2.0], dtype=object),
}
OPS_ON_A_CONSTANT = {
    "multiply": lambda x, c: x * c,
    "add": lambda x, c: c + x,
    "subtract": lambda x, c: sg.subtract(x, c),
    "maximum": lambda x, c: np.maximum(x, c),
    "exp": lambda x, c: sg.exp(c) * x,
    "clip": lambda x, c: sg.clip(x, c, 5.0),  # a parameter
    "matmul": lambda x, c: x @ c,
    "einsum": lambda x, c: sg.einsum("i,i->i", c, x),
    "sum": lambda x, c: sg.sum(c) + x,
    "mean": lambda x, c: sg.mean(c, axis=0) * x,
    "where": lambda x, c: sg.where(np.array([True, False]), x, c),
    "concatenate": lambda x, c: sg.concatenate([x, c]),
    "mse_loss": lambda x, c: sg.nn.functional.mse_loss(x, c),
}


@pytest.mark.parametrize("name", sorted(OPS_ON_A_CONSTANT))
@pytest.mark.parametrize("kind", sorted(NOT_REAL))
def test_complex_and_object_constants_raise_naming_the_op_and_dtype(name, kind):
    constant = NOT_REAL[kind]
    kept = constant.copy()
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=rf"^{name}: an? \w+ of dtype {constant.dtype}"):
        OPS_ON_A_CONSTANT[name](x, constant)
    np.testing.assert_array_equal(constant, kept)
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


@pytest.mark.parametrize("number", [1j, np.complex128(2), np.complex64(1j)])
def test_complex_numbers_raise_naming_the_op(number):
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    for op, name in [(lambda: x * number, "multiply"), (lambda: number - x, "subtract")]:
        with pytest.raises(TypeError, match=rf"^{name}: an input of dtype complex"):
            op()
    with pytest.raises(TypeError, match=r"^leaky_relu: a parameter of dtype complex"):
        sg.leaky_relu(x, negative_slope=number)


@pytest.mark.parametrize(
    "data", [[1 + 1j, 2.0], np.array([None, 1.0]), np.array([1.0], dtype=object), ["a"]]
)
def test_tensors_hold_only_booleans_integers_and_floats(data):
    with pytest.raises(TypeError, match=r"^tensor: dtype \S+ is not supported"):
        sg.tensor(data)


def test_complex_and_object_values_in_place_raise_and_change_nothing():
    t = sg.tensor([1.0, 2.0])
    for change, what in [
        (lambda: t.__iadd__(np.array([1j, 0])), r"\+="),
        (lambda: t.__setitem__(slice(None), np.array([1j, 0])), r"t\[index\] = value"),
        (lambda: t.__setitem__(slice(None), np.array([None, 0.0])), r"t\[index\] = value"),
    ]:
        with pytest.raises(TypeError, match=rf"^{what}: an input of dtype"):
            change()
    np.testing.assert_array_equal(t.data, [1.0, 2.0])


def test_an_in_place_change_numpy_cannot_cast_raises_naming_it():
    # NumPy's casting error is a TypeError subclass that cannot be made from a message
    integers = sg.tensor([1, 2])
    with pytest.raises(TypeError, match=r"^\+=: Cannot cast .* shape \(2,\)"):
        integers += 0.5
    np.testing.assert_array_equal(integers.data, [1, 2])


def test_a_complex_seed_raises():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"^backward: an input of dtype complex128"):
        (x * 2.0).backward(np.array([1j, 1.0]))
    assert x.grad is None


def test_user_arrays_are_never_mutated():
    gen = rng()
    data = gen.standard_normal((2, 3))
    const = gen.standard_normal((2, 3))
    row = gen.standard_normal(3)
    seed = gen.standard_normal((2, 3))
    saved = {name: arr.copy() for name, arr in
             [("data", data), ("const", const), ("row", row), ("seed", seed)]}  # fmt: skip

    x = sg.tensor(data, requires_grad=True)
    h = x * const + row
    y = sg.exp(h) * h + const / (1.0 + h * h) - row * h
    y = y + h  # h and the seed's path reused: gradients summed in place inside the engine
    y.backward(seed)
    # Mutate every result the library handed back: none of it may alias a user array.
    x.grad += 100.0
    x.data += 100.0
    y.data += 100.0
    h.data += 100.0
    z = sg.tensor(row, requires_grad=True)
    w = z + 0.0
    w.backward(row)  # the user's array as grad, flowing unchanged to a leaf
    z.grad *= -5.0
    (const * z).sum().backward()
    z.grad += 1.0
    for name, arr in [("data", data), ("const", const), ("row", row), ("seed", seed)]:
        np.testing.assert_array_equal(arr, saved[name], err_msg=name)


def test_user_grad_outputs_of_sg_grad_are_not_mutated():
    gen = rng()
    g = gen.standard_normal(3)
    saved = g.copy()
    x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x + 0.0
    (result,) = sg.grad(h + h, x, grad_outputs=g)
    result.data += 1.0
    np.testing.assert_array_equal(g, saved)


# ---- values saved for backward -----------------------------------------------------------
# NumPy arrays given as constants, index arrays and where conditions, changed by the caller
# after the forward, change nothing: the gradient is that of the values at forward time.


def assert_untouched(array, values):
    np.testing.assert_array_equal(array, values)
    assert array.flags.writeable


def test_a_constant_changed_after_the_forward_changes_nothing():
    c = np.array([1.0, 2.0, 3.0])
    x = sg.tensor(np.ones(3), requires_grad=True)
    y = (x * c).sum()
    c[:] = 100.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])
    assert c.flags.writeable


@pytest.mark.parametrize("side", ["numerator", "denominator"])
def test_a_constant_in_a_division_changed_after_the_forward(side):
    xv, cv = np.array([1.0, 2.0, 4.0]), np.array([2.0, 4.0, 8.0])
    c = cv.copy()
    x = sg.tensor(xv, requires_grad=True)
    y = (c / x).sum() if side == "numerator" else (x / c).sum()
    c[:] = -1.0
    y.backward()
    want = -cv / xv**2 if side == "numerator" else 1.0 / cv
    np.testing.assert_allclose(x.grad, want)
    assert c.flags.writeable


def test_a_constant_of_a_named_function_changed_after_the_forward():
    c = np.array([0.5, 2.0])
    x = sg.tensor([1.0, 3.0], requires_grad=True)
    y = sg.maximum(x, c).sum() + sg.arctan2(x, c).sum()
    c[:] = 0.0
    y.backward()
    cv, xv = np.array([0.5, 2.0]), np.array([1.0, 3.0])
    np.testing.assert_allclose(x.grad, 1.0 + cv / (xv**2 + cv**2))


@pytest.mark.parametrize(
    "make_index",
    [
        lambda: np.array([0, 0, 3]),  # integer array, with a repeat
        lambda: np.array([True, False, False, True]),  # boolean mask
        lambda: [0, 0, 3],  # a list is an integer array too
        lambda: (np.array([0, 0, 3]),),  # a tuple holding an array
    ],
    ids=["int-array", "mask", "list", "tuple-of-array"],
)
def test_an_index_changed_after_the_forward_changes_nothing(make_index):
    index = make_index()
    x = sg.tensor(np.arange(4.0), requires_grad=True)
    picked = x[index]
    want = np.zeros(4)
    np.add.at(want, index, np.arange(1.0, picked.size + 1))
    y = (picked * np.arange(1.0, picked.size + 1)).sum()
    target = index[0] if isinstance(index, tuple) else index
    target[0] = 2 if not isinstance(target[0], np.bool_) else False
    y.backward()
    np.testing.assert_array_equal(x.grad, want)


def test_a_two_dimensional_index_changed_after_the_forward():
    rows, cols = np.array([0, 1, 1]), np.array([2, 0, 2])
    x = sg.tensor(np.zeros((2, 3)), requires_grad=True)
    y = x[rows, cols].sum()
    rows[:] = 0
    cols[:] = 0
    y.backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 1.0], [1.0, 0.0, 1.0]])
    assert_untouched(rows, [0, 0, 0])


def test_a_where_condition_changed_after_the_forward_changes_nothing():
    condition = np.array([True, False, True])
    x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    z = sg.tensor([4.0, 5.0, 6.0], requires_grad=True)
    y = (sg.where(condition, x, z) * np.array([1.0, 2.0, 3.0])).sum()
    condition[:] = False
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 3.0])
    np.testing.assert_array_equal(z.grad, [0.0, 2.0, 0.0])
    assert_untouched(condition, [False, False, False])


def test_clip_bounds_changed_after_the_forward_change_nothing():
    low, high = np.array([0.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0])
    x = sg.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    y = sg.clip(x, low, high).sum()
    low[:] = -10.0
    high[:] = 10.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])


def test_saved_constants_serve_create_graph_too():
    # create_graph runs the rules on the node's inputs as tensors: the saved copy there too
    c = np.array([1.0, 2.0])
    x = sg.tensor([3.0, 4.0], requires_grad=True)
    y = (sg.exp(x * c) * c).sum()
    c[:] = 0.0
    (g,) = sg.grad(y, x, create_graph=True)
    cv, xv = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_allclose(g.data, cv * cv * np.exp(xv * cv))
    g.sum().backward()
    np.testing.assert_allclose(x.grad, cv**3 * np.exp(xv * cv))


def test_a_constant_no_rule_reads_changed_after_the_forward():
    target = np.array([1.0, 5.0])
    x = sg.tensor([2.0, 3.0], requires_grad=True)
    y = ((x - target) ** 2).sum() + (target + x).sum()
    target[:] = 0.0
    y.backward()
    np.testing.assert_array_equal(x.grad, 2.0 * (np.array([2.0, 3.0]) - [1.0, 5.0]) + 1.0)


def test_constants_are_copied_only_when_a_node_is_recorded():
    c = np.array([1.0, 2.0])
    with sg.no_grad():
        y = sg.tensor([1.0, 1.0], requires_grad=True) * c
    assert y.grad_fn is None
    z = sg.tensor([1.0, 1.0]) * c  # no input requires grad
    assert z.grad_fn is None
    assert c.flags.writeable


# ---- gradients summed in place, never into an array someone else sees -------------------


def test_reused_values_through_ops_that_pass_grad_on_sum_correctly():
    # add, reshape, getitem and transpose hand the same incoming array on unchanged: the
    # engine sums their contributions without writing into any of them
    x = sg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    h = x + 0.0
    y = h + h.reshape(3, 2).reshape(2, 3) + h[:, :] + h.T.T + h[np.array([0, 1])]
    g = np.arange(1.0, 7.0).reshape(2, 3)
    y.backward(g)
    np.testing.assert_array_equal(x.grad, 5.0 * g)
    assert_untouched(g, np.arange(1.0, 7.0).reshape(2, 3))


def test_a_seed_that_reaches_leaves_unchanged_is_never_written():
    g = np.ones(3)
    a = sg.tensor(np.zeros(3), requires_grad=True)
    b = sg.tensor(np.zeros(3), requires_grad=True)
    y = a + b + a
    y.backward(g)
    assert_untouched(g, np.ones(3))
    np.testing.assert_array_equal(a.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(b.grad, [1.0, 1.0, 1.0])
    assert not np.shares_memory(a.grad, b.grad)
    assert not np.shares_memory(b.grad, g)
    b.grad += 1.0
    assert_untouched(g, np.ones(3))


def test_accumulating_into_dot_grad_makes_a_new_array():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    first = x.grad
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(first, [3.0, 3.0])
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_sg_grad_results_never_alias_each_other_or_the_seed():
    g = np.array([1.0, 2.0, 3.0])
    a = sg.tensor(np.zeros(3), requires_grad=True)
    b = sg.tensor(np.zeros(3), requires_grad=True)
    h = a * 1.0
    results = sg.grad(h + b + 0.0, [a, b, b, h], grad_outputs=g)
    for result in results:
        np.testing.assert_array_equal(result.data, g)
        assert not np.shares_memory(result.data, g)
    for k, first in enumerate(results):
        for second in results[k + 1 :]:
            assert not np.shares_memory(first.data, second.data)
    assert_untouched(g, [1.0, 2.0, 3.0])


def test_sg_grad_of_a_non_leaf_used_twice():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    (gh, gx) = sg.grad((h * h + h).sum(), [h, x])
    hv = np.array([2.0, 4.0])
    np.testing.assert_allclose(gh.data, 2 * hv + 1)
    np.testing.assert_allclose(gx.data, 2 * (2 * hv + 1))
    assert not np.shares_memory(gh.data, gx.data)


# ---- retain_grad ---------------------------------------------------------------------------


def test_retain_grad_on_non_leaf():
    xv = np.array([0.5, -1.0, 2.0])
    x = sg.tensor(xv, requires_grad=True)
    h = x * 2.0
    assert not h.retains_grad
    h.retain_grad()
    assert h.retains_grad and not x.retains_grad
    k = sg.sin(x)
    y = (h * h + h * k).sum()
    y.backward()
    hv, kv = 2 * xv, np.sin(xv)
    np.testing.assert_allclose(h.grad, 2 * hv + kv)
    assert h.grad.shape == h.shape
    assert h.grad.dtype == h.dtype
    assert k.grad is None
    assert y.grad is None
    np.testing.assert_allclose(x.grad, 2 * (2 * hv + kv) + hv * np.cos(xv))


# ---- no_grad ------------------------------------------------------------------------------


def test_no_grad_context_manager():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    with sg.no_grad():
        y = x * 2.0 + sg.exp(x)
        s = y.sum()
        assert not grad_enabled()
    for t in (y, s):
        assert t.requires_grad is False
        assert t.grad_fn is None
    np.testing.assert_allclose(y.data, 2 * x.data + np.exp(x.data))
    assert grad_enabled()
    z = x * 2.0
    assert z.requires_grad is True
    assert z.grad_fn is not None


def test_no_grad_decorator():
    x = sg.tensor([1.0, 2.0], requires_grad=True)

    @sg.no_grad()
    def f(t):
        return sg.sigmoid(t) * t

    y = f(x)
    assert y.requires_grad is False
    assert y.grad_fn is None
    np.testing.assert_allclose(y.data, sigmoid_np(x.data) * x.data)
    assert grad_enabled()
    y2 = f(x)  # the decorator works more than once
    assert y2.grad_fn is None
    assert grad_enabled()


def test_no_grad_and_enable_grad_decorate_without_the_call():
    # @sg.no_grad as PyTorch takes it, not only @sg.no_grad()
    @sg.no_grad
    def doubled(x):
        return x * 2

    @sg.enable_grad
    def tripled(x):
        return x * 3

    x = sg.tensor(1.0, requires_grad=True)
    assert not doubled(x).requires_grad
    with sg.no_grad():
        assert tripled(x).requires_grad
    assert doubled.__name__ == "doubled"
    assert (x * 2).requires_grad


def test_no_grad_restores_grad_mode_after_an_exception():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ZeroDivisionError), sg.no_grad():
        _ = x * 2.0
        raise ZeroDivisionError
    assert grad_enabled()

    @sg.no_grad()
    def fail():
        raise KeyError("inside")

    with pytest.raises(KeyError):
        fail()
    assert grad_enabled()
    assert (x * 2.0).grad_fn is not None


def test_nested_no_grad_restores_the_outer_mode():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    with sg.no_grad():
        with sg.no_grad():
            pass
        assert not grad_enabled()
        assert (x * 2.0).grad_fn is None
    assert grad_enabled()


def test_recursive_no_grad_decorated_function_restores_grad_mode():
    # A decorated function that calls itself (or a second use of the same no_grad
    # instance while it is active) must still leave grad mode as it found it.
    x = sg.tensor([1.0, 2.0], requires_grad=True)

    @sg.no_grad()
    def power_sum(t, n):
        assert not grad_enabled()
        return t if n == 0 else power_sum(t, n - 1) * t

    try:
        out = power_sum(x, 3)
        assert out.grad_fn is None
        np.testing.assert_allclose(out.data, x.data**4)
        assert grad_enabled(), "grad mode left disabled after a recursive no_grad function"
    finally:
        # Cleanup only: a broken restore must not disable gradients for later tests.
        while not grad_enabled():
            sg.enable_grad().__enter__()


def test_one_no_grad_instance_entered_again_while_active():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    quiet = sg.no_grad()
    with quiet:
        with quiet, sg.enable_grad():
            assert (x * 2.0).grad_fn is not None
        assert not grad_enabled()
    assert grad_enabled()


# ---- sg.grad ---------------------------------------------------------------------------------


def test_sg_grad_returns_tensors_and_leaves_dot_grad_alone():
    xv = np.array([0.5, 1.0, 1.5])
    x = sg.tensor(xv, requires_grad=True)
    y = (sg.sin(x) * x).sum()
    result = sg.grad(y, x)
    assert isinstance(result, (tuple, list))
    assert len(result) == 1
    (gx,) = result
    assert isinstance(gx, sg.Tensor)
    np.testing.assert_allclose(gx.data, np.sin(xv) + xv * np.cos(xv))
    assert x.grad is None
    # Also when .grad already holds something.
    x.grad = np.full(3, 7.0)
    z = (x * x).sum()
    (gz,) = sg.grad(z, [x])
    np.testing.assert_allclose(gz.data, 2 * xv)
    np.testing.assert_array_equal(x.grad, np.full(3, 7.0))


def test_sg_grad_with_grad_outputs():
    gen = rng()
    xv = gen.uniform(0.5, 1.5, size=(2, 3))
    g = gen.standard_normal((2, 3))
    x = sg.tensor(xv, requires_grad=True)
    y = sg.exp(x) / x
    (gx,) = sg.grad(y, x, grad_outputs=g)
    np.testing.assert_allclose(gx.data, g * np.exp(xv) * (xv - 1) / xv**2)
    assert x.grad is None


def test_sg_grad_with_several_inputs():
    gen = rng()
    av = gen.standard_normal((2, 3))
    bv = gen.standard_normal(3)
    a = sg.tensor(av, requires_grad=True)
    b = sg.tensor(bv, requires_grad=True)
    h = sg.tanh(a) * b
    y = (h * h).sum()
    ga, gb, gh = sg.grad(y, [a, b, h])
    hv = np.tanh(av) * bv
    np.testing.assert_allclose(gh.data, 2 * hv)
    np.testing.assert_allclose(ga.data, 2 * hv * bv * (1 - np.tanh(av) ** 2))
    np.testing.assert_allclose(gb.data, (2 * hv * np.tanh(av)).sum(axis=0))
    assert gb.shape == (3,)
    assert a.grad is None
    assert b.grad is None


SECOND_DERIVATIVES = [
    ("x**3", lambda t: t**3, lambda x: 3 * x**2, lambda x: 6 * x),
    ("sin", sg.sin, np.cos, lambda x: -np.sin(x)),
    ("sigmoid", sg.sigmoid, lambda x: sigmoid_np(x) * (1 - sigmoid_np(x)),
     lambda x: sigmoid_np(x) * (1 - sigmoid_np(x)) * (1 - 2 * sigmoid_np(x))),
    ("exp(x)*x", lambda t: sg.exp(t) * t, lambda x: np.exp(x) * (x + 1),
     lambda x: np.exp(x) * (x + 2)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("f", "first", "second"),
    [case[1:] for case in SECOND_DERIVATIVES],
    ids=[case[0] for case in SECOND_DERIVATIVES],
)
def test_create_graph_second_derivative(f, first, second):
    xv = np.array([-1.2, 0.3, 0.8, 1.7])
    x = sg.tensor(xv, requires_grad=True)
    (g,) = sg.grad(f(x), x, grad_outputs=np.ones(4), create_graph=True)
    assert isinstance(g, sg.Tensor)
    assert g.requires_grad is True
    np.testing.assert_allclose(g.data, first(xv), rtol=1e-10)
    (h,) = sg.grad(g, x, grad_outputs=np.ones(4))
    np.testing.assert_allclose(h.data, second(xv), rtol=1e-9, atol=1e-12)
    # backward through the first derivative accumulates the second into x.grad.
    (g2,) = sg.grad(f(x), x, grad_outputs=np.ones(4), create_graph=True)
    g2.backward(np.ones(4))
    np.testing.assert_allclose(x.grad, second(xv), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("f", "first", "second"),
    [case[1:] for case in SECOND_DERIVATIVES],
    ids=[case[0] for case in SECOND_DERIVATIVES],
)
def test_create_graph_second_derivative_through_sum(f, first, second):
    # The usual spelling: differentiate a scalar loss, then the sum of its gradient.
    xv = np.array([-1.2, 0.3, 0.8, 1.7])
    x = sg.tensor(xv, requires_grad=True)
    (g,) = sg.grad(f(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, first(xv), rtol=1e-10)
    g.sum().backward()
    np.testing.assert_allclose(x.grad, second(xv), rtol=1e-9, atol=1e-12)


def test_create_graph_on_a_scalar():
    x = sg.tensor(2.0, requires_grad=True)
    (g,) = sg.grad(x**3, x, create_graph=True)
    assert g.item() == pytest.approx(12.0)
    (h,) = sg.grad(g, x, create_graph=True)
    assert h.item() == pytest.approx(12.0)  # 6x
    (k,) = sg.grad(h, x)
    assert k.item() == pytest.approx(6.0)


def test_backward_with_create_graph_leaves_grad_an_ndarray():
    xv = np.array([1.0, 2.0, 3.0])
    x = sg.tensor(xv, requires_grad=True)
    y = x**3
    y.backward(np.ones(3), create_graph=True)
    assert type(x.grad) is np.ndarray
    assert x.grad.dtype == x.dtype
    np.testing.assert_allclose(x.grad, 3 * xv**2)


# ---- gradcheck ---------------------------------------------------------------------------


def test_gradcheck_passes_a_correct_function():
    gen = rng()
    a = sg.tensor(gen.standard_normal((2, 3)), requires_grad=True)
    b = sg.tensor(gen.standard_normal((2, 3)), requires_grad=True)
    a_saved, b_saved = a.data.copy(), b.data.copy()
    assert sg.gradcheck(lambda a, b: (sg.tanh(a) * b).sum(), [a, b]) is True
    # gradcheck changes nothing it was given.
    np.testing.assert_array_equal(a.data, a_saved)
    np.testing.assert_array_equal(b.data, b_saved)
    assert a.grad is None
    assert b.grad is None


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: (sg.sigmoid(a * b) / (1.5 + b**2)).mean(),
        lambda a, b: sg.exp(a - b) * sg.sin(b) + a,
        lambda a, b: sg.maximum(a, 0.0) * b - sg.sum(a, axis=1, keepdims=True),
        lambda a, b: sg.mean(sg.tanh(a) ** 2 + b, axis=(0, -1)),
    ],
)
def test_gradcheck_passes_broadcast_compositions(fn):
    gen = rng()
    a = sg.tensor(gen.uniform(0.2, 1.5, size=(2, 1, 3)), requires_grad=True)
    b = sg.tensor(gen.uniform(0.2, 1.5, size=(4, 3)), requires_grad=True)
    assert sg.gradcheck(fn, [a, b]) is True


def test_gradcheck_catches_a_wrong_gradient():
    # a * a.detach() has value a**2 but backward gives a, not 2a: gradcheck must catch it.
    a = sg.tensor(np.linspace(0.5, 1.5, 4), requires_grad=True)
    assert sg.gradcheck(lambda t: (t * t).sum(), [a]) is True
    try:
        result = sg.gradcheck(lambda t: (t * t.detach()).sum(), [a])
    except AssertionError:
        result = False
    assert result is False
    np.testing.assert_array_equal(a.data, np.linspace(0.5, 1.5, 4))


# ---- float32 ---------------------------------------------------------------------------

FLOAT32_CASES = [
    ("t * 2.5", lambda t: t * 2.5, lambda x: x * 2.5),
    ("2.5 - t", lambda t: 2.5 - t, lambda x: 2.5 - x),
    ("t / 3", lambda t: t / 3, lambda x: x / 3),
    ("t ** 2", lambda t: t**2, lambda x: x**2),
    ("2.0 ** t", lambda t: 2.0**t, lambda x: 2.0**x),
    ("-t", lambda t: -t, lambda x: -x),
    ("exp", sg.exp, np.exp),
    ("sigmoid", sg.sigmoid, sigmoid_np),
    ("tanh", sg.tanh, np.tanh),
    ("sqrt", sg.sqrt, np.sqrt),
    ("log", sg.log, np.log),
    ("sum axis 0", lambda t: t.sum(axis=0), lambda x: x.sum(axis=0)),
    ("mean", lambda t: t.mean(), lambda x: x.mean()),
    ("mean axis -1", lambda t: sg.mean(t, axis=-1), lambda x: x.mean(axis=-1)),
    ("t * t + 1.0", lambda t: t * t + 1.0, lambda x: x * x + 1.0),
    ("clip", lambda t: sg.clip(t, 0.7, 1.2), lambda x: np.clip(x, 0.7, 1.2)),
]


@pytest.mark.parametrize(
    ("f", "reference"),
    [case[1:] for case in FLOAT32_CASES],
    ids=[case[0] for case in FLOAT32_CASES],
)
def test_float32_in_float32_out_and_float32_grads(f, reference):
    xv = np.array([[0.5, 1.0, 1.5], [0.75, 1.25, 2.0]], dtype=np.float32)
    x = sg.tensor(xv, requires_grad=True)
    out = f(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, reference(xv.astype(np.float64)), rtol=1e-5)
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert x.grad.dtype == np.float32
    assert x.grad.shape == xv.shape
    numeric = numeric_grad(lambda v: np.sum(reference(v)), xv.astype(np.float64))
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-4, atol=1e-5)


def test_float32_with_float64_constants_keeps_float32_grads():
    xv = np.array([[0.5, 1.0, 1.5], [0.75, 1.25, 2.0]], dtype=np.float32)
    row64 = np.array([1.5, -2.0, 0.25])  # float64, broadcast against (2, 3)
    x = sg.tensor(xv, requires_grad=True)
    out = x * row64 + 1.0
    assert out.dtype == (xv * row64 + 1.0).dtype  # NumPy's promotion for the value
    out.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, np.broadcast_to(row64, (2, 3)), rtol=1e-6)
    # A float32 tensor broadcast against a float64 tensor: each grad has its own dtype.
    y = sg.tensor(xv, requires_grad=True)
    z = sg.tensor(row64, requires_grad=True)
    (y * z).sum().backward()
    assert y.grad.dtype == np.float32
    assert z.grad.dtype == np.float64
    np.testing.assert_allclose(y.grad, np.broadcast_to(row64, (2, 3)), rtol=1e-6)
    np.testing.assert_allclose(z.grad, xv.astype(np.float64).sum(axis=0), rtol=1e-6)


def test_float32_retained_non_leaf_grad_is_float32():
    # DESIGN: .grad has the same dtype as data, for a retained non-leaf too.
    x = sg.tensor(np.array([0.5, 1.0, 1.5], dtype=np.float32), requires_grad=True)
    h = sg.exp(x)
    h.retain_grad()
    h.mean().backward()
    assert h.dtype == np.float32
    assert h.grad.dtype == np.float32, h.grad.dtype
    np.testing.assert_allclose(h.grad, np.full(3, 1 / 3), rtol=1e-6)
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "f",
    [
        lambda t: (t * np.array([1.5, -2.0, 0.25])).sum(),
        lambda t: sg.exp(t).mean(),
        lambda t: (t * 2.5).sum(),
    ],
)
def test_float32_sg_grad_results_are_float32(f):
    x = sg.tensor(np.array([0.5, 1.0, 1.5], dtype=np.float32), requires_grad=True)
    (gx,) = sg.grad(f(x), x)
    assert gx.dtype == np.float32, gx.dtype


# ---- reductions -------------------------------------------------------------------------

AXES = [None, 0, 1, 2, -1, -2, (0, 2), (-1, 0), (0, 1, 2), ()]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=[repr(a) for a in AXES])
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_sum_and_mean_values_and_grads(name, axis, keepdims):
    gen = rng()
    xv = gen.standard_normal((2, 3, 4))
    x = sg.tensor(xv, requires_grad=True)
    out = getattr(sg, name)(x, axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(xv, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    g = gen.standard_normal(out.shape)
    out.backward(g)
    # The gradient is g repeated along the reduced axes (divided by their size for mean).
    kept_shape = np.sum(xv, axis=axis, keepdims=True).shape
    reduced = xv.size // int(np.prod(kept_shape))
    expected_grad = np.broadcast_to(np.reshape(g, kept_shape), xv.shape)
    if name == "mean":
        expected_grad = expected_grad / reduced
    assert x.grad.shape == xv.shape
    np.testing.assert_allclose(x.grad, expected_grad, rtol=1e-12)


@pytest.mark.parametrize("name", ["sum", "mean"])
def test_reduction_of_all_gives_ones_or_one_over_n(name):
    x = sg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    out = getattr(x, name)()
    assert out.shape == ()
    assert out.item() == pytest.approx(15.0 if name == "sum" else 2.5)
    out.backward()
    np.testing.assert_allclose(x.grad, np.ones((2, 3)) / (1 if name == "sum" else 6))


# ---- leaf .grad buffers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda a, b: (a + b).sum(),
        lambda a, b: ((a + b) * 2.0).sum(),
        lambda a, b: (a - (-b)).mean() * 6.0,
        lambda a, b: (a * 1.0 + b * 1.0).sum(),
    ],
)
def test_leaf_grads_are_own_writable_arrays(build):
    a = sg.tensor(np.zeros((2, 3)), requires_grad=True)
    b = sg.tensor(np.zeros((2, 3)), requires_grad=True)
    build(a, b).backward()
    for t in (a, b):
        assert isinstance(t.grad, np.ndarray)
        assert t.grad.shape == t.shape
        assert t.grad.dtype == t.dtype
        assert t.grad.flags.writeable
    assert not np.shares_memory(a.grad, b.grad)
    before_b = b.grad.copy()
    a.grad += 1.0
    np.testing.assert_array_equal(b.grad, before_b)


@pytest.mark.parametrize(
    "build",
    [
        lambda a, b: a + 0.0,  # add passes the retained grad on to the leaf unchanged
        lambda a, b: a.reshape(6).reshape(2, 3) * 1.0 + b.T.T,
        lambda a, b: (a + b) * 1.0,
    ],
)
def test_retained_grads_are_not_shared_with_leaves(build):
    a = sg.tensor(np.zeros((2, 3)), requires_grad=True)
    b = sg.tensor(np.zeros((2, 3)), requires_grad=True)
    middle = build(a, b)
    middle.retain_grad()
    (middle * 1.0).backward(np.ones((2, 3)))
    grads = [t.grad for t in (a, b, middle) if t.grad is not None]
    assert len(grads) >= 2
    for k, first in enumerate(grads):
        for second in grads[k + 1 :]:
            assert not np.shares_memory(first, second)


def test_a_transposed_gradient_becomes_the_leafs_own():
    x = sg.tensor(np.ones((2, 3)), requires_grad=True)
    other = sg.tensor(np.ones((3, 2)), requires_grad=True)
    seed = np.arange(6.0).reshape(3, 2)
    (x.T * other).backward(seed)
    np.testing.assert_array_equal(x.grad, seed.T)
    np.testing.assert_array_equal(other.grad, seed)
    x.grad += 1.0
    np.testing.assert_array_equal(other.grad, seed)
    np.testing.assert_array_equal(seed, np.arange(6.0).reshape(3, 2))


def test_leaf_grad_of_broadcast_scalar_is_writable():
    c = sg.tensor(np.float32(2.0), requires_grad=True)
    x = sg.tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    (c * x).sum().backward()
    assert c.grad.shape == ()
    assert c.grad.dtype == np.float32
    assert float(c.grad) == pytest.approx(12.0)
    x.grad += 1.0  # a broadcast view of the seed would be read-only
    np.testing.assert_allclose(x.grad, np.full((3, 4), 3.0))
    assert float(c.grad) == pytest.approx(12.0)


# ---- methods ---------------------------------------------------------------------------

METHOD_CASES = [
    ("exp", lambda t: t.exp(), lambda t: sg.exp(t)),
    ("sigmoid", lambda t: t.sigmoid(), lambda t: sg.sigmoid(t)),
    ("clip", lambda t: t.clip(-1, 1), lambda t: sg.clip(t, -1, 1)),
    ("sum axis 0", lambda t: t.sum(axis=0), lambda t: sg.sum(t, axis=0)),
    ("mean", lambda t: t.mean(), lambda t: sg.mean(t)),
]


@pytest.mark.parametrize(
    ("method", "function"),
    [case[1:] for case in METHOD_CASES],
    ids=[case[0] for case in METHOD_CASES],
)
def test_methods_match_functions(method, function):
    gen = rng()
    xv = gen.uniform(-2.0, 2.0, size=(3, 4))
    g = None
    results = []
    for build in (method, function):
        x = sg.tensor(xv, requires_grad=True)
        out = build(x)
        if g is None:
            g = gen.standard_normal(out.shape)
        out.backward(g)
        results.append((out.data, x.grad))
    (value_m, grad_m), (value_f, grad_f) = results
    np.testing.assert_array_equal(value_m, value_f)
    np.testing.assert_array_equal(grad_m, grad_f)


def test_method_values_against_numpy():
    xv = np.array([[-2.0, -0.5, 0.25], [0.9, 1.5, 3.0]])
    x = sg.tensor(xv)
    np.testing.assert_allclose(x.exp().data, np.exp(xv))
    np.testing.assert_allclose(x.sigmoid().data, sigmoid_np(xv))
    np.testing.assert_array_equal(x.clip(-1, 1).data, np.clip(xv, -1, 1))
    np.testing.assert_allclose(x.sum(axis=0).data, xv.sum(axis=0))
    assert x.mean().item() == pytest.approx(xv.mean())


def test_clip_gradient_passes_at_bounds_and_is_zero_outside():
    x = sg.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    x.clip(-1, 1).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


# ---- errors that name what was wrong ------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "prod", "max", "min", "norm"])
@pytest.mark.parametrize("axis", [5, -3, (0, 2)])
def test_a_reduction_axis_out_of_range_is_an_axis_error_naming_it(name, axis):
    x = sg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(np.exceptions.AxisError, match=rf"^{name}: axis .* out of bounds.*\(2, 3\)"):
        getattr(sg, name)(x, axis=axis)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ((3,), (4,), r"matmul: \(3,\) @ \(4,\): the contracted axes have sizes 3 and 4"),
        ((3,), (4, 2), r"matmul: \(3,\) @ \(4, 2\): the contracted axes have sizes 3 and 4"),
        ((2, 3), (4,), r"matmul: \(2, 3\) @ \(4,\): the contracted axes have sizes 3 and 4"),
        ((2, 3), (4, 2), r"^matmul: Input operand 1 has a mismatch"),  # NumPy's reason
    ],
)
def test_a_matmul_mismatch_names_the_shapes(a, b, message):
    with pytest.raises(ValueError, match=message) as caught:
        sg.tensor(np.ones(a)) @ sg.tensor(np.ones(b))
    assert "matmul: matmul" not in str(caught.value)  # the op named once
    assert "broadcast" not in str(caught.value)  # not a broadcasting problem


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_a_normalization_over_an_empty_axis_is_empty(name):
    x = sg.tensor(np.ones((2, 0)), requires_grad=True)
    with np.errstate(divide="ignore"):  # log(0) of the empty sum, as NumPy's
        out = getattr(sg, name)(x)
        assert out.shape == (2, 0)
        out.sum().backward()
    assert x.grad.shape == (2, 0)


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("argmax", lambda t: np.argmax(t)),
        ("argsort", lambda t: np.argsort(t)),
        ("nonzero", lambda t: np.nonzero(t)),
        ("allclose", lambda t: np.allclose(t, t)),
        ("isclose", lambda t: np.isclose(t, 1.0)),
        ("round", lambda t: np.round(t, 1)),
        ("floor_divide", lambda t: np.floor_divide(t, 2.0)),
        ("unique", lambda t: np.unique(t)),
        ("array_equal", lambda t: np.array_equal(t, t)),
        ("count_nonzero", lambda t: np.count_nonzero(t)),
    ],
)
def test_numpy_functions_without_a_gradient_run_on_the_data(name, call):
    values = np.array([3.25, 1.0, -2.5, 1.0])
    got = call(sg.tensor(values, requires_grad=True))
    want = call(values)
    assert not isinstance(got, sg.Tensor), name
    for g, w in zip(
        got if isinstance(got, tuple) else [got],
        want if isinstance(want, tuple) else [want],
        strict=True,
    ):
        np.testing.assert_array_equal(g, w)


def test_numpy_save_and_savez_store_the_data(tmp_path):
    t = sg.tensor([1.0, 2.0], requires_grad=True)
    np.save(tmp_path / "t.npy", t)
    np.savez(tmp_path / "t.npz", weight=t)
    np.testing.assert_array_equal(np.load(tmp_path / "t.npy"), t.data)
    np.testing.assert_array_equal(np.load(tmp_path / "t.npz")["weight"], t.data)


# ---- in place ---------------------------------------------------------------------------
IN_PLACE = [
    ("+=", lambda t, v: t.__iadd__(v), np.add),
    ("-=", lambda t, v: t.__isub__(v), np.subtract),
    ("*=", lambda t, v: t.__imul__(v), np.multiply),
    ("/=", lambda t, v: t.__itruediv__(v), np.divide),
    ("**=", lambda t, v: t.__ipow__(v), np.power),
]


@pytest.mark.parametrize(("symbol", "op", "ufunc"), IN_PLACE, ids=[i[0] for i in IN_PLACE])
def test_in_place_under_no_grad_changes_the_data_of_the_same_tensor(symbol, op, ufunc):
    p = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    data = p.data
    with sg.no_grad():
        result = op(p, sg.tensor([0.5, 2.0, 1.5]))
    assert result is p and p.data is data  # the same tensor and array, changed
    np.testing.assert_array_equal(p.data, ufunc([1.0, 2.0, 3.0], [0.5, 2.0, 1.5]))
    assert p.requires_grad and p.is_leaf


def test_the_optimizer_idiom_trains():
    # `with no_grad(): p -= lr * p.grad`, as every hand-written PyTorch loop has it
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3))
    target = x @ np.array([1.0, -2.0, 0.5])
    w = sg.tensor(np.zeros(3), requires_grad=True)
    losses = []
    for _ in range(30):
        loss = ((sg.tensor(x) @ w - target) ** 2).mean()
        loss.backward()
        with sg.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]


def test_in_place_on_a_leaf_that_requires_grad_outside_no_grad_raises():
    p = sg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^\+=: in place on a leaf tensor that requires grad"):
        p += 1.0
    with pytest.raises(RuntimeError, match=r"^t\[index\] = value: in place on a leaf"):
        p[0] = 3.0
    np.testing.assert_array_equal(p.data, [1.0, 2.0])  # nothing changed


def test_setitem_on_a_computed_tensor_is_recorded():
    # y = 2x, then y[1] = x0**2: w = sum(y*y) + sum(y_before + 1)
    x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    before = (y + 1.0).sum()  # used before the change: differentiates the old value
    y[1] = x[0] ** 2
    assert type(y.grad_fn).__name__ == "SetitemBackward"
    np.testing.assert_array_equal(y.data, [2.0, 1.0, 6.0])
    ((y * y).sum() + before).backward()

    def w(values):
        new = values * 2
        new[1] = values[0] ** 2
        return (new * new).sum() + (values * 2 + 1).sum()

    np.testing.assert_allclose(x.grad, numeric_grad(w, x.data), rtol=1e-7)


def test_setitem_fills_a_buffer_from_tensors_that_require_grad():
    v = sg.tensor(5.0, requires_grad=True)
    buffer = sg.zeros(3)
    buffer[0] = v
    buffer[2] = v * 2
    assert buffer.requires_grad and not buffer.is_leaf
    (buffer * buffer).sum().backward()
    assert v.grad == 2 * 5.0 + 2 * 10.0 * 2


@pytest.mark.parametrize(("symbol", "op", "ufunc"), IN_PLACE, ids=[i[0] for i in IN_PLACE])
def test_in_place_arithmetic_on_a_computed_tensor_is_recorded(symbol, op, ufunc):
    values, other = np.array([0.5, 1.5]), np.array([2.0, 0.5])
    a = sg.tensor(values, requires_grad=True)
    b = sg.tensor(other, requires_grad=True)
    h = sg.exp(a)  # its backward reads its output, which keeps its value
    same = op(h, b)
    assert same is h
    np.testing.assert_allclose(h.data, ufunc(np.exp(values), other))
    h.sum().backward()
    np.testing.assert_allclose(
        a.grad, numeric_grad(lambda v: ufunc(np.exp(v), other).sum(), values), rtol=1e-7
    )
    np.testing.assert_allclose(
        b.grad, numeric_grad(lambda o: ufunc(np.exp(values), o).sum(), other), rtol=1e-7
    )


def test_in_place_on_a_computed_tensor_under_no_grad_changes_its_data():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    with sg.no_grad():
        y += 1.0
    np.testing.assert_array_equal(y.data, [4.0, 7.0])
    y.sum().backward()  # the multiply saved x, not y: its gradient stands
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    z = y * y
    with sg.no_grad():
        y[0] = 0.0
    with pytest.raises(RuntimeError, match=r"^multiply: a tensor it saved for backward"):
        z.sum().backward()


def test_a_detached_tensor_shares_the_change_count_with_its_source():
    p = sg.tensor([1.0, 2.0], requires_grad=True)
    q = sg.tensor([3.0, 4.0], requires_grad=True)
    r = (p * q).sum()
    d = q.detach()
    d += 1.0  # q's data too
    np.testing.assert_array_equal(q.data, [4.0, 5.0])
    with pytest.raises(RuntimeError, match=r"^multiply: a tensor it saved"):
        r.backward()
    # and the other way: a node that saved the detached tensor
    s = (p * d).sum()
    with sg.no_grad():
        q -= 1.0
    with pytest.raises(RuntimeError, match=r"^multiply: a tensor it saved"):
        s.backward()


def test_a_saved_tensor_changed_in_place_makes_backward_raise_naming_the_op():
    w = sg.tensor([1.0, -2.0], requires_grad=True)
    c = sg.tensor([3.0, 4.0])
    y = (w * c).sum()
    c[1] = 100.0  # c requires no grad: allowed, and counted
    with pytest.raises(
        RuntimeError, match=r"^multiply: a tensor it saved for backward was changed"
    ):
        y.backward()
    (w * c).sum().backward()  # a graph made after the change runs
    np.testing.assert_array_equal(w.grad, [3.0, 100.0])


def test_a_change_no_node_saw_does_not_stop_backward():
    w = sg.tensor([1.0, -2.0], requires_grad=True)
    y = (w + 1.0).sum()  # add saves nothing
    with sg.no_grad():
        w += 5.0
    y.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])


def test_setitem_writes_numpy_indexing():
    t = sg.tensor(np.zeros((2, 3)))
    t[0, 1:] = 5.0
    t[t.data == 0] = -1.0
    t[sg.tensor(np.array([1]))] = sg.tensor([7.0, 8.0, 9.0])
    np.testing.assert_array_equal(t.data, [[-1.0, 5.0, 5.0], [7.0, 8.0, 9.0]])
    with pytest.raises(ValueError, match=r"^\+=: .*shape \(2, 3\)"):
        t += np.ones(4)


def test_a_grad_of_the_wrong_shape_is_refused_when_set():
    t = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(
        ValueError, match=r"^grad: shape \(2,\) assigned to a tensor of shape \(3,\)"
    ):
        t.grad = np.zeros(2)
    assert t.grad is None  # nothing changed
    t.grad = np.ones(3)
    (t * 2).sum().backward()
    np.testing.assert_array_equal(t.grad, [3.0, 3.0, 3.0])  # accumulated into what was set
    t.grad = None
    assert t.grad is None
