"""The runtime's structure and the engine's ownership of gradient arrays (white-box).

* The engine writes into, or hands out as ``.grad`` without a copy, only arrays it owns:
  its own sums, or gradients a node's class declares fresh (``BackwardFcn.fresh_grads``).
  Ops here are small BackwardFcn classes whose rules record the arrays they return.
* No reference counts (CPython does not promise them), no environment-variable gate.
* Imports run one way: no cycle among the runtime's modules, each imports on its own,
  and the generator imports nothing generated.
"""

import ast
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import symgrad as sg
from symgrad.function import BackwardFcn
from symgrad.tensor import apply

ROOT = pathlib.Path(__file__).resolve().parent.parent


# ---- ownership -----------------------------------------------------------------------------


def double_op(fresh=(), read_only=False):
    """The op y = 2x, whose rule returns a new array (``grad * 2``) and records it in
    ``returned`` (and a copy in ``returned.values``); it declares that array fresh or
    not, and can make it read-only."""
    returned = Recorded()

    class DoubleBackward(BackwardFcn):
        __slots__ = ()
        name = "double"
        forward = staticmethod(lambda x: 2.0 * x)
        differentiable = (True,)
        saves_inputs = False
        fresh_grads = fresh

        def calculate_grads(self, grad, children, out, needs):
            result = grad * 2.0
            result.flags.writeable = not read_only
            returned.append(result)
            returned.values.append(result.copy())
            return (result,)

    return (lambda x: apply(DoubleBackward, (x,))), returned


class Recorded(list):
    """The arrays a rule returned, and their values when it returned them."""

    def __init__(self):
        super().__init__()
        self.values = []

    def assert_unchanged(self):
        for array, value in zip(self, self.values, strict=True):
            np.testing.assert_array_equal(array, value)


def test_nothing_is_declared_fresh_by_default():
    assert BackwardFcn.fresh_grads == ()


def test_a_gradient_not_declared_fresh_is_copied_into_dot_grad():
    double, returned = double_op()
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    double(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    assert not np.shares_memory(x.grad, returned[0])


def test_a_gradient_declared_fresh_becomes_dot_grad_without_a_copy():
    double, returned = double_op(fresh=(0,))
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    double(x).sum().backward()
    assert x.grad is returned[0]


def test_gradients_declared_fresh_are_summed_in_place():
    double, returned = double_op(fresh=(0,))
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    (double(x) + double(x)).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])
    assert len(returned) == 2
    assert any(x.grad is array for array in returned)


def test_a_gradient_not_declared_fresh_is_never_written():
    double, returned = double_op()
    fresh_double, _ = double_op(fresh=(0,))
    for build, want in (
        (lambda x: double(x) + fresh_double(x), 4.0),
        (lambda x: fresh_double(x) + double(x), 4.0),
        (lambda x: fresh_double(double(x) + x) + double(x), 8.0),
    ):
        x = sg.tensor([1.0, 2.0], requires_grad=True)
        build(x).backward(np.array([1.0, 3.0]))
        np.testing.assert_array_equal(x.grad, want * np.array([1.0, 3.0]))
        returned.assert_unchanged()
        x.grad += 1.0
        returned.assert_unchanged()


def test_a_read_only_gradient_is_never_written_even_if_declared_fresh():
    double, returned = double_op(fresh=(0,), read_only=True)
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    (double(x) + double(x) + double(x)).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    returned.assert_unchanged()
    assert x.grad.flags.writeable
    assert all(x.grad is not array for array in returned)


def test_a_fresh_gradient_asked_for_twice_by_sg_grad_gives_two_arrays():
    double, _ = double_op(fresh=(0,))
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    first, second = sg.grad(double(x).sum(), [x, x])
    np.testing.assert_array_equal(first.data, [2.0, 2.0])
    np.testing.assert_array_equal(second.data, [2.0, 2.0])
    assert not np.shares_memory(first.data, second.data)


def test_a_fresh_gradient_of_a_non_leaf_asked_for_by_sg_grad_is_not_summed_into():
    double, _ = double_op(fresh=(0,))
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    gh, gx = sg.grad((double(h) + double(h)).sum(), [h, x])
    np.testing.assert_array_equal(gh.data, [4.0, 4.0])
    np.testing.assert_array_equal(gx.data, [4.0, 4.0])
    assert not np.shares_memory(gh.data, gx.data)


def test_a_retained_fresh_gradient_is_not_shared_with_a_leaf():
    double, _ = double_op(fresh=(0,))
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    h = double(x) + double(x)
    h.retain_grad()
    (h + 0.0).sum().backward()
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])
    assert not np.shares_memory(h.grad, x.grad)


def test_only_unbroadcast_sums_of_their_own_count_as_new():
    from symgrad.engine import _is_new

    grad = np.ones((4, 3))
    view = grad[1:]
    assert _is_new(grad.sum(axis=0), grad)
    assert _is_new(grad.sum(axis=0).reshape(1, 3), grad)  # a view of the new sum only
    assert _is_new(view.sum(axis=0).reshape(1, 3), view)
    assert not _is_new(grad.reshape(2, 6), grad)
    assert not _is_new(view[1:], view)  # a view of what view is a view of
    assert not _is_new(np.float64(3.0), grad)


@pytest.mark.parametrize("tensor_first", [False, True])
def test_create_graph_adds_a_tensor_gradient_to_an_array_one_out_of_place(tensor_first):
    # Under create_graph a rule may still give an array (ceil's zeros); summed by
    # unbroadcast, it is the engine's own, but a tensor reaching the same input must not
    # be added into it in place (NumPy's += on a tensor): the sum is a tensor, in the graph.
    x = sg.tensor([0.5, 1.5], requires_grad=True)
    constant = sg.ceil(x * np.ones((3, 2))).sum()
    square = (x * x).sum()
    y = square + constant if tensor_first else constant + square
    (g,) = sg.grad(y, x, create_graph=True)
    np.testing.assert_array_equal(g.data, [1.0, 3.0])
    (h,) = sg.grad(g.sum(), x)
    np.testing.assert_array_equal(h.data, [2.0, 2.0])


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)), ((4, 1), (1, 3))],
)
def test_matmul_gradients_declared_fresh_are_new_arrays(a_shape, b_shape):
    from symgrad.generated.contractions import MatmulBackward

    assert MatmulBackward.fresh_grads == (0, 1)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    out = np.matmul(a, b)
    grad = rng.standard_normal(out.shape)
    node = MatmulBackward((a, b), (a, b), out, (), [True, True])
    grads = node.calculate_grads(grad, (a, b), out, [True, True])
    for place in MatmulBackward.fresh_grads:
        result = grads[place]
        assert type(result) is np.ndarray
        assert result.flags.writeable
        assert result.base is None
        for other in (a, b, out, grad, grads[1 - place]):
            assert not np.shares_memory(result, other)


# ---- what the runtime's source must not contain ------------------------------------------


def runtime_sources():
    """The hand-written runtime and the generated code it runs."""
    files = [*sorted((ROOT / "symgrad").rglob("*.py")), *sorted((ROOT / "generated").glob("*.py"))]
    assert len(files) > 10
    return files


def test_no_reference_counts_anywhere():
    for path in runtime_sources():
        assert "getrefcount" not in path.read_text(), path


def test_no_environment_variable_gates_the_import():
    for path in [*runtime_sources(), ROOT / "Makefile"]:
        assert "SYMGRAD_CODEGEN" not in path.read_text(), path


# ---- imports -------------------------------------------------------------------------------


def module_names():
    """Every runtime module's dotted name -> its file (generated/ installs as
    symgrad.generated; the generator's packages, codegen and ops, are not the runtime)."""
    names = {}
    for path in sorted((ROOT / "symgrad").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[1] in ("codegen", "ops"):
            continue
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for path in sorted((ROOT / "generated").glob("*.py")):
        stem = path.stem
        names["symgrad.generated" + ("" if stem == "__init__" else f".{stem}")] = path
    return names


def imported_modules(path, known):
    """The runtime modules ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in known:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return found


def test_the_runtime_imports_one_way():
    names = module_names()
    graph = {name: imported_modules(path, names) for name, path in names.items()}
    assert "symgrad.tensor" in graph["symgrad.generated.functions"]  # the walk sees imports
    assert "symgrad.engine" in graph["symgrad.tensor"]
    state = {}  # name -> "open" while on the path, "done" after

    def visit(name, path):
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycle = [*path[path.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def run_python(code):
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("module", sorted(module_names()))
def test_each_runtime_module_imports_on_its_own(module):
    run_python(f"import {module}")


@pytest.mark.parametrize("module", ["symgrad", "symgrad.codegen", "symgrad.function"])
def test_the_generator_side_imports_nothing_generated(module):
    out = run_python(
        f"import sys, {module}\nprint(sorted(m for m in sys.modules if m.startswith('symgrad.')))"
    )
    assert "symgrad.generated" not in out
    assert "symgrad.api" not in out


def test_the_api_loads_on_first_use_and_sets_malloc():
    out = run_python(
        "import sys, symgrad as sg\n"
        "x = sg.tensor([1.0, 2.0], requires_grad=True)\n"
        "(x * x).sum().backward()\n"
        "print(x.grad.tolist(), 'symgrad.memory' in sys.modules)"
    )
    assert out.split() == ["[2.0,", "4.0]", "True"]


def test_the_api_after_importing_the_runtime_first():
    # symgrad.tensor is a submodule and the API's function: the function wins
    out = run_python(
        "import symgrad.nn.functional as F\n"
        "import symgrad.gradcheck, symgrad.tensor\n"
        "import symgrad as sg\n"
        "x = sg.tensor([[1.0, -2.0]], requires_grad=True)\n"
        "F.linear(x, sg.tensor([[3.0, 4.0]])).sum().backward()\n"
        "print(x.grad.tolist(), callable(sg.gradcheck), x.sum().item())"
    )
    assert out.split() == ["[[3.0,", "4.0]]", "True", "-1.0"]


def test_star_import_and_dir_give_the_api():
    out = run_python(
        "from symgrad import *\n"
        "print(callable(tensor), callable(no_grad), callable(sigmoid), nn.__name__)\n"
        "import symgrad\n"
        "print('sigmoid' in dir(symgrad))"
    )
    assert out.split() == ["True", "True", "True", "symgrad.nn", "True"]


def test_the_api_names_that_are_also_submodules_are_the_listed_ones():
    import pkgutil

    import symgrad

    submodules = {module.name for module in pkgutil.iter_modules(symgrad.__path__)}
    modules = {"nn", "linalg", "optim", "utils", "viz"}  # these names are the modules
    shadowed = (set(sg.__all__) & (submodules | {"generated"})) - modules
    assert shadowed == symgrad._FUNCTIONS_NAMED_LIKE_MODULES


def test_unknown_names_raise_attribute_error():
    assert not hasattr(sg, "no_such_name")
    assert not hasattr(sg, "_private")
    assert sg.generated.elementwise.SigmoidBackward.name == "sigmoid"
