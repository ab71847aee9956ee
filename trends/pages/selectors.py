"""The hot read: a stored For You page for the session's user, found without a database query."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.messages import get_messages
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.crypto import constant_time_compare
from django.utils.safestring import mark_safe

from trends.site import CURATION_GENERATION_KEY, TAB_SLUGS, feed_version_key

logger = logging.getLogger(__name__)

# Stands in for the per-request CSRF token in a stored page. It is emitted raw, and a raw "<" never
# comes out of escaped user text, so no title or post can forge it.
CSRF_SENTINEL = mark_safe("<page-csrf-7f3c9a1b>")  # noqa: S308
GEN_KEY = CURATION_GENERATION_KEY
# The canonical address of a stored page: "/" and "/?tab=for-you" show the same page.
CANONICAL_PATH = "/?tab=for-you"


def page_key(*, user_id: int | str) -> str:
    return f"fypage:{user_id}"


def api_key(*, user_id: int | str) -> str:
    return f"fyapi:{user_id}"


def refresh_key(*, user_id: int | str) -> str:
    return f"fypage:refresh:{user_id}"


def pages_enabled() -> bool:
    return settings.FOR_YOU_PAGE_MAX_AGE_SECONDS > 0


def _is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def page_storable(*, request: HttpRequest) -> bool:
    """The slow path may store what it renders: signed in, no one-off flash message on the page."""
    if not pages_enabled() or _is_partial(request) or not request.user.is_authenticated:
        return False
    if set(request.GET) - {"tab", "fresh"}:
        return False
    return len(get_messages(request)) == 0


HINT_COOKIE = "explore_fy"
HINT_SALT = "explore.pages.hint"


def hint_value(*, user_id: int | str, session_key: str) -> str:
    """The signed "which user is this session" hint: lets one cache round trip fetch both the
    session and the page. Only a hint: the session fetched with it must still name that user."""
    return signing.Signer(salt=HINT_SALT).sign(f"{user_id}.{session_key}")


def _hinted_user(request: HttpRequest, session_key: str | None) -> str | None:
    raw = request.COOKIES.get(HINT_COOKIE)
    if not raw or not session_key:
        return None
    try:
        user_id, _, hinted_key = signing.Signer(salt=HINT_SALT).unsign(raw).partition(".")
    except signing.BadSignature:
        return None
    return user_id if hinted_key == session_key else None


def _session_engine():
    return import_module(settings.SESSION_ENGINE)


def _session_cache_key(session_key: str) -> str | None:
    """Where a cache-backed session engine keeps this session, if it shares the default cache."""
    prefix = getattr(_session_engine().SessionStore, "cache_key_prefix", None)
    if prefix is None or settings.SESSION_CACHE_ALIAS != "default":
        return None
    return prefix + session_key


@dataclass(frozen=True)
class StoredPage:
    """A stored page found for a request: its body in parts (split at the CSRF placeholder)."""

    parts: list[bytes]
    user_id: str
    session_key: str
    hinted: bool


def page_lookup(*, request: HttpRequest) -> StoredPage | None:
    """The stored page for the user of the request's session cookie, or None (the full stack then
    renders and stores one).

    Runs before the session middleware, so it reads the session itself. Verifies what
    django.contrib.auth.get_user verifies — a known backend and the session's auth hash equal to the
    user's current one — against the copy of that hash stored with the page. Every change that
    alters a user's hash (password change, deactivation) saves the user, which bumps their feed
    version (trends.pages.signals), so a stale session never matches a stored page. With the hint
    cookie, the session and the page come back from the cache in one round trip.
    """
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return None
    hinted = _hinted_user(request, session_key)
    session_key_in_cache = _session_cache_key(session_key) if hinted else None
    found: dict = {}
    try:
        if session_key_in_cache:
            keys = [session_key_in_cache, page_key(user_id=hinted), GEN_KEY, feed_version_key(user_id=hinted)]
            found = cache.get_many(keys)
            data = found.get(session_key_in_cache)
            if data is None:
                return None  # not in the cache (evicted, or logged out): the full stack loads it
        else:
            data = _session_engine().SessionStore(session_key).load()
        user_id = str(data[SESSION_KEY])
        backend = data[BACKEND_SESSION_KEY]
        session_hash = data[HASH_SESSION_KEY]
    except KeyError:
        return None
    except Exception:  # a cache outage degrades to rendering, never to an error page
        logger.warning("page cache unavailable", exc_info=True)
        return None
    if backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    if "_messages" in data or request.COOKIES.get("messages"):
        return None  # a flash message waits: the full stack renders (and consumes) it
    key, version_key = page_key(user_id=user_id), feed_version_key(user_id=user_id)
    if not session_key_in_cache or user_id != hinted:
        found = _get_many([key, GEN_KEY, version_key])
    entry = _current_entry(found, key, version_key)
    if entry is None:
        return None
    if not session_hash or not constant_time_compare(entry["auth"], session_hash):
        return None
    parts = entry.get("parts")
    if parts is None:
        return None  # stored by an older release: render and store afresh
    _refresh_if_old(entry, user_id=int(user_id))
    return StoredPage(parts=parts, user_id=user_id, session_key=session_key, hinted=user_id == hinted)


def _get_many(keys: list[str]) -> dict:
    try:
        return cache.get_many(keys)
    except Exception:  # a cache outage degrades to rendering, never to an error page
        logger.warning("page cache unavailable", exc_info=True)
        return {}


def _current_entry(found: dict, key: str, version_key: str) -> dict | None:
    """The entry under `key` if it was built under the current curation generation and feed version."""
    entry = found.get(key)
    if not entry or entry["gen"] != found.get(GEN_KEY, 0) or entry["uv"] != found.get(version_key, 0):
        return None
    return entry


def _refresh_if_old(entry: dict, *, user_id: int) -> None:
    if time.time() - entry["built"] >= settings.FOR_YOU_PAGE_REFRESH_SECONDS:
        from trends.pages.services import page_refresh_enqueue

        page_refresh_enqueue(user_id=user_id)


def api_page_lookup(*, user, limit: int) -> dict | None:
    """The first page of the user's For You feed as the API serves it (serialized items, ETag basis,
    next page or not), stored with their site page by the same build; None unless it is current
    (same curation generation and feed version) and of this page size. The API has already
    authenticated the caller, so no session check here."""
    if not pages_enabled():
        return None
    key, version_key = api_key(user_id=user.pk), feed_version_key(user_id=user.pk)
    entry = _current_entry(_get_many([key, GEN_KEY, version_key]), key, version_key)
    if entry is None or entry["limit"] != limit:
        return None
    _refresh_if_old(entry, user_id=int(user.pk))
    return entry


SENTINEL_BYTES = CSRF_SENTINEL.encode()


def event_page_key(*, event_id: int | str) -> str:
    return f"evpage:{event_id}"


def tab_page_key(*, query: str) -> str:
    return f"tabpage:{query}"


# The query strings of the Explore home that a visitor without a session may get stored.
SHARED_TAB_QUERIES = frozenset({"", *(f"tab={slug}" for slug in TAB_SLUGS if slug != "for-you")})


def _shared_storable(request: HttpRequest) -> bool:
    """A page everyone sees alike: a visitor without a session, no htmx partial, no flash message."""
    return (
        pages_enabled()
        and not _is_partial(request)
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and not request.user.is_authenticated
        and len(get_messages(request)) == 0
    )


def event_page_storable(*, request: HttpRequest) -> bool:
    """The plain first page of an event, for a visitor without a session."""
    return not request.GET and _shared_storable(request)


def tab_page_query(*, request: HttpRequest) -> str | None:
    """The stored page's query string that this request's render may replace, or None.

    The first page of an Explore tab (Trending by default), for a visitor without a session; a
    "show new events" request (`fresh=1`) renders afresh and replaces the plain page too.
    """
    if set(request.GET) - {"tab", "fresh"} or not _shared_storable(request):
        return None
    query = f"tab={request.GET['tab']}" if "tab" in request.GET else ""
    return query if query in SHARED_TAB_QUERIES else None


def shared_page_lookup(*, key: str) -> list[bytes] | None:
    """A stored shared page, if no curation change since and it is fresh, or stale within the grace
    and another request is already re-rendering it. The first request to find it stale gets None
    (renders and stores the next copy); so does everyone once it is past the grace."""
    found = _get_many([key, GEN_KEY])
    entry = found.get(key)
    if not entry or entry["gen"] != found.get(GEN_KEY, 0) or "built" not in entry:
        return None
    age = time.time() - entry["built"]
    if age < settings.SHARED_PAGE_FRESH_SECONDS:
        return entry["parts"]
    if age >= settings.SHARED_PAGE_FRESH_SECONDS + settings.SHARED_PAGE_STALE_SECONDS:
        return None
    try:
        # Held for a few seconds only: a renderer that died leaves the page to the next visitor.
        renewing = not cache.add(f"{key}:renew", 1, 10)
    except Exception:
        logger.warning("page cache unavailable", exc_info=True)
        return None
    return entry["parts"] if renewing else None


def event_page_lookup(*, event_id: str) -> list[bytes] | None:
    return shared_page_lookup(key=event_page_key(event_id=event_id))


def tab_page_lookup(*, query: str) -> list[bytes] | None:
    return shared_page_lookup(key=tab_page_key(query=query))


def csrf_mask(secret: str) -> str:
    """A fresh masked form of the CSRF secret, as django.middleware.csrf.get_token makes one.

    Same format (a random 32-character mask, then the secret shifted by it), so Django's own check
    accepts it; the mask is drawn from os.urandom 32 bytes at a time instead of one character at
    a time through `secrets.choice`, which cost more than the rest of a stored page's Python.
    """
    while True:
        mask = os.urandom(40).translate(_MASK_TABLE, _MASK_DROP)  # unbiased: bytes >= 248 are dropped
        if len(mask) >= CSRF_SECRET_LENGTH:
            break
    mask_text = mask[:CSRF_SECRET_LENGTH].decode()
    index, chars, n = _CHAR_INDEX, CSRF_ALLOWED_CHARS, len(CSRF_ALLOWED_CHARS)
    return mask_text + "".join(chars[(index[a] + index[b]) % n] for a, b in zip(secret, mask_text, strict=True))


_CHAR_INDEX = {c: i for i, c in enumerate(CSRF_ALLOWED_CHARS)}
_MASK_LIMIT = 256 - 256 % len(CSRF_ALLOWED_CHARS)
_MASK_TABLE = bytes(ord(CSRF_ALLOWED_CHARS[b % len(CSRF_ALLOWED_CHARS)]) if b < _MASK_LIMIT else 0 for b in range(256))
_MASK_DROP = bytes(range(_MASK_LIMIT, 256))


def csrf_secret_of(request: HttpRequest) -> str | None:
    """The request's CSRF cookie when it holds a well-formed secret; None for anything else."""
    secret = request.COOKIES.get(settings.CSRF_COOKIE_NAME)
    if secret is not None and len(secret) == CSRF_SECRET_LENGTH and secret.isascii() and secret.isalnum():
        return secret
    return None


def page_body(parts: list[bytes], token: str) -> bytes:
    return token.encode().join(parts)


def page_parts(html: str) -> list[bytes]:
    """A rendered page split at its CSRF placeholders: filling them in is then a join, not a search."""
    return html.encode().split(SENTINEL_BYTES)


def page_response(*, request: HttpRequest, html: str, shared: bool = False) -> HttpResponse:
    """A page the view just rendered with the placeholder, made this request's own (full stack)."""
    response = HttpResponse(html.replace(CSRF_SENTINEL, get_token(request)))
    patch_cache_control(response, private=True)
    if shared:
        # The same URL answers signed-in readers differently: caches must key on the cookie.
        patch_vary_headers(response, ("Cookie",))
    else:
        user = request.user
        session_key = request.session.session_key
        if user.is_authenticated and session_key:
            hint_cookie_set(response, user_id=user.pk, session_key=session_key)
    return response


def hint_cookie_set(response: HttpResponse, *, user_id: int | str, session_key: str) -> None:
    response.set_cookie(
        HINT_COOKIE,
        hint_value(user_id=user_id, session_key=session_key),
        max_age=settings.SESSION_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )
