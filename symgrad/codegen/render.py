"""Render derived ops through the Jinja templates into Python source text.

All the symbolic work is done before this point; here expressions become statements
(common subexpressions first), and the templates only loop and substitute.
"""

import ast
import functools
import importlib.util
import re
from pathlib import Path

import jinja2
import numpy
import sympy

from symgrad.codegen.printer import print_numpy, select_may_warn
from symgrad.codegen.symbols import GRAD, OUT

# the repository's templates/, installed as the package symgrad.templates
TEMPLATES = Path(importlib.util.find_spec("symgrad.templates").origin).parent
TEMP_PREFIX = "tmp"


@functools.cache
def environment():
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template, sources, **context):
    text = (
        environment().get_template(template).render(template=template, sources=sources, **context)
    )
    return text.rstrip("\n") + "\n"


def statements(exprs, op_functions):
    """Assignments of the common subexpressions of ``exprs``, and each one's code."""
    temps, reduced = sympy.cse(
        exprs, symbols=sympy.numbered_symbols(TEMP_PREFIX), order="canonical"
    )
    lines = [f"{name} = {print_numpy(value, op_functions)}" for name, value in temps]
    return lines, [_code(expr, op_functions) for expr in reduced]


def _code(expr, op_functions):
    # A rule that is identically zero still owes a gradient of the output's shape.
    return "numpy.zeros_like(grad)" if expr == 0 else print_numpy(expr, op_functions)


def fresh_places(codes):
    """The positions whose rule code (None: no rule) computes a new array: any expression
    but a bare name (``grad`` passed on, or a temporary another input shares)."""
    return tuple(
        place
        for place, code in enumerate(codes)
        if code is not None and not isinstance(ast.parse(code, mode="eval").body, ast.Name)
    )


def _items(names):
    """``names`` as the items of a tuple display: "a, b", or "a," for one."""
    names = list(names)
    return ", ".join(names) + ("," if len(names) == 1 else "")


def _unpack(names, used, source):
    if not any(name in used for name in names):
        return []
    targets = ", ".join(name if name in used else "_" for name in names)
    return [f"{targets}{',' if len(names) == 1 else ''} = {source}"]


# NOTE: a select (numpy.where) computes every branch everywhere; what the branch not taken
# does there (exp overflowing where elu passes x through, log(0) where power's convention
# holds, 0/0 where the 2-norm's does) is not about the result, and NumPy's warnings about
# it would only mislead. Rules with such a select run with them off; the values are what
# NumPy gives either way.
QUIET = 'numpy.errstate(over="ignore", divide="ignore", invalid="ignore")'


def quiet(lines, exprs):
    """Rule lines, run with NumPy's floating-point warnings off where one of ``exprs``
    computes a select with a branch that can warn."""
    if not any(select_may_warn(expr) for expr in exprs):
        return lines
    return [f"with {QUIET}:", *(f"    {line}" for line in lines)]


# Printed kernels that are one NumPy operator on the op's inputs, in order: the ufunc.
OPERATOR_UFUNCS = {
    "{0} + {1}": "numpy.add",
    "{0} - {1}": "numpy.subtract",
    "{0}*{1}": "numpy.multiply",
    "{0}/{1}": "numpy.divide",
    "{0}**{1}": "numpy.power",
    "-{0}": "numpy.negative",
}


def ufunc_of(code, inputs):
    """The name of the NumPy ufunc that a kernel's printed return value applies to the
    op's inputs, in order, or None. The class binds that ufunc as its forward: the
    same computation without a Python call per op."""
    for template, name in OPERATOR_UFUNCS.items():
        if template.count("{") == len(inputs) and code == template.format(*inputs):
            return name
    call = re.fullmatch(r"numpy\.(\w+)\((.*)\)", code)
    if not call or call.group(2) != ", ".join(inputs):
        return None
    name = call.group(1)
    return f"numpy.{name}" if isinstance(getattr(numpy, name, None), numpy.ufunc) else None


def elementwise_context(derived, op_functions):
    """The template's view of one derived element-wise op."""
    op = derived.op
    params = [name for name, _ in op.params]
    vjps = derived.vjps
    used = {s.name for vjp in vjps.values() for s in vjp.free_symbols}
    for name in op.inputs + tuple(params):
        if name.startswith(TEMP_PREFIX):
            raise ValueError(f"{op.name}: the name {name!r} is reserved for temporaries")

    # NOTE: a candidate under verification may have rules for some inputs only
    grad_inputs = [name for name in op.grad_inputs if name in vjps]
    temp_lines, codes = statements([vjps[name] for name in grad_inputs], op_functions)
    by_input = dict(zip(grad_inputs, codes, strict=True))
    grad_lines = _unpack(op.inputs, used, "children") + _unpack(params, used, "self.params")
    grad_lines += temp_lines
    if len(op.inputs) == 1:
        grad_lines.append(f"return ({codes[0] if codes else None},)")
    else:
        grad_lines.append("return (")
        for place, name in enumerate(op.inputs):
            value = f"{by_input[name]} if needs[{place}] else None" if name in by_input else "None"
            grad_lines.append(f"    {value},")
        grad_lines.append(")")

    # Zero stays zero: a rule non-finite at an edge point runs quiet (0/0 where grad is 0
    # is not about the result) and its class calls BackwardFcn.zero_stays_zero.
    guarded = [place for place, name in enumerate(op.inputs) if name in derived.guarded]
    if guarded:
        grad_lines = [f"with {QUIET}:", *(f"    {line}" for line in grad_lines)]
    else:
        grad_lines = quiet(grad_lines, vjps.values())

    jvp_lines = _unpack(op.inputs, used, "children") + _unpack(params, used, "self.params")
    jvp_lines += elementwise_jvp_lines(op, grad_inputs, vjps, op_functions)
    jvp_lines = quiet(jvp_lines, vjps.values())

    kernel_temps, (kernel_code,) = statements([derived.kernel], op_functions)
    doc_lines = []
    if derived.kernel != derived.forward:
        doc_lines.append(f"evaluated as {sympy.sstr(derived.kernel)}")
    for name in grad_inputs:
        doc_lines.append(f"grad_{name} = {sympy.sstr(vjps[name])}")
    for kink in op.kinks:
        at = ", ".join(f"{k} = {sympy.sstr(v)}" for k, v in kink.at.items())
        if kink.given:  # where the convention is checked: the value holds there
            at += " (" + ", ".join(f"{k} = {v}" for k, v in kink.given.items()) + ")"
        values = ", ".join(f"d/d{k} = {sympy.sstr(v)}" for k, v in kink.grads.items())
        doc_lines.append(f"at {at}: {values} ({kink.why})")
    for name, (low, high) in op.domain.items():
        doc_lines.append(f"domain (where it was checked): {name} in ({low}, {high})")
    if guarded:
        names = ", ".join(f"grad_{op.inputs[place]}" for place in guarded)
        doc_lines.append(f"zero stays zero: {names} = 0 where grad = 0 (not 0*inf = nan)")
    return {
        "name": op.name,
        "class_name": op.class_name,
        "signature": ", ".join((*op.inputs, *params)),
        "kernel_doc": f"{sympy.sstr(derived.forward)}, on NumPy arrays.",
        # a kernel that selects runs quiet as a rule does (sinc's 0/0 at 0, not taken)
        "kernel_lines": quiet([*kernel_temps, f"return {kernel_code}"], [derived.kernel]),
        "forward_binding": (not kernel_temps and not params and ufunc_of(kernel_code, op.inputs))
        or f"staticmethod({op.name})",
        "forward_doc": f"out = {sympy.sstr(derived.forward)}",
        "doc_lines": doc_lines,
        "differentiable": tuple(name in grad_inputs for name in op.inputs),
        "saves_inputs": any(name in used for name in op.inputs),
        "saves_out": OUT.name in used,
        "fresh_grads": fresh_places(by_input.get(name) for name in op.inputs),
        "value_params": bool(params),
        "grad_lines": grad_lines,
        "jvp_lines": jvp_lines,
        "grad_symbol": GRAD.name,
        "guarded": tuple(guarded),
        "safe_point": tuple(float(v) for v in derived.safe_point or ()),
    }


TANGENT = sympy.Symbol("tangent", real=True)


def elementwise_jvp_lines(op, grad_inputs, vjps, op_functions):
    """The jvp from the same derived rules: each rule is linear in ``grad`` (the partial
    times grad), so with grad replaced by an input's tangent it is that input's term of
    d out = sum_i d out / d x_i * t_i. An input without a tangent adds no term."""
    lines = ["jvp = None"]
    for name in grad_inputs:
        term = vjps[name].xreplace({GRAD: TANGENT})
        if term == 0:
            continue
        temps, (code,) = statements([term], op_functions)
        place = op.inputs.index(name)
        lines.append(f"tangent = tangents[{place}]")
        lines.append("if tangent is not None:")
        lines += [f"    {line}" for line in temps]
        lines.append(f"    term = {code}")
        lines.append("    jvp = term if jvp is None else jvp + term")
    lines.append("return jvp")
    return lines


def function_context(derived):
    """The template's view of the public function of one op."""
    op = derived.op
    params = [f"{name}={default!r}" if default is not None else name for name, default in op.params]
    ufunc = getattr(numpy, op.name, None)
    return {
        "name": op.name,
        "class_name": op.class_name,
        "signature": ", ".join((*op.inputs, *params)),
        "inputs": _items(op.inputs),
        "params": _items(name for name, _ in op.params),
        "doc": f"{op.name}: out = {sympy.sstr(derived.forward)}, element-wise"
        + (", with NumPy broadcasting." if len(op.inputs) > 1 else "."),
        "method": op.method,
        "ufunc": op.name if isinstance(ufunc, numpy.ufunc) else None,
    }


def alias_context(alias, name):
    """NumPy's other name ``alias`` for the op ``name``; a ufunc of its own (numpy.fabs
    is not numpy.abs) dispatches to the op too."""
    ufunc = getattr(numpy, alias, None)
    distinct = isinstance(ufunc, numpy.ufunc) and ufunc is not getattr(numpy, name, None)
    return {"alias": alias, "name": name, "ufunc": alias if distinct else None}


def reduction_context(derived):
    """The template's view of one derived reduction (and of its public function)."""
    reduction = derived.reduction
    used = {name for name in ("grad_kept", "out_kept", "n", "out") if _mentions(derived.code, name)}
    extra = [name for name, _ in reduction.params]
    # a normalization keeps the reduced axes: it has no keepdims
    names = ["axis", *extra] if reduction.normalize else ["axis", "keepdims", *extra]
    defaults = [f"axis={reduction.default_axis!r}"]
    if not reduction.normalize:
        defaults.append("keepdims=False")
    defaults += [f"{n}={d!r}" for n, d in reduction.params]
    return {
        "name": reduction.name,
        "class_name": reduction.class_name,
        "normalize": reduction.normalize,
        "signature": ", ".join(["x", *names]),
        "public_signature": ", ".join(["x", *defaults]),
        "params": _items(names),
        "kernel_lines": reduction.kernel.splitlines(),
        "quiet": QUIET if derived.quiet else None,
        "forward_doc": sympy.sstr(derived.forward)
        + (f", as {reduction.temperature} -> 0+" if reduction.temperature is not None else ""),
        "vjp_doc": sympy.sstr(derived.vjp),
        "convention_lines": [_convention_doc(c) for c in reduction.conventions],
        "code": derived.code,
        "jvp_code": derived.jvp_code,
        # a convention whose gradient is not finite (ddof >= n): the rule renders the guard
        "zero_guard": any(
            not numpy.isfinite(numpy.asarray(c.expected, dtype=float)).all()
            for c in reduction.conventions
        ),
        "jvp_uses_count": derived.jvp_code is not None and _mentions(derived.jvp_code, "n"),
        "jvp_uses_x": derived.jvp_code is not None and _mentions(derived.jvp_code, "x"),
        "numpy_name": reduction.name if hasattr(numpy, reduction.name) else None,
        "uses_grad_kept": "grad_kept" in used,
        "uses_out_kept": "out_kept" in used,
        "uses_count": "n" in used,
        "saves_out": "out_kept" in used or "out" in used,
        # shaped() gives the value itself where it has x's shape: where it reads x (or,
        # for a normalization, grad or out, shaped like x)
        "fresh_grads": fresh_places(
            [derived.code]
            if _names(derived.code) & ({"x", "grad", "out"} if reduction.normalize else {"x"})
            else [None]
        ),
        "doc": f"{reduction.name} along axis"
        + ("" if reduction.normalize else " (None: all axes), keepdims as NumPy has it")
        + f": out = {sympy.sstr(derived.forward)}",
    }


def _convention_doc(convention):
    """A reduction's convention as its docstring states it: the example checked at
    generation (for grad = 1), the value declared where it holds, and why."""
    settings = "".join(f", {name}={value}" for name, value in convention.params)
    line = f"at x = {convention.rows}, axis={convention.axis}{settings}: "
    line += f"x_bar = {convention.expected}"
    if convention.where is not None:
        lhs, rhs = convention.where.args  # an Eq
        line += f"; where {lhs} = {rhs}, x_bar = {convention.value}"
    return line + (f"; {convention.why}" if convention.why else "")


def _mentions(code, name):
    """Whether ``code`` uses the variable ``name`` (not as part of a longer name)."""
    return name in _names(code)


def structural_context(op):
    """The template's view of one structural op (and of its public function): its
    adjoint derived from its declared steps."""
    from symgrad.codegen import linear

    names = [name for name, *_ in op.params]
    shape = "x_shapes" if op.variadic else "x_shape"
    adjoint = linear.adjoint_lines(op.steps, shape, op.name)
    used = set().union(*(_names(line) for line in adjoint))
    lines = _unpack(names, used, "self.params")
    # the forward saves what the adjoint reads of its input: the shape, and the dtype
    saved = [name for name in (shape, "x_dtype") if name in used]
    if saved:
        lines.append(f"{', '.join(saved)} = self.saved")
    signature = ", ".join(
        name if not default else f"{name}={default[0]!r}" for name, *default in op.params
    )
    first = "arrays" if op.variadic else "x"
    return {
        "lines": lines + adjoint,
        "name": op.name,
        "function": op.name if op.public else f"_{op.name}",
        # NumPy-level calls on tensors dispatch to the function: numpy.NAME where NumPy
        # has the function, else the name (what the generated helpers dispatch with).
        "dispatch": f"numpy.{op.name}" if hasattr(numpy, op.name) else f'"{op.name}"',
        "class_name": op.class_name,
        "forward": op.forward,
        "map_doc": "; ".join(linear.describe(step) for step in op.steps),
        "adjoint_doc": "; ".join(line.removeprefix("grad = ") for line in adjoint),
        # a scatter-add last makes a new array; the other kinds may give views of grad
        "fresh_grads": (0,) if adjoint[-1].startswith("grad = add_at(") else (),
        "variadic": op.variadic,
        "saved": _saved_expression(saved),
        "jvp_lines": _structural_jvp_lines(op, names),
        "names": ", ".join(names),
        "arguments": ", ".join(["x", *names]),
        "params": _items(names),
        "signature": ", ".join((first, signature)) if signature else first,
        "inputs": "tuple(arrays)" if op.variadic else "(x,)",
        "doc": f"{op.forward}, differentiable (its adjoint is derived from its map).",
        "method": op.method,
    }


def _structural_jvp_lines(op, names):
    """The jvp of a linear map: the op's own forward on the tangent (an input without a
    tangent, in a sequence, as zeros of its saved shape)."""
    arguments = "".join(f", {name}" for name in names)
    unpack = _unpack(names, set(names), "self.params")
    if op.variadic:
        return [
            "given = next((t for t in tangents if t is not None), None)",
            "if given is None:",
            "    return None",
            "tangents = [",
            "    numpy.zeros(shape, given.dtype) if t is None else t",
            "    for t, shape in zip(tangents, self.saved)",
            "]",
            *unpack,
            f"return {op.name}(*tangents{arguments})",
        ]
    return [
        "if tangents[0] is None:",
        "    return None",
        *unpack,
        f"return {op.name}(tangents[0]{arguments})",
    ]


def _saved_expression(names):
    """What a structural forward saves of its input ``x``: the ``names`` its adjoint
    reads (its shape by default)."""
    code = {"x_shape": "numpy.shape(x)", "x_shapes": None, "x_dtype": "x.dtype"}
    if len(names) > 1:
        return "(" + ", ".join(code[name] for name in names) + ")"
    return code[names[0]] if names else code["x_shape"]


def unbroadcast_context(broadcast_to):
    """The template's view of the unbroadcast: the adjoint derived from ``broadcast_to``'s
    declared map, for arrays of ``shape``."""
    from symgrad.codegen import linear

    lines = linear.adjoint_lines(broadcast_to.steps, "shape", "unbroadcast")
    map_doc = "; ".join(linear.describe(step) for step in broadcast_to.steps)
    context = {"lines": lines, "forward": "None", "map_doc": map_doc}
    return {**context, "import_line": structural_imports([context])}


def structural_imports(contexts):
    """The kinds and shape arithmetic of symgrad.index_maps that the rendered ops call."""
    from symgrad import index_maps

    used = set()
    for context in contexts:
        for code in (*context["lines"], context["forward"]):
            used |= _names(code)
    kinds = {name for name, value in vars(index_maps).items() if callable(value)}
    names = sorted(used & kinds)
    if not names:
        return ""
    line = f"from symgrad.index_maps import {', '.join(names)}"
    if len(line) <= 100:  # as ruff's isort writes it
        return line
    return "\n".join(["from symgrad.index_maps import (", *(f"    {n}," for n in names), ")"])


def _names(code):
    """The variable names ``code`` (an expression or a statement) uses."""
    return {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}


def contraction_context(op):
    """The template's view of one fixed-spec contraction, its vjps derived from the spec
    and rendered as numpy.matmul where they are batched matrix products."""
    from symgrad import einsum_spec

    inputs, output = einsum_spec.parse(op.spec)
    names = list(op.operands)
    forward = einsum_spec.as_matmul(inputs, output, names) or (
        f'numpy.einsum("{op.spec}", {", ".join(names)})'
    )
    vjps, doc_lines, fresh = [], [], []
    for place, name in enumerate(names):
        spec, _, _ = einsum_spec.vjp_plan(inputs, output, place)
        spec_inputs, spec_output = einsum_spec.parse(spec)
        others = [n for n in names if n != name]
        product = einsum_spec.as_matmul(spec_inputs, spec_output, ["grad", *others])
        code = product or f"einsum_spec.vjp(grad, children, {inputs!r}, {output!r}, {place})"
        vjps.append(code)
        fresh.append(product)
        doc_lines.append(f'grad_{name} = einsum("{spec}", grad, {", ".join(others)})')
    return {
        "name": op.name,
        "class_name": op.class_name,
        "spec": op.spec,
        "operands": ", ".join(names),
        "forward": forward,
        "vjps": vjps,
        "doc_lines": doc_lines,
        "differentiable": tuple(True for _ in names),
        # a matmul makes a new array; the run-time rule may broadcast a view
        "fresh_grads": fresh_places(fresh),
    }


SPATIAL_LETTERS, KERNEL_LETTERS = "stu", "klm"


def _batch_inner(term):
    """A window op's letters (one operand's, or the output's) in the memory order its
    batch-inner layout has, outermost first: the kernel letters outside the positions,
    so that each kernel offset's part is one block, and the batch letter n innermost,
    so that a pass over positions runs over the batch with them (a row of positions
    alone is a few elements long). The im2col gather and the scatter-add of its adjoint
    run fastest in it."""
    kernel = "".join(c for c in term if c in KERNEL_LETTERS)
    spatial = "".join(c for c in term if c in SPATIAL_LETTERS)
    others = "".join(c for c in term if c not in kernel + spatial + "n")
    return others + kernel + spatial + "n"


def window_context(op, mean_code):
    """The template's view of one window op; a contraction's vjp specs are derived from
    its declared spec by the einsum rule, for 1, 2 and 3 spatial axes, and the gather's
    transpose by the linear-map rule, applied to the window's gradient ``parts``."""
    from symgrad import einsum_spec
    from symgrad.codegen import linear

    context = {
        "name": op.name,
        "upper": op.name.upper(),
        "class_name": op.class_name,
        "reduce": op.reduce,
        "pad_value": "-numpy.inf" if op.pad_value == float("-inf") else repr(op.pad_value),
        "mean_code": mean_code,
        "saves_out": op.reduce == "first_max",
        "gather_adjoint": linear.apply(linear.transpose(op.gather, "x.shape"), "parts"),
        "gather_code": linear.apply(op.gather, "x"),
        # every gradient is a new array: a scatter-add's result or a product's
        "fresh_grads": (0, 1, 2) if op.reduce == "contract" else (0,),
    }
    if op.reduce == "contract":
        # the template adds the bias as an array of its letters broadcast against the
        # product, so those letters must come right before the output positions
        if not op.bias or not op.spec.endswith(op.bias + "S"):
            raise ValueError(
                f"{op.name}: bias {op.bias!r} must be the output's letters before its "
                f"positions S in {op.spec!r}"
            )
        specs = []
        for rank in (1, 2, 3):
            spec = op.spec.replace("S", SPATIAL_LETTERS[:rank]).replace("K", KERNEL_LETTERS[:rank])
            inputs, output = einsum_spec.parse(spec)
            weight_spec, _, _ = einsum_spec.vjp_plan(inputs, output, 1)
            window_spec, _, _ = einsum_spec.vjp_plan(inputs, output, 0)
            # the added term broadcast to the output: its vjp sums the other letters away
            bias_spec, _, _ = einsum_spec.vjp_plan([op.bias], output, 0)
            layouts = (_batch_inner(output), _batch_inner(inputs[0]))
            specs.append((rank, (spec, weight_spec, window_spec, bias_spec, *layouts)))
        context["specs"] = specs
    elif op.reduce == "mean":
        context["doc"] = "out[n, c, s] = the mean of x_padded[n, c, s*stride + k*dilation] over k"
        context["vjp_doc"] = f"broadcast({mean_code}) over each window"
    else:
        context["doc"] = "out[n, c, s] = the max of x_padded[n, c, s*stride + k*dilation] over k"
        context["vjp_doc"] = "grad at the first maximum of x in each window, 0 elsewhere"
    return context


# ---- the op reference (docs/ops.md) ------------------------------------------------------
LABEL_WIDTH = 12  # the labels of an op's lines: definition, rule, convention, note
KIND_INTROS = {
    "element-wise": "Derived by SymPy from the definition, per input; NumPy broadcasting "
    "between the inputs.",
    "reduction": "Along `axis` (None: all axes) with `keepdims`, or a normalization along "
    "`axis`; the rule derived from the index expression by delta summation.",
    "contraction": "Declared by an einsum spec; each operand's rule is the output's gradient "
    "contracted with the other operands (symgrad/einsum_spec.py).",
    "structural": "Linear maps declared as steps (symgrad/ops/maps.py); each adjoint is "
    "derived as the reverse composition of the steps' transposes.",
    "window": "A gather of windows of the padded input, then a contraction with the weight, "
    "a mean or a first maximum; PyTorch's arguments and layouts.",
    "composite": "Built of the ops above, with no gradient code of their own. The ops "
    "listed as called are those its code calls by name; operators (`a * b`) and indexing "
    "(`t[i]`) record nodes too.",
}


def reference_context(reference):
    """The template's view of the op reference (symgrad/reference.py): each op's lines,
    labelled, and the table of contents' cells (a ``|`` escaped, as tables need)."""
    sections = [
        {
            "kind": kind,
            "intro": KIND_INTROS[kind],
            "ops": [_op_context(op, reference) for op in ops],
        }
        for kind, ops in reference.by_kind()
        if ops
    ]
    contents = [
        {
            "name": op.name,
            "anchor": op.anchor,
            "kind": op.kind,
            # a node's definition as code, a composite's first sentence as prose
            "summary": _cell(f"`{op.summary}`" if len(op.nodes) == 1 else _markdown(op.summary)),
        }
        for op in reference.ops
    ]
    others = [_node_context(node) for node in reference.other_nodes]
    return {"sections": sections, "contents": contents, "other_nodes": others}


def _op_context(op, reference):
    also = [f"`sg.{alias}`" for alias in op.aliases]
    if op.method:
        also.append(f"`t.{op.name}(...)`")
    path = op.module.replace(".", "/") + ".py"
    return {
        "name": op.name,
        "call": f"sg.{op.name}{op.signature}",
        "also": ", ".join(also),
        "path": path.replace("symgrad/generated/", "generated/"),  # where it is in the repo
        "doc": _markdown(op.doc),
        "calls": ", ".join(f"[`{name}`](#{reference.find(name).anchor})" for name in op.calls),
        "nodes": [_node_context(reference.nodes[name]) for name in op.nodes],
    }


def _node_context(node):
    lines = [("definition", node.definition)]
    lines += [("rule", line) for line in node.rules]
    lines += [("convention", line) for line in node.conventions]
    lines += [("domain", f"{line} (where it was checked)") for line in node.domain]
    lines += [("note", line) for line in node.notes]
    return {
        "class_name": node.class_name,
        "lines": [f"{label:<{LABEL_WIDTH}} {text}" for label, text in lines],
    }


def _cell(text):
    return text.replace("|", "\\|")


def _markdown(docstring_text):
    """reStructuredText's inline code (a docstring's) as Markdown's."""
    return docstring_text.replace("``", "`")
