"""``sg.define``: a user's op derived, proven and loaded at run time by the generator's
own pipeline; natural definitions derive with no hand help; the module is cached on
disk and a second process loads it with NumPy only."""

import ast
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symgrad as sg

pytest.importorskip("sympy")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _exact_sinc(x):
    # NumPy's sinc is sin of the rounded pi * x at the integers, not 0
    return np.where(x == np.round(x), (x == 0).astype(float), np.sinc(x))


# name, definition, inputs, params, domain, a NumPy reference of the forward (stable),
# and points where it is checked (stress points included)
NATURAL = [
    ("logaddexp", "log(exp(x) + exp(y))", ("x", "y"), {}, {}, np.logaddexp),
    ("logaddexp2", "log(2**x + 2**y, 2)", ("x", "y"), {}, {}, np.logaddexp2),
    ("mish", "x*tanh(log(1 + exp(x)))", ("x",), {}, {}, lambda x: x * np.tanh(_softplus(x))),
    ("softsign", "x/(1 + Abs(x))", ("x",), {}, {}, lambda x: x / (1 + np.abs(x))),
    ("log_sigmoid", "-log(1 + exp(-x))", ("x",), {}, {}, lambda x: -_softplus(-x)),
    ("xlogy", "x*log(y)", ("x", "y"), {}, {"y": (0, np.inf)}, lambda x, y: x * np.log(y)),
    ("hypot", "sqrt(x**2 + y**2)", ("x", "y"), {}, {}, np.hypot),
    ("sinc", "sin(pi*x)/(pi*x)", ("x",), {}, {}, lambda x: _exact_sinc(x)),
    (
        "hardtanh",
        "Piecewise((-1, x < -1), (1, x > 1), (x, True))",
        ("x",),
        {},
        {},
        lambda x: np.clip(x, -1, 1),
    ),
    (
        "swish",
        "x*sigmoid(beta*x)",
        ("x",),
        {"beta": 1.5},
        {},
        lambda x, beta=1.5: x / (1 + np.exp(-beta * x)),
    ),
]
STRESS = np.array([-1000.0, -700.0, -40.0, -1.3, -0.4, 0.7, 2.2, 40.0, 700.0, 1000.0])


def points(inputs, domain):
    rng = np.random.default_rng(3)
    values = []
    for name in inputs:
        low, high = domain.get(name, (-np.inf, np.inf))
        chosen = STRESS[(low < STRESS) & (high > STRESS)]
        values.append(rng.permutation(np.resize(chosen, 12)))
    return values


@pytest.mark.parametrize("case", NATURAL, ids=[c[0] for c in NATURAL])
def test_a_natural_definition_derives_and_is_right_at_the_stress_points(case):
    name, definition, inputs, params, domain, reference = case
    op = sg.define(name, definition, inputs, params=params, domain=domain)
    arrays = points(inputs, domain)
    tensors = [sg.tensor(a, requires_grad=True) for a in arrays]
    out = op(*tensors)
    with np.errstate(all="ignore"):
        expected = reference(*arrays)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=0)
    out.backward(np.ones(out.shape))
    for k, tensor in enumerate(tensors):
        assert np.isfinite(tensor.grad).all(), (name, inputs[k])
        # central differences where the function is smooth at this scale
        step = 1e-6 * np.maximum(1.0, np.abs(arrays[k]))
        moved = [list(arrays), list(arrays)]
        moved[0][k], moved[1][k] = arrays[k] + step, arrays[k] - step
        with np.errstate(all="ignore"):
            numeric = (reference(*moved[0]) - reference(*moved[1])) / (2 * step)
        smooth = np.abs(arrays[k]) < 100
        np.testing.assert_allclose(tensor.grad[smooth], numeric[smooth], rtol=1e-5, atol=1e-8)
    assert set(op.rules) == set(inputs)
    assert f"class {name.title().replace('_', '')}Backward" in op.source


def test_a_removable_singularity_takes_its_limit_and_integers_are_exact_zeros():
    sinc = sg.define("sinc", "sin(pi*x)/(pi*x)")
    x = sg.tensor([0.0, 1.0, -3.0, 40.0, 0.5], requires_grad=True)
    with np.errstate(all="raise"):  # no 0/0 warning from the branch not taken
        out = sinc(x)
        out.backward(np.ones(5))
    np.testing.assert_array_equal(out.data[:4], [1.0, 0.0, 0.0, 0.0])
    assert out.data[4] == pytest.approx(2 / np.pi, rel=1e-15)
    # d/dx sinc at 0 is 0 (the limit); at the integers n it is cos(pi n)/n
    np.testing.assert_allclose(x.grad[:4], [0.0, -1.0, 1 / 3, 1 / 40], rtol=1e-14, atol=1e-300)


def test_a_defined_op_broadcasts_keeps_float32_and_differentiates_again():
    swish = sg.define("swish", "x*sigmoid(beta*x)", params={"beta": 1.0})
    x = sg.tensor(np.array([[-2.0], [0.5]], np.float32), requires_grad=True)
    out = swish(x * np.ones((1, 3), np.float32), beta=2.0)
    assert out.shape == (2, 3) and out.dtype == np.float32
    (g,) = sg.grad(out.sum(), x, create_graph=True)
    assert g.dtype == np.float32
    g.sum().backward()

    def first(v):  # d/dx of 3 * swish(x), by its closed form
        s = 1 / (1 + np.exp(-2 * v))
        return 3 * (s + 2 * v * s * (1 - s))

    step = 1e-3
    numeric = (first(x.data.astype(float) + step) - first(x.data.astype(float) - step)) / (2 * step)
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-3)


def test_a_failing_rule_raises_a_derivation_error_naming_op_input_and_point():
    # a kernel declared stable that is not: log(1 + exp(x)) overflows at 1000
    with pytest.raises(sg.DerivationError) as caught:
        sg.define("soft", "log(1 + exp(x))", kernel="log(1 + exp(x))*1")
    error = caught.value
    assert error.op == "soft" and error.point is not None
    assert str(error).startswith("soft: ")


def test_a_wrong_kink_convention_is_refused():
    with pytest.raises(sg.DerivationError, match=r"^absolute: .*x=0"):
        sg.define("absolute", "Abs(x)", kinks=[({"x": 0}, {"x": 1})])


def test_the_module_is_cached_and_loaded_again_without_deriving(cache, monkeypatch):
    first = sg.define("cube", "x**3")
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].read_text() == first.source
    from symgrad import user_ops

    def refuse(*args):
        raise AssertionError("derived again")

    with monkeypatch.context() as patched:
        patched.setattr(user_ops, "_derive", refuse)
        again = sg.define("cube", "x**3")
    assert again.source == first.source
    sg.define("cube", "x**3", domain={"x": (0, np.inf)})  # another declaration: derived
    assert len(list(cache.iterdir())) == 2


def test_a_second_process_loads_the_cached_op_with_numpy_only(cache):
    sg.define("mish", "x*tanh(log(1 + exp(x)))")
    script = textwrap.dedent(
        """
        import sys
        sys.modules["sympy"] = None  # no SymPy in this process
        sys.modules["jinja2"] = None
        import symgrad as sg
        mish = sg.define("mish", "x*tanh(log(1 + exp(x)))")
        x = sg.tensor([-3.0, 0.5], requires_grad=True)
        mish(x).sum().backward()
        print(repr(x.grad.tolist()))
        try:
            sg.define("fresh", "x**5")
        except ImportError as error:
            print(error)
        """
    )
    env = {**os.environ, "SYMGRAD_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    grads, message = done.stdout.strip().splitlines()
    x = np.array([-3.0, 0.5])
    softplus, sigmoid = _softplus(x), 1 / (1 + np.exp(-x))
    expected = np.tanh(softplus) + x * (1 - np.tanh(softplus) ** 2) * sigmoid  # mish'
    np.testing.assert_allclose(ast.literal_eval(grads), expected, rtol=1e-14)
    assert message.endswith("pip install symgrad[derive]")


def test_bad_declarations_name_what_is_wrong():
    with pytest.raises(ValueError, match=r"^pow3: z is neither an input nor a param"):
        sg.define("pow3", "x**3 + z")
    with pytest.raises(ValueError, match=r"^define: the name must be an identifier"):
        sg.define("not a name", "x")
    cube = sg.define("cube", "x**3")
    with pytest.raises(TypeError, match=r"^cube: missing input x"):
        cube()
