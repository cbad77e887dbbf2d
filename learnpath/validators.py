"""Rules shared by every form and serializer a learner fills in: the one Unicode rule for free text that is
shown back (certificate names, plan titles and notes), and numeric bounds that answer in words.

The text rule accepts any printable Unicode: every script, emoji with their zero-width joiners (👩‍💻), variation
selectors and skin tones, flag tag sequences, combining marks. It refuses only what is invisible and changes how
the text around it reads or is processed:

- control characters (category Cc), except a newline, carriage return or tab in multi-line text;
- line and paragraph separators (U+2028, U+2029);
- bidirectional controls: the embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069 and the marks
  U+200E, U+200F and U+061C. An override (U+202E) before "gnp.exe" shows it as "exe.png"; a learner's name
  or title has no need of them (the page lays out right-to-left text by itself);
- other format characters (category Cf: zero-width space, word joiner, byte-order mark, interlinear
  annotations…), except the zero-width joiner and non-joiner (emoji sequences, Persian and Indic scripts), the
  soft hyphen, the tag characters of subdivision flags (🏴󠁧󠁢󠁳󠁣󠁴󠁿) and the visible number signs of Arabic and Syriac;
- surrogates, private-use characters and the noncharacters (U+FFFE, U+FFFF and their kin).

Characters this Python's Unicode database does not know yet (newer emoji) are accepted.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

ZWNJ, ZWJ, SOFT_HYPHEN = "\u200c", "\u200d", "\u00ad"
MULTILINE_CONTROLS = frozenset("\n\r\t")
BIDI_CONTROLS = {
    "\u202a": "left-to-right embedding",
    "\u202b": "right-to-left embedding",
    "\u202c": "pop directional formatting",
    "\u202d": "left-to-right override",
    "\u202e": "right-to-left override",
    "\u2066": "left-to-right isolate",
    "\u2067": "right-to-left isolate",
    "\u2068": "first strong isolate",
    "\u2069": "pop directional isolate",
    "\u200e": "left-to-right mark",
    "\u200f": "right-to-left mark",
    "\u061c": "Arabic letter mark",
}
SEPARATORS = {"\u2028": "line separator", "\u2029": "paragraph separator"}
ALLOWED_FORMAT = frozenset({ZWNJ, ZWJ, SOFT_HYPHEN})
TAGS = range(0xE0020, 0xE0080)  # the tag characters of emoji subdivision flags
# Visible signs written before Arabic, Syriac and Kaithi numbers (Unicode's Prepended_Concatenation_Mark).
NUMBER_SIGNS = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd")

# Django's own username rule (letters of any script, digits and @ . + - _), said in words.
USERNAME_PATTERN = r"^[\w.@+-]+\Z"
USERNAME_MAX_LENGTH = 150
USERNAME_HELP = (
    f"Up to {USERNAME_MAX_LENGTH} characters: letters (of any alphabet), digits and the symbols @ . + - _. "
    "No spaces or emoji. Others see it, so pick one you are happy to show."
)
USERNAME_INVALID = (
    "Use only letters (of any alphabet), digits and the symbols @ . + - _ in a username: no spaces, emoji or "
    "other symbols."
)


def _kind(char: str, *, multiline: bool) -> str | None:
    """What ``char`` is when the rule refuses it, or None."""
    if char in BIDI_CONTROLS:
        return f"a bidirectional control character ({BIDI_CONTROLS[char]})"
    if char in SEPARATORS:
        return f"an invisible {SEPARATORS[char]}"
    category = unicodedata.category(char)
    if category == "Cc":
        if multiline and char in MULTILINE_CONTROLS:
            return None
        if char in MULTILINE_CONTROLS:
            return "a line break or tab"
        return "a control character"
    if category == "Cf":
        if char in ALLOWED_FORMAT or char in NUMBER_SIGNS or ord(char) in TAGS:
            return None
        name = unicodedata.name(char, "").lower()
        return f"an invisible formatting character ({name})" if name else "an invisible formatting character"
    if category == "Cs":
        return "a lone surrogate (not a character)"
    if category == "Co":
        return "a private-use character"
    codepoint = ord(char)
    if 0xFDD0 <= codepoint <= 0xFDEF or codepoint & 0xFFFE == 0xFFFE:
        return "a noncharacter"
    return None


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` breaks the shared Unicode rule, naming the first offending character and where it is; or
    None. Positions count characters (code points) from 1."""
    for index, char in enumerate(value):
        kind = _kind(char, multiline=multiline)
        if kind is None:
            continue
        before = value[max(0, index - 12) : index]
        where = f"character {index + 1}" + (f", after “{before}”" if before.strip() else "")
        return (
            f"Remove {kind}, U+{ord(char):04X} at {where}. Letters of any script, emoji, accents and punctuation "
            "are all fine; invisible control and direction characters are not."
        )
    return None


def validate_display_text(value: str) -> None:
    """The shared Unicode rule for single-line text shown back (names, titles)."""
    problem = text_problem(value)
    if problem:
        raise ValidationError(problem, code="invisible_character")


def validate_display_multiline_text(value: str) -> None:
    """The shared Unicode rule for multi-line text shown back (notes): newlines and tabs allowed too."""
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValidationError(problem, code="invisible_character")


def _escape(message: str) -> str:
    # Django formats a validator's message with %-style parameters.
    return message.replace("%", "%%")


def bounds(low, high, message: str) -> list:
    """Model validators for a number between ``low`` and ``high`` (inclusive) that answer ``message`` either way.

    Bounds the model states this way also keep Django from adding its own, the database's integer range (whose
    message names 9223372036854775807)."""
    return [MinValueValidator(low, message=_escape(message)), MaxValueValidator(high, message=_escape(message))]


def bounds_of(validators) -> tuple[object, object, str] | None:
    """(low, high, message) of a field whose validators came from ``bounds``; None otherwise."""
    low = next((v for v in validators if isinstance(v, MinValueValidator)), None)
    high = next((v for v in validators if isinstance(v, MaxValueValidator)), None)
    if low is None or high is None or low.message != high.message:
        return None
    return low.limit_value, high.limit_value, low.message.replace("%%", "%")


def drf_bounds(low, high, message: str) -> dict:
    """Keyword arguments giving a DRF number field the same bounds and message (DRF formats with ``{}``)."""
    text = message.replace("{", "{{").replace("}", "}}")
    return {"min_value": low, "max_value": high, "error_messages": {"min_value": text, "max_value": text}}


def form_bounds_apply(form) -> None:
    """Give each number field of a ModelForm its model's bounds and message, in place of Django's own checks.

    Django's form fields add "Ensure this value is greater than or equal to 0." (positive integer fields) and
    "Ensure that there are no more than 16 digits in total." (decimals), which would be shown beside, or instead
    of, the message the model states. A decimal with more places than the field keeps is rounded to them (as the
    API does), not refused. The browser gets the bounds as min and max."""
    from decimal import ROUND_HALF_EVEN, Decimal

    from django import forms
    from django.core.validators import DecimalValidator

    model = form._meta.model
    for name, field in form.fields.items():
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:  # a form-only field
            continue
        found = bounds_of(model_field.validators)
        if found is None or not isinstance(field, (forms.IntegerField, forms.DecimalField, forms.FloatField)):
            continue
        low, high, message = found
        field.validators = [
            *bounds(low, high, message),
            *(
                v
                for v in field.validators
                if not isinstance(v, (MinValueValidator, MaxValueValidator, DecimalValidator))
            ),
        ]
        field.widget.attrs.update(min=str(low), max=str(high))
        if isinstance(field, forms.DecimalField) and field.decimal_places is not None:
            step = Decimal(1).scaleb(-field.decimal_places)
            original = field.to_python

            def to_python(value, original=original, step=step):
                number = original(value)
                if number is None or not number.is_finite():
                    return number
                return number.quantize(step, rounding=ROUND_HALF_EVEN) if abs(number) < 10**20 else number

            field.to_python = to_python
