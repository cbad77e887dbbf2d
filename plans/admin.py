from django.contrib import admin

from plans.models import DistillationPlan


@admin.register(DistillationPlan)
class DistillationPlanAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "mode", "regime", "completed_at", "updated_at"]
    list_filter = ["mode", "regime"]
    search_fields = ["title", "owner__username", "teacher_model", "candidate_student"]
    raw_id_fields = ["owner"]
    readonly_fields = ["completed_at", "created_at", "updated_at"]
    date_hierarchy = "updated_at"
