"""matmul, dot, outer, trace and einsum with NumPy's semantics: values against NumPy,
gradients against central finite differences (exact for these multilinear maps)."""

import numpy as np
import pytest

import symgrad as sg
from symgrad import einsum_spec

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


@pytest.mark.parametrize(
    ("shape", "offset", "axis1", "axis2"),
    [((3, 5), 1, 0, 1), ((4, 2), -1, 0, 1), ((2, 3, 4), 2, 2, 1), ((3, 4, 2), 0, -1, 0)],
)
def test_trace_with_offset_and_axes(shape, offset, axis1, axis2):
    # rectangular, off the main diagonal, over any two axes: NumPy's trace
    check(
        lambda x: sg.trace(x, offset, axis1, axis2),
        lambda x: np.trace(x, offset, axis1, axis2),
        shape,
    )


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


INTERLEAVED = [
    ([0, 1], [1, 2], [0, 2]),
    ([0, 1], [1, 2], None),  # implicit output
    ([Ellipsis, 0, 1], [1, 30], [Ellipsis, 30]),  # ellipsis, and a capital letter
    ([4, 4], None, []),  # one operand, its trace
]


@pytest.mark.parametrize("sublists", INTERLEAVED, ids=str)
def test_einsum_interleaved_form(sublists):
    first, second, output = sublists
    sizes = {0: 2, 1: 3, 2: 4, 4: 3, 30: 2}
    shapes = [(5, *(sizes[i] for i in first[1:]))] if first[0] is Ellipsis else []
    shapes = shapes or [tuple(sizes[i] for i in first)]
    if second is not None:
        shapes.append(tuple(sizes[i] for i in second))

    def interleave(einsum, *ops):
        args = [a for pair in zip(ops, [first, second][: len(ops)]) for a in pair]
        return einsum(*args, *([] if output is None else [output]))

    check(
        lambda *ops: interleave(sg.einsum, *ops), lambda *ops: interleave(np.einsum, *ops), *shapes
    )


# "..." anywhere in a term, the operands' ellipses broadcast against each other as NumPy
# does (aligned at their ends): empty, of other lengths, of size 1 against larger sizes.
# An operand's gradient sums its broadcast ellipsis back inside its own axes.
ELLIPSIS_EINSUMS = [
    ("i...,i...->i...", (2, 3), (2,)),  # an empty ellipsis against (3,), not leading
    ("j...k,lj...->lk...", (3, 4), (5, 3)),  # both empty
    ("j...k,lj...->lk...", (3, 4), (5, 3, 2)),
    ("j...k,lj...->lk...", (3, 4), (5, 3, 3)),  # the ellipsis as long as j: summing j fits
    ("j...k,lj...->lk...", (3, 2, 4), (5, 3)),
    ("j...k,lj...->lk...", (3, 1, 4), (5, 3, 2)),  # size 1 against 2
    ("j...k,lj...->lk...", (3, 2, 1, 4), (5, 3, 3)),  # (2, 1) against (3,)
    ("...ij,...jk->...ik", (2, 1, 2, 3), (4, 3, 2)),
    ("a...b,...b->...a", (2, 4, 1, 3), (5, 3)),  # (4, 1) against (5,)
    ("i...j,j...->...i", (2, 1, 3), (3, 4)),
    ("i...,i...", (2, 3), (2, 1)),  # implicit output
    ("...,...->...", (2, 1), (3,)),
    ("...i,i...->...", (2, 3), (3,)),  # summed over i
    ("ii...->i...", (3, 3, 2)),  # a diagonal
    ("i...i->...", (3, 2, 3)),
    ("i...->...i", (2, 1, 3)),
    ("i...,...j,ij->...", (2, 3), (1, 4), (2, 4)),  # three operands, (3,) against (1,)
]


@pytest.mark.parametrize(
    ("spec", "shapes"),
    [(e[0], e[1:]) for e in ELLIPSIS_EINSUMS],
    ids=[f"{e[0]}-{e[1:]}" for e in ELLIPSIS_EINSUMS],
)
def test_einsum_with_broadcast_ellipses(spec, shapes):
    arrays = [rng.standard_normal(shape) for shape in shapes]
    got = sg.einsum(spec, *[sg.tensor(a) for a in arrays])
    np.testing.assert_allclose(got.data, np.einsum(spec, *arrays), rtol=1e-12, atol=1e-12)
    # against central finite differences, for a random cotangent
    tensors = [sg.tensor(a, requires_grad=True) for a in arrays]
    assert sg.gradcheck(lambda *ops: sg.einsum(spec, *ops), tensors, atol=1e-7, rtol=1e-6)


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


@pytest.mark.parametrize(
    ("spec", "shapes"),
    [
        ("ii,j->ij", ((3, 3), (2,))),
        ("ijj,k->ik", ((2, 3, 3), (3,))),
        ("iji,jk->k", ((2, 3, 2), (3, 4))),
        ("...ii,i->...", ((2, 3, 3), (3,))),
        ("iii,j->ij", ((2, 2, 2), (3,))),
    ],
)
def test_einsum_repeated_letters_differentiate_again(spec, shapes):
    # The gradient of an operand that repeats a letter is written through its diagonal;
    # with create_graph=True that write keeps its graph, so the second order reaches the
    # other operand. einsum is linear in each: for L = sum(u * einsum(spec, a, b)),
    # <dL/da, v> = sum(u * einsum(spec, v, b)), whose gradient for b a first order gives.
    a, b = (sg.tensor(rng.standard_normal(shape), requires_grad=True) for shape in shapes)
    u = rng.standard_normal(sg.einsum(spec, a, b).shape)
    v = rng.standard_normal(shapes[0])
    (grad_a,) = sg.grad((u * sg.einsum(spec, a, b)).sum(), a, create_graph=True)
    (second,) = sg.grad((grad_a * v).sum(), b)
    at_v = sg.tensor(b.data, requires_grad=True)
    (u * sg.einsum(spec, v, at_v)).sum().backward()
    np.testing.assert_allclose(second.data, at_v.grad, rtol=1e-12, atol=1e-12)


# ---- einsum_spec.contract: the batched BLAS product behind the window ops ----------------


@pytest.mark.parametrize("summed", [4096, 4096 + 37])  # whole blocks, and a remainder
def test_contract_sums_a_long_axis_in_blocks(monkeypatch, summed):
    # thresholds lowered so that small arrays take the blocked path
    monkeypatch.setattr(einsum_spec, "LONG_SUM_BYTES", 1)
    monkeypatch.setattr(einsum_spec, "SUM_BLOCK", 1000)
    calls = []
    real_matmul = np.matmul

    def counting_matmul(left, right, **kwargs):
        calls.append(left.shape)
        return real_matmul(left, right, **kwargs)

    monkeypatch.setattr(einsum_spec.numpy, "matmul", counting_matmul)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 5, summed)), rng.standard_normal((2, 3, summed))
    got = einsum_spec.contract("gok,gck->goc", a, b)
    monkeypatch.undo()
    np.testing.assert_allclose(got, np.einsum("gok,gck->goc", a, b), rtol=1e-12)
    assert calls[0][-3:-1] == (4, 5) or calls[0][-3:-1] == (4, 3)  # 4 blocks, in one call
    assert len(calls) == (2 if summed % 1000 else 1)


def test_contract_plans_per_layout():
    # the same spec and shapes with other strides: the cached plan must not be reused
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 4, 5))
    b = rng.standard_normal((5, 6))
    spec = "nck,kd->ncd"
    first = einsum_spec.contract(spec, a, b)
    a_transposed = np.ascontiguousarray(a.transpose(2, 1, 0)).transpose(2, 1, 0)
    b_fortran = np.asfortranarray(b)
    second = einsum_spec.contract(spec, a_transposed, b_fortran)
    want = np.einsum(spec, a, b)
    np.testing.assert_allclose(first, want, rtol=1e-12)
    np.testing.assert_allclose(second, want, rtol=1e-12)
    again = einsum_spec.contract(spec, a, b)  # from the cache
    np.testing.assert_allclose(again, want, rtol=1e-12)


@pytest.mark.parametrize("layout", ["gnck", "gckn", "gkcn", "gnkc"])
def test_contract_gives_the_memory_order_asked_for(layout):
    # the batch letter g first, then either operand's free letters, in any order
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 2, 3))  # n g o
    b = rng.standard_normal((2, 3, 6, 7))  # g o c k
    spec = "ngo,gock->ngck"
    got = einsum_spec.contract_keeping(spec, a, b, layout)[0]
    np.testing.assert_allclose(got, np.einsum(spec, a, b), rtol=1e-12)
    output = "ngck"
    in_memory_order = got.transpose([output.index(c) for c in layout])
    assert in_memory_order.flags.c_contiguous


def test_contract_refuses_a_layout_no_product_gives():
    a, b = np.ones((4, 2, 3)), np.ones((2, 3, 6))
    with pytest.raises(ValueError, match="no product gives the layout"):
        einsum_spec.contract_keeping("ngo,goc->ngc", a, b, "ngc")  # batch g not outermost


def test_the_check_catches_a_wrong_contraction_jvp(monkeypatch):
    # a jvp that forgets the second operand's term stops generation, naming the op
    from symgrad import einsum_spec
    from symgrad.codegen import generate
    from symgrad.codegen.verify.linear import check_contractions
    from symgrad.codegen.verify.policy import CheckError

    right = einsum_spec.multilinear_jvp

    def first_only(forward, operands, tangents, params=()):
        return right(forward, operands, [tangents[0], *([None] * (len(tangents) - 1))], params)

    monkeypatch.setattr(einsum_spec, "multilinear_jvp", first_only)
    text = (generate.GENERATED / "contractions.py").read_text()
    with pytest.raises(CheckError, match=r"^matmul: the jvp: differs"):
        check_contractions(text, (generate.GENERATED / "unbroadcast.py").read_text())
