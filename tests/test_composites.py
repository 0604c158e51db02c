"""Every public composite (a NumPy function built of differentiable ops: the modules of
``symgrad.api.COMPOSITE_MODULES``, and the linear algebra of symgrad/linalg.py) against
NumPy: its forward equals NumPy's, its gradient equals central finite differences of
NumPy's function, its second order equals finite differences of its own gradient, and
NumPy's function called on tensors runs it. Constructors and the functions that take
more than arrays have tests of their own below."""

import numpy as np
import pytest
from finite_differences import numeric_vjp

import symgrad as sg
from symgrad import api

# (name, input shapes, keyword arguments); each takes its arrays as NumPy's function
# does (a sequence for the stacks). A dotted name is looked up from sg and from np.
COMPOSITES = [
    ("atleast_1d", [()], {}),
    ("atleast_1d", [(3,), (2, 2)], {}),
    ("atleast_2d", [(3,)], {}),
    ("atleast_2d", [(), (2, 3, 1)], {}),
    ("atleast_3d", [(3,)], {}),
    ("atleast_3d", [(2, 3)], {}),
    ("vstack", [(3,), (2, 3)], {}),
    ("row_stack", [(2, 3), (1, 3)], {}),
    ("hstack", [(3,), (2,)], {}),
    ("hstack", [(2, 3), (2, 1)], {}),
    ("dstack", [(3,), (3,)], {}),
    ("dstack", [(2, 3), (2, 3, 2)], {}),
    ("column_stack", [(3,), (3, 2)], {}),
    ("append", [(2, 3), (4,)], {}),
    ("append", [(2, 3), (1, 3)], {"axis": 0}),
    ("split", [(6, 2)], {"indices_or_sections": 3}),
    ("array_split", [(7, 2)], {"indices_or_sections": 3}),
    ("array_split", [(2, 5)], {"indices_or_sections": [1, 3], "axis": 1}),
    ("vsplit", [(4, 3)], {"indices_or_sections": 2}),
    ("hsplit", [(2, 4)], {"indices_or_sections": [1]}),
    ("hsplit", [(6,)], {"indices_or_sections": 3}),
    ("dsplit", [(2, 2, 4)], {"indices_or_sections": 2}),
    ("stack", [(2, 3), (2, 3)], {"axis": 1}),
    ("array", [(2, 3), (2, 3), (2, 3)], {}),
    ("pad", [(2, 3)], {"pad_width": ((1, 0), (2, 1))}),
    ("pad", [(2, 3)], {"pad_width": 1, "constant_values": 2.5}),
    ("pad", [(2, 3)], {"pad_width": ((1, 2), (0, 3)), "constant_values": ((1, 2), (3, 4))}),
    ("pad", [(3,)], {"pad_width": (2, 4), "mode": "reflect"}),
    ("pad", [(2, 3)], {"pad_width": 2, "mode": "edge"}),
    ("pad", [(2, 3)], {"pad_width": ((3, 1), (4, 0)), "mode": "symmetric"}),
    ("pad", [(2, 3)], {"pad_width": (5, 1), "mode": "wrap"}),
    ("diag", [(3,)], {}),
    ("diag", [(3,)], {"k": -2}),
    ("diag", [(3, 4)], {"k": 1}),
    ("cumprod", [(3, 4)], {"axis": 1}),
    ("cumprod", [(2, 3)], {}),
    ("cumprod", [(2, 70)], {"axis": -1}),  # longer than a block
    ("diff", [(5,)], {}),
    ("diff", [(3, 4)], {"n": 2, "axis": 0}),
    ("diff", [(3, 4)], {"prepend": 1.5, "append": -2.0}),
    ("diff", [(3, 4)], {"n": 0}),
    ("sort", [(3, 4)], {}),
    ("sort", [(3, 4)], {"axis": 0}),
    ("sort", [(3, 4)], {"axis": None}),
    ("partition", [(3, 5)], {"kth": 2}),
    ("partition", [(4, 3)], {"kth": (0, 2), "axis": 0}),
    ("fmax", [(2, 3), (3,)], {}),
    ("fmin", [(2, 1), (1, 3)], {}),
    ("real", [(2, 3)], {}),
    ("imag", [(2, 3)], {}),
    ("conj", [(2, 3)], {}),
    ("conjugate", [(3,)], {}),
    ("real_if_close", [(3,)], {}),
    ("angle", [(2, 3)], {}),
    ("angle", [(4,)], {"deg": True}),
    ("tensordot", [(2, 3, 4), (3, 4, 5)], {}),
    ("tensordot", [(2, 3, 4), (4, 2)], {"axes": ([0, 2], [1, 0])}),
    ("tensordot", [(2, 3), (4,)], {"axes": 0}),
    ("inner", [(2, 3), (4, 3)], {}),
    ("inner", [(3,), (3,)], {}),
    ("kron", [(2, 3), (3, 2)], {}),
    ("kron", [(2,), (2, 3)], {}),
    ("cross", [(4, 3), (4, 3)], {}),
    ("cross", [(3, 2), (2, 3)], {"axisa": 0, "axisb": 1, "axisc": 0}),
    ("cross", [(4, 3), (3,)], {}),
    ("linalg.norm", [(2, 3)], {}),
    ("linalg.norm", [(4,)], {"ord": 1}),
    ("linalg.norm", [(4,)], {"ord": np.inf}),
    ("linalg.norm", [(2, 4)], {"ord": 3, "axis": 1, "keepdims": True}),
    ("linalg.norm", [(3, 4)], {"ord": "fro"}),
    ("linalg.norm", [(3, 4)], {"ord": 1}),
    ("linalg.norm", [(2, 3, 4)], {"ord": -np.inf, "axis": (2, 0)}),
]
SEQUENCE_ARGUMENT = {"vstack", "row_stack", "hstack", "dstack", "column_stack", "stack", "array"}
# NumPy creates arrays without asking its arguments (no __array_function__ for np.array)
NOT_DISPATCHED = {"array"}
# Tested below, on arguments that are not all arrays.
TESTED_APART = {"select", "nan_to_num", *api.creation.__all__}
# Their forward sums in another order than NumPy's (einsum and blocks, not BLAS).
ROUNDED = {"cumprod", "tensordot", "inner", "linalg.norm"}


def rng(salt=0):
    return np.random.default_rng(5150 + salt)


def _function(module, name):
    for part in name.split("."):
        module = getattr(module, part)
    return module


def _call(module, name, arrays, kwargs):
    function = _function(module, name)
    if name in SEQUENCE_ARGUMENT:
        return function(list(arrays), **kwargs)
    return function(*arrays, **kwargs)


def _pieces(result):
    return list(result) if isinstance(result, list | tuple) else [result]


def _weighted(module, name, arrays, kwargs, weights):
    pieces = _pieces(_call(module, name, arrays, kwargs))
    return sum((p * w).sum() for p, w in zip(pieces, weights, strict=True))


def _numeric_grads(f, arrays, eps=1e-6):
    """Central differences of the scalar f(arrays), per element of each array."""
    return numeric_vjp(lambda xs: np.asarray(f(xs)), arrays, np.array(1.0), eps)


# DESIGN.md's "More of NumPy", and what it builds on: each a function, and a Tensor method
# where NumPy has one (but sort and partition, in place in NumPy).
NUMPY_NAMES = [
    "absolute",
    "fabs",
    "true_divide",
    "exp2",
    "logaddexp",
    "logaddexp2",
    "fmax",
    "fmin",
    "mod",
    "remainder",
    "degrees",
    "radians",
    "deg2rad",
    "rad2deg",
    "real",
    "imag",
    "conj",
    "conjugate",
    "angle",
    "real_if_close",
    "nan_to_num",
    "tensordot",
    "inner",
    "kron",
    "cross",
    "diag",
    "diagonal",
    "tril",
    "triu",
    "moveaxis",
    "rollaxis",
    "repeat",
    "roll",
    "rot90",
    "flipud",
    "fliplr",
    "ravel",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "append",
    "vstack",
    "hstack",
    "dstack",
    "row_stack",
    "column_stack",
    "array_split",
    "vsplit",
    "hsplit",
    "dsplit",
    "cumsum",
    "cumprod",
    "diff",
    "sort",
    "partition",
    "select",
    "trace",
    "pad",
    "transpose",
    "einsum",
    "array",
    "zeros",
    "ones",
    "full",
    "empty",
    "zeros_like",
    "ones_like",
    "full_like",
    "arange",
    "linspace",
    "eye",
    "clip",
    "dot",
    "outer",
    "matmul",
    "where",
    "take_along_axis",
    "diagflat",
]


@pytest.mark.parametrize("name", NUMPY_NAMES)
def test_numpy_names_are_there(name):
    assert name in sg.__all__ and callable(getattr(sg, name))
    if hasattr(np.ndarray, name) and name not in ("sort", "partition"):
        assert hasattr(sg.tensor([1.0]), name)


def test_every_composite_is_public_and_tested():
    names = {n for module in api.COMPOSITE_MODULES for n in module.__all__}
    names |= {"tensordot", "inner", "kron", "cross", "linalg.norm"}
    assert names == {name for name, *_ in COMPOSITES} | TESTED_APART
    assert {n for n in names if "." not in n} <= set(sg.__all__)


# NumPy 2 deprecates its row_stack (symgrad's is vstack too, without the warning), and
# cross of 2-vectors
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(("name", "shapes", "kwargs"), COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_forward_gradient_and_second_order_equal_numpy(name, shapes, kwargs):
    gen = rng(1)
    arrays = [gen.standard_normal(shape) for shape in shapes]
    inputs = [sg.tensor(a, requires_grad=True) for a in arrays]
    got = _pieces(_call(sg, name, inputs, kwargs))
    want = _pieces(_call(np, name, arrays, kwargs))
    assert len(got) == len(want)
    for piece, expected in zip(got, want, strict=True):
        assert isinstance(piece, sg.Tensor)
        assert piece.shape == np.shape(expected) and piece.dtype == np.asarray(expected).dtype
        if name in ROUNDED:
            np.testing.assert_allclose(piece.data, expected, rtol=1e-12, atol=1e-14)
        else:
            np.testing.assert_array_equal(piece.data, expected)
    weights = [gen.standard_normal(np.shape(w)) for w in want]

    # first order: finite differences of NumPy's function
    grads = sg.grad(_weighted(sg, name, inputs, kwargs, weights), inputs, create_graph=True)
    numeric = _numeric_grads(lambda xs: _weighted(np, name, xs, kwargs, weights), arrays)
    for grad, expected in zip(grads, numeric, strict=True):
        np.testing.assert_allclose(grad.data, expected, rtol=1e-6, atol=1e-8)

    # second order: finite differences of symgrad's own first-order gradient along v
    probes = [gen.standard_normal(a.shape) for a in arrays]
    along = sum((g * v).sum() for g, v in zip(grads, probes, strict=True))
    if along.requires_grad:  # a gradient constant in x (a linear map) has none
        along.backward()

    def directional(xs):
        leaves = [sg.tensor(x, requires_grad=True) for x in xs]
        first = sg.grad(_weighted(sg, name, leaves, kwargs, weights), leaves)
        return sum(np.vdot(g.data, v) for g, v in zip(first, probes, strict=True))

    second = _numeric_grads(directional, arrays)
    for tensor, expected in zip(inputs, second, strict=True):
        got = np.zeros(tensor.shape) if tensor.grad is None else tensor.grad
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)

    # NumPy's function called on tensors runs the composite
    if name not in NOT_DISPATCHED:
        pieces = _pieces(_call(np, name, inputs, kwargs))
        assert all(isinstance(p, sg.Tensor) for p in pieces)


# ---- the composites that take more than arrays ---------------------------------------------


def test_select_takes_the_first_condition_that_holds():
    x = sg.tensor([-2.0, -0.5, 0.5, 2.0], requires_grad=True)
    conditions = [x.data < -1, x.data < 1, x.data < 0]  # the third never decides
    out = sg.select(conditions, [x * 10, x * x, -x], default=x)
    np.testing.assert_array_equal(
        out.data, np.select(conditions, [x.data * 10, x.data**2, -x.data], x.data)
    )
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [10.0, -1.0, 1.0, 1.0])
    assert isinstance(np.select(conditions, [x, x, x], 0.0), sg.Tensor)
    with pytest.raises(ValueError, match=r"^select: 2 conditions for 1 choices"):
        sg.select(conditions[:2], [x])
    with pytest.raises(TypeError, match=r"^select: condition 0 is of dtype float64"):
        sg.select([x.data], [x])


def test_nan_to_num_replaces_and_passes_no_gradient_through_what_it_replaced():
    values = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    x = sg.tensor(values, requires_grad=True)
    out = sg.nan_to_num(x * 3, nan=-1.0, posinf=7.0)
    np.testing.assert_array_equal(out.data, np.nan_to_num(values * 3, nan=-1.0, posinf=7.0))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 0.0, 0.0, 3.0])
    assert np.nan_to_num(x).data[2] == np.finfo(np.float64).max


@pytest.mark.parametrize(("name", "ufunc"), [("fmax", np.fmax), ("fmin", np.fmin)])
def test_fmax_and_fmin_take_the_number_over_nan_and_its_gradient(name, ufunc):
    a_values = np.array([1.0, np.nan, 3.0, np.nan, 2.0])
    b_values = np.array([np.nan, 2.0, 1.0, np.nan, 2.0])
    a = sg.tensor(a_values, requires_grad=True)
    b = sg.tensor(b_values, requires_grad=True)
    out = getattr(sg, name)(a, b)
    np.testing.assert_array_equal(out.data, ufunc(a_values, b_values))
    out.backward(np.ones(5))
    # two NaNs: the first is taken, as NumPy's; 0.5: a tie
    first = [1.0, 0.0, 1.0 if name == "fmax" else 0.0, 1.0, 0.5]
    np.testing.assert_array_equal(a.grad, first)
    np.testing.assert_array_equal(b.grad, [0.0, 1.0, 1.0 - first[2], 0.0, 0.5])
    assert isinstance(ufunc(a, b), sg.Tensor)


def test_sort_sends_each_gradient_back_to_the_element_put_there_ties_included():
    x = sg.tensor([3.0, 1.0, 3.0, 2.0], requires_grad=True)
    out = sg.sort(x)
    np.testing.assert_array_equal(out.data, [1.0, 2.0, 3.0, 3.0])
    (out * sg.tensor([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, [100.0, 1.0, 1000.0, 10.0])  # stable among ties


def test_the_complex_parts_of_a_real_tensor_stay_in_its_graph():
    x = sg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    assert sg.real(x) is x and sg.conj(x) is x and x.conj() is x and x.real is x
    np.testing.assert_array_equal(x.imag.data, [0.0, 0.0, 0.0])
    (sg.imag(x) + sg.angle(x) + 2 * sg.real(x)).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(sg.angle(x).data, np.angle(x.data))


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("zeros", [(2, 3)], {}),
        ("zeros", [4], {"dtype": np.float32}),
        ("ones", [(2,)], {"dtype": np.int64}),
        ("full", [(2, 2), 1.5], {}),
        ("full", [3, 7], {}),
        ("empty", [(0, 3)], {}),
        ("zeros_like", [np.ones((2, 3), np.float32)], {}),
        ("ones_like", [np.ones((2, 3))], {"dtype": np.float32}),
        ("full_like", [np.ones(3, int), 2.7], {}),
        ("arange", [5], {}),
        ("arange", [1.0, 2.0, 0.25], {}),
        ("arange", [2, 8, 3], {"dtype": np.float32}),
        ("linspace", [0.0, 1.0, 5], {}),
        ("linspace", [0.0, 1.0], {"num": 4, "endpoint": False}),
        ("eye", [3], {}),
        ("eye", [2, 4], {"k": 1, "dtype": np.float32}),
    ],
)
def test_constructors_make_what_numpy_makes(name, args, kwargs):
    made = getattr(sg, name)(*args, **kwargs)
    expected = getattr(np, name)(*args, **kwargs)
    assert isinstance(made, sg.Tensor) and made.is_leaf and not made.requires_grad
    assert made.shape == expected.shape and made.dtype == expected.dtype
    if name != "empty":
        np.testing.assert_array_equal(made.data, expected)
    if expected.dtype.kind == "f":
        leaf = getattr(sg, name)(*args, **kwargs, requires_grad=True)
        assert leaf.requires_grad and leaf.is_leaf
    else:
        with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
            getattr(sg, name)(*args, **kwargs, requires_grad=True)


def test_like_constructors_take_a_tensors_shape_and_dtype():
    x = sg.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    for made in (sg.zeros_like(x), sg.ones_like(x), sg.full_like(x, 4.0)):
        assert made.shape == (2, 3) and made.dtype == np.float32 and not made.requires_grad
    assert sg.zeros_like(x, requires_grad=True).requires_grad


def test_astype_casts_and_casts_the_gradient_back():
    x = sg.tensor(np.array([1.5, -2.25], np.float32), requires_grad=True)
    wide = x.astype(np.float64)
    assert wide.dtype == np.float64 and wide.grad_fn is not None
    (wide * wide).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, -4.5])
    whole = x.astype(np.int32)  # out of the graph, as PyTorch's .to(int)
    assert whole.dtype == np.int32 and not whole.requires_grad
    np.testing.assert_array_equal(whole.data, [1, -2])
    assert x.astype(np.float32, copy=False) is x


def test_second_derivatives_through_prod_zeros_included():
    # d/dx_i of sum_j d prod / dx_j = sum_{j != i} prod_{k != i, j} x_k
    for values in ([1.0, 2.0, 3.0, 4.0], [0.0, 2.0, 3.0, 4.0], [0.0, 0.0, 3.0, 4.0]):
        x = sg.tensor(values, requires_grad=True)
        (first,) = sg.grad(sg.prod(x), [x], create_graph=True)
        first.sum().backward()
        expected = [
            sum(np.prod(np.delete(values, [i, j])) for j in range(4) if j != i) for i in range(4)
        ]
        np.testing.assert_allclose(x.grad, expected)


def test_linalg_norm_names_what_it_does_not_have():
    x = sg.tensor(np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match=r"^norm: ord='nuc' over two axes"):
        sg.linalg.norm(x, "nuc")
    with pytest.raises(ValueError, match=r"^norm: ord=1 needs a 1-D or 2-D array"):
        sg.linalg.norm(sg.tensor(np.ones((2, 2, 2))), 1)
    assert sg.linalg.norm(sg.tensor([0.0, 3.0, 0.0]), 0).item() == 1.0


def test_pad_names_a_mode_it_does_not_have():
    with pytest.raises(ValueError, match=r"^pad: mode 'median' is not supported"):
        sg.pad(sg.tensor(np.ones(3)), 1, mode="median")


@pytest.mark.parametrize("name", ["clip", "dot", "outer", "linalg.norm", "trace", "transpose"])
def test_numpy_functions_with_a_symgrad_op_run_it(name):
    values = np.arange(1.0, 5.0).reshape(2, 2)
    x = sg.tensor(values, requires_grad=True)
    args = {"clip": (1.5, 3.5), "dot": (values,), "outer": (values,)}.get(name, ())
    out = _function(np, name)(x, *args)
    assert isinstance(out, sg.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, _function(np, name)(values, *args))


BAD = [
    ("sort", ValueError, lambda x: sg.sort(x, axis=5)),
    ("partition", ValueError, lambda x: sg.partition(x, 7)),
    ("tensordot", ValueError, lambda x: sg.tensordot(x, x, 3)),
    ("tensordot", ValueError, lambda x: sg.tensordot(x, x, ([0], [1]))),
    ("pad", ValueError, lambda x: sg.pad(x, ((1, 1), (1, 1), (1, 1)), mode="edge")),
    ("pad", ValueError, lambda x: sg.pad(x, 1.5)),
    ("cumprod", ValueError, lambda x: sg.cumprod(x, axis=2)),
    ("diff", ValueError, lambda x: sg.diff(x, n=-1)),
    ("cross", ValueError, lambda x: sg.cross(x, x[:, :1])),
    ("einsum", ValueError, lambda x: sg.einsum(x, [0, 99])),
]


@pytest.mark.parametrize(("name", "error", "build"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_naming_the_function(name, error, build):
    x = sg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(error, match=f"^{name}: "):
        build(x)
    assert x.grad is None and np.array_equal(x.data, np.ones((2, 3)))
