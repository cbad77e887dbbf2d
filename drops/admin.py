from django.contrib import admin
from django.db.models import Subquery
from django.utils.html import format_html, format_html_join

from drops.fsrs_fit import fsrs_fit_used_changed
from drops.models import Drop, DropProgress, FsrsFit, RecallCard
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


@admin.register(FsrsFit)
class FsrsFitAdmin(admin.ModelAdmin):
    """Fits come from the daily task or ``manage.py fit_fsrs``; an operator can only stop or resume using one."""

    list_display = [
        "fitted_at",
        "in_use",
        "accepted",
        "held_out_log_loss",
        "default_held_out_log_loss",
        "improvement_shown",
        "held_out_reviews",
        "train_reviews",
        "logs_total",
        "learners",
        "seconds",
    ]
    list_filter = ["accepted"]
    ordering = ["-fitted_at", "-pk"]
    fields = [
        "fitted_at",
        "accepted",
        "held_out_log_loss",
        "default_held_out_log_loss",
        "improvement_shown",
        "train_log_loss",
        "held_out_reviews",
        "held_out_logs",
        "train_reviews",
        "train_logs",
        "logs_used",
        "logs_total",
        "newest_log_id",
        "learners",
        "epochs",
        "seconds",
        "fsrs_version",
        "parameters_shown",
    ]
    readonly_fields = [name for name in fields if name != "accepted"]

    def get_queryset(self, request):
        newest = FsrsFit.objects.filter(accepted=True).order_by("-fitted_at", "-pk").values("pk")[:1]
        return super().get_queryset(request).annotate(in_use_id=Subquery(newest))

    def has_add_permission(self, request):
        return False

    @admin.display(boolean=True, description="in use")
    def in_use(self, fit: FsrsFit) -> bool:
        return getattr(fit, "in_use_id", None) == fit.pk

    @admin.display(description="better by")
    def improvement_shown(self, fit: FsrsFit) -> str:
        """Held-out log loss of the defaults minus the fit's: positive means the fit predicts recall better."""
        return f"{fit.improvement:+.4f}"

    @admin.display(description="parameters (fitted / default)")
    def parameters_shown(self, fit: FsrsFit):
        rows = format_html_join(
            "",
            "<tr><td>w{}</td><td>{}</td><td>{}</td></tr>",
            (
                (i, f"{fitted:.4f}", f"{default:.4f}" if default is not None else "")
                for i, (fitted, default) in enumerate(_padded(fit.parameters, fit.default_parameters))
            ),
        )
        return format_html("<table><tr><th></th><th>fitted</th><th>default</th></tr>{}</table>", rows)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        fsrs_fit_used_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        fsrs_fit_used_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        fsrs_fit_used_changed()


def _padded(fitted: list, defaults: list) -> list[tuple]:
    return [(value, defaults[i] if i < len(defaults) else None) for i, value in enumerate(fitted)]
