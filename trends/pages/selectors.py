"""The hot read: a stored For You page for the session's user, found without a database query."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import patch_cache_control
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


def _enabled() -> bool:
    return settings.FOR_YOU_PAGE_MAX_AGE_SECONDS > 0


def _is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def page_cacheable(*, request: HttpRequest) -> bool:
    """A request the stored page can answer: a full-page GET of For You, page 1, nothing else asked."""
    if not _enabled() or request.method != "GET" or _is_partial(request):
        return False
    query = request.GET
    return not query or (len(query) == 1 and query.get("tab") == "for-you")


def page_storable(*, request: HttpRequest) -> bool:
    """The slow path may store what it renders: signed in, no one-off flash message on the page."""
    if not _enabled() or _is_partial(request) or not request.user.is_authenticated:
        return False
    if set(request.GET) - {"tab", "fresh"}:
        return False
    return len(get_messages(request)) == 0


def page_lookup(*, request: HttpRequest) -> str | None:
    """The stored page for this session's user, or None (the view then renders and stores one).

    Verifies what django.contrib.auth.get_user verifies — a known backend and the session's auth
    hash equal to the user's current one — against the copy of that hash stored with the page.
    Every change that alters a user's hash (password change, deactivation) saves the user, which
    bumps their feed version (trends.pages.signals), so a stale session never matches a stored page.
    """
    session = request.session
    try:
        user_id = str(session[SESSION_KEY])
        backend = session[BACKEND_SESSION_KEY]
        session_hash = session[HASH_SESSION_KEY]
    except KeyError:
        return None
    if backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    if "_messages" in session or request.COOKIES.get("messages"):
        return None  # a flash message waits: the slow path renders (and consumes) it
    key, version_key = page_key(user_id=user_id), feed_version_key(user_id=user_id)
    try:
        found = cache.get_many([key, GEN_KEY, version_key])
    except Exception:  # a cache outage degrades to rendering, never to an error page
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
    return entry["html"]


def page_response(*, request: HttpRequest, html: str) -> HttpResponse:
    """A stored page made this request's own: its CSRF token filled in, private to the user."""
    response = HttpResponse(html.replace(CSRF_SENTINEL, get_token(request)))
    patch_cache_control(response, private=True)
    return response
