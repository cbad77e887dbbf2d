"""Trusted-side grading types and the challenge registry. No Django imports: workers call this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from workers.sandbox import Limits, PrewarmedSandbox

GradeStatus = Literal["passed", "failed", "error", "timeout"]


class GradingInfrastructureError(RuntimeError):
    """The grader could not run at all (no sandbox, broken worker). Retry; never blame the learner."""


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    message: str


@dataclass
class GradeResult:
    status: GradeStatus
    score: float
    checks: list[Check]
    timings: dict[str, float]
    device: str
    feedback: str
    mistakes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Grader = Callable[..., GradeResult]

GRADERS: dict[str, Grader] = {}


def register(slug: str) -> Callable[[Grader], Grader]:
    def decorator(fn: Grader) -> Grader:
        GRADERS[slug] = fn
        return fn

    return decorator


def grade(
    slug: str,
    code: str,
    *,
    device: str = "cpu",
    limits: Limits | None = None,
    seed: int | None = None,
    prewarmed: PrewarmedSandbox | None = None,
) -> GradeResult:
    """Grade ``code`` for challenge ``slug``.

    Raises ``KeyError`` for an unknown slug and :class:`GradingInfrastructureError` when the sandbox
    cannot run; every learner-caused outcome (exceptions, timeouts, memory) is a GradeResult.
    """
    # Imported for its side effect of registering graders; kept here so base has no cycle.
    from challenges.grading import distillation_loss  # noqa: F401

    try:
        grader = GRADERS[slug]
    except KeyError:
        raise KeyError(f"no grader for challenge {slug!r}") from None
    return grader(code, device=device, limits=limits, seed=seed, prewarmed=prewarmed)
