"""Sandbox resource limits: a plain dataclass, importable without torch (the web process reads it)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)
_warned: set[tuple[str, str]] = set()

# A run's disk I/O, per block device that backs the sandbox's files (workers.sandbox.cgroup). A grading
# reads nothing from disk once the worker has the runtime in its page cache, so these bound only a run
# that forces the disk on purpose (O_DIRECT reads of the runtime measured 289-687 MB/s unthrottled): far
# below what a local SSD or a cloud volume serves, so that a few runs at their ceiling still leave the
# disk to the worker, the other gradings and the host. The environment sets them for the host; a
# challenge may override them like any other limit; an empty value or 0 leaves that one unlimited.
IO_LIMIT_DEFAULTS = {
    "SANDBOX_IO_READ_MBPS": 50,
    "SANDBOX_IO_WRITE_MBPS": 20,
    "SANDBOX_IO_READ_IOPS": 2000,
    "SANDBOX_IO_WRITE_IOPS": 1000,
}


def io_limit_from_env(name: str) -> int:
    """``$name`` as a whole number >= 0 (empty or 0: no limit); unset or unusable: its default, which keeps
    the limit on rather than silently dropping it."""
    default = IO_LIMIT_DEFAULTS[name]
    raw = os.environ.get(name)
    if raw is None:
        return default
    raw = raw.strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        if (name, raw) not in _warned:  # every Limits() reads it: say it once
            _warned.add((name, raw))
            logger.warning("%s=%r is not a whole number >= 0; using %d", name, raw, default)
        return default
    return value


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 20
    wall_seconds: float = 40
    memory_mb: int = 1536
    processes: int = 32
    file_size_mb: int = 16
    open_files: int = 64
    output_bytes: int = 64 * 1024
    tmp_mb: int = 64
    # Bound on the result stream (manifest + safetensors) the parent is willing to read.
    result_mb: int = 64
    # Disk I/O of the whole run on each device it reads from (MB = 2**20 bytes, as memory_mb); 0: unlimited.
    io_read_mbps: int = field(default_factory=lambda: io_limit_from_env("SANDBOX_IO_READ_MBPS"))
    io_write_mbps: int = field(default_factory=lambda: io_limit_from_env("SANDBOX_IO_WRITE_MBPS"))
    io_read_iops: int = field(default_factory=lambda: io_limit_from_env("SANDBOX_IO_READ_IOPS"))
    io_write_iops: int = field(default_factory=lambda: io_limit_from_env("SANDBOX_IO_WRITE_IOPS"))
