"""The backward engine: run the graph's nodes newest first (a topological order), without
recursion, calling each node's generated rule and summing the gradients of reused values.

Unbroadcasting happens here and nowhere else.
"""

import contextlib
import heapq
import sys

import numpy

from symgrad.generated.unbroadcast import unbroadcast

grad_enabled = True


class no_grad(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: ops inside record no graph."""

    mode = False

    def __init__(self):
        self.previous = []  # a stack: the same instance may be entered again, nested

    def __enter__(self):
        global grad_enabled
        self.previous.append(grad_enabled)
        grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        global grad_enabled
        grad_enabled = self.previous.pop()
        return False


class enable_grad(no_grad):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: record the graph again (inside no_grad)."""

    mode = True


def backward(roots, grads, retain_graph=False, create_graph=False):
    """Accumulate the gradients of ``roots`` (seeded with ``grads``) into the leaves."""
    _run(roots, grads, retain_graph, create_graph, inputs=None)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as tensors; ``.grad`` is
    left alone. With ``create_graph=True`` the results can be differentiated again."""
    from symgrad.tensor import Tensor, wrap

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
        if not isinstance(value, Tensor):
            value = wrap(_own(numpy.asarray(value, dtype=tensor.dtype)))
        results.append(value)
    return tuple(results)


def _seed(root, grad, create_graph):
    if not root._requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicit only for a scalar output, not shape {root.shape}"
            )
        # NOTE: not numpy.ones, a Python function (empty + copyto): two C calls instead
        grad = numpy.array(1, dtype=root.data.dtype).reshape(root.data.shape)
        if not create_graph:
            return grad  # the common case, loss.backward(), without the import below
    from symgrad.tensor import Tensor, wrap

    if isinstance(grad, Tensor):
        grad = grad if create_graph else _read_only(grad.data, root.dtype)
    else:
        grad = _read_only(grad, root.dtype)
    if grad.shape != root.shape:
        raise RuntimeError(f"backward: grad has shape {grad.shape}, the output {root.shape}")
    if create_graph and not isinstance(grad, Tensor):
        grad = wrap(grad)
    return grad


def _read_only(value, dtype):
    """``value`` as an array of ``dtype`` that cannot be written through: the caller's
    own array is never changed by the pass (rules write only into arrays they made,
    _add only into writable ones, and a leaf copies what it cannot write)."""
    array = numpy.asarray(value, dtype=dtype).view()
    array.flags.writeable = False
    return array


def _run(roots, grads, retain_graph, create_graph, inputs):
    """The shared walk of backward() and grad(); returns the gradients of ``inputs``
    (if given) instead of accumulating into leaves."""
    seeds = [_seed(root, grad, create_graph) for root, grad in zip(roots, grads, strict=True)]
    pass_ = _Pass(None if inputs is None else {id(t) for t in inputs})
    for root, seed in zip(roots, seeds, strict=True):
        pass_.seed(root, seed)

    with enable_grad() if create_graph else no_grad():
        ready, pending, collect = pass_.ready, pass_.pending, pass_.collect
        heappop, heappush = heapq.heappop, heapq.heappush  # NOTE: locals: once per node
        collecting_leaves = inputs is None
        while ready:
            node = heappop(ready)[1]
            grad = pending.pop(node)
            inputs_of_node = node.inputs
            if inputs_of_node is None:
                raise RuntimeError(
                    "backward through a graph a second time: its saved values were freed; "
                    "pass retain_graph=True to the first backward"
                )
            if node.retained is not None:
                # a copy: the rule below may pass this very array on to a leaf
                _accumulate_into_leaves([(node.retained, _as_array(grad).copy())])
            if create_graph:
                children, out = _graph_inputs(node)
            else:
                children, out = node.children, node.out
            grads = node.calculate_grads(grad, children, out, node.needs)
            for tensor, grad_in, needed in zip(inputs_of_node, grads, node.needs):
                if not needed:
                    continue
                shape = tensor.data.shape
                if grad_in.shape != shape:
                    grad_in = unbroadcast(grad_in, shape)
                source = tensor.grad_fn
                if source is None:
                    collect(tensor, grad_in)
                    continue
                if not collecting_leaves:
                    collect(tensor, grad_in)  # only if sg.grad asked for it
                if source in pending:
                    pending[source] = _add(pending.pop(source), grad_in)
                else:
                    pending[source] = grad_in
                    heappush(ready, (-source.sequence, source))
            if not retain_graph:
                # what the node saved, its inputs included, is dropped now, so that
                # their memory is reused during the rest of the pass
                node.children = node.out = node.inputs = node.saved = None

    if inputs is not None:
        return [pass_.leaf_grads.get(id(t), (None, None))[1] for t in inputs]
    _accumulate_into_leaves(pass_.leaf_grads.values())
    return None


class _Pass:
    """The state of one backward pass: gradients waiting at nodes, the heap of nodes
    ready to run, and what reached the leaves (or the inputs of sg.grad)."""

    def __init__(self, wanted):
        self.wanted = wanted  # ids of sg.grad's inputs; None for backward()
        self.pending = {}  # node -> gradient of its output, summed over all uses so far
        self.ready = []  # heap of (-sequence, node): the newest node runs first
        self.leaf_grads = {}  # id(tensor) -> (tensor, gradient)

    def collect(self, tensor, grad):
        """Sum what reaches a leaf (backward) or a requested input (sg.grad)."""
        if self.wanted is not None and id(tensor) not in self.wanted:
            return
        key = id(tensor)
        if key in self.leaf_grads:
            # popped, not read: _add may then write into the sum so far
            grad = _add(self.leaf_grads.pop(key)[1], grad)
        self.leaf_grads[key] = (tensor, grad)

    def seed(self, root, grad):
        """Start the pass at ``root`` with the gradient ``grad``."""
        node = root.grad_fn
        if node is None or self.wanted is not None:
            self.collect(root, grad)
        if node is None:
            return
        if node in self.pending:
            self.pending[node] = self.pending[node] + grad
        else:
            self.pending[node] = grad
            heapq.heappush(self.ready, (-node.sequence, node))


def _add(total, grad):
    """``total + grad``, written into ``total`` when nothing else can see it: a fresh
    array (not a view, and referenced only here) of the same dtype. A large fresh array
    costs more than the addition on some machines, and reused values are common."""
    # NOTE: 2 references = this frame's name and getrefcount's own argument (measured on
    # CPython 3.11: a value popped from a dict and passed in has exactly these two).
    if (
        type(total) is numpy.ndarray
        and total.base is None
        and total.dtype == grad.dtype
        and total.flags.writeable
        and sys.getrefcount(total) <= 2
    ):
        total += grad
        return total
    return total + grad


def _accumulate_into_leaves(pairs):
    stored = set()
    for leaf, grad in pairs:
        if type(grad) is not numpy.ndarray:
            grad = _as_array(grad)
        if grad.dtype != leaf.data.dtype:
            grad = grad.astype(leaf.data.dtype)
        # NOTE: a fresh array (the common case) is handed out without calling _own
        if grad.base is not None or not grad.flags.writeable or id(grad) in stored:
            grad = _own(grad, stored)
        stored.add(id(grad))
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad


def _own(array, handed_out=()):
    """``array`` if it can be handed to the user as their own, else a copy. Gradients
    can be read-only (broadcast views, the caller's seed), one array passed to several
    inputs (ids in ``handed_out``), or views of memory seen elsewhere; the only view of
    an array nothing else refers to (a transposed fresh result) is kept."""
    if not array.flags.writeable or id(array) in handed_out:
        return array.copy()
    if array.base is None:
        return array
    # NOTE: 2 references = ``array``'s own and getrefcount's argument (CPython 3.11).
    if type(array.base) is numpy.ndarray and sys.getrefcount(array.base) <= 2:
        return array
    return array.copy()


def _as_array(grad):
    return numpy.asarray(grad.data if hasattr(grad, "grad_fn") else grad)


def _graph_inputs(node):
    """For create_graph: the node's inputs as tensors, and its output recomputed from them
    so that a rule using ``out`` is differentiated through it."""
    from symgrad.tensor import apply

    out = apply(type(node), node.inputs, node.params) if node.saves_out else None
    return node.inputs, out
