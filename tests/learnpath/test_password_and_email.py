"""Password change and reset in the site's own pages, the email address in settings, and reminders that stay off
until there is an address to send them to."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, override_settings

from learnpath import services
from learnpath.models import LearnerProfile
from tests.conftest import api_client_for
from tests.learnpath.test_accounts_pages import csrf_post

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-passphrase-7"
NEW_PASSWORD = "a-brand-new-passphrase-31"


@pytest.fixture
def browser_client():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def mia(make_user):
    user = make_user("mia", password=PASSWORD)
    services.user_email_update(user=user, email="mia@example.org")
    return user


def logged_in(client: Client, username: str = "mia") -> Client:
    assert csrf_post(client, "/accounts/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def reset_link(message) -> str:
    found = re.search(r"https?://[^/\s]+(/accounts/password/reset/[^\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


# Password change


def test_password_change_is_the_sites_page_not_the_admins(browser_client, mia):
    html = logged_in(browser_client).get("/accounts/password/").content.decode()
    assert "Django administration" not in html and "/admin/" not in html
    assert "<h1>Change your password</h1>" in html and 'class="site-header"' in html


def test_password_change_with_a_wrong_current_password_says_so(browser_client, mia):
    logged_in(browser_client)
    response = csrf_post(
        browser_client,
        "/accounts/password/",
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "incorrectly" in response.content.decode()
    assert User.objects.get(username="mia").check_password(PASSWORD)


def test_password_change_keeps_the_learner_logged_in(browser_client, mia):
    logged_in(browser_client)
    response = csrf_post(
        browser_client,
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/settings/"
    assert browser_client.get("/accounts/settings/").status_code == 200
    assert User.objects.get(username="mia").check_password(NEW_PASSWORD)


# Password reset


def test_login_page_links_to_password_reset(client):
    assert 'href="/accounts/password/reset/"' in client.get("/accounts/login/").content.decode()


def test_reset_sends_a_link_that_sets_a_new_password_once(browser_client, mia):
    page = browser_client.get("/accounts/password/reset/").content.decode()
    assert "Django administration" not in page and "<h1>Reset your password</h1>" in page

    response = csrf_post(browser_client, "/accounts/password/reset/", {"email": "MIA@example.org"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    assert "Check your email" in browser_client.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["mia@example.org"] and message.subject == "Reset your learnpath password"
    assert "Hello mia" in message.body

    link = reset_link(message)
    form_page = browser_client.get(link, follow=True)  # Django swaps the token for a session and redirects
    assert form_page.status_code == 200
    assert "<h1>Choose a new password</h1>" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = browser_client.post(
        set_url,
        {
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "csrfmiddlewaretoken": browser_client.cookies["csrftoken"].value,
        },
    )
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/done/"
    assert "Your password is changed" in browser_client.get(done["Location"]).content.decode()
    assert User.objects.get(username="mia").check_password(NEW_PASSWORD)

    again = Client().get(link, follow=True)  # a used link
    assert again.status_code == 200
    assert "This link no longer works" in again.content.decode()


def test_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(browser_client, mia):
    response = csrf_post(browser_client, "/accounts/password/reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    assert mail.outbox == []


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password/reset/MQ/not-a-token/",
        "/accounts/password/reset/!!!/abc-def/",
        "/accounts/password/reset/ZZZZZZZZZZZZ/set-password/",
        "/accounts/password/reset/OTk5OTk5/c3w9zz-0123456789abcdef0123456789abcdef/",
    ],
)
def test_a_bad_reset_link_gives_a_clear_page(client, mia, path):
    response = client.get(path, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "This link no longer works" in html and 'href="/accounts/password/reset/"' in html


def test_a_mismatched_new_password_is_shown_on_the_form(browser_client, mia):
    csrf_post(browser_client, "/accounts/password/reset/", {"email": "mia@example.org"})
    form_page = browser_client.get(reset_link(mail.outbox[0]), follow=True)
    response = browser_client.post(
        form_page.redirect_chain[-1][0],
        {
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD + "x",
            "csrfmiddlewaretoken": browser_client.cookies["csrftoken"].value,
        },
    )
    assert response.status_code == 200 and "didn’t match" in response.content.decode()
    assert User.objects.get(username="mia").check_password(PASSWORD)


# The email address in settings


def settings_form(**overrides) -> dict:
    return {"email": "", "timezone": "UTC", "reminder_hour": "18", "daily_goal_minutes": "5"} | {
        "daily_review_cap": "50",
        **overrides,
    }


def test_settings_shows_and_saves_the_address(browser_client, make_user):
    make_user("mia", password=PASSWORD)
    logged_in(browser_client)
    page = browser_client.get("/accounts/settings/").content.decode()
    assert 'name="email"' in page and 'autocomplete="email"' in page
    response = csrf_post(browser_client, "/accounts/settings/", settings_form(email="  Mia@Example.ORG "))
    assert response.status_code == 302
    user = User.objects.get(username="mia")
    assert user.email == "Mia@example.org"  # the domain is case-insensitive; the local part is kept
    assert not user.profile.email_reminders  # adding an address turns nothing on by itself
    followed = browser_client.get("/accounts/settings/").content.decode()
    assert "Reminders stay off until you tick" in followed and 'value="Mia@example.org"' in followed


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not-an-address", "valid email"),
        ("a" * 250 + "@example.org", "at most 254"),
        ("mia@EXAMPLE.org", "Another account already uses that address."),
    ],
)
def test_a_bad_or_taken_address_is_refused_on_the_form(browser_client, mia, make_user, email, message):
    make_user("zoe", password=PASSWORD)
    logged_in(browser_client, "zoe")
    response = csrf_post(browser_client, "/accounts/settings/", settings_form(email=email))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.get(username="zoe").email == ""


def test_own_address_in_another_case_is_not_taken(mia):
    services.user_email_update(user=mia, email="mia@EXAMPLE.org")
    assert User.objects.get(pk=mia.pk).email == "mia@example.org"


def test_reminders_without_an_address_give_a_clear_message(browser_client, make_user):
    make_user("mia", password=PASSWORD)
    logged_in(browser_client)
    response = csrf_post(browser_client, "/accounts/settings/", settings_form(email_reminders="on"))
    assert response.status_code == 200
    assert services.REMINDERS_NEED_EMAIL in response.content.decode()
    assert not User.objects.get(username="mia").profile.email_reminders


def test_reminders_and_address_together_turn_reminders_on(browser_client, make_user):
    make_user("mia", password=PASSWORD)
    logged_in(browser_client)
    response = csrf_post(
        browser_client, "/accounts/settings/", settings_form(email="mia@example.org", email_reminders="on")
    )
    assert response.status_code == 302
    assert User.objects.get(username="mia").profile.email_reminders


def test_clearing_the_address_turns_reminders_off(browser_client, mia):
    services.profile_update(user=mia, email_reminders=True)
    logged_in(browser_client)
    response = csrf_post(browser_client, "/accounts/settings/", settings_form(email=""))
    assert response.status_code == 302
    user = User.objects.get(username="mia")
    assert user.email == "" and not user.profile.email_reminders


# Reminders default


def test_signup_without_an_address_has_reminders_off(make_user):
    assert not make_user("mia").profile.email_reminders


def test_signup_with_an_address_has_reminders_on_as_its_form_says():
    user = services.user_register(username="mia", password=PASSWORD, email="mia@example.org")
    assert user.profile.email_reminders
    with pytest.raises(Exception, match="Another account already uses that address"):
        services.user_register(username="zoe", password=PASSWORD, email="MIA@example.org")


def test_signup_form_says_what_the_address_is_for(client):
    assert "we email you a reminder" in client.get("/accounts/signup/").content.decode()


def test_api_refuses_reminders_without_an_address_with_a_400(make_user):
    api = api_client_for(make_user("mia"))
    response = api.patch("/api/me/", {"email_reminders": True}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["email_reminders"] == [services.REMINDERS_NEED_EMAIL]


def test_the_migration_turns_off_reminders_that_have_no_address(make_user, mia):
    LearnerProfile.objects.update(email_reminders=True)
    no_address = make_user("zoe")
    LearnerProfile.objects.filter(user=no_address).update(email_reminders=True)
    migration = importlib.import_module("learnpath.migrations.0002_email_reminders_need_an_address")
    migration.reminders_off_without_address(django_apps, None)
    assert LearnerProfile.objects.get(user=mia).email_reminders
    assert not LearnerProfile.objects.get(user=no_address).email_reminders


@override_settings(PASSWORD_RESET_REQUEST_LIMIT=2)
def test_reset_requests_cannot_flood_an_inbox(browser_client, mia):
    for _ in range(4):
        response = csrf_post(browser_client, "/accounts/password/reset/", {"email": "mia@example.org"})
        assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 2
