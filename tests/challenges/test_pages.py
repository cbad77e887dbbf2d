"""The challenge page and the drop panel, server-rendered."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from challenges import services
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
    monkeypatch.setattr(services, "_dispatch", lambda pk, budget: sent.append(pk))
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
