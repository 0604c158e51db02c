"""``symgrad.utils``: PyTorch's ``torch.utils`` names (``data``)."""

from symgrad.utils import data

__all__ = ["data"]
