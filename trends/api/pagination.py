"""Cursor pagination everywhere: `?cursor=` opaque token, `?limit=` page size, `next`/`previous` links.

Querysets use DRF's keyset cursor on an immutable, unique column (stable while rows are added).
Ranked feeds come from a ranker that takes limit/offset, so their cursor wraps a signed offset:
clients treat both the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core import signing
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# A ranked feed is re-ranked on every page; beyond this depth it is noise and costly.
MAX_FEED_OFFSET = 1000


class IdCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "limit"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return parse_limit(raw)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except Exception as exc:  # DRF raises NotFound; a bad cursor is the client's input error
            raise ValidationError({"cursor": ["Invalid cursor."]}) from exc


class LastSeenCursorPagination(IdCursorPagination):
    ordering = ("-last_seen_at", "-id")


def parse_limit(raw: str | None, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({"limit": [f"Must be an integer between 1 and {maximum}."]}) from None
    if not 1 <= value <= maximum:
        raise ValidationError({"limit": [f"Must be an integer between 1 and {maximum}."]})
    return value


_SALT = "explore.api.feed-cursor"


def encode_offset(offset: int) -> str:
    return signing.dumps(offset, salt=_SALT, compress=False)


def decode_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        value = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        raise ValidationError({"cursor": ["Invalid cursor."]}) from None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_FEED_OFFSET:
        raise ValidationError({"cursor": ["Invalid cursor."]})
    return value


def offset_page(
    request, fetch: Callable[[int, int], Sequence[Any]], *, default_limit: int = DEFAULT_PAGE_SIZE
) -> tuple[list[Any], str | None, str | None]:
    """Run `fetch(limit + 1, offset)`; return (items, next_url, previous_url)."""
    limit = parse_limit(request.query_params.get("limit"), default=default_limit)
    offset = decode_offset(request.query_params.get("cursor"))
    rows = list(fetch(limit + 1, offset))
    has_more = len(rows) > limit and offset + limit <= MAX_FEED_OFFSET
    items = rows[:limit]
    url = request.build_absolute_uri()
    next_url = replace_query_param(url, "cursor", encode_offset(offset + limit)) if has_more else None
    if offset <= 0:
        previous_url = None
    elif offset - limit <= 0:
        previous_url = remove_query_param(url, "cursor")
    else:
        previous_url = replace_query_param(url, "cursor", encode_offset(offset - limit))
    return items, next_url, previous_url


def page_response(results: list[Any], next_url: str | None, previous_url: str | None) -> Response:
    return Response({"next": next_url, "previous": previous_url, "results": results})


_page_serializers: dict[str, type[serializers.Serializer]] = {}


def page_of(item: type[serializers.Serializer], name: str | None = None) -> type[serializers.Serializer]:
    """A schema-only serializer for one page of `item`s (for OpenAPI)."""
    name = name or f"Paginated{item.__name__.removesuffix('Serializer')}List"
    if name not in _page_serializers:
        _page_serializers[name] = type(
            name,
            (serializers.Serializer,),
            {
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": item(many=True),
            },
        )
    return _page_serializers[name]
