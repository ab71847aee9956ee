"""CPU time of local processes from Linux /proc, for the benchmarks (no Django needed)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its direct children (a worker's pool) so far, in seconds."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return sum(cpu_seconds(p) for p in pids)


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # utime and stime are fields 14 and 15 of stat (counted from 1, the command name being 2).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
