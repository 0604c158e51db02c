"""The whole pipeline as one function: op tables in, source texts out (nothing written).

Every kind goes the same way: derive, render, import the rendered text, verify the
classes in it (``symgrad.codegen.verify``). The element-wise ops and the reductions
choose among candidate forms by verifying each one rendered (``pipeline``); the linear
and multilinear kinds have one derived form each, verified as rendered.
"""

from pathlib import Path

from symgrad import reference
from symgrad.codegen import render
from symgrad.codegen.pipeline import ElementwisePipeline, ReductionPipeline
from symgrad.codegen.verify.linear import (
    check_contractions,
    check_structural,
    check_unbroadcast,
    check_windows,
)
from symgrad.ops import elementwise
from symgrad.ops.contractions import CONTRACTIONS
from symgrad.ops.reductions import REDUCTIONS
from symgrad.ops.structural import STRUCTURAL
from symgrad.ops.windows import WINDOWS

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "generated"
DOCS = ROOT / "docs"
ELEMENTWISE_SOURCES = "symgrad/ops/elementwise.py"
REDUCTION_SOURCES = "symgrad/ops/reductions.py"
CONTRACTION_SOURCES = "symgrad/ops/contractions.py"
STRUCTURAL_SOURCES = "symgrad/ops/structural.py"
WINDOW_SOURCES = "symgrad/ops/windows.py"


def derive_elementwise(ops=elementwise.OPS):
    """Derive, render and verify every op of the table, in order (a row may use earlier
    rows)."""
    pipeline = ElementwisePipeline(ELEMENTWISE_SOURCES)
    for op in ops:
        pipeline.add(op)
    return pipeline


def derive_reductions(reductions=REDUCTIONS):
    """Derive, render and verify every reduction of the table."""
    pipeline = ReductionPipeline(REDUCTION_SOURCES)
    for reduction in reductions:
        pipeline.add(reduction)
    return pipeline


def render_unbroadcast(ops=STRUCTURAL):
    """The adjoint of broadcasting, derived from broadcast_to's row of ``ops``."""
    broadcast_to = next(op for op in ops if op.name == "broadcast_to")
    context = render.unbroadcast_context(broadcast_to)
    return render.render("unbroadcast.py.j2", f"{STRUCTURAL_SOURCES} (broadcast_to)", **context)


def render_structural(ops, sources=STRUCTURAL_SOURCES):
    contexts = [render.structural_context(op) for op in ops]
    import_line = render.structural_imports(contexts)
    return render.render("structural.py.j2", sources, ops=contexts, import_line=import_line)


def generate_sources(ops=elementwise.OPS, reductions=REDUCTIONS):
    """{file name: text} for every generated file; raises CheckError on any failed check."""
    elementwise_ops = derive_elementwise(ops)
    derived = [state.derived() for state in elementwise_ops.states]
    reduction_ops = derive_reductions(reductions)
    derived_reductions = reduction_ops.derived
    sources = {
        "__init__.py": render.render("package.py.j2", "the templates"),
        "elementwise.py": elementwise_ops.module_text(),
        "reductions.py": reduction_ops.module_text(),
        "functions.py": render.render(
            "functions.py.j2",
            ELEMENTWISE_SOURCES,
            functions=[render.function_context(d) for d in derived],
            reductions=[render.reduction_context(d) for d in derived_reductions],
            structural=[render.structural_context(op) for op in STRUCTURAL],
            aliases=[render.alias_context(alias, name) for alias, name in elementwise.ALIASES],
        ),
        "unbroadcast.py": render_unbroadcast(),
        "structural.py": render_structural(STRUCTURAL),
        "contractions.py": render.render(
            "contractions.py.j2",
            CONTRACTION_SOURCES,
            fixed=[render.contraction_context(op) for op in CONTRACTIONS if op.spec],
        ),
    }
    mean = next(d for d in derived_reductions if d.reduction.name == "mean")
    sources["windows.py"] = render.render(
        "windows.py.j2",
        f"{WINDOW_SOURCES} (and the derived vjp of mean)",
        ops=[render.window_context(op, mean.code) for op in WINDOWS],
    )
    check_unbroadcast(sources["unbroadcast.py"])
    check_structural(sources["structural.py"], sources["unbroadcast.py"])
    check_contractions(sources["contractions.py"], sources["unbroadcast.py"])
    check_windows(sources["windows.py"])
    return sources


def generate_docs(sources):
    """{file name: text} of docs/: the op reference, read from ``sources`` (the generated
    files about to be written) and from the composites' modules."""

    def read(module):
        if module.startswith(f"{reference.GENERATED}."):
            return sources[module.rpartition(".")[2] + ".py"]
        return (ROOT / Path(*module.split("."))).with_suffix(".py").read_text()

    context = render.reference_context(reference.build(read))
    sources_text = "the docstrings of generated/ and of the composites"
    return {"ops.md": render.render("ops.md.j2", sources_text, **context)}
