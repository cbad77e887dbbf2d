"""Input fields whose rules the OpenAPI schema states exactly: a timezone is one of the IANA names the server
knows, a password is checked untrimmed and its minimum length is the password validators' own, a decimal
keeps its places by rounding. Each field's schema is built when the schema is, never at import."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django.contrib.auth import password_validation
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from learnpath.models import available_timezones, validate_timezone


class TimezoneField(serializers.CharField):
    """An IANA timezone name, as sent (untrimmed); the schema lists them all (the Timezone component)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("validators", [validate_timezone])
        super().__init__(**kwargs)


class TimezoneFieldSchema(OpenApiSerializerFieldExtension):
    target_class = TimezoneField

    def map_serializer_field(self, auto_schema, direction):
        component = ResolvedComponent(
            name="Timezone",
            type=ResolvedComponent.SCHEMA,
            object="Timezone",
            schema={
                "type": "string",
                "enum": sorted(available_timezones()),
                "description": "An IANA timezone name, such as Europe/Berlin or Asia/Tokyo.",
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class PasswordField(serializers.CharField):
    """A new password, kept as typed (leading and trailing spaces are part of it, as in Django's own forms).

    The password validators (``AUTH_PASSWORD_VALIDATORS``) judge it; the schema's minLength is theirs
    (learnpath.api.schema)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("max_length", 128)
        kwargs.setdefault("write_only", True)
        kwargs.setdefault("style", {"input_type": "password"})
        super().__init__(**kwargs)


def password_min_length() -> int:
    lengths = [
        validator.min_length
        for validator in password_validation.get_default_password_validators()
        if isinstance(validator, password_validation.MinimumLengthValidator)
    ]
    return max(lengths, default=1)


class RoundedDecimalField(serializers.DecimalField):
    """A decimal kept to the field's places by rounding (half to even), never refused for having more.

    JSON numbers are binary doubles: 0.1 + 0.2 arrives as 0.30000000000000004, and the schema (a number between
    its bounds) cannot count decimal places. The bounds are checked on the number as sent, the size (digits
    before the point) before and after rounding."""

    def validate_precision(self, value):
        self.run_validators(value)  # minimum and maximum first, on the value as sent: their message says the range
        if self.max_whole_digits is not None and value and value.adjusted() >= self.max_whole_digits:
            self.fail("max_whole_digits", max_whole_digits=self.max_whole_digits)
        rounded = value.quantize(Decimal(1).scaleb(-self.decimal_places), rounding=ROUND_HALF_EVEN)
        return super().validate_precision(rounded)
