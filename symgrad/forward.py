"""Forward mode and the functional API: ``sg.jvp``, ``sg.vjp``, ``sg.jacobian`` and
``sg.hessian``, with ``torch.autograd.functional``'s signatures and shapes.

``jvp`` runs the function once on leaves that require grad, recording the graph, then
sweeps the recorded nodes in creation order (an input's node is always created before
the nodes that use it), giving each node's output its tangent from its inputs' tangents
with the class's ``calculate_jvp``: the rule generated from the same derivation as its
backward and checked against finite differences at generation (see docs/design.md);
every generated class has one.
"""

import numpy

from symgrad import engine, function
from symgrad.grad_mode import enable_grad
from symgrad.tensor import Tensor, replay, tensor, wrap


# ---- arguments ---------------------------------------------------------------------------
def _as_tuple(value):
    """``(value,)`` for a tensor or array, the tuple for a tuple or list, and whether it
    was one (results are given back in the same form)."""
    if isinstance(value, tuple | list):
        return tuple(value), True
    return (value,), False


def _data(value):
    return value.data if isinstance(value, Tensor) else numpy.asarray(value)


def _leaves(primals, who):
    """Fresh leaves requiring grad, holding copies of ``primals``."""
    leaves = []
    for place, primal in enumerate(primals):
        data = _data(primal)
        if data.dtype.kind != "f":
            raise TypeError(
                f"{who}: input {place} has dtype {data.dtype}; only floating-point inputs "
                "can be differentiated"
            )
        leaves.append(tensor(data, requires_grad=True))
    return leaves


def _checked(values, like, who, what):
    """``values`` (one per tensor of ``like``) as arrays of their shapes and dtypes."""
    if len(values) != len(like):
        raise ValueError(f"{who}: {len(values)} {what}s for {len(like)} values")
    checked = []
    for place, (value, ref) in enumerate(zip(values, like, strict=True)):
        if value is None:
            checked.append(None)
            continue
        data = _data(value)
        if data.shape != ref.data.shape:
            raise ValueError(
                f"{who}: {what} {place} has shape {data.shape}, its value has shape "
                f"{ref.data.shape}"
            )
        checked.append(numpy.asarray(data, dtype=ref.data.dtype))
    return checked


def _outputs(out, who):
    outs, is_tuple = _as_tuple(out)
    for place, value in enumerate(outs):
        if not isinstance(value, Tensor):
            raise TypeError(f"{who}: the function returned {type(value).__name__} at {place}")
    return outs, is_tuple


def _shaped(values, is_tuple):
    return tuple(values) if is_tuple else values[0]


# ---- the forward sweep -------------------------------------------------------------------
class _Recording:
    """A function's outputs and the nodes of its graph that the leaves reach, oldest
    first: swept once per set of tangents."""

    def __init__(self, leaves, outs):
        self.leaves = leaves
        self.outs = outs
        seen, stack = {}, [o.grad_fn for o in outs if o.grad_fn is not None]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen[node] = None
            stack.extend(source for source in function.sources(node) if source is not None)
        self.nodes = sorted(seen, key=lambda node: node.sequence)

    def sweep(self, tangents):
        """The tangent of each output (an array; zeros where it depends on no tangent)."""
        at_leaf = {id(leaf): t for leaf, t in zip(self.leaves, tangents, strict=True)}
        at_node = {}
        for node in self.nodes:
            inputs = [
                (at_node.get(source) if source is not None else at_leaf.get(id(value)))
                if isinstance(value, Tensor)
                else None
                for value, source in zip(node.inputs, function.sources(node), strict=True)
            ]
            inputs = [t if need else None for t, need in zip(inputs, node.needs, strict=True)]
            if all(t is None for t in inputs):
                continue
            at_node[node] = _node_jvp(node, inputs)
        results = []
        for out in self.outs:
            node = out.grad_fn
            value = at_leaf.get(id(out)) if node is None else at_node.get(node)
            if value is None:
                value = numpy.zeros_like(out.data)
            results.append(value)
        return results


def _node_jvp(node, tangents):
    """The tangent of ``node``'s output, shaped and typed as the output."""
    datas = [v.data if isinstance(v, Tensor) else v for v in node.inputs]
    out = _output(node, datas)
    with numpy.errstate(all="ignore"):  # as the backward's rules: see their modules
        value = node.calculate_jvp(tangents, node.children, out)
    if value is None:
        return None
    value = numpy.asarray(value.data if isinstance(value, Tensor) else value)
    if value.shape != out.shape:
        value = numpy.broadcast_to(value, out.shape)
    return value.astype(out.dtype, copy=False)


def _output(node, datas):
    """The node's output array (recomputed when the node did not keep it)."""
    if node.out is not None:
        return node.out
    if node.forward_saving is not None:
        return numpy.asarray(node.forward_saving(*datas, *node.params)[0])
    return numpy.asarray(node.forward(*datas, *node.params))


# ---- the public functions ----------------------------------------------------------------
def jvp(fn, primals, tangents=None):
    """``(fn(*primals), J·tangents)``: the function's value and its Jacobian-vector
    product, by forward mode (torch.autograd.functional.jvp's signature). ``primals``
    and ``tangents`` are a tensor (or array) or a tuple of them, one tangent per primal,
    each of its primal's shape; tangents may be omitted for a single one-element input.
    The results are tensors that require no grad, a tuple where ``fn`` returns one."""
    primals, _ = _as_tuple(primals)
    leaves = _leaves(primals, "jvp")
    if tangents is None:
        if len(leaves) != 1 or leaves[0].data.size != 1:
            raise ValueError("jvp: tangents can be omitted only for a single one-element input")
        tangents = (numpy.ones_like(leaves[0].data),)
    tangents, _ = _as_tuple(tangents)
    tangents = _checked(tangents, leaves, "jvp", "tangent")
    with enable_grad():
        outs, is_tuple = _outputs(fn(*leaves), "jvp")
    values = _Recording(leaves, outs).sweep(tangents)
    return (
        _shaped([wrap(o.data) for o in outs], is_tuple),
        _shaped([wrap(v) for v in values], is_tuple),
    )


def vjp(fn, primals, cotangents=None):
    """``(fn(*primals), cotangents·J)``: the function's value and its vector-Jacobian
    product, one array per primal, by reverse mode (torch.autograd.functional.vjp's
    signature). ``cotangents`` has one array per output, each of its output's shape (may be
    omitted for a single one-element output); the products have the primals' shapes."""
    primals, primals_tuple = _as_tuple(primals)
    leaves = _leaves(primals, "vjp")
    with enable_grad():
        outs, is_tuple = _outputs(fn(*leaves), "vjp")
    if cotangents is None:
        if len(outs) != 1 or outs[0].data.size != 1:
            raise ValueError("vjp: cotangents can be omitted only for a single one-element output")
        cotangents = (numpy.ones_like(outs[0].data),)
    cotangents, _ = _as_tuple(cotangents)
    cotangents = _checked(cotangents, outs, "vjp", "cotangent")
    grads = _reverse(outs, cotangents, leaves)
    return (
        _shaped([wrap(o.data) for o in outs], is_tuple),
        _shaped([wrap(g) for g in grads], primals_tuple),
    )


def _reverse(outs, cotangents, leaves, retain_graph=True):
    """sum_k cotangent_k · d out_k / d leaf, per leaf (zeros for an unreached leaf)."""
    pairs = [(o, c) for o, c in zip(outs, cotangents, strict=True) if o.requires_grad]
    if not pairs:
        return [numpy.zeros_like(leaf.data) for leaf in leaves]
    found = engine.grad([o for o, _ in pairs], [c for _, c in pairs], leaves, retain_graph)
    return [numpy.zeros_like(leaf.data) if g is None else g for g, leaf in zip(found, leaves)]


def jacobian(fn, inputs, strategy="auto"):
    """The Jacobian of ``fn`` at ``inputs``, with torch.autograd.functional.jacobian's
    shapes: for one input and one output, a tensor of shape ``out.shape + in.shape``; a
    tuple over inputs where ``inputs`` is a tuple; a tuple over outputs (of those) where
    ``fn`` returns a tuple. ``strategy``: "forward" (a jvp per input element, columns),
    "reverse" (a vjp per output element, rows), or "auto": whichever needs fewer sweeps.
    The function runs once; its recorded graph is swept per column or row."""
    if strategy not in ("auto", "forward", "reverse"):
        raise ValueError(
            f'jacobian: strategy must be "auto", "forward" or "reverse", not {strategy!r}'
        )
    inputs, inputs_tuple = _as_tuple(inputs)
    leaves = _leaves(inputs, "jacobian")
    with enable_grad():
        outs, outs_tuple = _outputs(fn(*leaves), "jacobian")
    n_in = sum(leaf.data.size for leaf in leaves)
    n_out = sum(o.data.size for o in outs)
    if strategy == "auto":
        strategy = "forward" if n_in <= n_out else "reverse"
    blocks = [
        [numpy.zeros(o.data.shape + leaf.data.shape, o.data.dtype) for leaf in leaves] for o in outs
    ]
    if strategy == "forward":
        recording = _Recording(leaves, outs)
        for j, leaf in enumerate(leaves):
            for index in numpy.ndindex(leaf.data.shape):
                tangents = [None] * len(leaves)
                tangents[j] = numpy.zeros_like(leaf.data)
                tangents[j][index] = 1
                for k, value in enumerate(recording.sweep(tangents)):
                    blocks[k][j][(Ellipsis, *index)] = value
    else:
        for k, out in enumerate(outs):
            for index in numpy.ndindex(out.data.shape):
                cotangents = [numpy.zeros_like(o.data) for o in outs]
                cotangents[k][index] = 1
                for j, value in enumerate(_reverse(outs, cotangents, leaves)):
                    blocks[k][j][index] = value
    rows = [_shaped([wrap(b) for b in row], inputs_tuple) for row in blocks]
    return _shaped(rows, outs_tuple)


def hessian(fn, inputs):
    """The Hessian of ``fn``, a function returning a one-element tensor, at ``inputs``, as
    torch.autograd.functional.hessian gives it: for one input, a tensor of shape
    ``in.shape + in.shape``; for a tuple of inputs, a tuple of tuples (block [i][j] of
    shape ``in_i.shape + in_j.shape``). Forward over reverse: the jacobian, by forward
    mode, of the gradient, computed with create_graph."""
    inputs, inputs_tuple = _as_tuple(inputs)

    def gradient(*leaves):
        out = fn(*leaves)
        if not isinstance(out, Tensor) or out.data.size != 1:
            shape = out.shape if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"hessian: the function must return a one-element tensor, not {shape}")
        if not out.requires_grad:
            return tuple(wrap(numpy.zeros_like(leaf.data)) for leaf in leaves)
        seed = wrap(numpy.ones_like(out.data))
        found = engine.grad([out], [seed], list(leaves), True, replay)
        return tuple(
            wrap(numpy.zeros_like(leaf.data)) if g is None else g
            for g, leaf in zip(found, leaves, strict=True)
        )

    blocks = jacobian(gradient, inputs, strategy="forward")
    if inputs_tuple:
        return blocks
    return blocks[0][0] if isinstance(blocks, tuple) else blocks
