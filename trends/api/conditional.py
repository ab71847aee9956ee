"""ETag / Last-Modified on feeds, so polling clients get a cheap 304 when nothing changed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.utils.http import http_date, parse_http_date_safe
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [part.strip() for part in header.split(",")]
    bare = etag.removeprefix("W/")
    return any(c == "*" or c.removeprefix("W/") == bare for c in candidates)


def basis_json(weak_basis: list) -> str:
    """The JSON a weak ETag is hashed from (what `conditional` hashes for `weak_basis`)."""
    return json.dumps(weak_basis, default=str, sort_keys=True)


def basis_json_prepend(item: Any, encoded: str) -> str:
    """basis_json([item, *rest]) from basis_json(rest), without encoding `rest` again."""
    head = basis_json([item])
    return head if encoded == "[]" else head[:-1] + ", " + encoded[1:]


def conditional(
    request, response: Response, *, last_modified: dt.datetime | None = None, weak_basis: Any = None,
    weak_basis_json: str | None = None,
) -> Response:
    """Add ETag and Last-Modified; answer 304 when the client's copy is current.

    By default the ETag is a hash of the body (strong). Ranked feeds pass `weak_basis` instead (which
    events, in which order, with which explanation and last change), or `weak_basis_json`, the same
    already encoded by `basis_json`: their scores drift with time on every request, yet a page
    showing the same events the same way is the same page to a client, so it gets a weak ETag
    (W/"...") that survives that drift.
    The body includes per-user results, so caches are told the answer varies by credentials.
    """
    if response.status_code != status.HTTP_200_OK:
        return response
    if weak_basis is not None:
        weak_basis_json = basis_json(weak_basis)
    if weak_basis_json is not None:
        digest = hashlib.sha256(weak_basis_json.encode()).hexdigest()
        etag = 'W/"' + digest[:32] + '"'
    else:
        body = JSONRenderer().render(response.data)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified.timestamp())

    if_none_match = request.headers.get("If-None-Match")
    not_modified = False
    if if_none_match is not None:
        not_modified = _etag_matches(if_none_match, etag)
    elif last_modified is not None and request.headers.get("If-Modified-Since"):
        since = parse_http_date_safe(request.headers["If-Modified-Since"])
        not_modified = since is not None and int(last_modified.timestamp()) <= since
    if not_modified:
        response = Response(status=status.HTTP_304_NOT_MODIFIED)
    for name, value in headers.items():
        response[name] = value
    return response


def newest(*values: dt.datetime | None) -> dt.datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None
