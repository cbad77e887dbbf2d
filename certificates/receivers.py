"""The certificates app's receivers of other apps' hooks (connected in CertificatesConfig.ready)."""

from __future__ import annotations

from certificates.services import certificate_check_on_commit


def progress_changed(*, user_id: int, path_id: int | None = None, challenge_id: int | None = None, **kwargs) -> None:
    """Progress changed (learnpath.signals.learner_progress_changed): the certificate may now be earned."""
    certificate_check_on_commit(user_id=user_id, path_id=path_id, challenge_id=challenge_id)
