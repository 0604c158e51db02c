"""sg.optim: SGD, Adam and AdamW over 100 steps of a random quadratic loss, against
PyTorch's optimizers where PyTorch is installed and, always, against their update
formulas written out below in plain NumPy; the schedules against PyTorch's and their
closed forms; and what an optimizer promises besides its arithmetic (in place, dtype kept,
parameters without a gradient skipped, zero_grad, groups, state_dict, the version
counter, errors naming the bad argument).
"""

import math
import subprocess
import sys

import numpy as np
import pytest

import symgrad as sg
from symgrad.optim import SGD, Adam, AdamW, Optimizer
from symgrad.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR

try:
    import torch
except ImportError:  # never a requirement: the comparisons with it are skipped
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

STEPS = 100
RTOL = 1e-10  # float64 over 100 steps: rounding differences stay near 1e-14 here

# ---- the problem: a random convex quadratic over parameters of several shapes -------------
SHAPES = [(3, 4), (5,), (2, 3, 2)]
_rng = np.random.default_rng(12)
_N = sum(math.prod(shape) for shape in SHAPES)
_M = _rng.standard_normal((_N, _N))
Q = _M @ _M.T / _N + 0.1 * np.eye(_N)  # eigenvalues in about [0.1, 4]
C = _rng.standard_normal(_N)
START = [_rng.standard_normal(shape) for shape in SHAPES]


def quadratic_loss(params, sign):
    """``sign * (z Q z / 2 + c z)``, z all parameters flattened and joined; sign -1 gives a
    concave loss, which maximize=True climbs along the same path as sign 1 descends."""
    z = sg.concatenate([p.reshape(-1) for p in params])
    return sign * (0.5 * (z @ Q @ z) + C @ z)


def gradients_at(arrays, sign):
    """The loss's gradients at these values, by symgrad (so every optimizer below is fed
    the same gradient function, and only the optimizers are compared)."""
    params = [sg.tensor(a.copy(), requires_grad=True) for a in arrays]
    quadratic_loss(params, sign).backward()
    return [p.grad for p in params]


def split_into_groups(params, groups):
    """The params as one list, or, given per-group options, as two groups (the first
    parameter, the others)."""
    if groups is None:
        return params
    first, rest = groups
    return [{"params": params[:1], **first}, {"params": params[1:], **rest}]


def sign_of(options):
    return -1.0 if options.get("maximize") else 1.0


def run_symgrad(name, options, groups=None, steps=STEPS, dtype=np.float64):
    params = [sg.tensor(a.astype(dtype), requires_grad=True) for a in START]
    opt = getattr(sg.optim, name)(split_into_groups(params, groups), **options)
    for _ in range(steps):
        opt.zero_grad()
        quadratic_loss(params, sign_of(options)).backward()
        opt.step()
    return [p.data for p in params]


def run_torch(name, options, groups=None):
    params = [torch.tensor(a.copy(), requires_grad=True) for a in START]
    opt = getattr(torch.optim, name)(split_into_groups(params, groups), **options)
    for _ in range(STEPS):
        opt.zero_grad()
        grads = gradients_at([p.detach().numpy() for p in params], sign_of(options))
        for p, g in zip(params, grads):
            p.grad = torch.from_numpy(g)
        opt.step()
    return [p.detach().numpy() for p in params]


# ---- the update formulas, as PyTorch documents them, out of place -------------------------
def sgd_step(x, g, state, t, lr, momentum, dampening, weight_decay, nesterov, maximize):
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * x
    if momentum:
        b = g if t == 1 else momentum * state["b"] + (1 - dampening) * g
        state["b"] = b
        g = g + momentum * b if nesterov else b
    return x - lr * g


def adam_step(x, g, state, t, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled):
    beta1, beta2 = betas
    if maximize:
        g = -g
    if decoupled:
        x = x * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * x
    m = state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
    v = state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g**2
    if amsgrad:
        v = state["v_max"] = np.maximum(state.get("v_max", 0.0), v)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return x - lr * m_hat / (np.sqrt(v_hat) + eps)


# PyTorch's defaults, as its documentation gives them
SGD_DEFAULTS = dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)
ADAM_DEFAULTS = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)
REFERENCES = {
    "SGD": (sgd_step, {**SGD_DEFAULTS, "maximize": False}),
    "Adam": (adam_step, {**ADAM_DEFAULTS, "maximize": False, "decoupled": False}),
    "AdamW": (
        adam_step,
        {**ADAM_DEFAULTS, "weight_decay": 1e-2, "maximize": False, "decoupled": True},
    ),
}


def run_reference(name, options, groups=None):
    step, defaults = REFERENCES[name]
    per_param = [{**defaults, **options} for _ in START]
    if groups is not None:
        per_param = [{**per_param[0], **groups[0]}] + [{**p, **groups[1]} for p in per_param[1:]]
    x = [a.copy() for a in START]
    states = [{} for _ in START]
    for t in range(1, STEPS + 1):
        grads = gradients_at(x, sign_of(options))
        x = [step(*args, t, **o) for *args, o in zip(x, grads, states, per_param)]
    return x


CASES = [
    ("SGD", dict(lr=0.1), None),
    ("SGD", dict(lr=0.05, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), None),
    ("SGD", dict(lr=0.1, weight_decay=0.1), None),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1, nesterov=True), None),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.05, maximize=True), None),
    ("SGD", dict(lr=0.1, maximize=True), None),
    ("SGD", dict(lr=0.05, momentum=0.9), (dict(lr=0.1), dict(momentum=0.5, nesterov=True))),
    ("Adam", {}, None),
    ("Adam", dict(lr=0.05), None),
    ("Adam", dict(lr=0.05, amsgrad=True), None),
    ("Adam", dict(lr=0.05, weight_decay=0.1), None),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1, maximize=True), None),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-3), None),
    ("Adam", dict(lr=0.05), (dict(betas=(0.8, 0.99)), dict(lr=0.01, amsgrad=True))),
    ("AdamW", {}, None),
    ("AdamW", dict(lr=0.05), None),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True), None),
    ("AdamW", dict(lr=0.05, maximize=True), None),
    ("AdamW", dict(lr=0.05), (dict(weight_decay=0.5), dict(weight_decay=0.0, lr=0.02))),
]
CASE_IDS = [f"{name}-{options}-{groups}".replace(" ", "") for name, options, groups in CASES]


def assert_same_path(got, want):
    moved = max(np.max(np.abs(w - s)) for w, s in zip(want, START))
    assert moved > 0.05  # the optimizer went somewhere: the comparison says something
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=0)


@needs_torch
@pytest.mark.parametrize(("name", "options", "groups"), CASES, ids=CASE_IDS)
def test_100_steps_as_pytorch(name, options, groups):
    assert_same_path(run_symgrad(name, options, groups), run_torch(name, options, groups))


@pytest.mark.parametrize(("name", "options", "groups"), CASES, ids=CASE_IDS)
def test_100_steps_as_the_formulas(name, options, groups):
    assert_same_path(run_symgrad(name, options, groups), run_reference(name, options, groups))


@needs_torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_defaults_are_pytorchs(name):
    param = [sg.tensor(np.zeros(2), requires_grad=True)]
    ours = getattr(sg.optim, name)(param).defaults
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)]).defaults
    assert ours == {key: theirs[key] for key in ours}


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_defaults_are_the_documented_ones(name):
    ours = getattr(sg.optim, name)([sg.tensor(np.zeros(2), requires_grad=True)]).defaults
    documented = dict(REFERENCES[name][1])
    documented.pop("decoupled", None)
    assert ours == documented


# ---- schedulers -----------------------------------------------------------------------------
SCHEDULES = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.01)),
    ("CosineAnnealingLR", dict(T_max=7)),
]
EPOCHS = 30
BASE_LRS = (0.1, 0.03)


def lr_sequence(lib, name, options):
    """Each epoch's lrs of two groups, as the scheduler reports and as the groups hold."""
    params = [lib.tensor(np.ones(2), requires_grad=True) for _ in BASE_LRS]
    opt = lib.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, BASE_LRS)])
    scheduler = getattr(lib.optim.lr_scheduler, name)(opt, **options)
    lrs = []
    for _ in range(EPOCHS + 1):
        assert scheduler.get_last_lr() == [group["lr"] for group in opt.param_groups]
        lrs.append(scheduler.get_last_lr())
        opt.step()
        scheduler.step()
    return np.array(lrs)


def closed_form(name, options, epoch, base):
    if name == "StepLR":
        return base * options.get("gamma", 0.1) ** (epoch // options["step_size"])
    eta_min = options.get("eta_min", 0.0)
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / options["T_max"])) / 2


@needs_torch
@pytest.mark.parametrize(("name", "options"), SCHEDULES)
def test_schedule_as_pytorch(name, options):
    np.testing.assert_allclose(
        lr_sequence(sg, name, options), lr_sequence(torch, name, options), rtol=1e-13, atol=0
    )


@pytest.mark.parametrize(("name", "options"), SCHEDULES)
def test_schedule_as_its_closed_form(name, options):
    want = [[closed_form(name, options, e, base) for base in BASE_LRS] for e in range(EPOCHS + 1)]
    # the recursion's rounding, where the cosine passes its bottom at 0
    np.testing.assert_allclose(lr_sequence(sg, name, options), want, rtol=1e-12, atol=1e-15)


def test_the_scheduled_lr_is_the_one_a_step_uses():
    p = sg.tensor(np.zeros(3), requires_grad=True)
    opt = SGD([p], lr=1.0)
    scheduler = StepLR(opt, step_size=2, gamma=0.5)
    expected = 0.0
    for epoch in range(6):
        p.grad = np.ones(3)
        opt.step()
        expected -= 0.5 ** (epoch // 2)
        scheduler.step()
    np.testing.assert_array_equal(p.data, np.full(3, expected))


def test_cosine_resumed_at_an_epoch_starts_on_its_closed_form():
    p = sg.tensor(np.zeros(1), requires_grad=True)
    opt = SGD([{"params": [p], "lr": 0.5, "initial_lr": 1.0}])
    scheduler = CosineAnnealingLR(opt, T_max=10, eta_min=0.1, last_epoch=3)
    options = dict(T_max=10, eta_min=0.1)
    for epoch in (4, 5):
        want = closed_form("CosineAnnealingLR", options, epoch, 1.0)
        assert scheduler.get_last_lr() == pytest.approx([want], rel=1e-14)
        scheduler.step()


def test_resuming_without_initial_lr_raises():
    opt = SGD([sg.tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(opt, step_size=3, last_epoch=4)


def test_scheduler_state_dict_round_trip():
    def make():
        params = [sg.tensor(a.copy(), requires_grad=True) for a in START]
        opt = SGD(params, lr=0.1, momentum=0.9)
        return params, opt, CosineAnnealingLR(opt, T_max=8, eta_min=0.001)

    def epoch(params, opt, scheduler):
        opt.zero_grad()
        quadratic_loss(params, 1.0).backward()
        opt.step()
        scheduler.step()

    whole = make()
    for _ in range(12):
        epoch(*whole)
    first = make()
    for _ in range(5):
        epoch(*first)
    saved_opt, saved_sched = first[1].state_dict(), first[2].state_dict()
    assert all(isinstance(v, int | float | list) for v in saved_sched.values())
    resumed = make()
    for p, q in zip(resumed[0], first[0]):
        p.data[...] = q.data
    resumed[1].load_state_dict(saved_opt)
    resumed[2].load_state_dict(saved_sched)
    for _ in range(7):
        epoch(*resumed)
    assert resumed[2].get_last_lr() == whole[2].get_last_lr()
    for p, q in zip(resumed[0], whole[0]):
        np.testing.assert_array_equal(p.data, q.data)


def test_scheduler_base_class_and_bad_arguments():
    opt = SGD([sg.tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    with pytest.raises(NotImplementedError):
        LRScheduler(opt)
    with pytest.raises(TypeError, match="Optimizer"):
        StepLR([1.0], step_size=2)


# ---- in place, dtype, skipped parameters, zero_grad ------------------------------------------
FEW_STEPS = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, maximize=True)),
]


@pytest.mark.parametrize(("name", "options"), FEW_STEPS)
def test_float32_stays_float32_in_the_same_array(name, options):
    params = [sg.tensor(a.astype(np.float32), requires_grad=True) for a in START]
    arrays = [p.data for p in params]
    opt = getattr(sg.optim, name)(params, **options)
    for _ in range(20):
        opt.zero_grad()
        quadratic_loss(params, sign_of(options)).backward()
        opt.step()
    for p, array in zip(params, arrays):
        assert p.data is array and p.data.dtype == np.float32
        for value in opt.state.get(p, {}).values():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32
    want = run_symgrad(name, options, steps=20)
    for p, w in zip(params, want):
        np.testing.assert_allclose(p.data, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("name", "options"), FEW_STEPS)
def test_a_parameter_without_grad_is_skipped(name, options):
    used, unused = (sg.tensor(a.copy(), requires_grad=True) for a in START[1:])
    version = getattr(unused, "_version", None)
    opt = getattr(sg.optim, name)([unused, used], **options)
    for _ in range(3):
        opt.zero_grad()
        (used * used).sum().backward()
        opt.step()
    assert unused.grad is None and unused not in opt.state
    np.testing.assert_array_equal(unused.data, START[2])
    assert getattr(unused, "_version", None) == version
    assert not np.array_equal(used.data, START[1])


def test_adam_counts_steps_per_parameter():
    a, b = (sg.tensor(np.ones(2), requires_grad=True) for _ in range(2))
    opt = Adam([a, b], lr=0.1)
    a.grad = np.ones(2)
    opt.step()
    b.grad = np.ones(2)
    opt.step()
    assert (opt.state[a]["step"], opt.state[b]["step"]) == (2, 1)
    # at its first step, Adam moves a parameter by lr times the sign of its gradient
    np.testing.assert_allclose(b.data, 1 - 0.1, rtol=1e-7)


def test_zero_grad_sets_none_by_default():
    params = [sg.tensor(a.copy(), requires_grad=True) for a in START]
    opt = SGD(params, lr=0.1)
    quadratic_loss(params, 1.0).backward()
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_zero_grad_without_none_zeroes_the_same_arrays():
    params = [sg.tensor(a.copy(), requires_grad=True) for a in START]
    opt = SGD(params, lr=0.1)
    quadratic_loss(params, 1.0).backward()
    grads = [p.grad for p in params]
    opt.zero_grad(set_to_none=False)
    for p, g in zip(params, grads):
        assert p.grad is g and not g.any()
    quadratic_loss(params, 1.0).backward()  # accumulates onto zeros: the gradient itself
    for p, want in zip(params, gradients_at(START, 1.0)):
        np.testing.assert_allclose(p.grad, want, rtol=1e-14)


def test_zero_grad_without_none_leaves_a_read_only_array_alone():
    p = sg.tensor(np.ones(3), requires_grad=True)
    given = np.ones(3)
    given.flags.writeable = False
    p.grad = given
    SGD([p]).zero_grad(set_to_none=False)
    assert not p.grad.any() and given.all()


# ---- groups ---------------------------------------------------------------------------------
def test_groups_with_their_own_lrs():
    a, b = (sg.tensor(np.zeros(3), requires_grad=True) for _ in range(2))
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1)
    assert [group["lr"] for group in opt.param_groups] == [0.1, 0.5]
    assert "Parameter Group 1\n    dampening: 0\n    lr: 0.5" in repr(opt)
    a.grad, b.grad = np.ones(3), np.ones(3)
    opt.step()
    np.testing.assert_array_equal(a.data, np.full(3, -0.1))
    np.testing.assert_array_equal(b.data, np.full(3, -0.5))


def test_add_param_group_takes_the_defaults():
    a, b = (sg.tensor(np.zeros(2), requires_grad=True) for _ in range(2))
    opt = Adam([a], lr=0.2, betas=(0.5, 0.6))
    opt.add_param_group({"params": [b], "eps": 1e-3})
    assert opt.param_groups[1]["lr"] == 0.2 and opt.param_groups[1]["betas"] == (0.5, 0.6)
    assert opt.param_groups[1]["eps"] == 1e-3 and opt.param_groups[0]["eps"] == 1e-8
    b.grad = np.ones(2)
    opt.step()
    assert b in opt.state and not np.array_equal(b.data, np.zeros(2))


def test_a_parameter_in_two_groups_raises_and_changes_nothing():
    a, b = (sg.tensor(np.zeros(2), requires_grad=True) for _ in range(2))
    opt = SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [b, a]})
    assert len(opt.param_groups) == 1
    with pytest.warns(UserWarning, match="duplicate"):
        SGD([b, b])


# ---- state_dict -----------------------------------------------------------------------------
def plain_values_only(value):
    """Whether ``value`` holds only arrays, numbers, and dicts, lists and tuples of them."""
    if isinstance(value, dict):
        return all(plain_values_only(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(plain_values_only(v) for v in value)
    return isinstance(value, np.ndarray | int | float | bool)


@pytest.mark.parametrize(("name", "options"), FEW_STEPS)
def test_state_dict_round_trip(name, options):
    def steps(params, opt, n):
        for _ in range(n):
            opt.zero_grad()
            quadratic_loss(params, sign_of(options)).backward()
            opt.step()

    cls = getattr(sg.optim, name)
    params = [sg.tensor(a.copy(), requires_grad=True) for a in START]
    opt = cls(params, **options)
    steps(params, opt, 3)
    saved = opt.state_dict()
    assert plain_values_only(saved)
    assert set(saved["state"]) == ({0, 1, 2} if opt.state else set())  # plain SGD keeps none
    copies = [sg.tensor(p.data.copy(), requires_grad=True) for p in params]
    other = cls(copies, lr=0.9)  # its lr is replaced by the loaded one
    other.load_state_dict(saved)
    assert other.param_groups[0]["lr"] == options["lr"]
    steps(params, opt, 4)
    steps(copies, other, 4)
    for p, q in zip(params, copies):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_is_a_snapshot_and_loading_copies():
    p = sg.tensor(np.zeros(3), requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(3)
    opt.step()
    saved = opt.state_dict()
    buffer = saved["state"][0]["momentum_buffer"].copy()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], buffer)
    opt.load_state_dict(saved)
    saved["state"][0]["momentum_buffer"][...] = 7.0
    np.testing.assert_array_equal(opt.state[p]["momentum_buffer"], buffer)


def test_load_state_dict_casts_to_the_parameters_dtype():
    p = sg.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    opt = Adam([p])
    state = {0: {"step": 4, "exp_avg": np.ones(3), "exp_avg_sq": np.ones(3)}}
    opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})
    assert opt.state[p]["exp_avg"].dtype == np.float32 and opt.state[p]["step"] == 4


def test_load_state_dict_that_does_not_fit_raises_and_changes_nothing():
    a, b = (sg.tensor(np.zeros(2), requires_grad=True) for _ in range(2))
    opt = SGD([a, b], lr=0.1)
    two_groups = SGD([{"params": [a]}, {"params": [b]}], lr=0.2).state_dict()
    one_param = SGD([a], lr=0.2).state_dict()
    wrong_shape = {**opt.state_dict(), "state": {0: {"momentum_buffer": np.zeros(5)}}}
    for saved, match in ((two_groups, "groups"), (one_param, "parameters"), (wrong_shape, "shape")):
        with pytest.raises(ValueError, match=match):
            opt.load_state_dict(saved)
        assert opt.param_groups[0]["lr"] == 0.1 and not opt.state


# ---- the graph and the version counter ------------------------------------------------------
@pytest.mark.parametrize(("name", "options"), FEW_STEPS)
def test_a_graph_from_before_a_step_refuses_backward_after_it(name, options):
    p = sg.tensor(START[0].copy(), requires_grad=True)
    opt = getattr(sg.optim, name)([p], **options)
    (p * p).sum().backward()
    stale = (p * p).sum()  # saved p's values of before the step
    opt.step()
    assert p.grad_fn is None and p.is_leaf and p.requires_grad  # nothing recorded
    with pytest.raises(RuntimeError, match="changed in place"):
        stale.backward()
    opt.zero_grad()
    (p * p).sum().backward()  # a graph built after the step is fine
    np.testing.assert_allclose(p.grad, 2 * p.data)


def test_step_calls_the_closure_with_grad_on():
    p = sg.tensor(np.ones(2), requires_grad=True)
    opt = SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with sg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 2.0
    np.testing.assert_array_equal(p.data, [0.5, 0.5])


# ---- bad arguments --------------------------------------------------------------------------
BAD = [
    (SGD, dict(lr=-0.1), "lr"),
    (SGD, dict(lr=float("nan")), "lr"),
    (SGD, dict(momentum=-0.5), "momentum"),
    (SGD, dict(dampening=-0.1), "dampening"),
    (SGD, dict(weight_decay=-1.0), "weight_decay"),
    (SGD, dict(nesterov=True), "nesterov"),
    (SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "nesterov"),
    (Adam, dict(lr=-1e-3), "lr"),
    (Adam, dict(eps=-1e-8), "eps"),
    (Adam, dict(betas=(1.0, 0.999)), r"betas\[0\]"),
    (Adam, dict(betas=(0.9, -0.1)), r"betas\[1\]"),
    (Adam, dict(betas=(0.9,)), "betas"),
    (Adam, dict(weight_decay=-0.01), "weight_decay"),
    (AdamW, dict(betas=(0.9, 1.0)), r"betas\[1\]"),
    (AdamW, dict(weight_decay=-0.01), "weight_decay"),
]


@pytest.mark.parametrize(("cls", "options", "name"), BAD)
def test_bad_options_raise_naming_them(cls, options, name):
    p = sg.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match=name):
        cls([p], **options)
    opt = cls([p])
    with pytest.raises(ValueError, match=name):  # a group's own options too
        opt.add_param_group({"params": [sg.tensor(np.zeros(2), requires_grad=True)], **options})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda opt: StepLR(opt, step_size=0), "step_size"),
        (lambda opt: StepLR(opt, step_size=2, gamma=-0.5), "gamma"),
        (lambda opt: CosineAnnealingLR(opt, T_max=0), "T_max"),
        (lambda opt: CosineAnnealingLR(opt, T_max=5, eta_min=-1.0), "eta_min"),
        (lambda opt: StepLR(opt, step_size=2, last_epoch=-2), "last_epoch"),
    ],
)
def test_bad_scheduler_arguments_raise_naming_them(make, name):
    opt = SGD([sg.tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=name):
        make(opt)
    assert opt.param_groups[0]["lr"] == 0.1


def test_bad_parameter_lists():
    leaf = sg.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([])
    with pytest.raises(TypeError, match="Tensors"):
        SGD([leaf, np.zeros(2)])
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([leaf * 2])
    with pytest.raises(TypeError, match="set"):
        SGD({leaf})
    with pytest.raises(TypeError, match="lr"):
        SGD([leaf], lr="0.1")
    with pytest.raises(TypeError, match="Tensor"):
        SGD(leaf)  # as PyTorch: a list of them; a group's "params" may be one tensor
    assert SGD([{"params": leaf}]).param_groups[0]["params"][0] is leaf


# ---- the package ----------------------------------------------------------------------------
def test_sg_optim_loads_by_name():
    code = (
        "import symgrad as sg\n"
        "print(sg.optim.SGD.__name__, sg.optim.lr_scheduler.StepLR.__name__)\n"
        "print(issubclass(sg.optim.AdamW, sg.optim.Optimizer))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["SGD", "StepLR", "True"]
    assert sg.optim.Adam is Adam and issubclass(SGD, Optimizer)
