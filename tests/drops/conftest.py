"""Small paths built with the ORM, so schedule, streak and review tests do not depend on the content files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from drops.models import Drop, RecallCard
from learnpath.models import Path, Phase


def build_path(slug: str = "tiny", drops: int = 4) -> Path:
    path = Path.objects.create(slug=slug, title=f"Path {slug}")
    phases = [Phase.objects.create(path=path, slug=f"p{i}", title=f"Phase {i}", position=i) for i in (1, 2)]
    for position in range(1, drops + 1):
        drop = Drop.objects.create(
            path=path,
            phase=phases[0] if position <= drops // 2 else phases[1],
            slug=f"d{position}",
            title=f"Drop {position}",
            position=position,
            estimated_minutes=6,
            body_html=f'<h2 id="s{position}">Section {position}</h2><p>Lesson {position}.</p>',
            sections=[{"id": f"s{position}", "title": f"Section {position}"}],
        )
        RecallCard.objects.create(
            drop=drop, key="recall", kind="recall", prompt=f"What is {position}?", answer="An answer", position=1
        )
        RecallCard.objects.create(
            drop=drop,
            key="choice",
            kind="choice",
            prompt="Pick B",
            answer="B",
            choices=["A", "B", "C"],
            explanation="B is right.",
            position=2,
        )
        RecallCard.objects.create(
            drop=drop,
            key="numeric",
            kind="numeric",
            prompt="T squared for T=4?",
            answer="16",
            numeric_answer=16.0,
            tolerance=0.01,
            position=3,
        )
    return path


@pytest.fixture
def tiny(db):
    return build_path()


@pytest.fixture
def fsrs_no_fuzz(settings):
    settings.FSRS_FUZZING = False


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def enrol(user, path, now):
    import time_machine

    from learnpath import services

    with time_machine.travel(now, tick=False):
        services.enrollment_create(user=user, path=path)


DAY_ONE = datetime(2026, 6, 1, 9, tzinfo=UTC)  # a Monday, 11:00 in Berlin


@pytest.fixture
def learner_on_day_one(client, make_user, db):
    """(user, path): Ines (Europe/Berlin), enrolled an hour before DAY_ONE in a three-drop path, logged in on
    ``client``."""
    path = build_path(drops=3)
    user = make_user("ines", timezone="Europe/Berlin")
    enrol(user, path, DAY_ONE - timedelta(hours=1))
    client.force_login(user)
    return user, path
