from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = "Certificates"

    def ready(self):
        from certificates.receivers import progress_changed
        from learnpath.signals import learner_progress_changed

        # Drops, plans and challenges say when a learner's progress changed; they never import certificates.
        learner_progress_changed.connect(progress_changed, dispatch_uid="certificates-progress-changed")
