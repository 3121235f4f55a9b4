"""Freed memory kept for reuse: big numpy temporaries without new page faults each time.

glibc's malloc serves every block above 32 MB with its own ``mmap`` and gives it back to the
system when it is freed, so the next array of that size faults all its pages in again. The
metrics of a run (evaluate_defects sorts ~60 M pixels a run) and the image maths allocate and
free such arrays over and over; on a virtual machine a page fault is expensive (the 2-core VMs
of ``docs/benchmarks.md``: ``np.full`` + ``np.cumsum`` of 20 M doubles 2x faster on reused
memory). :func:`keep_freed_memory` serves big blocks from the heap too and keeps up to 1 GiB of
freed memory there, for the run's process and the pool workers it forks (and, from their
initializer, the ones it spawns). The peak memory is the same; what is freed is returned to the
system when the process ends rather than at once.

Linux with glibc only (elsewhere nothing changes); ``SDG_FACTORY_MALLOC_TUNING=0`` turns it off.
"""

from __future__ import annotations

import ctypes
import os

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4  # glibc's mallopt parameters (malloc.h)

# looked up once, at import: never dlopen/dlsym in a process forked from a threaded parent (the
# loader's lock may be held by a thread that did not survive the fork), and a forked worker
# inherits its parent's malloc settings anyway (only a spawned one calls keep_freed_memory)
try:
    _MALLOPT = ctypes.CDLL("libc.so.6").mallopt
except (OSError, AttributeError):  # not glibc: its own allocator, left as it is
    _MALLOPT = None


def keep_freed_memory() -> bool:
    """Tune this process's malloc as described above; True when it was tuned."""
    if _MALLOPT is None or os.environ.get("SDG_FACTORY_MALLOC_TUNING", "1") == "0":
        return False
    return bool(_MALLOPT(_M_MMAP_MAX, 0) and _MALLOPT(_M_TRIM_THRESHOLD, 1 << 30) and _MALLOPT(_M_TOP_PAD, 64 << 20))
