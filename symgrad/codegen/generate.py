"""The whole pipeline as one function: op tables in, source texts out (nothing written)."""

from pathlib import Path

import numpy

from symgrad import einsum_spec
from symgrad.codegen import render
from symgrad.codegen.check import CheckError
from symgrad.codegen.derive import derive_op
from symgrad.codegen.evaluate import Evaluator
from symgrad.codegen.reduce import derive_reduction
from symgrad.ops import elementwise
from symgrad.ops.contractions import CONTRACTIONS
from symgrad.ops.reductions import REDUCTIONS
from symgrad.ops.structural import STRUCTURAL

GENERATED = Path(__file__).resolve().parents[2] / "generated"
ELEMENTWISE_SOURCES = "symgrad/ops/elementwise.py"
REDUCTION_SOURCES = "symgrad/ops/reductions.py"
CONTRACTION_SOURCES = "symgrad/ops/contractions.py"
STRUCTURAL_SOURCES = "symgrad/ops/structural.py"


def derive_elementwise(ops=elementwise.OPS):
    """Derive and check every op of the table, in order (a row may use earlier rows)."""
    evaluator, functions = Evaluator(), {}
    derived = [derive_op(op, functions, evaluator) for op in ops]
    return derived, evaluator


def generate_sources(ops=elementwise.OPS, reductions=REDUCTIONS):
    """{file name: text} for every generated file; raises CheckError on any failed check."""
    derived, evaluator = derive_elementwise(ops)
    op_functions = evaluator.op_functions
    derived_reductions = [derive_reduction(r) for r in reductions]
    sources = {
        "__init__.py": render.render("package.py.j2", "the templates"),
        "elementwise.py": render.render(
            "elementwise.py.j2",
            ELEMENTWISE_SOURCES,
            ops=[render.elementwise_context(d, op_functions) for d in derived],
        ),
        "functions.py": render.render(
            "functions.py.j2",
            ELEMENTWISE_SOURCES,
            functions=[render.function_context(d) for d in derived],
            reductions=[render.reduction_context(d) for d in derived_reductions],
            structural=[render.structural_context(op) for op in STRUCTURAL],
        ),
        "structural.py": render.render(
            "structural.py.j2",
            STRUCTURAL_SOURCES,
            ops=[render.structural_context(op) for op in STRUCTURAL],
        ),
        "reductions.py": render.render(
            "reductions.py.j2",
            REDUCTION_SOURCES,
            ops=[render.reduction_context(d) for d in derived_reductions],
        ),
        "unbroadcast.py": render.render("unbroadcast.py.j2", "its docstring"),
        "contractions.py": render.render(
            "contractions.py.j2",
            CONTRACTION_SOURCES,
            fixed=[render.contraction_context(op) for op in CONTRACTIONS if op.spec],
        ),
    }
    check_unbroadcast(sources["unbroadcast.py"])
    check_linear_reductions(sources["reductions.py"], reductions)
    check_contractions(sources["contractions.py"])
    check_structural(sources["structural.py"], sources["unbroadcast.py"])
    return sources


def check_unbroadcast(source, trials=200, seed=0):
    """The dot-product test <broadcast_to(x), y> == <x, unbroadcast(y)> on random shapes,
    the rendered source itself under test."""
    namespace = {}
    exec(source, namespace)
    unbroadcast = namespace["unbroadcast"]
    rng = numpy.random.default_rng(seed)
    for _ in range(trials):
        target = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 5)))
        shape = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 3))) + tuple(
            int(rng.integers(2, 4)) if (n == 1 and rng.random() < 0.5) else n for n in target
        )
        x, y = rng.standard_normal(target), rng.standard_normal(shape)
        left = numpy.vdot(numpy.broadcast_to(x, shape), y)
        right = numpy.vdot(x, unbroadcast(y, target))
        if abs(left - right) > 1e-12 * max(1.0, abs(left)):
            point = {"shape": target, "broadcast_to": shape}
            raise CheckError("unbroadcast", None, point, f"<Ax, y> = {left}, <x, A^T y> = {right}")


def check_linear_reductions(source, reductions, trials=100, seed=0):
    """The dot-product test <f(x), y> == <x, vjp(y)> for each (linear) reduction, over
    random shapes, axes and keepdims, the rendered classes themselves under test."""
    namespace = {}
    exec(source, namespace)
    rng = numpy.random.default_rng(seed)
    for reduction in reductions:
        cls = namespace[reduction.class_name]
        for _ in range(trials):
            shape = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 5)))
            axis = _random_axis(rng, len(shape))
            keepdims = bool(rng.integers(2))
            x = rng.standard_normal(shape)
            out = numpy.asarray(cls.forward(x, axis, keepdims))
            y = rng.standard_normal(out.shape)
            node = cls((None,), (x,), out, (axis, keepdims), (True,))
            (x_bar,) = node.calculate_grads(y, (x,), out, (True,))
            left, right = numpy.vdot(out, y), numpy.vdot(x, x_bar)
            if abs(left - right) > 1e-12 * max(1.0, abs(left)):
                point = {"shape": shape, "axis": axis, "keepdims": keepdims}
                raise CheckError(
                    reduction.name, "x", point, f"<Ax, y> = {left}, <x, A^T y> = {right}"
                )


def _random_axis(rng, ndim):
    if ndim == 0 or rng.random() < 0.25:
        return None
    axes = [a - ndim if rng.random() < 0.5 else a for a in range(ndim) if rng.random() < 0.6]
    if not axes:
        return int(rng.integers(-ndim, ndim))
    return tuple(axes) if len(axes) > 1 or rng.random() < 0.5 else axes[0]


def check_structural(source, unbroadcast_source, trials=100, seed=0):
    """The dot-product test for each structural op and its declared adjoint, over the
    configurations its row draws, the rendered classes themselves under test."""
    namespace = {}
    exec(unbroadcast_source, namespace)
    exec(source.replace("from symgrad.generated.unbroadcast import unbroadcast\n", ""), namespace)
    rng = numpy.random.default_rng(seed)
    for op in STRUCTURAL:
        cls = namespace[op.class_name]
        for _ in range(trials):
            shape, params = op.configs(rng)
            values = tuple(params[name] for name, _ in op.params)
            x = rng.standard_normal(shape)
            out = numpy.asarray(cls.forward(x, *values))
            y = rng.standard_normal(out.shape)
            node = cls((None,), (x,), out, values, (True,))
            (x_bar,) = node.calculate_grads(y, (x,), out, (True,))
            left, right = numpy.vdot(out, y), numpy.vdot(x, x_bar)
            if x_bar.shape != x.shape or abs(left - right) > 1e-12 * max(1.0, abs(left)):
                point = {"shape": shape, **params}
                raise CheckError(op.name, "x", point, f"<Ax, y> = {left}, <x, A^T y> = {right}")


# Specs for the dot-product test of the run-time einsum: batch axes, repeated letters,
# letters of one operand only, implicit outputs, three operands.
EINSUM_CHECKS = (
    ("...ij,...jk->...ik", [(4, 1, 2, 3), (5, 3, 2)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij->j", [(2, 2, 3)]),
    ("ij,k->i", [(2, 3), (4,)]),
    ("i...j,j->...i", [(2, 5, 3), (3,)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk,bkl->bil", [(2, 3, 4), (2, 4, 5), (2, 5, 3)]),
    ("i,j->ij", [(3,), (4,)]),
)


def check_contractions(source, trials=30, seed=0):
    """The dot-product test for every operand of every contraction (einsum is linear in
    each operand), the rendered classes themselves under test."""
    namespace = {}
    exec(source, namespace)
    rng = numpy.random.default_rng(seed)
    cases = [
        (namespace[op.class_name], op.name, None, shapes)
        for op in CONTRACTIONS
        if op.spec
        for shapes in _matmul_shapes(rng, trials)
    ]
    cases += [(namespace["EinsumBackward"], "einsum", spec, shapes) for spec, shapes in EINSUM_CHECKS]
    unbroadcast_ns = {}
    exec(render.render("unbroadcast.py.j2", "its docstring"), unbroadcast_ns)
    for cls, name, spec, shapes in cases:
        operands = [rng.standard_normal(shape) for shape in shapes]
        params = ()
        if spec is not None:
            params = einsum_spec.parse(spec, [len(s) for s in shapes])
        out = numpy.asarray(cls.forward(*operands, *params))
        grad = rng.standard_normal(out.shape)
        needs = [True] * len(operands)
        node = cls([None] * len(operands), operands, out, params, needs)
        vjps = node.calculate_grads(grad, operands, out, needs)
        for place, (operand, vjp) in enumerate(zip(operands, vjps, strict=True)):
            vjp = unbroadcast_ns["unbroadcast"](numpy.asarray(vjp), operand.shape)
            probe = rng.standard_normal(operand.shape)
            moved = [probe if k == place else o for k, o in enumerate(operands)]
            left = numpy.vdot(grad, numpy.asarray(cls.forward(*moved, *params)))
            right = numpy.vdot(vjp, probe)
            if abs(left - right) > 1e-12 * max(1.0, abs(left)):
                point = {"spec": spec, "shapes": shapes, "operand": place}
                raise CheckError(name, f"operand {place}", point, f"<Ax, y> = {left}, <x, A^T y> = {right}")


def _matmul_shapes(rng, trials):
    for _ in range(trials):
        i, j, k = (int(n) for n in rng.integers(1, 5, size=3))
        batch = tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(0, 3)))
        other = tuple(1 if rng.random() < 0.3 else n for n in batch)[rng.integers(0, len(batch) + 1):]
        yield (batch + (i, j), other + (j, k)) if rng.random() < 0.5 else (other + (i, j), batch + (j, k))
