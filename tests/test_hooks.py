"""Tensor.register_hook, with PyTorch's semantics: a hook sees a tensor's gradient when a
backward pass computes it (summed over the tensor's uses, once), may return another to
use instead, and is removed by its handle."""

import numpy as np
import pytest

import symgrad as sg


def leaf(values):
    return sg.tensor(np.asarray(values, dtype=float), requires_grad=True)


def test_a_leaf_hook_sees_the_gradient_before_it_is_added_into_grad():
    x = leaf([1.0, 2.0])
    x.grad = np.array([10.0, 10.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.copy()))
    (x * x).sum().backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])  # this pass's gradient alone
    np.testing.assert_array_equal(x.grad, [12.0, 14.0])


def test_a_leaf_hook_replaces_what_is_accumulated():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 10)
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [30.0, 30.0])
    assert x.grad.dtype == np.float64


def test_a_non_leaf_hook_replaces_the_gradient_that_flows_on():
    x = leaf([1.0, 2.0])
    h = x * x
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()) or g * 0.5)
    (h * 4.0).sum().backward()
    np.testing.assert_array_equal(seen[0], [4.0, 4.0])
    np.testing.assert_array_equal(x.grad, 2 * np.array([1.0, 2.0]) * 2.0)


def test_a_hook_on_a_tensor_used_twice_gets_the_summed_gradient_once():
    x = leaf([1.0, 2.0])
    h = x * 2.0
    seen_h, seen_x = [], []
    h.register_hook(lambda g: seen_h.append(g.copy()))
    x.register_hook(lambda g: seen_x.append(g.copy()))
    (h * 3.0 + h * 5.0 + x).sum().backward()
    assert len(seen_h) == 1 and len(seen_x) == 1
    np.testing.assert_array_equal(seen_h[0], [8.0, 8.0])
    np.testing.assert_array_equal(seen_x[0], [17.0, 17.0])


def test_hooks_run_in_the_order_registered_each_on_what_the_last_returned():
    x = leaf([1.0])
    h = x * 1.0
    calls = []
    h.register_hook(lambda g: calls.append(("first", g.item())) or g + 1)
    h.register_hook(lambda g: calls.append(("second", g.item())) or g * 10)
    h.register_hook(lambda g: calls.append(("third", g.item())))
    h.sum().backward()
    assert calls == [("first", 1.0), ("second", 2.0), ("third", 20.0)]
    np.testing.assert_array_equal(x.grad, [20.0])


def test_remove_takes_a_hook_off():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    calls = []
    handle = h.register_hook(lambda g: calls.append("h") or g * 2)
    kept = x.register_hook(lambda g: calls.append("x"))
    handle.remove()
    handle.remove()  # twice: nothing more happens
    h.sum().backward()
    assert calls == ["x"]
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    with kept:  # a handle is a context manager too: removed on leaving it
        pass
    x.sum().backward()
    assert calls == ["x"]


def test_a_hook_may_remove_itself_while_it_runs():
    x = leaf([1.0])
    calls = []
    handles = []

    def once(g):
        calls.append(g.item())
        handles[0].remove()

    handles.append(x.register_hook(once))
    (x * 2.0).sum().backward()
    (x * 2.0).sum().backward()
    assert calls == [2.0]


def test_retain_grad_keeps_the_gradient_its_hooks_returned():
    # PyTorch runs retain_grad after the hooks, whichever came first
    x = leaf([1.0, 2.0])
    h = x * 1.0
    h.retain_grad()
    h.register_hook(lambda g: g * 3)
    assert h.retains_grad
    h.sum().backward()
    np.testing.assert_array_equal(h.grad, [3.0, 3.0])
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_a_hook_alone_does_not_make_a_tensor_retain_its_grad():
    x = leaf([1.0])
    h = x * 1.0
    h.register_hook(lambda g: None)
    assert not h.retains_grad
    h.sum().backward()
    assert h.grad is None


def test_a_hook_on_the_output_sees_the_seed():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    y.register_hook(lambda g: g * np.array([1.0, 0.0]))
    y.backward(np.array([5.0, 7.0]))
    np.testing.assert_array_equal(x.grad, [10.0, 0.0])


def test_the_hook_gets_a_read_only_array():
    # changing it in place would change what other inputs receive: return a new one
    x = leaf([1.0, 2.0])
    h = x * 1.0
    h.register_hook(lambda g: g.__imul__(2))
    with pytest.raises(ValueError, match="read-only"):
        (h + x).sum().backward()


def test_a_hook_returning_a_wrong_shape_is_refused():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    h.register_hook(lambda g: np.ones(3))
    with pytest.raises(RuntimeError, match=r"shape \(3,\) for a tensor of shape \(2,\)"):
        h.sum().backward()


def test_register_hook_needs_a_tensor_that_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        sg.tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="not callable"):
        leaf([1.0]).register_hook(None)


def test_sg_grad_runs_the_hooks_and_answers_with_what_they_return():
    x = leaf([1.0, 2.0])
    h = x * x
    h.register_hook(lambda g: g * 2)
    x.register_hook(lambda g: g + 1)
    gh, gx = sg.grad((h * 3.0).sum(), [h, x])
    np.testing.assert_array_equal(gh.data, [6.0, 6.0])
    np.testing.assert_array_equal(gx.data, 6.0 * 2 * np.array([1.0, 2.0]) + 1)
    assert x.grad is None and h.grad is None


def test_under_create_graph_a_hook_gets_and_gives_a_tensor_in_the_new_graph():
    x = leaf([1.0, 2.0])
    h = x * x
    seen = []
    h.register_hook(lambda g: seen.append(g) or g * x)  # depends on x: differentiated
    (gx,) = sg.grad(h.sum(), x, create_graph=True)
    assert isinstance(seen[0], sg.Tensor)
    np.testing.assert_array_equal(gx.data, 2 * np.array([1.0, 2.0]) ** 2)  # x * 2x
    (ggx,) = sg.grad(gx.sum(), x)
    np.testing.assert_array_equal(ggx.data, 4 * np.array([1.0, 2.0]))  # d(2x^2)/dx


def test_under_create_graph_a_hook_must_return_a_tensor():
    x = leaf([1.0])
    h = x * 1.0
    h.register_hook(lambda g: np.ones(1))
    with pytest.raises(TypeError, match=r"given a Tensor \(create_graph\) returned ndarray"):
        h.sum().backward(create_graph=True)


def test_hooks_stay_with_a_tensor_across_backward_passes():
    x = leaf([1.0])
    calls = []
    x.register_hook(lambda g: calls.append(g.item()))
    for scale in (2.0, 3.0):
        (x * scale).sum().backward()
    assert calls == [2.0, 3.0]
    np.testing.assert_array_equal(x.grad, [5.0])
