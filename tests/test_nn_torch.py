"""symgrad.nn against PyTorch's torch.nn, layer by layer: for each configuration of a
table, the same expression builds both modules, PyTorch's (perturbed from its initial
weights) gives its state to ours through ``load_state_dict``, and the two must agree on
the output, the input's gradient and every parameter's gradient for a random upstream
gradient, on the buffers afterwards (BatchNorm's running statistics), on ``repr`` and on
``state_dict``'s keys. Also: BatchNorm over several training steps then in eval mode,
and the initial weights' distributions.

Skipped where PyTorch is not installed: tests/test_nn.py tests the same modules without
it.
"""

import math
import warnings
import zlib
from collections import OrderedDict

import numpy as np
import pytest

import symgrad as sg

torch = pytest.importorskip("torch")

RTOL = {"float64": 1e-10, "float32": 2e-4}
ATOL = {"float64": 1e-12, "float32": 2e-5}


# ---- the table -----------------------------------------------------------------------------
# Each row: the expression (evaluated with sg.nn's and torch.nn's names), the inputs,
# and whether the module runs in training mode. An input is (kind, shape[, high]):
#   x  float, requires grad          p  probability in (0.05, 0.95), requires grad
#   t  float target                  q  probability target (BCELoss)
#   d  rows of class probabilities   c  class indices in [0, high), a target
#   i  indices in [0, high) (Embedding)
# W(...) is a constant array (a loss's class weights).
def row(expr, *inputs, training=True):
    shapes = "-".join(str(i[1]) for i in inputs)
    return pytest.param(expr, inputs, training, id=f"{expr}-{shapes}" + "-eval" * (not training))


X = "x"
TABLE = [
    row("Linear(5, 4)", (X, (3, 5))),
    row("Linear(5, 4)", (X, (2, 3, 5))),
    row("Linear(5, 4, bias=False)", (X, (3, 5))),
    row("Linear(1, 1)", (X, (4, 1))),
    row("Flatten()", (X, (2, 3, 4, 2))),
    row("Flatten(0, 1)", (X, (2, 3, 4))),
    row("Flatten(start_dim=1, end_dim=2)", (X, (2, 3, 4, 2))),
    row("Identity()", (X, (2, 3))),
    row("Conv1d(3, 4, 3)", (X, (2, 3, 7))),
    row("Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, bias=False)", (X, (2, 4, 9))),
    row("Conv1d(2, 2, 1)", (X, (3, 2, 4))),
    row("Conv2d(3, 4, 3)", (X, (2, 3, 6, 5))),
    row("Conv2d(3, 4, 3, padding=1, bias=False)", (X, (2, 3, 5, 5))),
    row(
        "Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)",
        (X, (2, 4, 7, 6)),
    ),
    row("Conv2d(4, 4, 3, groups=4, bias=False)", (X, (1, 4, 5, 5))),
    row("Conv2d(2, 3, 2, stride=3)", (X, (2, 2, 7, 7))),
    row("Conv1d(2, 3, 4, padding='same')", (X, (2, 2, 6))),
    row("Conv1d(2, 2, 3, padding='same', dilation=3, bias=False)", (X, (2, 2, 7))),
    row("Conv2d(2, 4, (4, 3), padding='same', dilation=(1, 2), groups=2)", (X, (2, 2, 6, 5))),
    row("Conv2d(2, 3, 3, padding='valid')", (X, (1, 2, 5, 4))),
    row("MaxPool1d(3)", (X, (2, 3, 10))),
    row("MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True)", (X, (2, 3, 10))),
    row("MaxPool1d(2, ceil_mode=True)", (X, (1, 2, 7))),
    row("MaxPool2d(2)", (X, (2, 3, 6, 6))),
    row("MaxPool2d((3, 2), stride=(2, 1), padding=1, ceil_mode=True)", (X, (2, 2, 7, 6))),
    row("MaxPool2d(3, stride=2, padding=1, dilation=2)", (X, (1, 2, 8, 9))),
    row("MaxPool2d(3, stride=2, ceil_mode=True)", (X, (1, 2, 8, 6))),
    row("AvgPool1d(3)", (X, (2, 3, 10))),
    row("AvgPool1d(3, stride=2, padding=1)", (X, (2, 3, 10))),
    row("AvgPool1d(3, stride=2, padding=1, count_include_pad=False)", (X, (2, 3, 10))),
    row("AvgPool1d(3, 2, 1, ceil_mode=True)", (X, (2, 3, 10))),
    row("AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False)", (X, (2, 3, 10))),
    row("AvgPool1d(4, 3, ceil_mode=True)", (X, (1, 2, 9))),
    row("AvgPool2d(2)", (X, (2, 3, 6, 6))),
    row("AvgPool2d(3, stride=2, padding=1)", (X, (2, 2, 7, 6))),
    row("AvgPool2d(3, stride=2, padding=1, count_include_pad=False)", (X, (2, 2, 7, 6))),
    row("AvgPool2d((3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True)", (X, (2, 2, 8, 5))),
    row("AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)", (X, (2, 2, 8, 8))),
    row("AvgPool2d(3, divisor_override=5)", (X, (2, 2, 6, 6))),
    row("AvgPool2d(3, 2, 1, ceil_mode=True, divisor_override=2)", (X, (1, 2, 8, 8))),
    row("AvgPool2d(2, ceil_mode=True, count_include_pad=False)", (X, (1, 2, 5, 5))),
    row("BatchNorm1d(4)", (X, (6, 4))),
    row("BatchNorm1d(4)", (X, (5, 4, 3))),
    row("BatchNorm1d(4, eps=1e-3, momentum=0.3)", (X, (6, 4))),
    row("BatchNorm1d(4, momentum=None)", (X, (6, 4))),
    row("BatchNorm1d(4, affine=False)", (X, (6, 4, 2))),
    row("BatchNorm1d(4, track_running_stats=False)", (X, (6, 4))),
    row("BatchNorm1d(4, bias=False)", (X, (6, 4))),
    row("BatchNorm1d(4)", (X, (6, 4, 3)), training=False),
    row("BatchNorm1d(4, track_running_stats=False)", (X, (6, 4)), training=False),
    row("BatchNorm2d(3)", (X, (4, 3, 2, 3))),
    row("BatchNorm2d(3, momentum=None, affine=False)", (X, (4, 3, 2, 3))),
    row("BatchNorm2d(3, track_running_stats=False, affine=False)", (X, (4, 3, 2, 3))),
    row("BatchNorm2d(3)", (X, (4, 3, 2, 3)), training=False),
    row("LayerNorm(5)", (X, (3, 5))),
    row("LayerNorm((3, 5))", (X, (2, 3, 5))),
    row("LayerNorm([4])", (X, (2, 3, 4))),
    row("LayerNorm(5, elementwise_affine=False)", (X, (3, 5))),
    row("LayerNorm(5, bias=False)", (X, (3, 5))),
    row("LayerNorm(5, eps=1e-3)", (X, (3, 5))),
    row("Embedding(10, 4)", ("i", (3, 5), 10)),
    row("Embedding(10, 4)", ("i", (7,), 10)),
    row("Embedding(6, 3, padding_idx=2)", ("i", (4, 6), 6)),
    row("Embedding(6, 3, padding_idx=-1)", ("i", (4, 6), 6)),
    row("Dropout()", (X, (3, 4)), training=False),
    row("Dropout(0.0)", (X, (3, 4))),
    row("Dropout(1.0)", (X, (3, 4))),
    row("Dropout(p=0.2)", (X, (3, 4)), training=False),
    row("ReLU()", (X, (3, 4))),
    row("LeakyReLU()", (X, (3, 4))),
    row("LeakyReLU(0.2)", (X, (3, 4))),
    row("LeakyReLU(negative_slope=1.5)", (X, (3, 4))),
    row("ELU()", (X, (3, 4))),
    row("ELU(alpha=0.7)", (X, (3, 4))),
    row("GELU()", (X, (3, 4))),
    row("GELU(approximate='tanh')", (X, (3, 4))),
    row("SiLU()", (X, (3, 4))),
    row("Sigmoid()", (X, (3, 4))),
    row("Tanh()", (X, (3, 4))),
    row("Softmax(dim=0)", (X, (3, 4))),
    row("Softmax(dim=1)", (X, (3, 4))),
    row("Softmax(dim=-1)", (X, (2, 3, 4))),
    row("Softmax()", (X, (3, 4))),
    row("Softmax()", (X, (2, 3, 4))),
    row("Softmax()", (X, (2, 3, 4, 2))),
    row("Softmax()", (X, (5,))),
    row("LogSoftmax(dim=1)", (X, (3, 4))),
    row("LogSoftmax(dim=0)", (X, (2, 3, 4))),
    row("LogSoftmax()", (X, (2, 3, 4))),
    row("CrossEntropyLoss()", (X, (5, 4)), ("c", (5,), 4)),
    row("CrossEntropyLoss(reduction='sum')", (X, (5, 4)), ("c", (5,), 4)),
    row("CrossEntropyLoss(reduction='none')", (X, (5, 4)), ("c", (5,), 4)),
    row("CrossEntropyLoss(weight=W(1, 2, 0.5, 3))", (X, (5, 4)), ("c", (5,), 4)),
    row("CrossEntropyLoss(ignore_index=1)", (X, (8, 4)), ("c", (8,), 4)),
    row("CrossEntropyLoss(label_smoothing=0.2)", (X, (5, 4)), ("c", (5,), 4)),
    row(
        "CrossEntropyLoss(weight=W(1, 2, 0.5), ignore_index=0, label_smoothing=0.1)",
        (X, (8, 3)),
        ("c", (8,), 3),
    ),
    row("CrossEntropyLoss()", (X, (3, 4, 2, 2)), ("c", (3, 2, 2), 4)),
    row("CrossEntropyLoss()", (X, (4,)), ("c", (), 4)),
    row("CrossEntropyLoss()", (X, (5, 4)), ("d", (5, 4))),
    row(
        "CrossEntropyLoss(weight=W(1, 2, 0.5, 3), label_smoothing=0.3, reduction='sum')",
        (X, (5, 4)),
        ("d", (5, 4)),
    ),
    row("NLLLoss()", (X, (5, 4)), ("c", (5,), 4)),
    row("NLLLoss(weight=W(1, 2, 0.5, 3), reduction='sum')", (X, (5, 4)), ("c", (5,), 4)),
    row("NLLLoss(weight=W(1, 2, 0.5, 3))", (X, (5, 4)), ("c", (5,), 4)),
    row("NLLLoss(ignore_index=0, reduction='none')", (X, (8, 3)), ("c", (8,), 3)),
    row("NLLLoss(ignore_index=2)", (X, (3, 4, 2, 2)), ("c", (3, 2, 2), 4)),
    row("MSELoss()", (X, (3, 4)), ("t", (3, 4))),
    row("MSELoss(reduction='sum')", (X, (3, 4)), ("t", (3, 4))),
    row("MSELoss(reduction='none')", (X, (2, 3, 4)), ("t", (2, 3, 4))),
    row("BCELoss()", ("p", (3, 4)), ("q", (3, 4))),
    row("BCELoss(reduction='sum')", ("p", (3, 4)), ("q", (3, 4))),
    row("BCELoss(weight=W(1, 2, 0.5, 3), reduction='none')", ("p", (3, 4)), ("q", (3, 4))),
    row(
        "Sequential(Conv2d(1, 4, 3, padding=1), BatchNorm2d(4), ReLU(), MaxPool2d(2), "
        "Flatten(), Linear(16, 5), LogSoftmax(dim=1))",
        (X, (3, 1, 4, 4)),
    ),
    row(
        "Sequential(OrderedDict([('embed', Embedding(7, 4, padding_idx=0)), "
        "('norm', LayerNorm(4)), ('act', GELU('tanh')), ('drop', Dropout(0.5)), "
        "('out', Linear(4, 2))]))",
        ("i", (3, 5), 7),
        training=False,
    ),
    row(
        "Sequential(Conv1d(2, 4, 3, groups=2), BatchNorm1d(4, momentum=None), ELU(), "
        "AvgPool1d(2, ceil_mode=True, count_include_pad=False), Flatten(), Linear(12, 3), "
        "Softmax(dim=-1))",
        (X, (4, 2, 8)),
    ),
]


def _names(library):
    nn = library.nn
    names = {name: getattr(nn, name) for name in dir(nn) if not name.startswith("_")}
    if library is torch:
        names["W"] = lambda *values: torch.tensor(values)
    else:
        names["W"] = lambda *values: np.array(values)
    names["OrderedDict"] = OrderedDict
    return names


def build(expr, dtype, training):
    """The expression as PyTorch's module (its floating parameters and buffers moved from
    their initial values, so that loading them is seen) and as ours, given its state."""
    torch.manual_seed(0)
    theirs = eval(expr, _names(torch)).to(getattr(torch, dtype))
    with torch.no_grad():
        for name, tensor in theirs.state_dict().items():
            if name.endswith("running_var"):
                tensor.mul_(torch.rand_like(tensor) + 0.5)
            elif tensor.is_floating_point():
                tensor.add_(0.3 * torch.randn_like(tensor))
    ours = eval(expr, _names(sg)).to(dtype)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    theirs.train(training)
    ours.train(training)
    return ours, theirs


def make_inputs(inputs, dtype, rng):
    arrays = []
    for kind, shape, *high in inputs:
        if kind in "xt":
            array = rng.standard_normal(shape)
        elif kind in "pq":
            array = rng.uniform(0.05, 0.95, shape)
        elif kind == "d":
            array = rng.uniform(0.1, 1.0, shape)
            array /= array.sum(axis=1, keepdims=True)
        else:
            array = rng.integers(0, high[0], shape)
        arrays.append(array.astype(dtype) if kind in "xtpqd" else array)
    return arrays


def forward(module, arrays, inputs, library):
    make = torch.tensor if library is torch else sg.tensor
    tensors = [make(a, requires_grad=kind in "xp") for a, (kind, *_) in zip(arrays, inputs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Softmax's implicit dim warns in both
        return module(*tensors), tensors


def _numpy(value):
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def assert_close(ours, theirs, dtype, what):
    theirs = _numpy(theirs)
    ours = np.asarray(getattr(ours, "data", ours))
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape}, PyTorch {theirs.shape}"
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype}, PyTorch {theirs.dtype}"
    np.testing.assert_allclose(ours, theirs, rtol=RTOL[dtype], atol=ATOL[dtype], err_msg=what)


def compare_step(ours, theirs, inputs, dtype, rng):
    """One forward and backward of both on the same inputs and upstream gradient."""
    arrays = make_inputs(inputs, dtype, rng)
    out_theirs, tensors_theirs = forward(theirs, arrays, inputs, torch)
    out_ours, tensors_ours = forward(ours, arrays, inputs, sg)
    grad_out = rng.standard_normal(tuple(out_theirs.shape)).astype(dtype)
    out_theirs.backward(torch.tensor(grad_out))
    out_ours.backward(grad_out)
    assert_close(out_ours, out_theirs, dtype, "output")
    for k, (a, b) in enumerate(zip(tensors_ours, tensors_theirs)):
        if b.requires_grad:
            assert_close(a.grad, b.grad, dtype, f"gradient of input {k}")
    params_theirs = dict(theirs.named_parameters())
    params_ours = dict(ours.named_parameters())
    assert list(params_ours) == list(params_theirs)
    for name, param in params_theirs.items():
        assert_close(params_ours[name].grad, param.grad, dtype, f"gradient of {name}")
    state_ours = ours.state_dict()
    for name, value in theirs.state_dict().items():
        assert_close(state_ours[name], value, dtype, name)
    theirs.zero_grad()
    ours.zero_grad()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("expr", "inputs", "training"), TABLE)
def test_against_pytorch(expr, inputs, training, dtype):
    # two steps: the second starts from the state the first left (BatchNorm's running
    # statistics, updated in training mode), which must be PyTorch's too
    ours, theirs = build(expr, dtype, training)
    rng = np.random.default_rng(zlib.crc32(expr.encode()))
    for _ in range(2):
        compare_step(ours, theirs, inputs, dtype, rng)


@pytest.mark.parametrize(("expr", "inputs", "training"), TABLE)
def test_repr_and_state_dict_keys(expr, inputs, training):
    ours, theirs = build(expr, "float32", training)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    ("expr", "shape"),
    [
        ("BatchNorm1d(3)", (5, 3)),
        ("BatchNorm1d(3, momentum=None)", (4, 3, 2)),
        ("BatchNorm1d(3, momentum=0.6, eps=1e-2, affine=False)", (5, 3)),
        ("BatchNorm1d(3, track_running_stats=False)", (5, 3)),
        ("BatchNorm2d(2)", (3, 2, 2, 2)),
        ("BatchNorm2d(2, momentum=None, bias=False)", (3, 2, 2, 2)),
    ],
)
def test_batch_norm_over_training_steps_then_eval(expr, shape, dtype):
    """Four training steps (the running statistics and num_batches_tracked after each,
    by compare_step's state check), two in eval mode (normalized by them, nothing
    updated), and training again."""
    ours, theirs = build(expr, dtype, training=True)
    rng = np.random.default_rng(3)
    inputs = [(X, shape)]
    for mode in [True] * 4 + [False] * 2 + [True]:
        ours.train(mode)
        theirs.train(mode)
        compare_step(ours, theirs, inputs, dtype, rng)
    if theirs.track_running_stats:
        assert int(ours.num_batches_tracked.item()) == 5
        assert ours.num_batches_tracked.dtype == np.int64


def _model(nn, buffer):
    """The same small model in either library: containers, a shared module and a shared
    parameter, a buffer saved and one not, an absent child."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
            self.heads = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 1, bias=False)])
            self.register_buffer("steps", buffer)
            self.register_buffer("scratch", buffer * 2, persistent=False)
            self.norm = nn.BatchNorm1d(3)
            self.shared = self.heads[0]
            self.scale = nn.Parameter(buffer + 1)
            self.alias = self.scale
            self.add_module("absent", None)

    return Net()


def test_module_structure_as_pytorch():
    ours = _model(sg.nn, sg.tensor(np.zeros(2, np.float32)))
    theirs = _model(torch.nn, torch.zeros(2))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # shared: under both names
    for walk in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        assert [n for n, _ in getattr(ours, walk)()] == [n for n, _ in getattr(theirs, walk)()]
    assert [n for n, _ in ours.named_parameters(recurse=False)] == ["scale"]
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert list(ours.state_dict(prefix="net.")) == list(theirs.state_dict(prefix="net."))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})


INIT = [
    # (expression, the bound of its uniform weights, or None: not uniform)
    ("Linear(400, 300)", 1 / math.sqrt(400)),
    ("Linear(50, 2000, bias=False)", 1 / math.sqrt(50)),
    ("Conv1d(8, 64, 5)", 1 / math.sqrt(8 * 5)),
    ("Conv2d(16, 32, 3)", 1 / math.sqrt(16 * 9)),
    ("Conv2d(16, 32, (3, 2), groups=4)", 1 / math.sqrt(4 * 6)),
    ("Embedding(1000, 64)", None),
    ("Embedding(1000, 64, padding_idx=3)", None),
    ("BatchNorm2d(50)", None),
    ("BatchNorm1d(50, affine=False)", None),
    ("LayerNorm((20, 30))", None),
]


@pytest.mark.parametrize(("expr", "bound"), INIT)
def test_initial_weights_distributed_as_pytorch(expr, bound):
    """Each tensor of the initial state: PyTorch's shape and dtype (float32), and values
    drawn from the same distribution: every uniform one inside +-1/sqrt(fan_in) and
    reaching near it, the quantiles of both close; Embedding standard normal (its padding
    row zero); norms' weights ones, biases zeros, running statistics zeros and ones."""
    sg.manual_seed(0)
    torch.manual_seed(0)
    ours = eval(expr, _names(sg)).state_dict()
    theirs = eval(expr, _names(torch)).state_dict()
    assert list(ours) == list(theirs)
    quantiles = [0.1, 0.25, 0.5, 0.75, 0.9]
    for name, value in theirs.items():
        mine, value = ours[name].data, value.numpy()
        assert mine.shape == value.shape and mine.dtype == value.dtype, name
        if bound is not None:
            # the largest of n draws is within a few bound/n of the bound
            largest = np.abs(mine).max()
            assert (1 - 8 / mine.size) * bound < largest <= bound, name
            assert np.abs(value).max() <= bound, name  # the bound is PyTorch's
            spread = bound
        elif name == "weight" and expr.startswith("Embedding"):
            rows = mine[np.arange(len(mine)) != 3] if "padding_idx" in expr else mine
            if "padding_idx" in expr:
                assert not mine[3].any() and not value[3].any()
            assert abs(rows.mean()) < 0.02 and abs(rows.std() - 1) < 0.02
            spread = 1
        else:
            np.testing.assert_array_equal(mine, value, err_msg=name)
            continue
        # a sample quantile's error is about spread / sqrt(n)
        np.testing.assert_allclose(
            np.quantile(mine, quantiles),
            np.quantile(value, quantiles),
            atol=8 * spread / math.sqrt(mine.size),
            err_msg=name,
        )
