"""Grading through the kind protocol: a challenge's target read from its content files, and known solutions."""

from dataclasses import replace
from pathlib import Path

import pytest

from challenges.content import read_target
from challenges.kinds.grader import GradingTarget, Verdict, grade
from tests.fixtures.sandbox import active_pool
from workers.sandbox import Limits

REPO = Path(__file__).resolve().parents[2]
CONTENT = REPO / "content"
SOLUTIONS = Path(__file__).with_name("solutions")
# Fast enough for the suite, roomy enough for torch's import on a loaded 2-core machine.
SMALL_LIMITS = {"cpu_seconds": 10, "wall_seconds": 10, "memory_mb": 1536, "processes": 32}


@pytest.fixture
def small_limits() -> Limits:
    return Limits(**SMALL_LIMITS)


def target(slug: str, limits: Limits | None = None) -> GradingTarget:
    found = read_target(CONTENT, slug)
    assert found is not None, slug
    return replace(found, limits=limits) if limits is not None else found


def grade_code(slug: str, code: str, *, limits: Limits | None = None, seed: int | None = None, **kw) -> Verdict:
    """Grade as a worker does: in a sandbox forked from the session's warm pool (unless the test asked for cold)."""
    kw.setdefault("pool", active_pool())
    return grade(target(slug, limits), code, seed=seed, **kw)


def solution(name: str, slug: str = "distillation-loss") -> str:
    """A known solution: "reference" (the challenge's own, from its content files) or one in solutions/<slug>/."""
    if name == "reference":
        return (CONTENT / "challenges" / slug / "solution.py").read_text()
    return (SOLUTIONS / slug / f"{name}.py").read_text()
