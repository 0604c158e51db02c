"""sg.utils.data: TensorDataset's samples and its size check; DataLoader's batches (sizes,
drop_last, len), shuffling (a permutation per epoch, reproducible from a seeded NumPy
generator or sg.manual_seed) and the collation of any other dataset's samples."""

from collections import namedtuple

import numpy as np
import pytest

import symgrad as sg
from symgrad.utils.data import DataLoader, Dataset, TensorDataset


def dataset(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return TensorDataset(sg.tensor(x), np.arange(n))


def test_tensor_dataset():
    data = dataset()
    assert len(data) == 10
    x, y = data[3]
    np.testing.assert_array_equal(x.data, [6.0, 7.0])
    assert isinstance(y, sg.Tensor) and y.item() == 3  # arrays are made tensors
    with pytest.raises(ValueError, match=r"size mismatch between tensors: \(3, 2\), \(4,\)"):
        TensorDataset(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match=r"size mismatch"):
        TensorDataset(np.ones(3), np.array(1.0))
    with pytest.raises(ValueError, match=r"at least one tensor"):
        TensorDataset()


@pytest.mark.parametrize(
    ("n", "batch_size", "drop_last", "sizes"),
    [
        (10, 3, False, [3, 3, 3, 1]),
        (10, 3, True, [3, 3, 3]),
        (10, 5, False, [5, 5]),
        (10, 5, True, [5, 5]),
        (10, 1, False, [1] * 10),
        (10, 12, False, [10]),
        (10, 12, True, []),
        (0, 4, False, []),
    ],
)
def test_batches_in_order(n, batch_size, drop_last, sizes):
    loader = DataLoader(dataset(n), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) == len(batches)
    assert [len(y.data) for _, y in batches] == sizes
    seen = np.concatenate([y.data for _, y in batches]) if batches else np.zeros(0)
    np.testing.assert_array_equal(seen, np.arange(sum(sizes)))
    for x, y in batches:  # each batch keeps its samples' rows together
        np.testing.assert_array_equal(x.data[:, 0], 2 * y.data)
        assert x.dtype == np.float32


def _order(loader):
    return np.concatenate([y.data for _, y in loader])


def test_shuffle_is_a_permutation_reproducible_from_its_generator():
    data = dataset(50)
    loader = DataLoader(data, batch_size=8, shuffle=True, generator=np.random.default_rng(4))
    first, second = _order(loader), _order(loader)
    for order in (first, second):
        assert sorted(order) == list(range(50))  # every sample once
    assert not np.array_equal(first, second)  # a new order each epoch
    assert not np.array_equal(first, np.arange(50))
    again = DataLoader(data, batch_size=8, shuffle=True, generator=np.random.default_rng(4))
    np.testing.assert_array_equal(_order(again), first)
    np.testing.assert_array_equal(_order(again), second)
    np.testing.assert_array_equal(np.random.default_rng(4).permutation(50), first)


def test_shuffle_without_a_generator_follows_manual_seed():
    loader = DataLoader(dataset(30), batch_size=4, shuffle=True, drop_last=True)
    sg.manual_seed(11)
    first = _order(loader)
    sg.manual_seed(11)
    np.testing.assert_array_equal(_order(loader), first)
    assert len(first) == 28 and len(set(first)) == 28


Pair = namedtuple("Pair", ["image", "label"])


class Samples(Dataset):
    """A dataset that is not a TensorDataset: samples as tuples, dicts or named tuples of
    arrays, tensors and numbers."""

    def __init__(self, kind):
        self.kind = kind

    def __len__(self):
        return 5

    def __getitem__(self, i):
        image = np.full((2, 2), float(i))
        if self.kind == "tuple":
            return image, i
        if self.kind == "dict":
            return {"image": sg.tensor(image), "label": i, "weight": 0.5 * i}
        return Pair(image, i)


@pytest.mark.parametrize("kind", ["tuple", "dict", "named"])
def test_other_datasets_are_collated(kind):
    batches = list(DataLoader(Samples(kind), batch_size=2))
    assert len(batches) == 3
    for number, batch in enumerate(batches):
        if kind == "dict":
            assert list(batch) == ["image", "label", "weight"]
            image, label = batch["image"], batch["label"]
            np.testing.assert_array_equal(batch["weight"].data, 0.5 * label.data)
        else:
            assert type(batch) is (Pair if kind == "named" else tuple)
            image, label = batch
        labels = np.arange(2 * number, min(2 * number + 2, 5))
        np.testing.assert_array_equal(label.data, labels)
        assert isinstance(image, sg.Tensor) and image.shape == (len(labels), 2, 2)
        np.testing.assert_array_equal(image.data, labels[:, None, None] * np.ones((2, 2)))


def test_batch_size_must_be_a_positive_int():
    for bad in (0, -1, 2.0, True, None):
        with pytest.raises(ValueError, match=r"batch_size must be a positive int"):
            DataLoader(dataset(), batch_size=bad)
