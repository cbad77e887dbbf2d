"""Check and load every content file: paths and drops here, challenges through CONTENT_LOADERS."""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from drops.selectors import drop_link_resolver
from drops.services import add_cards_to_decks
from learnpath.cache import content_changed
from learnpath.content.files import Problem, Problems
from learnpath.content.paths import PathSpec, find_path_directories, parse_path
from learnpath.content.render import render_markdown, sections_of


@dataclass
class Report:
    """What a load did, one line per object: created, updated, unchanged or retired."""

    lines: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    joined_cards: list[int] = field(default_factory=list)  # cards created or brought back: they join decks

    def record(self, action: str, kind: str, label: str) -> None:
        self.counts[action] += 1
        if action != "unchanged":
            self.lines.append(f"{action:>9} {kind} {label}")

    def summary(self) -> str:
        return ", ".join(f"{self.counts[a]} {a}" for a in ("created", "updated", "unchanged", "retired"))


class ContentError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in content files")
        self.problems = problems


def _extra_loaders():
    return [importlib.import_module(name) for name in getattr(settings, "CONTENT_LOADERS", [])]


def parse_all(root: Path) -> tuple[list[PathSpec], dict, list[Problem]]:
    problems = Problems(root=root)
    specs = []
    seen: dict[str, str] = {}
    for directory in find_path_directories(root):
        spec = parse_path(directory, problems)
        if spec is None:
            continue
        if spec.slug in seen:
            problems.add(directory / "path.yaml", 1, f"duplicate path slug {spec.slug!r}, also in {seen[spec.slug]}")
            continue
        seen[spec.slug] = str(directory)
        specs.append(spec)
    extra = {module.__name__: module.parse(root, problems, specs) for module in _extra_loaders()}
    return specs, extra, sorted(problems.items)


def check_content(root: Path) -> list[Problem]:
    return parse_all(root)[2]


def estimate_lines(specs: list[PathSpec]) -> list[str]:
    """Each drop's measured minutes against its stated ones, for ``loadcontent --check``."""
    lines = []
    for spec in specs:
        lines.append(f"{spec.slug}: measured minutes of each drop (core text, demos, cards) / stated")
        width = max((len(drop.slug) for drop in spec.drops), default=0)
        for drop in spec.drops:
            flag = "  OVER" if drop.runs_over else ""
            lines.append(
                f"  {drop.position:>2} {drop.slug:<{width}} {drop.estimate.minutes:4.1f} / {drop.minutes:<2} min"
                f"{flag}  {drop.estimate.describe()}"
            )
    return lines


def load_content(root: Path) -> Report:
    specs, extra, problems = parse_all(root)
    if problems:
        raise ContentError(problems)
    report = Report()
    with transaction.atomic():
        for spec in specs:
            _load_path(spec, report)
        for module in _extra_loaders():
            module.load(extra[module.__name__], report)
        joined = add_cards_to_decks(card_ids=report.joined_cards)
        if joined:
            report.lines.append(f"    added {joined} review card(s) to the decks of learners who completed their drops")
        # Every save above marked cached content stale already; this covers a load that only deleted.
        content_changed()
    return report


def _upsert(model, lookup: dict, values: dict, report: Report, kind: str, label: str):
    instance = model.objects.filter(**lookup).first()
    if instance is None:
        instance = model.objects.create(**lookup, **values)
        report.record("created", kind, label)
        return instance
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    if changed:
        for name in changed:
            setattr(instance, name, values[name])
        instance.save(update_fields=changed)
        report.record("updated", kind, f"{label} ({', '.join(changed)})")
    else:
        report.record("unchanged", kind, label)
    return instance


def _load_path(spec: PathSpec, report: Report) -> None:
    from drops.models import Drop
    from learnpath.models import FAQEntry, Path, Phase

    path = _upsert(
        Path,
        {"slug": spec.slug},
        {"title": spec.title, "summary": spec.summary, "source_file": _relative(spec.source_file)},
        report,
        "path",
        spec.slug,
    )
    phases = {}
    for position, (slug, title) in enumerate(spec.phases, start=1):
        phases[slug] = _upsert(
            Phase, {"path": path, "slug": slug}, {"title": title, "position": position}, report, "phase", slug
        )

    # Positions are unique per path: move existing drops out of the way before renumbering.
    wanted = {drop.slug: drop.position for drop in spec.drops}
    listed = set(wanted)
    existing = list(Drop.objects.filter(path=path))
    if any(
        wanted.get(d.slug, len(wanted) + 1) != d.position
        and d.position <= len(wanted)
        or wanted.get(d.slug, d.position) != d.position
        for d in existing
    ):
        offset = 100_000
        for drop in existing:
            drop.position += offset
        Drop.objects.bulk_update(existing, ["position"])
    drops = {}
    for drop_spec in spec.drops:
        drops[drop_spec.slug] = _upsert(
            Drop,
            {"path": path, "slug": drop_spec.slug},
            {
                "phase": phases[drop_spec.phase_slug],
                "title": drop_spec.title,
                "summary": drop_spec.summary,
                "position": drop_spec.position,
                "estimated_minutes": drop_spec.minutes or 6,
                "reading_estimate": drop_spec.estimate.as_dict(),
                "body_markdown": drop_spec.body,
                "source_file": _relative(drop_spec.source_file),
            },
            report,
            "drop",
            drop_spec.slug,
        )
    # Drops no longer listed keep their learners' history; they are placed after the listed ones.
    next_position = len(spec.drops) + 1
    for drop in Drop.objects.filter(path=path).exclude(slug__in=listed).order_by("position"):
        drop.position = next_position
        drop.save(update_fields=["position"])
        next_position += 1
        report.lines.append(f"     kept drop {drop.slug}: no longer in {spec.source_file}, learner history kept")

    resolve = drop_link_resolver(path_id=path.pk)
    for drop_spec in spec.drops:
        drop = drops[drop_spec.slug]
        html = render_markdown(drop_spec.body, resolve)
        sections = sections_of(html)
        if drop.body_html != html or drop.sections != sections:
            drop.body_html, drop.sections = html, sections
            drop.save(update_fields=["body_html", "sections"])
        _load_cards(drop, drop_spec, report)

    for position, (slug, question, answer) in enumerate(spec.faq, start=1):
        _upsert(
            FAQEntry,
            {"path": path, "slug": slug},
            {
                "question": question,
                "answer_markdown": answer,
                "answer_html": render_markdown(answer, resolve),
                "position": position,
            },
            report,
            "faq",
            slug,
        )
    for entry in FAQEntry.objects.filter(path=path).exclude(slug__in=[s for s, _, _ in spec.faq]):
        report.record("retired", "faq", entry.slug)
        entry.delete()


def _load_cards(drop, drop_spec, report: Report) -> None:
    from drops.models import RecallCard

    keys = set()
    # Cards new to the drop, or retired and now back, join the decks of learners who completed it.
    was_active = dict(RecallCard.objects.filter(drop=drop).values_list("key", "is_active"))
    for position, card in enumerate(drop_spec.cards, start=1):
        keys.add(card.key)
        instance = _upsert(
            RecallCard,
            {"drop": drop, "key": card.key},
            {
                "kind": card.kind,
                "prompt": card.prompt,
                "answer": card.answer,
                "choices": card.choices,
                "numeric_answer": card.numeric_answer,
                "tolerance": card.tolerance,
                "explanation": card.explanation,
                "position": position,
                "is_active": True,
            },
            report,
            "card",
            f"{drop.slug}/{card.key}",
        )
        if not was_active.get(card.key):
            report.joined_cards.append(instance.pk)
    # A card taken out of the file is retired, not deleted: its review history stays.
    for card in RecallCard.objects.filter(drop=drop, is_active=True).exclude(key__in=keys):
        card.is_active = False
        card.save(update_fields=["is_active"])
        report.record("retired", "card", f"{drop.slug}/{card.key}")


def _relative(file: str) -> str:
    try:
        return str(Path(file).relative_to(settings.BASE_DIR))
    except ValueError:
        return file
