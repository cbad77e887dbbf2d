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
    estimated_minutes = models.PositiveSmallIntegerField(default=6, help_text="The minutes the content file states.")
    reading_estimate = models.JSONField(
        default=dict,
        blank=True,
        help_text="The measured minutes (learnpath.content.reading_time): core text, demos and cards.",
    )
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


class ReviewCard(models.Model):
    """One recall card in one learner's deck, with its FSRS state (the fields of ``fsrs.Card``)."""

    class State(models.IntegerChoices):
        LEARNING = 1, "Learning"
        REVIEW = 2, "Review"
        RELEARNING = 3, "Relearning"

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="review_cards")
    card = models.ForeignKey(RecallCard, on_delete=models.CASCADE, related_name="review_cards")
    state = models.PositiveSmallIntegerField(choices=State.choices, default=State.LEARNING)
    step = models.PositiveSmallIntegerField(null=True, blank=True, default=0)
    stability = models.FloatField(null=True, blank=True)
    difficulty = models.FloatField(null=True, blank=True)
    due = models.DateTimeField()
    last_review = models.DateTimeField(null=True, blank=True)
    added_at = models.DateTimeField()
    suspended_at = models.DateTimeField(
        null=True, blank=True, help_text="Suspended by the learner: out of reviews and every count until resumed."
    )

    class Meta:
        ordering = ["due", "pk"]
        constraints = [models.UniqueConstraint(fields=["user", "card"], name="reviewcard_unique_user_card")]
        # The session's queries: one learner's Review cards due before midnight, learning steps due soon.
        indexes = [models.Index(fields=["user", "state", "due"], name="reviewcard_user_state_due")]

    def __str__(self) -> str:
        return f"{self.user} · {self.card}"


class ReviewLog(models.Model):
    """Every rating ever given (the fields of ``fsrs.ReviewLog``, plus what the platform checked)."""

    class Rating(models.IntegerChoices):
        AGAIN = 1, "Again"
        HARD = 2, "Hard"
        GOOD = 3, "Good"
        EASY = 4, "Easy"

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="review_logs")
    review_card = models.ForeignKey(ReviewCard, on_delete=models.CASCADE, related_name="logs")
    rating = models.PositiveSmallIntegerField(choices=Rating.choices)
    reviewed_at = models.DateTimeField()
    local_date = models.DateField(help_text="The learner's local calendar day of the review.")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    answer = models.CharField(max_length=500, blank=True)
    correct = models.BooleanField(null=True, blank=True, help_text="Null for self-rated free-recall cards.")
    state_before = models.PositiveSmallIntegerField(choices=ReviewCard.State.choices)
    due_after = models.DateTimeField()

    class Meta:
        ordering = ["reviewed_at", "pk"]
        indexes = [models.Index(fields=["user", "local_date"], name="reviewlog_user_day")]

    def __str__(self) -> str:
        return f"{self.review_card} rated {self.rating} at {self.reviewed_at:%Y-%m-%d %H:%M}"


class DailyActivity(models.Model):
    """What one learner did on one local calendar day: goal minutes and whether the day counts for the streak."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="daily_activity")
    date = models.DateField()
    seconds_reading = models.PositiveIntegerField(default=0)
    seconds_reviewing = models.PositiveIntegerField(default=0)
    drops_completed = models.PositiveSmallIntegerField(default=0)
    reviews_done = models.PositiveIntegerField(default=0)
    capped_reviews_done = models.PositiveIntegerField(
        default=0, help_text="Reviews of cards in the Review state: what the daily review cap counts."
    )
    counts_for_streak = models.BooleanField(default=False)

    class Meta:
        ordering = ["user", "date"]
        verbose_name_plural = "daily activity"
        constraints = [models.UniqueConstraint(fields=["user", "date"], name="activity_unique_user_date")]

    def __str__(self) -> str:
        return f"{self.user} on {self.date}"

    @property
    def seconds(self) -> int:
        return self.seconds_reading + self.seconds_reviewing


class Streak(models.Model):
    """A learner's streak; its row is also the per-learner lock every daily-loop write takes first."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="streak")
    current = models.PositiveIntegerField(default=0)
    longest = models.PositiveIntegerField(default=0)
    freezes = models.PositiveSmallIntegerField(default=0)
    freezes_used = models.PositiveIntegerField(default=0)
    last_day = models.DateField(null=True, blank=True, help_text="The last local day that counted.")
    zone_name = models.CharField(max_length=64, blank=True, help_text="The timezone last_day was counted in.")

    def __str__(self) -> str:
        return f"{self.user}: {self.current} days"


class ReminderSent(models.Model):
    """At most one reminder per learner and local day, even if the hourly task runs twice."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="reminders_sent")
    local_date = models.DateField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at"]
        constraints = [models.UniqueConstraint(fields=["user", "local_date"], name="reminder_unique_user_day")]

    def __str__(self) -> str:
        return f"{self.user} on {self.local_date}"


class FsrsFit(models.Model):
    """One fit of the FSRS parameters to the stored review logs, and how it did on reviews it never saw.

    Card histories are split into a training part and a held-out part; the fitted parameters are used by the
    scheduler (``accepted``) only if their log loss on the held-out reviews beats py-fsrs's defaults there.
    The newest accepted fit is the one in use.
    """

    fitted_at = models.DateTimeField()
    parameters = models.JSONField(help_text="The fitted FSRS parameters (py-fsrs's order).")
    default_parameters = models.JSONField(help_text="py-fsrs's default parameters they were compared with.")
    fsrs_version = models.CharField("py-fsrs version", max_length=20, help_text="The py-fsrs version that fitted them.")
    accepted = models.BooleanField(
        default=False, help_text="Used by the scheduler (the newest accepted fit is). Untick to stop using it."
    )
    logs_total = models.PositiveIntegerField("logs stored", help_text="Review logs stored when the fit ran.")
    logs_used = models.PositiveIntegerField(help_text="Logs of the card histories sampled for the fit.")
    newest_log_id = models.PositiveBigIntegerField(help_text="The newest review log the fit could see.")
    learners = models.PositiveIntegerField(help_text="Learners whose reviews were used.")
    train_logs = models.PositiveIntegerField("training logs")
    train_reviews = models.PositiveIntegerField(
        "training reviews", help_text="Training reviews scored: a day or more after the card's previous one."
    )
    held_out_logs = models.PositiveIntegerField("held-out logs")
    held_out_reviews = models.PositiveIntegerField(
        "held-out reviews", help_text="Held-out reviews scored: a day or more after the card's previous one."
    )
    held_out_log_loss = models.FloatField(
        "held-out log loss", help_text="Log loss of the fitted parameters on the held-out reviews (lower is better)."
    )
    default_held_out_log_loss = models.FloatField(
        "defaults' held-out log loss", help_text="Log loss of py-fsrs's default parameters on the same reviews."
    )
    train_log_loss = models.FloatField(
        "training log loss", help_text="Log loss of the fitted parameters on the reviews they were fitted to."
    )
    epochs = models.PositiveSmallIntegerField()
    seconds = models.FloatField(help_text="How long the fit took.")

    class Meta:
        ordering = ["-fitted_at", "-pk"]
        verbose_name = "FSRS fit"
        indexes = [models.Index(fields=["accepted", "-fitted_at"], name="fsrsfit_accepted_newest")]

    def __str__(self) -> str:
        verdict = "in use" if self.accepted else "not used"
        return f"FSRS fit of {self.fitted_at:%Y-%m-%d %H:%M} ({verdict})"

    @property
    def improvement(self) -> float:
        """How much lower the held-out log loss is than the defaults' (positive: the fit is better)."""
        return self.default_held_out_log_loss - self.held_out_log_loss
