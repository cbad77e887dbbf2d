"""Reminder emails: once per local day at the learner's reminder hour, when a drop or reviews are waiting."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from drops.days import local_date
from drops.models import ReminderSent
from learnpath.models import LearnerProfile

logger = logging.getLogger(__name__)
UNSUBSCRIBE_SALT = "drops.reminders.unsubscribe"


def unsubscribe_token(user: User) -> str:
    # No timestamp: the same learner always gets the same link, and it keeps working.
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"u": user.pk}, compress=True)


def unsubscribe_user_id(token: str) -> int | None:
    """The user id in a valid token, or None for a forged or damaged one. Tokens do not expire."""
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    user_id = data.get("u") if isinstance(data, dict) else None
    return user_id if isinstance(user_id, int) else None


def unsubscribe_url(user: User) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("unsubscribe", args=[unsubscribe_token(user)])


def reminders_send(*, now: datetime) -> int:
    """Email every learner whose local hour is their reminder hour and who has something waiting.

    Safe to run twice in the same hour: a (learner, local day) row is claimed before sending.
    """
    from drops.selectors import today_plan

    sent = 0
    profiles = LearnerProfile.objects.filter(email_reminders=True).exclude(user__email="").select_related("user")
    for profile in profiles.iterator(chunk_size=500):
        local = now.astimezone(profile.zone)
        if local.hour != profile.reminder_hour or not profile.user.is_active:
            continue
        plan = today_plan(user=profile.user, now=now, first_cards=0)
        if plan.new_drop is None and plan.counts.in_session == 0:
            continue
        day = local_date(now, profile.zone)
        try:
            with transaction.atomic():
                ReminderSent.objects.create(user=profile.user, local_date=day, sent_at=now)
                _send(profile.user, plan)
        except IntegrityError:
            continue  # already reminded today
        sent += 1
    return sent


def _send(user: User, plan) -> None:
    url = unsubscribe_url(user)
    context = {"user": user, "plan": plan, "site_url": settings.SITE_URL.rstrip("/"), "unsubscribe_url": url}
    subject = "Your drop for today is ready" if plan.new_drop else f"{plan.counts.in_session} cards to review today"
    message = EmailMessage(
        subject=f"learnpath: {subject}",
        body=render_to_string("drops/email/reminder.txt", context),
        to=[user.email],
        headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.send()
