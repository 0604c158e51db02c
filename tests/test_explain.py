"""Seeing the rules: ``python -m symgrad ops`` and ``explain NAME`` (run as a user runs
them), and the op reference they and docs/ops.md are made of (symgrad/reference.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

import symgrad as sg
from symgrad import creation, reference
from symgrad.ops.elementwise import OPS
from symgrad.ops.reductions import REDUCTIONS

ROOT = Path(__file__).resolve().parents[1]
# What sg.__all__ holds besides ops: the tensor, autograd, grad mode, namespaces and the
# constructors (which make leaves, not nodes).
NOT_OPS = {"Tensor", "tensor", "grad", "gradcheck", "no_grad", "enable_grad", "nn", "linalg"}
NOT_OPS |= {"load", "save", "manual_seed", "optim", "utils", "viz"}  # training, tools
NOT_OPS |= {"define", "DerivationError"}  # a user's ops
NOT_OPS |= {"jvp", "vjp", "jacobian", "hessian"}  # the functional API
NOT_OPS |= set(creation.__all__)


def symgrad_cli(*args, blocked=()):
    """Run ``python -m symgrad ARGS``; ``blocked`` modules cannot be imported."""
    code = (
        f"import runpy, sys\nfor name in {list(blocked)!r}: sys.modules[name] = None\n"
        f"sys.argv = ['symgrad', *{list(args)!r}]\n"
        "runpy.run_module('symgrad', run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


@pytest.fixture(scope="module")
def found():
    return reference.installed()


# ---- the reference -----------------------------------------------------------------------
def test_the_reference_lists_every_public_op(found):
    names = {op.name for op in found.ops}
    aliases = {alias for op in found.ops for alias in op.aliases}
    assert set(sg.__all__) - NOT_OPS == {n for n in names | aliases if "." not in n}
    functional = {f"nn.functional.{name}" for name in sg.nn.functional.__all__}
    assert functional <= names
    assert "linalg.norm" in names


def test_every_generated_class_is_in_the_reference_with_its_definition_and_rules(found):
    classes = {
        name
        for module in reference.KINDS
        for name, value in vars(getattr(sg.generated, module)).items()
        if isinstance(value, type)
        and issubclass(value, sg.generated.elementwise.BackwardFcn)
        and value is not sg.generated.elementwise.BackwardFcn
    }
    assert classes == set(found.nodes)
    for node in found.nodes.values():
        assert node.definition and node.rules, node.class_name


def test_each_op_records_the_class_its_function_applies(found):
    assert found.find("sigmoid").nodes == ("SigmoidBackward",)
    assert found.find("matmul").nodes == ("MatmulBackward",)  # via linalg.matmul
    assert found.find("nn.functional.conv2d").nodes == ("ConvolutionBackward",)
    assert found.find("pad").nodes == ("PadBackward", "PadCopiesBackward")
    assert found.find("stack").kind == "composite"
    assert found.find("stack").calls == ("concatenate", "expand_dims")
    assert found.find("pad").calls == ()  # its parameter `array` is not sg.array


@pytest.mark.parametrize("op", [op for op in OPS if op.kinks], ids=lambda op: op.name)
def test_every_kink_of_the_table_is_a_convention_in_the_reference(found, op):
    assert len(found.nodes[op.class_name].conventions) == len(op.kinks)


@pytest.mark.parametrize(
    "reduction", [r for r in REDUCTIONS if r.conventions], ids=lambda r: r.name
)
def test_every_reduction_convention_is_in_the_reference(found, reduction):
    conventions = found.nodes[reduction.class_name].conventions
    assert len(conventions) == len(reduction.conventions)
    for line, convention in zip(conventions, reduction.conventions, strict=True):
        assert f"x_bar = {convention.expected}" in line and convention.why in line


def test_names_aliases_short_names_and_classes_find_their_op(found):
    assert found.find("absolute") is found.find("abs")
    assert found.find("conv2d") is found.find("nn.functional.conv2d")
    assert found.find("SigmoidBackward").class_name == "SigmoidBackward"
    assert found.find("getitem").class_name == "GetitemBackward"  # t[index]
    assert found.find("no_such_op") is None


def test_the_op_reference_page_has_every_op(found):
    text = (ROOT / "docs" / "ops.md").read_text()
    for op in found.ops:
        assert f"\n### {op.name}\n" in text, op.name
    assert "grad_x = grad*out*(1 - out)" in text


# ---- the command line --------------------------------------------------------------------
def test_ops_lists_every_op_with_its_kind_and_definition(found):
    result = symgrad_cli("ops")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [op.name for op in found.ops]
    sigmoid = next(line for line in lines if line.startswith("sigmoid "))
    assert sigmoid.split(None, 2)[1:] == ["element-wise", "out = 1/(1 + exp(-x))"]
    assert max(len(line) for line in lines) <= 100


def test_ops_of_one_kind():
    result = symgrad_cli("ops", "--kind", "reduction")
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert "softmax" in names and "sum" in names and "sigmoid" not in names


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        (
            "relu",
            [
                "relu: an element-wise op\n    sg.relu(x)\n",
                "definition:\n    out = Piecewise((x, x > 0), (0, True))\n",
                "derived backward rules, per input:\n"
                "    grad_x = Piecewise((grad, x > 0), (0, True))\n",
                "conventions:\n    at x = 0: d/dx = 0 (PyTorch's convention)\n",
                "    class ReluBackward(BackwardFcn):\n",
                "        def calculate_grads(self, grad, children, out, needs):\n",
            ],
        ),
        ("norm", ["x_bar[o, r] = grad[o]*x[o, r]/out[o]", "the 2-norm's gradient at 0 is 0"]),
        (
            "stack",  # a composite: what it calls, and its code
            [
                "stack: a composite op\n    sg.stack(arrays, axis=0)\n",
                "calls (by name): concatenate, expand_dims",
                "symgrad.shape.stack:\n\n    def stack(arrays, axis=0):",
            ],
        ),
        (
            "matmul",  # a composite that records a class: the class too
            [
                "records symgrad.generated.contractions.MatmulBackward, a contraction node",
                'grad_a = einsum("...ik,...jk->...ij", grad, b)',
                "    def matmul(a, b):",  # linalg's, with NumPy's 1-D promotion
            ],
        ),
    ],
)
def test_explain_shows(name, shown):
    result = symgrad_cli("explain", name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{name}: ")
    for text in shown:
        assert text in result.stdout


def test_explain_an_unknown_name_suggests_close_ones():
    result = symgrad_cli("explain", "sigmod")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no op named 'sigmod'; did you mean sigmoid" in result.stderr


def test_explain_runs_without_sympy_or_jinja():
    result = symgrad_cli("explain", "softplus", blocked=("sympy", "jinja2", "mpmath"))
    assert result.returncode == 0, result.stderr
    assert "grad_x = grad*exp(-out + x)" in result.stdout


def test_help():
    result = symgrad_cli("--help")
    assert result.returncode == 0
    assert "usage: python -m symgrad" in result.stdout
    assert "explain" in result.stdout and "ops" in result.stdout
