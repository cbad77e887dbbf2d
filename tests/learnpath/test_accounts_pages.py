"""Accounts in the browser: sign up (with a timezone), log in (throttled), log out, change password."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-7"


@pytest.fixture
def browser_client():
    return Client(enforce_csrf_checks=True)


def csrf_post(client: Client, url: str, data: dict):
    client.get(url)
    return client.post(url, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_signup_creates_learner_with_timezone_and_logs_in(browser_client):
    response = csrf_post(
        browser_client, "/accounts/signup/", {"username": "mia", "password": PASSWORD, "timezone": "Europe/Berlin"}
    )
    assert response.status_code == 302
    user = User.objects.get(username="mia")
    assert user.profile.timezone == "Europe/Berlin"
    assert browser_client.get("/accounts/settings/").status_code == 200


def test_signup_shows_errors_and_keeps_input(browser_client):
    response = csrf_post(browser_client, "/accounts/signup/", {"username": "mia", "password": "1", "timezone": "UTC"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "too short" in html and 'value="mia"' in html
    assert not User.objects.filter(username="mia").exists()


def test_signup_without_csrf_token_is_rejected(browser_client):
    response = browser_client.post("/accounts/signup/", {"username": "mia", "password": PASSWORD, "timezone": "UTC"})
    assert response.status_code == 403


def test_login_logout_and_password_change(browser_client, make_user):
    make_user("mia", password=PASSWORD)
    assert csrf_post(browser_client, "/accounts/login/", {"username": "mia", "password": PASSWORD}).status_code == 302
    response = csrf_post(
        browser_client,
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-passphrase-8",
            "new_password2": "another-long-passphrase-8",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="mia").check_password("another-long-passphrase-8")
    browser_client.get("/")
    logout = browser_client.post(
        "/accounts/logout/", {"csrfmiddlewaretoken": browser_client.cookies["csrftoken"].value}
    )
    assert logout.status_code == 302
    assert browser_client.get("/accounts/settings/").status_code == 302  # back to the login page


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_login_is_throttled_after_repeated_failures(browser_client, make_user):
    make_user("mia", password=PASSWORD)
    for _ in range(3):
        response = csrf_post(browser_client, "/accounts/login/", {"username": "mia", "password": "wrong"})
        assert response.status_code == 200
    response = csrf_post(browser_client, "/accounts/login/", {"username": "mia", "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()


def test_enroll_in_the_browser(browser_client, make_user, content):
    make_user("mia", password=PASSWORD)
    csrf_post(browser_client, "/accounts/login/", {"username": "mia", "password": PASSWORD})
    page = browser_client.get("/paths/model-distillation/").content.decode()
    assert "Why teacher outputs beat raw labels" in page and "Enroll and start today" in page
    response = csrf_post(browser_client, "/paths/model-distillation/enroll/", {})
    assert response.status_code == 302
    page = browser_client.get("/paths/model-distillation/").content.decode()
    assert "badge-available" in page and "Enroll and start today" not in page


def test_settings_page_saves_profile(browser_client, make_user):
    make_user("mia", password=PASSWORD)
    csrf_post(browser_client, "/accounts/login/", {"username": "mia", "password": PASSWORD})
    response = csrf_post(
        browser_client,
        "/accounts/settings/",
        {
            "email": "mia@example.org",
            "timezone": "Asia/Kolkata",
            "reminder_hour": "8",
            "email_reminders": "on",
            "daily_goal_minutes": "10",
            "daily_review_cap": "30",
        },
    )
    assert response.status_code == 302
    profile = User.objects.get(username="mia").profile
    assert (profile.timezone, profile.reminder_hour, profile.daily_goal_minutes) == ("Asia/Kolkata", 8, 10)
    assert profile.email_reminders and profile.user.email == "mia@example.org"
