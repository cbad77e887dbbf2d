"""Browser pages for the daily loop."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from drops.models import Drop
from drops.selectors import drop_states


@login_required
def drop_page(request, drop_id: int):
    drop = get_object_or_404(Drop.objects.select_related("path", "phase"), pk=drop_id)
    state = drop_states(user=request.user, path=drop.path, now=timezone.now()).get(drop.pk)
    if state is None or state.state == "locked":
        return render(request, "drops/locked.html", {"drop": drop, "state": state}, status=403)
    return render(request, "drops/drop.html", {"drop": drop, "state": state})
