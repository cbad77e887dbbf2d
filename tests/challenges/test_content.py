"""content/challenges: checked with file:line problems, loaded idempotently, retired when removed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings

from challenges import content
from challenges.models import Challenge
from learnpath.content.files import Problems
from learnpath.content.loader import Report
from learnpath.content.paths import parse_path
from tests.conftest import DISTILLATION
from tests.fixtures.worker import load_challenges

SOURCE = settings.CONTENT_DIR / "challenges" / "distillation-loss"


def path_specs():
    root = settings.CONTENT_DIR
    return [parse_path(root / "paths" / DISTILLATION, Problems(root=root))]


@pytest.fixture
def tree(tmp_path) -> Path:
    """A content root holding a copy of the real challenge, to break in each test."""
    shutil.copytree(SOURCE, tmp_path / "challenges" / "distillation-loss")
    return tmp_path


def problems_in(root: Path) -> list[str]:
    problems = Problems(root=root)
    content.parse(root, problems, path_specs())
    return [str(p) for p in sorted(problems.items)]


def test_real_challenge_is_valid():
    assert problems_in(settings.CONTENT_DIR) == []


def edit(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert old in text, old
    file.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "challenge.yaml",
            "drop: one-loss-two-terms",
            "drop: no-such-drop",
            "challenge.yaml:8: path 'model-distillation' has no drop",
        ),
        ("challenge.yaml", "path: model-distillation", "path: nowhere", "challenge.yaml:7: no path 'nowhere'"),
        ("challenge.yaml", "slug: distillation-loss", "slug: other-loss", "must match its directory name"),
        ("challenge.yaml", "entrypoint: distillation_loss", "entrypoint: loss fn", "is not a Python name"),
        (
            "challenge.yaml",
            "entrypoint: distillation_loss",
            "entrypoint: kd_loss",
            "starter.py:1: does not define the entrypoint",
        ),
        (
            "challenge.yaml",
            "  wall_seconds: 40",
            "  wall_seconds: 4000",
            "wall_seconds must be a number above 0 and at most 90",
        ),
        ("challenge.yaml", "  wall_seconds: 40", "  gpus: 4", "unknown limit 'gpus'"),
        ("challenge.yaml", "title: Write", "titel: Write", "unknown key 'titel'"),
        ("challenge.yaml", "limits:\n", "position: 0\nlimits:\n", "position must be a whole number"),
        ("starter.py", "def distillation_loss(", "def distillation_loss(:", "starter.py:5: invalid Python"),
        (
            "challenge.yaml",
            "kind: distillation-loss",
            "kind: mystery",
            "challenge.yaml:2: unknown challenge kind 'mystery'",
        ),
        ("challenge.yaml", "kind: distillation-loss\n", "", "challenge.yaml is missing 'kind'"),
        (
            "solution.py",
            "    alpha: float,\n",
            "    alpha: float,\n    beta: float,\n",
            "must take the kind's parameters (student_logits, teacher_logits, labels, temperature, alpha)",
        ),
        ("challenge.yaml", "limits:\n", "options:\n  min_accuracy: 0.9\nlimits:\n", "has no option 'min_accuracy'"),
    ],
)
def test_problems_name_file_and_line(tree, file, old, new, expected):
    edit(tree / "challenges" / "distillation-loss" / file, old, new)
    found = problems_in(tree)
    assert any(expected in problem for problem in found), found


def test_missing_file_is_reported(tree):
    (tree / "challenges" / "distillation-loss" / "solution.py").unlink()
    expected = "challenges/distillation-loss/solution.py:1: challenge directory 'distillation-loss' has no solution.py"
    [problem] = problems_in(tree)
    assert problem.endswith(expected)


def test_a_new_challenge_of_an_existing_kind_is_content_only(tree):
    """A fourth challenge: files only, no code. It checks, loads and grades like the others."""
    shutil.copytree(tree / "challenges" / "distillation-loss", tree / "challenges" / "kd-loss-again")
    yaml_file = tree / "challenges" / "kd-loss-again" / "challenge.yaml"
    edit(yaml_file, "slug: distillation-loss", "slug: kd-loss-again")
    edit(yaml_file, "title: Write the distillation loss", "title: The distillation loss, once more")
    edit(yaml_file, "  wall_seconds: 40", "  wall_seconds: 30")
    assert problems_in(tree) == []
    target = content.read_target(tree, "kd-loss-again")
    assert (target.kind, target.entrypoint, target.limits.wall_seconds) == (
        "distillation-loss",
        "distillation_loss",
        30,
    )
    assert target.grader_version != content.read_target(tree, "distillation-loss").grader_version


@pytest.mark.sandbox
def test_the_new_challenge_grades_like_the_original(tree):
    from challenges.kinds.grader import grade

    shutil.copytree(tree / "challenges" / "distillation-loss", tree / "challenges" / "kd-loss-again")
    edit(tree / "challenges" / "kd-loss-again" / "challenge.yaml", "slug: distillation-loss", "slug: kd-loss-again")
    target = content.read_target(tree, "kd-loss-again")
    verdict = grade(target, (tree / "challenges" / "kd-loss-again" / "solution.py").read_text(), seed=4)
    assert verdict.status == "passed" and verdict.grader_version == target.grader_version


@pytest.mark.django_db
def test_load_is_idempotent_and_retires_removed(tree):
    first = load_challenges()
    assert first.counts["created"] == 3
    challenge = Challenge.objects.get(slug="distillation-loss")
    assert challenge.kind == "distillation-loss" and len(challenge.file_digest) == 64
    assert challenge.drop.slug == "one-loss-two-terms"
    assert "<h2" in challenge.statement_html and challenge.hints and challenge.limits["wall_seconds"] == 40
    assert challenge.source_file == "content/challenges/distillation-loss/challenge.yaml"
    assert load_challenges().counts == {"unchanged": 3}

    edit(tree / "challenges" / "distillation-loss" / "challenge.yaml", "title: Write", "title: Now write")
    problems = Problems(root=tree)
    report = Report()
    content.load(content.parse(tree, problems, path_specs()), report)
    assert report.counts["updated"] == 1 and "title" in report.lines[0]

    report = Report()
    content.load([], report)
    assert report.counts["retired"] == 1
    assert not Challenge.objects.get(slug="distillation-loss").is_active
