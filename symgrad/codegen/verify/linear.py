"""Verify the linear maps and multilinear ops: the unbroadcast, the structural ops, the
contractions and the window ops, each rendered module imported and its classes run as
the engine runs them. The dot-product test <A x, y> == <x, A^T y> proves each adjoint
(an affine op's linear part, a bias added; a max pool's at fixed maxima, a selection);
a structural op's declared steps are held against its forward."""

import itertools

import numpy

from symgrad import einsum_spec
from symgrad.codegen import linear
from symgrad.codegen.verify import policy
from symgrad.codegen.verify.loading import load, load_one
from symgrad.codegen.verify.policy import CheckError
from symgrad.ops.contractions import CONTRACTIONS
from symgrad.ops.structural import STRUCTURAL
from symgrad.ops.windows import WINDOWS


def check_unbroadcast(source, trials=200, seed=0):
    """The dot-product test <broadcast_to(x), y> == <x, unbroadcast(y)> on random shapes,
    the rendered source itself under test."""
    unbroadcast = load_one("unbroadcast", source).unbroadcast
    rng = numpy.random.default_rng(seed)
    for _ in range(trials):
        target = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 5)))
        shape = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 3))) + tuple(
            int(rng.integers(2, 4)) if (n == 1 and rng.random() < 0.5) else n for n in target
        )
        x, y = rng.standard_normal(target), rng.standard_normal(shape)
        left = numpy.vdot(numpy.broadcast_to(x, shape), y)
        right = numpy.vdot(x, unbroadcast(y, target))
        if not policy.adjoint_agrees(left, right):
            point = {"shape": target, "broadcast_to": shape}
            raise CheckError("unbroadcast", None, point, f"<Ax, y> = {left}, <x, A^T y> = {right}")


def check_structural(source, unbroadcast_source, trials=200, seed=0, ops=STRUCTURAL):
    """For each structural op, over the configurations its row draws, the rendered
    classes themselves under test: its declared steps give what its forward gives (the
    map the adjoint was derived from is the op's), and the dot-product test
    <A x, y> == <x, A^T y> holds for the derived adjoint; a variadic op maps several
    inputs, so <x, A^T y> sums over them."""
    namespace = vars(load({"unbroadcast": unbroadcast_source, "structural": source})["structural"])
    rng = numpy.random.default_rng(seed)
    for op in ops:
        cls = namespace[op.class_name]
        declared = _declared_map(op)
        for _ in range(trials):
            shapes, params = op.configs(rng)
            shapes = list(shapes) if op.variadic else [shapes]
            values = tuple(params[name] for name, *_ in op.params)
            point = {"shape": shapes if op.variadic else shapes[0], **params}
            xs = [rng.standard_normal(shape) for shape in shapes]
            out, saved = cls.forward_saving(*xs, *values)
            out = numpy.asarray(out)
            try:
                mapped = declared(xs if op.variadic else xs[0], out.shape, **params)
            except Exception as error:  # a declaration of the wrong map may not even run
                mapped = error
            if numpy.shape(mapped) != out.shape or not numpy.array_equal(mapped, out):
                steps = "; ".join(linear.describe(step) for step in op.steps)
                raise CheckError(op.name, "x", point, f"its steps {steps} are not its forward")
            y = rng.standard_normal(out.shape)
            needs = (True,) * len(xs)
            node = cls((None,) * len(xs), xs, out, values, needs, saved)
            try:
                x_bars = node.calculate_grads(y, node.children, node.out, needs)
            except Exception as error:  # the rendered code is under test: any failure is its
                raise CheckError(op.name, "x", point, f"the adjoint raises {error!r}") from None
            policy.check_fresh(op.name, cls, x_bars, [y, *xs, out], point)
            x_bars = [numpy.asarray(x_bar) for x_bar in x_bars]
            wrong_shape = [x_bar.shape for x_bar in x_bars] != [x.shape for x in xs]
            left = numpy.vdot(out, y)
            right = numpy.nan if wrong_shape else sum(map(numpy.vdot, xs, x_bars))
            if wrong_shape or not policy.adjoint_agrees(left, right):
                reason = f"<Ax, y> = {left}, <x, A^T y> = {right}"
                if wrong_shape:
                    reason = f"the adjoint gives shapes {[b.shape for b in x_bars]}, not {shapes}"
                raise CheckError(op.name, "x", point, reason)
            _check_structural_jvp(op, cls, node, declared, rng, shapes, out.shape, params, point)


def _check_structural_jvp(op, cls, node, declared, rng, shapes, out_shape, params, point):
    """The rendered jvp of a linear map is the declared map applied to the tangent (its
    central differences, exactly: the map is linear)."""
    tangents = [rng.standard_normal(shape) for shape in shapes]
    try:
        jvp = node.calculate_jvp(tangents, node.children, node.out)
    except Exception as error:  # the rendered code is under test
        raise CheckError(op.name, "the jvp", point, f"raises {error!r}") from None
    want = declared(tangents if op.variadic else tangents[0], out_shape, **params)
    if numpy.shape(jvp) != numpy.shape(want) or not numpy.array_equal(jvp, want):
        raise CheckError(op.name, "the jvp", point, "is not the map applied to the tangent")


def _declared_map(op):
    """The op's declared steps as a function of its input(s), the forward's result shape
    and its params: the map the adjoint is derived from, to hold against the forward."""
    from symgrad import index_maps

    names = ", ".join(name for name, *_ in op.params)
    shape = "x_shapes = [numpy.shape(a) for a in x]" if op.variadic else "x_shape = numpy.shape(x)"
    body = "\n    ".join([shape, *linear.map_lines(op.steps), "return x"])
    text = f"def declared(x, out_shape, {names}):\n    {body}\n"
    namespace = {"numpy": numpy, **vars(index_maps)}
    exec(text, namespace)
    return namespace["declared"]


# Specs for the dot-product test of the run-time einsum: batch axes, repeated letters,
# letters of one operand only, implicit outputs, three operands, and ellipses that do not
# lead, broadcast against each other (empty, shorter, of size 1) and so summed back inside
# the operand: a sum over leading axes would fail or (sizes alike) sum the wrong axis.
EINSUM_CHECKS = (
    ("...ij,...jk->...ik", [(4, 1, 2, 3), (5, 3, 2)]),
    ("i...,i...->i...", [(2, 3), (2,)]),
    ("j...k,lj...->lk...", [(3, 4), (5, 3, 3)]),
    ("j...k,lj...->lk...", [(3, 2, 1, 4), (5, 3, 3)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij->j", [(2, 2, 3)]),
    ("ij,k->i", [(2, 3), (4,)]),
    ("i...j,j->...i", [(2, 5, 3), (3,)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk,bkl->bil", [(2, 3, 4), (2, 4, 5), (2, 5, 3)]),
    ("i,j->ij", [(3,), (4,)]),
)


def check_contractions(source, unbroadcast_source, trials=30, seed=0):
    """The dot-product test for every operand of every contraction (einsum is linear in
    each operand), the rendered classes themselves under test."""
    namespace = vars(load_one("contractions", source))
    rng = numpy.random.default_rng(seed)
    cases = [
        (namespace[op.class_name], op.name, None, shapes)
        for op in CONTRACTIONS
        if op.spec
        for shapes in _matmul_shapes(rng, trials)
    ]
    cases += [
        (namespace["EinsumBackward"], "einsum", spec, shapes) for spec, shapes in EINSUM_CHECKS
    ]
    unbroadcast = load_one("unbroadcast", unbroadcast_source).unbroadcast
    for cls, name, spec, shapes in cases:
        operands = [rng.standard_normal(shape) for shape in shapes]
        params = ()
        if spec is not None:
            params = einsum_spec.parse(spec, [len(s) for s in shapes])
        point = {"spec": spec, "shapes": shapes}
        try:  # the rendered code is under test: any failure is its, unbroadcast as the engine
            grad, vjps = _run_rule(cls, operands, params, rng)
            vjps = [unbroadcast(numpy.asarray(v), o.shape) for v, o in zip(vjps, operands)]
        except CheckError:
            raise
        except Exception as error:
            raise CheckError(name, None, point, f"the vjps raise {error!r}") from None
        for place, (operand, vjp) in enumerate(zip(operands, vjps, strict=True)):
            probe = rng.standard_normal(operand.shape)
            moved = [probe if k == place else o for k, o in enumerate(operands)]
            left = numpy.vdot(grad, numpy.asarray(cls.forward(*moved, *params)))
            right = numpy.vdot(vjp, probe)
            if not policy.adjoint_agrees(left, right):
                raise CheckError(
                    name, f"operand {place}", point, f"<Ax, y> = {left}, <x, A^T y> = {right}"
                )
        _check_multilinear_jvp(cls, name, operands, params, rng, point)


def _check_multilinear_jvp(cls, name, operands, params, rng, point):
    """The rendered jvp against central differences of the forward along random tangents
    (for a map linear in each operand the error is of the third order in the step: 0
    for two operands)."""
    tangents = [rng.standard_normal(o.shape) for o in operands]
    node = cls((None,) * len(operands), operands, None, params, (True,) * len(operands))
    try:
        jvp = numpy.asarray(node.calculate_jvp(tangents, node.children, node.out))
    except Exception as error:  # the rendered code is under test
        raise CheckError(name, "the jvp", point, f"raises {error!r}") from None
    step = 1e-4
    ahead = cls.forward(*(o + step * t for o, t in zip(operands, tangents)), *params)
    behind = cls.forward(*(o - step * t for o, t in zip(operands, tangents)), *params)
    want = (numpy.asarray(ahead) - numpy.asarray(behind)) / (2 * step)
    if jvp.shape != want.shape or not numpy.allclose(jvp, want, rtol=1e-6, atol=1e-9):
        raise CheckError(name, "the jvp", point, "differs from central differences")


def _run_rule(cls, operands, params, rng, choices=()):
    """A random cotangent of the rendered op's output, and its rule's vjps for it;
    ``choices`` are passed to the forward after the params (a window op's layout)."""
    saved = None
    if cls.forward_saving is None:
        out = numpy.asarray(cls.forward(*operands, *params))
    else:
        out, saved = cls.forward_saving(*operands, *params, *choices)
    grad = rng.standard_normal(out.shape)
    needs = [True] * len(operands)
    node = cls([None] * len(operands), operands, out, params, needs, saved)
    grads = node.calculate_grads(grad, node.children, node.out, needs)
    seen = [grad, *operands, out, *(saved if isinstance(saved, tuple) else [saved])]
    policy.check_fresh(cls.name, cls, grads, [s for s in seen if s is not None], None)
    return grad, grads


def _matmul_shapes(rng, trials):
    for _ in range(trials):
        i, j, k = (int(n) for n in rng.integers(1, 5, size=3))
        batch = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 3)))
        other = tuple(1 if rng.random() < 0.3 else n for n in batch)[
            rng.integers(0, len(batch) + 1) :
        ]
        if rng.random() < 0.5:
            yield (*batch, i, j), (*other, j, k)
        else:
            yield (*other, i, j), (*batch, j, k)


def window_configs():
    """The grid the window ops are checked on: 1 and 2 spatial axes, strides 1-3, padding
    0-2, dilation 1-2, groups 1-2, odd and even sizes that the stride may not divide."""
    for rank in (1, 2):
        for stride in (1, 2, 3):
            for padding in (0, 1, 2):
                for dilation in (1, 2):
                    for groups in (1, 2):
                        config = _window_config(rank, stride, padding, dilation, groups, (7, 6))
                        extent = [dilation * (k - 1) + 1 for k in config["kernel"]]
                        sizes = zip(extent, config["size"], strict=True)
                        if all(e <= n + 2 * padding for e, n in sizes):
                            yield config
    # windows that tile the input exactly (stride = kernel, as a pool's default), where
    # the adjoint writes each element once and zeroes nothing
    for rank in (1, 2):
        yield {**_window_config(rank, 1, 0, 1, 1, (9, 6)), "stride": (3, 2)[:rank]}
    # empty arrays, as PyTorch takes them: a zero batch (the weight's and the bias'
    # gradients are zeros), no input channels (the output is the bias)
    for rank, groups in itertools.product((1, 2), (1, 2)):
        yield _window_config(rank, 2, 1, 1, groups, (7, 6), batch=0)
        yield _window_config(rank, 2, 1, 1, groups, (7, 6), channels=0)


def _window_config(rank, stride, padding, dilation, groups, size, batch=2, channels=2):
    return {
        "rank": rank,
        "stride": (stride,) * rank,
        "padding": (padding,) * rank,
        "dilation": (dilation,) * rank,
        "groups": groups,
        "size": size[:rank],
        "kernel": (3, 2)[:rank],
        "batch": batch,
        "channels": channels,  # per group
    }


def check_windows(source, seed=0):
    """The dot-product test for the input, weight and bias adjoints of the convolution and for
    the pools (the max pool at fixed maxima: a selection, its first maximum taking the
    gradient) over window_configs(), each on each kind of INPUTS, the rendered classes
    under test."""
    namespace = vars(load_one("windows", source))
    rng = numpy.random.default_rng(seed)
    for config in _both_layouts(_with_inputs(window_configs())):
        stride, padding, dilation = config["stride"], config["padding"], config["dilation"]
        groups, kernel = config["groups"], config["kernel"]
        x = rng.standard_normal((config["batch"], config["channels"] * groups, *config["size"]))
        x = INPUTS[config["inputs"]](x)
        for op in WINDOWS:
            cls = namespace[op.class_name]
            if config["batch_inner"] and op.reduce != "contract":
                continue  # the choice is the convolution's alone
            if config["inputs"] == "-inf" and op.reduce != "first_max":
                continue  # a product or mean of infinities has no linear part to test
            if op.reduce == "contract":
                weight = rng.standard_normal((3 * groups, config["channels"], *kernel))
                operands = [x, weight, rng.standard_normal(3 * groups)]
                params = (stride, padding, dilation, groups)
            else:
                if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
                    continue  # pools pad at most half a kernel
                operands, params = [x], (kernel, stride, padding, dilation)
            choices = (config["batch_inner"],) if op.reduce == "contract" else ()
            try:
                grad, vjps = _run_rule(cls, operands, params, rng, choices)
            except CheckError:
                raise
            except Exception as error:  # the rendered code is under test: any failure is its
                raise CheckError(op.name, None, config, f"raises {error!r}") from None
            for place, (operand, vjp) in enumerate(zip(operands, vjps, strict=True)):
                probe = rng.standard_normal(operand.shape)
                if op.reduce == "first_max":
                    applied = _selected_by(namespace, x, probe, params)
                else:
                    # affine in each operand (a bias is added): the linear part is
                    # f(probe) - f(0) in that operand, the others held
                    moved = [probe if k == place else o for k, o in enumerate(operands)]
                    zeroed = [0 * o if k == place else o for k, o in enumerate(operands)]
                    applied = numpy.asarray(cls.forward(*moved, *params)) - numpy.asarray(
                        cls.forward(*zeroed, *params)
                    )
                left, right = numpy.vdot(grad, applied), numpy.vdot(vjp, probe)
                if vjp.shape != operand.shape or not policy.adjoint_agrees(left, right):
                    message = f"<Ax, y> = {left}, <x, A^T y> = {right}"
                    raise CheckError(op.name, ("x", "w", "b")[place], config, message)
            if config["inputs"] == "random":  # a maximum that moves has no derivative
                _check_window_jvp(cls, op.name, operands, params, choices, rng, config)


def _check_window_jvp(cls, name, operands, params, choices, rng, config):
    """The rendered jvp against central differences of the forward along random tangents
    (exact but for rounding: the ops are bilinear, affine or piecewise linear, and the
    step moves no maximum)."""
    tangents = [rng.standard_normal(o.shape) for o in operands]
    saved = None
    if cls.forward_saving is None:
        out = numpy.asarray(cls.forward(*operands, *params))
    else:
        out, saved = cls.forward_saving(*operands, *params, *choices)
    node = cls(
        [None] * len(operands), operands, numpy.asarray(out), params, (True,) * len(operands), saved
    )
    try:
        jvp = numpy.asarray(node.calculate_jvp(tangents, node.children, node.out))
    except Exception as error:  # the rendered code is under test
        raise CheckError(name, "the jvp", config, f"raises {error!r}") from None
    step = 1e-6
    ahead = numpy.asarray(cls.forward(*(o + step * t for o, t in zip(operands, tangents)), *params))
    behind = numpy.asarray(
        cls.forward(*(o - step * t for o, t in zip(operands, tangents)), *params)
    )
    want = (ahead - behind) / (2 * step)
    if jvp.shape != want.shape or not numpy.allclose(jvp, want, rtol=1e-6, atol=1e-8):
        raise CheckError(name, "the jvp", config, "differs from central differences")


# The inputs the window ops are checked on: random (each window's maximum unique), with
# ties (-2 .. 2: most windows hold their maximum twice or more) and -inf throughout (for
# the max pool: each window's maximum ties with its padding, which is never selected).
INPUTS = {
    "random": lambda x: x,
    "ties": numpy.round,
    "-inf": lambda x: numpy.full_like(x, -numpy.inf),
}


def _with_inputs(configs):
    """Each configuration on each kind of INPUTS, the kind named in it."""
    for config in configs:
        for inputs in INPUTS:
            yield {**config, "inputs": inputs}


def _both_layouts(configs):
    """Each configuration twice: the convolution told to run in the input's layout and
    with the batch innermost, forward and backward (at run time a cost estimate picks
    one; both must be right), the choice named in the configuration."""
    for config in configs:
        for batch_inner in (False, True):
            yield {**config, "batch_inner": batch_inner}


def _selected_by(namespace, x, probe, params):
    """The max pool's linearization at x: ``probe`` read at the first maximum of each of
    x's windows among the elements read from x (the padding is never selected)."""
    kernel, stride, padding, dilation = params
    pad, windows = namespace["pad"], namespace["windows"]

    def flat_windows(a, value):
        """a's windows, padded with value, the kernel offsets in C order on one axis (of
        a size counted: NumPy cannot infer a -1 in an empty array)"""
        window = windows(pad(a, padding, value), kernel, stride, dilation)
        return window.reshape(*window.shape[: x.ndim], int(numpy.prod(kernel)))

    values, inside = flat_windows(x, -numpy.inf), flat_windows(numpy.ones_like(x), 0.0) > 0
    maxima = numpy.max(values, axis=-1, where=inside, initial=-numpy.inf, keepdims=True)
    first = numpy.argmax(inside & (values == maxima), axis=-1)[..., None]
    return numpy.take_along_axis(flat_windows(probe, 0.0), first, axis=-1)[..., 0]
