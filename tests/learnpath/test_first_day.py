"""A first day worth coming back to: sign-up lands on day 1, enrolling opens it, and the outline says what
each day holds (demos, challenges, the worksheet), derived from the content itself."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from challenges.models import Challenge
from drops.models import Drop
from learnpath.content.render import render_markdown
from learnpath.models import Enrollment
from tests.conftest import DISTILLATION
from tests.drops.conftest import build_path

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-7"


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def checked_start_path(html: str) -> str | None:
    """The value of the sign-up form's pre-selected "Start a path now" radio."""
    for tag in re.findall(r'<input[^>]*name="start_path"[^>]*>', html):
        if " checked" in tag:
            return re.search(r'value="([^"]*)"', tag)[1]
    return None


def signup(client: Client, **extra):
    data = {"username": "mia", "password": PASSWORD, "timezone": "Europe/Berlin", **extra}
    return client.post("/accounts/signup/", data)


def test_signup_offers_the_path_and_lands_on_day_one(client, content):
    form = client.get("/accounts/signup/").content.decode()
    assert checked_start_path(form) == DISTILLATION  # the only path: starting it is the default
    assert f"enrol me in {content.title} and open day 1" in form

    response = signup(client, start_path=DISTILLATION)
    first = Drop.objects.get(path=content, position=1)
    assert response.status_code == 302 and response["Location"] == f"/drops/{first.pk}/"
    user = User.objects.get(username="mia")
    assert Enrollment.objects.filter(user=user, path=content).exists()
    day_one = client.get(response["Location"])
    assert day_one.status_code == 200
    assert f"You are enrolled in {content.title}: day 1 is open." in text(day_one)
    assert ">Done<" in day_one.content.decode()


def test_signup_can_leave_enrolling_for_later(client, content):
    response = signup(client, start_path="")
    assert response.status_code == 302 and response["Location"] == "/"
    assert not Enrollment.objects.filter(user__username="mia").exists()
    today = client.get("/today/")
    assert f"Enroll in {content.title}" in text(today)


def test_signup_rejects_an_unknown_path_and_creates_nobody(client, content):
    response = signup(client, start_path="no-such-path")
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert not User.objects.filter(username="mia").exists()


def test_signup_from_a_path_page_preselects_that_path(client, content):
    other = build_path(slug="second")
    page = text(client.get(f"/paths/{other.slug}/"))
    assert "Sign up and start day 1" in page
    assert f'href="/accounts/signup/?path={other.slug}"' in client.get(f"/paths/{other.slug}/").content.decode()
    assert checked_start_path(client.get(f"/accounts/signup/?path={other.slug}").content.decode()) == other.slug
    # With two paths and no hint, nothing is chosen for the learner.
    assert checked_start_path(client.get("/accounts/signup/").content.decode()) == ""
    assert checked_start_path(client.get("/accounts/signup/?path=nope").content.decode()) == ""


def test_enrolling_opens_day_one_and_the_path_page_offers_it(client, make_user, content):
    user = make_user("mia")
    client.force_login(user)
    first = Drop.objects.get(path=content, position=1)
    response = client.post(f"/paths/{DISTILLATION}/enroll/")
    assert response.status_code == 302 and response["Location"] == f"/drops/{first.pk}/"
    again = client.post(f"/paths/{DISTILLATION}/enroll/")
    assert again.status_code == 302 and again["Location"] == f"/paths/{DISTILLATION}/"
    page = client.get(f"/paths/{DISTILLATION}/").content.decode()
    assert re.search(rf'href="/drops/{first.pk}/" data-testid="continue-drop">Start day 1: ', page)


def test_the_today_page_starts_day_one_in_one_click(client, make_user, content):
    client.force_login(make_user("mia"))
    client.post(f"/paths/{DISTILLATION}/enroll/")
    first = Drop.objects.get(path=content, position=1)
    today = client.get("/today/").content.decode()
    assert re.search(rf'href="/drops/{first.pk}/">Start day 1<', today)


def outline_contents(client: Client, slug: str) -> dict[int, list[dict]]:
    outline = client.get(f"/api/paths/{slug}/").json()
    return {drop["position"]: drop["contents"] for phase in outline["phases"] for drop in phase["drops"]}


def test_the_outline_says_what_each_day_holds(client, content):
    contents = outline_contents(client, DISTILLATION)
    drops = {drop.position: drop for drop in Drop.objects.filter(path=content)}
    page = client.get(f"/paths/{DISTILLATION}/").content.decode()
    for position, drop in drops.items():
        kinds = [item["kind"] for item in contents[position]]
        demos = re.findall(r'data-demo="([a-z-]+)"', drop.body_html)
        assert kinds.count("demo") == len(set(demos)), f"day {position}"
        titles = [item["title"] for item in contents[position] if item["kind"] == "challenge"]
        assert titles == [c.title for c in Challenge.objects.filter(drop=drop, is_active=True)], f"day {position}"
    # The path's content puts a demo on day 1, challenges after it and the worksheet on the last day.
    assert any(item["kind"] == "demo" for item in contents[1])
    assert sum(item["kind"] == "challenge" for items in contents.values() for item in items) == 3
    assert [item["kind"] for item in contents[max(drops)]] == ["worksheet"]
    demo = next(item for item in contents[1] if item["kind"] == "demo")
    assert demo["url"].startswith("/demos/#demo-") and f'href="{demo["url"]}"' in page
    assert "Interactive demo:" in text(client.get(f"/paths/{DISTILLATION}/"))
    assert "Code challenge:" in text(client.get(f"/paths/{DISTILLATION}/"))


def test_the_outline_follows_content_changes(client, db):
    path = build_path(slug="tiny")
    assert outline_contents(client, "tiny")[1] == []
    drop = Drop.objects.get(path=path, position=1)
    drop.body_html = render_markdown("## Try\n\n[[demo:pipeline]]\n\n[[demo:temperature]]\n\n[[demo:pipeline]]\n")
    drop.save()
    kinds = [(item["kind"], item["url"]) for item in outline_contents(client, "tiny")[1]]
    assert kinds == [("demo", "/demos/#demo-pipeline"), ("demo", "/demos/#demo-temperature")]


def test_the_outline_schema_documents_contents(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    drop = schema["components"]["schemas"]["DropSummary"]
    assert "contents" in drop["required"]
    assert schema["components"]["schemas"]["DropContent"]["properties"]["kind"]
