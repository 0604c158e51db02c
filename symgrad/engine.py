"""The backward engine: run the graph's nodes newest first (a topological order), without
recursion, calling each node's generated rule and summing the gradients of reused values.

Unbroadcasting happens here and nowhere else. The engine does not know Tensor: it walks
nodes (BackwardFcn) and reads ``.grad_fn``, ``.data`` and ``.grad`` of their inputs.
What differentiating the backward itself needs of tensors (create_graph), the caller
passes in as ``replay``.

Which arrays the engine may write: it sums gradients in place, or hands one out as a
``.grad`` without copying it, only when it owns the array: when it made the array itself
(a sum of two gradients, unbroadcast's reduction) or when the node's class declares that
gradient fresh (``BackwardFcn.fresh_grads``). Any other array (``grad`` passed on by a
rule, a view, the caller's seed) may be seen elsewhere: it is only read, and copied when
it is handed out.
"""

import heapq
import threading

import numpy

from symgrad import function, hooks
from symgrad.generated.unbroadcast import unbroadcast
from symgrad.grad_mode import enable_grad

# Held while gradients are added into leaves: passes run by several threads may reach
# one leaf (a shared parameter), and `leaf.grad = leaf.grad + grad` reads, then writes.
_leaf_lock = threading.Lock()


def backward(roots, seeds, retain_graph=False, replay=None):
    """Accumulate the gradients of ``roots``, started with ``seeds``, into the leaves'
    ``.grad``. With ``replay`` (create_graph), each rule runs on tensors: ``replay(node)``
    gives the node's inputs and output as tensors, so the rule's ops build a graph."""
    walk = _Pass(None, replay)
    walk.run(roots, seeds, retain_graph)
    _store([_hooked(*reached) for reached in walk.reached.values()])


def grad(roots, seeds, inputs, retain_graph=False, replay=None):
    """The gradients of ``roots`` with respect to ``inputs`` (None for an input the roots
    do not depend on): arrays the caller owns, or tensors with ``replay``. ``.grad`` is
    left alone."""
    walk = _Pass({id(tensor) for tensor in inputs}, replay)
    walk.run(roots, seeds, retain_graph)
    for key, reached in walk.reached.items():
        if reached[0].grad_fn is None:  # a leaf's hooks (a non-leaf's ran at its node)
            walk.reached[key] = _hooked(*reached)
    results, handed_out = [], set()
    for tensor in inputs:
        key = id(tensor)
        _, value, owned = walk.reached.get(key, (None, None, False))
        if value is not None and not hasattr(value, "grad_fn"):  # not a tensor
            # an input listed twice gets two arrays
            value = _own(value, owned and key not in handed_out, tensor.data.dtype)
        handed_out.add(key)
        results.append(value)
    return results


class _Pass:
    """The state of one backward pass: gradients waiting at nodes, the heap of nodes ready
    to run, and what reached the leaves (or the inputs of sg.grad)."""

    def __init__(self, wanted, replay):
        self.wanted = wanted  # ids of sg.grad's inputs; None for backward()
        self.replay = replay  # None, or create_graph's replay(node)
        self.pending = {}  # node -> gradient of its output, summed over all uses so far
        self.owned = set()  # the nodes whose pending gradient the engine owns
        self.ready = []  # heap of (-sequence, node): the newest node runs first
        self.reached = {}  # id(tensor) -> (tensor, gradient, whether the engine owns it)

    def run(self, roots, seeds, retain_graph):
        for root, seed in zip(roots, seeds, strict=True):
            node = root.grad_fn
            if node is None or self.wanted is not None:
                self.reach(root, seed, False)  # the caller's seed: never owned
            if node is not None:
                self.send(node, seed, False)
        if self.replay is None:
            # NOTE: no grad mode to switch: the rules see arrays only, which record nothing
            self.walk(retain_graph)
        else:
            with enable_grad():  # this thread's mode: the rules' ops record a graph
                self.walk(retain_graph)

    def walk(self, retain_graph):
        """Run every node that gradients reach, newest first."""
        ready, pending, owners, replay = self.ready, self.pending, self.owned, self.replay
        heappop, heappush = heapq.heappop, heapq.heappush  # NOTE: locals: once per node
        reach, send, wanted = self.reach, self.send, self.wanted
        last_change = function.last_change  # no in-place change runs during the walk
        while ready:
            node = heappop(ready)[1]
            grad = pending.pop(node)
            inputs = node.inputs
            if inputs is None:
                raise RuntimeError(
                    "backward through a graph a second time: its saved values were freed; "
                    "pass retain_graph=True to the first backward"
                )
            sources = None
            if node.sequence < last_change:  # an input may have changed in place since
                function.check_unchanged(node)
                sources = function.sources(node)
            if node.watched is not None:  # hooks, retain_grad
                grad = self.watch(node, grad)
            if replay is None:
                children, out = node.children, node.out
                fresh = node.fresh_grads
            else:
                children, out = replay(node)
                fresh = ()  # tensors: their data belongs to the new graph
            needs = node.needs
            grads = node.calculate_grads(grad, children, out, needs)
            for place, tensor in enumerate(inputs):
                if not needs[place]:
                    continue
                grad_in = grads[place]
                owned = place in fresh
                shape = tensor.data.shape
                if grad_in.shape != shape:
                    summed = unbroadcast(grad_in, shape)
                    owned = _is_new(summed, grad_in)
                    grad_in = summed
                source = tensor.grad_fn if sources is None else sources[place]
                if source is None:
                    reach(tensor, grad_in, owned)
                    continue
                if wanted is not None and id(tensor) in wanted:
                    # sg.grad asked for this non-leaf: the array is both an answer and
                    # still summed at its node, so neither may write into it
                    owned = False
                    reach(tensor, grad_in, owned)
                if source in pending:
                    send(source, grad_in, owned)
                else:  # send(), inlined: the common case, once per node
                    pending[source] = grad_in
                    if owned:
                        owners.add(source)
                    heappush(ready, (-source.sequence, source))
            if not retain_graph:
                # what the node saved, its inputs included, is dropped now, so that
                # their memory is reused during the rest of the pass
                node.children = node.out = node.inputs = node.saved = None

    def watch(self, node, grad):
        """The gradient of ``node``'s output after the output tensor's hooks; kept in
        its ``.grad`` if it retains it, and the answer if sg.grad asked for it."""
        tensor = node.watched
        owned = node in self.owned
        hooked, owned = hooks.run(tensor, grad, owned)
        if hooks.retains_grad(tensor):
            _store([(tensor, hooked, owned)])
        if hooked is not grad and self.wanted is not None and id(tensor) in self.wanted:
            self.reached[id(tensor)] = (tensor, hooked, False)
        return hooked

    def send(self, node, grad, owned):
        """Add ``grad`` to the gradient waiting at ``node``; the first one makes it ready."""
        if node in self.pending:
            grad, owned = _add(self.pending[node], node in self.owned, grad, owned)
        else:
            heapq.heappush(self.ready, (-node.sequence, node))
        self.pending[node] = grad
        if owned:
            self.owned.add(node)
        else:
            self.owned.discard(node)

    def reach(self, tensor, grad, owned):
        """Sum what reaches a leaf (backward) or a requested input (sg.grad)."""
        key = id(tensor)
        if self.wanted is not None and key not in self.wanted:
            return
        if key in self.reached:
            _, total, total_owned = self.reached[key]
            grad, owned = _add(total, total_owned, grad, owned)
        self.reached[key] = (tensor, grad, owned)


def _hooked(leaf, grad, owned):
    """``(leaf, its gradient after its hooks, owned)``: what reached a leaf, as kept."""
    if getattr(leaf, "_hooks", None):
        grad, owned = hooks.run(leaf, grad, owned)
    return leaf, grad, owned


def _add(total, total_owned, grad, grad_owned):
    """``total + grad``, and whether the engine owns the sum: written into whichever of
    the two it owns (nothing else can see the change), else a new array. A large new
    array costs more than the addition on some machines, and reused values are common."""
    if total_owned and _can_add_into(total, grad):
        total += grad
        return total, True
    if grad_owned and _can_add_into(grad, total):
        grad += total
        return grad, True
    total = total + grad
    return total, type(total) is numpy.ndarray  # a new array (not a NumPy scalar)


def _can_add_into(array, other):
    """Whether ``array += other`` keeps ``array``'s shape and dtype (it is a writable
    ndarray, of ``other``'s shape and dtype) and ``other`` is no tensor (create_graph:
    their sum is a tensor, made out of place)."""
    return (
        type(array) is numpy.ndarray
        and isinstance(other, numpy.ndarray | numpy.generic)
        and array.flags.writeable
        and array.dtype == other.dtype
        and array.shape == other.shape
    )


def _is_new(summed, grad):
    """Whether ``summed``, unbroadcast's reduction of ``grad``, is an array of its own:
    NumPy's sum makes a new array, and a reshape of it is a view of that array alone."""
    if type(summed) is not numpy.ndarray:
        return False  # a NumPy scalar, or a tensor (create_graph)
    base = summed.base
    return base is None or (base.base is None and base is not grad and base is not grad.base)


def _own(grad, owned, dtype):
    """``grad`` as an ndarray of ``dtype`` that its receiver may keep and write: itself
    when the engine owns it, else a copy."""
    if type(grad) is not numpy.ndarray:
        # a NumPy scalar (arithmetic on 0-d arrays gives one), or with create_graph a
        # tensor, whose data the new graph keeps
        return numpy.array(grad.data if hasattr(grad, "grad_fn") else grad, dtype=dtype)
    if grad.dtype != dtype:
        return grad.astype(dtype)
    if owned and grad.flags.writeable:
        return grad
    return grad.copy()


def _store(reached):
    """Add each (leaf, gradient, owned) into the leaf's ``.grad``, or make it its
    ``.grad`` (a new array, never one a user or another leaf can see)."""
    own = [(leaf, _own(grad, owned, leaf.data.dtype)) for leaf, grad, owned in reached]
    with _leaf_lock:
        for leaf, grad in own:
            leaf.grad = grad if leaf.grad is None else leaf.grad + grad
