"""Shared pieces of the API views: documented error responses, lookups."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework.views import APIView

from trends.api import selectors as api_selectors
from trends.api.serializers import ErrorSerializer
from trends.models import Event
from users.models import HANDLE_VALIDATOR, User


def error_response(description: str, example: dict) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(description, value={"errors": example}, response_only=True)],
    )


E400 = error_response("Invalid input", {"text": ["Must not be empty or whitespace only."]})
E401 = error_response("Not authenticated", {"detail": ["Authentication credentials were not provided."]})
E403 = error_response("Forbidden", {"detail": ["You do not have permission to perform this action."]})
E404 = error_response("Not found", {"detail": ["Not found."]})
E413 = error_response("Body too large", {"detail": ["Request body is larger than 1048576 bytes."]})
E415 = error_response("Not JSON", {"detail": ['Unsupported media type "text/plain" in request.']})
E422 = error_response("Idempotency-Key reused", {"detail": ["This Idempotency-Key was already used with a different request."]})
E429 = error_response("Throttled", {"detail": ["Request was throttled. Expected available in 12 seconds."]})

READ_ERRORS = {400: E400, 404: E404, 429: E429}
AUTH_READ_ERRORS = {400: E400, 401: E401, 403: E403, 404: E404, 429: E429}
WRITE_ERRORS = {400: E400, 401: E401, 403: E403, 413: E413, 415: E415, 422: E422, 429: E429}

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (e.g. a UUID) per logical request. Retrying with the same key and the same "
        "body replays the first 2xx answer (header `Idempotent-Replayed: true`); the same key with a "
        "different body answers 422."
    ),
)
CURSOR_PARAMS = [
    OpenApiParameter("cursor", str, description="Opaque cursor from a previous page's `next`/`previous`."),
    OpenApiParameter("limit", int, description="Page size, 1-100 (default 20)."),
]


class ApiView(APIView):
    """Base for the API's views (kept for one place to hang shared behaviour)."""


def event_for(request, event_id: int) -> Event:
    event = api_selectors.event_visible_queryset(user=request.user).filter(pk=event_id).first()
    if event is None:
        raise Http404
    return event


def user_by_handle(handle: str) -> User:
    try:
        HANDLE_VALIDATOR(handle)
    except Exception:
        raise Http404 from None
    user = User.objects.filter(username__iexact=handle, is_active=True).first()
    if user is None:
        raise Http404
    return user
