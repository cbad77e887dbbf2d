"""The hourly reminder task (scheduled by beat); the work is in drops.reminders."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone


@shared_task(name="workers.send_reminders", ignore_result=True)
def send_reminders(now_iso: str | None = None) -> int:
    from drops.reminders import reminders_send

    now = datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    return reminders_send(now=now)
