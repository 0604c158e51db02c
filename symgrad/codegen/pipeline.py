"""One pipeline for every rule: declaration -> candidate rules -> each candidate rendered
into its final class text -> that text imported and the class verified through the
``calculate_grads`` call the engine makes -> kept. Nothing reaches generated/ that was
not verified as the text it is.

The kinds that choose among candidate forms run here. Element-wise: per op, per input,
the cheapest candidate form (``derive.candidates``) whose rendered class passes
``verify.elementwise``; then the op's final class (all its rules, their common
subexpressions shared) is verified again. Reductions: the cheapest lowered vjp
(``reduce.reduction_candidates``) whose rendered class passes ``verify.reductions``.
Each kind's whole rendered module is verified once more at the end, as written.
"""

from dataclasses import dataclass, field

import numpy
import sympy

from symgrad.codegen import derive, reduce, render
from symgrad.codegen.symbols import bind_functions, expand_definitions, op_function, sanitize
from symgrad.codegen.verify import elementwise as verify
from symgrad.codegen.verify.loading import load_one
from symgrad.codegen.verify.policy import CheckError
from symgrad.codegen.verify.reductions import verify_reduction

ELEMENTWISE_TEMPLATE = "elementwise.py.j2"
REDUCTION_TEMPLATE = "reductions.py.j2"


@dataclass
class ElementwiseOp:
    """An op on its way through the pipeline: what it is checked against, and the
    rules chosen so far."""

    op: object
    forward: sympy.Expr  # the definition, calling earlier ops as functions
    kernel: sympy.Expr
    points: verify.Points
    reference: verify.Reference
    rules: dict = field(default_factory=dict)
    guarded: tuple = ()  # the inputs whose chosen rule gets the zero guard
    safe_point: tuple | None = None

    def derived(self, **rules):
        rules = {**self.rules, **rules}
        guarded = tuple(name for name in self.guarded if name in rules)
        return derive.DerivedOp(
            self.op, self.forward, self.kernel, rules, guarded, self.safe_point if guarded else None
        )


class ElementwisePipeline:
    """The element-wise table, op by op, in order: a row may call an earlier row, whose
    kernel its rendered class then calls."""

    def __init__(self, sources):
        self.sources = sources  # named in the rendered files' headers
        self.functions = {}  # op name -> its SymPy function (for later rows)
        self.kernels = {}  # op name -> its verified NumPy kernel (for later classes)
        self.states = []  # the ops verified so far

    @property
    def op_functions(self):
        return tuple(self.kernels)

    def start(self, op):
        """An op bound to the rows before it, with its points and its reference."""
        forward = bind_functions(op.forward, self.functions)
        kernel = bind_functions(op.kernel, self.functions) if op.kernel is not None else forward
        reference = verify.Reference(op, expand_definitions(forward))
        return ElementwiseOp(op, forward, kernel, verify.check_points(op), reference)

    def add(self, op):
        """Derive, render and verify every rule of ``op``; raises CheckError naming the
        op, the input and the point if no candidate passes."""
        state = self.start(op)
        for name in op.grad_inputs:
            symbol = sympy.Symbol(name, real=True)
            raw = sanitize(sympy.diff(state.forward, symbol), op.name, name)
            inputs = [sympy.Symbol(n, real=True) for n in op.inputs]
            forms = derive.candidates(state.forward, raw, inputs)
            state.rules[name] = self.choose(state, name, forms, raw)
        self.guard(state)
        module = self.load(state.derived())
        verify.verify_class(getattr(module, op.class_name), op, state.points, state.reference)
        self.functions[op.name] = op_function(op.name, op.inputs, state.forward, state.rules)
        self.kernels[op.name] = getattr(module, op.name)
        self.states.append(state)
        return state

    def guard(self, state):
        """Zero stays zero: the inputs whose chosen rule is non-finite (for grad = 1) at an
        edge point of the row get the guard, with the first sample as the point where the
        rule is regular (what create_graph computes on where grad is 0)."""
        cls = getattr(self.load(state.derived()), state.op.class_name)
        state.guarded = verify.singular_inputs(cls, state.op, state.points)
        if state.guarded:
            typical = state.points.samples[0]
            values = tuple(typical[name] for name in state.op.inputs)
            out = verify.forward_value(cls, state.op, typical)
            state.safe_point = (*values, out)

    def choose(self, state, name, forms, raw):
        """The cheapest form whose class passes, preferring one that meets the kink
        conventions by itself over one given them where it is undefined; if none
        passes, the raw derivative's failure is raised."""
        for patch in (False, True):
            for form in forms:
                if patch:
                    form = self.patched(state, name, form)
                try:
                    self.check(state, name, form)
                except CheckError:
                    continue
                return form
        self.check(state, name, self.patched(state, name, raw))  # raises, naming the point
        raise AssertionError("unreachable: the raw derivative passed after every form failed")

    def check(self, state, name, form):
        """Verify ``form`` as d out / d ``name``: as an expression, then its rendered
        class (with the rules chosen so far for the other inputs)."""
        verify.verify_form(state.op, state.points, state.reference, name, form)
        module = self.load(state.derived(**{name: form}))
        cls = getattr(module, state.op.class_name)
        verify.verify_class(cls, state.op, state.points, state.reference, names=[name], zero=False)

    def patched(self, state, name, form):
        """``form`` given the declared value at each kink where its class gives nan."""
        kinks = [(k, point) for k, point in state.points.kinks if name in k.grads]
        if not kinks:
            return form
        cls = getattr(self.load(state.derived(**{name: form})), state.op.class_name)
        undefined = [
            (kink.at, kink.grads[name])
            for kink, point in kinks
            if numpy.isnan(verify.rule_value(cls, state.op, name, point, numpy.inf))
        ]
        return derive.at_kinks(form, undefined) if undefined else form

    def load(self, derived):
        """The module of one op's rendered class, with the kernels of earlier ops."""
        text = self.render([derived])
        return load_one("elementwise", text, namespace=self.kernels)

    def render(self, derived):
        contexts = [render.elementwise_context(d, self.op_functions) for d in derived]
        return render.render(ELEMENTWISE_TEMPLATE, self.sources, ops=contexts)

    def module_text(self):
        """The whole rendered module, verified once more as the text it is: every class,
        in the module it is written in."""
        text = self.render([state.derived() for state in self.states])
        module = load_one("elementwise", text)
        for state in self.states:
            cls = getattr(module, state.op.class_name)
            verify.verify_class(cls, state.op, state.points, state.reference)
        return text


class ReductionPipeline:
    """The reduction table, each row's cheapest vjp whose rendered class passes."""

    def __init__(self, sources):
        self.sources = sources
        self.derived = []

    def add(self, reduction):
        failure = None
        for derived in reduce.reduction_candidates(reduction):
            cls = getattr(self.load([derived]), reduction.class_name)
            try:
                verify_reduction(cls, derived)
            except CheckError as error:
                failure = failure or error  # the cheapest form's, naming its point
                continue
            self.derived.append(derived)
            return derived
        raise failure

    def load(self, derived):
        return load_one("reductions", self.render(derived))

    def render(self, derived):
        contexts = [render.reduction_context(d) for d in derived]
        return render.render(REDUCTION_TEMPLATE, self.sources, ops=contexts)

    def module_text(self):
        """The whole rendered module, every class verified again in it."""
        text = self.render(self.derived)
        module = load_one("reductions", text)
        for derived in self.derived:
            verify_reduction(getattr(module, derived.reduction.class_name), derived)
        return text
