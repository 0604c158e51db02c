"""The element-wise op table: one row per op, its forward definition and its checks.

Adding an op is adding a row here and running ``make generate``; the tests pick it up.
A row may use an op declared above it as a function (``silu`` uses ``sigmoid``), so its
stable kernel and its derived rule are reused.
"""

from sympy import (
    Abs,
    Float,
    Function,
    Max,
    Min,
    Mod,
    Ne,
    Piecewise,
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    ceiling,
    cos,
    cosh,
    erf,
    exp,
    floor,
    log,
    pi,
    sign,
    sin,
    sinh,
    sqrt,
    tan,
    tanh,
)
from sympy.codegen.cfunctions import exp2, expm1, log1p, log2, log10

from symgrad.ops.spec import INF, Elementwise, Kink, SinPi, real_symbols

x, y, condition = real_symbols("x y condition")
negative_slope, alpha, a_min, a_max = real_symbols("negative_slope alpha a_min a_max")
mean, variance, eps = real_symbols("mean var eps")

# Ops of this table used inside later rows, by name.
sigmoid = Function("sigmoid")

# SELU's constants at full precision (Klambauer et al. 2017).
SELU_ALPHA = Float("1.6732632423543772848170429916717", 40)
SELU_SCALE = Float("1.0507009873554804934193349852946", 40)

POSITIVE = (0, INF)
UNIT = (-1, 1)
TIE = "ties split the gradient evenly, as PyTorch does"

OPS = (
    # ---- arithmetic ---------------------------------------------------------------
    Elementwise("add", x + y, inputs=("x", "y")),
    Elementwise("subtract", x - y, inputs=("x", "y")),
    Elementwise("multiply", x * y, inputs=("x", "y")),
    Elementwise("divide", x / y, inputs=("x", "y"), singular={"y": (0,)}),
    Elementwise(
        "power",
        x**y,
        inputs=("x", "y"),
        domain={"x": POSITIVE},
        # at x = 0, d/dx is y * 0**(y - 1): flat for y > 1, the slope 1 of x**1, vertical
        # for 0 < y < 1 (PyTorch's values; a rule that divides by x gets none of them)
        kinks=(
            Kink({"x": 0}, {"x": 0, "y": 0}, "0**y is flat for y > 1, as in PyTorch", {"y": 2}),
            Kink({"x": 0}, {"x": 1}, "x**1 has slope 1 at 0 too, as in PyTorch", {"y": 1}),
            Kink({"x": 0}, {"x": INF}, "0**y is vertical for 0 < y < 1", {"y": 0.5}),
            Kink({"x": 0, "y": 0}, {"x": 0}, "x**0 is 1 everywhere, flat at 0 too, as in PyTorch"),
        ),
    ),
    Elementwise("negative", -x),
    Elementwise("reciprocal", 1 / x, singular={"x": (0,)}),
    Elementwise("square", x**2),
    Elementwise("sqrt", sqrt(x), domain={"x": POSITIVE}, kinks=(Kink({"x": 0}, {"x": INF}),)),
    Elementwise(
        "maximum",
        Max(x, y),
        inputs=("x", "y"),
        kinks=(Kink({"x": y}, {"x": 0.5, "y": 0.5}, TIE),),
    ),
    Elementwise(
        "minimum",
        Min(x, y),
        inputs=("x", "y"),
        kinks=(Kink({"x": y}, {"x": 0.5, "y": 0.5}, TIE),),
    ),
    Elementwise("abs", Abs(x), kinks=(Kink({"x": 0}, {"x": 0}),)),
    Elementwise("sign", sign(x), kinks=(Kink({"x": 0}, {"x": 0}),)),
    Elementwise("floor", floor(x), singular={"x": (-2, -1, 0, 1, 2)}),
    Elementwise("ceil", ceiling(x), singular={"x": (-2, -1, 0, 1, 2)}),
    Elementwise(
        "mod",
        x - y * floor(x / y),
        inputs=("x", "y"),
        kernel=Mod(x, y),  # NumPy's mod: the sign of the divisor
        sample={"y": (0.5, 3.0)},
        singular={"x": (-3, -2, -1, 0, 1, 2, 3)},
    ),
    Elementwise("degrees", x * 180 / pi),
    Elementwise("radians", x * pi / 180),
    Elementwise(
        "clip",
        Piecewise((a_min, x < a_min), (a_max, x > a_max), (x, True)),
        params=(("a_min", None), ("a_max", None)),
        # NumPy's clip: a_max wins when the bounds cross.
        kernel=Min(Max(x, a_min), a_max),
        param_sample={"a_min": -1.0, "a_max": 1.0},
        kinks=(
            Kink({"x": a_min}, {"x": 1}, "the gradient passes at the bounds, as in PyTorch"),
            Kink({"x": a_max}, {"x": 1}, "the gradient passes at the bounds, as in PyTorch"),
        ),
    ),
    Elementwise(
        "where",
        Piecewise((x, Ne(condition, 0)), (y, True)),
        inputs=("condition", "x", "y"),
        no_grad=("condition",),
        sample={"condition": [0.0, 1.0]},
        method=False,
    ),
    # ---- exponentials and logarithms ----------------------------------------------
    Elementwise("exp", exp(x)),
    Elementwise("expm1", expm1(x)),
    Elementwise("log", log(x), domain={"x": POSITIVE}),
    Elementwise("log2", log2(x), domain={"x": POSITIVE}),
    Elementwise("log10", log10(x), domain={"x": POSITIVE}),
    Elementwise("exp2", exp2(x)),
    Elementwise(
        "logaddexp",
        log(exp(x) + exp(y)),
        inputs=("x", "y"),
        # the larger argument taken out: no overflow, full relative accuracy
        kernel=Max(x, y) + log1p(exp(-Abs(x - y))),
        singular={"x": (0,), "y": (0,)},
    ),
    Elementwise(
        "logaddexp2",
        log2(exp2(x) + exp2(y)),
        inputs=("x", "y"),
        kernel=Max(x, y) + log1p(exp2(-Abs(x - y))) / log(2),
        singular={"x": (0,), "y": (0,)},
    ),
    Elementwise("log1p", log1p(x), domain={"x": (-1, INF)}),
    # ---- trigonometric and hyperbolic -----------------------------------------------
    Elementwise("sin", sin(x)),
    # sin(pi x), exact at the integers (sinc's numerator, where its zeros are exact)
    Elementwise("sinpi", sin(pi * x), kernel=SinPi(x)),
    Elementwise("cos", cos(x)),
    Elementwise("tan", tan(x), sample={"x": (-1.4, 1.4)}),
    Elementwise("arcsin", asin(x), domain={"x": UNIT}),
    Elementwise("arccos", acos(x), domain={"x": UNIT}),
    Elementwise("arctan", atan(x)),
    Elementwise("arctan2", atan2(y, x), inputs=("y", "x"), singular={"x": (0,), "y": (0,)}),
    Elementwise("sinh", sinh(x)),
    Elementwise("cosh", cosh(x)),
    Elementwise("tanh", tanh(x)),
    Elementwise("arcsinh", asinh(x)),
    Elementwise("arccosh", acosh(x), domain={"x": (1, INF)}),
    Elementwise(
        "arctanh",
        atanh(x),
        domain={"x": UNIT},
        # the derivative's limit at the ends of the domain, as PyTorch's
        kinks=(Kink({"x": 1}, {"x": INF}, "its limit"), Kink({"x": -1}, {"x": INF}, "its limit")),
    ),
    Elementwise("erf", erf(x)),
    # ---- activations ----------------------------------------------------------------
    Elementwise(
        "sigmoid",
        1 / (1 + exp(-x)),
        # exp of non-positive arguments only: no overflow, full relative accuracy; one
        # exp, shared by both branches (it is the costly pass).
        kernel=Piecewise((1, x >= 0), (exp(-Abs(x)), True)) / (1 + exp(-Abs(x))),
    ),
    Elementwise(
        "relu",
        Piecewise((x, x > 0), (0, True)),
        kernel=Max(x, 0),  # one pass instead of a comparison and a select
        kinks=(Kink({"x": 0}, {"x": 0}),),
    ),
    Elementwise(
        "leaky_relu",
        Piecewise((x, x > 0), (negative_slope * x, True)),
        params=(("negative_slope", 0.01),),
        kinks=(Kink({"x": 0}, {"x": negative_slope}, "PyTorch's convention: negative_slope at 0"),),
    ),
    Elementwise(
        "elu",
        Piecewise((x, x > 0), (alpha * expm1(x), True)),
        params=(("alpha", 1.0),),
        kinks=(Kink({"x": 0}, {"x": alpha}, "PyTorch's convention: alpha at 0"),),
    ),
    Elementwise(
        "selu",
        SELU_SCALE * Piecewise((x, x > 0), (SELU_ALPHA * expm1(x), True)),
        kinks=(
            Kink({"x": 0}, {"x": SELU_SCALE * SELU_ALPHA}, "scale * alpha at 0, as in PyTorch"),
        ),
    ),
    Elementwise(
        "softplus",
        log(1 + exp(x)),
        # log1p of exp of a negative argument only: no overflow, full relative accuracy.
        kernel=Max(x, 0) + log1p(exp(-Abs(x))),
    ),
    Elementwise("gelu", x / 2 * (1 + erf(x / sqrt(2)))),
    Elementwise("silu", x * sigmoid(x)),
    # ---- normalization ---------------------------------------------------------------
    # x given its mean and variance (per channel for batch_norm, per sample for
    # layer_norm: derived reductions of x), eps added to the variance, as PyTorch's
    # norms. Through mean and var, their own rules carry the gradient on to x.
    Elementwise(
        "standardize",
        (x - mean) / sqrt(variance + eps),
        inputs=("x", "mean", "var"),
        params=(("eps", 1e-5),),
        domain={"var": POSITIVE},
        method=False,
    ),
)

# NumPy's other names for ops of the table (the same function under each).
ALIASES = (
    ("absolute", "abs"),
    ("fabs", "abs"),
    ("true_divide", "divide"),
    ("remainder", "mod"),
    ("deg2rad", "radians"),
    ("rad2deg", "degrees"),
)
