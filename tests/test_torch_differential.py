"""symgrad against PyTorch, where PyTorch is installed (it is never a requirement: without
it this module is skipped). Each seed builds one random expression graph over a few
float64 leaves, in both libraries at once, drawing from a table of ops (element-wise,
binary with broadcasting, reductions, softmax, matmul and einsum, shape and indexing ops,
convolution, pooling, losses), each in one of the spellings a user has (``sg.exp(x)``,
``x.exp()``, ``np.exp(x)``, operators), and compares the value, every leaf's ``.grad``
after ``backward(grad)`` for a random ``grad``, the same through ``sg.grad``, and the
second order: the gradient of ``sum(gradient * v)`` for a random ``v``, differentiating
the gradients made with ``create_graph=True``.

Operands are kept where both libraries compute well: ``log`` takes ``x * x + 0.5`` unless
``x`` is already well above 0, ``exp`` takes ``x`` scaled into |x| < 3, and so on; such
steps are nodes of the graph like any other. Ties and kinks are not avoided (symgrad
follows PyTorch's conventions there: pads, tril and broadcasts make exact zeros and
ties), only data too close to one to compare in floating point (the variance of nearly
constant data) and the places where symgrad is known to differ: there the second order is
not compared, and the program says why (the tests it names reproduce each difference).

Tolerances are float64's: 1e-10 relative (1e-8 for the second order, whose formulas differ
more), and, where a result is ill-conditioned, what rounding alone changes PyTorch's by
(noise_floor). A failing seed prints its graph as a program, one line a node, each the
symgrad call that made it (``leaf(shape)`` is the next standard normal draw of the seed's
generator), so the listing or ``Graph(seed).build()`` rebuilds it.
"""

import math
import operator
import os

import numpy as np
import pytest

import symgrad as sg
import symgrad.nn.functional as F  # noqa: N812 - PyTorch's spelling

torch = pytest.importorskip("torch")
tf = torch.nn.functional

# more by hand: SYMGRAD_TORCH_SEEDS=5000 pytest tests/test_torch_differential.py
SEEDS = range(int(os.environ.get("SYMGRAD_TORCH_SEEDS", 300)))
RTOL = 1e-10
# The second order's formulas differ more between the libraries (each differentiates its
# own first-order formulas), and the second orders of ill-conditioned graphs by more.
SECOND_RTOL = 1e-8
ATOL = 1e-12  # what is left of values of order 1 that cancel
NOISE = 1e-12  # how far every node moves to measure how far rounding carries (noise_floor)
MAX_SIZE = 240  # elements of one node, at the most
MAX_NDIM = 5
LEAF_NAMES = "abcdefghijlmnopqrsuvwxyz"  # t0, t1, ... the computed nodes, k0, ... constants

# The names NumPy dispatches to symgrad when called on a tensor (``np.exp(t)``).
_SPELLED = (
    "exp exp2 expm1 log log2 log10 log1p sqrt square reciprocal abs absolute fabs negative"
    " sign floor ceil sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh"
    " degrees radians rad2deg deg2rad sum mean var std prod max min add subtract multiply"
    " divide true_divide power maximum minimum arctan2 logaddexp logaddexp2 mod remainder"
    " reshape transpose swapaxes moveaxis rollaxis flip flipud fliplr rot90 expand_dims"
    " squeeze broadcast_to ravel pad tile repeat roll diagonal tril triu concatenate stack"
    " vstack hstack dstack column_stack append split array_split matmul einsum trace"
    " cumsum cumprod diff sort take_along_axis kron cross tensordot inner fmax fmin clip"
)
NUMPY_SPELLED = frozenset(_SPELLED.split())


class DoesNotFitError(Exception):
    """The op drawn does not fit its operand (or makes too large a node): draw again."""


class Node:
    """One value of the graph, in both libraries, its name in the program, and how
    PyTorch's was made (to make it again from moved leaves: see noise_floor)."""

    __slots__ = ("inputs", "make_theirs", "name", "ours", "theirs")

    def __init__(self, name, ours, theirs, make_theirs=None, inputs=()):
        self.name, self.ours, self.theirs = name, ours, theirs
        self.make_theirs, self.inputs = make_theirs, inputs

    @property
    def data(self):
        return self.ours.data

    @property
    def shape(self):
        return self.ours.shape

    @property
    def ndim(self):
        return self.ours.ndim


def broadcasts(*shapes):
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return math.prod(shape) <= MAX_SIZE


def literal(value):
    """Python source for a parameter or a constant array."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})"
    return repr(value)


class Graph:
    """A random graph, built op by op in symgrad and PyTorch, with its program text."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.lines = []
        self.leaves = []
        self.nodes = []
        self.constants = 0
        self.first_order_only = []  # why the second order is not compared, if it is not

    def no_second_order(self, why):
        self.first_order_only.append(why)

    def program(self):
        lines = [f"    {line}" for line in self.lines]
        return "\n".join(lines + [f"  first order only: {why}" for why in self.first_order_only])

    # ---- random choices ---------------------------------------------------------------
    def chance(self, p):
        return self.rng.random() < p

    def pick(self, options):
        options = list(options)
        if not options:
            raise DoesNotFitError
        return options[self.rng.integers(len(options))]

    def integer(self, low, high):
        """An int in [low, high]."""
        return int(self.rng.integers(low, high + 1))

    def axis(self, ndim, negative=True):
        axis = self.integer(0, ndim - 1)
        return axis - ndim if negative and self.chance(0.3) else axis

    # ---- nodes ------------------------------------------------------------------------
    def leaf(self, shape):
        data = self.rng.standard_normal(shape)
        count = len(self.leaves)
        name = LEAF_NAMES[count] if count < len(LEAF_NAMES) else f"w{count}"
        node = Node(
            name, sg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        )
        self.lines.append(f"{name} = leaf({shape})")
        self.leaves.append(node)
        self.nodes.append(node)
        return node

    def constant(self, array):
        """A constant array as a named line of the program (its name for the text)."""
        name = f"k{self.constants}"
        self.constants += 1
        self.lines.append(f"{name} = {literal(array)}")
        return name

    def apply(self, text, ours, theirs, *inputs):
        """A new node: ``text`` (``{0}``, ``{1}``, ... for the inputs' names) is its line
        of the program; ``ours`` and ``theirs`` make it from the inputs' tensors."""
        name = f"t{len(self.nodes) - len(self.leaves)}"
        self.lines.append(f"{name} = " + text.format(*(node.name for node in inputs)))
        result_theirs = theirs(*(node.theirs for node in inputs))
        if (
            not 0 < result_theirs.numel() <= MAX_SIZE
            or result_theirs.ndim > MAX_NDIM
            or not torch.isfinite(result_theirs).all()  # a window of padding alone: -inf
        ):
            self.lines.pop()
            raise DoesNotFitError
        result_ours = ours(*(node.ours for node in inputs))
        assert isinstance(result_ours, sg.Tensor), f"{name} is a {type(result_ours).__name__}"
        assert result_ours.shape == tuple(result_theirs.shape), (
            f"{name}: shape {result_ours.shape}, torch {tuple(result_theirs.shape)}"
        )
        node = Node(name, result_ours, result_theirs, theirs, inputs)
        self.nodes.append(node)
        return node

    def call(self, name, theirs, *inputs, **params):
        """symgrad's ``name`` on the inputs with ``params``, spelled one of the ways a user
        has: ``sg.name(x, ...)``, ``x.name(...)`` (a method) or ``np.name(x, ...)``
        (NumPy's dispatch to symgrad)."""
        fields = [f"{{{i}}}" for i in range(len(inputs))]
        keywords = [f"{key}={literal(value)}" for key, value in params.items()]
        forms = [(f"sg.{name}({', '.join(fields + keywords)})", getattr(sg, name))]
        if name in ("reshape", "transpose"):  # NumPy's methods take these positionally
            method = f"{{0}}.{name}({', '.join(literal(value) for value in params.values())})"
            forms.append((method, lambda x, **kw: getattr(x, name)(*kw.values())))
        elif hasattr(sg.Tensor, name):
            method = f"{{0}}.{name}({', '.join(fields[1:] + keywords)})"
            forms.append((method, lambda x, *rest, **kw: getattr(x, name)(*rest, **kw)))
        if name in NUMPY_SPELLED:
            forms.append((f"np.{name}({', '.join(fields + keywords)})", getattr(np, name)))
        text, ours = self.pick(forms)
        return self.apply(text, lambda *xs: ours(*xs, **params), theirs, *inputs)

    # ---- operands kept where both libraries compute well ----------------------------
    def within(self, a, limit):
        """``a`` if ``|a| < limit``, else ``a`` scaled into it (by a constant: a squashing
        function would saturate, where neither library has digits left to compare)."""
        largest = np.abs(a.data).max()
        if largest < limit:
            return a
        scale = float(f"{0.9 * limit / largest:.3g}")
        return self.apply(f"{{0}} * {scale}", lambda x: x * scale, lambda x: x * scale, a)

    def above(self, a, low):
        """``a`` if it is well above ``low``, else ``a * a + low + 0.5``."""
        if a.data.min() > low + 0.1:
            return a
        shift = low + 0.5
        return self.apply(
            f"{{0}} * {{0}} + {shift}", lambda x: x * x + shift, lambda x: x * x + shift, a
        )

    def prepared(self, a, domain):
        if domain is None:
            return a
        if domain == "positive":
            return self.above(a, 0.0)
        if domain == "above_one":
            return self.above(a, 1.0)
        return self.within(a, DOMAIN_LIMITS[domain])

    def partner(self, a, fits=None):
        """A node to go with ``a``: one whose shape broadcasts with a's by default, ``a``
        itself only when no other fits (or now and then)."""
        fits = fits or (lambda node: broadcasts(node.shape, a.shape))
        options = [node for node in self.nodes if node is not a and fits(node)]
        if fits(a) and (not options or self.chance(0.15)):
            return a
        return self.pick(options)

    def reshaped(self, a, shape):
        if a.shape == shape:
            return a
        return self.apply(
            f"sg.reshape({{0}}, {shape})",
            lambda x: sg.reshape(x, shape),
            lambda x: x.reshape(shape),
            a,
        )

    def with_ndim(self, a, ndim):
        """``a`` reshaped to ``ndim`` axes: ones put in front, or leading axes merged."""
        if a.ndim <= ndim:
            return self.reshaped(a, (1,) * (ndim - a.ndim) + a.shape)
        merged = a.ndim - ndim + 1
        return self.reshaped(a, (math.prod(a.shape[:merged]), *a.shape[merged:]))

    # ---- the graph --------------------------------------------------------------------
    def build(self):
        """Leaves of broadcasting shapes, then ops drawn at random; the last node."""
        base = tuple(self.integer(2, 4) for _ in range(self.integer(1, 3)))
        for _ in range(self.integer(2, 3)):
            shape = base[self.integer(0, len(base) - 1) if self.chance(0.3) else 0 :]
            self.leaf(tuple(1 if self.chance(0.25) else n for n in shape))
        if self.chance(0.15):
            self.leaf(())
        ops = self.integer(4, 9)
        made = 0
        for _ in range(200):
            a = self.nodes[-1] if self.chance(0.6) else self.pick(self.nodes)
            op = OPS[self.rng.choice(len(OPS), p=WEIGHTS)]
            try:
                op(self, a)
            except DoesNotFitError:
                continue
            made += 1
            if made == ops:
                break
        return self.nodes[-1]


# Where the second order is not compared (each a known difference, see the tests named).
STD_OF_CONSTANTS = (
    "std of constant data: symgrad's second order is nan, PyTorch's 0"
    " (test_reductions.py::test_std_of_constant_data_differentiates_again)"
)

# |x| at the most. "saturating": where a derivative would be 1 - y**2 of y close to 1 (tanh,
# sigmoid, erf, softmax, elu's exponential side, ...) the two libraries' formulas lose
# different digits; below 6 fewer than 1e-11 of them.
DOMAIN_LIMITS = {"small": 3.0, "tan": 1.2, "unit": 0.9, "saturating": 6.0, "exponent": 2.0}


# ---- the ops: each draws its parameters and partners, or raises DoesNotFitError ---------------
UNARY = [  # (symgrad name, torch function, domain of the operand)
    ("exp", torch.exp, "small"),
    ("exp2", torch.exp2, "small"),
    ("expm1", torch.expm1, "small"),
    ("log", torch.log, "positive"),
    ("log2", torch.log2, "positive"),
    ("log10", torch.log10, "positive"),
    ("log1p", torch.log1p, "positive"),
    ("sqrt", torch.sqrt, "positive"),
    ("square", torch.square, None),
    ("reciprocal", torch.reciprocal, "positive"),
    ("abs", torch.abs, None),
    ("absolute", torch.abs, None),
    ("fabs", torch.abs, None),
    ("negative", torch.neg, None),
    ("sign", torch.sign, None),
    ("floor", torch.floor, None),
    ("ceil", torch.ceil, None),
    ("sin", torch.sin, None),
    ("cos", torch.cos, None),
    ("tan", torch.tan, "tan"),
    ("arcsin", torch.asin, "unit"),
    ("arccos", torch.acos, "unit"),
    ("arctan", torch.atan, None),
    ("sinh", torch.sinh, "small"),
    ("cosh", torch.cosh, "small"),
    ("tanh", torch.tanh, "saturating"),
    ("arcsinh", torch.asinh, None),
    ("arccosh", torch.acosh, "above_one"),
    ("arctanh", torch.atanh, "unit"),
    ("erf", torch.erf, "saturating"),
    ("sigmoid", torch.sigmoid, "saturating"),
    ("relu", torch.relu, None),
    ("selu", tf.selu, "saturating"),
    ("softplus", tf.softplus, "saturating"),  # PyTorch's turns linear above 20
    ("gelu", tf.gelu, "saturating"),
    ("silu", tf.silu, "saturating"),
    ("degrees", torch.rad2deg, None),
    ("radians", torch.deg2rad, None),
    ("rad2deg", torch.rad2deg, None),
    ("deg2rad", torch.deg2rad, None),
]


def unary(g, a):
    name, theirs, domain = g.pick(UNARY)
    return g.call(name, theirs, g.prepared(a, domain))


def unary_with_parameter(g, a):
    kind = g.pick(["leaky_relu", "elu", "clip"])
    if kind == "leaky_relu":
        slope = g.pick([0.01, 0.2, 1.5])
        return g.call(kind, lambda x: tf.leaky_relu(x, slope), a, negative_slope=slope)
    if kind == "elu":
        alpha = g.pick([1.0, 0.5, 2.0])
        a = g.prepared(a, "saturating")
        return g.call(kind, lambda x: tf.elu(x, alpha), a, alpha=alpha)
    low = round(float(g.rng.uniform(-1.5, 0.0)), 3)
    high = round(low + float(g.rng.uniform(0.2, 2.0)), 3)
    return g.call(kind, lambda x: torch.clamp(x, low, high), a, a_min=low, a_max=high)


BINARY = [  # (symgrad name, operator, torch function, domain of each operand)
    ("add", "+", torch.add, None, None),
    ("subtract", "-", torch.sub, None, None),
    ("multiply", "*", torch.mul, None, None),
    ("divide", "/", torch.div, None, "positive"),
    ("true_divide", None, torch.div, None, "positive"),
    ("power", "**", torch.pow, "positive", "exponent"),
    ("maximum", None, torch.maximum, None, None),
    ("minimum", None, torch.minimum, None, None),
    ("arctan2", None, torch.atan2, None, None),
    ("logaddexp", None, torch.logaddexp, "saturating", "saturating"),
    ("logaddexp2", None, torch.logaddexp2, "saturating", "saturating"),
    ("mod", "%", torch.remainder, None, "positive"),
    ("remainder", None, torch.remainder, None, "positive"),
]
OPERATORS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "%": operator.mod,
}


def binary(g, a):
    name, symbol, theirs, first, second = g.pick(BINARY)
    b = g.prepared(g.partner(a), second)
    a = g.prepared(a, first)
    if name == "arctan2" and np.any((a.data == 0) & (b.data == 0)):
        b = g.above(b, 0.0)  # symgrad declares (0, 0) singular (nan); PyTorch gives 0
    if symbol and g.chance(0.5):
        function = OPERATORS[symbol]
        return g.apply(f"{{0}} {symbol} {{1}}", function, function, a, b)
    return g.call(name, theirs, a, b)


def where(g, a):
    b = g.partner(a)
    c = g.partner(a, lambda node: broadcasts(node.shape, a.shape, b.shape))
    condition = c.data > 0
    return g.apply(
        f"sg.where({c.name}.data > 0, {{0}}, {{1}})",
        lambda x, y: sg.where(condition, x, y),
        lambda x, y: torch.where(torch.tensor(condition), x, y),
        a,
        b,
    )


def with_constant(g, a):
    """Python numbers and NumPy arrays on either side of an operator."""
    kind = g.integer(0, 9)
    if kind == 0:
        return g.apply("{0} * 1.5", lambda x: x * 1.5, lambda x: x * 1.5, a)
    if kind == 1:
        return g.apply("2.5 - {0}", lambda x: 2.5 - x, lambda x: 2.5 - x, a)
    if kind == 2:
        a = g.above(a, 0.0)
        return g.apply("1.5 / {0}", lambda x: 1.5 / x, lambda x: 1.5 / x, a)
    if kind == 3:
        exponent = g.pick([2, 3, -1])
        if exponent < 0:
            a = g.above(a, 0.0)
        return g.apply(f"{{0}} ** {exponent}", lambda x: x**exponent, lambda x: x**exponent, a)
    if kind == 4:
        exponent = g.pick([0.5, -1.5, 2.5])
        a = g.above(a, 0.0)
        return g.apply(f"{{0}} ** {exponent}", lambda x: x**exponent, lambda x: x**exponent, a)
    if kind == 5:
        a = g.within(a, 3.0)
        return g.apply("2.0 ** {0}", lambda x: 2.0**x, lambda x: 2.0**x, a)
    if kind == 6:
        return g.apply("-{0}", operator.neg, operator.neg, a)
    if a.ndim == 0:
        raise DoesNotFitError
    n = a.shape[-1]
    array = np.arange(n) * 0.5 - 0.75
    text = f"(np.arange({n}) * 0.5 - 0.75)"
    if kind == 7:  # an ndarray on the left: NumPy's operator hands over to the tensor's
        return g.apply(f"{text} * {{0}}", lambda x: array * x, lambda x: torch.tensor(array) * x, a)
    if kind == 8:
        return g.apply(f"{{0}} - {text}", lambda x: x - array, lambda x: x - torch.tensor(array), a)
    return g.apply(f"{text} + {{0}}", lambda x: array + x, lambda x: torch.tensor(array) + x, a)


# ---- reductions ------------------------------------------------------------------------
def reduction_axis(g, ndim, two_at_most=False):
    """None, an int or a tuple of distinct axes (in any order, some negative)."""
    choice = g.integer(0, 2)
    if choice == 0:
        return None
    if choice == 1 or ndim == 1:
        return g.axis(ndim)
    count = g.integer(2, 2 if two_at_most else ndim)
    axes = g.rng.permutation(ndim)[:count]
    return tuple(int(axis) - ndim if g.chance(0.3) else int(axis) for axis in axes)


def reduced_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted(axis % ndim for axis in axes))


def torch_prod(x, dims, keepdim):
    """PyTorch's prod takes one dim at a time."""
    for dim in sorted(dims, reverse=True):
        x = torch.prod(x, dim, keepdim=True)
    return x if keepdim else x.squeeze(dims)


REDUCTIONS = {
    "sum": lambda x, dims, keep, ddof: torch.sum(x, dims, keepdim=keep),
    "mean": lambda x, dims, keep, ddof: torch.mean(x, dims, keepdim=keep),
    "var": lambda x, dims, keep, ddof: torch.var(x, dims, correction=ddof, keepdim=keep),
    "std": lambda x, dims, keep, ddof: torch.std(x, dims, correction=ddof, keepdim=keep),
    "prod": lambda x, dims, keep, ddof: torch_prod(x, dims, keep),
    "max": lambda x, dims, keep, ddof: torch.amax(x, dims, keepdim=keep),
    "min": lambda x, dims, keep, ddof: torch.amin(x, dims, keepdim=keep),
    "logsumexp": lambda x, dims, keep, ddof: torch.logsumexp(x, dims, keepdim=keep),
    "norm": lambda x, dims, keep, ddof: torch.linalg.vector_norm(x, 2, dims, keepdim=keep),
}


def reduction(g, a):
    if a.ndim == 0:
        raise DoesNotFitError
    name = g.pick(REDUCTIONS)
    axis = reduction_axis(g, a.ndim, two_at_most=name == "norm")
    dims = reduced_axes(axis, a.ndim)
    params = {"axis": axis} if axis is not None or g.chance(0.5) else {}
    if g.chance(0.4):
        params["keepdims"] = True
    ddof = 0
    if name in ("var", "std"):
        count = math.prod(a.shape[d] for d in dims)
        if count > 1:
            variance = np.var(a.data, axis=dims)
            scale = np.mean(a.data**2)
            if np.any((variance > 0) & (variance < 1e-6 * scale)):
                raise DoesNotFitError  # nearly constant: no digits left to compare
            ddof = g.pick([0, 1])
        if ddof:
            params["ddof"] = ddof
    if name == "prod":
        a = g.within(a, 3.0)
    if name == "logsumexp":
        a = g.prepared(a, "saturating")
    keep = params.get("keepdims", False)
    function = REDUCTIONS[name]
    node = g.call(name, lambda x: function(x, dims, keep, ddof), a, **params)
    if name == "std" and not np.all(np.var(a.data, axis=dims)):
        g.no_second_order(STD_OF_CONSTANTS)
    if name == "norm" and not np.all(np.sum(a.data**2, axis=dims)):
        g.no_second_order("the norm of zeros: the second order is nan in both")
    return node


def softmax(g, a):
    if a.ndim == 0:
        raise DoesNotFitError
    name = g.pick(["softmax", "log_softmax"])
    a = g.prepared(a, "saturating")
    axis = g.axis(a.ndim)
    theirs = torch.softmax if name == "softmax" else torch.log_softmax
    if g.chance(0.3) and axis in (-1, a.ndim - 1):
        return g.call(name, lambda x: theirs(x, -1), a)
    return g.call(name, lambda x: theirs(x, axis), a, axis=axis)


# ---- linear algebra -------------------------------------------------------------------
def matmul(g, a):
    if a.ndim == 0:
        raise DoesNotFitError
    n = a.shape[-1]

    def on_the_right(node):
        """The shape ``node`` has on the right of ``a @`` (swapped if it must), or None."""
        if node.ndim == 0:
            return None
        if node.ndim == 1:
            return node.shape if node.shape == (n,) else None
        if node.shape[-2] == n:
            return node.shape
        return (*node.shape[:-2], n, node.shape[-2]) if node.shape[-1] == n else None

    def fits(node):
        shape = on_the_right(node)
        if shape is None:
            return False
        return a.ndim == 1 or len(shape) == 1 or broadcasts(a.shape[:-2], shape[:-2])

    b = g.partner(a, fits)
    if b.ndim >= 2 and b.shape[-2] != n:
        b = g.call("swapaxes", lambda x: x.swapaxes(-1, -2), b, axis1=-1, axis2=-2)
    if g.chance(0.4):
        return g.apply("{0} @ {1}", operator.matmul, operator.matmul, a, b)
    return g.call("matmul", torch.matmul, a, b)


def dot(g, a):
    if a.ndim == 0:
        raise DoesNotFitError
    n = a.shape[-1]
    b = g.partner(
        a,
        lambda node: (node.ndim == 1 and node.shape[0] == n)
        or (node.ndim >= 2 and node.shape[-2] == n),
    )

    def theirs(x, y):
        if x.ndim == y.ndim == 1:
            return torch.dot(x, y)
        return torch.tensordot(x, y, dims=([x.ndim - 1], [max(y.ndim - 2, 0)]))

    return g.call("dot", theirs, a, b)


def outer(g, a):
    b = g.partner(a, lambda node: node.data.size * a.data.size <= MAX_SIZE)
    return g.call("outer", lambda x, y: torch.outer(x.reshape(-1), y.reshape(-1)), a, b)


def einsum(g, a):
    """A random subscript string: letters shared where sizes agree (contractions, batch
    axes), repeated within an operand now and then (diagonals), any output subset."""
    if a.ndim == 0:
        raise DoesNotFitError
    sizes = {}
    letters = iter("ijklmnopqrs")

    def subscripts(shape):
        out = ""
        for size in shape:
            same = [letter for letter, n in sizes.items() if n == size]
            if same and g.chance(0.35 if not out else 0.5):
                out += g.pick(same)
            else:
                letter = next(letters)
                sizes[letter] = size
                out += letter
        return out

    operands = [a]
    specs = [subscripts(a.shape)]
    if g.chance(0.7):
        b = g.partner(a, lambda node: node.ndim >= 1)
        operands.append(b)
        specs.append(subscripts(b.shape))
    used = sorted(set("".join(specs)))
    output = "".join(g.rng.permutation(used)[: g.integer(0, len(used))])
    spec = ",".join(specs) + "->" + output
    fields = ", ".join(f"{{{i}}}" for i in range(len(operands)))
    module = g.pick(["sg", "np"])
    ours = sg.einsum if module == "sg" else np.einsum
    return g.apply(
        f"{module}.einsum({spec!r}, {fields})",
        lambda *xs: ours(spec, *xs),
        lambda *xs: torch.einsum(spec, *xs),
        *operands,
    )


def trace(g, a):
    if a.ndim < 2:
        raise DoesNotFitError
    axis1, axis2 = (int(axis) for axis in g.rng.permutation(a.ndim)[:2])
    offset = g.integer(-1, 1)
    if np.diagonal(np.empty(a.shape), offset, axis1, axis2).shape[-1] == 0:
        raise DoesNotFitError
    params = {"offset": offset, "axis1": axis1, "axis2": axis2}
    if offset == 0 and (axis1, axis2) == (0, 1) and g.chance(0.5):
        params = {}
    return g.call("trace", lambda x: torch.diagonal(x, offset, axis1, axis2).sum(-1), a, **params)


# ---- shape ops ------------------------------------------------------------------------
def factor_shape(g, size, parts):
    dims = []
    for _ in range(parts - 1):
        divisor = g.pick(d for d in range(1, size + 1) if size % d == 0)
        dims.append(divisor)
        size //= divisor
    dims.append(size)
    return tuple(int(d) for d in g.rng.permutation(dims))


def reshape(g, a):
    shape = factor_shape(g, a.data.size, g.integer(1, 4))
    if shape and g.chance(0.3):
        shape = (*shape[:-1], -1)
    return g.call("reshape", lambda x: x.reshape(shape), a, shape=shape)


def transpose(g, a):
    if a.ndim < 2:
        raise DoesNotFitError
    if g.chance(0.3):
        perm = tuple(reversed(range(a.ndim)))
        if g.chance(0.5):
            return g.apply("{0}.T", lambda x: x.T, lambda x: x.permute(perm), a)
        return g.call("transpose", lambda x: x.permute(perm), a)
    axes = tuple(int(axis) for axis in g.rng.permutation(a.ndim))
    return g.call("transpose", lambda x: x.permute(axes), a, axes=axes)


def swap_or_move(g, a):
    if a.ndim < 2:
        raise DoesNotFitError
    first, second = g.axis(a.ndim), g.axis(a.ndim)
    kind = g.pick(["swapaxes", "moveaxis", "rollaxis"])
    if kind == "swapaxes":
        return g.call(kind, lambda x: x.swapaxes(first, second), a, axis1=first, axis2=second)
    if kind == "moveaxis":
        return g.call(kind, lambda x: x.movedim(first, second), a, source=first, destination=second)
    start = g.integer(0, a.ndim)
    axes = list(range(a.ndim))
    moved = axes.pop(first % a.ndim)
    at = start - 1 if first % a.ndim < start else start
    axes.insert(at, moved)
    return g.call(kind, lambda x: x.permute(axes), a, axis=first, start=start)


def flip(g, a):
    kind = g.pick(["flip", "flipud", "fliplr", "rot90"])
    if kind == "flip":
        if a.ndim == 0 or g.chance(0.2):
            return g.call(kind, lambda x: torch.flip(x, tuple(range(x.ndim))), a)
        axis = reduction_axis(g, a.ndim)
        dims = reduced_axes(axis, a.ndim)
        return g.call(kind, lambda x: torch.flip(x, dims), a, axis=axis)
    if kind == "flipud":
        if a.ndim < 1:
            raise DoesNotFitError
        return g.call(kind, torch.flipud, a)
    if a.ndim < 2:
        raise DoesNotFitError
    if kind == "fliplr":
        return g.call(kind, torch.fliplr, a)
    k = g.integer(-2, 3)
    axes = tuple(int(axis) for axis in g.rng.permutation(a.ndim)[:2])
    return g.call(kind, lambda x: torch.rot90(x, k, axes), a, k=k, axes=axes)


def expand_or_squeeze(g, a):
    kind = g.pick(["expand_dims", "squeeze", "broadcast_to", "ravel"])
    if kind == "expand_dims":
        axis = g.integer(-a.ndim - 1, a.ndim)
        return g.call(kind, lambda x: x.unsqueeze(axis), a, axis=axis)
    if kind == "squeeze":
        ones = [axis for axis, n in enumerate(a.shape) if n == 1]
        if not ones:
            raise DoesNotFitError
        if g.chance(0.4):
            return g.call(kind, lambda x: x.squeeze(), a)
        axis = g.pick(ones)
        return g.call(kind, lambda x: x.squeeze(axis), a, axis=axis)
    if kind == "ravel":
        return g.call(kind, lambda x: x.reshape(-1), a)
    shape = tuple(g.integer(2, 3) if n == 1 and g.chance(0.7) else n for n in a.shape)
    if g.chance(0.5):
        shape = (g.integer(1, 3), *shape)
    return g.call(kind, lambda x: x.broadcast_to(shape), a, shape=shape)


def pad(g, a):
    if a.ndim == 0:
        raise DoesNotFitError
    if g.chance(0.2):
        width = g.integer(1, 2)
        pairs = ((width, width),) * a.ndim
        pad_width = width
    else:
        pairs = tuple((g.integer(0, 2), g.integer(0, 2)) for _ in range(a.ndim))
        pad_width = pairs
    flat = [n for pair in reversed(pairs) for n in pair]
    return g.call("pad", lambda x: tf.pad(x, flat), a, pad_width=pad_width)


def tile_or_repeat(g, a):
    kind = g.pick(["tile", "repeat"])
    if kind == "tile":
        reps = tuple(g.integer(1, 3) for _ in range(g.integer(1, a.ndim + 1)))
        reps_param = reps[0] if len(reps) == 1 and g.chance(0.5) else reps
        return g.call(kind, lambda x: torch.tile(x, reps), a, reps=reps_param)
    axis = None if a.ndim == 0 or g.chance(0.3) else g.axis(a.ndim)
    length = a.data.size if axis is None else a.shape[axis]
    if g.chance(0.5):
        repeats = g.integer(1, 3)
        by = repeats
    else:
        repeats = [g.integer(0, 2) for _ in range(length)]
        if not any(repeats):
            raise DoesNotFitError
        by = torch.tensor(repeats)
    return g.call(
        kind, lambda x: torch.repeat_interleave(x, by, dim=axis), a, repeats=repeats, axis=axis
    )


def roll(g, a):
    if a.ndim == 0:
        raise DoesNotFitError
    choice = g.integer(0, 2)
    if choice == 0:
        shift = g.integer(-5, 5)
        return g.call("roll", lambda x: torch.roll(x, shift), a, shift=shift)
    if choice == 1:
        shift, axis = g.integer(-3, 3), g.axis(a.ndim)
        return g.call("roll", lambda x: torch.roll(x, shift, axis), a, shift=shift, axis=axis)
    axes = tuple(int(axis) for axis in g.rng.permutation(a.ndim)[: g.integer(1, a.ndim)])
    shifts = tuple(g.integer(-3, 3) for _ in axes)
    return g.call("roll", lambda x: torch.roll(x, shifts, axes), a, shift=shifts, axis=axes)


def triangle(g, a):
    if a.ndim < 2:
        raise DoesNotFitError
    kind = g.pick(["diagonal", "tril", "triu"])
    k = g.integer(-1, 1)
    if kind == "tril":
        return g.call(kind, lambda x: torch.tril(x, k), a, k=k)
    if kind == "triu":
        return g.call(kind, lambda x: torch.triu(x, k), a, k=k)
    axis1, axis2 = (int(axis) for axis in g.rng.permutation(a.ndim)[:2])
    return g.call(
        kind,
        lambda x: torch.diagonal(x, k, axis1, axis2),
        a,
        offset=k,
        axis1=axis1,
        axis2=axis2,
    )


def join(g, a):
    """concatenate, stack, the *stack family and append, of a and partners."""
    kind = g.pick(["concatenate", "stack", "vstack", "hstack", "dstack", "column_stack", "append"])
    if kind in ("concatenate", "append"):
        if a.ndim == 0:
            raise DoesNotFitError
        axis = g.axis(a.ndim) if kind == "concatenate" or g.chance(0.6) else None

        def theirs(*xs):
            if axis is None:  # NumPy's concatenate and append flatten the arrays then
                return torch.cat([x.reshape(-1) for x in xs])
            return torch.cat(xs, axis)

        def fits(node):
            if axis is None:
                return True
            shape, other = list(node.shape), list(a.shape)
            if node.ndim != a.ndim:
                return False
            shape[axis] = other[axis] = 0
            return shape == other

        operands = [a, *(g.partner(a, fits) for _ in range(g.integer(1, 2)))]
        fields = [f"{{{i}}}" for i in range(len(operands))]
        if kind == "append":
            text = f"sg.append({fields[0]}, {fields[1]}, axis={axis})"
            return g.apply(text, lambda x, y: sg.append(x, y, axis=axis), theirs, *operands[:2])
        module = g.pick(["sg", "np"])
        ours = getattr(sg if module == "sg" else np, kind)
        text = f"{module}.concatenate([{', '.join(fields)}], axis={axis})"
        return g.apply(text, lambda *xs: ours(xs, axis=axis), theirs, *operands)
    operands = [
        a,
        *(g.partner(a, lambda node: node.shape == a.shape) for _ in range(g.integer(1, 2))),
    ]
    fields = ", ".join(f"{{{i}}}" for i in range(len(operands)))
    module = g.pick(["sg", "np"])
    ours = getattr(sg if module == "sg" else np, kind)
    if kind == "stack":
        axis = g.integer(-a.ndim - 1, a.ndim)
        return g.apply(
            f"{module}.stack([{fields}], axis={axis})",
            lambda *xs: ours(xs, axis=axis),
            lambda *xs: torch.stack(xs, axis),
            *operands,
        )
    theirs = getattr(torch, kind)
    return g.apply(
        f"{module}.{kind}([{fields}])", lambda *xs: ours(xs), lambda *xs: theirs(xs), *operands
    )


def split(g, a):
    if a.ndim == 0:
        raise DoesNotFitError
    kind = g.pick(["split", "array_split", "vsplit", "hsplit", "dsplit"])
    axis = {"vsplit": 0, "hsplit": 1 if a.ndim > 1 else 0, "dsplit": 2}.get(kind, g.axis(a.ndim))
    if axis >= a.ndim or (kind == "vsplit" and a.ndim < 2):
        raise DoesNotFitError
    length = a.shape[axis]
    if g.chance(0.5):
        sections = g.integer(1, 3)
        if kind != "array_split" and length % sections:
            raise DoesNotFitError
        how = sections
        pieces = sections
    else:
        how = sorted(g.integer(0, length) for _ in range(g.integer(1, 2)))
        pieces = len(how) + 1
    piece = g.integer(0, pieces - 1)
    params = "" if kind in ("vsplit", "hsplit", "dsplit") else f", axis={axis}"
    keyword = {} if params == "" else {"axis": axis}
    return g.apply(
        f"sg.{kind}({{0}}, {how!r}{params})[{piece}]",
        lambda x: getattr(sg, kind)(x, how, **keyword)[piece],
        lambda x: torch.tensor_split(x, how, axis)[piece],
        a,
    )


def index_text(part):
    if part is None:
        return "None"
    if part is Ellipsis:
        return "..."
    if isinstance(part, slice):
        text = ":".join("" if n is None else str(n) for n in (part.start, part.stop))
        return text if part.step is None else f"{text}:{part.step}"
    return literal(part)


def getitem(g, a):
    """Basic indices (ints, slices with steps, None, ...), integer arrays (with repeats,
    negative, 2-D), two of them (adjacent or apart), and boolean masks."""
    if a.ndim == 0:
        raise DoesNotFitError
    kind = g.pick(["basic", "basic", "array", "arrays", "mask"])
    parts = []
    if kind == "basic":
        count = g.integer(1, a.ndim)
        ellipsis = count < a.ndim and g.chance(0.2)  # then the parts index the last axes
        for n in a.shape[a.ndim - count :] if ellipsis else a.shape[:count]:
            r = g.rng.random()
            if r < 0.3:
                parts.append(g.integer(-n, n - 1))
            elif r < 0.45:
                parts.append(slice(None))
            else:
                start = g.integer(-n, n - 1) if g.chance(0.6) else None
                stop = g.integer(-n, n) if g.chance(0.6) else None
                parts.append(slice(start, stop, g.pick([None, 1, 2])))
        if g.chance(0.2):
            parts.insert(g.integer(0, len(parts)), None)
        if ellipsis:
            parts.insert(0, Ellipsis)
    elif kind == "array":
        axis = g.integer(0, a.ndim - 1)
        n = a.shape[axis]
        shape = g.pick([(g.integer(1, 4),), (2, 2), ()])
        parts = [slice(None)] * axis + [g.rng.integers(-n, n, shape)]
        if axis + 1 < a.ndim and g.chance(0.3):
            parts.append(g.integer(0, a.shape[axis + 1] - 1))
    elif kind == "arrays":
        if a.ndim < 2:
            raise DoesNotFitError
        first, second = sorted(int(axis) for axis in g.rng.permutation(a.ndim)[:2])
        shape = g.pick([(3,), (2, 1)])
        parts = [slice(None)] * first + [g.rng.integers(0, a.shape[first], shape)]
        parts += [slice(None)] * (second - first - 1)
        if g.chance(0.3):
            parts.append(g.integer(0, a.shape[second] - 1))
        else:
            n = a.shape[second]
            parts.append(g.rng.integers(-n, n, g.pick([(3,), (1,)])))
    else:
        mask = g.rng.random(a.shape[: g.integer(1, a.ndim)]) < 0.6
        if not mask.any():
            raise DoesNotFitError
        parts = [mask]
    parts = tuple(parts)
    advanced = any(isinstance(part, np.ndarray) and part.ndim for part in parts)

    def torch_part(part):
        # NumPy takes an int among arrays as an advanced index (PyTorch as a basic one),
        # and a 0-d array alone as an int (PyTorch does the same with a 0-d tensor).
        if isinstance(part, np.ndarray):
            return torch.tensor(part) if part.ndim else int(part)
        if advanced and isinstance(part, int):
            return torch.tensor([part])
        return part

    torch_index = tuple(torch_part(part) for part in parts)
    text = ", ".join(index_text(part) for part in parts)
    return g.apply(f"{{0}}[{text}]", lambda x: x[parts], lambda x: x[torch_index], a)


# ---- nn.functional ----------------------------------------------------------------------
def window_parameters(g, length, pool):
    """kernel, stride, padding, dilation for one spatial axis of ``length``."""
    dilation = g.pick([1, 1, 2])
    kernel = g.integer(1, 3)
    padding = g.integer(0, kernel // 2) if pool else g.integer(0, 2)
    if dilation * (kernel - 1) + 1 > length + 2 * padding:
        raise DoesNotFitError
    return kernel, g.integer(1, 2), padding, dilation


def per_axis(g, values):
    """One int for every axis where they agree (now and then), else the tuple."""
    return values[0] if len(set(values)) == 1 and g.chance(0.6) else tuple(values)


def convolution(g, a):
    rank = g.integer(1, 2)
    x = g.with_ndim(a, rank + 2)
    channels = x.shape[1]
    groups = g.pick(d for d in range(1, channels + 1) if channels % d == 0)
    out_channels = groups * g.integer(1, 2)
    found = [window_parameters(g, n, pool=False) for n in x.shape[2:]]
    kernel, stride, padding, dilation = (tuple(f[i] for f in found) for i in range(4))
    weight = g.leaf((out_channels, channels // groups, *kernel))
    bias = g.leaf((out_channels,)) if g.chance(0.5) else None
    params = {
        "stride": per_axis(g, stride),
        "padding": per_axis(g, padding),
        "dilation": per_axis(g, dilation),
        "groups": groups,
    }
    name = f"conv{rank}d"
    ours, theirs = getattr(F, name), getattr(tf, name)
    keywords = ", ".join(f"{key}={value!r}" for key, value in params.items())
    if bias is None:
        return g.apply(
            f"F.{name}({{0}}, {{1}}, {keywords})",
            lambda x, w: ours(x, w, **params),
            lambda x, w: theirs(x, w, **params),
            x,
            weight,
        )
    return g.apply(
        f"F.{name}({{0}}, {{1}}, {{2}}, {keywords})",
        lambda x, w, b: ours(x, w, b, **params),
        lambda x, w, b: theirs(x, w, b, **params),
        x,
        weight,
        bias,
    )


def pool(g, a):
    rank = g.integer(1, 2)
    kind = g.pick(["max", "avg"])
    x = g.with_ndim(a, rank + 2)
    found = [window_parameters(g, n, pool=True) for n in x.shape[2:]]
    kernel, stride, padding, dilation = (tuple(f[i] for f in found) for i in range(4))
    params = {"kernel_size": per_axis(g, kernel)}
    if g.chance(0.7):
        params["stride"] = per_axis(g, stride)
    if any(padding) or g.chance(0.2):
        params["padding"] = per_axis(g, padding)
    if kind == "max" and (any(d > 1 for d in dilation) or g.chance(0.2)):
        params["dilation"] = per_axis(g, dilation)
    name = f"{kind}_pool{rank}d"
    ours, theirs = getattr(F, name), getattr(tf, name)
    keywords = ", ".join(f"{key}={value!r}" for key, value in params.items())
    return g.apply(
        f"F.{name}({{0}}, {keywords})",
        lambda x: ours(x, **params),
        lambda x: theirs(x, **params),
        x,
    )


def linear(g, a):
    if a.ndim == 0:
        raise DoesNotFitError
    weight = g.leaf((g.integer(1, 4), a.shape[-1]))
    if g.chance(0.5):
        return g.apply("F.linear({0}, {1})", F.linear, tf.linear, a, weight)
    bias = g.leaf((weight.shape[0],))
    return g.apply("F.linear({0}, {1}, {2})", F.linear, tf.linear, a, weight, bias)


def loss(g, a):
    kind = g.pick(
        ["cross_entropy", "cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy"]
    )
    reduction = g.pick(["mean", "sum", "none"])
    if kind == "mse_loss":
        target = g.partner(a, lambda node: node.shape == a.shape)
        return g.apply(
            f"F.mse_loss({{0}}, {{1}}, reduction={reduction!r})",
            lambda x, y: F.mse_loss(x, y, reduction=reduction),
            lambda x, y: tf.mse_loss(x, y, reduction=reduction),
            a,
            target,
        )
    if kind == "binary_cross_entropy":
        p = g.call("sigmoid", torch.sigmoid, g.prepared(a, "saturating"))
        target = g.rng.uniform(0, 1, a.shape)
        keywords = {"reduction": reduction}
        torch_keywords = dict(keywords)
        text = f"F.binary_cross_entropy({{0}}, {g.constant(target)}"
        if a.ndim and g.chance(0.5):
            weight = g.rng.uniform(0.5, 2.0, a.shape[-1])
            text += f", weight={g.constant(weight)}"
            keywords["weight"] = weight
            torch_keywords["weight"] = torch.tensor(weight)
        return g.apply(
            text + f", reduction={reduction!r})",
            lambda x: F.binary_cross_entropy(x, target, **keywords),
            lambda x: tf.binary_cross_entropy(x, torch.tensor(target), **torch_keywords),
            p,
        )
    if a.ndim == 0:
        raise DoesNotFitError
    if a.ndim > 4:
        a = g.with_ndim(a, 4)
    if kind == "cross_entropy":
        a = g.prepared(a, "saturating")
    classes = a.shape[0 if a.ndim == 1 else 1]
    keywords = {"reduction": reduction}
    torch_keywords = dict(keywords)
    target_shape = a.shape[:1] + a.shape[2:] if a.ndim > 1 else ()
    if kind == "cross_entropy" and g.chance(0.4):  # class probabilities
        logits = g.rng.standard_normal(a.shape)
        target = np.exp(logits) / np.exp(logits).sum(axis=0 if a.ndim == 1 else 1, keepdims=True)
    else:
        target = g.rng.integers(0, classes, target_shape)
        if target.size > 1 and g.chance(0.3):
            target.flat[g.integer(0, target.size - 1)] = -100
            if kind == "nll_loss" and g.chance(0.5):
                keywords["ignore_index"] = torch_keywords["ignore_index"] = -100
    text = f"F.{kind}({{0}}, {g.constant(target)}"
    if g.chance(0.4):
        weight = g.rng.uniform(0.5, 2.0, classes)
        text += f", weight={g.constant(weight)}"
        keywords["weight"] = weight
        torch_keywords["weight"] = torch.tensor(weight)
    if kind == "cross_entropy" and g.chance(0.4):
        keywords["label_smoothing"] = torch_keywords["label_smoothing"] = 0.1
    text += "".join(f", {key}={value!r}" for key, value in keywords.items() if key != "weight")
    ours, theirs = getattr(F, kind), getattr(tf, kind)
    return g.apply(
        text + ")",
        lambda x: ours(x, target, **keywords),
        lambda x: theirs(x, torch.tensor(target), **torch_keywords),
        a,
    )


# ---- the NumPy names of issue 11 -------------------------------------------------------
def scan(g, a):
    """cumsum and cumprod (along an axis or flattened), and diff."""
    if a.ndim == 0:
        raise DoesNotFitError
    kind = g.pick(["cumsum", "cumprod", "diff"])
    if kind == "diff":
        axis, n = g.axis(a.ndim), g.integer(1, 2)
        if a.shape[axis] <= n:
            raise DoesNotFitError
        return g.call(kind, lambda x: torch.diff(x, n, dim=axis), a, n=n, axis=axis)
    if kind == "cumprod":
        a = g.prepared(a, "saturating")  # a product of many factors stays in range
    theirs = torch.cumsum if kind == "cumsum" else torch.cumprod
    if g.chance(0.3):
        return g.call(kind, lambda x: theirs(x.reshape(-1), 0), a)
    axis = g.axis(a.ndim)
    return g.call(kind, lambda x: theirs(x, axis), a, axis=axis)


def sort_or_gather(g, a):
    """sort along an axis, and take_along_axis with indices (repeated ones too)."""
    if a.ndim == 0:
        raise DoesNotFitError
    axis = g.axis(a.ndim)
    if g.chance(0.5):
        return g.call("sort", lambda x: torch.sort(x, dim=axis, stable=True).values, a, axis=axis)
    shape = list(a.shape)
    shape[axis] = g.integer(1, 4)
    indices = g.rng.integers(0, a.shape[axis], shape)
    name = g.constant(indices)
    return g.apply(
        f"sg.take_along_axis({{0}}, {name}, {axis})",
        lambda x: sg.take_along_axis(x, indices, axis),
        lambda x: torch.take_along_dim(x, torch.tensor(indices), axis),
        a,
    )


def products(g, a):
    """kron, tensordot, inner and cross, of a and a partner."""
    kind = g.pick(["kron", "tensordot", "inner", "cross"])
    if kind == "kron":
        b = g.partner(a, lambda node: node.ndim <= 2 and node.data.size <= 6)
        if a.ndim > 2 or a.data.size > 6:
            raise DoesNotFitError
        return g.call(kind, torch.kron, a, b)
    if kind == "cross":
        if a.ndim == 0 or a.shape[-1] != 3:
            raise DoesNotFitError
        b = g.partner(a)
        if b.ndim == 0 or b.shape[-1] != 3:
            raise DoesNotFitError
        shape = torch.broadcast_shapes(a.theirs.shape, b.theirs.shape)
        return g.call(kind, lambda x, y: torch.linalg.cross(x.expand(shape), y.expand(shape)), a, b)
    if a.ndim == 0:
        raise DoesNotFitError
    b = g.partner(a, lambda node: node.ndim >= 1 and node.shape[-1] == a.shape[-1])
    if kind == "inner":
        return g.call(kind, lambda x, y: torch.tensordot(x, y, ([-1], [-1])), a, b)
    axes = ([a.ndim - 1], [b.ndim - 1])
    return g.call(kind, lambda x, y: torch.tensordot(x, y, axes), a, b, axes=axes)


def choose(g, a):
    """fmax and fmin of a and a partner, and clip (NumPy's function on a tensor too)."""
    kind = g.pick(["fmax", "fmin", "clip"])
    if kind == "clip":
        return g.call(kind, lambda x: torch.clamp(x, -0.5, 0.7), a, a_min=-0.5, a_max=0.7)
    b = g.partner(a)
    return g.call(kind, getattr(torch, kind), a, b)


def fits_into(shape, target):
    """Whether an array of ``shape`` broadcasts to ``target`` (one way)."""
    return broadcasts(shape, target) and np.broadcast_shapes(shape, target) == target


def assign(g, a):
    """``t[index] = v`` on a computed copy of a: recorded in the graph."""
    if a.ndim == 0:
        raise DoesNotFitError
    row = g.integer(0, a.shape[0] - 1)
    value_shape = a.shape[1:]
    v = g.partner(a, lambda node: fits_into(node.shape, value_shape))

    def ours(x, y):
        copy = x * 1.0
        copy[row] = y
        return copy

    def theirs(x, y):
        copy = x * 1.0
        copy[row] = y
        return copy

    return g.apply(f"({{0}} * 1.0)[{row}] = {{1}}", ours, theirs, a, v)


OPS_AND_WEIGHTS = [
    (unary, 8),
    (unary_with_parameter, 1.5),
    (binary, 6),
    (where, 1),
    (with_constant, 2),
    (reduction, 5),
    (softmax, 1.5),
    (matmul, 1.5),
    (dot, 0.5),
    (outer, 0.5),
    (einsum, 1.5),
    (trace, 0.5),
    (reshape, 1),
    (transpose, 1),
    (swap_or_move, 1),
    (flip, 1),
    (expand_or_squeeze, 1),
    (pad, 1),
    (tile_or_repeat, 1),
    (roll, 0.7),
    (triangle, 1),
    (join, 1.5),
    (split, 0.7),
    (getitem, 2.5),
    (convolution, 1),
    (pool, 1),
    (linear, 0.7),
    (loss, 1),
    (scan, 1),
    (sort_or_gather, 1),
    (products, 1),
    (choose, 1),
    (assign, 1),
]
OPS = [op for op, _ in OPS_AND_WEIGHTS]
WEIGHTS = np.array([weight for _, weight in OPS_AND_WEIGHTS]) / sum(w for _, w in OPS_AND_WEIGHTS)


# ---- the comparison ---------------------------------------------------------------------
def symgrad_grad(outputs, inputs, seed, create_graph):
    return sg.grad(outputs, inputs, seed, create_graph=create_graph)


def torch_grad(outputs, inputs, seed, create_graph):
    seed = None if seed is None else torch.tensor(seed)
    return torch.autograd.grad(outputs, inputs, seed, create_graph=create_graph)


def derivatives(grad, constant, out, leaves, upstream, probes, second_order):
    """By label: each leaf's gradient for ``upstream`` and, with ``second_order``, the
    gradient of sum(gradient * probe), in one library (``grad``, and ``constant`` to make
    an array its constant)."""
    tensors = list(leaves.values())
    firsts = grad(out, tensors, upstream, second_order)
    found = {f"{name}: gradient (sg.grad)": d for name, d in zip(leaves, firsts)}
    if not second_order:
        return found
    # `leaf * 0.0` keeps every leaf in the second graph (a linear graph has none there)
    total = sum(
        (d * constant(probes[name])).sum() + (leaf * 0.0).sum()
        for d, (name, leaf) in zip(firsts, leaves.items())
    )
    seconds = grad(total, tensors, None, False)
    found.update({f"{name}: second order": d for name, d in zip(leaves, seconds)})
    return found


def compare(g, out):
    """The value, the leaves' .grad after backward(upstream), sg.grad's gradients and
    second orders, each against PyTorch's."""
    upstream = np.asarray(g.rng.standard_normal(out.shape))
    probes = {leaf.name: g.rng.standard_normal(leaf.shape) for leaf in g.leaves}
    theirs = {"value": out.theirs}
    ours = {"value": out.ours}
    out.ours.backward(upstream, retain_graph=True)
    out.theirs.backward(torch.tensor(upstream), retain_graph=True)
    used = [leaf for leaf in g.leaves if leaf.theirs.grad is not None]
    for leaf in g.leaves:
        if (leaf.ours.grad is None) != (leaf.theirs.grad is None):
            grads = ["None" if t.grad is None else "set" for t in (leaf.ours, leaf.theirs)]
            raise AssertionError(f"{leaf.name}.grad is {grads[0]}, torch's is {grads[1]}")
    ours.update({f"{leaf.name}: .grad": leaf.ours.grad for leaf in used})
    theirs.update({f"{leaf.name}: .grad": leaf.theirs.grad for leaf in used})
    more = not g.first_order_only
    ours_leaves = {leaf.name: leaf.ours for leaf in used}
    theirs_leaves = {leaf.name: leaf.theirs for leaf in used}
    args = (upstream, probes, more)
    theirs.update(derivatives(torch_grad, torch.tensor, out.theirs, theirs_leaves, *args))
    ours.update(derivatives(symgrad_grad, np.asarray, out.ours, ours_leaves, *args))
    noise = None
    for label, expected in theirs.items():
        expected = expected.detach().numpy()
        try:
            assert_close(ours[label], expected, label)
        except AssertionError:
            # Within what rounding alone can change? (ill-conditioned: both are off)
            noise = noise_floor(g, out, used, args) if noise is None else noise
            assert_close(ours[label], expected, label, np.abs(noise[label] - expected).max())


def assert_close(ours, theirs, what, noise=0.0):
    """Relative to each element and to the largest of the array, in float64; absolute
    for what cancels to 0 (never finer than ATOL) or what rounding can change (noise)."""
    rtol = SECOND_RTOL if "second order" in what else RTOL
    ours = ours.data if isinstance(ours, sg.Tensor) else ours
    assert isinstance(ours, np.ndarray), f"{what}: a {type(ours).__name__}, not an ndarray"
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape}, torch {theirs.shape}"
    assert ours.dtype == np.float64, f"{what}: dtype {ours.dtype}"
    assert np.isfinite(theirs).all(), f"{what}: torch's is not finite (a domain to keep)"
    atol = max(rtol * np.abs(theirs).max(initial=0.0), ATOL, noise)
    note = f" (rounding alone changes torch's by {noise:.3g})" if noise else ""
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what + note)


def noise_floor(g, out, used, args):
    """PyTorch's results again, every node (leaves too) moved by a relative NOISE with
    random signs, as rounding moves them: how far rounding carries to each result. Where
    that is far (a product of many factors, a second order that cancels, a softmax of
    large logits), both libraries are about that far from the exact result."""
    rng = np.random.default_rng(0)
    leaves, values = {}, {}
    for node in g.nodes:
        if node in g.leaves:
            value = leaves[node.name] = torch.tensor(node.data, requires_grad=True)
        else:
            value = node.make_theirs(*(values[i.name] for i in node.inputs))
        signs = rng.choice([-1.0, 1.0], tuple(value.shape))
        values[node.name] = value * torch.tensor(1 + NOISE * signs)
    out = values[out.name]
    out.backward(torch.tensor(args[0]), retain_graph=True)
    found = {"value": out}
    found.update({f"{leaf.name}: .grad": leaves[leaf.name].grad for leaf in used})
    used_leaves = {leaf.name: leaves[leaf.name] for leaf in used}
    found.update(derivatives(torch_grad, torch.tensor, out, used_leaves, *args))
    return {label: array.detach().numpy() for label, array in found.items()}


@pytest.mark.parametrize("seed", SEEDS)
def test_random_graph(seed):
    g = Graph(seed)
    try:
        out = g.build()
        compare(g, out)
    except Exception as error:
        raise AssertionError(
            f"seed {seed}: {type(error).__name__}: {error}\n  the graph (Graph({seed}).build()):"
            f"\n{g.program()}"
        ) from error
