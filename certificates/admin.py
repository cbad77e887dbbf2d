from django.contrib import admin, messages
from django.utils import timezone

from certificates import services
from certificates.models import Certificate


class RevokedFilter(admin.SimpleListFilter):
    title = "validity"
    parameter_name = "validity"

    def lookups(self, request, model_admin):
        return [("valid", "Valid"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "valid":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ["public_id", "user", "path", "name", "issued_at", "revoked_at"]
    list_filter = [RevokedFilter, "path"]
    search_fields = ["public_id", "user__username", "user__email", "name"]
    date_hierarchy = "issued_at"
    list_select_related = ["user", "path"]
    readonly_fields = [
        "public_id",
        "user",
        "path",
        "name",
        "name_chosen_at",
        "issued_at",
        "drops_completed",
        "drops_total",
        "challenges",
        "revoked_at",
    ]
    fields = [*readonly_fields, "revoked_reason"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # issued by the platform when a learner finishes a path, never by hand

    @admin.action(description="Revoke the selected certificates", permissions=["change"])
    def revoke(self, request, queryset):
        now = timezone.now()
        revoked = 0
        for certificate in queryset.filter(revoked_at__isnull=True):
            services.certificate_revoke(
                certificate=certificate, reason=f"Revoked by {request.user.get_username()}", now=now
            )
            revoked += 1
        self.message_user(request, f"Revoked {revoked} certificate{'s' if revoked != 1 else ''}.", messages.SUCCESS)
