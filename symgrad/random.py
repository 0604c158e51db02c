"""The random numbers symgrad draws itself (initial weights, dropout masks, the order
of shuffled batches): one NumPy generator, seeded by ``sg.manual_seed`` as PyTorch's
``torch.manual_seed`` seeds its own, never NumPy's global random state.

NOTE: made on first use: numpy.random costs 10-30 ms to import, which ``import
symgrad`` should not pay.
"""

import numpy

_generator = None


def manual_seed(seed):
    """Seed symgrad's generator: the initial weights, dropout masks and shuffled batches
    drawn after it are the same on every run. Returns the generator."""
    global _generator
    _generator = numpy.random.default_rng(seed)
    return _generator


def default_generator():
    """symgrad's generator (seeded from the operating system until ``manual_seed``)."""
    global _generator
    if _generator is None:
        _generator = numpy.random.default_rng()
    return _generator
