"""A fair share of the graders per learner: whichever message a worker takes, it grades the fairest waiting work.

In-process first (the grading task with the grader replaced, messages delivered in the broker's order), then
with a real worker and the real sandbox: one learner floods submissions and example runs of code that sleeps,
another submits once, and waits for no more than the grading already running plus its own.
"""

from __future__ import annotations

import time

import pytest

from challenges import services, tasks
from challenges.kinds import grader
from challenges.models import ExampleRun, Submission
from tests.conftest import api_client_for

CODE = "def distillation_loss(*a):\n    return 0\n"


@pytest.fixture
def messages(monkeypatch):
    """The grading queue as a list: each message's (task name, row id, task id), in the order sent."""
    from learnpath.celery_app import app

    sent: list[tuple[str, int, str]] = []
    names = {tasks.grade_submission.name: "s", tasks.run_examples.name: "e"}
    monkeypatch.setattr(
        app, "send_task", lambda name, args, task_id, **options: sent.append((names[name], args[0], task_id))
    )
    return sent


@pytest.fixture
def graded(monkeypatch):
    """Replace the grader and the examples runner; record whose code each grading slot ran, in order."""
    from challenges.kinds import examples

    monkeypatch.setenv("GRADING_POOL_SIZE", "0")
    ran: list[str] = []

    def grade(target, code, *, device="cpu", seed=None, pool=None, on_phase=None):
        ran.append(code.split("\n", 1)[0])
        return grader.Verdict(
            status="passed", score=1.0, checks=[grader.Check("runs", True, "ok")], timings={}, device="cpu",
            feedback="ok", mistakes=[], details={}, grader_version="test",
        )  # fmt: skip

    def run(target, code, *, device="cpu", pool=None):
        ran.append(code.split("\n", 1)[0])
        return examples.ExampleReport(status="ran", message="", examples=[], stdout="", stderr="")

    monkeypatch.setattr(grader, "grade", grade)
    monkeypatch.setattr(examples, "run_examples", run)
    return ran


def deliver(messages: list[tuple[str, int, str]]) -> list[str]:
    """Run every message in the broker's order, one slot, as one worker would; returns the tasks' results."""
    results = []
    while messages:
        name, pk, task_id = messages.pop(0)
        task = tasks.grade_submission if name == "s" else tasks.run_examples
        results.append(task.apply(args=(pk,), task_id=task_id).get())
    return results


@pytest.mark.django_db(transaction=True)
def test_turns_go_round_the_learners_whatever_the_arrival_order(
    make_user, challenge, messages, graded, django_capture_on_commit_callbacks
):
    flood = api_client_for(make_user("flood"))
    honest = api_client_for(make_user("honest"))
    late = api_client_for(make_user("late"))
    for number in range(3):  # as many as one learner may have in flight
        code = f"# flood {number}\n{CODE}"
        assert (
            flood.post("/api/challenges/distillation-loss/submissions/", {"code": code}, format="json").status_code
            == 202
        )
    for number in range(2):
        code = f"# flood example {number}\n{CODE}"
        assert flood.post("/api/challenges/distillation-loss/try/", {"code": code}, format="json").status_code == 202
    honest.post("/api/challenges/distillation-loss/submissions/", {"code": f"# honest\n{CODE}"}, format="json")
    late.post("/api/challenges/distillation-loss/try/", {"code": f"# late example\n{CODE}"}, format="json")
    assert len(messages) == 7 and [name for name, _, _ in messages[:3]] == ["s", "s", "s"]

    # The flood's five messages come first; the first grades the flood's oldest, and then the learners who have
    # had no turn go first, whichever message the slot took.
    results = deliver(messages)
    assert graded == [
        "# flood 0", "# honest", "# late example", "# flood 1", "# flood 2", "# flood example 0", "# flood example 1",
    ]  # fmt: skip
    assert results.count("skipped") == 0
    assert not Submission.objects.exclude(status="passed").exists()
    assert not ExampleRun.objects.exclude(status="ran").exists()


@pytest.mark.django_db(transaction=True)
def test_every_queued_row_keeps_a_message_of_its_own(make_user, challenge, messages, graded):
    """When a message grades another learner's work, the two rows exchange message ids: every row still queued
    holds a distinct message that the broker has, so the mender (which looks rows' ids up in the broker) sends
    nothing twice and loses nothing."""
    flood, honest = make_user("flood"), make_user("honest")
    for number in range(3):
        services.submission_create(user=flood, challenge=challenge, code=f"# flood {number}\n{CODE}")
    mine = services.submission_create(user=honest, challenge=challenge, code=f"# honest\n{CODE}")
    in_broker = {task_id for _, _, task_id in messages}
    assert len(in_broker) == 4

    first = messages.pop(0)
    tasks.grade_submission.apply(args=(first[1],), task_id=first[2]).get()
    second = messages.pop(0)  # sent for the flood's second submission; it grades the honest learner's
    tasks.grade_submission.apply(args=(second[1],), task_id=second[2]).get()
    assert graded == ["# flood 0", "# honest"]
    mine.refresh_from_db()
    assert mine.status == "passed" and mine.task_id == second[2]

    queued = Submission.objects.filter(status="queued")
    held = sorted(queued.values_list("task_id", flat=True))
    assert len(held) == 2 and sorted(task_id for _, _, task_id in messages) == held
    # The honest learner's own message, still in the broker, now stands for the flood's second submission.
    honest_message = next(task_id for _, pk, task_id in messages if pk == mine.pk)
    assert queued.get(task_id=honest_message).code.startswith("# flood 1")
    assert deliver(messages) == ["passed", "passed"]
    assert graded == ["# flood 0", "# honest", "# flood 1", "# flood 2"]


@pytest.mark.django_db(transaction=True)
def test_a_message_with_nothing_left_to_grade_is_skipped(make_user, challenge, messages, graded):
    learner = make_user("ada")
    services.submission_create(user=learner, challenge=challenge, code=f"# one\n{CODE}")
    _, pk, task_id = messages.pop(0)
    assert tasks.grade_submission.apply(args=(pk,), task_id=task_id).get() == "passed"
    # A duplicate of it (a redelivery after the verdict, or a message the mender sent again) finds nothing.
    assert tasks.grade_submission.apply(args=(pk,), task_id=task_id).get() == "skipped"
    assert tasks.run_examples.apply(args=(pk,), task_id="another").get() == "skipped"
    assert graded == ["# one"]


@pytest.mark.django_db(transaction=True)
def test_the_api_gives_each_its_place_in_the_fair_order(make_user, challenge, messages):
    flood, honest = api_client_for(make_user("flood")), api_client_for(make_user("honest"))
    flood_ids = [
        flood.post("/api/challenges/distillation-loss/submissions/", {"code": CODE}, format="json").json()["id"]
        for _ in range(3)
    ]
    run = honest.post("/api/challenges/distillation-loss/try/", {"code": CODE}, format="json").json()
    # Nothing has run yet: the flood's oldest first, then turns go round: the honest run, the flood's others.
    assert [flood.get(f"/api/submissions/{pk}/").json()["queue_position"] for pk in flood_ids] == [1, 3, 4]
    assert run["queue_position"] == 2 and run["estimated_wait_seconds"] is None  # no timings yet
    assert honest.get(run["url"]).json()["queue_position"] == 2
    # Once the flood's first is running, the honest learner's run is next and the flood's others after it.
    services.grading_claim(task_id=messages[0][2], worker_host="w", device="cpu")
    assert honest.get(run["url"]).json()["queue_position"] == 1
    assert [flood.get(f"/api/submissions/{pk}/").json()["queue_position"] for pk in flood_ids[1:]] == [2, 3]


@pytest.mark.django_db(transaction=True)
def test_many_accounts_on_one_network_take_the_turns_of_one(make_user, challenge, messages, graded):
    """Turns go round networks first: one person's twenty accounts from one network count as one learner, so a
    learner from elsewhere waits for at most one of them."""
    flood = [api_client_for(make_user(f"flood{n}")) for n in range(20)]
    for number, client in enumerate(flood):
        response = client.post(
            "/api/challenges/distillation-loss/submissions/",
            {"code": f"# flood {number}\n{CODE}"},
            format="json",
            REMOTE_ADDR=f"198.51.100.{number + 1}",
        )
        assert response.status_code == 202
    honest = api_client_for(make_user("honest")).post(
        "/api/challenges/distillation-loss/submissions/",
        {"code": f"# honest\n{CODE}"},
        format="json",
        REMOTE_ADDR="203.0.113.7",
    )
    # The flood's network was first to wait, so its oldest goes first; then the other network's learner.
    assert honest.json()["queue_position"] == 2
    deliver(messages)
    assert graded[:3] == ["# flood 0", "# honest", "# flood 1"]
    assert sorted(graded) == sorted([f"# flood {n}" for n in range(20)] + ["# honest"])


# --------------------------------------------------------------------------- a real worker, the real sandbox

SLEEPER = "import time\n\ndef distillation_loss(*args, **kwargs):\n    time.sleep(60)\n"


@pytest.mark.worker
@pytest.mark.sandbox
def test_under_a_flood_an_honest_submission_waits_for_one_running_grading_and_its_own(
    start_worker, make_user, challenge, reference_code
):
    """One worker slot. A learner keeps three sleeping submissions and two sleeping example runs in flight (each
    runs until the challenge's wall clock stops it) and tops them up as they end; an honest learner submits
    once. Its grading starts as soon as the grading running when it arrived ends: no flood grading starts
    between its arrival and its start."""
    challenge.limits = {"wall_seconds": 3}
    challenge.save()
    flood, honest = api_client_for(make_user("flood")), api_client_for(make_user("honest"))
    start_worker()

    def top_up() -> None:
        for _ in range(3):
            flood.post("/api/challenges/distillation-loss/submissions/", {"code": SLEEPER}, format="json")
        for _ in range(2):
            flood.post("/api/challenges/distillation-loss/try/", {"code": SLEEPER}, format="json")

    top_up()
    deadline = time.monotonic() + 300  # far above the ~30 s it takes; a loaded machine is slower
    while not Submission.objects.filter(status="running").exists():
        assert time.monotonic() < deadline, "the worker never started the flood"
        time.sleep(0.05)
    response = honest.post("/api/challenges/distillation-loss/submissions/", {"code": reference_code}, format="json")
    assert response.status_code == 202, response.content
    mine_id = response.json()["id"]
    # The flood goes on at the rate it is allowed while the honest submission waits.
    while not (mine := Submission.objects.get(pk=mine_id)).is_final:
        assert time.monotonic() < deadline, "no verdict for the honest submission"
        top_up()
        time.sleep(0.2)
    assert mine.status == "passed", mine.feedback

    def started(rows):
        return [(row.started_at, row.finished_at) for row in rows if row.started_at is not None]

    flood_gradings = started(Submission.objects.filter(user__username="flood")) + started(
        ExampleRun.objects.filter(user__username="flood")
    )
    running_on_arrival = [
        (s, f) for s, f in flood_gradings if s <= mine.queued_at and (f is None or f > mine.queued_at)
    ]
    assert len(running_on_arrival) <= 1
    started_between = [s for s, _ in flood_gradings if mine.queued_at < s < mine.started_at]
    assert started_between == [], "a flood grading took the slot before the honest submission"
    for _, finished in running_on_arrival:
        assert finished <= mine.started_at
