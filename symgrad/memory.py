"""How the process keeps freed memory (glibc only), set once when symgrad is imported.

A training step allocates and frees the same arrays every time. glibc's malloc, by
default, hands the top of its heap back to the kernel whenever more than about twice
its largest recent block is free, so the next step takes every page again, and each
first touch of a page is a page fault. Measured on our 2-core Linux machine: a fault
costs 2-6 us, and LeNet-5's training step made 3,500 of them (10 ms, more than its
arithmetic). Keeping the freed memory (up to the step's peak) makes them zero.

Set ``SYMGRAD_KEEP_FREED_MEMORY=0`` before importing symgrad to leave malloc as it is.
Other allocators (musl, macOS, Windows, jemalloc preloaded) are left alone.
"""

import ctypes
import os
import sys

# glibc's mallopt() parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

TRIM_THRESHOLD = 1 << 30  # free heap kept before any goes back to the kernel
MMAP_THRESHOLD = 32 << 20  # larger blocks get their own mapping (glibc's maximum)


def keep_freed_memory():
    """Make glibc keep freed heap memory (up to TRIM_THRESHOLD) and serve blocks up to
    MMAP_THRESHOLD from the heap. True if it was done."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):
            return False  # not glibc: its thresholds mean nothing here
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


if os.environ.get("SYMGRAD_KEEP_FREED_MEMORY", "1") != "0":
    keep_freed_memory()
