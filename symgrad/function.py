"""The base class of every generated backward function (a node of the graph).

The contract comes from the seed post: ``calculate_grad(grad, children, place)`` returns
the gradient for input number ``place``, given ``grad`` (the gradient of the node's
output) and ``children`` (the node's inputs, as the rule needs them). Generated
subclasses implement ``calculate_grads``, which returns the gradients of all requested
inputs at once so that subexpressions shared between them are computed once.
"""

import itertools

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

    def calculate_jvp(self, tangents, children, out):  # pragma: no cover
        """The tangent of the output given ``tangents``, one per input (None: none), for
        forward mode (symgrad/forward.py). A class generated with a jvp rule overrides
        this; for any other, forward mode transposes its vjp instead."""
        raise NotImplementedError

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
