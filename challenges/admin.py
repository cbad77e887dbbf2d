from django.contrib import admin

from challenges.models import Challenge, HintReveal, Submission


@admin.register(Challenge)
class ChallengeAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "drop", "position", "is_active", "updated_at"]
    list_filter = ["is_active", "drop__path"]
    search_fields = ["slug", "title", "statement_markdown"]
    ordering = ["drop__position", "position", "slug"]
    raw_id_fields = ["drop"]
    readonly_fields = ["statement_html", "source_file", "updated_at"]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["pk", "user", "challenge", "attempt", "status", "score", "device", "worker_host", "created_at"]
    list_filter = ["status", "device", "challenge"]
    search_fields = ["user__username", "challenge__slug", "worker_host", "task_id", "feedback"]
    ordering = ["-created_at"]
    date_hierarchy = "created_at"
    raw_id_fields = ["user", "challenge"]
    readonly_fields = ["created_at", "started_at", "finished_at", "task_id", "grading_runs"]


@admin.register(HintReveal)
class HintRevealAdmin(admin.ModelAdmin):
    list_display = ["user", "challenge", "index", "revealed_at"]
    list_filter = ["challenge"]
    search_fields = ["user__username", "challenge__slug"]
    ordering = ["-revealed_at"]
    raw_id_fields = ["user", "challenge"]
