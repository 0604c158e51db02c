"""symgrad.nn.functional: each function against its definition computed independently in
NumPy (PyTorch's formulas, written out with loops where the library uses indexing),
gradients against central finite differences in float64, PyTorch's edge cases (ignore_index,
class weights, reductions, label smoothing, probability targets, BCE's clamp at 0 and 1,
dropout's statistics), float32 preservation and the errors for bad input."""

import numpy as np
import pytest

import symgrad as sg
import symgrad.nn.functional as F  # noqa: N812 - PyTorch's spelling

rng = np.random.default_rng(0)
REDUCTIONS = ["none", "mean", "sum"]


# ---- references, in NumPy ----------------------------------------------------------------
def ref_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def ref_nll(logp, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    """PyTorch's nll_loss, with cross_entropy's label smoothing (LossNLL.cpp): per
    position, (1 - e) * -w[t] * logp[t] + e / C * sum_c(-w[c] * logp[c]); ignored
    positions give 0; 'mean' divides by the sum of w[t] over positions not ignored."""
    if logp.ndim == 1:
        logp, target = logp[None], np.reshape(target, (1,))
        unbatched = True
    else:
        unbatched = False
    classes = logp.shape[1]
    w = np.ones(classes) if weight is None else np.asarray(weight, dtype=np.float64)
    losses = np.zeros(target.shape)
    weights = np.zeros(target.shape)
    for pos in np.ndindex(target.shape):
        t = int(target[pos])
        if t == ignore_index:
            continue
        row = logp[(pos[0], slice(None), *pos[1:])]
        losses[pos] = (1 - smoothing) * -w[t] * row[t] + smoothing / classes * -(w * row).sum()
        weights[pos] = w[t]
    if reduction == "none":
        return losses[0] if unbatched else losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / weights.sum()


def ref_prob_cross_entropy(x, q, weight=None, reduction="mean", smoothing=0.0):
    """PyTorch's cross entropy with class probabilities: -sum_c w[c] q[c] logp[c], the
    target smoothed as q (1 - e) + e / C; 'mean' divides by the number of samples."""
    axis = 0 if x.ndim == 1 else 1
    classes = x.shape[axis]
    q = q * (1 - smoothing) + smoothing / classes
    shape = [1] * x.ndim
    shape[axis] = classes
    w = np.ones(shape) if weight is None else np.reshape(weight, shape)
    loss = -(ref_log_softmax(x, axis) * q * w).sum(axis=axis)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (x.size / classes)


def ref_bce(p, t, weight=None):
    with np.errstate(divide="ignore"):
        loss = -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))
    return loss if weight is None else loss * weight


def reduce(loss, reduction):
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


# ---- gradients against finite differences ------------------------------------------------
def check_grads(f, arrays, places, eps=1e-6, rtol=1e-6, atol=1e-7):
    """The gradients of f(*tensors) for the inputs at ``places`` equal central finite
    differences of <cotangent, f> (float64)."""
    tensors = [sg.tensor(a, requires_grad=i in places) for i, a in enumerate(arrays)]
    out = f(*tensors)
    cotangent = rng.standard_normal(out.shape)
    out.backward(cotangent)
    for place in places:
        numeric = np.zeros(arrays[place].shape)
        for index in np.ndindex(numeric.shape):
            values = []
            for step in (eps, -eps):
                moved = [a.copy() for a in arrays]
                moved[place][index] += step
                with sg.no_grad():
                    values.append(np.vdot(cotangent, f(*map(sg.tensor, moved)).data))
            numeric[index] = (values[0] - values[1]) / (2 * eps)
        assert tensors[place].grad is not None, f"no gradient for input {place}"
        np.testing.assert_allclose(tensors[place].grad, numeric, rtol=rtol, atol=atol)


def class_targets(shape, classes, ignore=0, ignore_index=-100):
    target = rng.integers(0, classes, size=shape)
    if ignore:
        flat = target.reshape(-1)
        flat[rng.choice(flat.size, ignore, replace=False)] = ignore_index
    return target


# ---- the package -------------------------------------------------------------------------
def test_exports():
    assert sg.nn.functional is F
    assert "nn" in sg.__all__
    for name in ("linear", "cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy"):
        assert getattr(sg.nn.functional, name) is getattr(F, name)
    assert callable(F.dropout)


# ---- linear ------------------------------------------------------------------------------
LINEAR_SHAPES = [
    ((5, 3), (4, 3), (4,)),
    ((2, 5, 3), (4, 3), (4,)),  # batch axes
    ((3,), (4, 3), (4,)),  # one sample
    ((5, 3), (4, 3), None),
    ((5, 3), (4, 3), ()),  # scalar bias
    ((5, 3), (3,), ()),  # 1-D weight: the last axis goes
]


@pytest.mark.parametrize("shapes", LINEAR_SHAPES, ids=str)
def test_linear(shapes):
    x_shape, w_shape, b_shape = shapes
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    if b_shape is not None:
        arrays.append(rng.standard_normal(b_shape))
    expected = arrays[0] @ arrays[1].T + (arrays[2] if b_shape is not None else 0)
    np.testing.assert_allclose(F.linear(*arrays).data, expected, rtol=1e-12, atol=1e-12)
    check_grads(F.linear, arrays, places=range(len(arrays)))


@pytest.mark.parametrize(
    ("shapes", "match"),
    [
        (((5, 3), (4, 2), None), r"linear: input of shape \(5, 3\).*weight of shape \(4, 2\)"),
        (((), (4, 3), None), r"linear: input of shape \(\)"),
        (((5, 3), (2, 4, 3), None), r"linear: weight .* \(2, 4, 3\)"),
        (((5, 3), (4, 3), (3,)), r"linear: bias of shape \(3,\).*\(4, 3\)"),
        (((5, 3), (4, 3), (1, 4)), r"linear: bias of shape \(1, 4\)"),
    ],
    ids=str,
)
def test_linear_errors(shapes, match):
    x_shape, w_shape, b_shape = shapes
    bias = None if b_shape is None else np.zeros(b_shape)
    with pytest.raises(ValueError, match=match):
        F.linear(np.zeros(x_shape), np.zeros(w_shape), bias)


# ---- nll_loss and cross_entropy with class indices ---------------------------------------
CLASS_SHAPES = [((6, 5), (6,)), ((4, 3, 2, 3), (4, 2, 3)), ((5,), ())]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("ignored", [0, 2], ids=["all-kept", "some-ignored"])
@pytest.mark.parametrize("shapes", CLASS_SHAPES, ids=str)
def test_nll_loss(shapes, ignored, weighted, reduction):
    x_shape, t_shape = shapes
    classes = x_shape[0] if len(x_shape) == 1 else x_shape[1]
    if not t_shape and ignored:
        ignored = 0  # a single target: ignoring it is the all-ignored case, tested apart
    target = class_targets(t_shape, classes, ignored)
    weight = rng.uniform(0.5, 2.0, classes) if weighted else None
    logp = ref_log_softmax(rng.standard_normal(x_shape), 0 if len(x_shape) == 1 else 1)
    got = F.nll_loss(sg.tensor(logp), target, weight=weight, reduction=reduction)
    expected = ref_nll(logp, target, weight, reduction=reduction)
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got.data, expected, rtol=1e-12, atol=1e-12)
    check_grads(lambda x: F.nll_loss(x, target, weight=weight, reduction=reduction), [logp], [0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("ignored", [0, 2], ids=["all-kept", "some-ignored"])
@pytest.mark.parametrize("shapes", CLASS_SHAPES, ids=str)
def test_cross_entropy(shapes, ignored, weighted, smoothing, reduction):
    x_shape, t_shape = shapes
    axis = 0 if len(x_shape) == 1 else 1
    classes = x_shape[axis]
    if not t_shape and ignored:
        ignored = 0
    target = class_targets(t_shape, classes, ignored)
    weight = rng.uniform(0.5, 2.0, classes) if weighted else None
    x = rng.standard_normal(x_shape) * 3

    def f(x):
        return F.cross_entropy(
            x, target, weight=weight, reduction=reduction, label_smoothing=smoothing
        )

    expected = ref_nll(ref_log_softmax(x, axis), target, weight, -100, reduction, smoothing)
    got = f(sg.tensor(x))
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got.data, expected, rtol=1e-12, atol=1e-12)
    check_grads(f, [x], [0])


def test_cross_entropy_known_values():
    # -log(e^1 / (e^1 + e^2 + e^3)), and log(C) for uniform scores whatever the target,
    # the weights and the smoothing
    x = sg.tensor([[1.0, 2.0, 3.0]])
    expected = np.log(np.exp(1) + np.exp(2) + np.exp(3)) - 1  # 2.4076...
    assert F.cross_entropy(x, np.array([0])).item() == pytest.approx(expected, rel=1e-14)
    uniform, target, weight = sg.tensor(np.zeros((4, 7))), np.array([0, 6, 2, 2]), np.arange(7.0)
    for smoothing in (0.0, 0.3, 1.0):
        loss = F.cross_entropy(uniform, target, label_smoothing=smoothing)
        assert loss.item() == pytest.approx(np.log(7), rel=1e-14)
    assert F.cross_entropy(uniform, target, weight).item() == pytest.approx(np.log(7), rel=1e-14)
    # with weights, PyTorch's smoothing term is weighted by every class but normalized by
    # the targets' weights: log(C) ((1 - e) + e * mean(w) * N / sum(w[target]))
    loss = F.cross_entropy(uniform, target, weight, label_smoothing=0.3)
    expected = np.log(7) * (0.7 + 0.3 * weight.mean() * 4 / weight[target].sum())
    assert loss.item() == pytest.approx(expected, rel=1e-14)


def test_nll_loss_weighted_mean_by_hand():
    logp = np.log(np.array([[0.5, 0.5], [0.2, 0.8], [0.9, 0.1]]))
    target = np.array([0, 1, 1])
    weight = np.array([1.0, 3.0])
    # (1 * -log .5 + 3 * -log .8 + 3 * -log .1) / (1 + 3 + 3)
    expected = (-np.log(0.5) - 3 * np.log(0.8) - 3 * np.log(0.1)) / 7
    got = F.nll_loss(sg.tensor(logp), target, weight=weight)
    assert got.item() == pytest.approx(expected, rel=1e-14)


def test_ignore_index():
    logp = ref_log_softmax(rng.standard_normal((5, 4)), 1)
    x = sg.tensor(logp, requires_grad=True)
    # ignore_index may be a valid class: those targets are skipped
    target = np.array([2, 0, 2, 3, 1])
    loss = F.nll_loss(x, target, ignore_index=2, reduction="none")
    np.testing.assert_array_equal(loss.data[[0, 2]], 0.0)
    kept = [1, 3, 4]
    np.testing.assert_allclose(loss.data[kept], -logp[kept, target[kept]], rtol=1e-15)
    mean = F.nll_loss(x, target, ignore_index=2)
    assert mean.item() == pytest.approx(-logp[kept, target[kept]].mean(), rel=1e-14)
    mean.backward()
    np.testing.assert_array_equal(x.grad[[0, 2]], 0.0)
    # -1 as ignore_index, beside -100 as a plain out-of-range target
    loss = F.cross_entropy(sg.tensor(logp), np.array([-1, 0, 1, -1, 3]), ignore_index=-1)
    expected = ref_nll(logp, np.array([-1, 0, 1, -1, 3]), ignore_index=-1)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_every_target_ignored():
    x = sg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    target = np.full(3, -100)
    mean = F.cross_entropy(x, target)
    assert np.isnan(mean.item())  # PyTorch: 0 / 0
    mean.backward()
    np.testing.assert_array_equal(x.grad, 0.0)  # and zero gradients, as in PyTorch
    assert F.cross_entropy(x, target, reduction="sum").item() == 0.0
    np.testing.assert_array_equal(F.nll_loss(x, target, reduction="none").data, 0.0)


def test_targets_are_not_mutated():
    target = np.array([1, -100, 2])
    before = target.copy()
    F.cross_entropy(sg.tensor(np.zeros((3, 4))), target, label_smoothing=0.2)
    F.nll_loss(sg.tensor(np.zeros((3, 4))), target, weight=np.ones(4))
    np.testing.assert_array_equal(target, before)


def test_tensor_targets_and_weights():
    x = rng.standard_normal((4, 3))
    target, weight = np.array([0, 2, 1, 2]), np.array([0.5, 1.0, 2.0])
    expected = ref_nll(ref_log_softmax(x, 1), target, weight)
    got = F.cross_entropy(sg.tensor(x), sg.tensor(target), weight=sg.tensor(weight))
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_weight_requiring_grad_gets_its_gradient():
    # a composite: the gradient of the weighted mean reaches the class weights too
    logp = ref_log_softmax(rng.standard_normal((6, 3)), 1)
    target = np.array([0, 1, 2, 2, -100, 1])
    weight = rng.uniform(0.5, 2.0, 3)
    check_grads(lambda x, w: F.nll_loss(x, target, weight=w), [logp, weight], [0, 1])
    check_grads(
        lambda x, w: F.cross_entropy(x, target, weight=w, label_smoothing=0.2),
        [logp, weight],
        [0, 1],
    )


# ---- cross_entropy with class probabilities ----------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 2, 2), (4,)], ids=str)
def test_cross_entropy_probabilities(shape, weighted, smoothing, reduction):
    axis = 0 if len(shape) == 1 else 1
    x = rng.standard_normal(shape) * 2
    others = shape[:axis] + shape[axis + 1 :]
    q = rng.dirichlet(np.ones(shape[axis]), size=int(np.prod(others)))
    q = np.moveaxis(q.reshape((*others, shape[axis])), -1, axis)
    weight = rng.uniform(0.5, 2.0, shape[axis]) if weighted else None

    def f(x, q):
        return F.cross_entropy(x, q, weight=weight, reduction=reduction, label_smoothing=smoothing)

    expected = ref_prob_cross_entropy(x, q, weight, reduction, smoothing)
    got = f(sg.tensor(x), sg.tensor(q))
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got.data, expected, rtol=1e-12, atol=1e-12)
    check_grads(f, [x, q], [0, 1])  # the target is differentiable, as in PyTorch


def test_one_hot_probabilities_match_class_indices():
    x = sg.tensor(rng.standard_normal((6, 4)))
    target = rng.integers(0, 4, 6)
    one_hot = np.eye(4)[target]
    for smoothing in (0.0, 0.3):
        by_index = F.cross_entropy(x, target, label_smoothing=smoothing)
        by_probability = F.cross_entropy(x, one_hot, label_smoothing=smoothing)
        assert by_probability.item() == pytest.approx(by_index.item(), rel=1e-12)
    # with class weights, PyTorch's probability mean divides by N, not by sum w[target]
    weight = np.array([1.0, 2.0, 3.0, 4.0])
    by_probability = F.cross_entropy(x, one_hot, weight=weight)
    by_index_sum = F.cross_entropy(x, target, weight=weight, reduction="sum")
    assert by_probability.item() == pytest.approx(by_index_sum.item() / 6, rel=1e-12)


# ---- errors of the classification losses -------------------------------------------------
NLL_ERRORS = [
    ((3, 5), np.array([0, 1, 2, 3]), {}, r"\(3, 5\).*target of shape \(3,\), not \(4,\)"),
    ((3, 5, 2), np.zeros((3, 3), int), {}, r"\(3, 5, 2\).*shape \(3, 2\), not \(3, 3\)"),
    ((5,), np.array([1]), {}, r"\(5,\).*shape \(\), not \(1,\)"),
    ((3, 5), np.array([0, 5, 1]), {}, r"target 5 is out of bounds for 5 classes.*\(3, 5\)"),
    ((3, 5), np.array([0, -1, 1]), {}, r"target -1 is out of bounds"),
    ((3, 5), np.array([0, 2, 1]), {"ignore_index": 2, "weight": np.ones(4)}, r"shape \(5,\)"),
    ((3, 5), np.array([0.0, 1.0, 2.0]), {}, r"integer class indices, not float64"),
    ((3, 5), np.array([0, 1, 2]), {"reduction": "avg"}, r"reduction .* not 'avg'"),
    ((), np.array(0), {}, r"class axis"),
]


@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize(("shape", "target", "kwargs", "match"), NLL_ERRORS)
def test_class_loss_errors(name, shape, target, kwargs, match):
    with pytest.raises(ValueError, match=f"{name}: .*{match}"):
        getattr(F, name)(sg.tensor(np.zeros(shape)), target, **kwargs)


@pytest.mark.parametrize(
    ("target", "kwargs", "match"),
    [
        (np.zeros((3, 4), int), {}, r".*class probabilities and must be floating-point, not int"),
        (np.full((3, 4), 0.25), {"ignore_index": 0}, r"ignore_index \(0\) is not supported"),
        (np.full((3, 4), 0.25), {"weight": np.ones(3)}, r"weight .* \(4,\), not \(3,\)"),
        (np.array([0, 1, 2]), {"label_smoothing": 1.5}, r"label_smoothing .* not 1.5"),
        (np.array([0, 1, 2]), {"label_smoothing": -0.1}, r"label_smoothing .* not -0.1"),
        (np.array([0.0, 1.0, 2.0]), {}, r"target must hold integer class indices, not float64"),
    ],
    ids=str,
)
def test_cross_entropy_errors(target, kwargs, match):
    with pytest.raises(ValueError, match=f"cross_entropy: {match}"):
        F.cross_entropy(sg.tensor(np.zeros((3, 4))), target, **kwargs)


# ---- mse_loss ----------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (7,), (3, 4, 2)], ids=str)
def test_mse_loss(shape, reduction):
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    got = F.mse_loss(sg.tensor(x), sg.tensor(y), reduction=reduction)
    np.testing.assert_allclose(got.data, reduce((x - y) ** 2, reduction), rtol=1e-14)
    check_grads(lambda x, y: F.mse_loss(x, y, reduction=reduction), [x, y], [0, 1])


def test_mse_loss_broadcasts_with_a_warning():
    x, y = rng.standard_normal((3, 1)), rng.standard_normal((3, 4))
    with pytest.warns(UserWarning, match=r"mse_loss: target shape \(3, 4\) differs .* \(3, 1\)"):
        got = F.mse_loss(sg.tensor(x), y)
    assert got.item() == pytest.approx(((x - y) ** 2).mean(), rel=1e-14)


@pytest.mark.parametrize(
    ("shapes", "reduction", "match"),
    [
        (((3, 4), (2,)), "mean", r"mse_loss: shapes \(3, 4\) and \(2,\) cannot be broadcast"),
        (((3,), (3,)), "elementwise_mean", r"mse_loss: reduction"),
    ],
)
def test_mse_loss_errors(shapes, reduction, match):
    with pytest.raises(ValueError, match=match):
        F.mse_loss(sg.tensor(np.zeros(shapes[0])), np.zeros(shapes[1]), reduction=reduction)


# ---- binary_cross_entropy ----------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (4,), (3, 4)], ids=str)
def test_binary_cross_entropy(weight_shape, reduction):
    p = rng.uniform(0.05, 0.95, (3, 4))
    t = rng.uniform(0, 1, (3, 4))  # soft targets are allowed
    weight = None if weight_shape is None else rng.uniform(0.5, 2.0, weight_shape)

    def f(p, t):
        return F.binary_cross_entropy(p, t, weight=weight, reduction=reduction)

    got = f(sg.tensor(p), sg.tensor(t))
    np.testing.assert_allclose(got.data, reduce(ref_bce(p, t, weight), reduction), rtol=1e-13)
    check_grads(f, [p, t], [0, 1])


def test_binary_cross_entropy_clamps_at_0_and_1():
    # p = 0 and 1, and p so small that log(p) < -100: PyTorch clamps each log at -100
    p = sg.tensor([0.0, 0.0, 1.0, 1.0, 1e-50, 0.5], requires_grad=True)
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    loss = F.binary_cross_entropy(p, t, reduction="none")
    np.testing.assert_allclose(loss.data, [100, 0, 100, 0, 100, np.log(2)], rtol=1e-15)
    np.testing.assert_allclose(loss.data, ref_bce(p.data, t), rtol=1e-15)
    loss.backward(np.ones(6))
    # finite: 0 where a clamp holds, the exact derivative of the other term elsewhere
    np.testing.assert_allclose(p.grad, [0.0, 1.0, 0.0, -1.0, 0.0, -2.0], rtol=1e-15)
    mean = F.binary_cross_entropy(sg.tensor(np.array([0.0, 1.0]), requires_grad=True), [1.0, 0])
    assert mean.item() == 100.0
    # no 0 or 1 at all, only a log below -100 (float64, and a float32 subnormal)
    for dtype in (np.float64, np.float32):
        p = sg.tensor(np.array([1e-45, 0.5], dtype), requires_grad=True)
        loss = F.binary_cross_entropy(p, np.array([1.0, 0.0]), reduction="none")
        np.testing.assert_allclose(loss.data, [100, np.log(2)], rtol=1e-6)
        loss.backward(np.ones(2))
        np.testing.assert_allclose(p.grad, [0.0, 2.0], rtol=1e-6)


def test_binary_cross_entropy_gradient_near_the_ends():
    p = np.array([1e-8, 1 - 1e-8, 1e-3])
    check_grads(
        lambda p: F.binary_cross_entropy(p, np.array([1.0, 0.0, 0.3]), reduction="sum"),
        [p],
        [0],
        eps=1e-10,
        rtol=1e-4,
    )


@pytest.mark.parametrize(
    ("p", "t", "weight", "match"),
    [
        (np.full((3, 2), 0.5), np.ones(3), None, r"target of shape \(3,\).*shape \(3, 2\)"),
        (np.array([0.5, 1.5]), np.ones(2), None, r".*input \(shape \(2,\)\) must be a probability"),
        (np.array([-0.1, 0.5]), np.ones(2), None, r".*must be a probability"),
        (np.array([np.nan, 0.5]), np.ones(2), None, r".*must be a probability"),
        (np.full((3, 2), 0.5), np.ones((3, 2)), np.ones(3), r"weight of shape \(3,\).*\(3, 2\)"),
        (np.full(2, 0.5), np.ones(2), np.ones((2, 2)), r"weight of shape \(2, 2\).*\(2,\)"),
    ],
    ids=str,
)
def test_binary_cross_entropy_errors(p, t, weight, match):
    with pytest.raises(ValueError, match=f"binary_cross_entropy: {match}"):
        F.binary_cross_entropy(sg.tensor(p), t, weight=weight)


# ---- dropout -----------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("seeded", [False, True], ids=["module-generator", "seeded"])
def test_dropout_statistics(p, seeded):
    n = 200_000
    x = sg.tensor(np.ones(n), requires_grad=True)
    generator = np.random.default_rng(7) if seeded else None
    out = F.dropout(x, p, generator=generator)
    zeros = out.data == 0
    # 6 standard deviations: sqrt(p (1 - p) / n) for the fraction, sqrt(p / (1 - p) / n)
    # for the mean
    assert abs(zeros.mean() - p) < 6 * np.sqrt(p * (1 - p) / n)
    assert abs(out.data.mean() - 1) < 6 * np.sqrt(p / (1 - p) / n)
    np.testing.assert_allclose(out.data[~zeros], 1 / (1 - p), rtol=1e-15)
    cotangent = rng.standard_normal(n)
    out.backward(cotangent)
    np.testing.assert_allclose(x.grad, cotangent * out.data, rtol=1e-15)


def test_dropout_identity_and_zeros():
    x = sg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 1.0, False) is x
    out = F.dropout(x, 1.0)
    np.testing.assert_array_equal(out.data, 0.0)
    out.backward(np.ones((3, 4)))
    np.testing.assert_array_equal(x.grad, 0.0)


def test_dropout_randomness():
    x = sg.tensor(np.ones((50, 40)))
    a = F.dropout(x, 0.5, generator=np.random.default_rng(3)).data
    b = F.dropout(x, 0.5, generator=np.random.default_rng(3)).data
    np.testing.assert_array_equal(a, b)  # reproducible with a seeded generator
    generator = np.random.default_rng(3)
    first, second = (F.dropout(x, 0.5, generator=generator).data for _ in range(2))
    assert not np.array_equal(first, second)  # a fresh mask on each call
    assert not np.array_equal(F.dropout(x, 0.5).data, F.dropout(x, 0.5).data)
    # NumPy's global random state is neither used nor disturbed
    state = np.random.get_state()
    F.dropout(x, 0.5)
    after = np.random.get_state()
    assert state[2:] == after[2:] and np.array_equal(state[1], after[1])


def test_dropout_does_not_mutate():
    data = np.ones((4, 5))
    F.dropout(data, 0.5)
    np.testing.assert_array_equal(data, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p": -0.1}, r"dropout: probability p has to be between 0 and 1, but got -0.1"),
        ({"p": 1.5}, r"but got 1.5"),
        ({"p": 1.5, "training": False}, r"but got 1.5"),
        ({"p": 0.5, "inplace": True}, r"dropout: inplace=True is not supported"),
    ],
    ids=str,
)
def test_dropout_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        F.dropout(sg.tensor(np.ones(3)), **kwargs)


# ---- float32 in, float32 out -------------------------------------------------------------
def _float32_cases():
    logits = rng.standard_normal((4, 3))
    target = np.array([0, 2, -100, 1])
    probs = rng.dirichlet(np.ones(3), 4)  # float64 constants: they must not promote
    w = np.array([0.5, 1.0, 2.0])
    # linear's weight and bias are parameters, not constants: NumPy's promotion applies
    weight32, bias32 = sg.tensor(logits, np.float32), sg.tensor(np.arange(4.0), np.float32)
    return {
        "linear": lambda x: F.linear(x, weight32, bias32),
        "nll_loss": lambda x, r: F.nll_loss(x, target, weight=w, reduction=r),
        "cross_entropy": lambda x, r: F.cross_entropy(
            x, target, weight=w, reduction=r, label_smoothing=0.1
        ),
        "cross_entropy-probabilities": lambda x, r: F.cross_entropy(
            x, probs, weight=w, reduction=r, label_smoothing=0.1
        ),
        "mse_loss": lambda x, r: F.mse_loss(x, probs, reduction=r),
        "binary_cross_entropy": lambda x, r: F.binary_cross_entropy(
            sg.sigmoid(x), probs, weight=w, reduction=r
        ),
        "dropout": lambda x: F.dropout(x, 0.3),
    }


FLOAT32_CASES = [
    (name, reduction)
    for name in _float32_cases()
    for reduction in ([None] if name in ("linear", "dropout") else REDUCTIONS)
]


@pytest.mark.parametrize(("name", "reduction"), FLOAT32_CASES, ids=str)
def test_float32_in_float32_out(name, reduction):
    f = _float32_cases()[name]
    x = sg.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    out = f(x) if reduction is None else f(x, reduction)
    assert out.dtype == np.float32, out.dtype
    out.backward(np.ones(out.shape, np.float32))
    assert x.grad.dtype == np.float32
    assert np.isfinite(x.grad).all()


def test_float32_edge_values():
    p = sg.tensor(np.array([0.0, 1.0, 0.5], np.float32), requires_grad=True)
    loss = F.binary_cross_entropy(p, np.array([1.0, 0.0, 1.0]))
    assert loss.dtype == np.float32
    assert loss.item() == pytest.approx((200 + np.log(2)) / 3, rel=1e-6)
    loss.backward()
    assert np.isfinite(p.grad).all()
    x = sg.tensor(np.zeros((2, 3), np.float32))
    assert F.cross_entropy(x, np.array([-100, -100])).dtype == np.float32


# ---- PyTorch itself, when it is installed ------------------------------------------------
def test_against_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = rng.standard_normal((5, 4, 3))
    target = class_targets((5, 3), 4, ignore=3)
    weight = rng.uniform(0.5, 2.0, 4)
    q = np.moveaxis(rng.dirichlet(np.ones(4), (5, 3)), -1, 1)
    p, t = rng.uniform(0.01, 0.99, (5, 4)), rng.uniform(0, 1, (5, 4))
    for reduction in REDUCTIONS:
        for smoothing in (0.0, 0.2):
            for tgt in (target, q):
                ours = F.cross_entropy(
                    x, tgt, weight, reduction=reduction, label_smoothing=smoothing
                )
                theirs = tf.cross_entropy(
                    torch.tensor(x),
                    torch.tensor(tgt),
                    torch.tensor(weight),
                    reduction=reduction,
                    label_smoothing=smoothing,
                )
                np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10)
        ours = F.binary_cross_entropy(p, t, weight[:, None].T, reduction=reduction)
        theirs = tf.binary_cross_entropy(
            torch.tensor(p), torch.tensor(t), torch.tensor(weight), reduction=reduction
        )
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10)
