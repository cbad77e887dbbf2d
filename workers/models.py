"""What the workers tell the rest of the platform about themselves."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """One Celery worker's last sign of life: written by the worker every few seconds (``workers.heartbeat``).

    Readiness (``/api/ready/``) needs a grading worker seen within the last minute; the reaper takes a
    worker that stopped beating (or started again) to have lost the gradings it was running.
    """

    name = models.CharField(max_length=200, unique=True, help_text="The worker's node name, e.g. gpu@host.")
    queues = models.JSONField(default=list, help_text="The queues it consumes.")
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(help_text="When this run of the worker started.")
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["last_seen_at"], name="heartbeat_last_seen")]

    def __str__(self) -> str:
        return f"{self.name} (seen {self.last_seen_at:%Y-%m-%d %H:%M:%S})"
