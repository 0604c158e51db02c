"""The vocabulary of the op tables.

An element-wise op is declared by its forward definition in SymPy over real scalar
symbols. Everything else about its gradient is derived (see ``symgrad.codegen``).
"""

from dataclasses import dataclass, field

import sympy

INF = float("inf")


@dataclass(frozen=True)
class Kink:
    """A point where the derivative is a convention, and the value it must take there.

    ``at`` maps input names to where the kink is (numbers, or expressions of the other
    inputs and the params: ``{"x": y}`` is a tie); ``grads`` maps each input whose
    derivative is fixed there to its declared value (``INF`` allowed); ``given`` fixes
    other inputs at the point where the convention is checked.
    """

    at: dict
    grads: dict
    why: str = "PyTorch's convention"
    given: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Elementwise:
    """An element-wise op with NumPy broadcasting between its inputs.

    name:        the public name (``sg.NAME``), NumPy's where NumPy has one.
    forward:     the mathematical definition, a SymPy expression of the inputs and params.
    inputs:      input symbol names, in call order.
    params:      (name, default) pairs of keyword parameters; default None: required.
    kernel:      a numerically stable form of ``forward`` to evaluate with NumPy, checked
                 equal to ``forward``; None means evaluate ``forward`` itself.
    domain:      input name -> open interval where the op is defined; stress points
                 (0, +-40, +-700, +-1000) are taken inside it.
    sample:      input name -> interval where random check points are drawn
                 (default: the domain clipped to [-3, 3]).
    singular:    input name -> points to keep check points away from (poles, jumps).
    kinks:       the conventions at non-differentiable points, checked one by one.
    no_grad:     inputs that never get a gradient (where's condition).
    param_sample: values of the params used by the checks (default: their defaults).
    method:      also a Tensor method (``t.NAME(...)``).
    """

    name: str
    forward: sympy.Expr
    inputs: tuple = ("x",)
    params: tuple = ()
    kernel: sympy.Expr | None = None
    domain: dict = field(default_factory=dict)
    sample: dict = field(default_factory=dict)
    singular: dict = field(default_factory=dict)
    kinks: tuple = ()
    no_grad: tuple = ()
    param_sample: dict = field(default_factory=dict)
    method: bool = True

    @property
    def grad_inputs(self):
        return tuple(name for name in self.inputs if name not in self.no_grad)

    @property
    def class_name(self):
        return "".join(part.capitalize() for part in self.name.split("_")) + "Backward"

    def param_values(self):
        """Values of the params used when checking (the declared sample, else default)."""
        return {name: self.param_sample.get(name, default) for name, default in self.params}


def real_symbols(names):
    return sympy.symbols(names, real=True)


class SinPi(sympy.Function):
    """sin(pi * x) as a kernel evaluates it (``special.sinpi``: exact at the integers);
    only printed, never differentiated: the row's forward is sin(pi * x)."""

    nargs = 1
