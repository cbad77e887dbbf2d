import pytest

from challenges.models import Submission
from challenges.selectors import challenge_progress

pytestmark = pytest.mark.django_db


def test_challenge_progress_reports_status_best_score_and_attempts(
    learner, make_user, challenge, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        items = challenge_progress(user=learner)
    assert [i["slug"] for i in items] == ["distillation-loss", "train-student", "sequence-distillation-loss"]
    assert items[0] == {
        "slug": "distillation-loss", "kind": "distillation-loss", "title": challenge.title,
        "drop_id": challenge.drop_id, "drop_title": challenge.drop.title, "drop_position": challenge.drop.position,
        "status": "not_tried", "best_score": None, "attempts": 0,
        "url": "/challenges/distillation-loss/",
    }  # fmt: skip
    Submission.objects.create(user=learner, challenge=challenge, code="x", attempt=1, status="failed", score=0.4)
    Submission.objects.create(user=learner, challenge=challenge, code="x", attempt=2, status="queued")
    item = challenge_progress(user=learner)[0]
    assert (item["status"], item["best_score"], item["attempts"]) == ("attempted", 0.4, 2)
    Submission.objects.create(user=learner, challenge=challenge, code="x", attempt=3, status="passed", score=1.0)
    item = challenge_progress(user=learner)[0]
    assert (item["status"], item["best_score"], item["attempts"]) == ("passed", 1.0, 3)
    # Someone else's work does not count.
    assert challenge_progress(user=make_user("bob"))[0]["status"] == "not_tried"
    assert challenge_progress(user=learner, path=challenge.drop.path)[0]["slug"] == "distillation-loss"
