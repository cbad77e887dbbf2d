from pathlib import Path

import pytest

from workers.sandbox import Limits

SOLUTIONS = Path(__file__).with_name("solutions")
# The reference is the one learners see after a pass: authored once, in the challenge's content files.
REFERENCE = Path(__file__).resolve().parents[2] / "content" / "challenges" / "distillation-loss" / "solution.py"


@pytest.fixture
def small_limits() -> Limits:
    return Limits(cpu_seconds=10, wall_seconds=10, memory_mb=1536, processes=32)


def solution(name: str) -> str:
    """A known solution: "reference", or one of the known mistakes in tests/grading/solutions/."""
    return (REFERENCE if name == "reference" else SOLUTIONS / f"{name}.py").read_text()
