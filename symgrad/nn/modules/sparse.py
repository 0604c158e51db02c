"""``Embedding``: a lookup table of ``num_embeddings`` rows, initialised standard normal
(the ``padding_idx`` row zero), as PyTorch's."""

from symgrad.nn import functional as F  # noqa: N812 - PyTorch's spelling
from symgrad.nn.init import normal_parameter
from symgrad.nn.modules.module import Module


class Embedding(Module):
    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=None):
        super().__init__()
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(
                f"Embedding: padding_idx {padding_idx} is not a row of {num_embeddings}"
            )
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        self.weight = normal_parameter((num_embeddings, embedding_dim), dtype)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else f"{text}, padding_idx={self.padding_idx}"
