"""The window table: convolution and pooling, declared on the window gather.

Every op here first gathers, for each output position ``s`` and kernel offset ``k``
(per spatial axis), ``window[n, c, s, k] = x_padded[n, c, s*stride + k*dilation]``,
an affine index; then does one thing with each window:

- ``contract``: an einsum of the (grouped) window with a weight, given as a spec over
  the letters n (batch), g (group), c (channel in group), o (output channel in group),
  S (the output positions) and K (the kernel offsets), each of S and K standing for one
  letter per spatial axis; and optionally ``bias``, the letters of a term added to the
  output (a bias per output channel), broadcast along the output's other letters;
- ``mean`` over the kernel offsets (zero padding counted, as PyTorch's avg_pool);
- ``first_max`` over the kernel offsets: the value and position of the first maximum
  among the elements read from the input (padding is -inf and never selected, even
  where the input is -inf too, as PyTorch's max_pool).

The generator derives the vjps: the contraction's by the einsum rule, the mean's by the
reduction rule, the selection's as its transpose, then the transpose of the gather (a
scatter-add, one strided slice per kernel offset, dropping what was read from the
padding) by the linear-map rule.
"""

from dataclasses import dataclass

from symgrad.ops.maps import Gather

# A pool's windows: its kernel_size, stride, padding and dilation arguments.
POOL_GATHER = Gather("kernel", "stride", "padding", "dilation")


@dataclass(frozen=True)
class Window:
    name: str
    reduce: str  # "contract", "mean" or "first_max"
    spec: str = ""  # for "contract": the einsum of window and weight
    bias: str = ""  # for "contract": the letters of the term added to the output (its third
    # input; None at run time adds nothing)
    pad_value: float = 0.0
    # the gather, in the op's arguments (its transpose is derived: symgrad/codegen/linear.py)
    gather: Gather = POOL_GATHER

    @property
    def class_name(self):
        return "".join(part.capitalize() for part in self.name.split("_")) + "Backward"


WINDOWS = (
    Window(
        "convolution",
        "contract",
        "ngcSK,gocK->ngoS",
        bias="go",
        gather=Gather("w.shape[2:]", "stride", "padding", "dilation"),
    ),
    Window("avg_pool", "mean"),
    Window("max_pool", "first_max", pad_value=float("-inf")),
)
