"""Structural ops (shape ops and indexing) through the public API, parametrized from the
structural table where possible: a new row is tested without a new test.

Every expected value is independent of the generated code: NumPy's own function (or
NumPy indexing) for the forward, central finite differences of that NumPy reference for
the gradient, closed forms for the indexing cases users trip on.
"""

import dataclasses

import numpy as np
import pytest
from finite_differences import numeric_vjp

import symgrad as sg
from symgrad.codegen import generate, linear, render
from symgrad.codegen.verify.linear import check_structural
from symgrad.codegen.verify.policy import CheckError
from symgrad.generated import functions as generated_functions
from symgrad.ops import maps
from symgrad.ops.structural import STRUCTURAL, random_index

BY_NAME = {op.name: op for op in STRUCTURAL}
PUBLIC = [op for op in STRUCTURAL if op.public]


def rng(salt=0):
    return np.random.default_rng(20240 + salt)


# ---- how each row is reached, and its NumPy reference -------------------------------------


def _scatter_reference(x, index, shape):
    out = np.zeros(shape, np.result_type(x))
    # An explicit loop over the gathered positions: independent of numpy.add.at.
    positions = np.arange(int(np.prod(shape))).reshape(shape)[index]
    for position, value in zip(positions.reshape(-1), np.reshape(x, -1)):
        out.reshape(-1)[position] += value
    return out


def _window_positions(shape, kernel, stride, padding, dilation):
    """Per window element (n, c, s..., k...), the flat position in an array of ``shape``
    it reads, -1 where it reads the zero padding: loops over every element, from the
    definition x_padded[n, c, s*stride + k*dilation]."""
    spatial = shape[2:]
    out = [
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation)
    ]
    positions = np.full((*shape[:2], *out, *kernel), -1, dtype=np.intp)
    flat = np.arange(int(np.prod(shape))).reshape(shape)
    for element in np.ndindex(*positions.shape):
        rank = len(spatial)
        s, k = element[2 : 2 + rank], element[2 + rank :]
        read = [si * st + ki * di - p for si, ki, st, di, p in zip(s, k, stride, dilation, padding)]
        if all(0 <= r < n for r, n in zip(read, spatial)):
            positions[element] = flat[(*element[:2], *read)]
    return positions


def _gather_reference(x, kernel, stride, padding, dilation):
    positions = _window_positions(np.shape(x), kernel, stride, padding, dilation)
    values = np.reshape(x, -1)[np.maximum(positions, 0)]
    return np.where(positions >= 0, values, 0.0)


def _scatter_windows_reference(x, shape, kernel, stride, padding, dilation):
    positions = _window_positions(shape, kernel, stride, padding, dilation)
    out = np.zeros(shape, np.result_type(x))
    # kernel offset by kernel offset (the order the sums are rounded in)
    rank = len(kernel)
    order = (*range(positions.ndim - rank, positions.ndim), *range(positions.ndim - rank))
    x = np.transpose(x, order)
    for position, value in zip(np.transpose(positions, order).reshape(-1), np.reshape(x, -1)):
        if position >= 0:
            out.reshape(-1)[position] += value
    return out


# Rows without a public function: how users reach them, and what NumPy gives.
PRIVATE = {
    "getitem": (lambda xs, index: xs[0][index], lambda xs, index: xs[0][index]),
    # The adjoint of getitem; users reach it by differentiating a backward of getitem.
    "scatter_add": (
        lambda xs, index, shape: generated_functions._scatter_add(xs[0], index, shape),
        lambda xs, index, shape: _scatter_reference(xs[0], index, shape),
    ),
    # The window gather of convolution and pooling and its transpose; users reach them by
    # differentiating a convolution's or a pool's backward (create_graph=True).
    "window_gather": (
        lambda xs, **params: generated_functions._window_gather(xs[0], **params),
        lambda xs, **params: _gather_reference(xs[0], **params),
    ),
    "window_scatter": (
        lambda xs, **params: generated_functions._window_scatter(xs[0], **params),
        lambda xs, **params: _scatter_windows_reference(xs[0], **params),
    ),
    # numpy.pad is symgrad/shape.py's pad, which runs one of these two
    "pad": (lambda xs, pad_width: sg.pad(xs[0], pad_width), lambda xs, **kw: np.pad(xs[0], **kw)),
    "pad_copies": (
        lambda xs, pad_width, mode: sg.pad(xs[0], pad_width, mode=mode),
        lambda xs, **kw: np.pad(xs[0], **kw),
    ),
    "astype": (lambda xs, dtype: xs[0].astype(dtype), lambda xs, dtype: xs[0].astype(dtype)),
    # `t[index] = value` on a tensor computed in a graph (a copy of x here)
    "setitem": (
        lambda xs, index: _assigned(xs[0] + 0.0, index, xs[1]),
        lambda xs, index: _assigned(xs[0].copy(), index, xs[1]),
    ),
}


def _assigned(x, index, value):
    x[index] = value
    return x


def call(op, inputs, params):
    """The op on tensors (or arrays), through the public API, with NumPy's keywords."""
    if not op.public:
        return PRIVATE[op.name][0](inputs, **params)
    function = getattr(sg, op.name)
    return function(inputs, **params) if op.variadic else function(inputs[0], **params)


def reference(op, arrays, params):
    """NumPy's own result for the op."""
    if not op.public:
        return np.asarray(PRIVATE[op.name][1](arrays, **params))
    function = getattr(np, op.name)
    return function(arrays, **params) if op.variadic else function(arrays[0], **params)


def draw(op, gen):
    """Input arrays and params for one random configuration of the row."""
    shapes, params = op.configs(gen)
    shapes = list(shapes) if op.variadic else [shapes]
    return [gen.standard_normal(shape) for shape in shapes], params


ROW_IDS = [op.name for op in STRUCTURAL]


def test_every_row_is_reachable():
    for op in STRUCTURAL:
        if op.public:
            assert callable(getattr(sg, op.name)), op.name
            assert op.name in sg.__all__, op.name
        else:
            assert op.name in PRIVATE, f"{op.name}: tell the tests how users reach it"
            # not exported (sg.pad is a composite running the private pad row)
            assert f"_{op.name}" not in sg.__all__, op.name


# ---- forward, gradient, adjoint: every row ------------------------------------------------


@pytest.mark.parametrize("op", STRUCTURAL, ids=ROW_IDS)
def test_forward_equals_numpy(op):
    gen = rng(1)
    for _ in range(30):
        arrays, params = draw(op, gen)
        inputs = [sg.tensor(a) for a in arrays]
        out = call(op, inputs, params)
        expected = reference(op, arrays, params)
        assert isinstance(out, sg.Tensor)
        assert out.shape == np.shape(expected), (op.name, params)
        np.testing.assert_array_equal(out.data, expected)


@pytest.mark.parametrize("op", STRUCTURAL, ids=ROW_IDS)
def test_gradient_equals_finite_differences(op):
    gen = rng(2)
    for _ in range(12):
        arrays, params = draw(op, gen)
        inputs = [sg.tensor(a, requires_grad=True) for a in arrays]
        out = call(op, inputs, params)
        cotangent = gen.standard_normal(out.shape)
        (out * cotangent).sum().backward()
        expected = numeric_vjp(lambda xs, p=params: reference(op, xs, p), arrays, cotangent)
        for tensor, want in zip(inputs, expected, strict=True):
            assert tensor.grad.shape == tensor.shape
            np.testing.assert_allclose(tensor.grad, want, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("op", STRUCTURAL, ids=ROW_IDS)
def test_dot_product_of_each_adjoint(op):
    """<A x, y> == <x, A^T y>, A^T y being what backward(y) gives, in float64."""
    gen = rng(3)
    for _ in range(60):
        arrays, params = draw(op, gen)
        inputs = [sg.tensor(a, requires_grad=True) for a in arrays]
        out = call(op, inputs, params)
        y = gen.standard_normal(out.shape)
        out.backward(y)
        left = np.vdot(out.data, y)
        right = sum(np.vdot(t.data, t.grad) for t in inputs)
        assert abs(left - right) <= 1e-12 * max(1.0, abs(left)), (op.name, params)


@pytest.mark.parametrize("op", STRUCTURAL, ids=ROW_IDS)
def test_backward_is_differentiable_again(op):
    """With create_graph=True the adjoint runs on tensors (NumPy calls dispatch to symgrad
    ops). For L = sum(c * A(x)**2) the gradient g(x) = 2 A^T(c * A x) is linear in x, so
    the gradient of <g(x), v> is g(v), which a first-order backward at v gives."""
    gen = rng(4)
    for _ in range(8):
        arrays, params = draw(op, gen)
        probes = [gen.standard_normal(a.shape) for a in arrays]
        c = None

        def loss(inputs, params=params):
            nonlocal c
            out = call(op, inputs, params)
            c = gen.standard_normal(out.shape) if c is None else c
            return (out * out * c).sum()

        inputs = [sg.tensor(a, requires_grad=True) for a in arrays]
        grads = sg.grad(loss(inputs), inputs, create_graph=True)
        sum((g * v).sum() for g, v in zip(grads, probes, strict=True)).backward()

        at_probes = [sg.tensor(v, requires_grad=True) for v in probes]
        loss(at_probes).backward()
        for tensor, first_order in zip(inputs, at_probes, strict=True):
            np.testing.assert_allclose(tensor.grad, first_order.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", STRUCTURAL, ids=ROW_IDS)
def test_float32_stays_float32(op):
    # the output's dtype is NumPy's (float32 but for a cast), the gradient the input's
    arrays, params = draw(op, rng(5))
    arrays = [a.astype(np.float32) for a in arrays]
    inputs = [sg.tensor(a, requires_grad=True) for a in arrays]
    out = call(op, inputs, params)
    assert out.dtype == reference(op, arrays, params).dtype
    out.backward(np.ones(out.shape, dtype=out.dtype))
    for tensor in inputs:
        assert tensor.grad.dtype == np.float32


# ---- the generation-time check itself ------------------------------------------------------


def check_rows(rows, source=None):
    source = source or generate.render_structural(rows, "tests")
    check_structural(source, generate.render_unbroadcast(), ops=rows)


def test_the_check_passes_the_table():
    check_rows(STRUCTURAL)


@pytest.mark.parametrize(
    ("name", "wrong_steps"),
    [
        ("flip", (maps.Flip("None"),)),  # flips every axis, not the given ones
        ("swapaxes", (maps.SwapAxes("axis2", "axis2"),)),
        ("pad", (maps.ScatterAdd("tuple(slice(0, n) for n in x_shape)", "out_shape"),)),
        ("tile", (maps.Reshape("out_shape"),)),  # one tile, not repeated
        ("concatenate", (maps.Concat("-1"),)),
        ("transpose", (maps.Transpose("None"),)),
    ],
)
def test_the_check_catches_steps_that_are_not_the_forward(name, wrong_steps):
    # the adjoint derived from these steps is their true adjoint: only holding the
    # steps against the forward catches a declaration of the wrong map
    wrong = dataclasses.replace(BY_NAME[name], steps=wrong_steps)
    with pytest.raises(CheckError, match=f"^{name}: .*are not its forward") as caught:
        check_rows((wrong,))
    assert caught.value.op == name


@pytest.mark.parametrize(
    ("kind", "wrong_transpose"),
    [
        (maps.Flip, lambda step, shape: maps.Flip("None")),
        (maps.Transpose, lambda step, shape: step),  # the permutation, not its inverse
        (
            maps.Read,
            lambda step, shape: maps.ScatterAdd("tuple(slice(None) for _ in " + shape + ")", shape),
        ),
        (maps.Broadcast, lambda step, shape: maps.Reshape(shape)),
        (maps.ScatterAdd, lambda step, shape: maps.Read("...")),
        (maps.CumSum, lambda step, shape: step),  # the running sum, not from the end
        (maps.Cast, lambda step, shape: maps.Cast("numpy.float32")),  # a rounding transpose
    ],
)
def test_the_check_catches_a_wrong_transpose_rule(monkeypatch, kind, wrong_transpose):
    rule = linear.transpose

    def sabotaged(step, shape):
        return wrong_transpose(step, shape) if isinstance(step, kind) else rule(step, shape)

    monkeypatch.setattr(linear, "transpose", sabotaged)
    rows = tuple(op for op in STRUCTURAL if any(isinstance(s, kind) for s in op.steps))
    with pytest.raises(CheckError) as caught:
        check_rows(rows)
    assert caught.value.op in {op.name for op in rows}


def test_the_check_catches_an_adjoint_that_does_not_accumulate_repeated_indices():
    rows = (BY_NAME["getitem"],)
    source = generate.render_structural(rows, "tests")
    assert "add_at(grad, index, x_shape)" in source
    broken = source.replace("add_at(grad, index, x_shape)", "_assign_at(grad, index, x_shape)")
    broken += (
        "\n\ndef _assign_at(grad, index, shape):\n"
        "    out = numpy.zeros(shape)\n"
        "    out[index] = grad\n"
        "    return out\n"
    )
    with pytest.raises(CheckError, match=r"^getitem: "):
        check_rows(rows, broken)


def test_no_adjoint_is_declared_per_op():
    # every row says what map it is, never what its adjoint is
    for op in STRUCTURAL:
        assert not hasattr(op, "adjoint"), op.name
        assert op.steps and all(dataclasses.is_dataclass(step) for step in op.steps), op.name


def test_random_indices_cover_every_kind():
    gen, seen = rng(6), set()
    for _ in range(300):
        shape = tuple(int(n) for n in gen.integers(1, 4, size=gen.integers(1, 5)))
        index = random_index(gen, shape)
        items = index if type(index) is tuple else (index,)
        for item in items:
            if isinstance(item, slice):
                seen.add("negative step" if (item.step or 1) < 0 else "slice")
            elif item is None or item is Ellipsis:
                seen.add(repr(item))
            elif isinstance(item, int):
                seen.add("int")
            elif np.asarray(item).dtype == bool:
                seen.add("mask")
            elif isinstance(item, list):
                seen.add("list")
            else:
                values = np.asarray(item).reshape(-1)
                if len(set(values.tolist())) < len(values):
                    seen.add("repeated")
        kinds = {type(i) for i in items}
        if slice in kinds and (np.ndarray in kinds or list in kinds):
            seen.add("mixed")
        np.zeros(shape)[index]  # valid
    wanted = {"slice", "negative step", "None", "Ellipsis", "int", "mask", "list", "repeated"}
    assert seen >= {*wanted, "mixed"}


# ---- indexing cases users trip on ------------------------------------------------------------


def test_repeated_integer_indices_accumulate():
    x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


def test_repeated_indices_accumulate_weighted_and_in_two_dimensions():
    x = sg.tensor(np.zeros((2, 3)), requires_grad=True)
    rows, cols = np.array([1, 1, 0, 1]), np.array([2, 2, 0, 2])
    (x[rows, cols] * np.array([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[100.0, 0.0, 0.0], [0.0, 0.0, 1011.0]])


@pytest.mark.parametrize(
    "index",
    [
        np.s_[::-1],
        np.s_[::-2],
        np.s_[4:0:-3],
        np.s_[-1:-6:-1],
        np.s_[1::-1],
    ],
    ids=repr,
)
def test_negative_step_slices(index):
    values = np.arange(6.0)
    x = sg.tensor(values, requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(out.data, values[index])
    weights = np.arange(1.0, out.size + 1)
    (out * weights).sum().backward()
    expected = np.zeros(6)
    for weight, position in zip(weights, np.arange(6)[index]):
        expected[position] += weight
    np.testing.assert_array_equal(x.grad, expected)


def test_boolean_mask_gradient_is_the_mask():
    values = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0]])
    x = sg.tensor(values, requires_grad=True)
    out = x[values > 0]
    np.testing.assert_array_equal(out.data, [2.0, 4.0, 6.0])
    (out * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]])


def test_boolean_mask_over_leading_axis_with_a_slice():
    values = np.arange(12.0).reshape(3, 4)
    x = sg.tensor(values, requires_grad=True)
    out = x[np.array([True, False, True]), 1:3]
    np.testing.assert_array_equal(out.data, [[1.0, 2.0], [9.0, 10.0]])
    out.sum().backward()
    expected = np.zeros((3, 4))
    expected[0, 1:3] = expected[2, 1:3] = 1.0
    np.testing.assert_array_equal(x.grad, expected)


MIXED = [
    np.s_[1:, [0, 2, 2]],
    np.s_[[0, 1], :, [1, 1]],  # advanced indices apart: their axis goes first
    np.s_[..., [2, 0, 2]],
    np.s_[None, ::-1, 0, [1, 1]],
    np.s_[[[0], [1]], [0, 2], ::2],
    np.s_[-1, np.array([True, False, True])],
]


@pytest.mark.parametrize("index", MIXED, ids=[str(i) for i in range(len(MIXED))])
def test_mixes_of_slices_and_integer_arrays(index):
    values = rng(7).standard_normal((2, 3, 4))
    x = sg.tensor(values, requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(out.data, values[index])
    cotangent = rng(8).standard_normal(out.shape)
    (out * cotangent).sum().backward()
    (expected,) = numeric_vjp(lambda xs: xs[0][index], [values], cotangent)
    np.testing.assert_allclose(x.grad, expected, atol=1e-9)


def test_indices_given_as_tensors():
    values = np.arange(12.0).reshape(3, 4)
    x = sg.tensor(values, requires_grad=True)
    rows, cols = sg.tensor([2, 0, 2]), sg.tensor([1, 1, 1])
    out = x[rows, cols]
    np.testing.assert_array_equal(out.data, [9.0, 1.0, 9.0])
    out.sum().backward()
    expected = np.zeros((3, 4))
    expected[0, 1], expected[2, 1] = 1.0, 2.0
    np.testing.assert_array_equal(x.grad, expected)
    mask = sg.tensor(values % 5 == 0)
    np.testing.assert_array_equal(x[mask].data, [0.0, 5.0, 10.0])
    np.testing.assert_array_equal(x[sg.tensor([1])].data, values[[1]])


def test_picking_one_entry_per_row_as_in_a_classifier_loss():
    gen = rng(9)
    logp = gen.standard_normal((128, 10))
    labels = gen.integers(0, 10, size=128)
    x = sg.tensor(logp, requires_grad=True)
    loss = -x[np.arange(128), labels].mean()
    assert loss.item() == pytest.approx(-logp[np.arange(128), labels].mean())
    loss.backward()
    np.testing.assert_allclose(x.grad, -np.eye(10)[labels] / 128)


def test_ellipsis_none_and_integers_give_numpys_shapes():
    values = np.arange(24.0).reshape(2, 3, 4)
    x = sg.tensor(values, requires_grad=True)
    for index in [np.s_[..., 1], np.s_[None, 1], np.s_[1, ..., None, 2], np.s_[()], np.s_[-1, -1]]:
        assert x[index].shape == values[index].shape
    scalar = x[1, 2, 3]
    assert scalar.shape == () and scalar.item() == 23.0
    scalar.backward()
    assert x.grad[1, 2, 3] == 1.0 and x.grad.sum() == 1.0


def test_out_of_range_index_raises_numpys_index_error():
    x = sg.tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(IndexError):
        x[3]
    with pytest.raises(IndexError):
        x[np.array([True, False])]


def test_iterating_a_tensor_gives_differentiable_rows():
    x = sg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3
    np.testing.assert_array_equal(rows[2].data, [4.0, 5.0])
    (rows[0] * 1.0 + rows[2] * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0], [0.0, 0.0], [3.0, 3.0]])


def test_indexing_a_tensor_without_grad_records_nothing():
    x = sg.tensor(np.arange(4.0))
    out = x[[1, 1]]
    assert out.grad_fn is None and not out.requires_grad


def test_second_derivative_through_repeated_indices():
    # L = sum(x[idx]**3) with x0 read twice: dL/dx0 = 2 * 3 x0^2, d2L/dx0^2 = 12 x0.
    x = sg.tensor([2.0, 5.0], requires_grad=True)
    (g,) = sg.grad((x[[0, 0, 1]] ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, [24.0, 75.0])
    g.sum().backward()
    np.testing.assert_allclose(x.grad, [24.0, 30.0])


# ---- stack and split (composites) -------------------------------------------------------


def _stack_configs(gen):
    for _ in range(20):
        shape = tuple(int(n) for n in gen.integers(1, 4, size=gen.integers(0, 4)))
        count = int(gen.integers(1, 4))
        axis = int(gen.integers(-len(shape) - 1, len(shape) + 1))
        yield [gen.standard_normal(shape) for _ in range(count)], axis


def test_stack_forward_and_gradient():
    gen = rng(10)
    for arrays, axis in _stack_configs(gen):
        inputs = [sg.tensor(a, requires_grad=True) for a in arrays]
        out = sg.stack(inputs, axis=axis)
        np.testing.assert_array_equal(out.data, np.stack(arrays, axis=axis))
        cotangent = gen.standard_normal(out.shape)
        (out * cotangent).sum().backward()
        expected = numeric_vjp(lambda xs, a=axis: np.stack(xs, axis=a), arrays, cotangent)
        for tensor, want in zip(inputs, expected, strict=True):
            np.testing.assert_allclose(tensor.grad, want, atol=1e-9)


def test_stack_is_built_from_differentiable_ops():
    out = sg.stack([sg.tensor([1.0], requires_grad=True), np.array([2.0])])
    assert type(out.grad_fn).__name__ == "ConcatenateBackward"


SPLITS = [
    ((6,), 3, 0),
    ((6,), [1, 4], 0),
    ((2, 6), [2, 2, 5], 1),  # a repeated cut gives an empty piece
    ((2, 6), [-2], -1),  # a negative cut counts from the end
    ((2, 6), [4, 1, 9], 1),  # cuts past the end or going back give empty pieces
    ((3, 2, 4), 2, 2),
    ((3, 2, 4), np.array([1]), 0),
    ((0, 3), 3, 0),
    ((4, 3), 1, 0),
]


@pytest.mark.parametrize(("shape", "cuts", "axis"), SPLITS, ids=[str(s) for s in SPLITS])
def test_split_forward_and_gradient(shape, cuts, axis):
    gen = rng(11)
    values = gen.standard_normal(shape)
    x = sg.tensor(values, requires_grad=True)
    pieces = sg.split(x, cuts, axis=axis)
    expected = np.split(values, cuts, axis=axis)
    assert isinstance(pieces, list) and len(pieces) == len(expected)
    for piece, want in zip(pieces, expected, strict=True):
        assert piece.shape == want.shape
        np.testing.assert_array_equal(piece.data, want)
    weights = [gen.standard_normal(p.shape) for p in pieces]
    sum((p * w).sum() for p, w in zip(pieces, weights, strict=True)).backward()
    joined = np.zeros(values.shape)
    for piece_positions, w in zip(
        np.split(np.arange(values.size).reshape(shape), cuts, axis=axis), weights, strict=True
    ):
        joined.reshape(-1)[piece_positions.reshape(-1)] += w.reshape(-1)
    np.testing.assert_array_equal(x.grad, joined)


def test_split_pieces_are_getitem_nodes():
    pieces = sg.split(sg.tensor(np.ones(4), requires_grad=True), 2)
    assert {type(p.grad_fn).__name__ for p in pieces} == {"GetitemBackward"}


def test_numpy_stack_split_and_concatenate_on_tensors_dispatch_to_symgrad():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    stacked = np.stack([x, x])
    assert isinstance(stacked, sg.Tensor) and stacked.shape == (2, 2)
    joined = np.concatenate([x, np.array([3.0])])
    assert isinstance(joined, sg.Tensor)
    halves = np.split(x, 2)
    assert all(isinstance(h, sg.Tensor) for h in halves)
    (stacked.sum() + joined.sum() + halves[1].sum()).backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_a_nested_list_of_tensors_keeps_its_graph_in_every_op():
    # sg.std([y, y + 2]) is the std of the stacked values, differentiable through both
    y = sg.tensor([1.0, 2.0, 4.0], requires_grad=True)
    out = sg.std([y, y + 2])
    assert out.item() == pytest.approx(np.std([y.data, y.data + 2]))
    out.backward()
    numeric = numeric_vjp(lambda xs: np.array(np.std([xs[0], xs[0] + 2])), [y.data], np.array(1.0))
    np.testing.assert_allclose(y.grad, numeric[0], rtol=1e-7)
    y.grad = None
    sg.mean([[y, 2 * y], [y, [1.0, 1.0, 1.0]]]).backward()  # nested, with a constant row
    np.testing.assert_allclose(y.grad, np.full(3, 4 / 12))
    assert sg.array([[1, 2], [3, 4]]).dtype == np.array([[1, 2], [3, 4]]).dtype


def test_array_split_sections_need_not_divide_but_split_sections_must():
    x = sg.tensor(np.arange(7.0))
    assert [p.shape for p in sg.array_split(x, 3)] == [(3,), (2,), (2,)]
    with pytest.raises(ValueError, match="split: 3 sections do not divide axis 0 of length 7"):
        sg.split(x, 3)


# ---- methods -----------------------------------------------------------------------------

METHODS = [
    ("swapaxes", lambda t: t.swapaxes(0, 2), lambda a: a.swapaxes(0, 2)),
    ("squeeze", lambda t: t.squeeze(), lambda a: a.squeeze()),
    ("squeeze axis", lambda t: t.squeeze(axis=1), lambda a: a.squeeze(axis=1)),
    ("flip", lambda t: t.flip(), lambda a: np.flip(a)),
    ("flip axis", lambda t: t.flip(axis=-1), lambda a: np.flip(a, axis=-1)),
    ("tile", lambda t: t.tile((2, 1, 1, 2)), lambda a: np.tile(a, (2, 1, 1, 2))),
    ("flatten", lambda t: t.flatten(), lambda a: a.flatten()),
    ("reshape varargs", lambda t: t.reshape(3, 4), lambda a: a.reshape(3, 4)),
    ("reshape tuple", lambda t: t.reshape((4, -1)), lambda a: a.reshape((4, -1))),
    ("transpose", lambda t: t.transpose(), lambda a: a.transpose()),
    ("transpose varargs", lambda t: t.transpose(1, 2, 0), lambda a: a.transpose(1, 2, 0)),
    ("transpose tuple", lambda t: t.transpose((2, 0, 1)), lambda a: a.transpose((2, 0, 1))),
    (".T", lambda t: t.T, lambda a: a.T),
]


@pytest.mark.parametrize(
    ("method", "numpy_form"), [m[1:] for m in METHODS], ids=[m[0] for m in METHODS]
)
def test_methods_match_numpy(method, numpy_form):
    gen = rng(12)
    values = gen.standard_normal((3, 1, 4))
    x = sg.tensor(values, requires_grad=True)
    out = method(x)
    np.testing.assert_array_equal(out.data, numpy_form(values))
    cotangent = gen.standard_normal(out.shape)
    (out * cotangent).sum().backward()
    (expected,) = numeric_vjp(lambda xs: numpy_form(xs[0]), [values], cotangent)
    np.testing.assert_allclose(x.grad, expected, atol=1e-9)


# ---- bad input -------------------------------------------------------------------------------

BAD = [
    ("concatenate", lambda x: sg.concatenate([x, sg.tensor(np.ones((3, 3)))], axis=1)),
    ("concatenate", lambda x: sg.concatenate([x, sg.tensor(np.ones(3))])),
    ("concatenate", lambda x: sg.concatenate([])),
    ("stack", lambda x: sg.stack([x, sg.tensor(np.ones((2, 4)))])),
    ("stack", lambda x: sg.stack([x, x], axis=3)),
    ("stack", lambda x: sg.stack([])),
    ("split", lambda x: sg.split(x, 2, axis=1)),
    ("split", lambda x: sg.split(x, 0)),
    ("split", lambda x: sg.split(x, 2, axis=2)),
    ("pad", lambda x: sg.pad(x, -1)),
    ("pad", lambda x: sg.pad(x, ((1, 1), (1, 1), (1, 1)))),
    ("reshape", lambda x: x.reshape(4, 2)),
    ("swapaxes", lambda x: x.swapaxes(0, 2)),
    ("squeeze", lambda x: x.squeeze(axis=0)),
    ("flip", lambda x: x.flip(axis=2)),
    ("tile", lambda x: x.tile(-1)),
    ("broadcast_to", lambda x: sg.broadcast_to(x, (3, 3))),
    ("expand_dims", lambda x: sg.expand_dims(x, 4)),
    ("transpose", lambda x: x.transpose(0, 0)),
]


@pytest.mark.parametrize(("name", "build"), BAD, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD)])
def test_bad_input_raises_a_value_error_naming_the_op(name, build):
    x = sg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=f"^{name}: ") as caught:
        build(x)
    assert "cannot be broadcast together" not in str(caught.value)
    assert x.grad is None and x.shape == (2, 3)


def test_the_check_catches_a_wrong_jvp(monkeypatch):
    # a structural op's jvp is its map on the tangent: the tangent passed through is wrong
    def passed_through(op, names):
        return ["return tangents[0]"]

    monkeypatch.setattr(render, "_structural_jvp_lines", passed_through)
    with pytest.raises(CheckError, match=r"^flip: the jvp: is not the map"):
        check_rows((BY_NAME["flip"],))
