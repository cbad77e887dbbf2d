"""Challenges as files: ``content/challenges/<slug>/`` holds challenge.yaml, statement.md, starter.py, solution.py.

challenge.yaml names the challenge, its ``kind`` (one of challenges.kinds.KINDS: the trusted code that
grades it), the drop that introduces it (``path`` + ``drop`` slugs), the function the learner writes
(``entrypoint``), ordered ``hints``, optional sandbox ``limits`` (over the kind's defaults) and the kind's
``options``. The loader checks that every file is there, that the kind is registered, that both Python files
parse and define the entrypoint with the kind's parameters, that the drop exists in its path, and that
limits and options are known and in range. A challenge of an existing kind is content only.

Registered in ``CONTENT_LOADERS``: ``parse`` runs with ``loadcontent --check``, ``load`` upserts by slug.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from challenges.kinds import KINDS, KindInfo
from learnpath.content.files import LineDict, Problems, check_keys, read_yaml_file, text_of
from learnpath.content.render import render_markdown

CHALLENGE_KEYS = {
    "slug": True,
    "kind": True,
    "title": True,
    "summary": False,
    "path": True,
    "drop": True,
    "position": False,
    "entrypoint": True,
    "hints": True,
    "limits": False,
    "options": False,
}
FILES = ("challenge.yaml", "statement.md", "starter.py", "solution.py")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")


@dataclass
class ChallengeSpec:
    slug: str
    kind: str
    title: str
    summary: str
    path_slug: str
    drop_slug: str
    position: int
    entrypoint: str
    hints: list[str]
    limits: dict
    options: dict
    statement: str
    starter: str
    solution: str
    source_file: str
    file_digest: str


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
    kind = text_of(meta["kind"])
    if kind not in KINDS:
        problems.add(meta_file, meta.line_of("kind"), f"unknown challenge kind {kind!r} (known: {', '.join(KINDS)})")
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
    options = _parse_options(meta_file, meta, KINDS.get(kind), problems)

    statement = (directory / "statement.md").read_text(encoding="utf-8")
    if not statement.strip():
        problems.add(directory / "statement.md", 1, "the statement is empty")
    starter = (directory / "starter.py").read_text(encoding="utf-8")
    solution = (directory / "solution.py").read_text(encoding="utf-8")
    parameters = KINDS[kind].parameters if kind in KINDS else None
    for name, code in (("starter.py", starter), ("solution.py", solution)):
        _check_python(directory / name, code, entrypoint, parameters, problems)
    return ChallengeSpec(
        slug=slug,
        kind=kind,
        title=text_of(meta["title"]),
        summary=text_of(meta.get("summary") or ""),
        path_slug=path_slug,
        drop_slug=drop_slug,
        position=position,
        entrypoint=entrypoint,
        hints=[h.strip() for h in hints],
        limits=limits,
        options=options,
        statement=statement,
        starter=starter,
        solution=solution,
        source_file=str(meta_file),
        file_digest=hashlib.sha256(meta_file.read_bytes()).hexdigest(),
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


def _parse_options(meta_file: Path, meta: LineDict, info: KindInfo | None, problems: Problems) -> dict:
    raw = meta.get("options") or {}
    if not isinstance(raw, dict):
        problems.add(meta_file, meta.line_of("options"), "options must be a mapping")
        return {}
    if info is None:
        return dict(raw)
    options = {}
    for name, value in raw.items():
        line = raw.line_of(name) if isinstance(raw, LineDict) else meta.line_of("options")
        wanted = info.options.get(name)
        if wanted is None:
            known = ", ".join(info.options) or "none"
            problems.add(meta_file, line, f"kind {info.name!r} has no option {name!r} (known: {known})")
        elif isinstance(value, bool) or not isinstance(value, wanted if wanted is not float else (int, float)):
            problems.add(meta_file, line, f"option {name} must be a {getattr(wanted, '__name__', wanted)}")
        else:
            options[name] = value
    return options


def _check_python(
    file: Path, code: str, entrypoint: str, parameters: tuple[str, ...] | None, problems: Problems
) -> None:
    try:
        tree = ast.parse(code, filename=str(file))
    except SyntaxError as error:
        problems.add(file, error.lineno or 1, f"invalid Python: {error.msg}")
        return
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    function = functions.get(entrypoint)
    if function is None:
        problems.add(file, 1, f"does not define the entrypoint function {entrypoint!r}")
        return
    names = tuple(arg.arg for arg in function.args.posonlyargs + function.args.args)
    if parameters is not None and names != parameters:
        problems.add(
            file,
            function.lineno,
            f"{entrypoint}({', '.join(names)}) must take the kind's parameters ({', '.join(parameters)})",
        )


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
            "kind": spec.kind,
            "options": spec.options,
            "entrypoint": spec.entrypoint,
            "hints": spec.hints,
            "limits": spec.limits,
            "position": spec.position,
            "is_active": True,
            "source_file": _relative(spec.source_file),
            "file_digest": spec.file_digest,
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


def hint_html(text: str) -> str:
    """A hint's Markdown, rendered and sanitized like the statement: `code` becomes <code>, not backticks."""
    return render_markdown(text)


def _relative(file: str) -> str:
    from django.conf import settings

    try:
        return str(Path(file).relative_to(settings.BASE_DIR))
    except ValueError:
        return file


def read_target(root: Path, slug: str):
    """The grading target of ``content/challenges/<slug>/`` straight from its files (no database needed).

    Returns None when there is no such challenge; raises ValueError listing what is wrong with its file.
    """
    from challenges.kinds import grader_version
    from challenges.kinds.grader import GradingTarget
    from challenges.limits import sandbox_limits

    meta_file = root / "challenges" / slug / "challenge.yaml"
    if not SLUG.match(slug) or not meta_file.is_file():
        return None
    problems = Problems(root=root)
    meta = read_yaml_file(meta_file, problems)
    if meta is not None and check_keys(meta, CHALLENGE_KEYS, meta_file, "challenge.yaml", problems):
        kind = text_of(meta["kind"])
        if kind not in KINDS:
            problems.add(meta_file, meta.line_of("kind"), f"unknown challenge kind {kind!r}")
        limits = _parse_limits(meta_file, meta, problems)
        options = _parse_options(meta_file, meta, KINDS.get(kind), problems)
    if problems or meta is None:
        raise ValueError("; ".join(f"{p.file}:{p.line}: {p.message}" for p in problems.items))
    return GradingTarget(
        slug=slug,
        kind=kind,
        entrypoint=text_of(meta["entrypoint"]),
        limits=sandbox_limits(kind, limits),
        options=options,
        grader_version=grader_version(kind, hashlib.sha256(meta_file.read_bytes()).hexdigest()),
    )
