"""The adjoint of broadcasting: the seed's quiz, the dot-product test on random shapes,
and gradients of broadcast binary ops reduced back to each input's shape."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import symgrad as sg
from symgrad.generated.unbroadcast import unbroadcast

# The six shape pairs of the seed post's quiz, with its answers (None: do not broadcast).
QUIZ = [
    ((1, 5, 6), (2, 1, 6), (2, 5, 6)),
    ((4, 3), (3,), (4, 3)),
    ((4, 3), (3, 1), None),
    ((3, 4, 5, 6, 7), (6, 7), (3, 4, 5, 6, 7)),
    ((3, 4, 5, 6, 7), (3, 4), None),
    ((4, 2, 3, 1, 2), (4, 3, 5, 2), None),
]


@pytest.mark.parametrize(("a", "b", "result"), QUIZ)
def test_seed_quiz_shapes(a, b, result):
    x = sg.tensor(np.random.default_rng(0).standard_normal(a), requires_grad=True)
    y = sg.tensor(np.random.default_rng(1).standard_normal(b), requires_grad=True)
    if result is None:
        with pytest.raises(ValueError, match=re.escape(f"add: shapes {a} and {b} cannot")) as e:
            x + y
        assert str(a) in str(e.value) and str(b) in str(e.value)
        return
    z = x + y
    assert z.shape == result
    z.sum().backward()
    # Each element of an input was used once per copy broadcasting made of it.
    assert x.grad.shape == a and y.grad.shape == b
    np.testing.assert_array_equal(x.grad, np.full(a, np.prod(result) / np.prod(a)))
    np.testing.assert_array_equal(y.grad, np.full(b, np.prod(result) / np.prod(b)))


def test_seed_example_scalar_plus_matrix():
    three = sg.tensor(3.0, requires_grad=True)
    (three + sg.tensor([[1.0, 2, 3], [-1, -2, -3]])).sum().backward()
    assert three.grad == 6.0
    assert three.grad.shape == ()


@settings(max_examples=200, deadline=None)
@given(
    hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=5, max_side=3), st.integers(0, 2**16)
)
def test_dot_product_adjoint(shapes, seed):
    rng = np.random.default_rng(seed)
    small, _ = shapes.input_shapes
    x = rng.standard_normal(small)
    y = rng.standard_normal(shapes.result_shape)
    back = unbroadcast(y, small)
    assert np.shape(back) == small
    left = np.vdot(np.broadcast_to(x, shapes.result_shape), y)
    assert left == pytest.approx(np.vdot(x, back), rel=1e-12, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3), st.integers(0, 2**16)
)
def test_binary_op_grads_sum_over_broadcast_axes(shapes, seed):
    rng = np.random.default_rng(seed)
    a_shape, b_shape = shapes.input_shapes
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    cotangent = rng.standard_normal(shapes.result_shape)
    x, y = sg.tensor(a, requires_grad=True), sg.tensor(b, requires_grad=True)
    (x * y).backward(cotangent)
    full_a = np.broadcast_to(a, shapes.result_shape)
    full_b = np.broadcast_to(b, shapes.result_shape)
    np.testing.assert_allclose(x.grad, unbroadcast(cotangent * full_b, a_shape), rtol=1e-12)
    np.testing.assert_allclose(y.grad, unbroadcast(cotangent * full_a, b_shape), rtol=1e-12)
    # and against the definition of the sum over broadcast copies, without unbroadcast:
    lead = len(shapes.result_shape) - len(a_shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(a_shape) if n == 1 and shapes.result_shape[lead + i] != 1
    )
    expected = (cotangent * full_b).sum(axis=axes, keepdims=True).reshape(a_shape)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


def test_unbroadcast_returns_grad_itself_when_shapes_match():
    grad = np.ones((2, 3))
    assert unbroadcast(grad, (2, 3)) is grad
