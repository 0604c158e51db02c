"""Seeing the graph: grad_fn.next_functions (PyTorch's walk), sg.viz.to_dot and to_svg."""

import re
import shutil

import numpy as np
import pytest

import symgrad as sg
from symgrad.function import AccumulateGrad


def leaf(values, requires_grad=True):
    return sg.tensor(np.asarray(values, dtype=float), requires_grad=requires_grad)


# ---- next_functions ----------------------------------------------------------------------
def test_next_functions_name_each_inputs_node_or_leaf():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    h = x * w
    y = sg.sigmoid(h) + 1.0
    (sigmoid_node, number), (constant, _) = y.grad_fn.next_functions
    assert type(sigmoid_node).__name__ == "SigmoidBackward" and number == 0
    assert constant is None  # the number 1.0
    ((mul, _),) = sigmoid_node.next_functions
    assert mul is h.grad_fn
    (a, _), (b, _) = mul.next_functions
    assert isinstance(a, AccumulateGrad) and a.variable is x
    assert isinstance(b, AccumulateGrad) and b.variable is w
    assert a.next_functions == () and a == AccumulateGrad(x) and a != b


def test_next_functions_give_none_for_inputs_that_get_no_gradient():
    x = leaf([1.0, 2.0])
    frozen = leaf([3.0, 4.0], requires_grad=False)
    y = sg.where(np.array([True, False]), x, frozen)
    assert [node for node, _ in y.grad_fn.next_functions] == [None, AccumulateGrad(x), None]


def test_walking_next_functions_reaches_every_leaf():
    x, w, b = leaf([1.0]), leaf([2.0]), leaf([3.0])
    y = (sg.tanh(x * w + b) * x).sum()
    found, stack = [], [y.grad_fn]
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if isinstance(nxt, AccumulateGrad):
                found.append(nxt.variable)
            elif nxt is not None:
                stack.append(nxt)
    assert {id(t) for t in found} == {id(x), id(w), id(b)}
    assert sum(t is x for t in found) == 2  # x is used twice


def test_next_functions_see_a_tensor_as_it_was_before_a_change_in_place():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    before = y.grad_fn
    z = y * 3.0
    y += 1.0  # recorded: y now stands for the addition
    assert type(y.grad_fn).__name__ == "AddBackward"
    assert z.grad_fn.next_functions[0][0] is before


def test_next_functions_after_backward_say_the_graph_was_freed():
    x = leaf([1.0])
    y = (x * 2.0).sum()
    y.backward(retain_graph=True)
    assert y.grad_fn.next_functions[0][0] is not None
    y.backward()
    with pytest.raises(RuntimeError, match=r"SumBackward.next_functions: backward freed"):
        y.grad_fn.next_functions  # noqa: B018


# ---- to_dot ------------------------------------------------------------------------------
def small_graph():
    x, w = leaf([1.0, 2.0]), leaf([[3.0, 4.0]])
    return (x * w + 1.0).sum(), x, w


def test_to_dot_draws_ops_leaves_constants_and_the_output():
    y, x, w = small_graph()
    assert sg.viz.to_dot(y, params={"x": x, "w": w}) == (
        "digraph symgrad {\n"
        '    node [shape="box", style="filled", fontname="Helvetica", fontsize="10"];\n'
        '    n0 [label="output\\n() float64", fillcolor="darkolivegreen1"];\n'
        '    n1 [label="SumBackward\\n() float64", fillcolor="lightgray"];\n'
        '    n2 [label="AddBackward\\n(1, 2) float64", fillcolor="lightgray"];\n'
        '    n3 [label="MultiplyBackward\\n(1, 2) float64", fillcolor="lightgray"];\n'
        '    n4 [label="1.0", fillcolor="white"];\n'
        '    n5 [label="x\\n(2,) float64\\nrequires_grad=True", fillcolor="lightblue"];\n'
        '    n6 [label="w\\n(1, 2) float64\\nrequires_grad=True", fillcolor="lightblue"];\n'
        "    n1 -> n0;\n"
        "    n2 -> n1;\n"
        "    n3 -> n2;\n"
        "    n4 -> n2;\n"
        "    n5 -> n3;\n"
        "    n6 -> n3;\n"
        "}\n"
    )


def test_to_dot_is_the_same_for_the_same_graph():
    first, second = small_graph()[0], small_graph()[0]
    assert sg.viz.to_dot(first) == sg.viz.to_dot(second)


def test_to_dot_draws_a_reused_value_once_with_an_edge_per_use():
    x = leaf([1.0, 2.0])
    h = sg.exp(x)
    text = sg.viz.to_dot(h * h + x)
    assert text.count("ExpBackward") == 1
    assert text.count("requires_grad=True") == 1  # x, once
    exp_box = re.search(r"(n\d+) \[label=\"ExpBackward", text).group(1)
    mul_box = re.search(r"(n\d+) \[label=\"MultiplyBackward", text).group(1)
    assert text.count(f"{exp_box} -> {mul_box};") == 2


def test_to_dot_labels_constants_and_leaves_that_do_not_require_grad():
    x = leaf([1.0, 2.0])
    text = sg.viz.to_dot(x * np.ones((3, 2)) + leaf([5.0, 6.0], requires_grad=False))
    assert 'label="constant\\n(3, 2) float64"' in text
    assert 'label="leaf\\n(2,) float64\\nrequires_grad=False"' in text


def test_to_dot_without_shapes():
    y, _, _ = small_graph()
    text = sg.viz.to_dot(y, show_shapes=False)
    assert 'label="MultiplyBackward"' in text
    assert "float64" not in text


def test_to_dot_of_a_leaf_and_of_a_freed_graph():
    x = leaf([1.0])
    assert 'label="leaf\\n(1,) float64\\nrequires_grad=True"' in sg.viz.to_dot(x)
    y = (x * 2.0).sum()
    y.backward()
    text = sg.viz.to_dot(y)
    assert "SumBackward\\n() float64\\n(freed by backward)" in text
    assert 'style="dashed"' in text
    assert "MultiplyBackward" not in text  # nothing is known behind a freed node


def test_to_dot_escapes_names_for_dot():
    x = leaf([1.0])
    assert 'label="say \\"x\\"\\n' in sg.viz.to_dot(x * 2.0, params={'say "x"': x})


def test_to_dot_walks_long_graphs_without_recursion():
    y = leaf([1.0])
    for _ in range(3000):
        y = y * 1.0
    assert sg.viz.to_dot(y).count("MultiplyBackward") == 3000


# ---- to_svg ------------------------------------------------------------------------------
def test_to_svg_without_graphviz_says_so(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz's dot program is not installed"):
        sg.viz.to_svg(small_graph()[0])


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_to_svg_draws_the_graph(tmp_path):
    y, x, _ = small_graph()
    path = tmp_path / "graph.svg"
    svg = sg.viz.to_svg(y, path, params={"x": x})
    assert "<svg" in svg and "MultiplyBackward" in svg and ">x</text>" in svg
    assert path.read_text() == svg
