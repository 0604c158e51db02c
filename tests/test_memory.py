"""symgrad.memory: freed arrays come back from the heap, not from the kernel."""

import os

import numpy as np
import pytest

from symgrad import memory

resource = pytest.importorskip("resource")


def _page_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@pytest.mark.skipif(
    os.environ.get("SYMGRAD_KEEP_FREED_MEMORY") == "0" or not memory.keep_freed_memory(),
    reason="glibc's malloc only, and not when opted out",
)
def test_a_step_that_frees_its_arrays_gets_their_pages_back_without_faults():
    def step():
        # three 8 MB arrays alive at once, then freed: glibc's default gives the top of
        # its heap back to the kernel here, and the next step faults every page again
        arrays = [np.ones(1_000_000) for _ in range(3)]
        return sum(float(a[-1]) for a in arrays)

    for _ in range(3):
        step()
    before = _page_faults()
    for _ in range(5):
        step()
    pages = 5 * 3 * 8_000_000 // 4096
    assert _page_faults() - before < pages // 20
