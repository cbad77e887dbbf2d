"""Hooks between the apps. An app's service that changes what a learner has done sends one here; the apps that
care connect receivers in their AppConfig.ready. The sender never imports the listener, so the services do not
import each other in a circle.
"""

from __future__ import annotations

from django.dispatch import Signal

# A learner's progress on a path changed in a way that may finish it: a drop completed
# (drops.services.drop_complete), a plan first saved complete (plans.services), a passing verdict stored
# (challenges.services.submission_record_verdict). Sent inside the sender's transaction with ``user_id`` and
# either ``path_id`` or ``challenge_id``; receivers run at once and defer their own work as they need (the
# certificates app checks after the commit: certificates.services.certificate_check_on_commit).
learner_progress_changed = Signal()
