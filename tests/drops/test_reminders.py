"""Reminder emails: once per local day at the reminder hour, only when something waits; signed unsubscribe."""

from __future__ import annotations

import pytest
from django.core import mail

from drops.models import Drop
from drops.reminders import unsubscribe_token, unsubscribe_url
from drops.services import drop_complete
from learnpath import services as learnpath_services
from learnpath.models import LearnerProfile
from tests.drops.conftest import build_path, enrol, utc
from workers.reminders import send_reminders


@pytest.fixture
def learner_at_18(make_user, db):
    path = build_path(drops=2)
    user = make_user("ravi", timezone="Asia/Kolkata")  # UTC+5:30: 18:00 local is 12:30 UTC
    learnpath_services.account_settings_update(user=user, email="ravi@example.org", email_reminders=True)
    enrol(user, path, utc(2026, 6, 1, 3))
    return user, path


def test_sent_once_at_the_local_reminder_hour(learner_at_18):
    assert send_reminders(utc(2026, 6, 1, 11, 30).isoformat()) == 0  # 17:00 local
    assert send_reminders(utc(2026, 6, 1, 12, 30).isoformat()) == 1  # 18:00 local
    assert send_reminders(utc(2026, 6, 1, 12, 45).isoformat()) == 0  # the same hour again
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "Today's drop is ready" in message.body and "Drop 1" in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_url(learner_at_18[0]) in message.body
    assert send_reminders(utc(2026, 6, 2, 12, 30).isoformat()) == 1  # the next local day


def test_nothing_waiting_means_no_email(learner_at_18):
    user, path = learner_at_18
    drop_complete(user=user, drop=Drop.objects.get(path=path, position=1), seconds_spent=60, now=utc(2026, 6, 1, 4))
    user.review_cards.update(due=utc(2026, 6, 20))
    assert send_reminders(utc(2026, 6, 1, 12, 30).isoformat()) == 0


def test_opted_out_or_no_email_gets_nothing(learner_at_18):
    user, _ = learner_at_18
    LearnerProfile.objects.filter(user=user).update(email_reminders=False)
    assert send_reminders(utc(2026, 6, 1, 12, 30).isoformat()) == 0


def test_one_click_unsubscribe(client, learner_at_18):
    user, _ = learner_at_18
    token = unsubscribe_token(user)
    assert client.get(f"/reminders/unsubscribe/{token}/").status_code == 200
    assert LearnerProfile.objects.get(user=user).email_reminders  # a GET (link scanners) changes nothing
    assert client.post(f"/reminders/unsubscribe/{token}/").status_code == 200  # no login, no CSRF token
    assert not LearnerProfile.objects.get(user=user).email_reminders


def test_forged_unsubscribe_token_is_refused(client, learner_at_18, make_user):
    user, _ = learner_at_18
    other = make_user("other")
    learnpath_services.account_settings_update(user=other, email="other@example.org", email_reminders=True)
    token = unsubscribe_token(user)
    forged = token.replace(token.split(":")[0], unsubscribe_token(other).split(":")[0])
    assert client.post(f"/reminders/unsubscribe/{forged}/").status_code == 400
    assert client.post("/reminders/unsubscribe/not-a-token/").status_code == 400
    assert LearnerProfile.objects.get(user=user).email_reminders
    assert LearnerProfile.objects.get(user=other).email_reminders


def test_daylight_saving_keeps_the_local_hour(make_user, db):
    path = build_path(drops=2)
    user = make_user("nina", timezone="Europe/Berlin")
    learnpath_services.account_settings_update(user=user, email="nina@example.org", email_reminders=True)
    enrol(user, path, utc(2026, 3, 27, 3))
    assert send_reminders(utc(2026, 3, 28, 17).isoformat()) == 1  # 18:00 CET
    assert send_reminders(utc(2026, 3, 29, 17).isoformat()) == 0  # 19:00 CEST
    assert send_reminders(utc(2026, 3, 29, 16).isoformat()) == 1  # 18:00 CEST
