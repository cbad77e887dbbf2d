from django.contrib import admin

from challenges.models import Challenge, ExampleRun, HintReveal, Submission


@admin.register(Challenge)
class ChallengeAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "kind", "drop", "position", "is_active", "updated_at"]
    list_filter = ["is_active", "kind", "drop__path"]
    search_fields = ["slug", "title", "statement_markdown"]
    ordering = ["drop__position", "position", "slug"]
    raw_id_fields = ["drop"]
    # The kind and its options come from challenge.yaml, and with the file's digest make the grader version.
    readonly_fields = ["kind", "options", "statement_html", "source_file", "file_digest", "updated_at"]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["pk", "user", "challenge", "attempt", "status", "score", "device", "grader_version", "created_at"]
    list_filter = ["status", "device", "challenge", "grader_version"]
    search_fields = ["user__username", "challenge__slug", "worker_host", "task_id", "feedback"]
    ordering = ["-created_at"]
    date_hierarchy = "created_at"
    raw_id_fields = ["user", "challenge"]
    readonly_fields = [
        "created_at", "queued_at", "started_at", "checking_at", "deadline_at", "finished_at", "task_id",
        "grading_runs", "grader_version", "previous_verdicts", "regraded_at",
    ]  # fmt: skip


@admin.register(HintReveal)
class HintRevealAdmin(admin.ModelAdmin):
    list_display = ["user", "challenge", "index", "revealed_at"]
    list_filter = ["challenge"]
    search_fields = ["user__username", "challenge__slug"]
    ordering = ["-revealed_at"]
    raw_id_fields = ["user", "challenge"]


@admin.register(ExampleRun)
class ExampleRunAdmin(admin.ModelAdmin):
    """Runs on examples: not attempts; only each learner's latest few per challenge are kept."""

    list_display = ["pk", "user", "challenge", "status", "created_at", "finished_at"]
    list_filter = ["status", "challenge"]
    search_fields = ["user__username", "challenge__slug", "task_id"]
    ordering = ["-created_at"]
    raw_id_fields = ["user", "challenge"]
    readonly_fields = ["created_at", "started_at", "finished_at", "task_id"]
