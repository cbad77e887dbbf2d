"""The generic grader: one sandbox run of the learner's code on a kind's hidden cases, and the verdict.

Everything that is the same for every kind lives here once: drawing a fresh seed the sandbox never sees,
the sandbox run, the mapping of its outcome (timeout, memory, output flood, crash, code that does not load,
a missing entry point) to a verdict, the "runs" and "returns the right type" checks, and the feedback that
opens with the cause of a failed deciding check (:func:`decide`) and ends with any advice, as tips. A kind
(:class:`ChallengeKind`) says only what is specific to it: its cases, its checks, its mistakes, its details.

No Django imports: workers, ``manage.py grade`` and ``regrade`` call :func:`grade` directly.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from challenges.kinds import KindInfo
from workers.sandbox import Case, CaseOutput, Limits, ResultMode, TensorResult
from workers.sandbox.harness import SHOWN_FILENAME

logger = logging.getLogger(__name__)

GradeStatus = Literal["passed", "failed", "error", "timeout"]


class GradingInfrastructureError(RuntimeError):
    """The grader could not run at all (no sandbox, broken worker). Retry; never blame the learner."""


@dataclass(frozen=True)
class Check:
    """One check of a verdict. An ``advisory`` one is measured inside the learner's own process (which
    can fake it), so it is shown as advice and never decides the verdict or the score."""

    name: str
    passed: bool
    message: str
    advisory: bool = False


@dataclass(frozen=True)
class Mistake:
    """A mistake learners make, named in feedback when the submission's results match it.

    An ``advisory`` one rests only on what was measured inside the learner's process (see :class:`Check`): it
    is given as a tip after the rest of the feedback and never headlines a failed verdict."""

    key: str
    title: str
    explanation: str
    advisory: bool = field(default=False, kw_only=True)


@dataclass(frozen=True)
class GradingTarget:
    """What grading needs to know about one challenge; built from its row or from its content files."""

    slug: str
    kind: str
    entrypoint: str
    limits: Limits
    options: dict = field(default_factory=dict)
    grader_version: str = ""


@dataclass
class Verdict:
    """The one shape of a verdict, from the grader to the database and the API."""

    status: GradeStatus
    score: float
    checks: list[Check]
    feedback: str
    mistakes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    grader_version: str = ""

    def __post_init__(self) -> None:
        # Messages quote learner output: PostgreSQL refuses NUL, and JSON refuses lone surrogates.
        self.checks = [
            Check(clean_text(c.name), bool(c.passed), clean_text(c.message), bool(c.advisory)) for c in self.checks
        ]
        self.feedback = clean_text(self.feedback)
        self.mistakes = [clean_text(m) for m in self.mistakes]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clean_text(text: object) -> str:
    return str(text).replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


@dataclass
class ExampleFindings:
    """What a kind makes of a "Run on examples": a row per example, and the diagnosis grading would give (the
    mistakes it would name, ranked, and a headline saying what differed that they do not explain)."""

    rows: list[dict[str, Any]]
    mistakes: list[Mistake] = field(default_factory=list)
    headline: str = ""


@dataclass
class Evaluation:
    """What a kind found: its checks in order, the mistakes it recognised (most likely first), details.

    ``headline`` is what differed (input, expected, got) that no known mistake matches, rather than a guess:
    a failed verdict opens with it when no mistake was recognised, and says it after the mistakes when they
    explain only some of the values."""

    checks: list[Check]
    mistakes: list[Mistake] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    headline: str = ""


class Drawn:
    """One hidden case as the kind drew it: the sandbox's :class:`Case` and how to describe it to a learner."""

    case: Case

    def describe(self) -> str:
        raise NotImplementedError


class ChallengeKind:
    """The trusted side of one kind of challenge. Subclasses set ``info`` and implement draw/evaluate."""

    info: KindInfo
    result: ResultMode = TensorResult()

    def draw(self, seed: int, target: GradingTarget, device: str) -> list[Drawn]:
        raise NotImplementedError

    def evaluate(self, drawn: list[Drawn], outputs: list[CaseOutput], target: GradingTarget) -> Evaluation:
        raise NotImplementedError

    def passed_feedback(self, evaluation: Evaluation, target: GradingTarget) -> str:
        return "All checks passed."

    def details(self, target: GradingTarget) -> dict[str, Any]:
        """Details for a verdict that never reached :meth:`evaluate` (the code did not run)."""
        return {"kind": self.info.name}

    def examples(self, target: GradingTarget, device: str) -> list[Drawn]:
        """A few fixed, visible cases for "Run on examples" (``info.examples``): never hidden ones, no secrets."""
        raise NotImplementedError(f"kind {self.info.name} has no visible examples")

    def example_report(self, drawn: list[Drawn], outputs: list[CaseOutput], target: GradingTarget) -> ExampleFindings:
        """Per example, as plain JSON: its inputs (values or a summary), the learner's value, the reference's,
        any error; and the run's diagnosis, as grading's, from the examples' own values."""
        raise NotImplementedError


# --------------------------------------------------------------------------- checks every kind shares


def runs_check(drawn: list[Drawn], outputs: list[CaseOutput]) -> Check:
    for d, out in zip(drawn, outputs, strict=True):
        if not out.ok:
            error = out.error or {}
            tb = str(error.get("traceback", "")).strip()
            return Check("runs", False, f"Your function raised an error on {d.describe()}{raised_where(error)}:\n{tb}")
    return Check("runs", True, f"Ran on {count(len(drawn), 'hidden input')} without an error.")


def raised_where(error: dict) -> str:
    """``" (ZeroDivisionError at line 12)"``: the exception's type and the line of the learner's file it left
    from, so that the first line of the message (and of the feedback, which quotes it) names both; the
    traceback that follows has the rest. Empty when the sandbox reported neither."""
    kind = str(error.get("type") or "").strip()
    lines = re.findall(rf'File "{re.escape(SHOWN_FILENAME)}", line (\d+)', str(error.get("traceback") or ""))
    # The innermost of the learner's frames: where the exception left their code.
    where = f"line {lines[-1]}" if lines else ""
    if kind and where:
        return f" ({kind} at {where})"
    return f" ({kind or where})" if kind or where else ""


def first_problem(
    name: str,
    drawn: list[Drawn],
    outputs: list[CaseOutput],
    problem: Callable[[CaseOutput], str | None],
    ok_message: str,
) -> Check:
    """Pass unless ``problem`` finds something in an output that ran; the first one found is the message."""
    ran = False
    for d, out in zip(drawn, outputs, strict=True):
        if not out.ok:
            continue
        ran = True
        if found := problem(out):
            return Check(name, False, f"On {d.describe()} your function {found}.")
    if not ran:
        return Check(name, False, "Not checked: your function raised an error on every input.")
    return Check(name, True, ok_message)


def not_checked_if_no_result(name: str, outputs: Iterable[CaseOutput]) -> Check | None:
    if all(not out.ok for out in outputs):
        # A function that never returns earns nothing for what it did not do wrong.
        return Check(name, False, "Not checked: your function did not return a result.")
    return None


def count(n: int, noun: str) -> str:
    """Counted for a sentence: "the 1 hidden input", "all 11 hidden inputs" (never "all 1 hidden inputs")."""
    return f"the {n} {noun}" if n == 1 else f"all {n} {noun}s"


def fmt(x: float) -> str:
    return f"{x:.6g}"


# --------------------------------------------------------------------------- the one grading path


def grade(
    target: GradingTarget,
    code: str,
    *,
    device: str = "cpu",
    seed: int | None = None,
    pool=None,
    on_phase: Callable[[str], None] | None = None,
) -> Verdict:
    """Grade ``code`` for ``target``.

    Raises :class:`GradingInfrastructureError` when the sandbox cannot run; every learner-caused outcome
    (exceptions, timeouts, memory, malformed results) is a Verdict. ``pool`` (a
    :class:`workers.sandbox.pool.SandboxPool`) forks the sandbox from a warm zygote; without one it starts
    cold. ``on_phase("checking")`` is called once the sandbox has returned outputs, before the trusted checks
    compare them, so that the caller can show the learner that phase.
    """
    from challenges.kinds import load_kind

    kind = load_kind(target.kind)
    started = time.monotonic()
    seed = secrets.randbits(63) if seed is None else seed
    with trusted_work():
        drawn = kind.draw(seed, target, device)
    result = run_drawn(target, kind, code, drawn, device=device, pool=pool)
    sandbox_done = time.monotonic()

    def verdict(status: GradeStatus, score: float, evaluation: Evaluation, feedback: str) -> Verdict:
        now = time.monotonic()
        return Verdict(
            status=status,
            score=round(score, 4),
            checks=evaluation.checks,
            feedback=feedback,
            # Deciding mistakes first (ranked by the kind), then advice.
            mistakes=[m.title for m in sorted(evaluation.mistakes, key=lambda m: m.advisory)],
            details=evaluation.details or kind.details(target),
            timings={
                "sandbox_startup_seconds": result.startup_seconds,
                "sandbox_run_seconds": result.wall_seconds,
                "checks_seconds": round(now - sandbox_done, 3),
                "total_seconds": round(now - started, 3),
                "pooled": 1.0 if result.pooled else 0.0,
            },
            device=device,
            grader_version=target.grader_version,
        )

    if result.status != "ok":
        status, message = _outcome_message(result, target, kind.info)
        return verdict(status, 0.0, Evaluation([Check("runs", False, message)]), message)

    if on_phase is not None:
        on_phase("checking")
    try:
        with trusted_work():
            evaluation = kind.evaluate(drawn, result.cases, target)
    except Exception:  # outputs the kind could not judge still end in a verdict (logged with its traceback)
        logger.exception("kind %s could not evaluate a submission's outputs", target.kind)
        message = (
            "The grader could not judge what your code returned, so this attempt has no score. "
            "It is not counted against you; if it happens again, tell us."
        )
        return verdict("error", 0.0, Evaluation([Check("graded", False, message)]), message)
    # The verdict and the score rest only on what the trusted side verified from the returned data.
    return verdict(*decide(evaluation, kind.passed_feedback(evaluation, target)))


def decide(evaluation: Evaluation, passed_text: str) -> tuple[GradeStatus, float, Evaluation, str]:
    """Status, score and feedback from a kind's evaluation.

    The feedback opens with the cause of a deciding failed check: the exception, when the code raised (the
    "runs" check names it and its line); else the recognised mistakes, ranked by the kind; else the kind's
    ``headline`` (what differed, no guess), which also follows mistakes that explain only part. Advice
    (advisory checks, advisory mistakes) never opens a failed verdict: it comes last, as tips."""
    checks = [c for c in evaluation.checks if not c.advisory]
    tips_text = "".join(f" {tip}" for tip in tips(evaluation.checks, evaluation.mistakes))
    named = mistakes_text([m for m in evaluation.mistakes if not m.advisory])
    passed = sum(c.passed for c in checks)
    if passed == len(checks):
        return "passed", 1.0, evaluation, passed_text + (f" {named}" if named else "") + tips_text
    first = next(c for c in checks if not c.passed)
    summary = f"{passed} of {len(checks)} checks passed. First failing check, {first.name}: {first.message}"
    if first.name == "runs":
        feedback = summary + (f"\n{named}" if named else "")
    else:
        cause = opening(evaluation.mistakes, evaluation.headline)
        feedback = f"{cause} {summary}" if cause else summary
    return "failed", passed / len(checks), evaluation, feedback + tips_text


def opening(mistakes: list[Mistake], headline: str) -> str:
    """What a failed verdict opens with when its code ran: the deciding mistakes, named and explained, most
    likely first; then, or alone, the kind's headline saying what differed that they do not explain."""
    return " ".join(part for part in (mistakes_text([m for m in mistakes if not m.advisory]), headline) if part)


def tips(checks: list[Check], mistakes: list[Mistake]) -> list[str]:
    """The advice that closes a verdict, each once: advisory checks that failed (one that could not be measured,
    because the code returned nothing, points at no risk), then advisory mistakes."""
    found = [
        f"Tip: {c.message}" for c in checks if c.advisory and not c.passed and not c.message.startswith("Not checked")
    ]
    found += [f"Tip: {m.title}. {m.explanation}" for m in mistakes if m.advisory]
    return list(dict.fromkeys(found))


@contextmanager
def trusted_work() -> Iterator[None]:
    """Run a kind's trusted torch work (drawing cases, references, evaluation, the diagnosis) on one intra-op
    thread, then restore the process's setting.

    Its tensors are small (at most 2 x 11 x 32,000 floats; a 2,410-parameter student), so a second thread buys
    little and costs a synchronisation per operation. On shared cores it costs far more: with a cohort's
    sandboxes busy, OpenMP's waiting threads spin against them. Beside four busy processes the 300-step
    labels-only baseline took 3-8 s of CPU (5-20 s wall) on two threads and 0.13-0.2 s on one; on a loaded
    machine the sequence loss's diagnosis (83 candidate formulas on 13 probes) took 14.6 s on two threads and
    1.2 s on one (docs/benchmarks.md)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run_drawn(target: GradingTarget, kind, code: str, drawn: list[Drawn], *, device: str, pool=None):
    """``code``'s entry point on the drawn cases, in a fresh sandbox (forked from ``pool`` when it can): the one
    way grading and "Run on examples" reach the sandbox. Raises GradingInfrastructureError when none can run."""
    from workers.sandbox import SandboxUnavailable, run_cases

    try:
        return run_cases(
            code,
            entrypoint=target.entrypoint,
            cases=[d.case for d in drawn],
            result=kind.result,
            limits=target.limits,
            device=device,
            pool=pool,
        )
    except SandboxUnavailable as exc:
        raise GradingInfrastructureError(str(exc)) from exc


def mistakes_text(mistakes: list[Mistake]) -> str:
    """Each recognised mistake named and explained once, the most likely first.

    This is the only place a verdict names a mistake: check messages say what was measured (expected,
    got, where), so a mistake that fails several checks is still said once.
    """
    parts = [
        f"{'Likely mistake' if i == 0 else 'Also'}: {m.title}. {m.explanation}"
        for i, m in enumerate(unique_mistakes(mistakes))
    ]
    return " ".join(parts)


def unique_mistakes(mistakes: list[Mistake]) -> list[Mistake]:
    """Each mistake key once, where it first comes."""
    seen: list[Mistake] = []
    for mistake in mistakes:
        if all(m.key != mistake.key for m in seen):
            seen.append(mistake)
    return seen


def _outcome_message(result, target: GradingTarget, info: KindInfo) -> tuple[GradeStatus, str]:
    """A sandbox run that did not finish normally, in the learner's terms."""
    if result.status == "timeout":
        return "timeout", result.message or "Your code took too long."
    if result.status == "error":
        tb = ((result.error or {}).get("traceback") or "").strip()
        message = f"Your code could not be loaded:\n{tb}" if tb else "Your code could not be loaded."
        if f"has no attribute '{target.entrypoint}'" in message or "is not a function" in message:
            message += f"\nDefine a function named {target.entrypoint}({', '.join(info.parameters)})."
        return "failed", message
    return "failed", result.message or "Your code did not finish."


def grading_device() -> str:
    """``GRADING_DEVICE``: "cuda", "cpu" or "auto" (the default: CUDA when this machine has a GPU)."""
    import os

    wanted = os.environ.get("GRADING_DEVICE", "auto").strip().lower() or "auto"
    if wanted in ("cpu", "cuda"):
        return wanted
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
