"""Browser pages for the daily loop: Today, the drop reader, the review session, progress, unsubscribe.

Every page works without JavaScript (forms post back here); drops/daily.js adds the reading timer and the
review keyboard (Space reveals, 1–4 rate).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from drops import selectors, services
from drops.extras import render_extras
from drops.models import Drop, RecallCard, ReviewCard
from drops.reminders import unsubscribe_user_id
from learnpath import selectors as learnpath_selectors
from learnpath import services as learnpath_services

RATINGS = [
    (1, "Again", "Forgot it"),
    (2, "Hard", "Recalled with effort"),
    (3, "Good", "Recalled"),
    (4, "Easy", "Knew it"),
]


@login_required
def today(request):
    now = timezone.now()
    plan = selectors.today_plan(user=request.user, now=now, first_cards=0)
    percent = min(100, round(100 * plan.minutes / plan.goal_minutes)) if plan.goal_minutes else 100
    enrolled = {path.pk for path in plan.paths}
    # The home page sends signed-in learners here, so the paths they can still join are listed here.
    others = [path for path in learnpath_selectors.path_list() if path.pk not in enrolled]
    return render(request, "drops/today.html", {"plan": plan, "goal_percent": percent, "other_paths": others})


@login_required
def drop_page(request, drop_id: int):
    drop = get_object_or_404(Drop.objects.select_related("path", "phase"), pk=drop_id)
    state = selectors.drop_state(user=request.user, drop=drop, now=timezone.now())
    if state.state == "locked":
        return render(request, "drops/locked.html", {"drop": drop, "state": state}, status=403)
    previous, following = selectors.drop_neighbours(drop)
    following_state = selectors.drop_state(user=request.user, drop=following, now=timezone.now()) if following else None
    context = {
        "drop": drop,
        "state": state,
        "previous": previous,
        "following": following,
        "following_state": following_state,
        "extras": render_extras(request, drop),
        "has_temperature_demo": 'data-demo="temperature"' in drop.body_html,
    }
    return render(request, "drops/drop.html", context)


@login_required
@require_POST
def drop_complete(request, drop_id: int):
    drop = get_object_or_404(Drop, pk=drop_id)
    try:
        seconds = max(0, min(int(request.POST.get("seconds_spent", "0")), 86_400))
    except ValueError:
        seconds = 0
    try:
        result = services.drop_complete(user=request.user, drop=drop, seconds_spent=seconds)
    except services.DropLocked:
        messages.error(request, "That drop is still locked.")
        return redirect("drop", drop_id=drop.pk)
    if result.newly_completed:
        text = f"Drop {drop.position} done."
        if result.cards_added:
            text += f" {result.cards_added} new card{'s' if result.cards_added != 1 else ''} to review."
        messages.success(request, text)
    return redirect("today")


@login_required
def review_session(request):
    now = timezone.now()
    session = selectors.due_session(user=request.user, now=now, limit=1)
    context = {"counts": session.counts, "ratings": RATINGS}
    if session.cards:
        context.update(_card_context(session.cards[0], now))
    return render(request, "drops/review.html", context)


@login_required
@require_POST
def review_rate(request, card_id: int):
    """Rate a card; a checked card's answer is checked first and, when right, the learner confirms the rating."""
    now = timezone.now()
    try:
        review_card = selectors.review_card_for(user=request.user, review_card_id=card_id)
    except ReviewCard.DoesNotExist:
        raise Http404("No such card in your deck.") from None
    answer = request.POST.get("answer")
    rating = _int_or_none(request.POST.get("rating"))
    duration_ms = _int_or_none(request.POST.get("duration_ms"))
    checked = review_card.card.kind != RecallCard.Kind.RECALL
    if checked and rating is None and answer is not None and answer.strip():
        # First step: show whether the answer is right; a wrong one is recorded as Again straight away.
        if services.answer_is_correct(review_card.card, answer):
            profile = learnpath_services.profile_for(request.user)
            counts = selectors.due_counts(user=request.user, now=now, zone=profile.zone, cap=profile.daily_review_cap)
            context = {"counts": counts, "ratings": RATINGS, "checked_answer": answer, "correct": True}
            context.update(_card_context(review_card, now))
            return render(request, "drops/review.html", context)
    try:
        result = services.review_card_rate(
            user=request.user,
            review_card_id=review_card.pk,
            rating=rating,
            answer=answer if checked else None,
            duration_ms=max(0, min(duration_ms, 86_400_000)) if duration_ms is not None else None,
            now=now,
        )
    except services.CardNotDue:
        return redirect("review")
    except services.ReviewInputError as error:
        messages.error(request, error.message)
        return redirect("review")
    if result.correct is False:
        messages.warning(
            request, f"Not quite: the answer is {review_card.card.answer}. {review_card.card.explanation}".strip()
        )
    next_due = timezone.localtime(result.review_card.due)
    messages.info(
        request, f"Rated {dict((r[0], r[1]) for r in RATINGS)[result.rating]}. Next review {next_due:%a %d %b, %H:%M}."
    )
    return redirect("review")


def _card_context(review_card: ReviewCard, now) -> dict:
    return {
        "review_card": review_card,
        "card": review_card.card,
        "retrievability": round(100 * services.retrievability(review_card, now)),
        "state_label": ReviewCard.State(review_card.state).label,
    }


@login_required
def progress_page(request):
    summary = selectors.progress_summary(user=request.user, now=timezone.now())
    max_minutes = max([day["minutes"] for day in summary["activity"]] + [summary["goal_minutes"], 1])
    days = []
    for index, day in enumerate(summary["activity"]):
        minutes = day["minutes"]
        level = 0 if minutes == 0 else min(4, 1 + (3 * minutes) // max_minutes)
        days.append({**day, "level": level, "x": index * 22, "is_today": index == len(summary["activity"]) - 1})
    phases = []
    row = 0
    for path in summary["paths"]:
        for phase in path["phases"]:
            percent = round(100 * phase["done"] / phase["total"]) if phase["total"] else 0
            phases.append({**phase, "path": path["title"], "percent": percent, "y": row * 36, "width": percent * 3})
            row += 1
    average = summary["average_retrievability"]
    from plans.selectors import plans_for

    context = {
        "summary": summary,
        "plans": list(plans_for(user=request.user)[:20]),
        "days": days,
        "phases": phases,
        "bars_height": max(36, row * 36),
        "retention": round(100 * average) if average is not None else None,
    }
    return render(request, "drops/progress.html", context)


@csrf_exempt  # the signed token is the credential; mail providers POST without a CSRF cookie (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """One click from the reminder email: a GET shows the button, a POST (the click, or RFC 8058) unsubscribes."""
    user_id = unsubscribe_user_id(token)
    if user_id is None:
        return render(request, "drops/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        from django.contrib.auth.models import User

        user = get_object_or_404(User, pk=user_id)
        learnpath_services.profile_update(user=user, email_reminders=False)
        return render(request, "drops/unsubscribe.html", {"done": True})
    return render(request, "drops/unsubscribe.html", {"token": token})


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
