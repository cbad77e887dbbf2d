"""Certificates of completion: one per learner and path, issued when the path is finished, verifiable by anyone."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse

from learnpath.models import Path

NAME_MAX_LENGTH = 100


def new_public_id() -> str:
    """22 URL-safe characters from 128 random bits: the verification link cannot be guessed or enumerated."""
    return secrets.token_urlsafe(16)


class Certificate(models.Model):
    """Issued once, with a snapshot of what was verified; later regrades or content changes do not alter it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certificates")
    path = models.ForeignKey(Path, on_delete=models.PROTECT, related_name="certificates")
    public_id = models.CharField(
        max_length=43, unique=True, default=new_public_id, editable=False, help_text="The id in the verification URL."
    )
    name = models.CharField(
        max_length=NAME_MAX_LENGTH,
        blank=True,
        help_text="The name printed on the certificate, chosen once by the learner; empty until they choose.",
    )
    name_chosen_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField()
    drops_completed = models.PositiveSmallIntegerField(help_text="Drops completed when it was issued.")
    drops_total = models.PositiveSmallIntegerField(help_text="Drops the path had when it was issued.")
    challenges = models.JSONField(
        default=list,
        blank=True,
        help_text="[{'slug', 'title', 'best_score', 'passed_at'}] for each challenge passed, as verified at issue.",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True, help_text="Why it was revoked (staff only).")

    class Meta:
        ordering = ["-issued_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "path"], name="certificate_unique_user_path")]

    def __str__(self) -> str:
        return f"{self.path} · {self.user} ({self.public_id})"

    def get_absolute_url(self) -> str:
        return reverse("certificate-verify", kwargs={"public_id": self.public_id})

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None

    @property
    def name_chosen(self) -> bool:
        return self.name_chosen_at is not None
