"""One error shape for the whole API: {"detail": readable message, "errors": {field: [messages]}?}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with the current state."
    default_code = "conflict"


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):  # a service's rule (a 400 with its message), never a 500
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": _summary(errors), "errors": errors}
    elif isinstance(response.data, dict) and "detail" in response.data:
        extra = {k: v for k, v in response.data.items() if k != "detail"}
        response.data = {"detail": str(response.data["detail"]), **extra}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response.data["retry_after_seconds"] = int(exc.wait)
    return response


def _summary(errors: dict) -> str:
    parts = []
    for field, messages in errors.items():
        text = " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
        parts.append(text if field in ("non_field_errors", "detail") else f"{field}: {text}")
    return "Invalid input. " + " ".join(parts) if parts else "Invalid input."


def error_response(message: str, code: int, **extra) -> Response:
    return Response({"detail": message, **extra}, status=code)
