"""The path spine: a Path has ordered Phases (which hold the drops) and FAQ entries; learners enrol."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from learnpath.validators import bounds


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not an IANA timezone name such as 'Europe/Berlin'.")


def available_timezones() -> set[str]:
    return zoneinfo.available_timezones()


# The desired retention a learner may choose: below 70% reviews come so late that much is relearned; above
# 97% the intervals shrink so fast that the workload explodes for little gain.
RETENTION_MIN = 0.70
RETENTION_MAX = 0.97
RETENTION_MESSAGE = "Choose a desired retention between 70% and 97% (0.70 to 0.97)."
# What a learner may set, and what they are told otherwise (the settings page and the API alike).
REMINDER_HOUR_MESSAGE = "Choose a reminder hour between 0 and 23 (your local time, 18 is 6 pm)."
DAILY_GOAL_MIN, DAILY_GOAL_MAX = 1, 120
DAILY_GOAL_MESSAGE = f"Choose a daily goal between {DAILY_GOAL_MIN} and {DAILY_GOAL_MAX} minutes."
REVIEW_CAP_MIN, REVIEW_CAP_MAX = 1, 500
REVIEW_CAP_MESSAGE = f"Choose a daily review limit between {REVIEW_CAP_MIN} and {REVIEW_CAP_MAX} cards."
READ_AHEAD_MAX = 3
READ_AHEAD_MESSAGE = f"Choose how many drops you may read ahead a day: a whole number from 0 (off) to {READ_AHEAD_MAX}."


def validate_retention(value: float) -> None:
    if not (RETENTION_MIN <= value <= RETENTION_MAX):
        raise ValidationError(RETENTION_MESSAGE, code="retention_range")


class Path(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    source_file = models.CharField(max_length=300, blank=True, help_text="Content file this path was loaded from.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Phase(models.Model):
    path = models.ForeignKey(Path, on_delete=models.CASCADE, related_name="phases")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["path", "position"]
        constraints = [models.UniqueConstraint(fields=["path", "slug"], name="phase_unique_slug_per_path")]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class FAQEntry(models.Model):
    path = models.ForeignKey(Path, on_delete=models.CASCADE, related_name="faq_entries")
    slug = models.SlugField(max_length=80)
    question = models.CharField(max_length=300)
    answer_markdown = models.TextField()
    answer_html = models.TextField(blank=True)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["path", "position"]
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"
        constraints = [models.UniqueConstraint(fields=["path", "slug"], name="faq_unique_slug_per_path")]

    def __str__(self) -> str:
        return self.question


class Enrollment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    path = models.ForeignKey(Path, on_delete=models.CASCADE, related_name="enrollments")
    enrolled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-enrolled_at"]
        constraints = [models.UniqueConstraint(fields=["user", "path"], name="enrollment_unique_user_path")]

    def __str__(self) -> str:
        return f"{self.user} in {self.path}"


class LearnerProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    reminder_hour = models.PositiveSmallIntegerField(
        default=18,
        validators=bounds(0, 23, REMINDER_HOUR_MESSAGE),
        help_text="Local hour (0–23) at which a reminder is sent when something is waiting.",
    )
    # Off until the learner has an address and asks for them (sign-up with an address, or Settings).
    email_reminders = models.BooleanField(
        default=False, help_text="Email a reminder at the reminder hour when something waits (needs an address)."
    )
    daily_goal_minutes = models.PositiveSmallIntegerField(
        default=5,
        validators=bounds(DAILY_GOAL_MIN, DAILY_GOAL_MAX, DAILY_GOAL_MESSAGE),
        help_text=f"Minutes a day you mean to spend, {DAILY_GOAL_MIN} to {DAILY_GOAL_MAX}.",
    )
    daily_review_cap = models.PositiveSmallIntegerField(
        default=50,
        validators=bounds(REVIEW_CAP_MIN, REVIEW_CAP_MAX, REVIEW_CAP_MESSAGE),
        help_text=f"The most reviews shown in a day, {REVIEW_CAP_MIN} to {REVIEW_CAP_MAX}; the rest wait.",
    )
    desired_retention = models.FloatField(
        null=True,
        blank=True,
        validators=[validate_retention],
        help_text="Probability of recall aimed at when a card comes due (0.70–0.97); empty: the platform default.",
    )
    read_ahead_per_day = models.PositiveSmallIntegerField(
        "drops to read ahead per day",
        default=1,
        validators=bounds(0, READ_AHEAD_MAX, READ_AHEAD_MESSAGE),
        help_text=(
            f"Once today's drop is done, how many more drops you may read ahead today (0–{READ_AHEAD_MAX}; 0 turns "
            "reading ahead off). A drop read ahead does not move the rest of the schedule earlier."
        ),
    )

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    @property
    def retention(self) -> float:
        """The desired retention the scheduler uses for this learner: theirs, or the platform default."""
        if self.desired_retention is not None:
            return self.desired_retention
        return settings.FSRS_DESIRED_RETENTION

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class CacheInvalidation(models.Model):
    """A cache invalidation that could not reach the cache (``learnpath.cache``): applied once it is back.

    A version bump (a learner's or the content's) or the deletion of an entry that must not outlive its row
    (a signed-in user, a session that was logged out). Written in the same transaction as the change it
    invalidates for, where there is one, so the change and the promise to invalidate commit together; deleted
    once the invalidation has reached the cache.
    """

    class Action(models.TextChoices):
        BUMP = "bump", "Bump the version"
        DELETE = "delete", "Delete the entry"

    key = models.CharField(max_length=250)
    action = models.CharField(max_length=6, choices=Action.choices, default=Action.BUMP)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.key}"


class IdempotencyRecord(models.Model):
    """The first response to a write sent with an ``Idempotency-Key``: a retry with the same key gets it again.

    ``fingerprint`` is a digest of the method, the path and the request's body: the same key with another
    request is refused (422). Records older than ``IDEMPOTENCY_TTL_SECONDS`` no longer count and are pruned.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=500, blank=True, help_text="The redirect a form post answered with.")
    body = models.BinaryField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
