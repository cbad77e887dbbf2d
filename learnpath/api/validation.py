"""Request validation shared by every API view."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError


def validated(serializer_class, data, **kwargs) -> dict:
    """Validate ``data`` with ``serializer_class``; anything but a JSON object is a 400, never a 500."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
