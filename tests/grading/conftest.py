from pathlib import Path

import pytest

from workers.sandbox import Limits

SOLUTIONS = Path(__file__).with_name("solutions")


@pytest.fixture
def small_limits() -> Limits:
    return Limits(cpu_seconds=10, wall_seconds=10, memory_mb=1536, processes=32)


def solution(name: str) -> str:
    return (SOLUTIONS / f"{name}.py").read_text()
