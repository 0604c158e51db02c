"""The base class of every generated backward function (a node of the graph).

The contract comes from the seed post: ``calculate_grad(grad, children, place)`` returns
the gradient for input number ``place``, given ``grad`` (the gradient of the node's
output) and ``children`` (the node's inputs, as the rule needs them). Generated
subclasses implement ``calculate_grads``, which returns the gradients of all requested
inputs at once so that subexpressions shared between them are computed once.
"""

import functools
import itertools

import numpy

_sequence = itertools.count()

# Changes in place: a changed tensor keeps (as ``_version``, a one-element list that a
# tensor and its detached copies share: they share the data) the creation number of its
# last change, taken from the nodes' own count. A node created before a change of a
# tensor it saved would read the new values: its backward raises.
last_change = -1  # the newest change's number; nodes created after it are unaffected


def note_changed(tensor):
    """Record that ``tensor``'s data was just changed in place."""
    global last_change
    last_change = next(_sequence)
    version = getattr(tensor, "_version", None)
    if version is None:
        tensor._version = [last_change]
    else:
        version[0] = last_change


def share_version(tensor, other):
    """``other`` holds ``tensor``'s data: a change of one is a change of both."""
    version = getattr(tensor, "_version", None)
    if version is None:
        tensor._version = version = [-1]
    other._version = version


def check_unchanged(node):
    """Raise if a tensor whose data ``node`` saved for its backward was changed in place
    after the node was created (a version counter, as PyTorch keeps)."""
    if not node.saves_inputs:
        return
    for value in node.inputs:  # constants, numbers and arrays, have no _version
        version = getattr(value, "_version", None)
        if version is not None and version[0] > node.sequence:
            raise RuntimeError(
                f"{node.name}: a tensor it saved for backward was changed in place after "
                "the forward; backward would read the new values"
            )


def rebased(tensor, before, after):
    """Record that ``tensor``, computed by the node ``before`` (None: a leaf), now stands
    for the result of ``after``, a change in place recorded in the graph."""
    history = getattr(tensor, "_rebased", ())
    tensor._rebased = (*history, (after.sequence, before))


def sources(node):
    """Where the gradient of each input of ``node`` goes: the node that computed the
    input when ``node`` was created. A tensor changed in place in a graph since stands
    for a newer node; its history (``rebased``) tells the one it was."""
    found = []
    for value in node.inputs:
        source = getattr(value, "grad_fn", None)
        if source is not None and source.sequence > node.sequence:
            source = next(before for at, before in value._rebased if at > node.sequence)
        found.append(source)
    return found


class BackwardFcn:
    # NOTE: slots keep a node small and its attribute access fast; a graph of many
    # small ops is dominated by this per-node overhead.
    __slots__ = ("children", "inputs", "needs", "out", "params", "saved", "sequence", "watched")

    # Filled in by each generated subclass.
    name = ""
    forward = None
    saves_inputs = True
    saves_out = False
    # An op whose backward reuses work of its forward (a convolution's im2col copy) also
    # has ``forward_saving``, the forward returning (out, what to keep for the backward).
    forward_saving = None
    # Whether the inputs broadcast against each other (element-wise ops): a ValueError of
    # such an op is then reported as shapes that cannot be broadcast together.
    broadcasts = True
    # The input positions whose gradient calculate_grads returns as a new array that
    # nothing else references (not ``grad`` itself, nor a view of it or of a saved value,
    # nor the array it returns for another position).
    # The engine may sum into such an array in place, or hand it out as a leaf's ``.grad``
    # without a copy; it copies what is not declared here, so the default is always safe.
    fresh_grads = ()
    # Whether the params are values in the op's arithmetic (clip's bounds, elu's alpha),
    # which apply checks as it checks constant inputs, not axes, shapes or indices.
    value_params = False
    # Zero stays zero: the input positions whose rule can be non-finite at finite inputs
    # (found at generation from the op table's singular points and domain edges), and a
    # point where the rule is regular (the inputs' values, then the output's). A class
    # that sets them has ``rule`` and calls zero_stays_zero as its calculate_grads.
    guarded = ()
    safe_point = None

    def __init__(self, inputs, children, out, params, needs, saved=None):
        self.inputs = inputs  # the input Tensors (or constants), for the graph walk
        self.children = children if self.saves_inputs else None
        self.out = out if self.saves_out else None
        self.params = params
        self.needs = needs  # per input: does it want a gradient?
        # the output Tensor, when backward hands it its gradient: it retains its grad or
        # has hooks (symgrad/hooks.py); None costs the engine one test per node
        self.watched = None
        self.saved = saved  # what forward_saving kept
        # Creation order: a node is always created after the nodes of its inputs, so
        # running nodes from the newest down is a topological order.
        self.sequence = next(_sequence)

    def calculate_grad(self, grad, children, place):
        """The gradient for input ``place`` (the seed's signature)."""
        needs = [i == place for i in range(len(children))]
        return self.calculate_grads(grad, children, self.out, needs)[place]

    def calculate_grads(self, grad, children, out, needs):  # pragma: no cover
        raise NotImplementedError

    def zero_stays_zero(self, grad, children, out, needs):
        """The gradients of ``rule``, exactly 0 where ``grad`` is exactly 0 and a guarded
        rule is nan there (0 * inf, 0/0: the branch a ``where`` does not take), so that the
        gradient stays finite where the function is. Under create_graph (tensors), the
        rule runs again with the inputs and output taken at ``safe_point`` where it was
        nan, so that no nan enters the graph a second derivative walks."""
        grads = self.rule(grad, children, out, needs)
        masks = {}
        for place in self.guarded:
            if grads[place] is not None:
                mask = nan_at_zero(grad, grads[place])
                if mask is not None:
                    masks[place] = mask
        if not masks:
            return grads
        tensors = (grad, out, *(children or ()))
        if self.safe_point is not None and any(hasattr(v, "grad_fn") for v in tensors):
            where = functools.reduce(numpy.logical_or, masks.values())
            *inputs, result = self.safe_point
            if children is not None:
                children = tuple(map(numpy.where, itertools.repeat(where), inputs, children))
            if out is not None:
                out = numpy.where(where, result, out)
            grads = self.rule(grad, children, out, needs)
        return tuple(
            numpy.where(masks[place], 0, value) if place in masks else value
            for place, value in enumerate(grads)
        )

    def calculate_jvp(self, tangents, children, out):
        """The tangent of the output given ``tangents``, one per input (None: none), for
        forward mode (symgrad/forward.py); every generated class renders its own."""
        raise NotImplementedError(f"{self.name}: no jvp rule")

    @property
    def next_functions(self):
        """PyTorch's walk of the graph: per input, ``(node, 0)``, where node is the
        BackwardFcn that computed the input, an ``AccumulateGrad`` for a leaf that
        requires grad, or None for a constant or an input that gets no gradient. (0 is
        the output's number: every op here has one output.)"""
        if self.inputs is None:
            raise RuntimeError(
                f"{type(self).__name__}.next_functions: backward freed this part of the "
                "graph; pass retain_graph=True to backward to walk it afterwards"
            )
        found = []
        for value, source, need in zip(self.inputs, sources(self), self.needs):
            if not need:
                found.append((None, 0))
            elif source is not None:
                found.append((source, 0))
            else:
                found.append((AccumulateGrad(value), 0))
        return tuple(found)

    def __repr__(self):
        return f"<{type(self).__name__}>"


def nan_at_zero(grad, value):
    """Where ``value`` (a rule's result, an array or a tensor) is nan and ``grad`` exactly
    0, as a boolean array; None where there is no such element (the common case: one
    pass over ``value``)."""
    nan = numpy.isnan(value)  # a tensor's data (a constant ufunc)
    if not nan.any():
        return None
    mask = nan & (grad == 0)
    return mask if mask.any() else None


def zero_where_nan(grad, value):
    """``value``, exactly 0 where ``grad`` is exactly 0 and ``value`` nan (a reduction's
    zero guard; ``grad`` broadcasts against ``value``)."""
    mask = nan_at_zero(grad, value)
    return value if mask is None else numpy.where(mask, 0, value)


class AccumulateGrad:
    """What ``next_functions`` gives for a leaf that requires grad (PyTorch's name): its
    ``variable`` is the leaf, whose ``.grad`` backward adds into. Two of them for one
    leaf are equal."""

    __slots__ = ("variable",)
    name = "AccumulateGrad"
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    def __repr__(self):
        return "<AccumulateGrad>"
