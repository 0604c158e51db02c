"""Forward mode and the functional API (symgrad/forward.py): sg.jvp of every op of the
tables against central finite differences along a random tangent, sg.jvp of composites
against sg.jacobian, the Jacobian's and Hessian's shapes and values, sg.vjp, bad input,
and, where PyTorch is installed, torch.autograd.functional's answers."""

import zlib

import numpy as np
import pytest
from test_rules import call as call_elementwise
from test_rules import make_inputs
from test_structural import call as call_structural
from test_structural import draw

import symgrad as sg
from symgrad.ops.contractions import CONTRACTIONS
from symgrad.ops.elementwise import OPS
from symgrad.ops.reductions import REDUCTIONS
from symgrad.ops.structural import STRUCTURAL

STEP = 1e-6


def along(f, arrays, tangents, step=STEP):
    """Central finite differences of ``f`` (on arrays, no graph) along ``tangents``."""
    with sg.no_grad():
        values = [
            f(*[sg.tensor(a + sign * step * t) for a, t in zip(arrays, tangents, strict=True)]).data
            for sign in (1, -1)
        ]
    return (values[0] - values[1]) / (2 * step)


def check_jvp(f, arrays, rng, rtol=1e-5, atol=1e-6):
    tangents = [rng.standard_normal(np.shape(a)) for a in arrays]
    out, tangent = sg.jvp(f, tuple(arrays), tuple(tangents))
    with sg.no_grad():
        expected_out = f(*[sg.tensor(a) for a in arrays]).data
    np.testing.assert_allclose(out.data, expected_out)
    assert tangent.shape == out.shape
    assert tangent.dtype == out.dtype
    np.testing.assert_allclose(tangent.data, along(f, arrays, tangents), rtol=rtol, atol=atol)


# ---- every op of the tables -------------------------------------------------------------
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_elementwise_jvp_matches_finite_differences(op):
    rng = np.random.default_rng(zlib.crc32(op.name.encode()))
    arrays = make_inputs(op)
    places = [k for k, name in enumerate(op.inputs) if name in op.grad_inputs]

    def f(*moved):
        inputs = list(arrays)
        for k, value in zip(places, moved, strict=True):
            inputs[k] = value
        return call_elementwise(op, inputs)

    check_jvp(f, [arrays[k] for k in places], rng)


@pytest.mark.parametrize("reduction", REDUCTIONS, ids=lambda r: r.name)
@pytest.mark.parametrize("axis", [1, (0, 2), None])
def test_reduction_jvp_matches_finite_differences(reduction, axis):
    if reduction.normalize and axis is None:
        pytest.skip("normalizations take an axis")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4)) + 0.5
    function = getattr(sg, reduction.name)
    check_jvp(lambda x: function(x, axis=axis), [x], rng)


@pytest.mark.parametrize("op", STRUCTURAL, ids=lambda op: op.name)
def test_structural_jvp_matches_finite_differences(op):
    gen = np.random.default_rng(11)
    for _ in range(5):
        arrays, params = draw(op, gen)
        if not op.variadic and op.name != "setitem":
            arrays = arrays[:1]

        def f(*xs, params=params):
            return call_structural(op, list(xs), params)

        check_jvp(f, arrays, gen)


@pytest.mark.parametrize("contraction", CONTRACTIONS, ids=lambda c: c.name)
def test_contraction_jvp_matches_finite_differences(contraction):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    check_jvp(sg.matmul, [a, b], rng)
    c = rng.standard_normal((5, 3))
    check_jvp(lambda a, b, c: sg.einsum("bij,bjk,kl->bil", a, b, c), [a, b, c], rng)


@pytest.mark.parametrize("rank", [1, 2])
def test_window_jvp_matches_finite_differences(rank):
    rng = np.random.default_rng(rank)
    F = sg.nn.functional
    size = (7,) * rank
    x = rng.standard_normal((2, 3, *size))
    w = rng.standard_normal((4, 3, *(3,) * rank))
    b = rng.standard_normal(4)
    conv = F.conv1d if rank == 1 else F.conv2d
    check_jvp(lambda x, w, b: conv(x, w, b, stride=2, padding=1), [x, w, b], rng)
    pool = F.max_pool1d if rank == 1 else F.max_pool2d
    check_jvp(lambda x: pool(x, 2), [x], rng)
    average = F.avg_pool1d if rank == 1 else F.avg_pool2d
    check_jvp(lambda x: average(x, 3, stride=2, padding=1), [x], rng)


# ---- composites, the Jacobian, the Hessian ---------------------------------------------
def mlp(x, w1, b1, w2):
    return sg.tanh(x @ w1 + b1) @ w2


def test_jvp_of_an_mlp_is_the_jacobian_times_the_tangent():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in [(5, 3), (3, 4), (4,), (4, 2)]]
    tangents = [rng.standard_normal(a.shape) for a in arrays]
    _, tangent = sg.jvp(mlp, tuple(arrays), tuple(tangents))
    blocks = sg.jacobian(mlp, tuple(arrays))
    expected = sum(
        np.tensordot(block.data, t, axes=t.ndim) for block, t in zip(blocks, tangents, strict=True)
    )
    np.testing.assert_allclose(tangent.data, expected, rtol=1e-12, atol=1e-12)
    check_jvp(mlp, arrays, rng)


@pytest.mark.parametrize("strategy", ["forward", "reverse"])
@pytest.mark.parametrize(
    ("in_shape", "out_of"),
    [
        ((3,), lambda x: sg.sin(x)),
        ((3,), lambda x: (x * x).sum()),
        ((), lambda x: sg.stack([x, x * x, sg.exp(x)])),
        ((2, 3), lambda x: x.T @ x),
        ((2, 3), lambda x: sg.softmax(x, axis=1)[0]),
    ],
)
def test_jacobian_has_pytorchs_shape_and_agrees_across_strategies(in_shape, out_of, strategy):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(in_shape)
    jac = sg.jacobian(out_of, x, strategy=strategy)
    with sg.no_grad():
        out = out_of(sg.tensor(x))
    assert jac.shape == out.shape + x.shape
    # column by column against finite differences
    for index in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[index] = 1
        np.testing.assert_allclose(
            jac.data[(Ellipsis, *index)], along(out_of, [x], [e]), rtol=1e-6, atol=1e-7
        )


def test_jacobian_of_tuples_is_a_tuple_of_tuples():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    jac = sg.jacobian(lambda a, b: (a @ b, (a * a).sum()), (a, b))
    assert isinstance(jac, tuple) and len(jac) == 2
    assert [j.shape for j in jac[0]] == [(2, 2, 3), (2, 3)]
    assert [j.shape for j in jac[1]] == [(2, 3), (3,)]
    np.testing.assert_allclose(jac[0][1].data, a)
    np.testing.assert_allclose(jac[1][0].data, 2 * a)
    np.testing.assert_allclose(jac[1][1].data, 0)
    single = sg.jacobian(lambda a, b: a @ b, (a, b))
    assert isinstance(single, tuple) and [j.shape for j in single] == [(2, 2, 3), (2, 3)]


def test_hessian_of_small_functions_against_closed_forms():
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(sg.hessian(lambda x: (x**3).sum(), x).data, np.diag(6 * x))
    a = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, -1.0], [0.0, -1.0, 4.0]])
    quadratic = sg.hessian(lambda x: x @ (sg.tensor(a) @ x), x)
    np.testing.assert_allclose(quadratic.data, a + a.T, atol=1e-14)
    np.testing.assert_allclose(sg.hessian(lambda x: x.sum() * 2.0, x).data, 0)
    # log-sum-exp: diag(p) - p p^T
    p = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(
        sg.hessian(lambda x: sg.logsumexp(x), x).data, np.diag(p) - np.outer(p, p), atol=1e-12
    )


def test_hessian_of_several_inputs_against_finite_differences_of_the_gradient():
    rng = np.random.default_rng(4)
    u, v = rng.standard_normal(3), rng.standard_normal((3, 2))

    def f(u, v):
        return (sg.sin(u @ v) * sg.exp(u).sum()).sum()

    blocks = sg.hessian(f, (u, v))
    assert [[b.shape for b in row] for row in blocks] == [
        [(3, 3), (3, 3, 2)],
        [(3, 2, 3), (3, 2, 3, 2)],
    ]
    arrays = [u, v]
    for j, array in enumerate(arrays):
        for index in np.ndindex(array.shape):
            e = [np.zeros_like(a) for a in arrays]
            e[j][index] = 1
            moved = []
            for sign in (1, -1):
                shifted = [a + sign * 1e-5 * t for a, t in zip(arrays, e, strict=True)]
                moved.append(sg.vjp(f, tuple(shifted))[1])
            for i in range(2):
                numeric = (moved[0][i].data - moved[1][i].data) / 2e-5
                np.testing.assert_allclose(
                    blocks[i][j].data[(Ellipsis, *index)], numeric, rtol=1e-5, atol=1e-7
                )


def test_vjp_returns_the_value_and_the_cotangent_times_the_jacobian():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3))
    cotangent = rng.standard_normal(3)
    out, grad = sg.vjp(lambda x: sg.tanh(x).sum(axis=0), x, cotangent)
    np.testing.assert_allclose(out.data, np.tanh(x).sum(axis=0))
    np.testing.assert_allclose(grad.data, cotangent * (1 - np.tanh(x) ** 2))
    out, grads = sg.vjp(lambda a, b: (a * b.T).sum(), (x, x.T.copy()))
    assert isinstance(grads, tuple) and [g.shape for g in grads] == [(2, 3), (3, 2)]


def test_an_input_the_output_does_not_use_gets_zeros():
    x, y = np.ones(2), np.ones(3)
    _, tangent = sg.jvp(lambda x, y: x * 2.0, (x, y), (np.ones(2), np.ones(3)))
    np.testing.assert_allclose(tangent.data, 2.0)
    _, tangent = sg.jvp(lambda x, y: x * 2.0, (x, y), (None, np.ones(3)))
    np.testing.assert_allclose(tangent.data, 0.0)
    np.testing.assert_allclose(sg.jacobian(lambda x, y: x * 2.0, (x, y))[1].data, 0)


def test_bad_input_is_refused_naming_the_shapes():
    with pytest.raises(
        ValueError, match=r"jvp: tangent 0 has shape \(2,\), its value has shape \(3,\)"
    ):
        sg.jvp(sg.sin, np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=r"jvp: 1 tangents for 2 values"):
        sg.jvp(lambda a, b: a * b, (np.ones(3), np.ones(3)), (np.ones(3),))
    with pytest.raises(
        ValueError, match=r"vjp: cotangent 0 has shape \(3,\), its value has shape \(\)"
    ):
        sg.vjp(lambda x: x.sum(), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"jvp: tangents can be omitted only"):
        sg.jvp(sg.sin, np.ones(3))
    with pytest.raises(TypeError, match=r"jacobian: input 0 has dtype int64"):
        sg.jacobian(sg.sin, np.arange(3))
    with pytest.raises(ValueError, match=r"hessian: the function must return a one-element"):
        sg.hessian(sg.sin, np.ones(3))
    with pytest.raises(ValueError, match=r"jacobian: strategy must be"):
        sg.jacobian(sg.sin, np.ones(3), strategy="sideways")


# ---- PyTorch's answers ------------------------------------------------------------------
def test_against_torch_autograd_functional():
    torch = pytest.importorskip("torch")
    functional = torch.autograd.functional
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s) for s in [(5, 3), (3, 4), (4,), (4, 2)]]
    tangents = [rng.standard_normal(a.shape) for a in arrays]

    def torch_mlp(x, w1, b1, w2):
        return torch.tanh(x @ w1 + b1) @ w2

    def as_torch(values):
        return tuple(torch.from_numpy(v) for v in values)

    out, tangent = sg.jvp(mlp, tuple(arrays), tuple(tangents))
    want_out, want_tangent = functional.jvp(torch_mlp, as_torch(arrays), as_torch(tangents))
    np.testing.assert_allclose(out.data, want_out.numpy(), rtol=1e-12)
    np.testing.assert_allclose(tangent.data, want_tangent.numpy(), rtol=1e-10, atol=1e-12)
    jac = sg.jacobian(mlp, tuple(arrays))
    want = functional.jacobian(torch_mlp, as_torch(arrays))
    for got, expected in zip(jac, want, strict=True):
        assert got.shape == tuple(expected.shape)
        np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-10, atol=1e-12)
    x = rng.standard_normal(4)
    hess = sg.hessian(lambda x: sg.logsumexp(x * x) * sg.sin(x).sum(), x)
    want = functional.hessian(
        lambda x: torch.logsumexp(x * x, 0) * torch.sin(x).sum(), torch.from_numpy(x)
    )
    np.testing.assert_allclose(hess.data, want.numpy(), rtol=1e-10, atol=1e-12)


def test_every_generated_class_renders_a_jvp_of_its_own():
    # derived and checked at generation: no class falls back to its vjp transposed
    import importlib

    from symgrad.function import BackwardFcn

    modules = ("elementwise", "reductions", "structural", "contractions", "windows")
    classes = [
        value
        for module in modules
        for value in vars(importlib.import_module(f"symgrad.generated.{module}")).values()
        if isinstance(value, type) and issubclass(value, BackwardFcn) and value is not BackwardFcn
    ]
    assert len(classes) >= 100  # every table row, of every kind
    without = [c.__name__ for c in classes if c.calculate_jvp is BackwardFcn.calculate_jvp]
    assert without == []
