"""`guardrail serve` fixes glibc's mmap threshold so memory long requests free is returned."""

from __future__ import annotations

import platform
import subprocess
import sys


def test_the_threshold_is_fixed_on_glibc_and_left_alone_elsewhere() -> None:
    """True where the C library is glibc (Linux), False (and nothing done) elsewhere; in a
    child process, so the test run keeps its own allocator settings."""
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    code = "from guardrail.server.malloc import fix_mmap_threshold; print(fix_mmap_threshold())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == str(glibc)
