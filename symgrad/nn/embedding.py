"""``embedding``: rows of a weight matrix read at integer indices, a gather whose adjoint
(a scatter-add of the gradient into the rows read, repeated indices summed) is the
derived one of indexing."""

import numpy

from symgrad.generated.functions import where
from symgrad.tensor import Tensor


def embedding(
    input,
    weight,
    padding_idx=None,
    max_norm=None,
    norm_type=2.0,
    scale_grad_by_freq=False,
    sparse=False,
):
    """``weight[input]``: an (..., embedding_dim) tensor of the rows at ``input``'s
    indices. The row ``padding_idx`` is read as it is but passes no gradient."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(
            "embedding: max_norm, scale_grad_by_freq and sparse are not supported"
        )
    indices = numpy.asarray(input.data if isinstance(input, Tensor) else input)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, not {indices.dtype}")
    rows = weight.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        raise IndexError(
            f"embedding: index out of range: indices from {indices.min()} to {indices.max()} "
            f"for {rows} rows"
        )
    gathered = weight[indices]
    if padding_idx is None:
        return gathered
    padding = padding_idx + rows if padding_idx < 0 else padding_idx
    # the padding row's value as a constant: the same forward, no gradient to it
    at_padding = (indices == padding)[..., None]
    return where(at_padding, weight.data[indices], gathered)
