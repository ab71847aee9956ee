"""`Idempotency-Key` on POST: a retried request replays the first answer instead of acting twice.

The key row, the work and the stored answer commit in one transaction, so a crash leaves no
half-state: either nothing (the retry runs afresh) or the work and its answer. Two concurrent
requests with one key race on the (user, key) unique constraint: the loser waits for the winner's
commit and then replays its answer. Only 2xx answers are kept; after a 4xx the client may fix the
body and retry with the same key (nothing was stored). Keys are per user; anonymous requests
(register, token) are naturally idempotent or harmless to repeat, and are not tracked.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from trends.api.exceptions import IdempotencyConflict, IdempotencyInFlight
from trends.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,128}$")


class _Discard(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def request_fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.path.encode("utf-8", "surrogateescape"))
    digest.update(b"\0")
    digest.update(request._request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyKey, *, fingerprint: str, path: str) -> Response:
    if record.request_hash != fingerprint or record.path != path[:200]:
        raise IdempotencyConflict()
    if record.response_status is None:
        raise IdempotencyInFlight()
    return Response(record.response_body, status=record.response_status, headers={REPLAY_HEADER: "true"})


def idempotent_call(request, handler: Callable[[], Response]) -> Response:
    key = request.headers.get(HEADER)
    if key is None or not (request.user and request.user.is_authenticated):
        return handler()
    if not KEY_RE.match(key):
        raise ValidationError({HEADER: ["Must be 1-128 visible ASCII characters."]})
    fingerprint = request_fingerprint(request)
    existing = IdempotencyKey.objects.filter(user=request.user, key=key).first()
    if existing is not None:
        return _replay(existing, fingerprint=fingerprint, path=request.path)
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                user=request.user,
                key=key,
                method=request.method,
                path=request.path[:200],
                request_hash=fingerprint,
            )
            response = handler()
            if not 200 <= response.status_code < 300:
                raise _Discard(response)
            record.response_status = response.status_code
            record.response_body = json.loads(JSONRenderer().render(response.data) or b"null")
            record.save(update_fields=["response_status", "response_body"])
    except _Discard as discard:
        return discard.response
    except IntegrityError:
        # Lost the race to a concurrent request with the same key: its answer is committed now.
        existing = IdempotencyKey.objects.filter(user=request.user, key=key).first()
        if existing is None:
            raise
        return _replay(existing, fingerprint=fingerprint, path=request.path)
    return response


def idempotent(method):
    """Decorate an APIView's post(): honour `Idempotency-Key`."""

    @functools.wraps(method)
    def wrapper(self, request, *args, **kwargs):
        return idempotent_call(request, lambda: method(self, request, *args, **kwargs))

    return wrapper
