"""``{% idempotency_key_input %}``: a form's hidden ``idempotency_key``, so that posting it twice does it once.

Every render gets a fresh key: a page shown again after a successful post (a redirect back to it) carries a new
one, while a double-click or a browser's resubmission of the same page sends the same key and gets a replay.
"""

from django import template
from django.utils.html import format_html

from learnpath.idempotency import FORM_FIELD, new_key

register = template.Library()


@register.simple_tag
def idempotency_key_input() -> str:
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_FIELD, new_key())
