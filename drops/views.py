"""Browser pages for the daily loop: Today, the drop reader, the review session, progress, unsubscribe, and
the public demos page.

Every page works without JavaScript (forms post back here); drops/daily.js adds the reading timer and the
review keyboard (1–9 pick a choice, Enter checks, Space reveals, 1–4 rate).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from drops import intervals, scheduling, selectors, services
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
        context.update(_card_context(session.cards[0], now, request.user))
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
    context.update(_card_context(review_card, now, request.user))
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
        "ratings": rating_buttons(None, now, user),
        "stats": stats,
        # A rating after a long pause starts a new session: until then nothing is done in it.
        "done_in_session": stats.reviews if stats.is_active(now) else 0,
    }


def _card_context(review_card: ReviewCard, now, user=None) -> dict:
    card = review_card.card
    meaningful = selectors.recall_is_meaningful(review_card, now)
    context = {
        "review_card": review_card,
        "card": card,
        "choices": selectors.choice_order(review_card) if card.kind == RecallCard.Kind.CHOICE else [],
        "retrievability": round(100 * scheduling.retrievability(review_card, now)) if meaningful else None,
        "state_label": ReviewCard.State(review_card.state).label,
    }
    if user is not None:
        context["ratings"] = rating_buttons(review_card, now, user)
    return context


def rating_buttons(review_card: ReviewCard | None, now, user) -> list[dict]:
    """The four rating buttons, each with when the card would come back if chosen (none without a card)."""
    seconds = {}
    if review_card is not None:
        preview = intervals.preview_scheduler(desired_retention=learnpath_selectors.profile_of(user).retention)
        seconds = intervals.rating_intervals(review_card, now, preview)
    buttons = []
    for value, label, hint in RATINGS:
        interval = seconds.get(intervals.RATING_NAMES[value])
        buttons.append(
            {
                "value": value,
                "label": label,
                "hint": hint,
                "short": intervals.interval_short(interval) if interval is not None else "",
                "long": intervals.interval_long(interval) if interval is not None else "",
            }
        )
    return buttons


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


# ---------- the learner's own cards ----------

CARD_STATE_LABELS = {"new": "New", "learning": "Learning", "review": "Review", "suspended": "Suspended"}


@login_required
def cards_page(request):
    """Every card of the learner's deck with its state, next review and recall, filtered by drop and state
    (50 a page); each can be suspended or resumed, and a drop's cards practised."""
    now = timezone.now()
    drops = selectors.card_list_drops(user=request.user)
    drop_id = _int_or_none(request.GET.get("drop"))
    drop = next((d for d in drops if d.pk == drop_id), None)
    state = request.GET.get("state") if request.GET.get("state") in selectors.CARD_FILTER_STATES else None
    cards = selectors.card_list(user=request.user, drop_id=drop.pk if drop else None, state=state)
    page = Paginator(cards, 50).get_page(request.GET.get("page"))
    fsrs_scheduler = scheduling.scheduler()
    rows = []
    for review_card in page:
        row_state = selectors.card_list_state(review_card)
        recall = scheduling.retrievability(review_card, now, fsrs_scheduler) if review_card.last_review else None
        rows.append(
            {
                "review_card": review_card,
                "state": row_state,
                "state_label": CARD_STATE_LABELS[row_state],
                "recall": round(100 * recall) if recall is not None else None,
                "due_now": review_card.due <= now,
            }
        )
    filters = {key: value for key, value in (("drop", drop.pk if drop else None), ("state", state)) if value}
    context = {
        "rows": rows,
        "page": page,
        "drops": drops,
        "drop": drop,
        "state": state,
        "states": CARD_STATE_LABELS,
        "query": urlencode(filters),
        "page_query": urlencode({**filters, "page": page.number}),
    }
    return render(request, "drops/cards.html", context)


def _card_change(request, card_id: int, change, message: str):
    try:
        review_card = change(user=request.user, review_card_id=card_id)
    except ReviewCard.DoesNotExist:
        raise Http404("No such card in your deck.") from None
    messages.success(request, message.format(prompt=Truncator(review_card.card.prompt).chars(60)))
    query = request.POST.get("query", "")
    return redirect(reverse("cards") + (f"?{query}" if query and len(query) < 200 else ""))


@login_required
@require_POST
@idempotency.idempotent
def card_suspend(request, card_id: int):
    return _card_change(
        request, card_id, services.review_card_suspend, "Suspended “{prompt}”: it is out of your reviews."
    )


@login_required
@require_POST
@idempotency.idempotent
def card_resume(request, card_id: int):
    return _card_change(request, card_id, services.review_card_resume, "Resumed “{prompt}”: it is back in reviews.")


PRACTICE_QUEUE_MAX = 200


@login_required
def practice_page(request, drop_id: int):
    """Practise one drop's cards now, outside the schedule. Nothing is written: no FSRS state, no review log,
    no goal minutes, no streak. The queue of cards still to go travels in the URL: Again puts the card at its
    end, Got it takes it off; a choice or numeric answer is checked (GET ``answer``) without being recorded."""
    drop = get_object_or_404(Drop, pk=drop_id)
    cards = {review_card.pk: review_card for review_card in selectors.practice_cards(user=request.user, drop=drop)}
    if "queue" in request.GET:
        queue = [pk for pk in (_int_or_none(x) for x in request.GET["queue"].split(",")) if pk in cards]
        queue = queue[:PRACTICE_QUEUE_MAX]
    else:
        queue = list(cards)
    context = {"drop": drop, "total": len(cards), "queue_left": len(queue), "started": "queue" in request.GET}
    if queue:
        review_card = cards[queue[0]]
        rest = queue[1:]
        card = review_card.card
        context.update(
            {
                "review_card": review_card,
                "card": card,
                "choices": selectors.choice_order(review_card) if card.kind == RecallCard.Kind.CHOICE else [],
                "queue": ",".join(map(str, queue)),
                "again_queue": ",".join(map(str, [*rest, review_card.pk])),
                "next_queue": ",".join(map(str, rest)),
            }
        )
        answer = request.GET.get("answer", "").strip()[: services.ANSWER_MAX_LENGTH]
        if card.kind != RecallCard.Kind.RECALL and answer:
            context.update({"checked_answer": answer, "correct": services.answer_is_correct(card, answer)})
    return render(request, "drops/practice.html", context)
