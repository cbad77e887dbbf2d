"""Code challenges, learners' submissions to them, and the hints each learner has revealed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from drops.models import Drop


class Challenge(models.Model):
    """One challenge, loaded from ``content/challenges/<slug>/``; its ``kind`` (challenges.kinds) grades it."""

    drop = models.ForeignKey(
        Drop,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="challenges",
        help_text="The drop that introduces this challenge; its page links here.",
    )
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    statement_markdown = models.TextField()
    statement_html = models.TextField(blank=True, help_text="Sanitized HTML rendered from the Markdown on load.")
    starter_code = models.TextField()
    solution_code = models.TextField(help_text="Reference solution, shown to a learner only after they pass.")
    kind = models.CharField(max_length=80, help_text="The challenge kind (challenges.kinds) that grades it.")
    options = models.JSONField(default=dict, blank=True, help_text="The kind's options from challenge.yaml.")
    entrypoint = models.CharField(max_length=80, help_text="The function the learner defines and the grader calls.")
    hints = models.JSONField(default=list, blank=True, help_text="Ordered hints, revealed one at a time.")
    limits = models.JSONField(
        default=dict, blank=True, help_text="Sandbox limits overriding the defaults (cpu_seconds, wall_seconds, ...)."
    )
    position = models.PositiveIntegerField(default=1, help_text="Order among the challenges of its drop.")
    is_active = models.BooleanField(default=True, help_text="Challenges removed from the content files are retired.")
    source_file = models.CharField(max_length=300, blank=True)
    file_digest = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of challenge.yaml; part of the grader version."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["drop__position", "position", "slug"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("challenge", kwargs={"slug": self.slug})

    def grading_target(self):
        """What the grader needs (kind, entry point, limits, options, grader version); imports no torch."""
        from challenges.kinds import grader_version
        from challenges.kinds.grader import GradingTarget
        from challenges.limits import sandbox_limits

        return GradingTarget(
            slug=self.slug,
            kind=self.kind,
            entrypoint=self.entrypoint,
            limits=sandbox_limits(self.kind, self.limits),
            options=dict(self.options or {}),
            grader_version=grader_version(self.kind, self.file_digest),
        )


class Submission(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Error"
        TIMEOUT = "timeout", "Timed out"

    class Phase(models.TextChoices):
        """Where grading is, as a learner sees it: derived from ``status`` and ``checking_at`` (see ``phase``)."""

        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        CHECKING = "checking", "Checking"
        DONE = "done", "Done"

    FINAL_STATUSES = (Status.PASSED, Status.FAILED, Status.ERROR, Status.TIMEOUT)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="submissions")
    attempt = models.PositiveIntegerField(help_text="1 for the learner's first submission to this challenge.")
    code = models.TextField()
    client_network = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The submitting client's network (IPv4 /24, IPv6 /64); empty if unknown.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    score = models.FloatField(null=True, blank=True, help_text="Fraction of checks passed, 0 to 1.")
    checks = models.JSONField(default=list, blank=True, help_text="[{'name', 'passed', 'message'}] per check.")
    feedback = models.TextField(blank=True)
    mistakes = models.JSONField(default=list, blank=True, help_text="Known mistakes the grader recognised.")
    details = models.JSONField(default=dict, blank=True, help_text="The kind's own verdict details (with 'kind').")
    grader_version = models.CharField(
        max_length=32, blank=True, help_text="Hash of the kind's code and the challenge file that graded it."
    )
    previous_verdicts = models.JSONField(
        default=list, blank=True, help_text="Verdicts replaced by a regrade, oldest first; never dropped."
    )
    regraded_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    worker_host = models.CharField(max_length=200, blank=True)
    device = models.CharField(max_length=20, blank=True)
    task_id = models.CharField(
        max_length=64, blank=True, help_text="The id of the task message last sent for it (the one grading it now)."
    )
    dispatched_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its task message last reached the broker; empty while one waits to be sent (broker down).",
    )
    grading_runs = models.PositiveSmallIntegerField(
        default=0, help_text="How many times a worker started grading it (more than one after a lost worker)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(
        default=timezone.now,
        help_text="When it last joined the grading queue (created, or requeued): its place in the queue.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    checking_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When this grading run's sandbox returned and the trusted checks began; null before.",
    )
    deadline_at = models.DateTimeField(
        null=True, blank=True, help_text="While running: past this the worker is presumed lost (the reaper acts)."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "challenge", "attempt"], name="submission_unique_attempt"),
        ]
        indexes = [
            models.Index(fields=["user", "challenge", "-created_at"], name="submission_history"),
            models.Index(fields=["status", "started_at"], name="submission_status_started"),
            models.Index(fields=["status", "deadline_at"], name="submission_status_deadline"),
            # A queued submission's position is one COUNT over this; the wait estimate reads recent gradings.
            models.Index(fields=["status", "queued_at"], name="submission_status_queued"),
            models.Index(fields=["finished_at"], name="submission_finished"),
            models.Index(fields=["challenge", "finished_at"], name="submission_challenge_finished"),
            # The fair order asks when each waiting network was last served (challenges.scheduler.last_served).
            models.Index(fields=["client_network", "started_at"], name="submission_network_started"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.challenge.slug} #{self.attempt} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @property
    def phase(self) -> str:
        """queued → running → checking (the sandbox has returned, the trusted side compares) → done."""
        if self.is_final:
            return self.Phase.DONE
        if self.status == self.Status.RUNNING:
            return self.Phase.CHECKING if self.checking_at else self.Phase.RUNNING
        return self.Phase.QUEUED


class HintReveal(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hint_reveals")
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="hint_reveals")
    index = models.PositiveSmallIntegerField(help_text="0 for the challenge's first hint.")
    revealed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "challenge", "index"]
        constraints = [
            models.UniqueConstraint(fields=["user", "challenge", "index"], name="hint_reveal_unique_index"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.challenge.slug} hint {self.index + 1}"


class ExampleRun(models.Model):
    """One "Run on examples": the learner's code on the kind's visible examples. Not an attempt: it has no
    verdict, no score and no attempt number, and only the learner's few latest runs per challenge are kept."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        RAN = "ran", "Ran"  # the function was called on every example; each row says how it went
        FAILED = "failed", "Did not run"  # code that does not load, a crash, a memory or output limit
        TIMEOUT = "timeout", "Timed out"
        ERROR = "error", "Error"  # the grader could not run it (infrastructure), not the learner's fault

    FINAL_STATUSES = (Status.RAN, Status.FAILED, Status.TIMEOUT, Status.ERROR)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="example_runs")
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="example_runs")
    code = models.TextField()
    client_network = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The submitting client's network (IPv4 /24, IPv6 /64); empty if unknown.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True, help_text="Why the code did not run, in the learner's terms.")
    examples = models.JSONField(default=list, blank=True, help_text="Per example: inputs, expected, got, error.")
    diagnosis = models.JSONField(
        default=dict,
        blank=True,
        help_text="What grading would say of the examples' values: a headline and the mistakes it names.",
    )
    stdout = models.TextField(blank=True)
    stderr = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True, help_text="The id of the task message last sent for it.")
    worker_host = models.CharField(
        max_length=200, blank=True, default="", help_text="The worker running it now or last."
    )
    dispatched_at = models.DateTimeField(
        null=True, blank=True, help_text="When its task message last reached the broker; empty while one waits."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "challenge", "-created_at"], name="example_run_latest"),
            models.Index(fields=["status", "created_at"], name="example_run_status_created"),
            models.Index(fields=["client_network", "started_at"], name="example_run_network_started"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.challenge.slug} examples ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES
