"""Issue 19: the graders on code people actually wrote.

Every file under <slug>/ is a real implementation (or a deliberately different correct one) with a header that
says where it came from and what a careful reader judges it to be (see README.md). Each is graded through the kind
protocol, as a worker grades it, and the verdict must be the header's. Where the header names a mistake the grader
knows, the verdict must name it and the feedback must lead with it; where the grader names it wrongly today, that
assertion is a strict xfail with the reason, so that it fails (and must be un-marked) once the grader is fixed.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from challenges.kinds import load_kind
from challenges.kinds.grader import Mistake
from tests.grading.conftest import SMALL_LIMITS, grade_code
from workers.sandbox import Limits

pytestmark = pytest.mark.sandbox

HERE = Path(__file__).parent
SLUGS = ("distillation-loss", "sequence-distillation-loss", "train-student")
SEED = 19
HEADER_LINE = re.compile(r"^# (source|licence|adapted|verdict|mistake|why): ?(.*)$")
BRANCH_SUFFIX = "_in_one_branch"  # loss.py names a mistake made in one branch only as "<key>_in_one_branch"

# Headlines the grader gets wrong today (issue 19). Strict: each fails as soon as the grader names the mistake.
HEADLINE_XFAIL: dict[str, str] = {}


@dataclass(frozen=True)
class Corpus:
    path: Path
    slug: str
    header: dict[str, str]

    @property
    def id(self) -> str:
        return f"{self.slug}/{self.path.stem}"

    @property
    def verdict(self) -> str:
        return self.header["verdict"]

    @property
    def mistake_key(self) -> str | None:
        """The mistake's key (the first word of the mistake: line), or None for a correct file."""
        value = self.header.get("mistake", "").strip()
        return value.split()[0] if value else None


def read_header(path: Path) -> dict[str, str]:
    header: dict[str, str] = {}
    last = None
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        match = HEADER_LINE.match(line)
        if match:
            last = match.group(1)
            header[last] = match.group(2).strip()
        elif last and line.startswith("#   "):  # a continuation line
            header[last] += " " + line[1:].strip()
    return header


def corpus() -> list[Corpus]:
    return [Corpus(p, slug, read_header(p)) for slug in SLUGS for p in sorted((HERE / slug).glob("*.py"))]


CORPUS = corpus()


def known_mistakes(slug: str) -> dict[str, Mistake]:
    """Every Mistake the kind's module defines, by key: its formula mistakes and the module-level ones."""
    kind = load_kind(slug)
    module = importlib.import_module(type(kind).__module__)
    found: dict[str, Mistake] = {}
    for value in [*vars(module).values(), *vars(kind).values(), *getattr(kind, "mistakes", ())]:
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, Mistake):
                found.setdefault(item.key, item)
    return found


def mistake_title(slug: str, key: str) -> str | None:
    known = known_mistakes(slug)
    if key in known:
        return known[key].title
    if key.endswith(BRANCH_SUFFIX) and key.removesuffix(BRANCH_SUFFIX) in known:
        return f"{known[key.removesuffix(BRANCH_SUFFIX)].title} in one branch only"
    return None


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


_verdicts: dict[str, object] = {}


def graded(item: Corpus):
    """One grading per file for the whole session (the verdict and headline tests share it)."""
    if item.id not in _verdicts:
        # Loss files run under the suite's small limits; training keeps the challenge's own (45 s CPU).
        limits = None if item.slug == "train-student" else Limits(**SMALL_LIMITS)
        _verdicts[item.id] = grade_code(item.slug, item.path.read_text(), limits=limits, seed=SEED)
    return _verdicts[item.id]


def test_corpus_is_complete_and_well_formed():
    assert len(CORPUS) >= 30
    assert sum(c.slug == "train-student" for c in CORPUS) >= 5
    for item in CORPUS:
        assert {"source", "verdict", "why"} <= item.header.keys(), item.id
        assert item.verdict in ("passed", "failed"), item.id
        assert (item.mistake_key is None) == (item.verdict == "passed"), item.id
    for slug in SLUGS:
        verdicts = {c.verdict for c in CORPUS if c.slug == slug}
        assert verdicts == {"passed", "failed"}, slug  # right and wrong code for every challenge


def test_xfail_list_names_real_files():
    ids = {c.id for c in CORPUS}
    assert set(HEADLINE_XFAIL) <= ids


@pytest.mark.parametrize("item", CORPUS, ids=lambda c: c.id)
def test_verdict_matches_judgement(item: Corpus):
    verdict = graded(item)
    assert verdict.status == item.verdict, verdict.feedback


@pytest.mark.parametrize("item", [c for c in CORPUS if c.verdict == "passed"], ids=lambda c: c.id)
def test_correct_code_passes_clean(item: Corpus):
    """Correct code as commonly written (the teacher detached in the training loop, say) gets no mistake and no
    tip: advice is given only where it points at a real risk in the learner's code."""
    verdict = graded(item)
    assert verdict.mistakes == [] and "Tip:" not in verdict.feedback, verdict.feedback


def _headline_cases():
    for item in CORPUS:
        key = item.mistake_key
        if key is None or key == "none-yet":
            continue
        marks = []
        if item.id in HEADLINE_XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=HEADLINE_XFAIL[item.id]))
        yield pytest.param(item, id=item.id, marks=marks)


@pytest.mark.parametrize("item", list(_headline_cases()))
def test_known_mistake_is_named_first(item: Corpus):
    title = mistake_title(item.slug, item.mistake_key)
    assert title is not None, f"{item.id}: the grader has no mistake {item.mistake_key!r}; use none-yet"
    verdict = graded(item)
    assert title in verdict.mistakes, (verdict.mistakes, verdict.feedback)
    assert title in first_sentence(verdict.feedback), verdict.feedback


# Bugs the grader has no key for, but whose feedback headlines another (wrong) known mistake today.
MISNAMED_XFAIL: dict[str, str] = {}


def _unknown_cases():
    for item in CORPUS:
        if item.mistake_key != "none-yet":
            continue
        marks = []
        if item.id in MISNAMED_XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=MISNAMED_XFAIL[item.id]))
        yield pytest.param(item, id=item.id, marks=marks)


def test_misnamed_xfail_list_names_unknown_bugs():
    ids = {c.id for c in CORPUS if c.mistake_key == "none-yet"}
    assert set(MISNAMED_XFAIL) <= ids


@pytest.mark.parametrize("item", list(_unknown_cases()))
def test_unknown_bug_is_not_misnamed(item: Corpus):
    """A bug the grader has no key for must not be headlined as some other mistake the learner did not make."""
    verdict = graded(item)
    assert not verdict.feedback.startswith("Likely mistake"), verdict.feedback
    assert not [m for m in verdict.mistakes if m in {k.title for k in known_mistakes(item.slug).values()}], (
        verdict.mistakes
    )
