"""Second order where the op tables' own tests do not reach it: convolution and pooling
over the window test configurations (with ceil_mode and count_include_pad), the
contractions, every sg.nn.functional function, and a Hessian-vector product of a small
CNN. Each compares the gradient of <g(x), v>, g the first-order gradient built with
create_graph=True, with central differences of g along v (the Hessian is symmetric:
J_g^T v = J_g v)."""

import numpy as np
import pytest

import symgrad as sg
import symgrad.nn.functional as F  # noqa: N812 - PyTorch's spelling
from symgrad.codegen.verify.linear import EINSUM_CHECKS, window_configs
from symgrad.nn import convolution
from symgrad.ops.contractions import CONTRACTIONS

CONFIGS = list(window_configs())


def gradient(f, arrays, cotangent, create_graph):
    """The leaves and the gradient of <cotangent, tanh(f(leaves))>: the tanh makes the
    second order of a (piecewise) linear f nonzero."""
    leaves = [sg.tensor(a, requires_grad=True) for a in arrays]
    loss = (sg.tanh(f(*leaves)) * cotangent).sum()
    return leaves, sg.grad(loss, leaves, create_graph=create_graph)


def assert_second_order(f, arrays, seed=0, step=1e-6, rtol=1e-5, atol=1e-7):
    rng = np.random.default_rng(seed)
    with sg.no_grad():
        shape = f(*[sg.tensor(a) for a in arrays]).shape
    cotangent = rng.standard_normal(shape)
    probes = [rng.standard_normal(np.shape(a)) for a in arrays]
    leaves, grads = gradient(f, arrays, cotangent, create_graph=True)
    # `leaf * 0.0` keeps every leaf in the second graph (a linear f's has none there)
    along = sum((g * v).sum() + (leaf * 0.0).sum() for g, v, leaf in zip(grads, probes, leaves))
    second = sg.grad(along, leaves)
    moved = [
        gradient(f, [a + sign * step * v for a, v in zip(arrays, probes)], cotangent, False)[1]
        for sign in (1, -1)
    ]
    for place in range(len(arrays)):
        numeric = (np.asarray(moved[0][place]) - np.asarray(moved[1][place])) / (2 * step)
        got = np.asarray(second[place])
        scale = max(1.0, np.abs(numeric).max(initial=0.0))
        np.testing.assert_allclose(got, numeric, rtol=rtol, atol=atol * scale, err_msg=place)


# ---- convolution and pooling ---------------------------------------------------------------
def conv_of(rank):
    return convolution.conv1d if rank == 1 else convolution.conv2d


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: str(sorted(c.items())))
def test_convolution_second_order(config, bias):
    rng = np.random.default_rng(0)
    rank, groups = config["rank"], config["groups"]
    x = rng.standard_normal((config["batch"], config["channels"] * groups, *config["size"]))
    w = 0.5 * rng.standard_normal((3 * groups, config["channels"], *config["kernel"]))
    args = (config["stride"], config["padding"], config["dilation"], groups)
    if bias:
        b = rng.standard_normal(3 * groups)
        assert_second_order(lambda x, w, b: conv_of(rank)(x, w, b, *args), [x, w, b])
    else:
        assert_second_order(lambda x, w: conv_of(rank)(x, w, None, *args), [x, w])


POOL_CONFIGS = [
    c
    for c in CONFIGS
    if c["groups"] == 1 and all(2 * p <= k for p, k in zip(c["padding"], c["kernel"]))
]


@pytest.mark.parametrize("ceil_mode", [False, True], ids=["floor", "ceil"])
@pytest.mark.parametrize("config", POOL_CONFIGS, ids=lambda c: str(sorted(c.items())))
def test_max_pool_second_order(config, ceil_mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((config["batch"], config["channels"], *config["size"]))
    pool = getattr(convolution, f"max_pool{config['rank']}d")
    args = (config["kernel"], config["stride"], config["padding"], config["dilation"])
    assert_second_order(lambda x: pool(x, *args, ceil_mode=ceil_mode), [x])


@pytest.mark.parametrize("count_include_pad", [True, False], ids=["pad-counted", "pad-not"])
@pytest.mark.parametrize("ceil_mode", [False, True], ids=["floor", "ceil"])
@pytest.mark.parametrize(
    "config",
    [c for c in POOL_CONFIGS if c["dilation"][0] == 1],  # avg pools have no dilation
    ids=lambda c: str(sorted(c.items())),
)
def test_avg_pool_second_order(config, ceil_mode, count_include_pad):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((config["batch"], config["channels"], *config["size"]))
    pool = getattr(convolution, f"avg_pool{config['rank']}d")
    args = (config["kernel"], config["stride"], config["padding"], ceil_mode, count_include_pad)
    assert_second_order(lambda x: pool(x, *args), [x])


# ---- a small CNN's Hessian-vector product ----------------------------------------------------
def small_cnn(activation, pool):
    def loss(x, w1, b1, w2, b2, targets):
        h = F.conv2d(x, w1, b1, padding=1)
        h = pool(activation(h), 2)
        logits = F.linear(h.reshape(h.shape[0], -1), w2, b2)
        return F.cross_entropy(logits, targets)

    return loss


@pytest.mark.parametrize(
    ("activation", "pool"),
    [(F.tanh, F.max_pool2d), (F.relu, F.max_pool2d), (F.tanh, F.avg_pool2d)],
    ids=["tanh-max", "relu-max", "tanh-avg"],
)
def test_hessian_vector_product_of_a_small_cnn(activation, pool):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 2, 6, 6))
    targets = np.array([0, 2, 1])
    params = [
        0.5 * rng.standard_normal((4, 2, 3, 3)),
        0.1 * rng.standard_normal(4),
        0.3 * rng.standard_normal((3, 36)),
        0.1 * rng.standard_normal(3),
    ]
    arrays = [x, *params]  # the input too: its Hessian blocks with the weights'
    probes = [rng.standard_normal(a.shape) for a in arrays]
    loss = small_cnn(activation, pool)

    def grads(values, create_graph=False):
        leaves = [sg.tensor(a, requires_grad=True) for a in values]
        return leaves, sg.grad(loss(*leaves, targets), leaves, create_graph=create_graph)

    leaves, first = grads(arrays, create_graph=True)
    hvp = sg.grad(sum((g * v).sum() for g, v in zip(first, probes)), leaves)
    step = 1e-6
    plus = grads([a + step * v for a, v in zip(arrays, probes)])[1]
    minus = grads([a - step * v for a, v in zip(arrays, probes)])[1]
    for got, p, m in zip(hvp, plus, minus, strict=True):
        numeric = (p - m) / (2 * step)
        assert np.abs(numeric).max() > 1e-3
        np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-8)


# ---- the contractions ------------------------------------------------------------------------
CONTRACTION_CASES = {
    "matmul": [[(3, 4), (4, 2)], [(2, 3, 4), (4,)], [(4,), (2, 4, 3)], [(2, 1, 3, 4), (5, 4, 2)]],
    "einsum": EINSUM_CHECKS,
}


def test_every_contraction_has_second_order_cases():
    assert {op.name for op in CONTRACTIONS} == set(CONTRACTION_CASES)


@pytest.mark.parametrize(
    ("name", "case"),
    [(name, case) for name, cases in CONTRACTION_CASES.items() for case in cases],
    ids=lambda value: str(value),
)
def test_contraction_second_order(name, case):
    rng = np.random.default_rng(6)
    if name == "einsum":
        spec, shapes = case
        arrays = [rng.standard_normal(s) for s in shapes]
        assert_second_order(lambda *xs: sg.einsum(spec, *xs), arrays)
    else:
        arrays = [rng.standard_normal(s) for s in case]
        assert_second_order(sg.matmul, arrays)


# ---- every sg.nn.functional function -----------------------------------------------------------
def _labels(n, classes):
    return np.arange(n) % classes


FUNCTIONAL = {
    "avg_pool1d": (lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True), [(2, 2, 7)]),
    "avg_pool2d": (
        lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        [(2, 2, 6, 5)],
    ),
    "max_pool1d": (lambda x: F.max_pool1d(x, 3, 2, 1, 2, ceil_mode=True), [(2, 2, 9)]),
    "max_pool2d": (
        lambda x: F.max_pool2d(x, (3, 2), (2, 1), (1, 0), ceil_mode=True),
        [(2, 2, 6, 5)],
    ),
    "conv1d": (lambda x, w, b: F.conv1d(x, w, b, 2, 1, 2, 2), [(2, 4, 9), (4, 2, 3), (4,)]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, 2, 1, 1, 2), [(2, 4, 6, 5), (2, 2, 3, 2), (2,)]),
    "batch_norm": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [(4, 3, 2), (3,), (3,)],
    ),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (3, 2), w, b), [(4, 3, 2), (3, 2), (3, 2)]),
    "embedding": (lambda w: F.embedding(np.array([[0, 2, 2], [1, 0, 3]]), w), [(4, 3)]),
    "linear": (F.linear, [(2, 3, 4), (5, 4), (5,)]),
    "binary_cross_entropy": (
        lambda p: F.binary_cross_entropy(
            sg.sigmoid(p), np.array([[0.0, 1.0, 0.3], [1.0, 0.5, 0.0]])
        ),
        [(2, 3)],
    ),
    "cross_entropy": (
        lambda x: F.cross_entropy(
            x, _labels(4, 3), weight=np.array([1.0, 2.0, 0.5]), label_smoothing=0.1
        ),
        [(4, 3)],
    ),
    "nll_loss": (
        lambda x: F.nll_loss(F.log_softmax(x, 1), _labels(4, 3), reduction="sum"),
        [(4, 3)],
    ),
    "mse_loss": (lambda x, y: F.mse_loss(x, y), [(3, 4), (3, 4)]),
    "dropout": (lambda x: F.dropout(x, 0.3, training=False), [(3, 4)]),
    "elu": (F.elu, [(3, 4)]),
    "gelu": (F.gelu, [(3, 4)]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [(3, 4)]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), [(3, 4)]),
    "log_softmax": (lambda x: F.log_softmax(x, 1), [(3, 4)]),
    "relu": (F.relu, [(3, 4)]),
    "selu": (F.selu, [(3, 4)]),
    "sigmoid": (F.sigmoid, [(3, 4)]),
    "silu": (F.silu, [(3, 4)]),
    "softmax": (lambda x: F.softmax(x, 0), [(3, 4)]),
    "softplus": (lambda x: F.softplus(x, 2.0, 3.0), [(3, 4)]),
    "tanh": (F.tanh, [(3, 4)]),
}


def test_every_functional_has_a_second_order_case():
    assert set(F.__all__) <= set(FUNCTIONAL)


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_functional_second_order(name):
    f, shapes = FUNCTIONAL[name]
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s) for s in shapes]
    assert_second_order(f, arrays)
