"""Drops (one day's lesson) and their recall cards; the learner's daily-loop state lives beside them."""

from __future__ import annotations

from django.db import models

from learnpath.models import Path, Phase


class Drop(models.Model):
    path = models.ForeignKey(Path, on_delete=models.CASCADE, related_name="drops")
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="drops")
    slug = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    position = models.PositiveIntegerField(help_text="Order within the whole path, starting at 1.")
    estimated_minutes = models.PositiveSmallIntegerField(default=6)
    body_markdown = models.TextField(blank=True)
    body_html = models.TextField(blank=True, help_text="Sanitized HTML rendered from the Markdown on load.")
    sections = models.JSONField(default=list, blank=True, help_text="[{'id', 'title'}] for each ## heading.")
    source_file = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["path", "position"]
        constraints = [
            models.UniqueConstraint(fields=["path", "slug"], name="drop_unique_slug_per_path"),
            models.UniqueConstraint(fields=["path", "position"], name="drop_unique_position_per_path"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class RecallCard(models.Model):
    class Kind(models.TextChoices):
        RECALL = "recall", "Free recall"
        CHOICE = "choice", "Multiple choice"
        NUMERIC = "numeric", "Numeric"

    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="cards")
    key = models.SlugField(max_length=80, help_text="Stable within the drop; review history attaches to it.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    prompt = models.TextField()
    answer = models.TextField(help_text="The answer text; for multiple choice, the right choice.")
    choices = models.JSONField(default=list, blank=True)
    numeric_answer = models.FloatField(null=True, blank=True)
    tolerance = models.FloatField(null=True, blank=True)
    explanation = models.TextField(blank=True)
    position = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True, help_text="Cards removed from the content file are retired.")

    class Meta:
        ordering = ["drop", "position"]
        constraints = [models.UniqueConstraint(fields=["drop", "key"], name="card_unique_key_per_drop")]

    def __str__(self) -> str:
        return f"{self.drop.slug}/{self.key}"


class DropProgress(models.Model):
    """One learner's access to one drop: when it unlocks (or unlocked) and when it was completed."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="drop_progress")
    drop = models.ForeignKey(Drop, on_delete=models.CASCADE, related_name="progress")
    unlocked_at = models.DateTimeField(help_text="Available from this moment on; never moved later once reached.")
    completed_at = models.DateTimeField(null=True, blank=True)
    seconds_spent = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["user", "drop__position"]
        verbose_name_plural = "drop progress"
        constraints = [models.UniqueConstraint(fields=["user", "drop"], name="progress_unique_user_drop")]

    def __str__(self) -> str:
        return f"{self.user} · {self.drop}"
