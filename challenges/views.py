"""Browser pages for challenges: the index, the challenge page (JS submits through the API), the verdict
fragment the page's script polls while a submission is graded, and the drop panel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache

from challenges import selectors, services
from challenges.content import hint_html
from challenges.kinds import KINDS
from challenges.models import Challenge
from challenges.templatetags.challenge_verdicts import BADGES
from learnpath import idempotency
from learnpath import services as learnpath_services

STANDING_LABELS = {"not_tried": "Not tried", "attempted": "Attempted", "passed": "Passed"}


def entrypoint_signature(challenge: Challenge) -> str:
    """``train_student(student, teacher, ...)``: the function the learner defines, as the kind calls it."""
    info = KINDS.get(challenge.kind)
    return f"{challenge.entrypoint}({', '.join(info.parameters)})" if info else challenge.entrypoint


@login_required
def challenge_list_page(request):
    """Every challenge of the path, in the drops' order, with the learner's status on each."""
    items = []
    for item in selectors.challenge_progress(user=request.user):
        info = KINDS.get(item["kind"])
        items.append(
            {
                **item,
                "kind_summary": info.summary if info else "",
                "label": STANDING_LABELS[item["status"]],
                "badge": BADGES[item["status"]],
            }
        )
    return render(request, "challenges/challenge_list.html", {"items": items})


@login_required
def challenge_page(request, slug: str):
    challenge = selectors.challenge_get(slug=slug)
    if challenge is None:
        raise Http404("No such challenge.")
    if request.method == "POST":
        # Without JavaScript the same form still works: submit, or reveal a hint, then come back here.
        return _post(request, challenge)
    standing = selectors.challenge_standing(user=request.user, challenge=challenge)
    history = list(selectors.submission_history(user=request.user, challenge=challenge))
    hints = selectors.hints_revealed(user=request.user, challenge=challenge)
    context = {
        "challenge": challenge,
        "standing": standing,
        "standing_label": STANDING_LABELS[standing.status],
        "standing_badge": BADGES[standing.status],
        "signature": entrypoint_signature(challenge),
        "history": history,
        "latest": history[0] if history else None,
        "latest_progress": _progress(history[0]) if history else None,
        "code": history[0].code if history else challenge.starter_code,
        "hints": [hint_html(hint) for hint in hints],
        "examples": KINDS[challenge.kind].examples,
        "examples_note": KINDS[challenge.kind].examples_note,
        "hints_left": len(challenge.hints) - len(hints),
        "solution": challenge.solution_code if standing.status == selectors.PASSED else None,
        "max_code_bytes": services.MAX_CODE_BYTES,
    }
    return render(request, "challenges/challenge.html", context)


@never_cache
@login_required
def submission_verdict(request, slug: str, submission_id: int):
    """One of the learner's own submissions as the ``_verdict.html`` fragment; 404 for anyone else's.

    The page's script polls it while the submission is graded (its phase, queue position and wait), and
    swaps in the final verdict from it.
    """
    submission = selectors.submission_get(user=request.user, submission_id=submission_id)
    if submission is None or submission.challenge.slug != slug:
        raise Http404("No such submission.")
    return render(request, "challenges/_verdict.html", {"submission": submission, "progress": _progress(submission)})


def _progress(submission) -> selectors.GradingProgress:
    return selectors.submission_progress(submissions=[submission])[submission.pk]


@idempotency.idempotent
def _post(request, challenge: Challenge):
    if request.POST.get("action") == "hint":
        try:
            services.hint_reveal(user=request.user, challenge=challenge)
        except services.NoHintsLeft:
            messages.info(request, "You have seen every hint for this challenge.")
            return idempotency.refused(redirect(challenge))
    else:
        try:
            services.submission_create(
                user=request.user,
                challenge=challenge,
                code=request.POST.get("code", ""),
                client_network=learnpath_services.client_network(request),
            )
        except services.SubmissionRejected as rejected:
            messages.error(request, rejected.message)
            return idempotency.refused(redirect(challenge))
        else:
            messages.success(request, "Submitted. Reload this page in a few seconds for the verdict.")
    return redirect(challenge)


def drop_challenges_contents(drops) -> dict[int, list[dict[str, str | None]]]:
    """For the path outline: the active challenges each drop introduces."""
    found: dict[int, list[dict[str, str | None]]] = {}
    for challenge in selectors.challenge_list().filter(drop__in=drops).order_by("drop__position", "position"):
        found.setdefault(challenge.drop_id, []).append({"kind": "challenge", "title": challenge.title, "url": None})
    return found


def drop_challenges_panel(request, drop) -> str | None:
    """The challenges a drop introduces, with the learner's status: rendered below the drop's lesson."""
    challenges = list(selectors.challenge_list().filter(drop=drop))
    if not challenges:
        return None
    standings = selectors.challenge_standings(user=request.user, challenges=challenges)
    items = []
    for challenge in challenges:
        standing = standings.get(challenge.pk, selectors.NOT_TRIED_STANDING)
        items.append(
            {
                "challenge": challenge,
                "standing": standing,
                "label": STANDING_LABELS[standing.status],
                "badge": BADGES[standing.status],
            }
        )
    return render_to_string("challenges/_drop_panel.html", {"items": items}, request=request)
