"""matmul, dot, outer, trace and einsum with NumPy's semantics: values against NumPy,
gradients against central finite differences (exact for these multilinear maps)."""

import numpy as np
import pytest

import symgrad as sg

rng = np.random.default_rng(0)


def check(f, numpy_f, *shapes):
    arrays = [rng.standard_normal(shape) for shape in shapes]
    tensors = [sg.tensor(a, requires_grad=True) for a in arrays]
    out = f(*tensors)
    np.testing.assert_allclose(out.data, numpy_f(*arrays), rtol=1e-12, atol=1e-12)
    cotangent = rng.standard_normal(out.shape)
    out.backward(cotangent)
    for place, (tensor, array) in enumerate(zip(tensors, arrays)):
        assert tensor.grad.shape == array.shape
        # multilinear in each operand: the directional derivative is exact
        probe = rng.standard_normal(array.shape)
        moved = [probe if k == place else a for k, a in enumerate(arrays)]
        with sg.no_grad():
            directional = np.vdot(cotangent, f(*[sg.tensor(m) for m in moved]).data)
        assert np.vdot(tensor.grad, probe) == pytest.approx(directional, rel=1e-10, abs=1e-10)


MATMUL_SHAPES = [
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((3,), (3,)),
    ((3,), (5, 3, 4)),  # 1-D on the left of a batch
    ((5, 2, 3), (3,)),  # 1-D on the right of a batch
    ((5, 1, 2, 3), (4, 3, 2)),  # broadcast batch axes
    ((1, 2, 3), (6, 3, 4)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    check(lambda a, b: a @ b, np.matmul, *shapes)
    check(sg.matmul, np.matmul, *shapes)


def test_matmul_with_arrays_on_either_side():
    a, w = rng.standard_normal((2, 3)), sg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    out = a @ w
    assert isinstance(out, sg.Tensor)
    out.sum().backward()
    np.testing.assert_allclose(w.grad, a.T @ np.ones((2, 4)))


@pytest.mark.parametrize(
    "shapes",
    [((3,), (3,)), ((2, 3), (3, 4)), ((2, 3), (3,)), ((2, 3, 4), (4,)), ((2, 3, 4), (5, 4, 2))],
    ids=str,
)
def test_dot(shapes):
    check(sg.dot, np.dot, *shapes)


def test_outer_and_trace():
    check(sg.outer, np.outer, (3,), (2, 2))
    check(sg.trace, np.trace, (3, 3))
    check(sg.trace, np.trace, (3, 3, 2))


EINSUMS = [
    ("ij,jk->ik", (2, 3), (3, 4)),
    ("ij,jk", (2, 3), (3, 4)),  # implicit output
    ("ii->", (3, 3)),  # repeated letters: the trace
    ("ii->i", (3, 3)),  # the diagonal
    ("iij->j", (2, 2, 3)),
    ("ij,k->i", (2, 3), (4,)),  # a letter of one operand only
    ("...ij,...jk->...ik", (5, 1, 2, 3), (4, 3, 2)),  # broadcasting batch
    ("i...j,j->...i", (2, 5, 3), (3,)),
    ("bij,bjk,bkl->bil", (2, 3, 4), (2, 4, 5), (2, 5, 3)),
    ("i,i", (3,), (3,)),
]


@pytest.mark.parametrize(
    ("spec", "shapes"), [(e[0], e[1:]) for e in EINSUMS], ids=[e[0] for e in EINSUMS]
)
def test_einsum(spec, shapes):
    check(lambda *ops: sg.einsum(spec, *ops), lambda *ops: np.einsum(spec, *ops), *shapes)


def test_matmul_bad_shapes_name_them():
    with pytest.raises(ValueError, match=r"matmul: .*\(2, 3\).*\(4, 5\)"):
        sg.tensor(np.ones((2, 3))) @ sg.tensor(np.ones((4, 5)))


def test_second_derivative_through_matmul():
    a = sg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = rng.standard_normal((3, 2))
    (g,) = sg.grad(((a @ b) ** 2).sum(), a, create_graph=True)
    g.sum().backward()
    # g = 2 (a b) b^T, so d sum(g) / da = 2 * ones @ (b b^T)^T
    np.testing.assert_allclose(a.grad, 2 * np.ones((2, 3)) @ (b @ b.T).T)
