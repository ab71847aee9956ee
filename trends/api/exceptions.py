"""One error shape for every failure the API answers: ``{"errors": {field: [messages]}}``.

Field errors keep their field name (nested ones as ``items[3].text``); errors that belong to no
field use ``detail`` (auth, permissions, throttling, not found) or ``non_field_errors``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "payload_too_large"


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = "idempotency_conflict"


class IdempotencyInFlight(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being processed; retry later."
    default_code = "idempotency_in_flight"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Temporarily unavailable; retry later."
    default_code = "unavailable"


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF/Django error structures (dicts, lists, nested serializers) -> {path: [messages]}."""
    out: dict[str, list[str]] = {}

    def add(path: str, message: Any) -> None:
        out.setdefault(path or "non_field_errors", []).append(str(message))

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, int):  # ListField errors are keyed by item index
                    walk(value, f"{path}[{key}]")
                    continue
                key = str(key)
                if key == "non_field_errors" and path:
                    walk(value, path)
                else:
                    walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, list | tuple):
            if all(not isinstance(item, dict | list | tuple) for item in node):
                for item in node:
                    add(path, item)
            else:
                for index, item in enumerate(node):
                    if item in ({}, []):
                        continue
                    walk(item, f"{path}[{index}]")
        else:
            add(path, node)

    walk(detail, prefix)
    return out


def error_body(errors: dict[str, list[str]] | str, field: str = "detail") -> dict[str, Any]:
    if isinstance(errors, str):
        errors = {field: [errors]}
    return {"errors": errors}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)

    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: let it surface as a 500 and be logged

    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError) or isinstance(exc.detail, dict | list):
        errors = flatten_errors(exc.detail)
    elif isinstance(exc, exceptions.ParseError):
        errors = {"body": [str(exc.detail)]}
    else:
        errors = {"detail": [str(exc.detail)]}
    set_rollback()
    return Response(error_body(errors), status=exc.status_code, headers=headers)
