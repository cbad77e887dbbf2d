"""Extension point: other apps add panels below a drop's body (its challenges, the plan worksheet).

An app registers ``fn(request, drop) -> str | None`` in its ``AppConfig.ready``; the drop reader renders
every non-empty result, in registration order, below the lesson.
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
