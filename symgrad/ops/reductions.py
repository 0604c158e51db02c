"""The reduction table: each reduction declared as an index expression.

``forward(x, o, r, n)`` gives ``out[o]`` for the input ``x[o, r]``, where ``o`` stands for
the kept axes, ``r`` for the reduced ones and ``n`` for how many elements are reduced
into each output. The vector-Jacobian product is derived from it by delta summation.
"""

from dataclasses import dataclass

from sympy import Sum


@dataclass(frozen=True)
class Reduction:
    """name: public name; forward: the index expression; numpy: the NumPy reduction."""

    name: str
    forward: object
    numpy: str

    @property
    def class_name(self):
        return self.name.capitalize() + "Backward"


REDUCTIONS = (
    Reduction("sum", lambda x, o, r, n: Sum(x[o, r], (r, 0, n - 1)), "sum"),
    Reduction("mean", lambda x, o, r, n: Sum(x[o, r], (r, 0, n - 1)) / n, "mean"),
)
