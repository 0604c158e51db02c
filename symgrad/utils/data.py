"""``TensorDataset`` and ``DataLoader``, PyTorch's: a dataset of samples by index, and
batches of it, shuffled or not. A batch of a TensorDataset is read with one fancy index
per tensor (no loop over samples); any other dataset's samples are stacked."""

import math

import numpy

from symgrad import random
from symgrad.shape import stack
from symgrad.tensor import Tensor


class Dataset:
    """Samples by index: ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Sample i is ``tuple(t[i] for t in tensors)``; the tensors (or arrays) share their
    first axis."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        sizes = {t.shape[0] if t.ndim else None for t in tensors}
        if len(sizes) != 1 or None in sizes:
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ValueError(f"TensorDataset: size mismatch between tensors: {shapes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices):
        """A whole batch: each tensor read at the batch's indices at once."""
        return tuple(t[indices] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class DataLoader:
    """Batches of ``batch_size`` samples of ``dataset``, in order or (``shuffle``) in an
    order drawn each epoch from ``generator`` (a ``numpy.random.Generator``; default
    symgrad's, seeded by ``sg.manual_seed``); ``drop_last`` leaves out a last smaller
    batch."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, not {batch_size!r}")
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last, self.generator = shuffle, drop_last, generator

    def __len__(self):
        count = len(self.dataset) / self.batch_size
        return math.floor(count) if self.drop_last else math.ceil(count)

    def __iter__(self):
        size = len(self.dataset)
        if self.shuffle:
            generator = self.generator or random.default_generator()
            order = generator.permutation(size)
        else:
            order = numpy.arange(size)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            indices = order[start : start + self.batch_size]
            yield self._batch(indices)

    def _batch(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems(indices)
        return _collate([self.dataset[int(i)] for i in indices])


def _collate(samples):
    """Samples stacked into a batch: tuples (named ones too) by position, dicts by key,
    tensors and arrays along a new first axis, numbers into a tensor."""
    first = samples[0]
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a named tuple, by field
        return type(first)(*(_collate(list(group)) for group in zip(*samples, strict=True)))
    if isinstance(first, tuple | list):
        return type(first)(_collate(list(group)) for group in zip(*samples, strict=True))
    if isinstance(first, dict):
        return {key: _collate([sample[key] for sample in samples]) for key in first}
    if isinstance(first, Tensor):
        return stack(samples)
    return Tensor(numpy.stack([numpy.asarray(sample) for sample in samples]))
