"""Extension point: other apps add panels below a drop's body (its challenges, the plan worksheet).

An app registers ``fn(request, drop) -> str | None`` in its ``AppConfig.ready``; the drop reader renders
every non-empty result, in registration order, below the lesson. An app can also register
``fn(drops) -> {drop_id: [{"kind", "title"}]}`` with ``register_contents``, so the path outline says what
each day holds (a challenge, a worksheet) before the learner opens it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.safestring import SafeString

DropExtra = Callable[..., "SafeString | str | None"]
_extras: list[DropExtra] = []


def register(fn: DropExtra) -> DropExtra:
    if fn not in _extras:
        _extras.append(fn)
    return fn


def render_extras(request, drop) -> list[SafeString]:
    rendered = (fn(request, drop) for fn in _extras)
    return [SafeString(html) for html in rendered if html]


# What a drop holds beyond its text, for the path outline: each provider takes the path's drops and returns
# ``{drop_id: [{"kind": ..., "title": ..., "url": ... or None}]}``; the drop's own demos (linked to the public
# demos page) come first, then each app's, in registration order.
DropContents = Callable[[list], dict[int, list[dict[str, str | None]]]]
_contents: list[DropContents] = []


def register_contents(fn: DropContents) -> DropContents:
    if fn not in _contents:
        _contents.append(fn)
    return fn


def drop_contents(drops: list) -> dict[int, list[dict[str, str | None]]]:
    """The demos, challenges and worksheets of ``drops`` (plain data, so it caches with the outline)."""
    from django.urls import reverse

    from drops.demos import demos_in_html

    public = reverse("demos")
    found = {
        drop.pk: [
            {"kind": "demo", "title": demo.title, "url": f"{public}#{demo.anchor}"}
            for demo in demos_in_html(drop.body_html)
        ]
        for drop in drops
    }
    for provider in _contents:
        for drop_id, items in provider(drops).items():
            found.setdefault(drop_id, []).extend(items)
    return found
