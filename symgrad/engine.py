"""The backward engine: walk the graph in reverse topological order, without recursion,
calling each node's generated rule and summing the gradients of reused values.

Unbroadcasting happens here and nowhere else.
"""

import contextlib

import numpy

from symgrad.generated.unbroadcast import unbroadcast

grad_enabled = True


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator: ops inside record no graph."""

    def __enter__(self):
        global grad_enabled
        self.previous, grad_enabled = grad_enabled, False
        return self

    def __exit__(self, *exc):
        global grad_enabled
        grad_enabled = self.previous
        return False


class enable_grad(no_grad):
    """Context manager and decorator: record the graph again (inside no_grad)."""

    def __enter__(self):
        global grad_enabled
        self.previous, grad_enabled = grad_enabled, True
        return self


def backward(roots, grads, retain_graph=False, create_graph=False):
    """Accumulate the gradients of ``roots`` (seeded with ``grads``) into the leaves."""
    _run(roots, grads, retain_graph, create_graph, inputs=None)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as tensors; ``.grad`` is
    left alone. With ``create_graph=True`` the results can be differentiated again."""
    from symgrad.tensor import Tensor

    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor | numpy.ndarray):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    for tensor in inputs:
        if not tensor.requires_grad:
            raise RuntimeError("sg.grad: an input does not require grad")
    retain = create_graph if retain_graph is None else retain_graph
    found = _run(outputs, list(grad_outputs), retain, create_graph, inputs)
    results = []
    for tensor, value in zip(inputs, found, strict=True):
        if value is None:
            raise RuntimeError("sg.grad: an input is not part of the graph of the outputs")
        results.append(value if isinstance(value, Tensor) else Tensor._wrap(value))
    return tuple(results)


def _seed(root, grad, create_graph):
    from symgrad.tensor import Tensor

    if not root.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicit only for a scalar output, not shape {root.shape}"
            )
        grad = numpy.ones_like(root.data)
    elif isinstance(grad, Tensor):
        grad = grad if create_graph else grad.data
    else:
        # A copy, so that no gradient buffer ever aliases the caller's array.
        grad = numpy.array(grad, dtype=root.dtype)
    if grad.shape != root.shape:
        raise RuntimeError(f"backward: grad has shape {grad.shape}, the output {root.shape}")
    if create_graph and not isinstance(grad, Tensor):
        grad = Tensor._wrap(grad)
    return grad


def _run(roots, grads, retain_graph, create_graph, inputs):
    """The shared walk of backward() and grad(); returns the gradients of ``inputs``
    (if given) instead of accumulating into leaves."""
    seeds = [_seed(root, grad, create_graph) for root, grad in zip(roots, grads, strict=True)]
    pending = {}  # node -> gradient of its output, summed over all uses so far
    leaf_grads = {}  # id(leaf) -> (leaf, gradient)
    wanted = None if inputs is None else {id(t): t for t in inputs}
    for root, seed in zip(roots, seeds, strict=True):
        _send(root, seed, pending, leaf_grads, wanted)

    context = enable_grad() if create_graph else no_grad()
    with context:
        for node in _topological_order(roots):
            grad = pending.pop(node, None)
            if grad is None:
                continue
            if node.freed:
                raise RuntimeError(
                    "backward through a graph a second time: its saved values were freed; "
                    "pass retain_graph=True to the first backward"
                )
            if node.retained is not None:
                retained = node.retained
                retained.grad = _as_array(grad) + (0 if retained.grad is None else retained.grad)
            children, out = node.children, node.out
            if create_graph:
                children, out = _graph_inputs(node)
            grads = node.calculate_grads(grad, children, out, node.needs)
            for tensor, grad_in, needed in zip(node.inputs, grads, node.needs, strict=True):
                if needed:
                    _send(tensor, unbroadcast(grad_in, tensor.shape), pending, leaf_grads, wanted)
            if not retain_graph:
                node.free()

    if wanted is not None:
        return [leaf_grads.get(id(t), (None, None))[1] for t in inputs]
    _accumulate_into_leaves(leaf_grads.values())
    return None


def _send(tensor, grad, pending, leaf_grads, wanted):
    """Add ``grad`` to what ``tensor`` has received in this pass."""
    node = tensor.grad_fn
    if (node is None and wanted is None) or (wanted is not None and id(tensor) in wanted):
        _add_to(leaf_grads, id(tensor), tensor, grad)
    if node is None:
        return
    if node in pending:
        pending[node] = pending[node] + grad
    else:
        pending[node] = grad


def _add_to(table, key, tensor, grad):
    previous = table.get(key)
    table[key] = (tensor, grad if previous is None else previous[1] + grad)


def _accumulate_into_leaves(pairs):
    stored = set()
    for leaf, grad in pairs:
        grad = _as_array(grad)
        if grad.dtype != leaf.data.dtype:
            grad = grad.astype(leaf.data.dtype)
        # NOTE: a leaf's .grad must be its own writable array: gradients can be
        # read-only broadcast views, or one array passed to several inputs.
        if not grad.flags.writeable or grad.base is not None or id(grad) in stored:
            grad = grad.copy()
        stored.add(id(grad))
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad


def _as_array(grad):
    return numpy.asarray(grad.data if hasattr(grad, "grad_fn") else grad)


def _graph_inputs(node):
    """For create_graph: the node's inputs as tensors, and its output recomputed from them
    so that a rule using ``out`` is differentiated through it."""
    from symgrad.tensor import apply

    out = apply(type(node), node.inputs, node.params) if node.saves_out else None
    return node.inputs, out


def _topological_order(roots):
    """Nodes reachable from ``roots``, each after every node that feeds it a gradient."""
    order, seen = [], set()
    stack = [(root.grad_fn, False) for root in roots if root.grad_fn is not None]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for tensor, needed in zip(node.inputs, node.needs, strict=True):
            if needed and tensor.grad_fn is not None and tensor.grad_fn not in seen:
                stack.append((tensor.grad_fn, False))
    order.reverse()
    return order
