"""Learning paths as files: ``content/paths/<slug>/path.yaml`` plus one Markdown file per drop.

path.yaml holds the path's phases, the drops' order, titles and summaries, and the FAQ; each
``drops/*.md`` file holds one drop's front matter (slug, minutes, cards, numbers) and its body.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from learnpath.content import numbers, reading_time
from learnpath.content.files import (
    FrontMatterDocument,
    LineDict,
    Problems,
    check_keys,
    read_front_matter,
    read_yaml_file,
    text_of,
)
from learnpath.content.render import KNOWN_DEMOS, demos_in, drop_links_in

# Phases 1-3 teach a drop a day; a drop there states at most this many minutes (the last phase is a worksheet).
DAILY_PHASES = 3
DAILY_MINUTES_LIMIT = 8
PATH_KEYS = {"slug": True, "title": True, "summary": False, "phases": True, "faq": False}
PHASE_KEYS = {"slug": True, "title": True, "drops": True}
DROP_ENTRY_KEYS = {"slug": True, "title": True, "summary": True}
FAQ_KEYS = {"slug": True, "question": True, "answer": True}
DROP_FILE_KEYS = {"slug": True, "minutes": True, "cards": True, "numbers": False}
CARD_KEYS = {
    "recall": {"key": True, "kind": True, "prompt": True, "answer": True, "explanation": False},
    "choice": {"key": True, "kind": True, "prompt": True, "answer": True, "choices": True, "explanation": False},
    "numeric": {
        "key": True, "kind": True, "prompt": True, "answer": True, "tolerance": True, "explanation": False,
    },
}  # fmt: skip
NUMBER_KEYS = {"quote": True, "expr": True}
# Site links that content writes by hand: a challenge page, or an FAQ entry on a path's page.
CHALLENGE_LINK = re.compile(r"\]\(/challenges/(?P<slug>[^/)#\s]+)/\)")
FAQ_LINK = re.compile(r"\]\(/paths/(?P<path>[^/)#\s]+)/#faq-(?P<faq>[^)\s]+)\)")


@dataclass
class CardSpec:
    key: str
    kind: str
    prompt: str
    answer: str
    choices: list[str]
    numeric_answer: float | None
    tolerance: float | None
    explanation: str


@dataclass
class DropSpec:
    slug: str
    title: str
    summary: str
    phase_slug: str
    position: int
    minutes: int = 0
    body: str = ""
    cards: list[CardSpec] = field(default_factory=list)
    source_file: str = ""
    minutes_line: int = 1
    estimate: reading_time.ReadingEstimate = field(default_factory=reading_time.ReadingEstimate)

    @property
    def runs_over(self) -> bool:
        """Measured longer than the minutes it states (a drop with no minutes states nothing to run over)."""
        return bool(self.minutes) and self.estimate.seconds > self.minutes * 60


@dataclass
class PathSpec:
    slug: str
    title: str
    summary: str
    phases: list[tuple[str, str]]  # (slug, title) in order
    drops: list[DropSpec]
    faq: list[tuple[str, str, str]]  # (slug, question, answer markdown)
    source_file: str


def parse_path(directory: Path, problems: Problems) -> PathSpec | None:
    path_file = directory / "path.yaml"
    data = read_yaml_file(path_file, problems)
    if data is None:
        return None
    if not check_keys(data, PATH_KEYS, path_file, "the path", problems):
        if not isinstance(data, LineDict) or not isinstance(data.get("phases"), list):
            return None

    spec = PathSpec(
        slug=text_of(data.get("slug", "")),
        title=text_of(data.get("title", "")),
        summary=text_of(data.get("summary") or ""),
        phases=[],
        drops=[],
        faq=[],
        source_file=str(path_file),
    )
    seen_phase: set[str] = set()
    seen_drop: dict[str, int] = {}
    for phase in data.get("phases") or []:
        if not check_keys(phase, PHASE_KEYS, path_file, "a phase", problems):
            continue
        slug = text_of(phase["slug"])
        if slug in seen_phase:
            problems.add(path_file, phase.line_of("slug"), f"duplicate phase slug {slug!r}")
        seen_phase.add(slug)
        spec.phases.append((slug, text_of(phase["title"])))
        for entry in phase.get("drops") or []:
            if not check_keys(entry, DROP_ENTRY_KEYS, path_file, "a drop entry", problems):
                continue
            drop_slug = text_of(entry["slug"])
            if drop_slug in seen_drop:
                problems.add(
                    path_file,
                    entry.line_of("slug"),
                    f"duplicate drop slug {drop_slug!r} (first at line {seen_drop[drop_slug]})",
                )
                continue
            seen_drop[drop_slug] = entry.line_of("slug")
            spec.drops.append(
                DropSpec(
                    slug=drop_slug,
                    title=text_of(entry["title"]),
                    summary=text_of(entry["summary"]),
                    phase_slug=slug,
                    position=len(spec.drops) + 1,
                )
            )

    seen_faq: set[str] = set()
    for entry in data.get("faq") or []:
        if not check_keys(entry, FAQ_KEYS, path_file, "an FAQ entry", problems):
            continue
        slug = text_of(entry["slug"])
        if slug in seen_faq:
            problems.add(path_file, entry.line_of("slug"), f"duplicate FAQ slug {slug!r}")
        seen_faq.add(slug)
        spec.faq.append((slug, text_of(entry["question"]), text_of(entry["answer"])))

    _parse_drop_files(directory, spec, seen_drop, problems)
    _check_site_links(directory, spec, seen_faq, problems)
    _check_minutes(spec, problems)
    return spec


def _check_minutes(spec: PathSpec, problems: Problems) -> None:
    """Each drop fits its stated minutes by the reading-time rule; a daily drop states at most 8."""
    daily = {slug for slug, _ in spec.phases[:DAILY_PHASES]}
    for drop in spec.drops:
        if not drop.source_file or not drop.minutes:
            continue
        file, measured = Path(drop.source_file), drop.estimate
        if drop.phase_slug in daily and drop.minutes > DAILY_MINUTES_LIMIT:
            problems.add(
                file,
                drop.minutes_line,
                f"states {drop.minutes} minutes; a drop in phases 1-{DAILY_PHASES} states at most "
                f"{DAILY_MINUTES_LIMIT}",
            )
        if drop.runs_over:
            problems.add(
                file,
                drop.minutes_line,
                f"measures {measured.minutes:.1f} minutes but states {drop.minutes}: "
                f"{measured.describe()}. Shorten the core, or move depth into '## {reading_time.DEEPER_HEADING}'",
            )


def _check_site_links(directory: Path, spec: PathSpec, faq_slugs: set[str], problems: Problems) -> None:
    """Links from drops to /challenges/<slug>/ and /paths/<slug>/#faq-<slug> must name content that exists."""
    challenges = directory.parents[1] / "challenges"
    for drop in spec.drops:
        if not drop.source_file:
            continue
        file = Path(drop.source_file)
        text = file.read_text(encoding="utf-8")
        for match in CHALLENGE_LINK.finditer(text):
            if not (challenges / match["slug"] / "challenge.yaml").is_file():
                line = text.count("\n", 0, match.start()) + 1
                problems.add(file, line, f"link to missing challenge '/challenges/{match['slug']}/'")
        for match in FAQ_LINK.finditer(text):
            if match["path"] != spec.slug or match["faq"] not in faq_slugs:
                line = text.count("\n", 0, match.start()) + 1
                problems.add(file, line, f"link to missing FAQ entry '{match['faq']}' of path '{match['path']}'")


def _parse_drop_files(directory: Path, spec: PathSpec, listed: dict[str, int], problems: Problems) -> None:
    by_slug = {drop.slug: drop for drop in spec.drops}
    found: dict[str, Path] = {}
    for file in sorted((directory / "drops").glob("*.md")):
        document = read_front_matter(file, problems)
        if document is None:
            continue
        meta = document.meta
        if not check_keys(meta, DROP_FILE_KEYS, file, "the drop's front matter", problems):
            if not isinstance(meta, LineDict) or not meta.get("slug"):
                continue
        slug = text_of(meta.get("slug", ""))
        if slug in found:
            problems.add(file, meta.line_of("slug"), f"duplicate drop slug {slug!r}, also in {found[slug].name}")
            continue
        found[slug] = file
        drop = by_slug.get(slug)
        if drop is None:
            problems.add(file, meta.line_of("slug"), f"drop {slug!r} is not listed in path.yaml")
            continue
        _parse_drop_document(file, document, drop, set(listed), problems)
    for slug, line in listed.items():
        if slug not in found:
            problems.add(directory / "path.yaml", line, f"drop {slug!r} has no file in drops/ with 'slug: {slug}'")


def _parse_drop_document(
    file: Path, document: FrontMatterDocument, drop: DropSpec, slugs: set[str], problems: Problems
) -> None:
    meta = document.meta
    drop.source_file = str(file)
    drop.minutes_line = meta.line_of("minutes")
    minutes = meta.get("minutes")
    if minutes is not None and (not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 60):
        problems.add(file, drop.minutes_line, "minutes must be a whole number from 1 to 60")
    else:
        drop.minutes = minutes or 0
    drop.body = document.body.strip()
    if not drop.body:
        problems.add(file, document.body_line, "the drop has no body")
    for line, target in drop_links_in(document.body):
        if target not in slugs:
            problems.add(file, document.body_line + line - 1, f"link to missing drop 'drop:{target}'")
    for line, name in demos_in(document.body):
        if name not in KNOWN_DEMOS:
            problems.add(file, document.body_line + line - 1, f"unknown demo {name!r} (known: {sorted(KNOWN_DEMOS)})")

    cards = meta.get("cards")
    if cards is not None and not isinstance(cards, list):
        problems.add(file, meta.line_of("cards"), "cards must be a list")
        cards = []
    seen: set[str] = set()
    for card in cards or []:
        parsed = _parse_card(file, card, problems)
        if parsed is None:
            continue
        if parsed.key in seen:
            problems.add(file, card.line_of("key"), f"duplicate card key {parsed.key!r}")
            continue
        seen.add(parsed.key)
        drop.cards.append(parsed)

    misplaced = reading_time.deeper_problem(document.body)
    if misplaced:
        problems.add(file, document.body_line, misplaced)
    drop.estimate = reading_time.estimate(
        document.body, [[card.prompt, *card.choices, card.answer, card.explanation] for card in drop.cards]
    )

    for entry in meta.get("numbers") or []:
        if not check_keys(entry, NUMBER_KEYS, file, "a number", problems):
            continue
        _check_number(file, entry, document.body, problems)


def _parse_card(file: Path, card, problems: Problems) -> CardSpec | None:
    if not isinstance(card, LineDict):
        problems.add(file, getattr(card, "line", 1), "a card must be a mapping")
        return None
    kind = card.get("kind")
    if kind not in CARD_KEYS:
        problems.add(file, card.line_of("kind"), f"card kind must be one of {', '.join(CARD_KEYS)}, not {kind!r}")
        return None
    if not check_keys(card, CARD_KEYS[kind], file, f"a {kind} card", problems):
        return None
    answer = card["answer"]
    choices: list[str] = []
    numeric_answer = tolerance = None
    if kind == "choice":
        raw = card["choices"]
        if not isinstance(raw, list) or len(raw) < 2:
            problems.add(file, card.line_of("choices"), "a choice card needs a list of at least two choices")
            return None
        choices = [text_of(choice) for choice in raw]
        if len(set(choices)) != len(choices):
            problems.add(file, card.line_of("choices"), "a choice card lists the same choice twice")
            return None
        if text_of(answer) not in choices:
            problems.add(file, card.line_of("answer"), f"the answer {text_of(answer)!r} is not among the choices")
            return None
    elif kind == "numeric":
        tolerance_value = card["tolerance"]
        if not _is_number(answer):
            problems.add(file, card.line_of("answer"), "a numeric card's answer must be a number")
            return None
        if not _is_number(tolerance_value) or tolerance_value < 0:
            problems.add(file, card.line_of("tolerance"), "tolerance must be a number of zero or more")
            return None
        numeric_answer, tolerance = float(answer), float(tolerance_value)
    return CardSpec(
        key=text_of(card["key"]),
        kind=kind,
        prompt=text_of(card["prompt"]),
        answer=text_of(answer),
        choices=choices,
        numeric_answer=numeric_answer,
        tolerance=tolerance,
        explanation=text_of(card.get("explanation") or ""),
    )


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_number(file: Path, entry: LineDict, body: str, problems: Problems) -> None:
    quote, expr = text_of(entry["quote"]), text_of(entry["expr"])
    if quote not in body:
        problems.add(file, entry.line_of("quote"), f"quoted number {quote!r} does not appear in the body")
    try:
        value = numbers.evaluate(expr)
        matches = numbers.quote_matches(quote, value)
    except Exception as error:  # noqa: BLE001 - any failure of an authored expression is a content problem
        problems.add(file, entry.line_of("expr"), f"cannot evaluate {expr!r}: {error}")
        return
    if not matches:
        problems.add(file, entry.line_of("quote"), f"quoted {quote!r} but {expr} = {value:.6g}")


def find_path_directories(root: Path) -> list[Path]:
    return sorted(p.parent for p in (root / "paths").glob("*/path.yaml"))
