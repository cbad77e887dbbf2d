"""The daily loop's API: one thin view per operation, its serializers beside it; services change state."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from drops import selectors, services
from drops.models import Drop, RecallCard, ReviewCard
from drops.selectors import CardMemory
from learnpath.api.errors import Conflict, error_response
from learnpath.api.validation import validated
from learnpath.api.views import ERROR
from learnpath.cache import learner_cached
from learnpath.selectors import profile_of

MAX_ID = 2**63 - 1
LOCKED = inline_serializer(
    "DropLockedError",
    {
        "detail": serializers.CharField(),
        "unlocks_at": serializers.DateTimeField(
            allow_null=True, help_text="When the drop unlocks; null until the drop before it is completed."
        ),
    },
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
        min_value=0, max_value=1, help_text="Probability of recall now (FSRS); 0 before the first review."
    )


def card_payload(review_card: ReviewCard, now, fsrs_scheduler=None) -> dict:
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
        "retrievability": services.retrievability(review_card, now, fsrs_scheduler),
    }


def cached_output(request, *, name: str, now, build) -> tuple[dict, list[CardMemory]]:
    """An endpoint's serialized output, from the learner's cache while it holds (learnpath.cache).

    ``build()`` returns ``(output, cards, valid_until)``: the serialized output, the FSRS state of the cards
    whose probability of recall it shows (that moves with time, so callers work it out on every read) and
    when time alone changes the rest. Dates are written in the active timezone, so that is part of the key.
    """

    def compute():
        output, cards, valid_until = build()
        return (dict(output), cards), valid_until

    key = f"api:{name}:{timezone.get_current_timezone_name()}"
    return learner_cached(user_id=request.user.pk, name=key, now=now, compute=compute)


def with_recall(output: dict, key: str, cards: list[CardMemory], now) -> dict:
    """``output`` with each card under ``key`` given its probability of recall at ``now``."""
    fsrs_scheduler = services.scheduler()
    fresh = [
        {**shown, "retrievability": services.retrievability(card, now, fsrs_scheduler)}
        for shown, card in zip(output[key], cards, strict=True)
    ]
    return {**output, key: fresh}


class TodayApi(APIView):
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

    @extend_schema(
        responses={200: OutputSerializer, 401: OpenApiResponse(ERROR), 403: OpenApiResponse(ERROR)},
        tags=["daily loop"],
        summary="Today's plan: the new drop, the reviews due, goal minutes and streak",
    )
    def get(self, request):
        now = timezone.now()

        def build():
            plan, valid_until = selectors.today_plan_until(user=request.user, now=now)
            output = self.OutputSerializer(self.payload(plan, now)).data
            return output, [CardMemory.of(card) for card in plan.first_cards], valid_until

        output, cards = cached_output(request, name="today", now=now, build=build)
        return Response(with_recall(output, "first_reviews", cards, now))

    @staticmethod
    def payload(plan: selectors.TodayPlan, now) -> dict:
        fsrs_scheduler = services.scheduler()
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
            "first_reviews": [card_payload(c, now, fsrs_scheduler) for c in plan.first_cards],
            "minutes": plan.minutes,
            "goal_minutes": plan.goal_minutes,
            "goal_met": plan.minutes >= plan.goal_minutes,
            "streak": plan.streak,
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
        estimated_minutes = serializers.IntegerField()
        body_html = serializers.CharField(allow_blank=True, help_text="Sanitized HTML.")
        sections = inline_serializer(
            "DropSection", {"id": serializers.CharField(), "title": serializers.CharField()}, many=True
        )
        state = serializers.ChoiceField(choices=["available", "completed"])
        completed_at = serializers.DateTimeField(allow_null=True)
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
    )
    def get(self, request, drop_id: int):
        drop = _get_drop(drop_id)
        state = selectors.drop_state(user=request.user, drop=drop, now=timezone.now())
        if state.state == "locked":
            return _locked(state.unlocks_at)
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
            "body_html": drop.body_html,
            "sections": drop.sections,
            "state": state.state,
            "completed_at": state.completed_at,
            "previous_id": previous.pk if previous else None,
            "next_id": following.pk if following else None,
        }
        return Response(self.OutputSerializer(payload).data)


class DropCompleteApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DropCompleteInput"

        seconds_spent = serializers.IntegerField(
            min_value=0, max_value=86_400, help_text="Seconds spent reading, as measured by the client (capped)."
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
        streak = StreakSerializer()

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
    )
    def post(self, request, drop_id: int):
        drop = _get_drop(drop_id)
        data = validated(self.InputSerializer, request.data)
        now = timezone.now()
        try:
            result = services.drop_complete(user=request.user, drop=drop, seconds_spent=data["seconds_spent"], now=now)
        except services.DropLocked as locked:
            return _locked(locked.unlocks_at)
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
            "streak": streak,
        }
        code = status.HTTP_201_CREATED if result.newly_completed else status.HTTP_200_OK
        return Response(self.OutputSerializer(payload).data, status=code)


class ReviewsDueApi(APIView):
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewsDue"

        remaining = serializers.IntegerField(help_text="Cards left in today's session.")
        held_back = serializers.IntegerField(help_text="Due cards held back by the daily review cap.")
        daily_cap = serializers.IntegerField()
        cards = ReviewCardSerializer(many=True)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description="How many cards (1–50, default 10).", required=False
            )
        ],
        responses={200: OutputSerializer, 400: OpenApiResponse(ERROR), 401: OpenApiResponse(ERROR)},
        tags=["daily loop"],
        summary="The cards due in today's review session, soonest first",
    )
    def get(self, request):
        limit = validated(_LimitSerializer, request.query_params.dict())["limit"]
        now = timezone.now()

        def build():
            session, valid_until = selectors.due_session_until(user=request.user, now=now, limit=limit)
            fsrs_scheduler = services.scheduler()
            payload = {
                "remaining": session.counts.in_session,
                "held_back": session.counts.capped,
                "daily_cap": profile_of(request.user).daily_review_cap,
                "cards": [card_payload(c, now, fsrs_scheduler) for c in session.cards],
            }
            return self.OutputSerializer(payload).data, [CardMemory.of(card) for card in session.cards], valid_until

        output, cards = cached_output(request, name=f"reviews-due:{limit}", now=now, build=build)
        return Response(with_recall(output, "cards", cards, now))


class _LimitSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=50, required=False, default=10)


class ReviewRateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewRateInput"

        rating = serializers.IntegerField(
            min_value=1,
            max_value=4,
            required=False,
            help_text="1 Again, 2 Hard, 3 Good, 4 Easy. Required for free-recall cards; for checked cards it "
            "defaults to Good when the answer is right and is Again whatever is sent when it is wrong.",
        )
        answer = serializers.CharField(
            max_length=services.ANSWER_MAX_LENGTH,
            required=False,
            help_text="Required for choice and numeric cards: the learner's answer, checked by the platform.",
        )
        duration_ms = serializers.IntegerField(
            min_value=0, max_value=86_400_000, required=False, help_text="Time on the card (capped for the goal)."
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
        retrievability = serializers.FloatField(min_value=0, max_value=1)
        remaining = serializers.IntegerField(help_text="Cards left in today's session.")
        streak = StreakSerializer()

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
                    "suggested_rating": 3 if correct else 1,
                    "answer": card.answer,
                    "explanation": card.explanation,
                }
            ).data
        )


class ProgressApi(APIView):
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
            output = self.OutputSerializer({**summary, "average_retrievability": None}).data
            return output, summary["reviewed_cards"], valid_until

        output, cards = cached_output(request, name="progress", now=now, build=build)
        return Response({**output, "average_retrievability": selectors.average_retrievability(cards, now)})


def _id(value: int) -> int:
    if not 0 < int(value) <= MAX_ID:
        raise NotFound("Not found.")
    return int(value)


def _get_drop(drop_id: int) -> Drop:
    try:
        return Drop.objects.select_related("path", "phase").get(pk=_id(drop_id))
    except Drop.DoesNotExist:
        raise NotFound("No such drop.") from None


def _locked(unlocks_at) -> Response:
    message = "This drop is locked." + (" It unlocks at the time given." if unlocks_at else "")
    return error_response(message, status.HTTP_403_FORBIDDEN, unlocks_at=unlocks_at)
