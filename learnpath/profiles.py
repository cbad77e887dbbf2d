"""The learner's profile row, made on first use. The spine's services and the daily loop's both need it; here
neither imports the other for it."""

from __future__ import annotations

from django.contrib.auth.models import User

from learnpath.models import LearnerProfile


def profile_for(user: User) -> LearnerProfile:
    profile, _ = LearnerProfile.objects.get_or_create(user=user)
    return profile
