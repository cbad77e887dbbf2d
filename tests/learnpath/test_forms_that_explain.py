"""Forms that explain (issue 20): the shared Unicode rule, bounds said in words on the pages and in the API, the
username and password rules said up front, and the grouped timezone picker that works without JavaScript."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from learnpath.models import LearnerProfile, available_timezones
from learnpath.timezones import COMMON_ZONES, timezone_choices
from learnpath.validators import text_problem, validate_display_multiline_text, validate_display_text
from tests.learnpath.forms import SETTINGS_FORM

INT64_MAX = "9223372036854775807"
HUGE = 10**30

# --------------------------------------------------------------------------- the Unicode rule


@pytest.mark.parametrize(
    "text",
    [
        "Ada Lovelace",
        "👩\u200d💻",  # a zero-width joiner sequence
        "👨\u200d👩\u200d👧\u200d👦 family",
        "❤\ufe0f and ☺\ufe0e",  # variation selectors
        "👍🏽",  # a skin-tone modifier
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # a subdivision flag (tag characters)
        "Jose\u0301 Ngo\u0302\u0301",  # combining marks
        "नमस्ते",  # Devanagari with its vowel signs and virama
        "نرگس\u200cها",  # Persian with a zero-width non-joiner
        "שלום עולם",  # right-to-left text needs no control characters
        "co\u00adoperate",  # a soft hyphen
        "\u0600١٢٣",  # the Arabic number sign, a visible format character
    ],
)
def test_printable_unicode_is_accepted(text):
    assert text_problem(text) is None
    validate_display_text(text)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("abc\u202edef", "bidirectional control character (right-to-left override), U+202E at character 4"),
        ("\u202atitle", "(left-to-right embedding), U+202A at character 1"),
        ("x\u2066y\u2069", "(left-to-right isolate), U+2066 at character 2"),
        ("x\u200fy", "(right-to-left mark), U+200F"),
        ("bell\x07", "a control character, U+0007 at character 5, after “bell”"),
        ("nul\x00", "a control character, U+0000"),
        ("del\x7f", "a control character, U+007F"),
        ("two\nlines", "a line break or tab, U+000A"),
        ("zero\u200bwidth", "invisible formatting character (zero width space), U+200B"),
        ("\ufeffbom", "invisible formatting character (zero width no-break space), U+FEFF at character 1"),
        ("line\u2028sep", "invisible line separator, U+2028"),
        ("private\ue000", "a private-use character, U+E000"),
        ("non\ufffe", "a noncharacter, U+FFFE"),
    ],
)
def test_control_and_direction_characters_are_refused_by_name_and_position(text, named):
    problem = text_problem(text)
    assert problem is not None and named in problem, problem
    assert problem.startswith("Remove ")
    with pytest.raises(Exception, match="Remove"):
        validate_display_text(text)


def test_multiline_text_keeps_its_newlines_and_tabs_but_not_other_controls():
    validate_display_multiline_text("first line\r\n\tsecond 👩\u200d💻")
    assert "U+202E" in text_problem("notes\n\u202e", multiline=True)
    assert "U+0007" in text_problem("notes\n\x07", multiline=True)


# --------------------------------------------------------------------------- bounds in the API


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("daily_goal_minutes", HUGE, "Choose a daily goal between 1 and 120 minutes."),
        ("daily_goal_minutes", 0, "Choose a daily goal between 1 and 120 minutes."),
        ("daily_goal_minutes", 121, "Choose a daily goal between 1 and 120 minutes."),
        ("daily_review_cap", HUGE, "Choose a daily review limit between 1 and 500 cards."),
        ("daily_review_cap", -1, "Choose a daily review limit between 1 and 500 cards."),
        ("reminder_hour", 24, "Choose a reminder hour between 0 and 23 (your local time, 18 is 6 pm)."),
        ("reminder_hour", -HUGE, "Choose a reminder hour between 0 and 23 (your local time, 18 is 6 pm)."),
    ],
)
def test_the_profile_api_says_each_bound_in_words(api, learner, field, value, message):
    response = api.patch("/api/me/", {field: value}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][field] == [message]
    assert INT64_MAX not in response.content.decode()


PLAN_BOUNDS = [
    ("monthly_requests", "Enter a number of requests per month between 0 and 1,000,000,000,000."),
    ("inputs_count", "Enter a number of training inputs between 0 and 1,000,000,000."),
    ("teacher_outputs_n", "Enter a number of teacher outputs between 0 and 1,000,000,000."),
    ("teacher_latency_ms", "Enter the teacher's latency in milliseconds, between 0 and 3,600,000 (an hour)."),
    ("student_latency_ms", "Enter the student's latency in milliseconds, between 0 and 3,600,000 (an hour)."),
    ("pass_threshold_percent", "Enter a pass threshold between 0 and 200 (percent of the teacher's score)."),
    ("teacher_cost_per_request", "Enter a teacher cost per request between $0 and $99,999,999."),
    ("student_cost_per_request", "Enter a student cost per request between $0 and $99,999,999."),
    ("teacher_cost_per_output", "Enter a teacher cost per output between $0 and $99,999,999."),
    ("training_cost", "Enter a training cost between $0 and $99,999,999,999,999."),
]


@pytest.mark.parametrize(("field", "message"), PLAN_BOUNDS)
@pytest.mark.parametrize("value", [HUGE, -1])
def test_the_plan_api_says_each_bound_in_words(api, learner, field, message, value):
    response = api.post("/api/plans/", {"title": "Router", field: value}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][field] == [message]
    assert INT64_MAX not in response.content.decode()


def test_the_plan_api_refuses_a_title_with_a_direction_override_and_keeps_emoji(api, learner):
    refused = api.post("/api/plans/", {"title": "Router \u202eevil"}, format="json")
    assert refused.status_code == 400
    assert "right-to-left override), U+202E at character 8" in refused.json()["errors"]["title"][0]
    kept = api.post("/api/plans/", {"title": "Router 👩\u200d💻", "task": "line one\nline two"}, format="json")
    assert kept.status_code == 201, kept.content
    assert kept.json()["title"] == "Router 👩\u200d💻"


def test_the_schema_states_the_rules(db, anon_api):
    schema = anon_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    register = schema["components"]["schemas"]["RegisterInputRequest"]["properties"]
    assert "No spaces or emoji" in register["username"]["description"]
    profile = schema["components"]["schemas"]["PatchedProfileRequest"]["properties"]
    assert (profile["daily_goal_minutes"]["minimum"], profile["daily_goal_minutes"]["maximum"]) == (1, 120)


# --------------------------------------------------------------------------- bounds and text on the pages


@pytest.fixture
def page(learner):
    client = Client()
    client.force_login(learner)
    return client


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("daily_goal_minutes", str(HUGE), "Choose a daily goal between 1 and 120 minutes."),
        ("daily_goal_minutes", "0", "Choose a daily goal between 1 and 120 minutes."),
        ("daily_review_cap", "9999999999999999999999", "Choose a daily review limit between 1 and 500 cards."),
        ("reminder_hour", "-1", "Choose a reminder hour between 0 and 23"),
    ],
)
def test_the_settings_page_says_each_bound_in_words(page, learner, field, value, message):
    response = page.post("/accounts/settings/", {**SETTINGS_FORM, field: value})
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert INT64_MAX not in html and "Ensure this value" not in html
    assert LearnerProfile.objects.get(user=learner).daily_goal_minutes == 5


def test_the_settings_page_gives_the_browser_the_bounds(page):
    html = page.get("/accounts/settings/").content.decode()
    goal = re.search(r'<input[^>]*name="daily_goal_minutes"[^>]*>', html).group(0)
    assert 'min="1"' in goal and 'max="120"' in goal


@pytest.mark.parametrize(("field", "message"), PLAN_BOUNDS)
def test_the_plan_worksheet_says_each_bound_in_words(page, field, message):
    response = page.post("/plans/new/", {"title": "Router", field: str(HUGE)})
    assert response.status_code == 400
    html = response.content.decode().replace("&#x27;", "'")
    assert message in html
    assert INT64_MAX not in html and "Ensure " not in html


def test_the_plan_worksheet_refuses_a_direction_override(page):
    response = page.post("/plans/new/", {"title": "Router \u202eevil"})
    assert response.status_code == 400
    assert "U+202E at character 8" in response.content.decode()


# --------------------------------------------------------------------------- sign-up: rules up front


def signup_form(**fields) -> dict:
    return {"username": "ada", "email": "", "password": "an-unguessable-pass-42", "timezone": "UTC", **fields}


def test_signup_says_the_username_and_password_rules_up_front(db, client):
    html = client.get("/accounts/signup/").content.decode()
    assert "letters (of any alphabet), digits and the symbols @ . + - _" in html
    assert "No spaces or emoji" in html
    # Django's password validators, listed under the password field.
    assert "Your password must contain at least" in html
    assert "can’t be a commonly used password" in html or "can&#x27;t be a commonly used password" in html


def test_an_emoji_username_is_told_what_is_allowed(db, client):
    response = client.post("/accounts/signup/", signup_form(username="ada👩\u200d💻"))
    assert response.status_code == 200
    assert "Use only letters (of any alphabet), digits and the symbols @ . + - _ in a username" in (
        response.content.decode()
    )
    assert "Enter a valid value." not in response.content.decode()


def test_a_weak_password_is_said_beside_the_other_errors(db, client):
    response = client.post("/accounts/signup/", signup_form(username="bad name!", password="123", timezone="Mars/Base"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Use only letters" in html  # the username
    assert "This password is too short" in html and "This password is entirely numeric" in html
    assert "Select a valid choice" in html  # the timezone
    assert not User.objects.exists()


def test_the_password_change_page_lists_the_rules_and_says_a_weak_password(page):
    html = page.get("/accounts/password/").content.decode()
    assert "Your password must contain at least" in html
    response = page.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": "123", "new_password2": "123"},
    )
    html = response.content.decode()
    assert "Your old password was entered incorrectly" in html
    assert "This password is too short" in html


# --------------------------------------------------------------------------- the timezone picker


def test_timezones_are_grouped_common_first_and_each_is_an_iana_name():
    groups = timezone_choices()
    assert groups[0][0] == "Common" and [name for name, _ in groups[0][1]] == list(COMMON_ZONES)
    assert [label for label, _ in groups[1:4]] == ["Africa", "America", "Antarctica"]
    names = {name for _, options in groups for name, _ in options}
    assert names == available_timezones()


def test_the_timezone_picker_works_without_javascript(db, client):
    html = client.get("/accounts/signup/").content.decode()
    select = re.search(r'<select name="timezone".*?</select>', html, re.S).group(0)
    assert '<optgroup label="Common">' in select and '<optgroup label="Europe">' in select
    assert '<option value="Asia/Kolkata">Kolkata (Asia/Kolkata)</option>' in select
    # The search box is shown by its script; without it the grouped list is all there is, and it posts a name.
    assert re.search(r'<input type="search"[^>]*data-tz-filter[^>]*hidden>', html)
    response = client.post("/accounts/signup/", signup_form(timezone="Asia/Kolkata"))
    assert response.status_code == 302
    assert LearnerProfile.objects.get(user__username="ada").timezone == "Asia/Kolkata"


def test_the_server_still_checks_the_timezone(page, learner):
    response = page.post("/accounts/settings/", {**SETTINGS_FORM, "timezone": "Not/A_Zone"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert LearnerProfile.objects.get(user=learner).timezone == "UTC"
