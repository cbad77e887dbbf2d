"""The challenge page and the drop panel, server-rendered."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from challenges import dispatch
from challenges.models import Submission
from drops.extras import render_extras

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client(learner) -> Client:
    client = Client()
    client.force_login(learner)
    return client


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(dispatch, "submission_send", lambda submission: sent.append(submission.pk))
    return sent


def test_page_needs_login(client, challenge):
    response = client.get("/challenges/distillation-loss/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_unknown_challenge_page_is_404(browser_client, challenge):
    assert browser_client.get("/challenges/nope/").status_code == 404


def test_page_shows_statement_editor_and_hints(browser_client, challenge):
    html = browser_client.get("/challenges/distillation-loss/").content.decode()
    assert challenge.title in html
    assert "How it is graded" in html
    assert "data-code-editor" in html and "def distillation_loss(" in html
    assert "codemirror.bundle.js" in html and "challenge.js" in html
    assert f"Show a hint ({len(challenge.hints)} left)" in html
    # The reference solution is not in the page before a pass.
    assert "reduction=&quot;batchmean&quot;)" not in html and "Hinton et al., 2015" not in html
    assert f"/drops/{challenge.drop_id}/" in html


def test_page_shows_solution_and_history_after_pass(browser_client, learner, challenge):
    Submission.objects.create(
        user=learner, challenge=challenge, code="print('<b>mine</b>')", attempt=1, status="passed", score=1.0,
        checks=[{"name": "runs", "passed": True, "message": "<script>alert(1)</script>"}], feedback="All good",
    )  # fmt: skip
    html = browser_client.get("/challenges/distillation-loss/").content.decode()
    assert "Hinton et al., 2015" in html
    assert "&lt;b&gt;mine&lt;/b&gt;" in html and "<b>mine</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert 'class="check pass"' in html


def test_form_works_without_javascript(browser_client, learner, challenge, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = browser_client.post(
            "/challenges/distillation-loss/", {"action": "submit", "code": "def f(): pass\n"}
        )
    assert response.status_code == 302
    assert Submission.objects.filter(user=learner).count() == 1 and len(queued) == 1
    browser_client.post("/challenges/distillation-loss/", {"action": "hint"})
    html = browser_client.get("/challenges/distillation-loss/").content.decode()
    assert challenge.hints[0].split("`")[0].strip()[:30] in html
    response = browser_client.post("/challenges/distillation-loss/", {"action": "submit", "code": ""}, follow=True)
    assert "empty" in response.content.decode()


def test_drop_panel_links_the_challenge_with_status(learner, challenge):
    request = RequestFactory().get("/")
    request.user = learner
    panels = "".join(render_extras(request, challenge.drop))
    assert "/challenges/distillation-loss/" in panels and "Not tried" in panels
    Submission.objects.create(user=learner, challenge=challenge, code="x", attempt=1, status="failed", score=0.3)
    assert "Attempted" in "".join(render_extras(request, challenge.drop))


def test_drop_without_challenge_has_no_panel(learner, challenge):
    from drops.models import Drop

    other = Drop.objects.exclude(pk=challenge.drop_id).first()
    request = RequestFactory().get("/")
    request.user = learner
    assert "/challenges/" not in "".join(render_extras(request, other))


# ---------------------------------------------------------------------------------------------------------------
# The index, the verdict fragment, train-student details, regrade notices, the editor's signature label.

TRAIN_DETAILS = {
    "kind": "train-student",
    "min_accuracy": 0.92,
    "min_agreement": 0.95,
    "accuracy": 0.9667,
    "agreement": 0.9889,
    "baseline_accuracy": 0.8444,
    "baseline_agreement": 0.85,
    "teacher_accuracy": 0.9704,
    "teacher_mistakes_copied": 0.8125,
    "test_images": 540,
    "steps": 300,
    "curve": [14.1266 - i * (13.6 / 299) for i in range(300)],
}


def make_submission(user, challenge, *, attempt: int = 1, status: str = "passed", **fields) -> Submission:
    defaults = {
        "code": "def f(): pass\n",
        "score": 1.0 if status == "passed" else 0.5,
        "feedback": "Graded.",
        "checks": [{"name": "runs", "passed": True, "message": "Ran."}],
        "details": {"kind": challenge.kind, "cases": 3},
    }
    return Submission.objects.create(
        user=user, challenge=challenge, attempt=attempt, status=status, **defaults | fields
    )


def verdict_url(submission) -> str:
    return f"/challenges/{submission.challenge.slug}/submissions/{submission.pk}/verdict/"


@pytest.fixture
def train_student(challenge):
    from challenges.models import Challenge

    return Challenge.objects.get(slug="train-student")


def test_index_needs_login(client, challenge):
    response = client.get("/challenges/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_index_lists_every_challenge_with_status_in_drop_order(browser_client, learner, challenge, train_student):
    from django.utils.text import capfirst

    from challenges.kinds import KINDS
    from challenges.models import Challenge

    make_submission(learner, challenge, status="failed", score=0.4)
    make_submission(learner, challenge, attempt=2, status="passed", score=1.0)
    make_submission(learner, train_student, status="failed", score=0.5)
    response = browser_client.get("/challenges/")
    assert response.status_code == 200
    html = response.content.decode()
    challenges = list(Challenge.objects.order_by("drop__position"))
    assert [c.slug for c in challenges] == ["distillation-loss", "train-student", "sequence-distillation-loss"]
    items = html.split('data-testid="challenge-item"')[1:]
    assert len(items) == 3
    for item, c in zip(items, challenges, strict=True):
        assert f'data-slug="{c.slug}"' in item and f'href="/challenges/{c.slug}/"' in item
        assert c.title in item and capfirst(KINDS[c.kind].summary) in item
        assert f'href="/drops/{c.drop_id}/"' in item and f"Day {c.drop.position}: {c.drop.title}" in item
    assert "Passed" in items[0] and "best score 100%" in items[0] and "2 attempts" in items[0]
    assert "Attempted" in items[1] and "best score 50%" in items[1] and "1 attempt<" in items[1]
    assert "Not tried" in items[2] and "no score yet" in items[2] and "0 attempts" in items[2]
    # The learner navigation links it, marked as the current page.
    assert '<a href="/challenges/" aria-current="page">Challenges</a>' in html


def test_nav_marks_challenges_on_a_challenge_page(browser_client, challenge):
    html = browser_client.get("/challenges/distillation-loss/").content.decode()
    assert '<a href="/challenges/" aria-current="true">Challenges</a>' in html
    html = browser_client.get("/progress/").content.decode()
    assert '<a href="/challenges/">Challenges</a>' in html


def test_progress_page_lists_every_challenge_and_links_the_index(browser_client, learner, challenge):
    from challenges.models import Challenge

    html = browser_client.get("/progress/").content.decode()
    assert '<h2 id="challenges-heading" class="card-title"><a href="/challenges/">Code challenges</a></h2>' in html
    for c in Challenge.objects.all():
        assert f'href="/challenges/{c.slug}/"' in html and c.title in html


@pytest.mark.parametrize(
    ("slug", "signature"),
    [
        ("distillation-loss", "distillation_loss(student_logits, teacher_logits, labels, temperature, alpha)"),
        ("train-student", "train_student(student, teacher, transfer_x, labeled_x, labeled_y, device)"),
        (
            "sequence-distillation-loss",
            "sequence_distillation_loss(student_logits, teacher_logits, attention_mask, temperature)",
        ),
    ],
)
def test_every_kind_has_its_page_with_the_signature(browser_client, challenge, slug, signature):
    from challenges.models import Challenge

    c = Challenge.objects.get(slug=slug)
    html = browser_client.get(f"/challenges/{slug}/").content.decode()
    assert f"Your code (Python, defines <code>{signature}</code>)" in html
    assert c.title in html and "How it is graded" in html
    assert f"def {c.entrypoint}(" in html and "data-code-editor" in html
    assert f"Show a hint ({len(c.hints)} left)" in html
    assert f'href="/drops/{c.drop_id}/"' in html
    assert f'data-verdict-url="/challenges/{slug}/submissions/0/verdict/"' in html


def test_verdict_fragment_for_the_owner_only(browser_client, learner, make_user, challenge, train_student):
    mine = make_submission(learner, challenge, status="failed", feedback="Likely mistake: <b>KL swapped</b>.")
    response = browser_client.get(verdict_url(mine))
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="verdict is-failed"')
    assert f'data-submission="{mine.pk}"' in html and "Attempt 1" in html and "badge-failed" in html
    assert "&lt;b&gt;KL swapped&lt;/b&gt;" in html and "<b>" not in html
    assert "<html" not in html  # a fragment, not a page
    # Someone else's, a wrong slug, an unknown id: all 404; logged out: the login page.
    theirs = make_submission(make_user("bob"), challenge, status="passed")
    assert browser_client.get(verdict_url(theirs)).status_code == 404
    assert browser_client.get(f"/challenges/train-student/submissions/{mine.pk}/verdict/").status_code == 404
    assert browser_client.get(f"/challenges/distillation-loss/submissions/{theirs.pk + 99}/verdict/").status_code == 404
    response = Client().get(verdict_url(mine))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_pending_verdict_fragment(browser_client, learner, challenge):
    queued = make_submission(learner, challenge, status="queued", score=None, checks=[], feedback="")
    html = browser_client.get(verdict_url(queued)).content.decode()
    assert 'class="verdict"' in html and "Waiting for a free grader" in html
    queued.status = "running"
    queued.save()
    assert "Running your code on hidden inputs" in browser_client.get(verdict_url(queued)).content.decode()


def test_loss_verdicts_have_no_training_details(browser_client, learner, challenge):
    html = browser_client.get(verdict_url(make_submission(learner, challenge))).content.decode()
    assert "<svg" not in html and "Labels-only baseline" not in html


def test_train_student_verdict_shows_the_table_and_the_curve(browser_client, learner, train_student):
    submission = make_submission(learner, train_student, details=TRAIN_DETAILS)
    html = browser_client.get(verdict_url(submission)).content.decode()
    table = html[html.index('data-testid="student-metrics"') : html.index("</table>")]
    for text in ("Your student", "Needed", "Labels-only baseline", "Test accuracy", "Agreement with the teacher"):
        assert text in table
    assert "96.7%" in table and "98.9%" in table and "≥\u00a092.0%" in table and "≥\u00a095.0%" in table
    assert "84.4%" in table and "85.0%" in table
    # Pass in words and symbols, not only colour; the labels-only baseline is a reference, not the learner's failure.
    assert table.count("✓</span> pass") == 2 and "✗" not in table
    assert table.count('class="num metric reference"') == 2
    assert "The teacher itself reaches 97.0% test accuracy" in html and "81.2%" in html
    assert "on 540 hidden test images" in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'viewBox="0 0 ' in svg and 'width="100%"' in svg and 'role="img"' in svg
    assert "<title" in svg and "Training loss per step" in svg and "<desc" in svg
    assert 'stroke="currentColor"' in svg and svg.count("M") >= 3  # axis, grid line, curve
    assert ">14.1<" in svg and ">0.527<" in svg and ">1<" in svg and ">300<" in svg  # loss min/max, steps
    assert "The loss fell from 14.1 at step 1 to 0.527 at step 300." in html
    # The same fragment is what the challenge page shows on load.
    page = browser_client.get("/challenges/train-student/").content.decode()
    assert "The loss fell from 14.1 at step 1 to 0.527 at step 300." in page and 'data-testid="student-metrics"' in page


def test_curve_gaps_downsampling_and_empty_curves(browser_client, learner, train_student):
    curve = [5.0, 4.0, None, 3.0, 2.5, None, 2.0, 1.0]
    gaps = make_submission(
        learner, train_student, status="failed", details=TRAIN_DETAILS | {"curve": curve, "steps": 8}
    )
    html = browser_client.get(verdict_url(gaps)).content.decode()
    line = html.split('class="loss-curve-line" d="')[1].split('"')[0]
    assert line.count("M") == 3 and "None" not in line
    assert "The loss fell from 5 at step 1 to 1 at step 8." in html
    assert "2 of the 8 points shown were not finite numbers" in html

    # 300 points downsampled from 3,000 steps: the x-axis runs to the real last step.
    many = TRAIN_DETAILS | {"steps": 3000}
    html = browser_client.get(
        verdict_url(make_submission(learner, train_student, attempt=2, details=many))
    ).content.decode()
    assert ">3,000<" in html and "at step 3,000." in html and "300 of 3,000 steps shown" in html

    # Unusable parameters: no accuracy or agreement, an empty curve; the table says so, there is no chart.
    broken = {k: v for k, v in TRAIN_DETAILS.items() if k not in ("accuracy", "agreement", "teacher_mistakes_copied")}
    broken["curve"], broken["steps"] = [], 0
    html = browser_client.get(
        verdict_url(make_submission(learner, train_student, attempt=3, status="failed", details=broken))
    ).content.decode()
    assert "<svg" not in html and "No training curve: your function returned no loss values." in html
    assert html.count("not measured") == 2 and "84.4%" in html

    # A curve that is all NaN (stored as null) has no chart either.
    nan = TRAIN_DETAILS | {"curve": [None, None], "steps": 2}
    html = browser_client.get(
        verdict_url(make_submission(learner, train_student, attempt=4, status="failed", details=nan))
    ).content.decode()
    assert "<svg" not in html and "not a finite number at any of the 2 steps" in html


def test_regrade_notice_when_the_status_changed(browser_client, learner, challenge):
    from datetime import UTC, datetime

    previous = {
        "status": "passed", "score": 1.0, "checks": [], "feedback": "All checks passed.", "mistakes": [],
        "details": {"kind": "distillation-loss", "cases": 3}, "timings": {}, "grader_version": "old",
        "finished_at": "2025-03-01T10:00:00+00:00",
    }  # fmt: skip
    submission = make_submission(
        learner, challenge, status="failed", score=0.6, previous_verdicts=[previous],
        regraded_at=datetime(2025, 3, 4, 12, 0, tzinfo=UTC), grader_version="new",
    )  # fmt: skip
    html = browser_client.get(verdict_url(submission)).content.decode()
    assert "Regraded on" in html and "4 Mar 2025" in html
    assert "this attempt was passed before, now failed." in html
    page = browser_client.get("/challenges/distillation-loss/").content.decode()
    assert "this attempt was passed before, now failed." in page

    # Regraded without a change of status: no notice, only a quiet line.
    submission.previous_verdicts = [previous | {"status": "failed"}, previous]
    submission.status, submission.score = "passed", 1.0
    submission.save()
    html = browser_client.get(verdict_url(submission)).content.decode()
    assert 'data-testid="regrade-notice"' not in html and "still passed" in html


def test_train_student_error_without_measurements_has_no_details_block(browser_client, learner, train_student):
    details = {"kind": "train-student", "min_accuracy": 0.92, "min_agreement": 0.95}
    timed_out = make_submission(learner, train_student, status="timeout", score=0.0, details=details)
    html = browser_client.get(verdict_url(timed_out)).content.decode()
    assert 'class="verdict is-failed"' in html and "Timed out" in html
    assert "student-metrics" not in html and "<svg" not in html
