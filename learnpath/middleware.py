from django.utils import timezone


class LearnerTimezoneMiddleware:
    """Render dates in the signed-in learner's own timezone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        profile = getattr(request.user, "profile", None) if request.user.is_authenticated else None
        if profile is not None:
            timezone.activate(profile.zone)
        else:
            timezone.deactivate()
        return self.get_response(request)
