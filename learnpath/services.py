"""State changes for accounts, profiles and enrolment. Views call these; nothing else writes."""

from __future__ import annotations

import hashlib
import ipaddress

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from learnpath.cache import learner_changed
from learnpath.models import Enrollment, LearnerProfile, Path, validate_timezone
from learnpath.profiles import profile_for
from learnpath.redis_cache import CacheUnavailable

EMAIL_TAKEN = "Another account already uses that address."
REMINDERS_NEED_EMAIL = "Add an email address to get reminders: there is nowhere to send them yet."


@transaction.atomic
def user_register(*, username: str, password: str, email: str = "", timezone_name: str = "UTC") -> User:
    """Create a learner with a profile; raises ValidationError with field errors."""
    errors: dict[str, list[str]] = {}
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["That username is taken."]
    email = User.objects.normalize_email(email.strip())
    if email and _email_taken(email):
        errors["email"] = [EMAIL_TAKEN]
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
    # An address given at sign-up is given for reminders (the form says so); none means none are sent.
    LearnerProfile.objects.create(user=user, timezone=timezone_name, email_reminders=bool(email))
    return user


def _email_taken(email: str, *, except_user: User | None = None) -> bool:
    """Addresses are unique per account (case-insensitively): a password reset finds one learner."""
    others = User.objects.filter(email__iexact=email)
    if except_user is not None:
        others = others.exclude(pk=except_user.pk)
    return others.exists()


@transaction.atomic
def user_email_update(*, user: User, email: str) -> User:
    """Set or clear the learner's address. Clearing it turns reminders off; adding one turns nothing on."""
    email = User.objects.normalize_email(email.strip())
    if email:
        try:
            validate_email(email)
            if len(email) > User._meta.get_field("email").max_length:
                raise ValidationError("That address is too long.")
        except ValidationError as error:
            raise ValidationError({"email": error.messages}) from None
        if _email_taken(email, except_user=user):
            raise ValidationError({"email": [EMAIL_TAKEN]})
    if email != user.email:
        user.email = email
        user.save(update_fields=["email"])
    if not email:
        LearnerProfile.objects.filter(user=user, email_reminders=True).update(email_reminders=False)
    return user


@transaction.atomic
def account_settings_update(*, user: User, email: str, **changes) -> LearnerProfile:
    """The settings page: the address and the profile saved together, or neither."""
    user_email_update(user=user, email=email)
    return profile_update(user=user, **changes)


@transaction.atomic
def profile_update(*, user: User, **changes) -> LearnerProfile:
    profile = LearnerProfile.objects.select_for_update().get(pk=profile_for(user).pk)
    old_timezone = profile.timezone
    for name, value in changes.items():
        setattr(profile, name, value)
    if changes.get("email_reminders") and not user.email:
        raise ValidationError({"email_reminders": [REMINDERS_NEED_EMAIL]})
    profile.full_clean()
    profile.save()
    user.profile = profile  # reads of this user object (profile_of) see the change too
    learner_changed(user.pk)  # goals, the daily cap and the timezone shape every summary
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
        learner_changed(user.pk)
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
            except CacheUnavailable:  # the counters live in the cache: during its outage failures go uncounted
                return


def login_succeeded(*, username: str, address: str) -> None:
    cache.delete(_failure_keys(username, address)[0])


def password_reset_allowed(*, email: str) -> bool:
    """Count a reset request; False once an address has been asked for too often in the window, so that the
    form cannot flood someone's inbox. Counted per email address, not per client: behind a proxy every learner
    would share one client address."""
    key = "reset:email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    if cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS):
        return True
    try:
        return cache.incr(key) <= settings.PASSWORD_RESET_REQUEST_LIMIT
    except ValueError:  # expired between the two calls
        cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_SECONDS)
        return True
    except CacheUnavailable:  # a reset is worth more than the count, which lives in the cache
        return True


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def client_network(request) -> str:
    """The client's network: the IPv4 /24 or IPv6 /64 of its address, so that one household, office or NAT, whose
    hosts share a prefix, counts as one client. An address that is not an IP address is returned as it is."""
    address = client_address(request)
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone id
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is an IPv4 client
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
