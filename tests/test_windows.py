"""Convolution and pooling on the same grid the generator checks: finite differences
through the public functions, forward against direct loops, the first-maximum
convention, and bad input."""

import re
from pathlib import Path

import numpy as np
import pytest

import symgrad as sg
from symgrad import layout, window_maps
from symgrad.codegen.verify.linear import check_windows, window_configs
from symgrad.codegen.verify.policy import CheckError
from symgrad.nn import convolution

CONFIGS = list(window_configs())


def finite_differences(f, arrays, place, cotangent, step=1e-6):
    numeric = np.zeros_like(arrays[place])
    for index in np.ndindex(arrays[place].shape):
        values = []
        for sign in (1, -1):
            moved = [a.copy() for a in arrays]
            moved[place][index] += sign * step
            with sg.no_grad():
                values.append(np.vdot(cotangent, f(*[sg.tensor(m) for m in moved]).data))
        numeric[index] = (values[0] - values[1]) / (2 * step)
    return numeric


def check_gradients(f, arrays, rng):
    tensors = [sg.tensor(a, requires_grad=True) for a in arrays]
    out = f(*tensors)
    cotangent = rng.standard_normal(out.shape)
    out.backward(cotangent)
    for place, tensor in enumerate(tensors):
        expected = finite_differences(f, arrays, place, cotangent)
        np.testing.assert_allclose(tensor.grad, expected, rtol=1e-5, atol=1e-6)


def conv_of(rank):
    return convolution.conv1d if rank == 1 else convolution.conv2d


@pytest.mark.parametrize("batch_inner", [False, True], ids=["input-layout", "batch-inner"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: str(sorted(c.items())))
def test_convolution_gradients(config, batch_inner, monkeypatch):
    # both layouts the input's gradient may be scattered in, whichever the estimate picks
    monkeypatch.setattr(layout, "batch_inner_pays", lambda *args: batch_inner)
    rng = np.random.default_rng(0)
    rank, groups = config["rank"], config["groups"]
    x = rng.standard_normal((config["batch"], config["channels"] * groups, *config["size"]))
    w = rng.standard_normal((3 * groups, config["channels"], *config["kernel"]))
    b = rng.standard_normal(3 * groups)

    def f(x, w, b):
        return conv_of(rank)(
            x, w, b, config["stride"], config["padding"], config["dilation"], groups
        )

    check_gradients(f, [x, w, b], rng)


POOL_CONFIGS = [
    c
    for c in CONFIGS
    if c["groups"] == 1 and all(2 * p <= k for p, k in zip(c["padding"], c["kernel"]))
]


POOL_CASES = [
    pytest.param(kind, c, id=f"{kind}-{sorted(c.items())}")
    for c in POOL_CONFIGS
    for kind in ("max", "avg")
    if kind == "max" or c["dilation"][0] == 1  # avg pools have no dilation
]


@pytest.mark.parametrize(("kind", "config"), POOL_CASES)
def test_pool_gradients(kind, config):
    rng = np.random.default_rng(1)
    rank = config["rank"]
    x = rng.standard_normal((config["batch"], config["channels"], *config["size"]))
    pool = getattr(convolution, f"{kind}_pool{rank}d")
    if kind == "max":

        def f(x):
            return pool(
                x, config["kernel"], config["stride"], config["padding"], config["dilation"]
            )
    else:

        def f(x):
            return pool(x, config["kernel"], config["stride"], config["padding"])

    check_gradients(f, [x], rng)


def direct_conv2d(x, w, stride, padding, dilation):
    """A loop over output pixels: the definition, slowly."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh = (h - dilation * (kh - 1) - 1) // stride + 1
    ow = (wd - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[
                :,
                :,
                i * stride : i * stride + dilation * (kh - 1) + 1 : dilation,
                j * stride : j * stride + dilation * (kw - 1) + 1 : dilation,
            ]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return out


@pytest.mark.parametrize(("stride", "padding", "dilation"), [(1, 0, 1), (2, 1, 2), (3, 2, 1)])
def test_conv2d_forward_equals_the_definition(stride, padding, dilation):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 2))
    got = convolution.conv2d(x, w, stride=stride, padding=padding, dilation=dilation).data
    np.testing.assert_allclose(got, direct_conv2d(x, w, stride, padding, dilation), rtol=1e-12)


def test_max_pool_sends_the_gradient_to_the_first_maximum():
    x = sg.tensor([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 0.0, 0.0]]]], requires_grad=True)
    convolution.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[0, 1, 1, 0], [0, 0, 0, 0]]]])


@pytest.mark.parametrize("bias", [False, True])
def test_a_zero_batch_goes_through_a_convolution_as_in_pytorch(bias):
    x = sg.tensor(np.ones((0, 1, 5, 5)), requires_grad=True)
    w = sg.tensor(np.ones((2, 1, 3, 3)), requires_grad=True)
    b = sg.tensor(np.ones(2), requires_grad=True) if bias else None
    out = convolution.conv2d(x, w, b)
    assert out.shape == (0, 2, 3, 3)
    out.sum().backward()
    assert x.grad.shape == (0, 1, 5, 5)
    np.testing.assert_array_equal(w.grad, np.zeros((2, 1, 3, 3)))  # a sum over no sample
    if bias:
        np.testing.assert_array_equal(b.grad, np.zeros(2))


@pytest.mark.parametrize(
    ("pool", "shape", "out_shape"),
    [
        (convolution.max_pool2d, (0, 1, 4, 4), (0, 1, 3, 3)),
        (convolution.avg_pool2d, (0, 1, 4, 4), (0, 1, 3, 3)),
        (convolution.max_pool1d, (0, 2, 4), (0, 2, 3)),
        (convolution.avg_pool1d, (0, 2, 4), (0, 2, 3)),
    ],
)
def test_a_zero_batch_goes_through_a_pool(pool, shape, out_shape):
    x = sg.tensor(np.ones(shape), requires_grad=True)
    out = pool(x, 2, padding=1)
    assert out.shape == out_shape
    out.sum().backward()
    assert x.grad.shape == shape


def test_no_input_channels_give_the_bias():
    # the empty sum over channels is 0, as einsum's (PyTorch instead gives no output
    # channels, a shape its bias does not fit); the weight's gradient is as empty as it
    x = sg.tensor(np.ones((2, 0, 5)), requires_grad=True)
    w = sg.tensor(np.ones((3, 0, 2)), requires_grad=True)
    b = sg.tensor(np.arange(3.0), requires_grad=True)
    out = convolution.conv1d(x, w, b)
    np.testing.assert_array_equal(out.data, np.broadcast_to(np.arange(3.0)[:, None], (2, 3, 4)))
    out.sum().backward()
    assert x.grad.shape == (2, 0, 5) and w.grad.shape == (3, 0, 2)
    np.testing.assert_array_equal(b.grad, [8.0, 8.0, 8.0])


def test_max_pool_never_sends_the_gradient_to_the_padding():
    # each window holds one element of x and three of padding, all -inf: PyTorch's
    # padding is never selected, so every element takes its window's gradient
    a = sg.tensor(np.full((1, 1, 2, 2), -np.inf), requires_grad=True)
    convolution.max_pool2d(a, 2, padding=1).sum().backward()
    np.testing.assert_array_equal(a.grad, np.ones((1, 1, 2, 2)))


def first_real_maximum_vjp(x, grad, kernel, padding):
    """A loop over windows (stride 1): each window's gradient to its first maximum
    among the elements of x, the padding skipped."""
    n = x.shape[-1]
    result = np.zeros_like(x)
    for s in range(grad.shape[-1]):
        inside = [i for i in range(s - padding, s - padding + kernel) if 0 <= i < n]
        values = x[..., inside]
        first = np.argmax(values == values.max(axis=-1, keepdims=True), axis=-1)
        for index in np.ndindex(x.shape[:-1]):
            result[(*index, inside[first[index]])] += grad[(*index, s)]
    return result


def test_max_pool_of_minus_infinities_and_numbers_with_padding():
    rng = np.random.default_rng(4)
    x = np.where(rng.random((2, 3, 9)) < 0.6, -np.inf, np.round(rng.standard_normal((2, 3, 9))))
    a = sg.tensor(x, requires_grad=True)
    out = convolution.max_pool1d(a, 4, stride=1, padding=2)
    grad = rng.standard_normal(out.shape)
    out.backward(grad)
    np.testing.assert_allclose(a.grad, first_real_maximum_vjp(x, grad, 4, 2), rtol=1e-12)


def test_avg_pool_counts_padded_zeros():
    x = sg.tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    out = convolution.avg_pool2d(x, 3, stride=1, padding=1)
    assert out.data[0, 0, 0, 0] == pytest.approx(4 / 9)
    assert out.data[0, 0, 1, 1] == pytest.approx(1.0)


def test_float32_stays_float32():
    rng = np.random.default_rng(3)
    x = sg.tensor(rng.standard_normal((2, 2, 6, 6)).astype(np.float32), requires_grad=True)
    w = sg.tensor(rng.standard_normal((3, 2, 3, 3)).astype(np.float32), requires_grad=True)
    out = convolution.max_pool2d(convolution.conv2d(x, w, padding=1), 2) + convolution.avg_pool2d(
        convolution.conv2d(x, w, padding=1), 2
    )
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


BAD = [
    (
        "input has 3 channels",
        lambda: convolution.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 2, 3, 3))),
    ),
    (
        "groups=2 must divide",
        lambda: convolution.conv2d(np.ones((1, 4, 5, 5)), np.ones((3, 2, 3, 3)), groups=2),
    ),
    (
        "larger than the padded input",
        lambda: convolution.conv2d(np.ones((1, 2, 2, 2)), np.ones((3, 2, 3, 3))),
    ),
    (
        "stride must be at least 1",
        lambda: convolution.conv2d(np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), stride=0),
    ),
    (
        "stride must be at least 1",
        lambda: convolution.max_pool2d(np.ones((1, 2, 5, 5)), 2, stride=-1),
    ),
    (
        "at most half the kernel",
        lambda: convolution.max_pool2d(np.ones((1, 2, 5, 5)), 2, padding=2),
    ),
    (
        "input must be (N, C, H, W)",
        lambda: convolution.conv2d(np.ones((2, 5, 5)), np.ones((3, 2, 3, 3))),
    ),
    (
        "bias must have shape (3,)",
        lambda: convolution.conv2d(np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones(2)),
    ),
]


@pytest.mark.parametrize(("message", "call"), BAD, ids=[m for m, _ in BAD])
def test_bad_input_raises_a_value_error_naming_it(message, call):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


X2, W2, X1 = np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones((1, 2, 5))
NOT_INTS = [
    ("conv2d", "stride", 1.5, lambda v: convolution.conv2d(X2, W2, stride=v)),
    ("conv2d", "stride", True, lambda v: convolution.conv2d(X2, W2, stride=v)),
    ("conv2d", "stride", (1, 2.0), lambda v: convolution.conv2d(X2, W2, stride=v)),
    ("conv2d", "padding", 0.0, lambda v: convolution.conv2d(X2, W2, padding=v)),
    ("conv2d", "padding", (False, 1), lambda v: convolution.conv2d(X2, W2, padding=v)),
    ("conv2d", "dilation", "2", lambda v: convolution.conv2d(X2, W2, dilation=v)),
    ("conv2d", "groups", 1.0, lambda v: convolution.conv2d(X2, W2, groups=v)),
    ("conv2d", "groups", True, lambda v: convolution.conv2d(X2, W2, groups=v)),
    ("conv1d", "stride", 2.0, lambda v: convolution.conv1d(X1, W2[..., 0], stride=v)),
    ("max_pool2d", "kernel_size", 2.0, lambda v: convolution.max_pool2d(X2, v)),
    ("max_pool2d", "stride", 1.5, lambda v: convolution.max_pool2d(X2, 2, stride=v)),
    ("max_pool2d", "dilation", True, lambda v: convolution.max_pool2d(X2, 2, dilation=v)),
    ("avg_pool2d", "padding", 0.5, lambda v: convolution.avg_pool2d(X2, 2, padding=v)),
    ("avg_pool1d", "kernel_size", (2.5,), lambda v: convolution.avg_pool1d(X1, v)),
    ("max_pool1d", "kernel_size", None, lambda v: convolution.max_pool1d(X1, v)),
]


@pytest.mark.parametrize(
    ("function", "parameter", "value", "call"),
    NOT_INTS,
    ids=[f"{f}-{p}-{v!r}" for f, p, v, _ in NOT_INTS],
)
def test_a_size_that_is_not_an_int_raises_a_type_error_naming_it(function, parameter, value, call):
    # a bool is an int to Python, never a size
    with pytest.raises(TypeError) as info:
        call(value)
    assert str(info.value).startswith(f"{function}: {parameter} must be an int")
    assert str(info.value).endswith(f", not {value!r}")


BAD_SIZES = [
    ("stride must be at least 1, not -2", lambda: convolution.conv1d(X1, W2[..., 0], stride=-2)),
    (
        "padding must be at least 0, not (0, -1)",
        lambda: convolution.conv2d(X2, W2, padding=(0, -1)),
    ),
    ("dilation must be at least 1, not 0", lambda: convolution.max_pool2d(X2, 2, dilation=0)),
    ("kernel_size must be at least 1, not 0", lambda: convolution.avg_pool2d(X2, 0)),
    ("groups must be at least 1, not 0", lambda: convolution.conv2d(X2, W2, groups=0)),
    (
        "stride must be an int or 2 ints, not (1, 1, 1)",
        lambda: convolution.conv2d(X2, W2, stride=(1, 1, 1)),
    ),
]


@pytest.mark.parametrize(("message", "call"), BAD_SIZES, ids=[m for m, _ in BAD_SIZES])
def test_a_size_out_of_range_raises_a_value_error_naming_it(message, call):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


# the checked-in rendering, which test_generate proves current
WINDOWS_SOURCE = (Path(__file__).resolve().parents[1] / "generated" / "windows.py").read_text()


def test_window_check_rejects_a_wrong_adjoint(monkeypatch):
    # the gather's transpose told that windows never overlap: it writes each offset's
    # gradient where it should add it
    plan = window_maps._adjoint_plan.__wrapped__
    monkeypatch.setattr(window_maps, "_adjoint_plan", lambda *args: (True, False, plan(*args)[2]))
    with pytest.raises(CheckError, match=r"^convolution: d/dx .* at \(rank=1, stride=\(1,\)"):
        check_windows(WINDOWS_SOURCE)


@pytest.mark.parametrize("batch_inner", [False, True])
def test_window_check_covers_both_scatter_layouts(batch_inner):
    # a rule wrong on one path only (the batch reversed) fails the check, which names the
    # path, whichever the cost estimate would pick for the configuration
    back_to_input_layout = "                grad_x = layout.in_layout_of(x, grad_x)\n"
    assert back_to_input_layout in WINDOWS_SOURCE
    wrong_path = "" if batch_inner else "            else:\n"
    wrong_path += "                grad_x = grad_x[::-1]\n"
    wrong = WINDOWS_SOURCE.replace(back_to_input_layout, back_to_input_layout + wrong_path)
    with pytest.raises(CheckError, match=rf"^convolution: d/dx .*batch_inner={batch_inner}\)"):
        check_windows(wrong)


def test_window_check_rejects_a_max_pool_that_breaks_the_first_maximum_convention(monkeypatch):
    # every element equal to its window's maximum takes the gradient (not only the
    # first): right wherever the maximum is unique, so only inputs with ties catch it
    def every_maximum_parts(grad, window, out, rank):
        elements = dict(window_maps.offsets(window, rank))

        def grad_at(offset, part, into):
            part = (..., *part)
            return np.multiply(grad[part], (elements[offset] == out)[part], out=into)

        return window_maps.Parts(grad_at, grad)

    monkeypatch.setattr(window_maps, "first_max_parts", every_maximum_parts)
    with pytest.raises(CheckError, match=r"^max_pool: d/dx .* inputs='ties'"):
        check_windows(WINDOWS_SOURCE)


def test_window_check_rejects_a_wrong_bias_adjoint():
    bias_vjp = "numpy.einsum(bias_spec, grad)"
    assert bias_vjp in WINDOWS_SOURCE
    wrong = WINDOWS_SOURCE.replace(bias_vjp, f"2 * {bias_vjp}")
    with pytest.raises(CheckError, match=r"^convolution: d/db .* at \(rank=1, stride=\(1,\)"):
        check_windows(wrong)


@pytest.mark.parametrize("bias_dtype", [np.float32, np.float64])
def test_conv_bias_of_another_dtype_promotes_as_numpy(bias_dtype):
    x = np.ones((1, 2, 4), dtype=np.float32)
    w = np.ones((3, 2, 2), dtype=np.float32)
    b = np.arange(3, dtype=bias_dtype)
    out = convolution.conv1d(x, w, b)
    assert out.dtype == np.result_type(np.float32, bias_dtype)
    np.testing.assert_array_equal(out.data, np.broadcast_to((4.0 + b)[:, None], (1, 3, 3)))


def test_batch_inner_layout_is_kept_and_chosen_by_its_estimate():
    nchw = np.zeros((64, 6, 14, 14), dtype=np.float32)
    batch_inner = np.zeros((6, 14, 14, 64), dtype=np.float32).transpose(3, 0, 1, 2)
    # already laid out so: kept, whatever the sizes
    assert layout.batch_inner_pays(batch_inner, 56, (3, 3), 2)
    # short rows of positions (LeNet's second convolution): worth the copies
    assert layout.batch_inner_pays(nchw, 10, (5, 5), 1)
    # long rows, or a batch of one: not
    assert not layout.batch_inner_pays(np.zeros((8, 16, 56, 56)), 56, (3, 3), 1)
    assert not layout.batch_inner_pays(np.zeros((1, 6, 14, 14)), 10, (5, 5), 1)


def test_convolutions_in_a_row_keep_the_batch_innermost(monkeypatch):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in ((8, 3, 12, 12), (4, 3, 3, 3), (5, 4, 3, 3))]

    def run():
        x, w1, w2 = (sg.tensor(a, requires_grad=True) for a in arrays)
        h = sg.relu(convolution.conv2d(x, w1, padding=1))
        y = convolution.conv2d(h, w2)
        (y * y).sum().backward()
        return h, y, [t.grad for t in (x, w1, w2)]

    h, y, grads = run()
    assert h.data.strides[0] == h.data.itemsize  # the first chose it, the second kept it
    assert y.data.strides[0] == y.data.itemsize
    assert grads[0].flags.c_contiguous  # the input's gradient back in the input's layout
    monkeypatch.setattr(layout, "batch_inner_pays", lambda *args: False)
    h, y, want = run()
    assert h.data.strides[0] != h.data.itemsize
    for got, expected in zip(grads, want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_the_check_catches_a_wrong_window_jvp():
    # the max pool's jvp taken at the last offset of each window, not its first maximum
    from symgrad.codegen import generate
    from symgrad.codegen.verify.linear import check_windows
    from symgrad.codegen.verify.policy import CheckError

    text = (generate.GENERATED / "windows.py").read_text()
    right = "return at_selection(mask, tangent, len(kernel))"
    assert right in text
    wrong = "return tangent[(..., *(-1,) * len(kernel))]"
    with pytest.raises(CheckError, match=r"^max_pool: the jvp: differs"):
        check_windows(text.replace(right, wrong))
