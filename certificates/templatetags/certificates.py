"""``{% certificate_panel %}`` (every path) or ``{% certificate_panel path_slug %}``: the learner's certificates."""

from __future__ import annotations

from django import template
from django.utils import timezone

from certificates import selectors
from learnpath.cache import learner_cached

register = template.Library()


@register.inclusion_tag("certificates/_panel.html", takes_context=True)
def certificate_panel(context, path=None) -> dict:
    """Cached per learner: issuing, naming or revoking a certificate makes it stale (certificates.services);
    nothing for a visitor."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}

    def valid() -> tuple[list, None]:
        if path is None:
            return list(selectors.certificates_for(user=user).filter(revoked_at=None)), None
        certificate = selectors.certificates_for(user=user).filter(path__slug=str(path)).first()
        return ([certificate] if certificate and certificate.is_valid else []), None

    name = f"certificates:{path or ''}"
    return {"show": True, "certificates": learner_cached(user_id=user.pk, name=name, now=timezone.now(), compute=valid)}
