"""What the container may use: cores (affinity narrowed by a cgroup CPU quota) and memory (the cgroup limit,
or the machine's), read from `/sys/fs/cgroup` and `/proc/meminfo`."""

from __future__ import annotations

import math
import os
from pathlib import Path

MiB = 1024 * 1024


def _cgroup_value(*paths: str) -> int | None:
    for path in paths:
        try:
            raw = Path(path).read_text(encoding="ascii").split()
        except OSError:
            continue
        if raw and raw[0].isdigit():
            return int(raw[0])
    return None


def host_cpus() -> int:
    """Cores this container may use: the affinity mask, narrowed by a cgroup v2 CPU quota."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text(encoding="ascii").split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def _meminfo(key: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def host_memory_bytes() -> int:
    """Memory this container may use: the cgroup limit when there is one, else the machine's."""
    total = _meminfo("MemTotal") or 2048 * MiB
    limit = _cgroup_value("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    return min(total, limit) if limit else total


def available_memory_bytes() -> int | None:
    """Memory still free for this container now (cgroup limit - usage, or MemAvailable), if knowable."""
    available = _meminfo("MemAvailable")
    limit = _cgroup_value("/sys/fs/cgroup/memory.max")
    usage = _cgroup_value("/sys/fs/cgroup/memory.current")
    if limit and usage is not None:
        cgroup_free = max(0, limit - usage)
        available = cgroup_free if available is None else min(available, cgroup_free)
    return available
