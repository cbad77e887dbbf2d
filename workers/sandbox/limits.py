"""Sandbox resource limits: a plain dataclass, importable without torch (the web process reads it)."""

from __future__ import annotations

from dataclasses import dataclass


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
