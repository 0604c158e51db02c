"""The contraction table: ops declared by an einsum spec.

The vjp of each operand is derived from the spec by the einsum calculus in
``symgrad.einsum_spec``; where the derived contraction is a batched matrix product, the
generator renders it as numpy.matmul so that BLAS does the work. ``einsum`` itself takes
its spec at run time and derives each operand's vjp from it then, by the same rule.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Contraction:
    """name: public name; spec: the einsum spec (None: given at run time); operands:
    operand names, in call order."""

    name: str
    spec: str | None
    operands: tuple = ()

    @property
    def class_name(self):
        return self.name.capitalize() + "Backward"


CONTRACTIONS = (
    # NumPy's matmul: batch axes broadcast; 1-D operands are promoted by the runtime.
    Contraction("matmul", "...ij,...jk->...ik", ("a", "b")),
    Contraction("einsum", None),
)
