from django.contrib import admin

from learnpath.models import Enrollment, FAQEntry, LearnerProfile, Path, Phase


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0
    ordering = ["position"]


class FAQInline(admin.StackedInline):
    model = FAQEntry
    extra = 0
    ordering = ["position"]
    fields = ["position", "slug", "question", "answer_markdown"]


@admin.register(Path)
class PathAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "updated_at"]
    search_fields = ["title", "slug", "summary"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [PhaseInline, FAQInline]


@admin.register(Phase)
class PhaseAdmin(admin.ModelAdmin):
    list_display = ["title", "path", "position"]
    list_filter = ["path"]
    search_fields = ["title", "slug"]
    ordering = ["path", "position"]


@admin.register(FAQEntry)
class FAQEntryAdmin(admin.ModelAdmin):
    list_display = ["question", "path", "position"]
    list_filter = ["path"]
    search_fields = ["question", "answer_markdown"]
    ordering = ["path", "position"]

    def save_model(self, request, obj, form, change):
        from learnpath.content.render import render_markdown

        obj.answer_html = render_markdown(obj.answer_markdown)
        super().save_model(request, obj, form, change)


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["user", "path", "enrolled_at"]
    list_filter = ["path"]
    search_fields = ["user__username"]
    ordering = ["-enrolled_at"]


@admin.register(LearnerProfile)
class LearnerProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "timezone", "reminder_hour", "email_reminders"]
    search_fields = ["user__username", "timezone"]
    ordering = ["user__username"]
