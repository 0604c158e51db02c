"""Grad mode: whether ops record a graph. Each thread has its own (so has each asyncio
task: the mode lives in a context variable), and every thread starts with it on.

``no_grad`` and ``enable_grad`` switch it for a block or a decorated function; entering
one remembers the mode it replaced, in the same context, and leaving restores it. So one
instance (a decorated function's) may be entered from several threads at once, nested,
or re-entered by recursion, and always leaves each thread's mode as it found it.
"""

import contextlib
import contextvars

_enabled = contextvars.ContextVar("symgrad_grad_enabled", default=True)
# The modes to go back to, innermost last, of the blocks entered in this context.
_previous = contextvars.ContextVar("symgrad_previous_grad_modes", default=())

# NOTE: the bound C method itself, not a Python function around it: apply() calls it once
# per op, and this costs no more than the module attribute it replaced.
is_grad_enabled = _enabled.get


class no_grad(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: ops inside record no graph (in this thread)."""

    mode = False

    def __new__(cls, function=None):
        """``no_grad()`` as a context manager or decorator; ``@no_grad`` without the
        call (as PyTorch takes it) decorates ``function`` directly."""
        instance = super().__new__(cls)
        return instance if function is None else instance(function)

    def __enter__(self):
        _previous.set((*_previous.get(), _enabled.get()))
        _enabled.set(self.mode)
        return self

    def __exit__(self, *exc):
        previous = _previous.get()
        _enabled.set(previous[-1])
        _previous.set(previous[:-1])
        return False


class enable_grad(no_grad):  # noqa: N801 - PyTorch's name
    """Context manager and decorator: record the graph again (inside no_grad)."""

    mode = True
