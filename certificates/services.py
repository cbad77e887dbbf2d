"""The one place that changes certificates: issuing one when a path is finished, the printed name, revoking."""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from certificates.models import NAME_MAX_LENGTH, Certificate
from certificates.selectors import certificate_requirements
from learnpath.cache import learner_changed
from learnpath.models import Path
from learnpath.validators import text_problem

logger = logging.getLogger(__name__)

REVOKED_REASON_MAX_LENGTH = Certificate._meta.get_field("revoked_reason").max_length


class CertificateNameError(ValueError):
    """The name cannot be printed (or is already chosen); ``message`` says why, in the learner's terms."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def certificate_issue(*, user: User, path: Path, now: datetime | None = None) -> Certificate | None:
    """Issue ``user``'s certificate for ``path`` if every drop is completed and every challenge passed.

    Idempotent and safe under concurrency: the (user, path) unique constraint and ``get_or_create`` make two
    simultaneous calls end with one certificate. Returns the certificate (new or earlier), or None when the
    path is not finished yet.
    """
    now = now or timezone.now()
    with transaction.atomic():
        existing = Certificate.objects.filter(user=user, path=path).first()
        if existing is not None:
            return existing
        requirements = certificate_requirements(user=user, path=path)
        if not requirements.met:
            return None
        certificate, created = Certificate.objects.get_or_create(
            user=user,
            path=path,
            defaults={
                "issued_at": now,
                "drops_completed": requirements.drops_completed,
                "drops_total": requirements.drops_total,
                "challenges": [
                    {
                        "slug": challenge.slug,
                        "title": challenge.title,
                        "best_score": challenge.best_score,
                        "passed_at": challenge.passed_at.isoformat() if challenge.passed_at else None,
                    }
                    for challenge in requirements.challenges
                ],
            },
        )
    if created:
        learner_changed(user.pk)  # the panels on the path and progress pages are cached per learner
        logger.info("certificate %s issued to user %s for path %s", certificate.public_id, user.pk, path.slug)
    return certificate


def certificate_check_on_commit(*, user_id: int, path_id: int | None = None, challenge_id: int | None = None) -> None:
    """After the current transaction commits, issue the learner's certificate for the path if it is now earned.

    The path is ``path_id``, or that of the drop that introduces ``challenge_id``. Called where a drop is
    completed and where a passing verdict is stored. It runs after the commit, not
    inside the caller's transaction: when the last drop and the last passing verdict are committed at the same
    moment, each transaction sees only its own change, and a check inside either would miss the other. After
    its commit the later one sees both. A failure here is logged and never costs the caller its own write.
    """

    def check() -> None:
        from challenges.models import Challenge

        path_pk = path_id
        if path_pk is None and challenge_id is not None:
            path_pk = Challenge.objects.filter(pk=challenge_id).values_list("drop__path_id", flat=True).first()
        if path_pk is None:
            return  # a challenge introduced by no drop belongs to no path
        user = User.objects.filter(pk=user_id).first()
        path = Path.objects.filter(pk=path_pk).first()
        if user is not None and path is not None:
            certificate_issue(user=user, path=path)

    transaction.on_commit(check, robust=True)


def certificate_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be printed on a certificate, or None."""
    problem = text_problem(name.strip())  # the shared rule: emoji sequences yes, controls and bidi overrides no
    if problem:
        return problem
    name = " ".join(name.split())
    if not name:
        return "Enter the name to print on your certificate."
    if len(name) > NAME_MAX_LENGTH:
        return f"Use at most {NAME_MAX_LENGTH} characters (this name has {len(name)})."
    return None


def clean_name(name: str) -> str:
    """The name as printed: NFC-normalised, single spaces, no surrounding space."""
    return " ".join(unicodedata.normalize("NFC", name).split())


@transaction.atomic
def certificate_name_set(*, certificate: Certificate, name: str, now: datetime | None = None) -> Certificate:
    """Choose the name printed on the certificate, once. Raises CertificateNameError."""
    locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if locked.revoked_at is not None:
        raise CertificateNameError("This certificate has been revoked.", code="revoked")
    if locked.name_chosen_at is not None:
        raise CertificateNameError(
            "The name on this certificate has already been chosen and cannot be changed.", code="already_chosen"
        )
    problem = certificate_name_problem(unicodedata.normalize("NFC", name))
    if problem:
        raise CertificateNameError(problem, code="invalid")
    locked.name = clean_name(name)
    locked.name_chosen_at = now or timezone.now()
    locked.save(update_fields=["name", "name_chosen_at"])
    learner_changed(locked.user_id)
    return locked


@transaction.atomic
def certificate_revoke(*, certificate: Certificate, reason: str = "", now: datetime | None = None) -> Certificate:
    """Revoke a certificate: its verification page then answers 404. Revoking again changes nothing."""
    locked = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if locked.revoked_at is None:
        locked.revoked_at = now or timezone.now()
        locked.revoked_reason = reason.strip()[:REVOKED_REASON_MAX_LENGTH]
        locked.save(update_fields=["revoked_at", "revoked_reason"])
        learner_changed(locked.user_id)
    return locked
