"""Tensor hooks (PyTorch's ``register_hook``): functions called with a tensor's gradient
when a backward pass computes it, which may return a gradient to use instead.

A tensor keeps its hooks in ``_hooks`` (unset until the first one: a tensor without
hooks costs nothing), a dict in registration order. A non-leaf tensor's node points
back at it (``BackwardFcn.watched``, as for ``retain_grad``), so the engine finds the
hooks of the nodes it runs by one test per node, and those of the leaves it reaches by
one per leaf. ``retain_grad`` is kept there too, as the ``RETAIN`` entry, and runs
after the hooks (as PyTorch's does): ``.grad`` holds what the hooks returned.

What a hook receives: the gradient as a read-only ndarray (a hook that wants another
gradient returns it; changing the array in place would change what other inputs
receive), or under ``create_graph=True`` a Tensor in the new graph, so that what the
hook returns is differentiated too.
"""

import itertools

import numpy

RETAIN = "retain_grad"  # the entry that stands for retain_grad(), not a function
_keys = itertools.count()


class RemovableHandle:
    """What ``register_hook`` returns (PyTorch's name): ``remove()`` takes the hook off,
    as does leaving a ``with`` block."""

    def __init__(self, hooks, key):
        self.hooks_dict = hooks
        self.id = key

    def remove(self):
        self.hooks_dict.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


def add(tensor, entry, key=None):
    """Add ``entry`` to ``tensor``'s hooks under ``key`` (a new one if None); returns
    the key."""
    hooks = getattr(tensor, "_hooks", None)
    if hooks is None:
        hooks = tensor._hooks = {}
    key = next(_keys) if key is None else key
    hooks[key] = entry
    if tensor.grad_fn is not None:
        tensor.grad_fn.watched = tensor
    return key


def run(tensor, grad, owned):
    """The gradient of ``tensor`` after its hooks, and whether the engine still owns it
    (a gradient a hook returned may be held by the hook: it is copied where kept)."""
    hooks = getattr(tensor, "_hooks", None)
    if not hooks:
        return grad, owned
    for key, hook in list(hooks.items()):  # a hook may remove itself (or another)
        if key == RETAIN:
            continue
        # NOTE: a tensor under create_graph, except where a rule gave a constant array
        on_tensors = hasattr(grad, "grad_fn")
        given = grad if on_tensors else _read_only(grad)
        result = hook(given)
        if result is None or result is given:
            continue
        grad, owned = _checked(result, tensor, on_tensors), False
    return grad, owned


def retains_grad(tensor):
    return RETAIN in getattr(tensor, "_hooks", ())


def _read_only(grad):
    view = numpy.asarray(grad).view()
    view.flags.writeable = False
    return view


def _checked(result, tensor, on_tensors):
    """What a hook returned, as the gradient it replaces: of the same shape, real, and
    a tensor under create_graph (where it must stay in the graph)."""
    if on_tensors and not hasattr(result, "grad_fn"):
        raise TypeError(
            f"a hook given a Tensor (create_graph) returned {type(result).__name__}; return "
            "a Tensor (the ops of a hook on its argument give one) or None"
        )
    value = result.data if on_tensors else numpy.asarray(result)
    if value.dtype.kind not in "biuf":
        raise TypeError(f"a hook returned a gradient of dtype {value.dtype}")
    if value.shape != tensor.shape:
        raise RuntimeError(
            f"a hook returned a gradient of shape {value.shape} for a tensor of shape "
            f"{tensor.shape}"
        )
    return result if on_tensors else value
