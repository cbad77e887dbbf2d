"""Challenges as files: ``content/challenges/<slug>/`` holds challenge.yaml, statement.md, starter.py, solution.py.

challenge.yaml names the challenge, the drop that introduces it (``path`` + ``drop`` slugs), the function
the learner writes (``entrypoint``), ordered ``hints`` and optional sandbox ``limits``. The loader checks
that every file is there, that both Python files parse and define the entrypoint, that the drop exists in
its path, that a trusted grader is registered for the slug, and that limits are known and in range.

Registered in ``CONTENT_LOADERS``: ``parse`` runs with ``loadcontent --check``, ``load`` upserts by slug.
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

from learnpath.content.files import LineDict, Problems, check_keys, read_yaml_file, text_of
from learnpath.content.render import render_markdown

CHALLENGE_KEYS = {
    "slug": True,
    "title": True,
    "summary": False,
    "path": True,
    "drop": True,
    "position": False,
    "entrypoint": True,
    "hints": True,
    "limits": False,
}
FILES = ("challenge.yaml", "statement.md", "starter.py", "solution.py")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")


@dataclass
class ChallengeSpec:
    slug: str
    title: str
    summary: str
    path_slug: str
    drop_slug: str
    position: int
    entrypoint: str
    hints: list[str]
    limits: dict
    statement: str
    starter: str
    solution: str
    source_file: str


def parse(root: Path, problems: Problems, path_specs) -> list[ChallengeSpec]:
    drops_by_path = {spec.slug: {drop.slug for drop in spec.drops} for spec in path_specs}
    specs: list[ChallengeSpec] = []
    seen: dict[str, Path] = {}
    for directory in sorted(p for p in (root / "challenges").glob("*") if p.is_dir()):
        spec = _parse_one(directory, problems, drops_by_path)
        if spec is None:
            continue
        if spec.slug in seen:
            problems.add(
                directory / "challenge.yaml", 1, f"duplicate challenge slug {spec.slug!r}, also in {seen[spec.slug]}"
            )
            continue
        seen[spec.slug] = directory
        specs.append(spec)
    return specs


def _parse_one(directory: Path, problems: Problems, drops_by_path: dict[str, set[str]]) -> ChallengeSpec | None:
    missing = [name for name in FILES if not (directory / name).is_file()]
    for name in missing:
        problems.add(directory / name, 1, f"challenge directory {directory.name!r} has no {name}")
    if missing:
        return None
    meta_file = directory / "challenge.yaml"
    meta = read_yaml_file(meta_file, problems)
    if meta is None or not check_keys(meta, CHALLENGE_KEYS, meta_file, "challenge.yaml", problems):
        return None

    slug = text_of(meta["slug"])
    if not SLUG.match(slug):
        problems.add(meta_file, meta.line_of("slug"), f"slug {slug!r} must be lowercase words joined by '-'")
    elif slug != directory.name:
        problems.add(meta_file, meta.line_of("slug"), f"slug {slug!r} must match its directory name {directory.name!r}")
    path_slug, drop_slug = text_of(meta["path"]), text_of(meta["drop"])
    if path_slug not in drops_by_path:
        problems.add(meta_file, meta.line_of("path"), f"no path {path_slug!r} in content/paths")
    elif drop_slug not in drops_by_path[path_slug]:
        problems.add(meta_file, meta.line_of("drop"), f"path {path_slug!r} has no drop {drop_slug!r}")
    entrypoint = text_of(meta["entrypoint"])
    if not entrypoint.isidentifier():
        problems.add(meta_file, meta.line_of("entrypoint"), f"entrypoint {entrypoint!r} is not a Python name")
    position = meta.get("position", 1)
    if not isinstance(position, int) or isinstance(position, bool) or position < 1:
        problems.add(meta_file, meta.line_of("position"), "position must be a whole number of 1 or more")
        position = 1

    hints = meta["hints"]
    if not isinstance(hints, list) or not all(isinstance(h, str) and h.strip() for h in hints):
        problems.add(meta_file, meta.line_of("hints"), "hints must be a list of non-empty texts")
        hints = []
    limits = _parse_limits(meta_file, meta, problems)
    _check_grader(meta_file, meta, slug, problems)

    statement = (directory / "statement.md").read_text(encoding="utf-8")
    if not statement.strip():
        problems.add(directory / "statement.md", 1, "the statement is empty")
    starter = (directory / "starter.py").read_text(encoding="utf-8")
    solution = (directory / "solution.py").read_text(encoding="utf-8")
    for name, code in (("starter.py", starter), ("solution.py", solution)):
        _check_python(directory / name, code, entrypoint, problems)
    return ChallengeSpec(
        slug=slug,
        title=text_of(meta["title"]),
        summary=text_of(meta.get("summary") or ""),
        path_slug=path_slug,
        drop_slug=drop_slug,
        position=position,
        entrypoint=entrypoint,
        hints=[h.strip() for h in hints],
        limits=limits,
        statement=statement,
        starter=starter,
        solution=solution,
        source_file=str(meta_file),
    )


def _parse_limits(meta_file: Path, meta: LineDict, problems: Problems) -> dict:
    from challenges.limits import LIMIT_FIELDS, MAX_LIMITS

    raw = meta.get("limits") or {}
    if not isinstance(raw, dict):
        problems.add(meta_file, meta.line_of("limits"), "limits must be a mapping like {wall_seconds: 40}")
        return {}
    limits = {}
    for name, value in raw.items():
        line = raw.line_of(name) if isinstance(raw, LineDict) else meta.line_of("limits")
        if name not in LIMIT_FIELDS:
            problems.add(meta_file, line, f"unknown limit {name!r} (known: {', '.join(LIMIT_FIELDS)})")
        elif not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= MAX_LIMITS[name]:
            problems.add(meta_file, line, f"limit {name} must be a number above 0 and at most {MAX_LIMITS[name]:g}")
        else:
            limits[name] = value
    return limits


def _check_grader(meta_file: Path, meta: LineDict, slug: str, problems: Problems) -> None:
    """A challenge without a trusted grader could never be passed: its module is named after the slug."""
    from challenges.grading import GRADERS

    module = f"challenges.grading.{slug.replace('-', '_')}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError:
        pass
    if slug not in GRADERS:
        problems.add(meta_file, meta.line_of("slug"), f"no grader registered for {slug!r} (expected in {module})")


def _check_python(file: Path, code: str, entrypoint: str, problems: Problems) -> None:
    try:
        tree = ast.parse(code, filename=str(file))
    except SyntaxError as error:
        problems.add(file, error.lineno or 1, f"invalid Python: {error.msg}")
        return
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    if entrypoint not in defined:
        problems.add(file, 1, f"does not define the entrypoint function {entrypoint!r}")


def load(parsed: list[ChallengeSpec], report) -> None:
    from challenges.models import Challenge
    from drops.models import Drop
    from drops.selectors import drop_link_resolver

    loaded = set()
    for spec in parsed:
        drop = Drop.objects.filter(path__slug=spec.path_slug, slug=spec.drop_slug).first()
        resolve = drop_link_resolver(path_id=drop.path_id)
        values = {
            "drop": drop,
            "title": spec.title,
            "summary": spec.summary,
            "statement_markdown": spec.statement,
            "statement_html": render_markdown(spec.statement, resolve),
            "starter_code": spec.starter,
            "solution_code": spec.solution,
            "entrypoint": spec.entrypoint,
            "hints": spec.hints,
            "limits": spec.limits,
            "position": spec.position,
            "is_active": True,
            "source_file": _relative(spec.source_file),
        }
        challenge = Challenge.objects.filter(slug=spec.slug).first()
        if challenge is None:
            Challenge.objects.create(slug=spec.slug, **values)
            report.record("created", "challenge", spec.slug)
        else:
            changed = [name for name, value in values.items() if getattr(challenge, name) != value]
            for name in changed:
                setattr(challenge, name, values[name])
            if changed:
                challenge.save(update_fields=[*changed, "updated_at"])
                report.record("updated", "challenge", f"{spec.slug} ({', '.join(changed)})")
            else:
                report.record("unchanged", "challenge", spec.slug)
        loaded.add(spec.slug)
    # A challenge taken out of the files is retired, not deleted: learners' submissions stay.
    for challenge in Challenge.objects.filter(is_active=True).exclude(slug__in=loaded):
        challenge.is_active = False
        challenge.save(update_fields=["is_active", "updated_at"])
        report.record("retired", "challenge", challenge.slug)


def _relative(file: str) -> str:
    from django.conf import settings

    try:
        return str(Path(file).relative_to(settings.BASE_DIR))
    except ValueError:
        return file
