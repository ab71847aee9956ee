"""The hot read: a stored For You page for the session's user, found without a database query."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.messages import get_messages
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.crypto import constant_time_compare
from django.utils.safestring import mark_safe

from trends.site import CURATION_GENERATION_KEY, feed_version_key

logger = logging.getLogger(__name__)

# Stands in for the per-request CSRF token in a stored page. It is emitted raw, and a raw "<" never
# comes out of escaped user text, so no title or post can forge it.
CSRF_SENTINEL = mark_safe("<page-csrf-7f3c9a1b>")  # noqa: S308
GEN_KEY = CURATION_GENERATION_KEY
# The canonical address of a stored page: "/" and "/?tab=for-you" show the same page.
CANONICAL_PATH = "/?tab=for-you"


def page_key(*, user_id: int | str) -> str:
    return f"fypage:{user_id}"


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


def _session_cache_key(session) -> str | None:
    """Where a cache-backed session engine keeps this session, if it shares the default cache."""
    prefix = getattr(session, "cache_key_prefix", None)
    if prefix is None or settings.SESSION_CACHE_ALIAS != "default" or not session.session_key:
        return None
    return prefix + session.session_key


def page_lookup(*, request: HttpRequest) -> bytes | None:
    """The stored page for this session's user, or None (the view then renders and stores one).

    Verifies what django.contrib.auth.get_user verifies — a known backend and the session's auth
    hash equal to the user's current one — against the copy of that hash stored with the page.
    Every change that alters a user's hash (password change, deactivation) saves the user, which
    bumps their feed version (trends.pages.signals), so a stale session never matches a stored page.
    With the hint cookie, the session and the page come back from the cache in one round trip.
    """
    session = request.session
    hinted = _hinted_user(request, session.session_key)
    session_key_in_cache = _session_cache_key(session) if hinted else None
    try:
        if session_key_in_cache:
            keys = [session_key_in_cache, page_key(user_id=hinted), GEN_KEY, feed_version_key(user_id=hinted)]
            found = cache.get_many(keys)
            data = found.get(session_key_in_cache)
            if data is None:
                return None  # not in the cache (evicted, or logged out): the normal path loads it
            session._session_cache = data  # what the engine's load() would return; saves a second fetch
            request.explore_hint_ok = True
        user_id = str(session[SESSION_KEY])
        backend = session[BACKEND_SESSION_KEY]
        session_hash = session[HASH_SESSION_KEY]
    except KeyError:
        return None
    except Exception:  # a cache outage degrades to rendering, never to an error page
        logger.warning("page cache unavailable", exc_info=True)
        return None
    if backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    if "_messages" in session or request.COOKIES.get("messages"):
        return None  # a flash message waits: the slow path renders (and consumes) it
    key, version_key = page_key(user_id=user_id), feed_version_key(user_id=user_id)
    if not session_key_in_cache or user_id != hinted:
        try:
            found = cache.get_many([key, GEN_KEY, version_key])
        except Exception:
            logger.warning("page cache unavailable", exc_info=True)
            return None
    entry = found.get(key)
    if not entry or entry["gen"] != found.get(GEN_KEY, 0) or entry["uv"] != found.get(version_key, 0):
        return None
    if not session_hash or not constant_time_compare(entry["auth"], session_hash):
        return None
    if time.time() - entry["built"] >= settings.FOR_YOU_PAGE_REFRESH_SECONDS:
        from trends.pages.services import page_refresh_enqueue

        page_refresh_enqueue(user_id=int(user_id))
    request.explore_page_user = user_id
    return entry["html"]


SENTINEL_BYTES = CSRF_SENTINEL.encode()


EVENT_PAGE_SECONDS = 30


def event_page_key(*, event_id: int | str) -> str:
    return f"evpage:{event_id}"


def event_page_storable(*, request: HttpRequest) -> bool:
    """An event page everyone sees alike: a visitor without a session asking for its plain first page."""
    return (
        pages_enabled()
        and not request.GET
        and not _is_partial(request)
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and not request.user.is_authenticated
        and len(get_messages(request)) == 0
    )


def event_page_lookup(*, request: HttpRequest, event_id: str) -> bytes | None:
    """The stored anonymous page of an event, if it is younger than 30 s and no curation change since."""
    key = event_page_key(event_id=event_id)
    try:
        found = cache.get_many([key, GEN_KEY])
    except Exception:
        logger.warning("page cache unavailable", exc_info=True)
        return None
    entry = found.get(key)
    if not entry or entry["gen"] != found.get(GEN_KEY, 0):
        return None
    return entry["html"]


def page_response(*, request: HttpRequest, html: bytes | str, shared: bool = False) -> HttpResponse:
    """A stored page made this request's own: its CSRF token filled in, private to the user."""
    token = get_token(request)
    if isinstance(html, str):
        html = html.replace(CSRF_SENTINEL, token).encode()
    else:
        html = html.replace(SENTINEL_BYTES, token.encode())
    response = HttpResponse(html)
    patch_cache_control(response, private=True)
    if shared:
        # The same URL answers signed-in readers differently: caches must key on the cookie.
        patch_vary_headers(response, ("Cookie",))
    else:
        _set_hint(request, response)
    return response


def _set_hint(request: HttpRequest, response: HttpResponse) -> None:
    if getattr(request, "explore_hint_ok", False):
        return
    user_id = getattr(request, "explore_page_user", None)
    if user_id is None:
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
    session_key = request.session.session_key
    if user_id is None or not session_key:
        return
    response.set_cookie(
        HINT_COOKIE,
        hint_value(user_id=user_id, session_key=session_key),
        max_age=settings.SESSION_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )
