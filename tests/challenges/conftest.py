"""A loaded distillation-loss challenge without depending on every drop file being written yet."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.conftest import DISTILLATION

SLUG = "distillation-loss"


def load_challenges():
    """Create the path's rows from path.yaml (drop bodies are not needed) and load content/challenges."""
    from challenges import content as challenge_content
    from drops.models import Drop
    from learnpath.content.files import Problems
    from learnpath.content.loader import Report
    from learnpath.content.paths import parse_path
    from learnpath.models import Path, Phase

    root = settings.CONTENT_DIR
    spec = parse_path(root / "paths" / DISTILLATION, Problems(root=root))
    path, _ = Path.objects.get_or_create(slug=spec.slug, defaults={"title": spec.title})
    phases = {}
    for position, (slug, title) in enumerate(spec.phases, start=1):
        phases[slug], _ = Phase.objects.get_or_create(
            path=path, slug=slug, defaults={"title": title, "position": position}
        )
    for drop in spec.drops:
        Drop.objects.get_or_create(
            path=path,
            slug=drop.slug,
            defaults={"phase": phases[drop.phase_slug], "title": drop.title, "position": drop.position},
        )
    problems = Problems(root=root)
    parsed = challenge_content.parse(root, problems, [spec])
    assert not problems.items, problems.items
    report = Report()
    challenge_content.load(parsed, report)
    return report


@pytest.fixture
def challenge(db):
    from challenges.models import Challenge

    load_challenges()
    return Challenge.objects.get(slug=SLUG)


@pytest.fixture
def reference_code() -> str:
    return (settings.CONTENT_DIR / "challenges" / SLUG / "solution.py").read_text()


@pytest.fixture
def swapped_kl_code() -> str:
    return (settings.BASE_DIR / "tests" / "grading" / "solutions" / "swapped_kl.py").read_text()
