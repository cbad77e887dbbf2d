"""manage.py regrade: stored submissions re-run through the current grader, old verdicts kept, changes shown."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from challenges.models import Submission
from tests.grading.conftest import solution

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db]


@pytest.fixture
def graded(learner, challenge):
    """Two final submissions graded by an older grader: one wrongly failed, one rightly failed."""
    common = {"user": learner, "challenge": challenge, "grader_version": "old0000000000000"}
    finished = timezone.now() - timedelta(days=2)
    right = Submission.objects.create(
        **common, attempt=1, code=solution("reference"), status="failed", score=0.9, feedback="old verdict",
        checks=[{"name": "combined", "passed": False, "message": "old"}], finished_at=finished,
    )  # fmt: skip
    wrong = Submission.objects.create(
        **common, attempt=2, code=solution("swapped_kl"), status="failed", score=0.6, feedback="still wrong",
        finished_at=finished,
    )  # fmt: skip
    Submission.objects.filter(pk__in=[right.pk, wrong.pk]).update(created_at=finished)
    return right, wrong


def regrade(*args) -> str:
    out = StringIO()
    call_command("regrade", *args, "--device", "cpu", stdout=out)
    return out.getvalue()


def test_dry_run_reports_and_writes_nothing(graded):
    right, _ = graded
    out = regrade("distillation-loss", "--dry-run")
    assert "Dry run" in out and "2 regraded, 1 would change outcome (" in out
    assert f"#{right.pk}" in out and "failed -> passed (CHANGED" in out
    right.refresh_from_db()
    assert right.status == "failed" and right.previous_verdicts == [] and right.regraded_at is None


def test_regrade_keeps_the_old_verdict_and_records_the_version(graded, challenge):
    right, wrong = graded
    out = regrade("distillation-loss")
    assert "2 regraded, 1 changed outcome (" in out
    right.refresh_from_db()
    wrong.refresh_from_db()
    current = challenge.grading_target().grader_version
    assert right.status == "passed" and right.score == 1.0 and right.grader_version == current
    [old] = right.previous_verdicts
    assert old["status"] == "failed" and old["feedback"] == "old verdict" and old["grader_version"].startswith("old")
    assert right.regraded_at is not None
    assert wrong.status == "failed" and wrong.previous_verdicts[0]["feedback"] == "still wrong"
    # Graded by the current version now: a second run has nothing to do, unless asked for all.
    assert "regrading 0 submission(s)" in regrade("distillation-loss")
    assert "regrading 2 submission(s)" in regrade("distillation-loss", "--all", "--dry-run")


def test_since_limits_the_submissions(graded):
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert "regrading 0 submission(s)" in regrade("distillation-loss", "--since", tomorrow)
    with pytest.raises(CommandError, match="not a date"):
        regrade("distillation-loss", "--since", "last tuesday")


def test_unknown_challenge_is_an_error(db):
    with pytest.raises(CommandError, match="no challenge 'nope'"):
        regrade("nope")


def test_pending_submissions_are_not_regraded(learner, challenge):
    Submission.objects.create(user=learner, challenge=challenge, attempt=1, code="x", status="queued")
    assert "regrading 0 submission(s)" in regrade("distillation-loss")
