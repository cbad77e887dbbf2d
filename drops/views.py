"""Browser pages for the daily loop: Today, the drop reader, the review session, progress, unsubscribe, and
the public demos page.

Every page works without JavaScript (forms post back here); drops/daily.js adds the reading timer and the
review keyboard (1–9 pick a choice, Enter checks, Space reveals, 1–4 rate).
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
from drops.days import next_day_start
from drops.demos import DEMOS, demo_uses, demos_in_html
from drops.extras import render_extras
from drops.models import Drop, RecallCard, ReviewCard
from drops.reminders import unsubscribe_user_id
from learnpath import idempotency
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
    context = {"plan": plan, "goal_percent": percent, "other_paths": others}
    contents = _drop_contents(plan.paths)
    if plan.new_drop:
        context["new_drop_contents"] = contents.get(plan.new_drop.pk, [])
    elif plan.enrolled:
        # Today's drop is read (or none is left): say what tomorrow brings, so there is a reason to return.
        profile = learnpath_selectors.profile_of(request.user)
        context["outlook"] = selectors.review_outlook(user=request.user, now=now, zone=profile.zone)
        context["next_drop_contents"] = contents.get(plan.next_drop.pk, []) if plan.next_drop else []
        # After reading ahead, the next drop keeps its own day: tomorrow may bring none.
        context["no_drop_tomorrow"] = plan.next_unlock_at is not None and (
            plan.next_unlock_at >= next_day_start(next_day_start(now, profile.zone), profile.zone)
        )
    return render(request, "drops/today.html", context)


def _drop_contents(paths) -> dict[int, list[dict]]:
    """What each drop of ``paths`` holds (demos, challenges, worksheet), from the cached path outlines."""
    found: dict[int, list[dict]] = {}
    for path in paths:
        content = learnpath_selectors.path_content(path.slug) or {"phases": []}
        for phase in content["phases"]:
            found.update({drop["id"]: drop.get("contents", []) for drop in phase["drops"]})
    return found


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
        "demos": demos_in_html(drop.body_html),
    }
    return render(request, "drops/drop.html", context)


def demos_page(request):
    """Every interactive demo on one public page: no sign-in, nothing saved, nothing fetched."""
    uses = demo_uses()
    demos = [(demo, uses[demo.name]) for demo in DEMOS.values()]
    return render(request, "drops/demos.html", {"demos": demos})


@login_required
@require_POST
@idempotency.idempotent
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
        return idempotency.refused(redirect("drop", drop_id=drop.pk))
    if result.newly_completed:
        text = f"Drop {drop.position} done."
        if result.cards_added:
            text += f" {result.cards_added} new card{'s' if result.cards_added != 1 else ''} to review."
        if result.progress.completed_at < result.progress.unlocked_at:
            text += " Read ahead: the day it would have unlocked brings no new drop, only your reviews."
        messages.success(request, text)
    return redirect("today")


@login_required
def review_session(request):
    """The next card of today's session with live counters, or the session's summary once none is left."""
    now = timezone.now()
    session = selectors.due_session(user=request.user, now=now, limit=1)
    context = _session_context(request.user, now, session.counts)
    if session.cards:
        context.update(_card_context(session.cards[0], now))
    else:
        context.update(_summary_context(request.user, now, context["stats"]))
    return render(request, "drops/review.html", context)


@login_required
@require_POST
@idempotency.idempotent
def review_rate(request, card_id: int):
    """Check a choice or numeric answer (the same card then shows the feedback and the rating form), or rate.

    A check records nothing: the learner's answer, the right one and the explanation are shown, with the
    rating the check suggests (Good when right, Again when wrong) for the learner to confirm or change.
    """
    now = timezone.now()
    try:
        review_card = selectors.review_card_for(user=request.user, review_card_id=card_id)
    except ReviewCard.DoesNotExist:
        raise Http404("No such card in your deck.") from None
    answer = request.POST.get("answer")
    rating = _int_or_none(request.POST.get("rating"))
    duration_ms = _int_or_none(request.POST.get("duration_ms"))
    duration_ms = max(0, min(duration_ms, 86_400_000)) if duration_ms is not None else None
    checked = review_card.card.kind != RecallCard.Kind.RECALL
    if checked and rating is None and answer is not None and answer.strip():
        return _checked_card(request, review_card, answer.strip(), duration_ms, now)
    try:
        result = services.review_card_rate(
            user=request.user,
            review_card_id=review_card.pk,
            rating=rating,
            answer=answer if checked else None,
            duration_ms=duration_ms,
            now=now,
        )
    except services.CardNotDue:
        messages.info(request, "That card is not due any more; here is the next one.")
        return idempotency.refused(redirect("review"))
    except services.ReviewInputError as error:
        messages.error(request, error.message)
        return idempotency.refused(redirect("review"))
    next_due = timezone.localtime(result.review_card.due)
    messages.info(
        request, f"Rated {dict((r[0], r[1]) for r in RATINGS)[result.rating]}. Next review {next_due:%a %d %b, %H:%M}."
    )
    return redirect("review")


def _checked_card(request, review_card: ReviewCard, answer: str, duration_ms: int | None, now):
    profile = learnpath_selectors.profile_of(request.user)
    if not selectors.card_in_session(review_card, now, profile.zone):
        messages.info(request, "That card is not due any more; here is the next one.")
        return idempotency.refused(redirect("review"))
    if len(answer) > services.ANSWER_MAX_LENGTH:
        messages.error(request, f"An answer has at most {services.ANSWER_MAX_LENGTH} characters.")
        return idempotency.refused(redirect("review"))
    card = review_card.card
    correct = services.answer_is_correct(card, answer)
    counts = selectors.due_counts(user=request.user, now=now, zone=profile.zone, cap=profile.daily_review_cap)
    context = _session_context(request.user, now, counts)
    context.update(_card_context(review_card, now))
    context.update(
        {
            "checked_answer": answer,
            "correct": correct,
            "suggested": services.suggested_rating(correct),
            "suggested_label": dict((r[0], r[1]) for r in RATINGS)[services.suggested_rating(correct)],
            "check_duration_ms": duration_ms,
        }
    )
    if card.kind == RecallCard.Kind.CHOICE:
        given = " ".join(answer.split()).casefold()
        context["choice_results"] = [
            {
                "text": choice,
                "is_answer": services.answer_is_correct(card, choice),
                "is_given": " ".join(choice.split()).casefold() == given,
            }
            for choice in context["choices"]
        ]
        context["answer_listed"] = any(choice["is_given"] for choice in context["choice_results"])
    return render(request, "drops/review.html", context)


def _session_context(user, now, counts: selectors.DueCounts) -> dict:
    profile = learnpath_selectors.profile_of(user)
    stats = selectors.review_session_stats(user=user, now=now, zone=profile.zone)
    return {
        "counts": counts,
        "ratings": RATINGS,
        "stats": stats,
        # A rating after a long pause starts a new session: until then nothing is done in it.
        "done_in_session": stats.reviews if stats.is_active(now) else 0,
    }


def _card_context(review_card: ReviewCard, now) -> dict:
    card = review_card.card
    meaningful = selectors.recall_is_meaningful(review_card, now)
    return {
        "review_card": review_card,
        "card": card,
        "choices": selectors.choice_order(review_card) if card.kind == RecallCard.Kind.CHOICE else [],
        "retrievability": round(100 * services.retrievability(review_card, now)) if meaningful else None,
        "state_label": ReviewCard.State(review_card.state).label,
    }


def _summary_context(user, now, stats: selectors.SessionStats) -> dict:
    profile = learnpath_selectors.profile_of(user)
    plan = selectors.today_plan(user=user, now=now, first_cards=0)
    outlook = selectors.review_outlook(user=user, now=now, zone=profile.zone)
    return {
        "plan": plan,
        "session_just_ended": stats.is_active(now),
        "outlook": outlook,
        # Capped cards are overdue yet wait for tomorrow: only a moment still ahead is "next".
        "next_due": outlook.next_due if outlook.next_due and outlook.next_due > now else None,
    }


@login_required
def progress_page(request):
    now = timezone.now()
    summary = selectors.progress_summary(user=request.user, now=now)
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
        # The cards the average is over: right after a review FSRS says ~100% whatever the rating.
        "recall_cards": sum(1 for card in summary["reviewed_cards"] if selectors.recall_is_meaningful(card, now)),
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
