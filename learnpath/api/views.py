"""Accounts, profile, paths and enrolment: one thin view per operation, serializers beside it."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound, Throttled, ValidationError
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from drops.selectors import path_drop_states
from learnpath import health, selectors, services, throttles
from learnpath.api.fields import PasswordField, TimezoneField
from learnpath.api.validation import validated
from learnpath.auth import new_token_key
from learnpath.idempotency import idempotent
from learnpath.models import (
    DAILY_GOAL_MAX,
    DAILY_GOAL_MESSAGE,
    DAILY_GOAL_MIN,
    READ_AHEAD_MAX,
    READ_AHEAD_MESSAGE,
    REMINDER_HOUR_MESSAGE,
    RETENTION_MAX,
    RETENTION_MESSAGE,
    RETENTION_MIN,
    REVIEW_CAP_MAX,
    REVIEW_CAP_MESSAGE,
    REVIEW_CAP_MIN,
    Path,
)
from learnpath.validators import USERNAME_HELP, USERNAME_INVALID, USERNAME_MAX_LENGTH, USERNAME_PATTERN, drf_bounds

ERROR = inline_serializer(
    "Error",
    {"detail": serializers.CharField(), "errors": serializers.DictField(required=False)},
)


class HealthApi(APIView):
    """Liveness for load balancers and operators: the process answers, without touching the database.

    Cheap on purpose: no authentication, no session, no query. It is also the benchmarks' trivial endpoint,
    the floor the learner endpoints are measured against.
    """

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    class HealthOutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["ok"])

    @extend_schema(
        responses={200: HealthOutputSerializer}, tags=["operations"], summary="Liveness: 200 while the process serves"
    )
    def get(self, request):
        return Response({"status": "ok"})


class ReadyCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    ms = serializers.FloatField(help_text="How long the check took, in milliseconds.")
    error = serializers.CharField(
        required=False, help_text="Only when ok is false: what failed, in an operator's words."
    )


class ReadyChecksSerializer(serializers.Serializer):
    database = ReadyCheckSerializer(help_text="A trivial query.")
    cache = ReadyCheckSerializer(help_text="A round trip to the cache server.")
    broker = ReadyCheckSerializer(help_text="A connection to the Celery broker.")
    workers = ReadyCheckSerializer(help_text="A worker consuming the grading queue reported within the last minute.")


class ReadyApi(APIView):
    """Readiness for orchestrators and load balancers: whether the database, the cache, the broker and a
    grading worker answer now (``learnpath.health``). 503, with Retry-After, names each one that does not.

    No authentication, no session; each check is given two seconds, all at once, so the answer comes within
    about that even when a dependency hangs. Never cached.
    """

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    class ReadyOutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["ready"])
        checks = ReadyChecksSerializer()

    class UnavailableOutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=["unavailable"])
        failing = serializers.ListField(
            child=serializers.ChoiceField(choices=list(health.CHECKS)), help_text="The checks that failed."
        )
        checks = ReadyChecksSerializer()

    @extend_schema(
        responses={
            200: ReadyOutputSerializer,
            503: OpenApiResponse(UnavailableOutputSerializer, description="A dependency does not answer."),
        },
        parameters=[
            OpenApiParameter(
                "Retry-After",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                response=[503],
                description="Seconds to wait before asking again.",
            )
        ],
        tags=["operations"],
        summary="Readiness: 200 while the database, cache, broker and a grading worker answer",
        auth=[],
    )
    def get(self, request):
        results = health.readiness()
        checks = {name: result.as_dict() for name, result in results.items()}
        failing = [name for name, result in results.items() if not result.ok]
        if failing:
            body = {"status": "unavailable", "failing": failing, "checks": checks}
            response = Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE)
            response["Retry-After"] = str(health.RETRY_AFTER_SECONDS)
            # learnpath.health logs an outage once, with its details; Django would log every probe's 503 too.
            response._has_been_logged = True
        else:
            response = Response({"status": "ready", "checks": checks})
        response["Cache-Control"] = "no-store"
        return response


class RegisterApi(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class RegisterInputSerializer(serializers.Serializer):
        username = serializers.RegexField(
            USERNAME_PATTERN,
            max_length=USERNAME_MAX_LENGTH,
            error_messages={"invalid": USERNAME_INVALID},
            help_text=USERNAME_HELP,
        )
        password = PasswordField(
            help_text="Judged by the site's password rules: at least minLength characters, not too like the "
            "username or email, not a common password, not only digits (a 400 on password otherwise)."
        )
        email = serializers.EmailField(required=False, allow_blank=True, default="")
        timezone = TimezoneField(required=False, default="UTC")

    class RegisterOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.CharField(help_text="Empty when none was given.")
        timezone = serializers.CharField()
        token = serializers.CharField()

    @extend_schema(
        request=RegisterInputSerializer,
        responses={201: RegisterOutputSerializer, 400: OpenApiResponse(ERROR), 429: OpenApiResponse(ERROR)},
        tags=["auth"],
        summary="Create a learner account and return an API token",
        description="A username or email address already in use (in any letter case) is a 400 on that field. "
        "A 429 with Retry-After when requests come too fast, or when the caller's network (its IPv4 /24 or IPv6 "
        "/64) has already had as many accounts created as `THROTTLE_ACCOUNTS_PER_NETWORK` allows (30 a day "
        "unless the operator changed it).",
        auth=[],
    )
    def post(self, request):
        data = validated(self.RegisterInputSerializer, request.data)
        wait = throttles.account_creation_wait(request)
        if wait is not None:
            raise Throttled(wait=wait, detail=throttles.accounts_per_network_message(wait))
        try:
            user = services.user_register(
                username=data["username"],
                password=data["password"],
                email=data["email"],
                timezone_name=data["timezone"],
            )
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from None
        throttles.account_created(request)
        token, _ = Token.objects.get_or_create(user=user, defaults={"key": new_token_key(user.pk)})
        payload = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "timezone": user.profile.timezone,
            "token": token.key,
        }
        return Response(self.RegisterOutputSerializer(payload).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class TokenInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})

    class TokenOutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        request=TokenInputSerializer,
        responses={200: TokenOutputSerializer, 400: OpenApiResponse(ERROR), 429: OpenApiResponse(ERROR)},
        tags=["auth"],
        summary="Exchange a username and password for an API token",
        description="A username and password that do not match an account are a 400; after repeated failures "
        "for the username or from the address, a 429 until the window passes.",
        auth=[],
    )
    def post(self, request):
        data = validated(self.TokenInputSerializer, request.data)
        address = services.client_address(request)
        if services.login_blocked(username=data["username"], address=address):
            raise Throttled(detail="Too many failed logins. Wait a few minutes and try again.")
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None:
            services.login_failed(username=data["username"], address=address)
            raise ValidationError({"non_field_errors": ["Unable to log in with the username and password given."]})
        services.login_succeeded(username=data["username"], address=address)
        token, _ = Token.objects.get_or_create(user=user, defaults={"key": new_token_key(user.pk)})
        return Response({"token": token.key})


class ProfileApi(APIView):
    class ProfileSerializer(serializers.Serializer):
        username = serializers.CharField(read_only=True, source="user.username")
        email = serializers.CharField(read_only=True, source="user.email", help_text="Empty when none was given.")
        timezone = TimezoneField(required=False)
        reminder_hour = serializers.IntegerField(
            required=False, help_text="Local hour, 0–23.", **drf_bounds(0, 23, REMINDER_HOUR_MESSAGE)
        )
        email_reminders = serializers.BooleanField(
            required=False, help_text="Turning them on needs an email address on the account (a 400 otherwise)."
        )
        daily_goal_minutes = serializers.IntegerField(
            required=False,
            help_text=f"Minutes a day, {DAILY_GOAL_MIN}–{DAILY_GOAL_MAX}.",
            **drf_bounds(DAILY_GOAL_MIN, DAILY_GOAL_MAX, DAILY_GOAL_MESSAGE),
        )
        daily_review_cap = serializers.IntegerField(
            required=False,
            help_text=f"The most reviews shown in a day, {REVIEW_CAP_MIN}–{REVIEW_CAP_MAX}.",
            **drf_bounds(REVIEW_CAP_MIN, REVIEW_CAP_MAX, REVIEW_CAP_MESSAGE),
        )
        desired_retention = serializers.FloatField(
            min_value=RETENTION_MIN,
            max_value=RETENTION_MAX,
            required=False,
            allow_null=True,
            # Formatted with the bound (%-style) by DRF: the message's own percent signs are escaped.
            error_messages={
                "min_value": RETENTION_MESSAGE.replace("%", "%%"),
                "max_value": RETENTION_MESSAGE.replace("%", "%%"),
            },
            help_text=(
                "The probability of recall FSRS aims for when a card comes due, 0.70–0.97; null: the platform's "
                "default (default_retention). Higher means shorter intervals and more reviews."
            ),
        )
        read_ahead_per_day = serializers.IntegerField(
            min_value=0,
            max_value=READ_AHEAD_MAX,
            required=False,
            error_messages={key: READ_AHEAD_MESSAGE for key in ("invalid", "min_value", "max_value")},
            help_text=f"Once today's drop is done, how many more drops may be read ahead per local day (0–"
            f"{READ_AHEAD_MAX}, default 1; 0 turns reading ahead off).",
        )
        default_retention = serializers.SerializerMethodField(
            help_text="The platform's desired retention, used while desired_retention is null."
        )

        def get_default_retention(self, profile) -> float:
            return settings.FSRS_DESIRED_RETENTION

    @extend_schema(
        responses={200: ProfileSerializer, 401: OpenApiResponse(ERROR)}, tags=["auth"], summary="Your profile"
    )
    def get(self, request):
        return Response(self.ProfileSerializer(selectors.profile_of(request.user)).data)

    @extend_schema(
        request=ProfileSerializer,
        responses={200: ProfileSerializer, 400: OpenApiResponse(ERROR), 401: OpenApiResponse(ERROR)},
        tags=["auth"],
        summary="Change your timezone, reminder hour, goals or desired retention",
        description="Send the fields to change, at least one: a body that names none of them (empty, or only "
        "misspelt names) is a 400 and changes nothing.",
    )
    def patch(self, request):
        data = validated(self.ProfileSerializer, request.data, partial=True)
        profile = services.profile_update(user=request.user, **data)
        return Response(self.ProfileSerializer(profile).data)


class PathSummarySerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    summary = serializers.CharField()
    phase_count = serializers.IntegerField()
    drop_count = serializers.IntegerField()
    enrolled = serializers.BooleanField()


class DropContentSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["demo", "challenge", "worksheet"])
    title = serializers.CharField()
    url = serializers.CharField(allow_null=True, help_text="A page anyone can open for it (demos), else null.")


class DropSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    summary = serializers.CharField()
    position = serializers.IntegerField()
    estimated_minutes = serializers.IntegerField()
    contents = DropContentSerializer(
        many=True, help_text="What the drop holds beyond its text: interactive demos, code challenges, worksheets."
    )
    state = serializers.ChoiceField(
        choices=["locked", "available", "completed"], allow_null=True, help_text="Null when not enrolled."
    )
    unlocks_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    read_ahead = serializers.BooleanField(
        help_text="Read ahead: completed (or open now) before it would have unlocked; false when not enrolled."
    )
    would_have_unlocked_at = serializers.DateTimeField(
        allow_null=True, help_text="For a drop read ahead, when it would have unlocked on the schedule; else null."
    )


class PhaseSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    position = serializers.IntegerField()
    drops = DropSummarySerializer(many=True)


class FAQSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    question = serializers.CharField()
    answer_html = serializers.CharField()


class PathDetailSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    summary = serializers.CharField()
    enrolled = serializers.BooleanField()
    phases = PhaseSerializer(many=True)
    faq = FAQSerializer(many=True)


class PathListApi(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: PathSummarySerializer(many=True)}, tags=["paths"], summary="All learning paths")
    def get(self, request):
        enrolled = selectors.enrolled_path_ids(request.user)
        rows = [
            {
                "slug": p.slug,
                "title": p.title,
                "summary": p.summary,
                "phase_count": p.phase_count,
                "drop_count": p.drop_count,
                "enrolled": p.pk in enrolled,
            }
            for p in selectors.path_list()
        ]
        return Response(PathSummarySerializer(rows, many=True).data)


def path_outline(content: dict, user, now: datetime | None = None) -> dict:
    """The path (``selectors.path_content``) with its phases, drops (with the caller's state at ``now`` when
    enrolled) and FAQ. Both halves are cached: the content until it changes, the states per learner."""
    enrolled = content["pk"] in selectors.enrolled_path_ids(user)
    states = path_drop_states(user=user, path_id=content["pk"], now=now or timezone.now()) if enrolled else {}
    phases = []
    for phase in content["phases"]:
        drops = []
        for drop in phase["drops"]:
            state = states.get(drop["id"])
            drops.append(
                {
                    **drop,
                    "contents": drop.get("contents", []),  # absent from outlines cached before it existed
                    "state": state.state if state else None,
                    "unlocks_at": state.unlocks_at if state and state.state == "locked" else None,
                    "completed_at": state.completed_at if state else None,
                    "read_ahead": bool(state and state.read_ahead),
                    "would_have_unlocked_at": state.unlocks_at if state and state.read_ahead else None,
                    "read_ahead_limit_reached": bool(state and state.read_ahead_limit_reached),
                }
            )
        phases.append({**phase, "drops": drops})
    return {
        "slug": content["slug"],
        "title": content["title"],
        "summary": content["summary"],
        "enrolled": enrolled,
        "phases": phases,
        "faq": content["faq"],
    }


class PathDetailApi(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        responses={200: PathDetailSerializer, 404: OpenApiResponse(ERROR)},
        tags=["paths"],
        summary="A path with its phases, drops (with your state when enrolled) and FAQ",
    )
    def get(self, request, slug: str):
        content = selectors.path_content(slug)
        if content is None:
            raise NotFound(f"No path with slug {slug!r}.")
        return Response(PathDetailSerializer(path_outline(content, request.user)).data)


class EnrollApi(APIView):
    class EnrollmentSerializer(serializers.Serializer):
        path = serializers.SlugField()
        enrolled_at = serializers.DateTimeField()
        created = serializers.BooleanField()

    @idempotent
    @extend_schema(
        request=None,
        responses={
            201: EnrollmentSerializer,
            200: EnrollmentSerializer,
            401: OpenApiResponse(ERROR),
            404: OpenApiResponse(ERROR),
        },
        tags=["paths"],
        summary="Enrol in a path (idempotent: 201 the first time, 200 after)",
    )
    def post(self, request, slug: str):
        path = get_object_or_404(Path, slug=slug)
        enrollment, created = services.enrollment_create(user=request.user, path=path)
        payload = {"path": path.slug, "enrolled_at": enrollment.enrolled_at, "created": created}
        return Response(
            self.EnrollmentSerializer(payload).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
