"""State changes for accounts, profiles and enrolment. Views call these; nothing else writes."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from learnpath.models import Enrollment, LearnerProfile, Path, validate_timezone


@transaction.atomic
def user_register(*, username: str, password: str, email: str = "", timezone_name: str = "UTC") -> User:
    """Create a learner with a profile; raises ValidationError with field errors."""
    errors: dict[str, list[str]] = {}
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["That username is taken."]
    try:
        validate_timezone(timezone_name)
    except ValidationError as error:
        errors["timezone"] = list(error.messages)
    candidate = User(username=username, email=email)
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as error:
        errors["password"] = list(error.messages)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        raise ValidationError({"username": ["That username is taken."]}) from None
    LearnerProfile.objects.create(user=user, timezone=timezone_name)
    return user


def profile_for(user: User) -> LearnerProfile:
    profile, _ = LearnerProfile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def profile_update(*, user: User, **changes) -> LearnerProfile:
    profile = LearnerProfile.objects.select_for_update().get(pk=profile_for(user).pk)
    old_timezone = profile.timezone
    for name, value in changes.items():
        setattr(profile, name, value)
    profile.full_clean()
    profile.save()
    if profile.timezone != old_timezone:
        from drops.services import schedule_timezone_changed

        schedule_timezone_changed(user=user)
    return profile


@transaction.atomic
def enrollment_create(*, user: User, path: Path) -> tuple[Enrollment, bool]:
    """Enrol ``user`` in ``path`` (idempotent) and make the first drop available."""
    from drops.services import schedule_start

    profile_for(user)
    try:
        with transaction.atomic():
            enrollment, created = Enrollment.objects.get_or_create(user=user, path=path)
    except IntegrityError:  # a concurrent request enrolled first
        enrollment, created = Enrollment.objects.get(user=user, path=path), False
    if created:
        schedule_start(user=user, path=path, now=timezone.now())
    return enrollment, created


# Login throttling: failures are counted per username and per client address in the shared cache.


def _failure_keys(username: str, address: str) -> list[str]:
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [f"login-fail:user:{name}", f"login-fail:addr:{address}"]


def login_blocked(*, username: str, address: str) -> bool:
    limit = settings.LOGIN_FAILURE_LIMIT
    return any((cache.get(key) or 0) >= limit for key in _failure_keys(username, address))


def login_failed(*, username: str, address: str) -> None:
    for key in _failure_keys(username, address):
        if not cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)


def login_succeeded(*, username: str, address: str) -> None:
    cache.delete(_failure_keys(username, address)[0])


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")
