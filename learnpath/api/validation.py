"""Request validation shared by every API view: the values a request may carry are the ones the schema names.

DRF's fields are lenient in ways the OpenAPI schema does not say: a CharField turns ``0`` into ``"0"``, a
BooleanField takes ``0``, ``"yes"`` or ``"on"``, an IntegerField takes ``"12"``, a form's empty optional field
counts as absent, a text is measured after trimming. Here a JSON body must hold the schema's own types, its text
no longer than maxLength as sent, and a form (or a query string) is read as the schema's values spelled as
text: ``true``/``false`` for a boolean, a number for a number, ``null`` (or nothing) where null is allowed, and
a field that takes one value given once. Anything else is a 400 on the field, in the API's error shape.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.http import QueryDict
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
JSON_INTEGER = re.compile(r"-?\d+")
NUMBER_FIELDS = (serializers.IntegerField, serializers.FloatField, serializers.DecimalField)


def validated(serializer_class, data, **kwargs) -> dict:
    """Validate ``data`` with ``serializer_class``; anything but a JSON object is a 400, never a 500.

    A partial update (``partial=True``) must name at least one field it can change: a PATCH that changes
    nothing is almost always a misspelt field, so it is refused rather than answered as if it had worked.
    """
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    fields = writable_fields(serializer_class(**kwargs))
    if isinstance(data, QueryDict):
        repeated = [name for name in fields if len(data.getlist(name)) > 1 and not _takes_a_list(fields[name])]
        if repeated:
            raise ValidationError({name: ["Send one value, not several."] for name in repeated})
        data = form_values(fields, data)
    errors = {name: [message] for name, message in schema_errors(fields, data).items()}
    if errors:
        raise ValidationError(errors)
    if kwargs.get("partial") and not any(name in data for name in fields):
        raise ValidationError({"non_field_errors": [nothing_to_change_message(fields)]})
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def nothing_to_change_message(fields: dict) -> str:
    return "Nothing to change: send at least one of " + ", ".join(fields) + "."


def writable_fields(serializer) -> dict[str, serializers.Field]:
    return {name: field for name, field in serializer.fields.items() if not field.read_only}


def form_values(fields: dict[str, serializers.Field], form: QueryDict) -> dict:
    """A form's or query string's fields as the JSON values they spell (the last one of a repeated name)."""
    values = {}
    for name in form:
        text = form[name]
        field = fields.get(name)
        values[name] = text if field is None or not isinstance(text, str) else _read_text(field, text)
    return values


def _read_text(field: serializers.Field, text: str):
    if field.allow_null and (text == "null" or (text == "" and not getattr(field, "allow_blank", False))):
        return None
    if isinstance(field, serializers.BooleanField):
        return {"true": True, "false": False}.get(text.lower(), text)
    if isinstance(field, serializers.IntegerField) and JSON_INTEGER.fullmatch(text):
        return int(text)
    if isinstance(field, serializers.DecimalField) and JSON_NUMBER.fullmatch(text):
        return Decimal(text)  # exact: the field rounds or refuses by its own rules
    if isinstance(field, serializers.FloatField) and JSON_NUMBER.fullmatch(text):
        return float(text)
    return text


def schema_errors(fields: dict[str, serializers.Field], data: dict) -> dict[str, str]:
    """Each field whose value the schema refuses where DRF would not, with the field's own message: a value of
    another type, or text longer than its maxLength as sent (DRF measures it after trimming)."""
    errors = {}
    for name, field in fields.items():
        if name not in data or (data[name] is None and field.allow_null):
            continue  # a null where none is allowed is the field's own error
        value = data[name]
        if isinstance(field, serializers.BooleanField):
            wrong = not isinstance(value, bool)
        elif isinstance(field, serializers.IntegerField):
            wrong = isinstance(value, bool) or not isinstance(value, int)
        elif isinstance(field, NUMBER_FIELDS):
            wrong = isinstance(value, bool) or not isinstance(value, (int, float, Decimal))
        elif isinstance(field, serializers.CharField) or _text_choices(field):
            wrong = not isinstance(value, str)
            if not wrong and getattr(field, "max_length", None) is not None and len(value) > field.max_length:
                errors[name] = field.error_messages["max_length"].format(max_length=field.max_length)
                continue
        else:
            continue
        if wrong and value is not None:
            errors[name] = _invalid_message(field, value)
    return errors


def _takes_a_list(field: serializers.Field) -> bool:
    return isinstance(field, (serializers.ListField, serializers.MultipleChoiceField, serializers.ListSerializer))


def _text_choices(field: serializers.Field) -> bool:
    return isinstance(field, serializers.ChoiceField) and all(isinstance(key, str) for key in field.choices)


def _invalid_message(field: serializers.Field, value) -> str:
    if isinstance(field, serializers.ChoiceField):
        return field.error_messages["invalid_choice"].format(input=value)
    return str(field.error_messages["invalid"])
