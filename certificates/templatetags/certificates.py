"""``{% certificate_panel %}`` (every path) or ``{% certificate_panel path_slug %}``: the learner's certificates."""

from __future__ import annotations

from django import template

from certificates import selectors

register = template.Library()


@register.inclusion_tag("certificates/_panel.html", takes_context=True)
def certificate_panel(context, path=None) -> dict:
    """Read fresh (a verdict from a grading worker may have just issued it); nothing for a visitor."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    if path is None:
        return {"show": True, "certificates": list(selectors.certificates_for(user=user).filter(revoked_at=None))}
    certificate = selectors.certificates_for(user=user).filter(path__slug=str(path)).first()
    return {"show": True, "certificates": [certificate] if certificate and certificate.is_valid else []}
