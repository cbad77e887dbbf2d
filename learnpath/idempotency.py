"""Retry-safe writes: a request sent with an ``Idempotency-Key`` is carried out once, and a retry gets the first answer.

The semantics are those of the IETF httpapi Idempotency-Key draft, as Stripe uses it:

- A client sends a key of its choosing (a fresh UUID per user action) with a write it may have to repeat: a
  phone on a flaky network, a double-click, a resubmitted form. The API reads the ``Idempotency-Key`` header;
  the site's forms carry the key in a hidden ``idempotency_key`` field (``{% idempotency_key_input %}``).
- The first request with a key runs and its response is kept: a retry with the same key from the same learner
  within ``IDEMPOTENCY_TTL_SECONDS`` (24 h) gets that response again (same status and body, and the redirect of
  a form post) with ``Idempotent-Replayed: true``, and records nothing again.
- The same key with another request (method, path, query or body) is refused: 422 for the API, a page that says
  so for a form. A malformed key is a 400. A request without a key runs as it always did.
- Only a success is kept (a 2xx, or a form's redirect): an error or an exception stores nothing, so that a retry
  runs again. A form view marks a refusal it answers with a redirect with ``refused()``.

The record's row is inserted before the view runs, in one transaction with it: the record commits together with
the effect, or neither does. The services' own atomic blocks become savepoints, and what they dispatch on commit
is sent after this transaction commits. A concurrent duplicate waits for the first request's transaction and then
gets its answer. Records are pruned by ``learnpath.prune_idempotency_records`` (Celery beat).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, status
from rest_framework.settings import api_settings

from learnpath.models import IdempotencyRecord

HEADER = "Idempotency-Key"
FORM_FIELD = "idempotency_key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
# Printable ASCII, neither starting nor ending with a space (HTTP strips those from a header's value anyway).
KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
# Never part of a request's fingerprint: the key itself, and the CSRF token, which changes with every page.
NOT_FINGERPRINTED = frozenset({FORM_FIELD, "csrfmiddlewaretoken"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

MALFORMED_KEY = (
    f"Send 1 to {KEY_MAX_LENGTH} printable ASCII characters, not starting or ending with a space, such as a UUID."
)
KEY_REUSED = (
    f"This {HEADER} was already used for a different request (another path or body); send a new key with a new request."
)


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = KEY_REUSED
    default_code = "idempotency_key_reused"


def idempotent(handler):
    """Make a write handler retry-safe: an API view's method, or a page's view function that handles a form post.

    Put it nearest the function: under ``@login_required`` and ``@require_POST``, and above ``@extend_schema``,
    whose operation it adds to: the optional header, 422, and 400 where the view declares none.
    """

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        api_view = args[0] if isinstance(args[0], View) else None
        request = args[1] if api_view else args[0]
        if request.method not in WRITE_METHODS or not request.user.is_authenticated:
            return handler(*args, **kwargs)
        key = _key_of(request, api=api_view is not None)
        if key is None:
            return handler(*args, **kwargs)
        if not _well_formed(key):
            if api_view:
                raise exceptions.ValidationError({HEADER: [MALFORMED_KEY]})
            return _refusal_page(request, "The form could not be sent", MALFORMED_KEY, status.HTTP_400_BAD_REQUEST)
        fingerprint = _fingerprint(request, api=api_view is not None)
        now = timezone.now()
        with transaction.atomic():
            record, claimed = _claim(user=request.user, key=key, request=request, fingerprint=fingerprint, now=now)
            if claimed:
                response = handler(*args, **kwargs)
                if api_view is not None:
                    # The response is kept as the client got it, so it is rendered here, as DRF would after us.
                    response = api_view.finalize_response(request, response, *args[2:], **kwargs)
                if _succeeded(response):
                    _keep(record, response)
                else:
                    # Nothing of a failure is kept, the record included: a retry with the key runs again.
                    transaction.set_rollback(True)
                return response
        if record.fingerprint != fingerprint:
            if api_view:
                raise IdempotencyKeyReused()
            return _refusal_page(
                request,
                "This form was already sent",
                "It was sent before with different answers, so it was not sent again. Reload the page and try again.",
                status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        return _replay(record)

    wrapper.kwargs = {**getattr(handler, "kwargs", {}), "schema": _documented(_schema_class_of(handler))}
    return wrapper


def refused(response: HttpResponse) -> HttpResponse:
    """A form view's answer to a post it refused (a redirect with an error message): never kept for a replay.

    An API view refuses with an error status, which is never kept; a form view redirects either way, so it says so:
    nothing was recorded, and a retry with the same key runs again.
    """
    response.idempotency_refused = True
    return response


def new_key() -> str:
    return str(uuid.uuid4())


def ttl() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS)


@transaction.atomic
def idempotency_records_prune(*, now: datetime | None = None) -> int:
    """Delete the records that no longer count (older than the TTL); returns how many."""
    cutoff = (now or timezone.now()) - ttl()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted


def _key_of(request, *, api: bool) -> str | None:
    key = request.headers.get(HEADER)
    if key is None and not api:
        key = request.POST.get(FORM_FIELD)
    # The draft sends the key as a structured-field string, in double quotes; Stripe's clients send it bare.
    if key and len(key) > 2 and key[0] == key[-1] == '"' and _well_formed(key[1:-1]):
        key = key[1:-1]
    return key


def _well_formed(key: str) -> bool:
    return len(key) <= KEY_MAX_LENGTH and re.fullmatch(KEY_PATTERN, key) is not None


def _fingerprint(request, *, api: bool) -> str:
    """A digest of what the request asks for: the same data in another key order gives the same digest."""
    data = request.data if api else request.POST
    canonical = json.dumps(
        [request.method, request.path, _plain(request.GET), _plain(data)],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plain(data):
    if isinstance(data, QueryDict):
        return {name: data.getlist(name) for name in data if name not in NOT_FINGERPRINTED}
    if isinstance(data, dict):
        return {name: value for name, value in data.items() if name not in NOT_FINGERPRINTED}
    return data


def _claim(*, user, key: str, request, fingerprint: str, now: datetime) -> tuple[IdempotencyRecord, bool]:
    """The key's record, and whether this request is to run (True) or to be answered from the record (False)."""
    fields = {"method": request.method, "path": request.path[:300], "fingerprint": fingerprint}
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(user=user, key=key, status_code=0, **fields), True
    except IntegrityError:
        # A retry. In PostgreSQL a duplicate sent while the first request runs waits here, on the unique index,
        # until that one commits (then it is answered from its record) or rolls back (then the insert succeeds).
        pass
    record = IdempotencyRecord.objects.select_for_update().get(user=user, key=key)
    if record.created_at > now - ttl():
        return record, False
    # Past the TTL the old record no longer counts: this request runs again and replaces it.
    for name, value in {**fields, "created_at": now, "status_code": 0}.items():
        setattr(record, name, value)
    record.save()
    return record, True


def _succeeded(response: HttpResponse) -> bool:
    if getattr(response, "idempotency_refused", False):
        return False
    return 200 <= response.status_code < 300 or (300 <= response.status_code < 400 and response.has_header("Location"))


def _keep(record: IdempotencyRecord, response: HttpResponse) -> None:
    if getattr(response, "streaming", False):
        record.delete()  # a body that cannot be kept: there is nothing to replay, so a retry runs again
        return
    if hasattr(response, "render"):
        response.render()
    record.status_code = response.status_code
    record.content_type = response.get("Content-Type", "")[:100]
    record.location = response.get("Location", "")[:500]
    record.body = response.content
    record.save(update_fields=["status_code", "content_type", "location", "body"])


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status_code, content_type=record.content_type or None)
    if record.location:
        response["Location"] = record.location
    response[REPLAYED_HEADER] = "true"
    return response


def _refusal_page(request: HttpRequest, title: str, message: str, status_code: int) -> HttpResponse:
    came_from = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(
        came_from, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        came_from = ""
    context = {"title": title, "message": message, "came_from": came_from}
    return render(request, "learnpath/idempotency_refused.html", context, status=status_code)


# --------------------------------------------------------------------------- the OpenAPI schema

KEY_PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": KEY_PATTERN},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes the request safe to retry: a unique value per action, such as a UUID (1–255 printable ASCII "
        "characters). A retry with the same key within 24 hours returns the first response (same status and "
        f"body, with `{REPLAYED_HEADER}: true`) and records nothing again; the same key with a different request "
        "answers 422. Only successful responses are kept: after an error, a retry with the same key runs again."
    ),
)


def _schema_class_of(handler):
    # drf-spectacular keeps an API method's schema class in its kwargs, where its own extend_schema puts it.
    return getattr(handler, "kwargs", {}).get("schema") or api_settings.DEFAULT_SCHEMA_CLASS


def _documented(schema_class):
    class IdempotentSchema(schema_class):
        def get_override_parameters(self):
            successes = [code for code in self._declared_codes() if 200 <= code < 300]
            replayed = OpenApiParameter(
                REPLAYED_HEADER,
                {"type": "string", "enum": ["true"]},
                OpenApiParameter.HEADER,
                response=successes,
                description=f"Present on a response replayed for a repeated `{HEADER}`.",
            )
            return [*super().get_override_parameters(), KEY_PARAMETER, replayed]

        def get_response_serializers(self):
            responses = super().get_response_serializers()
            if not isinstance(responses, dict):
                return responses
            from learnpath.api.views import ERROR  # the API's one error shape; that module uses this one

            added = {422: OpenApiResponse(ERROR, description=f"The {HEADER} was already used for another request.")}
            if 400 not in self._declared_codes():
                added[400] = OpenApiResponse(ERROR, description=f"A malformed {HEADER}.")
            return {**responses, **added}

        def _declared_codes(self) -> list[int]:
            responses = super().get_response_serializers()
            codes = (
                [code[0] if isinstance(code, tuple) else code for code in responses]
                if isinstance(responses, dict)
                else []
            )
            return [int(code) for code in codes if str(code).isdigit()]

    return IdempotentSchema
