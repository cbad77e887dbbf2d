"""The cache is an optimisation: its outage slows reads and never blocks, undoes or hides a state change.

Against a private redis-server this test starts and stops for real (tests/fixtures/services.py), used as the
site's cache (sessions, the signed-in user, every learner summary) in this process. "Restarted with its
data" is a SAVE before the stop: the server comes back holding the entries cached before the change, which is
what would make a learner see stale data if the version bumps owed during the outage were forgotten.
"""

from __future__ import annotations

import threading
import time

import pytest

from challenges import dispatch, services
from challenges.kinds.grader import Check, Verdict
from challenges.models import Submission
from learnpath.models import CacheInvalidation

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

RETRY_SECONDS = 0.2


@pytest.fixture
def redis_cache(private_redis, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "learnpath.redis_cache.RedisCache",
            "LOCATION": private_redis.url(),
            "OPTIONS": {"retry_seconds": RETRY_SECONDS},
        }
    }
    return private_redis


@pytest.fixture
def graded_learner(learner, challenge, monkeypatch):
    """A learner enrolled in the path, with one submission being graded (claimed by a worker)."""
    from learnpath.services import enrollment_create

    monkeypatch.setattr(dispatch, "submission_send", lambda submission: True)
    enrollment_create(user=learner, path=challenge.drop.path)
    submission = services.submission_create(user=learner, challenge=challenge, code="def distillation_loss(*a): ...")
    services.submission_start(submission_id=submission.pk, task_id=submission.task_id, worker_host="w@h", device="cpu")
    return learner, submission


def passed() -> Verdict:
    return Verdict(status="passed", score=1.0, checks=[Check("matches", True, "ok")], feedback="All checks passed.")


def standing(client, slug: str) -> str:
    response = client.get("/api/progress/")
    assert response.status_code == 200, response.content
    [row] = [row for row in response.json()["challenges"] if row["slug"] == slug]
    return row["status"]


def stop_keeping_data(redis) -> None:
    redis.client().save()
    redis.stop()


def in_fresh_thread(work):
    """Run ``work`` in a new thread: its own cache backend, which has seen no outage (another process)."""
    box = {}

    def run():
        from django.db import connection

        try:
            box["value"] = work()
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            box["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def test_a_verdict_is_stored_while_the_cache_is_down_and_never_read_stale_after(redis_cache, graded_learner, client):
    learner, submission = graded_learner
    client.force_login(learner)
    slug = submission.challenge.slug
    assert standing(client, slug) == "attempted"  # cached under the learner's current version

    stop_keeping_data(redis_cache)
    stored = services.submission_record_verdict(submission_id=submission.pk, verdict=passed())
    assert stored.status == "passed" and Submission.objects.get(pk=submission.pk).status == "passed"
    assert CacheInvalidation.objects.exists()  # the bump it could not make is owed, not forgotten
    # Reads answer from the database meanwhile, for the session, the user and every summary.
    assert standing(client, slug) == "passed"
    for url in (
        "/api/today/",
        f"/api/submissions/{submission.pk}/",
        "/today/",
        "/progress/",
        f"/challenges/{slug}/",
        "/review/",
    ):
        assert client.get(url).status_code == 200, url

    redis_cache.start()  # with the entries cached before the verdict
    time.sleep(RETRY_SECONDS * 2)
    assert standing(client, slug) == "passed"
    assert not CacheInvalidation.objects.exists()


def test_a_process_that_missed_the_outage_is_made_fresh_by_the_beat(redis_cache, graded_learner, client):
    from learnpath.tasks import apply_owed_cache_invalidations

    learner, submission = graded_learner
    client.force_login(learner)
    slug = submission.challenge.slug
    assert standing(client, slug) == "attempted"
    stop_keeping_data(redis_cache)
    services.submission_record_verdict(submission_id=submission.pk, verdict=passed())
    redis_cache.start()
    owed = CacheInvalidation.objects.count()
    assert owed >= 1

    # Another process, whose cache client never failed, has nothing to tell it; the beat's task pays the debt.
    assert in_fresh_thread(lambda: apply_owed_cache_invalidations.apply().get()) == owed
    assert not CacheInvalidation.objects.exists()

    def read():
        from django.test import Client

        other = Client()
        other.force_login(learner)
        return standing(other, slug)

    assert in_fresh_thread(read) == "passed"


def test_state_changes_go_through_with_the_cache_down(redis_cache, learner, content, client):
    from drops.models import Drop

    client.force_login(learner)
    assert client.post(f"/api/paths/{content.slug}/enroll/").status_code in (200, 201)
    drop = Drop.objects.get(path=content, position=1)
    redis_cache.stop()
    response = client.post(f"/api/drops/{drop.pk}/complete/", {"seconds_spent": 90}, content_type="application/json")
    assert response.status_code in (200, 201), response.content
    due = client.get("/api/reviews/due/").json()
    card = due["cards"][0] if isinstance(due, dict) else due[0]
    rated = client.post(f"/api/reviews/{card['id']}/", {"rating": 3}, content_type="application/json")
    assert rated.status_code in (200, 201), rated.content
    from drops.models import ReviewLog

    assert ReviewLog.objects.filter(user=learner).count() == 1


def test_a_cache_that_hangs_is_not_waited_on_by_every_request(settings, learner, client):
    """A server that accepts connections and never answers (a host gone behind a load balancer): the first
    request waits out one short timeout, and the requests after it do not ask that server again."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        settings.CACHES = {
            "default": {
                "BACKEND": "learnpath.redis_cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{listener.getsockname()[1]}/0",
                "OPTIONS": {"retry_seconds": 600},
            }
        }
        client.force_login(learner)
        for _ in range(5):
            assert client.get("/api/today/").status_code == 200
        listener.setblocking(False)
        connections = 0
        while True:
            try:
                accepted, _ = listener.accept()
            except BlockingIOError:
                break
            accepted.close()
            connections += 1
        # One attempt and its single retry; redis-py's default would have retried ten times for every read.
        assert 1 <= connections <= 2
    finally:
        listener.close()


def test_a_session_logged_out_while_the_cache_was_down_stays_logged_out(redis_cache, learner, client):
    from django.conf import settings
    from django.test import Client

    client.force_login(learner)
    assert client.get("/api/today/").status_code == 200
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    stop_keeping_data(redis_cache)  # the session's cached copy is kept
    assert client.post("/accounts/logout/").status_code == 302
    redis_cache.start()
    time.sleep(RETRY_SECONDS * 2)
    replayed = Client()
    replayed.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert replayed.get("/api/today/").status_code in (401, 403)
    assert not CacheInvalidation.objects.exists()
