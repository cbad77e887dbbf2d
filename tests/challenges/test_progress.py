"""A submission's phase, queue position and estimated wait: through the API, the verdict fragment and the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from challenges import dispatch, scheduler, selectors, services
from challenges.models import Challenge, ExampleRun, Submission
from challenges.templatetags.challenge_verdicts import about_seconds, elapsed_words
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

CODE = "def distillation_loss(*a):\n    return 0\n"


@pytest.fixture
def queued(monkeypatch):
    """Record what would be queued instead of talking to a broker."""
    sent: list[int] = []
    monkeypatch.setattr(dispatch, "submission_send", lambda submission: sent.append(submission.pk))
    return sent


def submit(client, slug="distillation-loss") -> dict:
    response = client.post(f"/api/challenges/{slug}/submissions/", {"code": CODE}, format="json")
    assert response.status_code == 202, response.json()
    return response.json()


def detail(client, submission_id: int) -> dict:
    return client.get(f"/api/submissions/{submission_id}/").json()


def graded(user, challenge, *, seconds: float, ago: timedelta = timedelta(minutes=1), attempt: int, **fields):
    """A submission graded ``ago`` (finished then), whose grading took ``seconds``."""
    finished = timezone.now() - ago
    return Submission.objects.create(
        user=user,
        challenge=challenge,
        attempt=attempt,
        code=CODE,
        status="passed",
        started_at=finished - timedelta(seconds=seconds),
        finished_at=finished,
        **fields,
    )


def fragment(client, submission_id: int, slug="distillation-loss") -> str:
    response = client.get(f"/challenges/{slug}/submissions/{submission_id}/verdict/")
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


@pytest.fixture
def browser(learner) -> Client:
    client = Client()
    client.force_login(learner)
    return client


# --------------------------------------------------------------------------- each phase, in the API


def test_each_phase_in_the_api(api, learner, make_user, challenge, queued):
    other = make_user("bob")
    for attempt, seconds in enumerate((8, 12, 10), start=1):
        graded(other, challenge, seconds=seconds, ago=timedelta(hours=3), attempt=attempt)

    data = submit(api)
    assert data["phase"] == "queued" and data["queue_position"] == 1
    # Nothing finished recently: the challenge's typical time (10 s) stands in for the queue's.
    assert data["estimated_wait_seconds"] == 10 and data["typical_grading_seconds"] is None

    now = timezone.now()
    Submission.objects.filter(pk=data["id"]).update(
        status="running", started_at=now, deadline_at=now + timedelta(minutes=5)
    )
    running = detail(api, data["id"])
    assert running["phase"] == "running" and running["status"] == "running"
    assert running["queue_position"] is None and running["estimated_wait_seconds"] is None
    assert running["typical_grading_seconds"] == 10

    Submission.objects.filter(pk=data["id"]).update(checking_at=timezone.now())
    checking = detail(api, data["id"])
    assert checking["phase"] == "checking" and checking["status"] == "running"
    assert checking["typical_grading_seconds"] == 10

    Submission.objects.filter(pk=data["id"]).update(status="passed", finished_at=timezone.now())
    done = detail(api, data["id"])
    assert done["phase"] == "done" and done["is_final"] is True
    assert [done[k] for k in ("queue_position", "estimated_wait_seconds", "typical_grading_seconds")] == [None] * 3


def test_no_history_means_no_estimate(api, challenge, queued):
    data = submit(api)
    assert data["queue_position"] == 1 and data["estimated_wait_seconds"] is None
    assert detail(api, data["id"])["estimated_wait_seconds"] is None


def test_positions_follow_the_queue_across_learners(api, learner, make_user, challenge, queued):
    bob, cleo = api_client_for(make_user("bob")), api_client_for(make_user("cleo"))
    order = [submit(c) for c in (api, bob, cleo, api, bob)]  # ada 1, bob 2, cleo 3, ada 4, bob 5
    assert [s["queue_position"] for s in order] == [1, 2, 3, 4, 5]
    history = api.get("/api/challenges/distillation-loss/submissions/").json()
    assert [(s["id"], s["queue_position"]) for s in history] == [(order[3]["id"], 4), (order[0]["id"], 1)]

    # The first is picked up: everyone behind it moves up; a running one has no position.
    services.submission_start(submission_id=order[0]["id"], task_id="t-1", worker_host="w", device="cpu")
    assert detail(api, order[0]["id"])["queue_position"] is None
    assert [detail(c, s["id"])["queue_position"] for c, s in zip((bob, cleo, api, bob), order[1:])] == [1, 2, 3, 4]

    # Requeued after an infrastructure error, it goes to the back, where its retry is in the broker.
    services.submission_requeue(submission_id=order[0]["id"])
    assert detail(api, order[0]["id"])["queue_position"] == 5
    assert detail(cleo, order[2]["id"])["queue_position"] == 2


def test_a_learner_sees_only_numbers_about_others(api, make_user, challenge, queued):
    bob = api_client_for(make_user("bob"))
    theirs = submit(bob)
    mine = submit(api)
    payload = api.get("/api/challenges/distillation-loss/submissions/").content.decode()
    assert f'"id":{theirs["id"]},' not in payload.replace(" ", "") and "bob" not in payload
    assert detail(api, mine["id"])["queue_position"] == 2
    assert api.get(f"/api/submissions/{theirs['id']}/").status_code == 404


# --------------------------------------------------------------------------- the estimate


def test_estimate_from_recent_timings(learner, make_user, challenge):
    other = make_user("bob")
    # Five recent gradings a minute apart (median 6 s); the 100 s one overlaps the next: two graders at work.
    for attempt, seconds in enumerate((2, 4, 6, 100, 8), start=1):
        graded(other, challenge, seconds=seconds, ago=timedelta(minutes=attempt), attempt=attempt)
    # Older than the window, or regraded long after: not queue work now.
    graded(other, challenge, seconds=1, ago=timedelta(hours=2), attempt=6)
    graded(other, challenge, seconds=3600, attempt=7, regraded_at=timezone.now())
    ahead = [Submission.objects.create(user=other, challenge=challenge, attempt=8 + i, code=CODE) for i in range(3)]
    mine = Submission.objects.create(user=learner, challenge=challenge, attempt=1, code=CODE)

    recent = selectors.gradings_recent()
    assert recent.count == 5 and recent.median_seconds == 6 and recent.peak_concurrency == 2
    progress = selectors.submission_progress(submissions=[mine])[mine.pk]
    # The fair order: this learner first (never served, while bob has been), then bob's, oldest first. Two idle
    # graders take the first two at once: its verdict in one grading time.
    assert (progress.queue_position, progress.estimated_wait_seconds, progress.estimate_basis) == (1, 6, "recent")
    positions = selectors.submission_progress(submissions=ahead)
    assert [positions[s.pk].queue_position for s in ahead] == [2, 3, 4]
    assert [positions[s.pk].estimated_wait_seconds for s in ahead] == [6, 12, 12]

    # Four of this learner's gradings running now (just started): the other learner goes first, and the four
    # graders at work free up one grading time from now.
    now = timezone.now()
    for attempt in range(2, 6):
        Submission.objects.create(
            user=learner, challenge=challenge, attempt=attempt, code=CODE, status="running", started_at=now,
            deadline_at=now + timedelta(minutes=5),
        )  # fmt: skip
    progress = selectors.submission_progress(submissions=[mine])[mine.pk]
    assert progress.queue_position == 4 and progress.estimated_wait_seconds == 12

    # Each challenge waits for its own recent time: a slow challenge's grading ahead counts for what it takes.
    slow = Challenge.objects.get(pk=challenge.pk)
    slow.pk, slow.slug = None, "slow-challenge"
    slow.save()
    for attempt, seconds in enumerate((30, 40, 50), start=1):
        graded(other, slow, seconds=seconds, ago=timedelta(minutes=attempt), attempt=attempt)
    Submission.objects.filter(status="running").delete()
    Submission.objects.filter(pk__in=[s.pk for s in ahead]).update(challenge=slow)
    # Two graders: this one (6 s) and bob's first (40 s) start at once; bob's second waits for this one.
    progress = selectors.submission_progress(submissions=[mine])[mine.pk]
    assert (progress.queue_position, progress.estimated_wait_seconds) == (1, 6)
    assert selectors.submission_progress(submissions=ahead[1:2])[ahead[1].pk].estimated_wait_seconds == 46


def test_the_wait_counts_each_slots_hand_over(learner, make_user, challenge):
    """A slot costs a grading its hand-over too (acknowledging, taking the next message, claiming, starting the
    sandbox): the pause between one grading's end and the next start on the same busy worker. For a quick loss
    check that is most of what it costs; a long pause is idle time and does not count."""
    other = make_user("bob")
    end = timezone.now().replace(microsecond=0) - timedelta(minutes=1)
    # On one worker: 4 s each, handed over in 1 s; before them a pause of a minute (idle, not a hand-over).
    for attempt, ago in enumerate((70, 10, 5, 0), start=1):
        finished = end - timedelta(seconds=ago)
        Submission.objects.create(
            user=other, challenge=challenge, attempt=attempt, code=CODE, status="passed", worker_host="w@h",
            started_at=finished - timedelta(seconds=4), finished_at=finished,
        )  # fmt: skip
    assert selectors.gradings_recent().per_challenge == {(scheduler.SUBMISSION, challenge.pk): 5.0}
    mine = Submission.objects.create(user=learner, challenge=challenge, attempt=1, code=CODE)
    ahead = Submission.objects.create(user=other, challenge=challenge, attempt=9, code=CODE)
    assert selectors.submission_progress(submissions=[mine])[mine.pk].estimated_wait_seconds == 5
    assert selectors.submission_progress(submissions=[ahead])[ahead.pk].estimated_wait_seconds == 10


def test_peak_concurrency_counts_overlaps_only():
    t = timezone.now()
    s = timedelta(seconds=1)
    assert selectors._peak_concurrency([]) == 0
    assert selectors._peak_concurrency([(t, t + 2 * s), (t + 2 * s, t + 4 * s)]) == 1  # back to back
    assert selectors._peak_concurrency([(t, t + 3 * s), (t + s, t + 4 * s), (t + 2 * s, t + 5 * s)]) == 3


def test_progress_reads_are_bounded(api, learner, make_user, challenge, queued, django_assert_max_num_queries):
    other = make_user("bob")
    for attempt in range(1, 31):
        graded(other, challenge, seconds=attempt, attempt=attempt)
    for attempt in range(1, 21):
        graded(learner, challenge, seconds=5, attempt=attempt)
    Submission.objects.create(user=learner, challenge=challenge, attempt=21, code=CODE)
    Submission.objects.create(user=learner, challenge=challenge, attempt=22, code=CODE, status="running")
    submissions = list(Submission.objects.filter(user=learner))
    # The fair order (waiting, running, when each waiting learner was last served: 2 + 2 + 2), recent gradings
    # and example runs (2), the challenge's typical time (1):
    # whatever the history.
    with django_assert_max_num_queries(9):
        progress = selectors.submission_progress(submissions=submissions)
    assert sum(p.queue_position is not None for p in progress.values()) == 1
    with django_assert_max_num_queries(0):
        selectors.submission_progress(submissions=[s for s in submissions if s.is_final])
    with django_assert_max_num_queries(14):
        assert len(api.get("/api/challenges/distillation-loss/submissions/").json()) == 22


# --------------------------------------------------------------------------- the page


def test_fragment_says_the_phase_position_and_wait(browser, learner, make_user, challenge):
    other = make_user("bob")
    for attempt, seconds in enumerate((40, 50, 45), start=1):  # one after another: one grader
        graded(other, challenge, seconds=seconds, ago=timedelta(minutes=attempt), attempt=attempt)
    Submission.objects.create(user=other, challenge=challenge, attempt=4, code=CODE)
    mine = Submission.objects.create(user=learner, challenge=challenge, attempt=1, code=CODE)
    # This learner's examples ran more recently than bob's last grading: bob's turn comes first.
    ExampleRun.objects.create(
        user=learner, challenge=challenge, code=CODE, status="error", started_at=timezone.now() - timedelta(seconds=5)
    )

    html = fragment(browser, mine.pk)
    assert 'data-phase="queued"' in html and 'data-final="false"' in html
    assert '<li class="is-current" aria-current="step">Queued</li>' in html
    assert "Waiting for a free grader: 1 grading ahead of yours." in html
    # One grader (they ran one after another): bob's 45 s, then this one's 45 s.
    assert "Your verdict in about 2 min, from recent gradings of this challenge." in html

    now = timezone.now()
    Submission.objects.filter(pk=mine.pk).update(
        status="running", started_at=now - timedelta(seconds=30), deadline_at=now + timedelta(minutes=5)
    )
    html = fragment(browser, mine.pk)
    assert 'data-phase="running"' in html and '<li class="is-done">Queued</li>' in html
    assert '<li class="is-current" aria-current="step">Running</li>' in html
    elapsed = re.search(r"Running your code on hidden inputs… (\d+) s so far; gradings of this challenge usually "
                        r"take about 45 s\.", html)  # fmt: skip
    assert elapsed and 30 <= int(elapsed.group(1)) < 90, html
    assert "ahead of yours" not in html and "Your verdict in" not in html

    Submission.objects.filter(pk=mine.pk).update(checking_at=timezone.now())
    html = fragment(browser, mine.pk)
    assert 'data-phase="checking"' in html and '<li class="is-current" aria-current="step">Checking</li>' in html
    assert '<li class="is-done">Running</li>' in html
    assert re.search(r"Your code has run; checking what it returned against the reference… \d+ s so far\.", html)

    Submission.objects.filter(pk=mine.pk).update(status="failed", finished_at=timezone.now(), feedback="Nope.")
    html = fragment(browser, mine.pk)
    assert 'data-phase="done"' in html and 'data-final="true"' in html and "is-failed" in html
    assert "verdict-phases" not in html and "Nope." in html


def test_fragment_says_when_the_wait_comes_from_the_challenges_usual_time(browser, learner, make_user, challenge):
    graded(make_user("bob"), challenge, seconds=7, ago=timedelta(days=2), attempt=1)
    mine = Submission.objects.create(user=learner, challenge=challenge, attempt=1, code=CODE)
    html = fragment(browser, mine.pk)
    assert (
        "Waiting for a free grader: yours is next. Your verdict in about 7 s, from this challenge's usual "
        "grading time." in html
    )


def test_fragment_says_when_there_is_nothing_to_estimate_from(browser, learner, challenge):
    mine = Submission.objects.create(user=learner, challenge=challenge, attempt=1, code=CODE)
    html = fragment(browser, mine.pk)
    assert "Waiting for a free grader: yours is next." in html
    assert "No estimate of the wait yet: no grading has finished recently, and none of this challenge so far." in html
    assert "about" not in html

    Submission.objects.filter(pk=mine.pk).update(status="running", started_at=timezone.now())
    html = fragment(browser, mine.pk)
    # Running with no typical time: only what was measured.
    assert re.search(r"Running your code on hidden inputs… \d+ s so far\.", html) and "usually" not in html


def test_challenge_page_shows_the_latest_submissions_progress(browser, learner, make_user, challenge):
    Submission.objects.create(user=make_user("bob"), challenge=challenge, attempt=1, code=CODE)
    Submission.objects.create(user=learner, challenge=challenge, attempt=1, code=CODE)
    html = " ".join(browser.get("/challenges/distillation-loss/").content.decode().split())
    assert 'data-final="false"' in html and "1 grading ahead of yours." in html
    assert 'data-progress aria-live="off"' in html


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0.2, "about 1 s"), (7, "about 7 s"), (43, "about 45 s"), (57, "about 55 s"), (58, "about 1 min"),
     (100, "about 2 min"), (3600, "about 60 min"), (None, "")],
)  # fmt: skip
def test_about_seconds(seconds, words):
    assert about_seconds(seconds) == words


def test_elapsed_words():
    assert (elapsed_words(4), elapsed_words(125), elapsed_words(None)) == ("4 s", "2 min 5 s", "")


def test_schema_documents_the_progress_fields(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    submission = schema["components"]["schemas"]["Submission"]["properties"]
    for name in ("queue_position", "estimated_wait_seconds", "typical_grading_seconds"):
        assert submission[name]["type"] == "integer" and submission[name].get("nullable") is True, name
        assert submission[name]["description"]
    phase = schema["components"]["schemas"][submission["phase"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]]
    assert phase["enum"] == ["queued", "running", "checking", "done"]
