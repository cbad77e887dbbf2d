from django.contrib import admin

from drops.models import Drop, DropProgress, RecallCard
from drops.selectors import drop_link_resolver
from learnpath.content.render import render_markdown, sections_of


class RecallCardInline(admin.StackedInline):
    model = RecallCard
    extra = 0
    ordering = ["position"]
    fields = [
        "position",
        "key",
        "kind",
        "prompt",
        "answer",
        "choices",
        "numeric_answer",
        "tolerance",
        "explanation",
        "is_active",
    ]


@admin.register(Drop)
class DropAdmin(admin.ModelAdmin):
    list_display = ["position", "title", "path", "phase", "estimated_minutes"]
    list_display_links = ["title"]
    list_filter = ["path", "phase"]
    search_fields = ["title", "slug", "summary", "body_markdown"]
    ordering = ["path", "position"]
    readonly_fields = ["source_file"]
    exclude = ["body_html", "sections"]
    inlines = [RecallCardInline]

    def save_model(self, request, obj, form, change):
        obj.body_html = render_markdown(obj.body_markdown, drop_link_resolver(path_id=obj.path_id))
        obj.sections = sections_of(obj.body_html)
        super().save_model(request, obj, form, change)


@admin.register(RecallCard)
class RecallCardAdmin(admin.ModelAdmin):
    list_display = ["key", "drop", "kind", "is_active"]
    list_filter = ["kind", "is_active", "drop__path"]
    search_fields = ["key", "prompt", "answer"]
    ordering = ["drop__position", "position"]


@admin.register(DropProgress)
class DropProgressAdmin(admin.ModelAdmin):
    list_display = ["user", "drop", "unlocked_at", "completed_at", "seconds_spent"]
    list_filter = ["drop__path"]
    search_fields = ["user__username", "drop__title"]
    ordering = ["user__username", "drop__position"]
