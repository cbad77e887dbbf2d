"""`manage.py issuecertificates`: issue the certificates learners have already earned.

Certificates are issued the moment the last condition is met. This catches up learners who finished a path
before certificates existed, or while issuing failed (it is logged): it is idempotent, so running it again,
or while learners are active, issues nothing twice.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from certificates.models import Certificate
from certificates.services import certificate_issue
from learnpath.models import Enrollment


class Command(BaseCommand):
    help = "Issue every certificate already earned and not yet issued (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--path", default=None, help="only this path's slug")

    def handle(self, *args, path: str | None, **options):
        enrollments = Enrollment.objects.select_related("user", "path").order_by("pk")
        if path:
            enrollments = enrollments.filter(path__slug=path)
        already = set(Certificate.objects.values_list("user_id", "path_id"))
        new = 0
        for enrollment in enrollments.iterator():
            if (enrollment.user_id, enrollment.path_id) in already:
                continue
            certificate = certificate_issue(user=enrollment.user, path=enrollment.path)
            if certificate is not None:
                new += 1
                self.stdout.write(
                    f"issued {certificate.public_id}: {enrollment.path.slug} for user {enrollment.user_id}"
                )
        self.stdout.write(self.style.SUCCESS(f"{new} certificate{'s' if new != 1 else ''} issued"))
