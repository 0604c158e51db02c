"""The structural table: linear maps that only move elements, each declared with its
adjoint as a map of the same kind.

A structural op's Jacobian is the map itself, so its vector-Jacobian product is the
adjoint map. Each pair is proven by the dot-product test <A x, y> == <x, A^T y> at
generation, over the random configurations that ``configs`` draws.
"""

from dataclasses import dataclass

import numpy


@dataclass(frozen=True)
class Structural:
    """name: public name; forward/adjoint: NumPy expressions over ``x`` (or ``grad`` and
    ``x``, the input) and the params; params: (name, default) pairs; configs(rng) draws
    an input shape and param values for the dot-product test."""

    name: str
    forward: str
    adjoint: str
    params: tuple
    configs: object
    method: bool = True

    @property
    def class_name(self):
        return "".join(part.capitalize() for part in self.name.split("_")) + "Backward"


def _shape(rng, low=0, high=4):
    return tuple(int(n) for n in rng.integers(1, 4, size=rng.integers(low, high)))


def _reshape_config(rng):
    shape = _shape(rng)
    flat = int(numpy.prod(shape))
    target = [flat] if rng.random() < 0.5 else [1, flat, 1]
    return shape, {"shape": tuple(target) if rng.random() < 0.5 else (-1,)}


def _expand_dims_config(rng):
    shape = _shape(rng)
    return shape, {"axis": int(rng.integers(-len(shape) - 1, len(shape) + 1))}


def _broadcast_to_config(rng):
    shape = _shape(rng)
    lead = _shape(rng, 0, 2)
    return shape, {"shape": lead + tuple(n if n != 1 else int(rng.integers(1, 4)) for n in shape)}


def _transpose_config(rng):
    shape = _shape(rng, 0, 5)
    axes = None if rng.random() < 0.3 else tuple(int(a) for a in rng.permutation(len(shape)))
    return shape, {"axes": axes}


STRUCTURAL = (
    Structural(
        "reshape",
        "numpy.reshape(x, shape)",
        "numpy.reshape(grad, x.shape)",
        (("shape", None),),
        _reshape_config,
        method=False,  # Tensor.reshape takes NumPy's varargs form
    ),
    Structural(
        "expand_dims",
        "numpy.expand_dims(x, axis)",
        "numpy.reshape(grad, x.shape)",
        (("axis", None),),
        _expand_dims_config,
        method=False,
    ),
    Structural(
        "broadcast_to",
        "numpy.broadcast_to(x, shape)",
        "unbroadcast(grad, x.shape)",
        (("shape", None),),
        _broadcast_to_config,
        method=False,
    ),
    Structural(
        "transpose",
        "numpy.transpose(x, axes)",
        "numpy.transpose(grad, None if axes is None else numpy.argsort(axes))",
        (("axes", None),),
        _transpose_config,
        method=False,  # Tensor.transpose takes NumPy's varargs form
    ),
)
