"""Memory freed by a long request goes back to the system (`guardrail serve` only).

glibc's malloc gives an allocation of 128 KiB or more its own mapping, unmapped on `free`, but
raises that threshold to the size of each such block freed (up to 32 MiB): after a few long
texts, the large buffers ONNX Runtime hands back (`OnnxModel.release_memory`) land on the heap
and stay in the process. Fixing the threshold at 128 KiB keeps them mapped, so they are
returned: measured on one process with both bundles of the default policy after 100,000
English and 21,000 Japanese characters, 357-372 MB with the release alone, 266-268 MB with
this as well, against 500-520 MB before (docs/benchmarks.md, "Memory after long inputs"); the
long texts took as long either way.

Only the server process sets it: a library must not change its host's allocator. Elsewhere
than glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value


def fix_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold at 128 KiB; True when it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES))
