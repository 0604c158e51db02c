"""Verify a reduction or normalization: its rendered class, run as the engine runs it,
against the definition it was derived from, over random shapes, axes and params."""

import warnings

import numpy

from symgrad import special
from symgrad.codegen.reduce import LOW_TEMPERATURE
from symgrad.codegen.verify import policy
from symgrad.codegen.verify.policy import CheckError


def verify_reduction(cls, derived, trials=40, seed=0):
    """The checks of one reduction's rendered class ``cls``, ``derived`` being what it
    was rendered from: the kernel equals the definition; the vjp passes the dot-product
    test (linear) or matches central finite differences of the kernel (float64) over
    random shapes, axes, keepdims and params; forward and backward stay finite at the
    declared stress values; and the declared conventions hold."""
    reduction = derived.reduction
    rng = numpy.random.default_rng(seed)
    names = "".join(f", {name}" for name, _ in reduction.params)
    definition = eval(
        f"lambda x, axes, n{names}: {derived.forward_code}", {"numpy": numpy, "special": special}
    )

    def run(x, axis, keepdims, extra, grad=None):
        params = _arguments(reduction, axis, keepdims, extra)
        out = numpy.asarray(cls.forward(x, *params))
        grad = rng.standard_normal(out.shape) if grad is None else grad
        node = cls((None,), (x,), out, params, (True,))
        grads = node.calculate_grads(grad, node.children, node.out, (True,))
        point = {"shape": x.shape, "axis": axis, "keepdims": keepdims}
        policy.check_fresh(reduction.name, cls, grads, [grad, x, out], point)
        return out, grad, grads[0]

    for _ in range(trials):
        shape = tuple(int(s) for s in rng.integers(1, 4, size=rng.integers(1, 4)))
        axis = _random_axis(rng, len(shape))
        if reduction.normalize and axis is None:
            axis = -1
        keepdims = bool(rng.integers(2))
        # a count (ddof) drawn as 0 or 1; any other param at its default
        extra = tuple(int(rng.integers(0, 2)) if d == 0 else d for _, d in reduction.params)
        x = rng.standard_normal(shape)
        point = {"shape": shape, "axis": axis, "keepdims": keepdims, "params": extra}
        axes = tuple(range(len(shape))) if axis is None else axis
        count = int(numpy.prod([shape[a] for a in numpy.atleast_1d(axes)]))
        if dict(zip([name for name, _ in reduction.params], extra)).get("ddof", 0) >= count:
            continue  # ddof leaves no degrees of freedom (the conventions check that)
        with numpy.errstate(all="ignore"):
            out, grad, x_bar = run(x, axis, keepdims, extra)
        if reduction.nonnegative and (out == 0).any():
            continue  # a square root at 0: no derivative there (conventions cover it)
        _check_jvp(cls, reduction, x, _arguments(reduction, axis, keepdims, extra), rng, point)
        expected = definition(x, axes, count, *extra)
        # A limit op's definition is evaluated at a low temperature: within this of it.
        atol = LOW_TEMPERATURE * numpy.log(count) + 1e-9 if reduction.temperature else 1e-12
        if expected is not None and not numpy.allclose(
            numpy.broadcast_to(expected, numpy.shape(expected)),
            out if (keepdims or reduction.normalize) else numpy.expand_dims(out, axes),
            rtol=1e-10,
            atol=atol,
        ):
            raise CheckError(reduction.name, None, point, "the kernel differs from the definition")
        if reduction.linear:
            probe = rng.standard_normal(shape)
            arguments = _arguments(reduction, axis, keepdims, extra)
            left = numpy.vdot(grad, numpy.asarray(cls.forward(probe, *arguments)))
            if not policy.adjoint_agrees(left, numpy.vdot(x_bar, probe)):
                raise CheckError(reduction.name, "x", point, "fails the dot-product test")
            continue
        numeric = numpy.zeros(shape)
        for index in numpy.ndindex(shape):
            moved = [x.copy(), x.copy()]
            moved[0][index] += 1e-6
            moved[1][index] -= 1e-6
            with numpy.errstate(all="ignore"):
                values = [numpy.vdot(grad, run(m, axis, keepdims, extra, grad)[0]) for m in moved]
            numeric[index] = (values[0] - values[1]) / 2e-6
        if not numpy.allclose(x_bar, numeric, rtol=1e-5, atol=1e-6):
            raise CheckError(
                reduction.name, "x", point, f"vjp {derived.code} differs from finite differences"
            )
    defaults = tuple(default for _, default in reduction.params)
    for value in reduction.stress:
        x = value + rng.standard_normal((3, 4))
        with numpy.errstate(all="ignore"):
            out, _, x_bar = run(x, -1, False, defaults)
        if not (numpy.isfinite(out).all() and numpy.isfinite(x_bar).all()):
            raise CheckError(reduction.name, "x", {"x": value}, "is not finite at a stress point")
        node = cls((None,), (x,), out, _arguments(reduction, -1, False, defaults), (True,))
        jvp = node.calculate_jvp((rng.standard_normal(x.shape),), node.children, node.out)
        if not numpy.isfinite(jvp).all():
            raise CheckError(
                reduction.name, "the jvp", {"x": value}, "is not finite at a stress point"
            )
    for convention in reduction.conventions:
        rows, axis, expected = convention.rows, convention.axis, convention.expected
        given = dict(convention.params)
        params = tuple(given.get(name, default) for name, default in reduction.params)
        point = {"x": rows, **given}
        x = numpy.array(rows, dtype=float)
        # NumPy's warnings as a user sees them: the backward may warn only where the
        # forward did (reaching an inf or a nan it already reported), never on its own
        with warnings.catch_warnings(record=True) as forward_warnings:
            warnings.simplefilter("always")
            out = numpy.asarray(cls.forward(x, *_arguments(reduction, axis, False, params)))
        node = cls((None,), (x,), out, _arguments(reduction, axis, False, params), (True,))
        with warnings.catch_warnings(record=True) as backward_warnings:
            warnings.simplefilter("always")
            (x_bar,) = node.calculate_grads(numpy.ones(out.shape), node.children, node.out, (True,))
        if not numpy.array_equal(x_bar, numpy.array(expected, dtype=float), equal_nan=True):
            raise CheckError(
                reduction.name, "x", point, f"gives {x_bar.tolist()}, the convention is {expected}"
            )
        if not numpy.isfinite(x_bar).all():  # zero stays zero where the rule is not finite
            (zero,) = node.calculate_grads(numpy.zeros(out.shape), node.children, node.out, (True,))
            if not numpy.array_equal(zero, numpy.zeros(zero.shape)):
                reason = f"a zero gradient gives {zero.tolist()}, not 0"
                raise CheckError(reduction.name, "x", point, reason)
        if backward_warnings and not forward_warnings:
            message = backward_warnings[0].message
            raise CheckError(reduction.name, "x", point, f"warns {message!r}, its forward not")


def _check_jvp(cls, reduction, x, arguments, rng, point):
    """The rendered jvp against central differences of the forward along a random
    tangent."""
    tangent = rng.standard_normal(x.shape)
    with numpy.errstate(all="ignore"):
        out = numpy.asarray(cls.forward(x, *arguments))
        node = cls((None,), (x,), out, arguments, (True,))
        try:
            jvp = numpy.asarray(node.calculate_jvp((tangent,), node.children, node.out))
        except Exception as error:  # the rendered code is under test
            raise CheckError(reduction.name, "the jvp", point, f"raises {error!r}") from None
        step = 1e-6
        ahead = numpy.asarray(cls.forward(x + step * tangent, *arguments))
        behind = numpy.asarray(cls.forward(x - step * tangent, *arguments))
    want = (ahead - behind) / (2 * step)
    if jvp.shape != want.shape or not numpy.allclose(jvp, want, rtol=1e-5, atol=1e-6):
        raise CheckError(reduction.name, "the jvp", point, "differs from central differences")


def _arguments(reduction, axis, keepdims, params):
    """What the class takes after x: a normalization keeps the reduced axes (no keepdims)."""
    return (axis, *params) if reduction.normalize else (axis, keepdims, *params)


def _random_axis(rng, ndim):
    if ndim == 0 or rng.random() < 0.25:
        return None
    axes = [a - ndim if rng.random() < 0.5 else a for a in range(ndim) if rng.random() < 0.6]
    if not axes:
        return int(rng.integers(-ndim, ndim))
    return tuple(axes) if len(axes) > 1 or rng.random() < 0.5 else axes[0]
