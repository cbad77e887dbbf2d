"""The plan pages and the worksheet panel below the last drop."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client

from drops.extras import render_extras
from plans import services
from plans.models import DistillationPlan

from .conftest import as_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for(learner):
    def make(user=learner):
        client = Client()
        client.force_login(user)
        return client

    return make


def _form_data(fields: dict) -> dict:
    data = {k: v for k, v in as_json(fields).items() if v is not None}
    return {k: ("on" if v is True else v) for k, v in data.items() if v is not False}


def test_pages_need_login(client):
    for url in ["/plans/", "/plans/new/", "/plans/1/", "/plans/1/export.md"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_new_plan_page_is_an_accessible_worksheet(client_for):
    response = client_for().get("/plans/new/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<fieldset") == 8 and html.count("<legend>") == 8
    assert '<label for="id_teacher_cost_per_request">' in html
    assert 'aria-describedby="id_teacher_cost_per_request_helptext"' in html
    assert 'id="id_teacher_cost_per_request_helptext"' in html
    assert 'aria-live="polite"' in html
    assert "plans/plan-form.js" in html and 'type="module"' in html


def test_create_edit_and_list(client_for, complete_plan_fields):
    client = client_for()
    response = client.post("/plans/new/", {"title": "Draft plan"})
    plan = DistillationPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/plans/{plan.pk}/"

    response = client.post(f"/plans/{plan.pk}/", _form_data(complete_plan_fields), follow=True)
    assert response.status_code == 200
    assert "Your worksheet is complete" in response.content.decode()
    plan.refresh_from_db()
    assert plan.is_complete and plan.title == "SQL assistant, v1"
    html = response.content.decode()
    assert "Breaks even after 70,741 requests, about 3.5 days at this volume." in html
    assert "$4,860.00" in html

    listing = client.get("/plans/").content.decode()
    assert "SQL assistant, v1" in listing and f"/plans/{plan.pk}/export.md" in listing


def test_invalid_form_shows_errors_and_keeps_the_plan(client_for, learner):
    plan = services.plan_create(owner=learner, title="Keep")
    response = client_for().post(f"/plans/{plan.pk}/", {"title": "", "monthly_requests": "-3", "mode": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and 'aria-invalid="true"' in html
    plan.refresh_from_db()
    assert plan.title == "Keep"


def test_other_learners_get_404_on_every_page(client_for, learner, other_learner):
    plan = services.plan_create(owner=learner, title="Secret roadmap")
    other = client_for(other_learner)
    for url in [f"/plans/{plan.pk}/", f"/plans/{plan.pk}/export.md", f"/plans/{plan.pk}/delete/"]:
        assert other.get(url).status_code == 404
    assert other.post(f"/plans/{plan.pk}/", {"title": "mine"}).status_code == 404
    assert other.post(f"/plans/{plan.pk}/delete/").status_code == 404
    assert "Secret roadmap" not in other.get("/plans/").content.decode()
    assert DistillationPlan.objects.filter(pk=plan.pk, title="Secret roadmap").exists()


def test_delete_asks_first(client_for, learner):
    plan = services.plan_create(owner=learner, title="Old")
    client = client_for()
    assert "Delete “Old”?" in client.get(f"/plans/{plan.pk}/delete/").content.decode()
    response = client.post(f"/plans/{plan.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/plans/"
    assert not DistillationPlan.objects.exists()


def test_export_is_a_markdown_download(client_for, learner, complete_plan_fields):
    plan = services.plan_create(owner=learner, **complete_plan_fields)
    response = client_for().get(f"/plans/{plan.pk}/export.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="distillation-plan-sql-assistant-v1.md"'
    assert "## Cost case" in response.content.decode()


def test_next_only_redirects_within_the_site(client_for):
    client = client_for()
    response = client.post("/plans/new/?next=https://evil.example/", {"title": "A"})
    assert response["Location"].startswith("/plans/")
    response = client.post("/plans/new/?next=/drops/1/%23worksheet", {"title": "B"})
    assert response["Location"] == "/drops/1/#worksheet"


# ---------- the panel below the last drop ----------


def test_worksheet_panel_only_on_the_plan_drop(rf, learner, plan_path, plan_drop):
    request = rf.get("/")
    request.user = learner
    intro = plan_path.drops.get(slug="intro")
    assert not any("data-plan-form" in html for html in render_extras(request, intro))

    panels = [html for html in render_extras(request, plan_drop) if "data-plan-form" in html]
    assert len(panels) == 1
    assert f"?next=%2Fdrops%2F{plan_drop.pk}%2F%23worksheet" in panels[0]
    assert 'action="/plans/new/' in panels[0]


def test_worksheet_panel_edits_the_latest_plan(rf, learner, plan_drop):
    services.plan_create(owner=learner, title="Older")
    latest = services.plan_create(owner=learner, title="Newest")
    request = rf.get("/")
    request.user = learner
    panel = next(html for html in render_extras(request, plan_drop) if "data-plan-form" in html)
    assert f'action="/plans/{latest.pk}/?next=' in panel
    assert 'value="Newest"' in panel
    assert "Your plans (2)" in panel


def test_worksheet_panel_hidden_from_anonymous(rf, plan_drop):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/")
    request.user = AnonymousUser()
    assert not any("data-plan-form" in html for html in render_extras(request, plan_drop))


def test_saving_from_the_drop_completes_it_and_returns_there(
    client_for, learner, plan_drop, plan_drop_available, complete_plan_fields
):
    next_url = f"/drops/{plan_drop.pk}/#worksheet"
    response = client_for().post(f"/plans/new/?next={quote(next_url)}", _form_data(complete_plan_fields))
    assert response.status_code == 302 and response["Location"] == next_url
    plan_drop_available.refresh_from_db()
    assert plan_drop_available.completed_at is not None
