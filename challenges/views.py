"""Browser pages for challenges: the challenge page (JS submits and polls the API), and the drop panel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string

from challenges import selectors, services
from challenges.models import Challenge

BADGES = {
    "passed": "badge-passed",
    "failed": "badge-failed",
    "error": "badge-failed",
    "timeout": "badge-failed",
    "queued": "badge-running",
    "running": "badge-running",
    "attempted": "badge-failed",
    "not_tried": "badge-available",
}
STANDING_LABELS = {"not_tried": "Not tried", "attempted": "Attempted", "passed": "Passed"}


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
        "history": [(s, BADGES[s.status]) for s in history],
        "latest": history[0] if history else None,
        "code": history[0].code if history else challenge.starter_code,
        "hints": hints,
        "hints_left": len(challenge.hints) - len(hints),
        "solution": challenge.solution_code if standing.status == selectors.PASSED else None,
        "max_code_bytes": services.MAX_CODE_BYTES,
    }
    return render(request, "challenges/challenge.html", context)


def _post(request, challenge: Challenge):
    if request.POST.get("action") == "hint":
        try:
            services.hint_reveal(user=request.user, challenge=challenge)
        except services.NoHintsLeft:
            messages.info(request, "You have seen every hint for this challenge.")
    else:
        try:
            services.submission_create(user=request.user, challenge=challenge, code=request.POST.get("code", ""))
        except services.SubmissionRejected as rejected:
            messages.error(request, rejected.message)
        else:
            messages.success(request, "Submitted. Reload this page in a few seconds for the verdict.")
    return redirect(challenge)


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
