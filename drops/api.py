"""The daily loop's API: one thin view per operation, its serializers beside it; services change state."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from drops import intervals, scheduling, selectors, services, unlocks
from drops.models import Drop, RecallCard, ReviewCard
from drops.selectors import CardMemory
from learnpath.api.errors import Conflict, error_response
from learnpath.api.validation import validated
from learnpath.api.views import ERROR
from learnpath.cache import learner_cached
from learnpath.idempotency import idempotent
from learnpath.selectors import profile_of
from learnpath.validators import drf_bounds

MAX_ID = 2**63 - 1
LOCKED = inline_serializer(
    "DropLockedError",
    {
        "detail": serializers.CharField(),
        "unlocks_at": serializers.DateTimeField(
            allow_null=True, help_text="When the drop unlocks; null until the drop before it is completed."
        ),
        "read_ahead_limit_reached": serializers.BooleanField(
            required=False,
            help_text="True when the drop could be read ahead but today's read-aheads (the learner's "
            "read_ahead_per_day) are used up: it opens again at the next local midnight.",
        ),
    },
)
RATING_INTERVALS = inline_serializer(
    "RatingIntervals",
    {
        name: serializers.IntegerField(min_value=0, help_text=f"Seconds until the card is due again if rated {name}.")
        for name in intervals.RATING_NAMES.values()
    },
    help_text="When the card would come back after each rating, in seconds from now: the learner's own FSRS "
    "scheduler previewed on a copy of the card (without fuzzing). Shown on the rating buttons.",
)
SESSION_COUNTS = inline_serializer(
    "ReviewCounts",
    {
        "new": serializers.IntegerField(help_text="Cards never reviewed (all of them are due)."),
        "learning": serializers.IntegerField(
            help_text="Reviewed cards in the Learning or Relearning state due before your local day ends."
        ),
        "review": serializers.IntegerField(
            help_text="Cards in the Review state due before your local day ends, within the daily review cap."
        ),
    },
    help_text="The session's counters, as Anki shows them; suspended cards are in none.",
)
READ_AHEAD_DROP = inline_serializer(
    "ReadAheadDrop",
    {
        "drop_id": serializers.IntegerField(),
        "path": serializers.SlugField(),
        "position": serializers.IntegerField(),
        "title": serializers.CharField(),
        "read_on": serializers.DateField(help_text="The local day it was read (completed)."),
        "unlock_day": serializers.DateField(help_text="The local day it would have unlocked on the schedule."),
    },
    many=True,
)
NOT_DUE = inline_serializer("CardNotDueError", {"detail": serializers.CharField(), "due": serializers.DateTimeField()})


class DropRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.SlugField()
    title = serializers.CharField()
    position = serializers.IntegerField()
    estimated_minutes = serializers.IntegerField()
    path = serializers.SlugField(source="path.slug")


class StreakSerializer(serializers.Serializer):
    current = serializers.IntegerField(help_text="Consecutive local days that counted, freezes included.")
    longest = serializers.IntegerField()
    freezes = serializers.IntegerField(help_text="Streak freezes held (one per 7 days, at most 2).")
    today_counts = serializers.BooleanField(help_text="Today already counts: a drop completed or reviews finished.")


class ReviewCardSerializer(serializers.Serializer):
    """A card of the learner's deck. Checked cards (choice, numeric) never carry their answer before a rating."""

    id = serializers.IntegerField(help_text="The deck card's id, used to rate it.")
    kind = serializers.ChoiceField(choices=RecallCard.Kind.choices, source="card.kind")
    prompt = serializers.CharField(source="card.prompt")
    choices = serializers.ListField(child=serializers.CharField(), source="card.choices")
    answer = serializers.CharField(allow_null=True, help_text="Free-recall cards only: shown after the reveal.")
    explanation = serializers.CharField(allow_blank=True, allow_null=True)
    drop = inline_serializer("CardDrop", {"id": serializers.IntegerField(), "title": serializers.CharField()})
    state = serializers.ChoiceField(choices=["learning", "review", "relearning"])
    due = serializers.DateTimeField()
    last_review = serializers.DateTimeField(allow_null=True)
    retrievability = serializers.FloatField(
        min_value=0,
        max_value=1,
        allow_null=True,
        help_text="Probability of recall now (FSRS), for a card in long-term review last reviewed a day or more "
        "ago; null otherwise (right after any review, a failed one included, FSRS puts it near 1).",
    )
    intervals = RATING_INTERVALS


def session_counts(counts: selectors.DueCounts) -> dict:
    return {"new": counts.new, "learning": counts.learning_today, "review": counts.review_shown}


def learner_preview(user):
    """The learner's scheduler, for the rating buttons' intervals (drops.intervals)."""
    return intervals.preview_scheduler(desired_retention=profile_of(user).retention)


def card_payload(review_card: ReviewCard, now, fsrs_scheduler=None, preview=None) -> dict:
    card = review_card.card
    recall = card.kind == RecallCard.Kind.RECALL
    return {
        "id": review_card.pk,
        "card": card,
        "answer": card.answer if recall else None,
        "explanation": card.explanation if recall else None,
        "drop": {"id": card.drop_id, "title": card.drop.title},
        "state": ReviewCard.State(review_card.state).name.lower(),
        "due": review_card.due,
        "last_review": review_card.last_review,
        "retrievability": (
            scheduling.retrievability(review_card, now, fsrs_scheduler)
            if selectors.recall_is_meaningful(review_card, now)
            else None
        ),
        "intervals": intervals.rating_intervals(review_card, now, preview or intervals.preview_scheduler()),
    }


def cached_response(request, *, name: str, now, build) -> HttpResponse:
    """An endpoint's response, rendered from the learner's cache while it holds (learnpath.cache).

    ``build()`` returns ``(output, recall_of, valid_until)``: the serialized output, the FSRS state of the
    cards whose probability of recall it shows, and when time alone changes the rest. Recall steps once a day
    per card (``recall_changes_at``), so the output holds until the first of those steps too. The entry holds
    the rendered JSON, which a JSON client gets as it is; another renderer (the browsable API) gets it parsed.
    Dates are written in the active timezone: the entry is kept for one timezone (its variant). The view
    declares ``name`` in ``learner_entries``, so that the entry comes in the request's first round trip to
    the cache.
    """

    def compute():
        output, recall_of, valid_until = build()
        steps = [moment for moment in (valid_until, selectors.recall_changes_at(recall_of, now)) if moment]
        return JSONRenderer().render(output), min(steps, default=None)

    body = learner_cached(
        user_id=request.user.pk, name=name, now=now, compute=compute, variant=timezone.get_current_timezone_name()
    )
    if isinstance(request.accepted_renderer, JSONRenderer):
        return HttpResponse(body, content_type=JSONRenderer.media_type)
    return Response(json.loads(body))


def _reviews_due_entry(request, limit: int | str | None = None) -> str:
    return f"api:reviews-due:{limit if limit is not None else request.GET.get('limit', '10')}"


class TodayApi(APIView):
    learner_entries = ("api:today",)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Today"

        date = serializers.DateField(help_text="Today in the learner's timezone.")
        timezone = serializers.CharField()
        enrolled = serializers.BooleanField()
        new_drop = DropRefSerializer(allow_null=True, help_text="Today's drop, or null.")
        completed_today = serializers.BooleanField(help_text="A drop was completed today.")
        next_unlock_at = serializers.DateTimeField(allow_null=True, help_text="When the next drop unlocks.")
        next_drop = DropRefSerializer(allow_null=True)
        path_finished = serializers.BooleanField()
        reviews_due = serializers.IntegerField(help_text="Cards left in today's session (after the daily cap).")
        reviews_held_back = serializers.IntegerField(help_text="Due cards held back by the daily review cap.")
        first_reviews = ReviewCardSerializer(many=True)
        minutes = serializers.IntegerField(help_text="Minutes read and reviewed today.")
        goal_minutes = serializers.IntegerField()
        goal_met = serializers.BooleanField()
        streak = StreakSerializer()
        read_ahead = inline_serializer(
            "TodayReadAhead",
            {
                "drop": DropRefSerializer(
                    allow_null=True,
                    help_text="The next drop, open now ahead of schedule (GET /api/drops/{id}/, then complete it): "
                    "offered once no drop waits, while today's read-aheads last; else null.",
                ),
                "left_today": serializers.IntegerField(help_text="Drops that may still be read ahead today."),
                "per_day": serializers.IntegerField(help_text="The learner's read_ahead_per_day (0: off)."),
                "read_earlier": inline_serializer(
                    "ReadEarlier",
                    {"drop": DropRefSerializer(), "read_on": serializers.DateField()},
                    many=True,
                    help_text="Drops due to unlock today that were read ahead on an earlier day: no new drop "
                    "today, the reviews keep the streak.",
                ),
            },
        )

    @extend_schema(
        responses={200: OutputSerializer, 401: OpenApiResponse(ERROR), 403: OpenApiResponse(ERROR)},
        tags=["daily loop"],
        summary="Today's plan: the new drop, the reviews due, goal minutes, streak and reading ahead",
    )
    def get(self, request):
        now = timezone.now()

        def build():
            plan, valid_until = selectors.today_plan_until(user=request.user, now=now)
            output = self.OutputSerializer(self.payload(plan, now, learner_preview(request.user))).data
            return output, [CardMemory.of(card) for card in plan.first_cards], valid_until

        return cached_response(request, name="api:today", now=now, build=build)

    @staticmethod
    def payload(plan: selectors.TodayPlan, now, preview=None) -> dict:
        fsrs_scheduler = scheduling.scheduler()
        return {
            "date": plan.today,
            "timezone": plan.timezone,
            "enrolled": plan.enrolled,
            "new_drop": plan.new_drop,
            "completed_today": plan.new_drop_completed_today,
            "next_unlock_at": plan.next_unlock_at,
            "next_drop": plan.next_drop,
            "path_finished": plan.path_finished,
            "reviews_due": plan.counts.in_session,
            "reviews_held_back": plan.counts.capped,
            "first_reviews": [card_payload(c, now, fsrs_scheduler, preview) for c in plan.first_cards],
            "minutes": plan.minutes,
            "goal_minutes": plan.goal_minutes,
            "goal_met": plan.minutes >= plan.goal_minutes,
            "streak": plan.streak,
            "read_ahead": {
                "drop": plan.read_ahead_drop,
                "left_today": plan.read_ahead_left,
                "per_day": plan.read_ahead_per_day,
                "read_earlier": [{"drop": r.drop, "read_on": r.read_on} for r in plan.read_ahead_for_today],
            },
        }


class DropDetailApi(APIView):
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DropDetail"

        id = serializers.IntegerField()
        slug = serializers.SlugField()
        title = serializers.CharField()
        summary = serializers.CharField(allow_blank=True)
        path = serializers.SlugField(source="path.slug")
        phase = inline_serializer(
            "DropPhase",
            {"slug": serializers.SlugField(), "title": serializers.CharField(), "position": serializers.IntegerField()},
        )
        position = serializers.IntegerField()
        estimated_minutes = serializers.IntegerField(help_text="The minutes the drop's author states.")
        reading_estimate = inline_serializer(
            "DropReadingEstimate",
            {
                "minutes": serializers.FloatField(help_text="The sum of the three parts below."),
                "reading_minutes": serializers.FloatField(help_text="Prose at 225 words a minute, code, tables."),
                "demo_minutes": serializers.FloatField(help_text="90 s for each embedded demo."),
                "card_minutes": serializers.FloatField(
                    help_text="Each recall card answered once: 30 s, or its words at 225 a minute if longer."
                ),
                "demos": serializers.IntegerField(),
                "cards": serializers.IntegerField(),
                "deeper_words": serializers.IntegerField(help_text="Words in the optional Go deeper section."),
            },
            allow_null=True,
            help_text="The measured minutes (docs/content.md, 'Reading time'); null before content is loaded.",
        )
        body_html = serializers.CharField(allow_blank=True, help_text="Sanitized HTML.")
        sections = inline_serializer(
            "DropSection", {"id": serializers.CharField(), "title": serializers.CharField()}, many=True
        )
        state = serializers.ChoiceField(choices=["available", "completed"])
        completed_at = serializers.DateTimeField(allow_null=True)
        read_ahead = serializers.BooleanField(
            help_text="Open (or completed) ahead of schedule, by reading ahead: unlocks_at is when it would "
            "have unlocked."
        )
        unlocks_at = serializers.DateTimeField(
            allow_null=True, help_text="When it unlocks (or unlocked) on the schedule."
        )
        previous_id = serializers.IntegerField(allow_null=True)
        next_id = serializers.IntegerField(allow_null=True)

    @extend_schema(
        responses={
            200: OutputSerializer,
            401: OpenApiResponse(ERROR),
            403: OpenApiResponse(LOCKED, description="Locked: unlocks_at says when."),
            404: OpenApiResponse(ERROR),
        },
        tags=["daily loop"],
        summary="A drop's sanitized lesson and sections (403 with unlocks_at while locked)",
        description="A drop not unlocked yet opens ahead of schedule once the drop before it is completed, while "
        "the learner's read-aheads for today last (`read_ahead_per_day`); beyond that it is a 403 with "
        "`read_ahead_limit_reached`.",
    )
    def get(self, request, drop_id: int):
        drop = _get_drop(drop_id)
        state = selectors.drop_state(user=request.user, drop=drop, now=timezone.now())
        if state.state == "locked":
            return _locked(state.unlocks_at, state.read_ahead_limit_reached)
        previous, following = selectors.drop_neighbours(drop)
        payload = {
            "id": drop.pk,
            "slug": drop.slug,
            "title": drop.title,
            "summary": drop.summary,
            "path": drop.path,
            "phase": {"slug": drop.phase.slug, "title": drop.phase.title, "position": drop.phase.position},
            "position": drop.position,
            "estimated_minutes": drop.estimated_minutes,
            "reading_estimate": drop.reading_estimate or None,
            "body_html": drop.body_html,
            "sections": drop.sections,
            "state": state.state,
            "completed_at": state.completed_at,
            "read_ahead": state.read_ahead,
            "unlocks_at": state.unlocks_at,
            "previous_id": previous.pk if previous else None,
            "next_id": following.pk if following else None,
        }
        return Response(self.OutputSerializer(payload).data)


class DropCompleteApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DropCompleteInput"

        seconds_spent = serializers.IntegerField(
            help_text="Seconds spent reading, as measured by the client (capped).",
            **drf_bounds(0, 86_400, "Send the seconds spent reading as a whole number between 0 and 86,400 (a day)."),
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DropComplete"

        drop_id = serializers.IntegerField()
        completed_at = serializers.DateTimeField()
        newly_completed = serializers.BooleanField(help_text="False when the drop was already completed.")
        seconds_counted = serializers.IntegerField()
        cards_added = serializers.IntegerField()
        next_drop = DropRefSerializer(allow_null=True)
        next_unlocks_at = serializers.DateTimeField(allow_null=True)
        read_ahead = serializers.BooleanField(help_text="Completed before it would have unlocked (read ahead).")
        streak = StreakSerializer()

    @idempotent
    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            201: OutputSerializer,
            400: OpenApiResponse(ERROR),
            401: OpenApiResponse(ERROR),
            403: OpenApiResponse(LOCKED, description="Locked: unlocks_at says when."),
            404: OpenApiResponse(ERROR),
        },
        tags=["daily loop"],
        summary="Complete a drop (idempotent: 201 the first time, 200 after); adds its cards to your deck",
        description="A drop completed before it unlocks is read ahead (see GET /api/drops/{id}/): it counts for "
        "today as any drop does (the streak gains at most one day a day), its cards join the deck at once, and "
        "the drop after it unlocks the day after the one it would have unlocked on.",
    )
    def post(self, request, drop_id: int):
        drop = _get_drop(drop_id)
        data = validated(self.InputSerializer, request.data)
        now = timezone.now()
        try:
            result = services.drop_complete(user=request.user, drop=drop, seconds_spent=data["seconds_spent"], now=now)
        except services.DropLocked as locked:
            state = selectors.drop_state(user=request.user, drop=drop, now=now)
            return _locked(locked.unlocks_at, state.read_ahead_limit_reached)
        from drops.days import local_date

        streak = selectors.streak_view(result.streak, local_date(now, request.user.profile.zone))
        payload = {
            "drop_id": drop.pk,
            "completed_at": result.progress.completed_at,
            "newly_completed": result.newly_completed,
            "seconds_counted": result.progress.seconds_spent,
            "cards_added": result.cards_added,
            "next_drop": result.next_drop,
            "next_unlocks_at": result.next_unlocks_at,
            "read_ahead": unlocks.is_read_ahead(result.progress.unlocked_at, result.progress.completed_at),
            "streak": streak,
        }
        code = status.HTTP_201_CREATED if result.newly_completed else status.HTTP_200_OK
        return Response(self.OutputSerializer(payload).data, status=code)


class _LimitSerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        min_value=1, max_value=50, required=False, default=10, help_text="How many cards (1–50, default 10)."
    )


class _DueSerializer(_LimitSerializer):
    offline = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also send what checks each answer on the device (the `check` of each card), for a session "
        "reviewed offline (docs/offline.md).",
    )


class OfflineReviewCardSerializer(ReviewCardSerializer):
    """A due card with what the learner's device needs to check the answer offline: these are the learner's own
    due cards, and the rating sent later is the learner's either way (the platform re-checks the answer)."""

    check = inline_serializer(
        "OfflineCheck",
        {
            "answer": serializers.CharField(help_text="The right choice, or the numeric answer as written."),
            "numeric_answer": serializers.FloatField(allow_null=True),
            "tolerance": serializers.FloatField(allow_null=True),
            "explanation": serializers.CharField(allow_blank=True),
        },
    )


def offline_check(review_card: ReviewCard) -> dict:
    card = review_card.card
    return {
        "answer": card.answer,
        "numeric_answer": card.numeric_answer,
        "tolerance": card.tolerance,
        "explanation": card.explanation,
    }


class ReviewsDueApi(APIView):
    learner_entries = (_reviews_due_entry,)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewsDue"

        remaining = serializers.IntegerField(help_text="Cards left in today's session.")
        held_back = serializers.IntegerField(help_text="Due cards held back by the daily review cap.")
        counts = SESSION_COUNTS
        daily_cap = serializers.IntegerField()
        cards = ReviewCardSerializer(many=True)

    class OfflineOutputSerializer(OutputSerializer):
        class Meta:
            ref_name = "ReviewsDueOffline"

        cards = OfflineReviewCardSerializer(many=True)

    @extend_schema(
        parameters=[_DueSerializer],
        responses={200: OutputSerializer, 400: OpenApiResponse(ERROR), 401: OpenApiResponse(ERROR)},
        tags=["daily loop"],
        summary="The cards due in today's review session, soonest first",
        description="With `offline=true` each card also has a `check` (the right answer, the numeric answer and "
        "its tolerance, the explanation): the browser keeps the session on the device and checks answers there "
        "while offline, then sends the ratings (docs/offline.md).",
    )
    def get(self, request):
        # The usual request names no parameter: the defaults need no validation.
        params = validated(_DueSerializer, request.query_params) if request.query_params else {}
        limit, offline = params.get("limit", 10), params.get("offline", False)
        now = timezone.now()
        output_serializer = self.OfflineOutputSerializer if offline else self.OutputSerializer

        def build():
            session, valid_until = selectors.due_session_until(user=request.user, now=now, limit=limit)
            fsrs_scheduler = scheduling.scheduler()
            preview = learner_preview(request.user)
            payload = {
                "remaining": session.counts.in_session,
                "held_back": session.counts.capped,
                "counts": session_counts(session.counts),
                "daily_cap": profile_of(request.user).daily_review_cap,
                "cards": [
                    card_payload(c, now, fsrs_scheduler, preview) | ({"check": offline_check(c)} if offline else {})
                    for c in session.cards
                ],
            }
            return output_serializer(payload).data, [CardMemory.of(card) for card in session.cards], valid_until

        name = _reviews_due_entry(request, limit) + (":offline" if offline else "")
        return cached_response(request, name=name, now=now, build=build)


class ReviewRateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewRateInput"

        at_least_one_of = ("rating", "answer")  # the schema's anyOf: the check in validate()

        rating = serializers.IntegerField(
            required=False,
            **drf_bounds(1, 4, "Rate the card 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy)."),
            help_text="1 Again, 2 Hard, 3 Good, 4 Easy. Required for free-recall cards. For checked cards it is "
            "the learner's rating after the check: when left out it is the check's suggested_rating (Good "
            "when the answer is right, Again when it is wrong); when sent it is recorded as given.",
        )
        answer = serializers.CharField(
            max_length=services.ANSWER_MAX_LENGTH,
            required=False,
            help_text="Required for choice and numeric cards: the learner's answer, checked by the platform.",
        )
        duration_ms = serializers.IntegerField(
            required=False,
            help_text="Time on the card (capped for the goal).",
            **drf_bounds(0, 86_400_000, "Send the time on the card in milliseconds, between 0 and 86,400,000 (a day)."),
        )

        def validate(self, attrs):
            if "rating" not in attrs and "answer" not in attrs:
                raise serializers.ValidationError({"rating": ["Send a rating (1–4) or the learner's answer."]})
            return attrs

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewRate"

        card_id = serializers.IntegerField()
        rating = serializers.IntegerField(min_value=1, max_value=4, help_text="The rating recorded.")
        correct = serializers.BooleanField(allow_null=True, help_text="Null for free-recall cards.")
        answer = serializers.CharField()
        explanation = serializers.CharField(allow_blank=True)
        next_due = serializers.DateTimeField()
        state = serializers.ChoiceField(choices=["learning", "review", "relearning"])
        retrievability = serializers.FloatField(
            min_value=0,
            max_value=1,
            allow_null=True,
            help_text="The probability of recall FSRS gave the card just before this rating; null for a card not "
            "in long-term review or last reviewed under a day ago, where it says nothing.",
        )
        remaining = serializers.IntegerField(help_text="Cards left in today's session.")
        streak = StreakSerializer()

    @idempotent
    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(ERROR),
            401: OpenApiResponse(ERROR),
            404: OpenApiResponse(ERROR, description="Not a card of your deck."),
            409: OpenApiResponse(NOT_DUE, description="The card is not due yet."),
        },
        tags=["daily loop"],
        summary="Rate a card (or answer a checked one); FSRS schedules its next review",
        description="Free-recall cards: send `rating`. Choice and numeric cards are checked then rated: "
        "`POST /api/reviews/{card_id}/check/` first (records nothing; returns whether the answer is right, "
        "the right answer, the explanation and a suggested rating to show the learner), then this call with "
        "the same `answer` and the rating the learner chose. The answer is checked again here and stored "
        "with the rating; `correct` says how it was judged.",
    )
    def post(self, request, card_id: int):
        data = validated(self.InputSerializer, request.data)
        now = timezone.now()
        try:
            result = services.review_card_rate(
                user=request.user,
                review_card_id=_id(card_id),
                rating=data.get("rating"),
                answer=data.get("answer"),
                duration_ms=data.get("duration_ms"),
                now=now,
            )
        except ReviewCard.DoesNotExist:
            raise NotFound("No such card in your deck.") from None
        except services.CardNotDue as not_due:
            return error_response("This card is not due yet.", Conflict.status_code, due=not_due.due)
        except services.ReviewInputError as error:
            raise ValidationError({error.field: [error.message]}) from None
        from drops.days import local_date

        card = result.review_card.card
        payload = {
            "card_id": result.review_card.pk,
            "rating": result.rating,
            "correct": result.correct,
            "answer": card.answer,
            "explanation": card.explanation,
            "next_due": result.review_card.due,
            "state": ReviewCard.State(result.review_card.state).name.lower(),
            "retrievability": result.retrievability,
            "remaining": result.remaining,
            "streak": selectors.streak_view(result.streak, local_date(now, request.user.profile.zone)),
        }
        return Response(self.OutputSerializer(payload).data)


class ReviewCheckApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewCheckInput"

        answer = serializers.CharField(max_length=services.ANSWER_MAX_LENGTH)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewCheck"

        correct = serializers.BooleanField()
        suggested_rating = serializers.IntegerField(min_value=1, max_value=4, help_text="1 when wrong, 3 when right.")
        answer = serializers.CharField()
        explanation = serializers.CharField(allow_blank=True)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(ERROR),
            401: OpenApiResponse(ERROR),
            404: OpenApiResponse(ERROR, description="Not a checked card of your deck."),
        },
        tags=["daily loop"],
        summary="Check a choice or numeric answer without recording it (then rate it)",
        description="The first step for a checked card: show the learner `correct`, their answer beside "
        "`answer` and the `explanation`, offer `suggested_rating` (Good when right, Again when wrong) and "
        "let them keep or change it; then `POST /api/reviews/{card_id}/` with the same answer and that "
        "rating. Nothing is recorded and the card stays due until it is rated.",
    )
    def post(self, request, card_id: int):
        data = validated(self.InputSerializer, request.data)
        try:
            review_card = selectors.review_card_for(user=request.user, review_card_id=_id(card_id))
        except ReviewCard.DoesNotExist:
            raise NotFound("No such card in your deck.") from None
        card = review_card.card
        if card.kind == RecallCard.Kind.RECALL:
            raise NotFound("Free-recall cards are self-rated; there is nothing to check.")
        correct = services.answer_is_correct(card, data["answer"])
        return Response(
            self.OutputSerializer(
                {
                    "correct": correct,
                    "suggested_rating": services.suggested_rating(correct),
                    "answer": card.answer,
                    "explanation": card.explanation,
                }
            ).data
        )


class ReviewSessionApi(APIView):
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewSession"

        remaining = serializers.IntegerField(help_text="Cards left in today's session.")
        held_back = serializers.IntegerField(help_text="Due cards held back by the daily review cap.")
        counts = SESSION_COUNTS
        done = serializers.IntegerField(
            help_text="Ratings given in the session under way; 0 once the last rating is over 30 minutes old."
        )
        last_session = inline_serializer(
            "ReviewSessionStats",
            {
                "reviews": serializers.IntegerField(help_text="Ratings given."),
                "cards": serializers.IntegerField(help_text="Distinct cards rated."),
                "right": serializers.IntegerField(
                    help_text="Checked answers that were right, plus free-recall cards not rated Again."
                ),
                "accuracy": serializers.FloatField(allow_null=True, min_value=0, max_value=1),
                "seconds": serializers.IntegerField(help_text="Time on the cards, capped per card."),
                "started_at": serializers.DateTimeField(allow_null=True),
                "ended_at": serializers.DateTimeField(allow_null=True),
                "active": serializers.BooleanField(help_text="A rating now continues this session."),
            },
            help_text="The latest run of ratings today with no pause over 30 minutes (empty when none).",
        )
        next_due = serializers.DateTimeField(
            allow_null=True, help_text="When the next card comes due, once none is left today; else null."
        )
        due_by_tomorrow = serializers.IntegerField(help_text="Cards due before the end of your next local day.")
        streak = StreakSerializer()

    @extend_schema(
        responses={200: OutputSerializer, 401: OpenApiResponse(ERROR), 403: OpenApiResponse(ERROR)},
        tags=["daily loop"],
        summary="Today's review session: live counters and the summary (cards, accuracy, time, what's next)",
    )
    def get(self, request):
        now = timezone.now()
        profile = profile_of(request.user)
        session = selectors.due_session(user=request.user, now=now, limit=1)
        stats = selectors.review_session_stats(user=request.user, now=now, zone=profile.zone)
        outlook = selectors.review_outlook(user=request.user, now=now, zone=profile.zone)
        plan = selectors.today_plan(user=request.user, now=now, first_cards=0)
        left = session.counts.in_session
        payload = {
            "remaining": left,
            "held_back": session.counts.capped,
            "counts": session_counts(session.counts),
            "done": stats.reviews if stats.is_active(now) else 0,
            "last_session": {
                "reviews": stats.reviews,
                "cards": stats.cards,
                "right": stats.right,
                "accuracy": stats.right / stats.reviews if stats.reviews else None,
                "seconds": stats.seconds,
                "started_at": stats.started_at,
                "ended_at": stats.last_at,
                "active": stats.is_active(now),
            },
            "next_due": outlook.next_due if not left and outlook.next_due and outlook.next_due > now else None,
            "due_by_tomorrow": outlook.due_by_tomorrow,
            "streak": plan.streak,
        }
        return Response(self.OutputSerializer(payload).data)


class ProgressApi(APIView):
    learner_entries = ("api:progress",)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Progress"

        paths = inline_serializer(
            "PathProgress",
            {
                "slug": serializers.SlugField(),
                "title": serializers.CharField(),
                "drops_done": serializers.IntegerField(),
                "drops_total": serializers.IntegerField(),
                "phases": inline_serializer(
                    "PhaseProgress",
                    {
                        "slug": serializers.SlugField(),
                        "title": serializers.CharField(),
                        "position": serializers.IntegerField(),
                        "done": serializers.IntegerField(),
                        "total": serializers.IntegerField(),
                    },
                    many=True,
                ),
            },
            many=True,
        )
        drops_done = serializers.IntegerField()
        drops_total = serializers.IntegerField()
        read_ahead = READ_AHEAD_DROP
        activity = inline_serializer(
            "ActivityDay",
            {
                "date": serializers.DateField(),
                "minutes": serializers.IntegerField(),
                "reviews": serializers.IntegerField(),
                "drops_completed": serializers.IntegerField(),
                "counts_for_streak": serializers.BooleanField(),
                "goal_met": serializers.BooleanField(),
            },
            many=True,
            help_text="The last 14 local days, oldest first.",
        )
        goal_minutes = serializers.IntegerField()
        streak = StreakSerializer()
        reviews_done = serializers.IntegerField()
        cards_in_deck = serializers.IntegerField()
        cards_reviewed = serializers.IntegerField()
        average_retrievability = serializers.FloatField(allow_null=True, min_value=0, max_value=1)
        challenges = inline_serializer(
            "ChallengeStatus",
            {
                "slug": serializers.SlugField(),
                "kind": serializers.CharField(help_text="The challenge kind that grades it."),
                "title": serializers.CharField(),
                "drop_id": serializers.IntegerField(allow_null=True),
                "status": serializers.ChoiceField(choices=["not_tried", "attempted", "passed"]),
                "best_score": serializers.FloatField(allow_null=True),
                "attempts": serializers.IntegerField(),
                "url": serializers.CharField(),
            },
            many=True,
        )

    @extend_schema(
        responses={200: OutputSerializer, 401: OpenApiResponse(ERROR), 403: OpenApiResponse(ERROR)},
        tags=["daily loop"],
        summary="Your progress: phases, 14-day activity, streaks, reviews, retention and challenges",
    )
    def get(self, request):
        now = timezone.now()

        def build():
            summary, valid_until = selectors.progress_summary_until(user=request.user, now=now)
            cards = summary["reviewed_cards"]
            output = {**summary, "average_retrievability": selectors.average_retrievability(cards, now)}
            return self.OutputSerializer(output).data, cards, valid_until

        return cached_response(request, name="api:progress", now=now, build=build)


def _id(value: int) -> int:
    if not 0 < int(value) <= MAX_ID:
        raise NotFound("Not found.")
    return int(value)


def _get_drop(drop_id: int) -> Drop:
    try:
        return Drop.objects.select_related("path", "phase").get(pk=_id(drop_id))
    except Drop.DoesNotExist:
        raise NotFound("No such drop.") from None


def _locked(unlocks_at, read_ahead_limit_reached: bool = False) -> Response:
    message = "This drop is locked." + (" It unlocks at the time given." if unlocks_at else "")
    if read_ahead_limit_reached:
        message += " You have read ahead as many drops as your daily limit allows today."
        return error_response(message, status.HTTP_403_FORBIDDEN, unlocks_at=unlocks_at, read_ahead_limit_reached=True)
    return error_response(message, status.HTTP_403_FORBIDDEN, unlocks_at=unlocks_at)


# ---------- the learner's own cards ----------


class CardItemSerializer(serializers.Serializer):
    class Meta:
        ref_name = "DeckCard"

    id = serializers.IntegerField(help_text="The deck card's id (the one rated, suspended and resumed).")
    kind = serializers.ChoiceField(choices=RecallCard.Kind.choices, source="card.kind")
    prompt = serializers.CharField(source="card.prompt")
    drop = inline_serializer("DeckCardDrop", {"id": serializers.IntegerField(), "title": serializers.CharField()})
    state = serializers.ChoiceField(
        choices=list(selectors.CARD_FILTER_STATES),
        help_text="new: never reviewed; learning: in the Learning or Relearning state; review: in the Review "
        "state; suspended: out of reviews until resumed (whatever its FSRS state).",
    )
    due = serializers.DateTimeField(help_text="The next review FSRS scheduled (kept while suspended).")
    last_review = serializers.DateTimeField(allow_null=True)
    suspended_at = serializers.DateTimeField(allow_null=True)
    retrievability = serializers.FloatField(
        min_value=0,
        max_value=1,
        allow_null=True,
        help_text="The probability of recall now (py-fsrs) of a card reviewed at least once; null for a new card.",
    )


def card_item(review_card: ReviewCard, now, fsrs_scheduler) -> dict:
    card = review_card.card
    return {
        "id": review_card.pk,
        "card": card,
        "drop": {"id": card.drop_id, "title": card.drop.title},
        "state": selectors.card_list_state(review_card),
        "due": review_card.due,
        "last_review": review_card.last_review,
        "suspended_at": review_card.suspended_at,
        "retrievability": (
            scheduling.retrievability(review_card, now, fsrs_scheduler) if review_card.last_review else None
        ),
    }


class CardPagination(PageNumberPagination):
    page_size = 50


class CardListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        drop = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="A drop's id.")
        state = serializers.ChoiceField(choices=list(selectors.CARD_FILTER_STATES), required=False)
        page = serializers.IntegerField(min_value=1, required=False, help_text="The page, 50 cards each.")

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DeckCardPage"

        count = serializers.IntegerField(help_text="Cards matching the filters, on all pages.")
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        results = CardItemSerializer(many=True)

    @extend_schema(
        parameters=[FilterSerializer],
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(ERROR),
            401: OpenApiResponse(ERROR),
            404: OpenApiResponse(ERROR, description="A page past the last one."),
        },
        tags=["cards"],
        summary="Your cards with their state, next review and probability of recall (50 a page)",
    )
    def get(self, request):
        filters = validated(self.FilterSerializer, request.query_params) if request.query_params else {}
        now = timezone.now()
        cards = selectors.card_list(user=request.user, drop_id=filters.get("drop"), state=filters.get("state"))
        paginator = CardPagination()
        page = paginator.paginate_queryset(cards, request, view=self)
        fsrs_scheduler = scheduling.scheduler()
        results = [card_item(review_card, now, fsrs_scheduler) for review_card in page]
        payload = {
            "count": paginator.page.paginator.count,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": results,
        }
        return Response(self.OutputSerializer(payload).data)


class _CardChangeApi(APIView):
    change = staticmethod(services.review_card_suspend)

    def post(self, request, card_id: int):
        try:
            review_card = type(self).change(user=request.user, review_card_id=_id(card_id))
        except ReviewCard.DoesNotExist:
            raise NotFound("No such card in your deck.") from None
        return Response(CardItemSerializer(card_item(review_card, timezone.now(), scheduling.scheduler())).data)


_CHANGE_RESPONSES = {
    200: CardItemSerializer,
    401: OpenApiResponse(ERROR),
    404: OpenApiResponse(ERROR, description="Not a card of your deck."),
}


class CardSuspendApi(_CardChangeApi):
    change = staticmethod(services.review_card_suspend)

    @idempotent
    @extend_schema(
        request=None,
        responses=_CHANGE_RESPONSES,
        tags=["cards"],
        summary="Suspend a card: out of reviews and every count until resumed (idempotent)",
    )
    def post(self, request, card_id: int):
        return super().post(request, card_id)


class CardResumeApi(_CardChangeApi):
    change = staticmethod(services.review_card_resume)

    @idempotent
    @extend_schema(
        request=None,
        responses=_CHANGE_RESPONSES,
        tags=["cards"],
        summary="Resume a suspended card: back into reviews with the schedule it had (idempotent)",
    )
    def post(self, request, card_id: int):
        return super().post(request, card_id)
