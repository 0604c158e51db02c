"""symgrad.nn without PyTorch: what a Module promises (registration by attribute, the
walks' order and sharing, buffers saved or not, modes, gradients zeroed, dtypes,
state_dict and load_state_dict with its errors), the containers, the layers' options
that fail early, batch_norm / layer_norm / embedding gradients (first and second order)
against central finite differences, BatchNorm's running statistics written out, Dropout
and initial weights under sg.manual_seed, and the pools' ceil_mode, count_include_pad and
divisor_override against a NumPy reference of PyTorch's rules.

tests/test_nn_torch.py holds the same layers against PyTorch, where it is installed.
"""

import itertools
import math
from collections import OrderedDict

import numpy as np
import pytest
from finite_differences import numeric_vjp

import symgrad as sg
import symgrad.nn.functional as F  # noqa: N812 - PyTorch's spelling
from symgrad import nn


def ones(*shape):
    return sg.tensor(np.ones(shape, np.float32))


class Net(nn.Module):
    """Containers, a module and a parameter held under two names each, a buffer saved
    and one not, an absent parameter and child."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(ones(2))
        self.register_buffer("steps", ones(2))
        self.register_buffer("scratch", ones(2), persistent=False)
        self.body = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2, bias=False))
        self.heads = nn.ModuleList([nn.Linear(2, 1), nn.BatchNorm1d(1)])
        self.alias = self.scale
        self.shared = self.body[0]
        self.register_parameter("absent", None)
        self.add_module("missing", None)

    def forward(self, x):
        return self.heads[1](self.heads[0](self.body(x) * self.scale))


# ---- registration and walks ---------------------------------------------------------------
def test_walks_in_registration_order_each_tensor_and_module_once():
    net = Net()
    body0, linear2 = net.body[0], net.body[2]
    head, norm = net.heads
    parameters = [
        "scale",
        "body.0.weight",
        "body.0.bias",
        "body.2.weight",
        "heads.0.weight",
        "heads.0.bias",
        "heads.1.weight",
        "heads.1.bias",
    ]
    assert [n for n, _ in net.named_parameters()] == parameters
    expected = [net.scale, body0.weight, body0.bias, linear2.weight, head.weight, head.bias]
    expected += [norm.weight, norm.bias]
    assert all(a is b for a, b in zip(net.parameters(), expected, strict=True))
    buffers = [
        "steps",
        "scratch",
        "heads.1.running_mean",
        "heads.1.running_var",
        "heads.1.num_batches_tracked",
    ]
    assert [n for n, _ in net.named_buffers()] == buffers
    assert [n for n, _ in net.named_children()] == ["body", "heads", "shared"]
    assert list(net.children()) == [net.body, net.heads, body0]
    assert [n for n, _ in net.named_modules()] == [
        "",
        "body",
        "body.0",
        "body.1",
        "body.2",
        "heads",
        "heads.0",
        "heads.1",
    ]
    assert next(net.modules()) is net and len(list(net.modules())) == 8
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.named_buffers(prefix="m", recurse=False)] == ["m.steps", "m.scratch"]
    assert next(net.body.named_parameters(prefix="body"))[0] == "body.0.weight"
    # state_dict: every name, a shared module under both (as PyTorch), no absent entries
    # state_dict: a module's parameters, then its saved buffers, then its children's; a
    # shared parameter and module under each name (as PyTorch); nothing absent
    saved = ["scale", "alias", "steps", *parameters[1:], *buffers[2:]]
    assert list(net.state_dict()) == [*saved, "shared.weight", "shared.bias"]
    assert next(iter(net.state_dict(prefix="net."))) == "net.scale"
    visited = []
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    # children first, then the module; the shared Linear once per name, as PyTorch's
    assert visited[-1] == "Net" and visited.count("Linear") == 4


def test_state_dict_shares_data_and_keep_vars_gives_the_tensors():
    net = Net()
    state = net.state_dict()
    assert not state["scale"].requires_grad and state["scale"].data is net.scale.data
    assert net.state_dict(keep_vars=True)["scale"] is net.scale
    assert net.state_dict(keep_vars=True)["steps"] is net.steps


def test_attribute_assignment_registers_and_keeps_kinds():
    net = Net()
    # a new Parameter or Module is registered; a plain value is an attribute
    net.extra = nn.Parameter(ones(3))
    net.block = nn.Tanh()
    net.note = "text"
    assert "extra" in dict(net.named_parameters()) and net.block in list(net.children())
    assert "note" not in net.state_dict()
    # a buffer given a new tensor stays a saved buffer (PyTorch's rule)
    replacement = sg.tensor(np.full(2, 5.0, np.float32))
    net.steps = replacement
    assert net.state_dict(keep_vars=True)["steps"] is replacement
    # a parameter given a plain tensor is refused, and stays
    weight = net.body[0].weight
    with pytest.raises(TypeError, match=r"cannot assign a Tensor as parameter 'weight'"):
        net.body[0].weight = sg.tensor(np.zeros((3, 2), np.float32))
    assert net.body[0].weight is weight
    with pytest.raises(TypeError, match=r"as child module 'body'"):
        net.body = "not a module"
    with pytest.raises(TypeError, match=r"as buffer 'steps'"):
        net.steps = np.zeros(2)
    # None empties a parameter or child: out of every walk and of state_dict
    net.body[0].bias = None
    assert "body.0.bias" not in net.state_dict() and net.body[0].bias is None
    net.heads = None
    assert "heads" not in [n for n, _ in net.named_children()]
    assert not any(k.startswith("heads.") for k in net.state_dict())
    # a Parameter replacing a buffer of the same name: a parameter only
    net.steps = nn.Parameter(ones(2))
    assert "steps" in dict(net.named_parameters()) and "steps" not in dict(net.named_buffers())
    # deleting
    del net.extra
    assert "extra" not in net.state_dict()
    with pytest.raises(AttributeError, match="extra"):
        net.extra  # noqa: B018


def test_registration_errors():
    net = Net()
    with pytest.raises(KeyError, match=r"attribute 'scale' already exists"):
        net.register_buffer("scale", ones(2))
    with pytest.raises(KeyError, match=r"attribute 'steps' already exists"):
        net.register_parameter("steps", nn.Parameter(ones(2)))
    with pytest.raises(KeyError, match=r"attribute 'body' already exists"):
        net.register_buffer("body", ones(2))
    with pytest.raises(KeyError, match=r"without '\.'"):
        net.register_buffer("a.b", ones(2))
    with pytest.raises(KeyError, match=r"without '\.'"):
        net.add_module("", nn.ReLU())
    with pytest.raises(TypeError, match=r"must be a Parameter or None"):
        net.register_parameter("w", ones(2))
    with pytest.raises(TypeError, match=r"must be a Tensor or None"):
        net.register_buffer("b", np.ones(2))
    with pytest.raises(TypeError, match=r"must be a Module or None"):
        net.add_module("m", "module")
    assert "scale" in dict(net.named_parameters()) and "scale" not in dict(net.named_buffers())

    class Early(nn.Module):
        def __init__(self):
            self.weight = nn.Parameter(ones(1))

    with pytest.raises(AttributeError, match=r"before Module.__init__"):
        Early()


def test_non_persistent_buffer_is_state_but_not_saved():
    net = Net()
    assert "scratch" in dict(net.named_buffers())
    assert "scratch" not in net.state_dict()
    state = {k: v.data.copy() for k, v in net.state_dict().items()}
    assert net.load_state_dict(state) == ([], [])  # not asked for
    net.scratch = sg.tensor(np.zeros(2, np.float32))  # stays non-persistent
    assert "scratch" not in net.state_dict()


def test_train_and_eval_reach_every_module():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net and all(m.training for m in net.modules())
    net.body.train(False)
    assert net.training and not net.body.training and not net.body[1].training
    assert net.heads[1].training
    with pytest.raises(ValueError, match="bool"):
        net.train("no")


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    sg.manual_seed(0)
    net = Net().double()
    rng = np.random.default_rng(0)
    out = net(sg.tensor(rng.standard_normal((4, 2))))
    out.backward(rng.standard_normal(out.shape))
    grads = {name: p.grad for name, p in net.named_parameters()}
    assert all(g is not None for g in grads.values())
    # all but heads.0.bias (BatchNorm's output does not change with a shift of its input)
    assert sum(g.any() for g in grads.values()) >= len(grads) - 1
    net.zero_grad(set_to_none=set_to_none)
    for name, p in net.named_parameters():
        if set_to_none:
            assert p.grad is None
        else:  # zeroed in place: the same arrays
            assert p.grad is grads[name] and not p.grad.any()
    net.zero_grad()  # the default: None
    assert all(p.grad is None for p in net.parameters())


def test_to_double_float_keep_the_objects():
    net = Net()
    params, buffers = list(net.parameters()), list(net.buffers())
    assert {p.dtype for p in params} == {np.dtype(np.float32)}
    net(ones(3, 2)).sum().backward()
    assert net.to(np.float64) is net
    assert all(a is b for a, b in zip(net.parameters(), params, strict=True))
    assert all(a is b for a, b in zip(net.buffers(), buffers, strict=True))
    assert {p.dtype for p in net.parameters()} == {np.dtype(np.float64)}
    assert all(p.grad is None for p in net.parameters())  # a grad of the old dtype is gone
    assert net.steps.dtype == np.float64 and net.scratch.dtype == np.float64
    assert net.heads[1].num_batches_tracked.dtype == np.int64  # not floating: left
    assert net(sg.tensor(np.ones((3, 2)))).dtype == np.float64
    assert net.float() is net and net.body[0].weight.dtype == np.float32
    assert net.double() is net and net.heads[1].running_var.dtype == np.float64
    with pytest.raises(TypeError, match=r"only floating dtypes"):
        net.to(np.int32)


# ---- load_state_dict -------------------------------------------------------------------------
def _snapshot(module):
    return {k: v.data.copy() for k, v in module.state_dict().items()}


def test_load_state_dict_copies_in_place():
    source, target = Net(), Net()
    for p in source.parameters():
        p.data[...] = np.random.default_rng(1).standard_normal(p.shape)
    weight = target.body[0].weight
    array = weight.data
    state = {
        k: v.data.astype(np.float64) if v.dtype.kind == "f" else v.data
        for k, v in source.state_dict().items()
    }
    assert target.load_state_dict(state) == ([], [])
    assert target.body[0].weight is weight and weight.data is array  # the same array
    assert weight.dtype == np.float32  # cast to the parameter's dtype
    for name, value in target.state_dict().items():
        np.testing.assert_array_equal(value.data, source.state_dict()[name].data, err_msg=name)
    # tensors too, and the optimizer over the old parameters still steps them
    optimizer = sg.optim.SGD(target.parameters(), lr=1.0)
    target.load_state_dict(Net().state_dict())
    out = target(sg.tensor(np.random.default_rng(2).standard_normal((3, 2)).astype(np.float32)))
    out.backward(np.random.default_rng(3).standard_normal(out.shape).astype(np.float32))
    before = target.body[0].weight.data.copy()
    optimizer.step()
    assert not np.array_equal(before, target.body[0].weight.data)


def test_load_state_dict_names_every_problem_and_changes_nothing():
    net = Net()
    before = _snapshot(net)
    state = {k: np.zeros_like(v) for k, v in before.items()}
    del state["body.2.weight"], state["heads.0.bias"]
    state["body.9.weight"] = np.zeros(3)
    state["heads.1.running_mean"] = np.zeros(4)  # shape (1,) here
    state["steps"] = np.zeros((2, 1))
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    for expected in (
        "missing: body.2.weight, heads.0.bias",
        "unexpected: body.9.weight",
        "heads.1.running_mean: shape (4,) in the state, (1,) here",
        "steps: shape (2, 1) in the state, (2,) here",
    ):
        assert expected in message
    after = _snapshot(net)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    # strict=False: the names returned, the rest loaded, a wrong shape still refused
    with pytest.raises(RuntimeError, match=r"heads\.1\.running_mean: shape"):
        net.load_state_dict(state, strict=False)
    assert all(np.array_equal(before[k], _snapshot(net)[k]) for k in before)
    del state["heads.1.running_mean"], state["steps"]
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == [
        "steps",
        "body.2.weight",
        "heads.0.bias",
        "heads.1.running_mean",
    ]
    assert result.unexpected_keys == ["body.9.weight"]
    assert not net.body[0].weight.data.any()  # loaded
    np.testing.assert_array_equal(net.body[2].weight.data, before["body.2.weight"])  # kept


def test_load_state_dict_refuses_a_value_it_cannot_cast_before_copying_any():
    net = Net()
    before = _snapshot(net)
    state = {k: np.zeros_like(v) for k, v in before.items()}
    state["heads.1.num_batches_tracked"] = np.array(2.5)  # float into an int64 buffer
    with pytest.raises(RuntimeError, match=r"num_batches_tracked: dtype float64 in the state"):
        net.load_state_dict(state)
    after = _snapshot(net)
    assert all(np.array_equal(before[k], after[k]) for k in before)


# ---- containers ---------------------------------------------------------------------------
def test_sequential():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.Tanh()]
    seq = nn.Sequential(*layers)
    assert len(seq) == 4 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[3] and seq[-4] is layers[0]
    for index in (4, -5):
        with pytest.raises(IndexError, match=f"index {index} is out of range for 4"):
            seq[index]
    part = seq[1:3]
    assert isinstance(part, nn.Sequential) and list(part) == layers[1:3]
    assert [n for n, _ in part.named_children()] == ["1", "2"]  # names kept, as PyTorch
    assert list(seq[::-1]) == layers[::-1]
    x = sg.tensor(np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32))
    np.testing.assert_array_equal(seq(x).data, layers[3](layers[2](layers[1](layers[0](x)))).data)
    last = nn.Sigmoid()
    assert seq.append(last) is seq and len(seq) == 5 and seq[4] is last
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    named = nn.Sequential(OrderedDict([("first", layers[0]), ("act", layers[1])]))
    assert [n for n, _ in named.named_children()] == ["first", "act"] and named.act is layers[1]
    assert list(named.state_dict()) == ["first.weight", "first.bias"]
    assert len(nn.Sequential()) == 0 and nn.Sequential()(x) is x


def test_module_list():
    layers = [nn.Linear(2, 2), nn.Linear(2, 2)]
    holder = nn.ModuleList(layers)
    assert len(holder) == 2 and list(holder) == layers and holder[-1] is layers[1]
    extra = nn.Linear(2, 1)
    assert holder.append(extra) is holder and holder[2] is extra
    assert holder.extend([nn.ReLU()]) is holder and len(holder) == 4
    replacement = nn.Linear(2, 2, bias=False)
    holder[0] = replacement
    assert holder[0] is replacement and next(holder.named_children())[0] == "0"
    assert isinstance(holder[1:3], nn.ModuleList) and list(holder[1:3]) == [layers[1], extra]
    with pytest.raises(IndexError):
        holder[4]
    with pytest.raises(NotImplementedError):  # not callable on its own
        holder(ones(2))
    assert list(holder.state_dict()) == ["0.weight", "1.weight", "1.bias", "2.weight", "2.bias"]
    assert len(nn.ModuleList()) == 0


# ---- options refused early ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: nn.ReLU(inplace=True), r"ReLU: inplace=True is not supported"),
        (lambda: nn.LeakyReLU(0.1, True), r"LeakyReLU: inplace=True"),
        (lambda: nn.ELU(inplace=True), r"ELU: inplace=True"),
        (lambda: nn.SiLU(inplace=True), r"SiLU: inplace=True"),
        (lambda: nn.Dropout(0.5, inplace=True), r"Dropout: inplace=True"),
        (lambda: nn.Dropout(1.5), r"between 0 and 1"),
        (lambda: nn.Conv2d(2, 2, 3, padding="full"), r"'valid', 'same' or ints, not 'full'"),
        (lambda: nn.Conv1d(2, 2, 3, stride=2, padding="same"), r"not supported for strided"),
        (lambda: nn.Conv2d(3, 2, 3, groups=2), r"divisible by groups 2"),
        (lambda: nn.Embedding(4, 2, padding_idx=4), r"padding_idx 4 is not a row of 4"),
    ],
)
def test_bad_options_refused_when_made(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unsupported_options_refused_when_made():
    with pytest.raises(NotImplementedError, match=r"MaxPool2d: return_indices=True"):
        nn.MaxPool2d(2, return_indices=True)
    with pytest.raises(NotImplementedError, match=r"padding_mode 'reflect'"):
        nn.Conv1d(2, 2, 3, padding_mode="reflect")


def test_conv_same_padding_keeps_the_size():
    x = sg.tensor(np.random.default_rng(0).standard_normal((2, 2, 7, 6)), requires_grad=True)
    conv = nn.Conv2d(2, 3, (4, 3), padding="same", dilation=(1, 2)).double()
    assert conv(x).shape == (2, 3, 7, 6)
    assert nn.Conv1d(2, 3, 3, padding="valid").double()(x[:, :, 0]).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(x, conv.weight, stride=2, padding="same")


# ---- batch_norm, layer_norm, embedding: gradients against finite differences -------------------
def _batch_norm_training(x, w, b):
    return F.batch_norm(x, None, None, w, b, training=True, eps=1e-3)


RUNNING = (np.array([0.3, -0.2, 0.1]), np.array([0.5, 2.0, 1.5]))


def _batch_norm_eval(x, w, b):
    return F.batch_norm(x, *RUNNING, w, b, training=False, eps=1e-3)


def _layer_norm_2(x, w, b):
    return F.layer_norm(x, (3, 4), w, b, eps=1e-3)


def _layer_norm_1(x, w, b):
    return F.layer_norm(x, 4, w, b)


NORMS = [  # (function, shape of x, shape of weight and bias)
    pytest.param(_batch_norm_training, (4, 3), (3,), id="batch_norm-train-2d"),
    pytest.param(_batch_norm_training, (3, 3, 2, 2), (3,), id="batch_norm-train-4d"),
    pytest.param(_batch_norm_eval, (4, 3, 2), (3,), id="batch_norm-eval"),
    pytest.param(_layer_norm_2, (2, 3, 4), (3, 4), id="layer_norm-2-axes"),
    pytest.param(_layer_norm_1, (5, 4), (4,), id="layer_norm-1-axis"),
]


def _norm_arrays(x_shape, p_shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape) * 2 + 0.5
    return [x, rng.standard_normal(p_shape), rng.standard_normal(p_shape)]


def _values(f, arrays):
    with sg.no_grad():
        return f(*[sg.tensor(a) for a in arrays]).data


@pytest.mark.parametrize(("f", "x_shape", "p_shape"), NORMS)
def test_norm_gradients_against_finite_differences(f, x_shape, p_shape):
    arrays = _norm_arrays(x_shape, p_shape)
    tensors = [sg.tensor(a, requires_grad=True) for a in arrays]
    out = f(*tensors)
    cotangent = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(cotangent)
    expected = numeric_vjp(lambda a: _values(f, a), arrays, cotangent, eps=1e-6)
    for tensor, grad in zip(tensors, expected):
        np.testing.assert_allclose(tensor.grad, grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("f", "x_shape", "p_shape"), NORMS)
def test_norm_second_order_against_finite_differences_of_the_gradient(f, x_shape, p_shape):
    """g(x, w, b): the gradient of <c, f(x, w, b)> (create_graph=True), all three joined;
    its vjp with v by symgrad against central differences of g itself."""
    arrays = _norm_arrays(x_shape, p_shape)
    rng = np.random.default_rng(2)
    cotangent = rng.standard_normal(_values(f, arrays).shape)

    def gradient(tensors, create_graph):
        out = f(*tensors)
        grads = sg.grad(out, tensors, grad_outputs=cotangent, create_graph=create_graph)
        return grads

    def joined(a):
        tensors = [sg.tensor(x, requires_grad=True) for x in a]
        return np.concatenate([g.data.ravel() for g in gradient(tensors, False)])

    tensors = [sg.tensor(a, requires_grad=True) for a in arrays]
    grads = gradient(tensors, True)
    v = rng.standard_normal(sum(g.size for g in grads))
    pieces = np.split(v, np.cumsum([g.size for g in grads])[:-1])
    total = sum((g * piece.reshape(g.shape)).sum() for g, piece in zip(grads, pieces))
    total.backward()  # bias's gradient is constant: its own .grad stays None
    expected = numeric_vjp(joined, arrays, v, eps=1e-5)
    assert np.abs(expected[0]).max() > 0.1  # x's second derivative is no zero
    for tensor, want in zip(tensors, expected):
        got = np.zeros_like(want) if tensor.grad is None else tensor.grad
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_embedding_gradient_against_finite_differences(padding_idx):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((5, 3))
    indices = np.array([[0, 1, 1], [4, 1, 3]])  # repeated rows add up
    w = sg.tensor(weight, requires_grad=True)
    out = F.embedding(indices, w, padding_idx)
    np.testing.assert_array_equal(out.data, weight[indices])
    cotangent = rng.standard_normal(out.shape)
    out.backward(cotangent)
    (expected,) = numeric_vjp(
        lambda a: _values(lambda t: F.embedding(indices, t, padding_idx), a),
        [weight],
        cotangent,
        eps=1e-6,
    )
    if padding_idx is not None:  # the padding row is read but takes no gradient
        expected[padding_idx] = 0
        assert not w.grad[padding_idx].any()
    np.testing.assert_allclose(w.grad, expected, rtol=1e-7, atol=1e-9)
    if padding_idx is None:  # row 1, read three times, sums their gradients
        np.testing.assert_allclose(w.grad[1], cotangent[0, 1] + cotangent[0, 2] + cotangent[1, 1])


def test_embedding_errors():
    weight = sg.tensor(np.ones((4, 2)), requires_grad=True)
    with pytest.raises(IndexError, match=r"indices from 0 to 4 for 4 rows"):
        F.embedding(np.array([0, 4]), weight)
    with pytest.raises(IndexError, match=r"indices from -1"):
        F.embedding(np.array([-1, 2]), weight)
    with pytest.raises(TypeError, match=r"indices must be integers, not float64"):
        F.embedding(np.array([0.0]), weight)


def test_norm_errors():
    x = sg.tensor(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"more than 1 value per channel"):
        F.batch_norm(sg.tensor(np.ones((1, 3))), None, None, training=True)
    with pytest.raises(ValueError, match=r"running_mean and running_var are needed"):
        F.batch_norm(x, None, None, training=False)
    running = np.zeros(3), np.ones(3)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\), not \(4,\)"):
        F.batch_norm(x, *running, np.ones(4), training=True)
    with pytest.raises(ValueError, match=r"running_var must have shape \(3,\), not \(4,\)"):
        F.batch_norm(x, running[0], np.ones(4), training=True)
    np.testing.assert_array_equal(running, [np.zeros(3), np.ones(3)])  # untouched
    with pytest.raises(ValueError, match=r"layer_norm: bias must have shape \(3,\), not \(2,\)"):
        F.layer_norm(x, 3, None, np.ones(2))
    with pytest.raises(ValueError, match=r"normalized_shape \(4,\) is not the last axes"):
        F.layer_norm(x, 4)
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        nn.BatchNorm2d(3)(x)
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(sg.tensor(np.ones((2, 3, 2, 2))))


# ---- BatchNorm's running statistics, written out --------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.7, None])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2)])
def test_running_statistics_formula(momentum, shape):
    """running = (1 - m) running + m batch, the batch's variance unbiased (n - 1); with
    momentum None, m = 1 / (batches seen): the cumulative average of the batches'
    statistics. Eval mode normalizes by them and changes nothing."""
    bn = nn.BatchNorm1d(3, momentum=momentum, eps=1e-4).double()
    rng = np.random.default_rng(0)
    bn.weight.data[...] = rng.standard_normal(3)
    bn.bias.data[...] = rng.standard_normal(3)
    mean, var = np.zeros(3), np.ones(3)
    axes = (0, 2) if len(shape) == 3 else (0,)
    batches = [rng.standard_normal(shape) * 3 + 1 for _ in range(4)]
    for seen, x in enumerate(batches, start=1):
        out = bn(sg.tensor(x))
        n = x.size // 3
        m = 1 / seen if momentum is None else momentum
        mean = (1 - m) * mean + m * x.mean(axis=axes)
        var = (1 - m) * var + m * x.var(axis=axes) * n / (n - 1)
        np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-13)
        np.testing.assert_allclose(bn.running_var.data, var, rtol=1e-13)
        assert bn.num_batches_tracked.item() == seen
        # training normalizes by the batch's own statistics, the biased variance
        per_channel = (1, 3, 1) if len(shape) == 3 else (1, 3)
        normalized = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(
            x.var(axis=axes, keepdims=True) + 1e-4
        )
        expected = normalized * bn.weight.data.reshape(per_channel)
        expected += bn.bias.data.reshape(per_channel)
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    if momentum is None:  # the plain average of the four batches' statistics
        np.testing.assert_allclose(mean, np.mean([x.mean(axis=axes) for x in batches], 0))
    bn.eval()
    x = batches[0]
    shaped = (1, 3, 1) if len(shape) == 3 else (1, 3)
    expected = (x - mean.reshape(shaped)) / np.sqrt(var.reshape(shaped) + 1e-4)
    expected = expected * bn.weight.data.reshape(shaped) + bn.bias.data.reshape(shaped)
    np.testing.assert_allclose(bn(sg.tensor(x)).data, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-13)
    assert bn.num_batches_tracked.item() == 4
    bn.reset_running_stats()
    assert not bn.running_mean.data.any() and (bn.running_var.data == 1).all()
    assert bn.num_batches_tracked.item() == 0


def test_a_batch_norm_refusing_a_batch_changes_nothing():
    bn = nn.BatchNorm1d(3, momentum=None)
    with pytest.raises(ValueError, match=r"more than 1 value per channel"):
        bn(ones(1, 3))
    assert bn.num_batches_tracked.item() == 0
    assert not bn.running_mean.data.any() and (bn.running_var.data == 1).all()


def test_batch_norm_without_running_statistics_uses_the_batch_in_both_modes():
    bn = nn.BatchNorm2d(2, track_running_stats=False, affine=False).double()
    assert bn.running_mean is None and list(bn.state_dict()) == []
    x = np.random.default_rng(0).standard_normal((3, 2, 2, 2))
    train = bn(sg.tensor(x)).data
    np.testing.assert_array_equal(bn.eval()(sg.tensor(x)).data, train)
    np.testing.assert_allclose(train.mean(axis=(0, 2, 3)), 0, atol=1e-12)


def test_a_graph_that_saved_a_running_statistic_refuses_backward_after_an_update():
    bn = nn.BatchNorm1d(2).double()
    x = sg.tensor(np.ones(2), requires_grad=True)
    y = (x * bn.running_var).sum()  # multiply saves running_var for x's gradient
    bn(sg.tensor(np.random.default_rng(0).standard_normal((5, 2))))  # updated in place
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


# ---- randomness: Dropout and initial weights under sg.manual_seed ----------------------------
def test_dropout_module_train_and_eval():
    x = sg.tensor(np.ones((200, 50)), requires_grad=True)
    drop = nn.Dropout(0.3)
    out = drop(x)
    zeros = out.data == 0
    assert abs(zeros.mean() - 0.3) < 0.02
    np.testing.assert_allclose(out.data[~zeros], 1 / 0.7)
    out.backward(np.ones(x.shape))
    np.testing.assert_array_equal(x.grad, out.data)  # the same mask, scaled
    drop.eval()
    assert drop(x) is x
    assert nn.Sequential(nn.Dropout(0.9)).eval()(x) is x


def test_manual_seed_repeats_dropout_masks_and_initial_weights():
    x = sg.tensor(np.ones((20, 20)))

    def draw():
        linear, embedding = nn.Linear(4, 3), nn.Embedding(5, 2)
        return [linear.weight.data, linear.bias.data, embedding.weight.data, nn.Dropout()(x).data]

    sg.manual_seed(123)
    first = draw()
    second = draw()
    sg.manual_seed(123)
    again = draw()
    sg.manual_seed(124)
    other = draw()
    for a, b, c, d in zip(first, again, second, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c) and not np.array_equal(a, d)
    assert isinstance(sg.manual_seed(0), np.random.Generator)


# ---- pools: ceil_mode, count_include_pad, divisor_override against NumPy ---------------------
def _positions(length, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's documented output size: floor or ceil of (L + 2p - d (k - 1) - 1) / s + 1,
    less the last window if it would start in the right padding."""
    size = (length + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    count = math.ceil(size) if ceil_mode else math.floor(size)
    if ceil_mode and (count - 1) * stride >= length + padding:
        count -= 1
    return [o * stride - padding for o in range(count)]  # each window's first position


def reference_pool(
    x,
    kind,
    kernel,
    stride,
    padding,
    dilation=None,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    """Loops over the output positions of (N, C, *spatial), as PyTorch's CPU kernels:
    an average window runs from start to min(start + k, L + p) (its size the divisor
    with count_include_pad), then is clipped to the input; a max window reads the input
    positions start + j d only."""
    rank = x.ndim - 2
    dilation = dilation or (1,) * rank
    starts = [
        _positions(n, k, s, p, d, ceil_mode)
        for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation)
    ]
    out = np.zeros(x.shape[:2] + tuple(len(s) for s in starts))
    for index in itertools.product(*(range(len(s)) for s in starts)):
        begin = [s[i] for s, i in zip(starts, index)]
        if kind == "max":
            taken = [
                [b + j * d for j in range(k) if 0 <= b + j * d < n]
                for b, k, d, n in zip(begin, kernel, dilation, x.shape[2:])
            ]
            window = x[(..., *np.ix_(*taken))]
            out[(..., *index)] = window.reshape((*x.shape[:2], -1)).max(axis=-1)
            continue
        ends = [min(b + k, n + p) for b, k, n, p in zip(begin, kernel, x.shape[2:], padding)]
        size = math.prod(e - b for b, e in zip(begin, ends))
        lo = [max(b, 0) for b in begin]
        hi = [min(e, n) for e, n in zip(ends, x.shape[2:])]
        window = x[(..., *(slice(a, b) for a, b in zip(lo, hi)))]
        if divisor_override is not None:
            divisor = divisor_override
        elif count_include_pad:
            divisor = size
        else:
            divisor = math.prod(b - a for a, b in zip(lo, hi))
        out[(..., *index)] = window.sum(axis=tuple(range(2, x.ndim))) / divisor
    return out


POOLS_1D = [
    dict(length=n, kernel=k, stride=s, padding=p, ceil_mode=c)
    for n in (5, 7, 8)
    for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 3, 1), (4, 3, 2), (2, 1, 1), (3, 2, 0)]
    for c in (False, True)
]


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("config", POOLS_1D, ids=lambda c: "-".join(map(str, c.values())))
def test_pools_1d_against_numpy(config, count_include_pad):
    x = np.random.default_rng(0).standard_normal((2, 2, config["length"]))
    k, s, p, c = (config[name] for name in ("kernel", "stride", "padding", "ceil_mode"))
    got = F.avg_pool1d(sg.tensor(x), k, s, p, c, count_include_pad).data
    want = reference_pool(x, "avg", (k,), (s,), (p,), None, c, count_include_pad)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    module = nn.AvgPool1d(k, s, p, c, count_include_pad)
    np.testing.assert_array_equal(module(sg.tensor(x)).data, got)
    if count_include_pad:  # the max pool has no such option: once
        for d in (1, 2):
            if d * (k - 1) + 1 > config["length"] + 2 * p:
                continue
            got = F.max_pool1d(sg.tensor(x), k, s, p, d, ceil_mode=c).data
            want = reference_pool(x, "max", (k,), (s,), (p,), (d,), c)
            np.testing.assert_array_equal(got, want)


POOLS_2D = [
    # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    ((3, 3), (2, 2), (1, 1), True, True, None),
    ((3, 3), (2, 2), (1, 1), True, False, None),
    ((3, 2), (2, 1), (1, 0), True, False, None),
    ((2, 3), (3, 2), (1, 1), False, False, None),
    ((2, 2), (2, 2), (0, 0), True, True, None),
    ((3, 3), (2, 2), (1, 1), True, True, 4),
    ((2, 2), (1, 1), (0, 1), False, False, 3),
    ((4, 3), (3, 2), (2, 1), True, False, None),
]


@pytest.mark.parametrize("config", POOLS_2D, ids=str)
def test_pools_2d_against_numpy_and_finite_differences(config):
    kernel, stride, padding, ceil_mode, include_pad, divisor = config
    x = np.random.default_rng(1).standard_normal((2, 1, 7, 6))

    def avg(t):
        return F.avg_pool2d(t, kernel, stride, padding, ceil_mode, include_pad, divisor)

    tensor = sg.tensor(x, requires_grad=True)
    out = avg(tensor)
    want = reference_pool(x, "avg", kernel, stride, padding, None, ceil_mode, include_pad, divisor)
    np.testing.assert_allclose(out.data, want, rtol=1e-13, atol=1e-15)
    module = nn.AvgPool2d(kernel, stride, padding, ceil_mode, include_pad, divisor)
    np.testing.assert_array_equal(module(sg.tensor(x)).data, out.data)
    cotangent = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(cotangent)
    (expected,) = numeric_vjp(lambda a: _values(avg, a), [x], cotangent, eps=1e-6)
    np.testing.assert_allclose(tensor.grad, expected, rtol=1e-7, atol=1e-9)
    # the max pool over the same windows
    got = F.max_pool2d(sg.tensor(x), kernel, stride, padding, ceil_mode=ceil_mode).data
    want = reference_pool(x, "max", kernel, stride, padding, None, ceil_mode)
    np.testing.assert_array_equal(got, want)
    tensor = sg.tensor(x, requires_grad=True)
    pooled = nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil_mode)(tensor)
    pooled.backward(cotangent)

    def max_pool(t):
        return F.max_pool2d(t, kernel, stride, padding, ceil_mode=ceil_mode)

    (expected,) = numeric_vjp(lambda a: _values(max_pool, a), [x], cotangent, eps=1e-6)
    np.testing.assert_allclose(tensor.grad, expected, rtol=1e-7, atol=1e-9)


def test_divisor_override_must_be_a_nonzero_int():
    x = sg.tensor(np.ones((1, 1, 4, 4)))
    for bad in (0, 2.5):
        with pytest.raises(ValueError, match="divisor_override must be a nonzero int"):
            F.avg_pool2d(x, 2, divisor_override=bad)


def test_reprs_of_a_custom_module_and_a_parameter():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(2, 2)

        def extra_repr(self):
            return "factor=2"

    assert repr(Scaled()) == (
        "Scaled(\n  factor=2\n  (inner): Linear(in_features=2, out_features=2, bias=True)\n)"
    )
    assert repr(nn.Identity()) == "Identity()"
    assert repr(nn.Parameter(sg.tensor(np.zeros(2)))).startswith("Parameter containing:\n")
    assert nn.Parameter(sg.tensor(np.zeros(2))).requires_grad
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad
