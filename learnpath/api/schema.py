"""The OpenAPI schema says what the API's validation does (learnpath.api.validation), where drf-spectacular alone
would say less: text never holds a NUL character (DRF refuses it: PostgreSQL cannot store it), a trimmed text
field needs a character that is not white space, a new password the password validators' minimum length, and a
body that must name at least one of some fields (every PATCH; a rating's ``rating`` or ``answer``) is required
and says so with ``anyOf``. An operation that reads a body documents DRF's 415 for one it cannot read."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular import openapi
from drf_spectacular.plumbing import force_instance, is_patched_serializer
from rest_framework import serializers

from learnpath.api.fields import PasswordField, password_min_length

# Python's white space (str.strip, which DRF trims with), spelt out: \s means other sets in other regex engines
# (ECMA's lacks \x1c-\x1f and \x85, and has \ufeff).
WHITESPACE = r"\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Not only white space: DRF trims a text field before it checks that it is not blank.
NOT_BLANK_PATTERN = f"[^{WHITESPACE}]"
NO_NUL = {"pattern": r"\u0000"}  # under "not": a NUL character anywhere


class AutoSchema(openapi.AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or not isinstance(schema, dict):
            return schema
        if (
            isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and not {"pattern", "format", "enum"} & set(schema)
            and not any(isinstance(validator, RegexValidator) for validator in field.validators)
        ):
            schema["not"] = NO_NUL
            if field.trim_whitespace and not field.allow_blank:
                schema["pattern"] = NOT_BLANK_PATTERN
        if isinstance(field, PasswordField):
            schema["minLength"] = password_min_length()
        return schema

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        names = self._at_least_one_of(serializer, direction)
        if names:
            schema["anyOf"] = [{"required": [name]} for name in names]
        return schema

    def _get_request_for_media_type(self, serializer, direction="request"):
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if schema is not None and self._at_least_one_of(force_instance(serializer), direction):
            required = True  # no body names no field
        return schema, required

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if "415" not in responses and self._get_request_body() is not None:
            # The API's one error shape; imported here so that importing this module (for its patterns, as
            # challenges.apis does) does not load the views.
            from learnpath.api.views import ERROR

            responses["415"] = self._get_response_for_code(ERROR, "415", direction=direction)
            responses["415"]["description"] = "A body in a media type the operation does not read, or none named."
        return responses

    def _at_least_one_of(self, serializer, direction) -> list[str]:
        if direction != "request" or not isinstance(serializer, serializers.BaseSerializer):
            return []
        names = getattr(serializer, "at_least_one_of", None)
        if names is None and (self.method == "PATCH" or is_patched_serializer(serializer, direction)):
            names = [name for name, field in serializer.fields.items() if not field.read_only]
        return list(names or [])
