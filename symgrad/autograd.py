"""``sg.grad``: gradients returned as tensors instead of accumulated into ``.grad``."""

import numpy

from symgrad import engine
from symgrad.tensor import Tensor, backward_seed, replay, wrap


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False):
    """The gradients of ``outputs`` with respect to ``inputs``, as tensors; ``.grad`` is
    left alone. With ``create_graph=True`` the results can be differentiated again."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor | numpy.ndarray):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    for tensor in inputs:
        if not tensor.requires_grad:
            raise RuntimeError("sg.grad: an input does not require grad")
    retain = create_graph if retain_graph is None else retain_graph
    seeds = [
        backward_seed(output, seed, create_graph)
        for output, seed in zip(outputs, list(grad_outputs), strict=True)
    ]
    found = engine.grad(outputs, seeds, inputs, retain, replay if create_graph else None)
    results = []
    for value in found:
        if value is None:
            raise RuntimeError("sg.grad: an input is not part of the graph of the outputs")
        results.append(value if isinstance(value, Tensor) else wrap(value))
    return tuple(results)
