"""Writes of the page cache: render and store a user's For You page, invalidate, precompute."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from trends import site
from trends.pages.selectors import (
    CANONICAL_PATH,
    CSRF_SENTINEL,
    GEN_KEY,
    api_key,
    event_page_key,
    page_key,
    page_parts,
    pages_enabled,
    refresh_key,
    tab_page_key,
)

logger = logging.getLogger(__name__)


def _offline_request(user) -> HttpRequest:
    """What the templates read from a request, for a page rendered outside one (at login, by a worker)."""
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = "/"
    request.META = {"SERVER_NAME": "localhost", "SERVER_PORT": "80", "QUERY_STRING": "tab=for-you"}
    request.user = user
    return request


def _seen(user_id: int) -> None:
    """Marks the user active, at most once a minute: active users' pages are the ones worth precomputing."""
    now = timezone.now()
    get_user_model().objects.filter(pk=user_id).exclude(last_seen_at__gte=now - dt.timedelta(seconds=60)).update(
        last_seen_at=now
    )


def page_build(*, user=None, request: HttpRequest | None = None, fresh: bool = False, seen: bool = True) -> str:
    """Render the user's For You page (page 1), store it, and return it with the CSRF placeholder in.

    Called by the view on a miss (with the live request), by the refresh task, at login and by the
    precompute pass (with a stand-in request). `seen` says a person, not a batch job, asked for it.
    """
    if request is None:
        request = _offline_request(user)
    else:
        user = request.user
    # Read before rendering: an invalidation during the render leaves this copy already stale.
    version_key = site.feed_version_key(user_id=user.pk)
    try:
        versions = cache.get_many([GEN_KEY, version_key])
    except Exception:  # no cache, no storing; the page itself still renders
        logger.warning("page cache unavailable; rendering without storing", exc_info=True)
        versions = None
    pool = _pool_fingerprint()
    context = site.explore_context(user=user, tab="for-you", page=1, fresh=fresh)
    context["next_path"] = CANONICAL_PATH
    context["csrf_token"] = CSRF_SENTINEL
    html = render_to_string("trends/home.html", context, request=request)
    if versions is not None:
        api_entry = {
            **_api_first_page(items=context["items"], has_next=context["has_next"]),
            "gen": versions.get(GEN_KEY, 0),
            "uv": versions.get(version_key, 0),
            "rendered": time.time(),
            "built": time.time(),
        }
        entry = {
            # Bytes split at the CSRF placeholders: a hit joins them around the token, no search.
            "parts": page_parts(html),
            "auth": user.get_session_auth_hash(),
            "gen": versions.get(GEN_KEY, 0),
            "uv": versions.get(version_key, 0),
            "pool": pool,
            "rendered": time.time(),
            "built": time.time(),  # last time it was rendered or found current
        }
        try:
            cache.set_many(
                {page_key(user_id=user.pk): entry, api_key(user_id=user.pk): api_entry},
                settings.FOR_YOU_PAGE_MAX_AGE_SECONDS,
            )
        except Exception:
            logger.warning("page cache unavailable; page not stored", exc_info=True)
    if seen:
        _seen(user.pk)
    return html


def _api_first_page(*, items, has_next: bool) -> dict:
    """The same ranked items as the API's first For You page serves them (positions from 1)."""
    from trends.ranking.types import RankedEvent

    ranked = [
        RankedEvent(event=i.event, score=i.score, explanation=i.explanation, features=i.features,
                    variant=i.variant, position=i.position + 1)
        for i in items
    ]
    return _api_answer(ranked=ranked, has_next=has_next)


def api_page_versions(*, user) -> dict | None:
    """The versions an API first page is about to be ranked under (read before ranking, as the page
    build does); None when pages are off or the cache is unavailable (then nothing is stored)."""
    if not pages_enabled():
        return None
    version_key = site.feed_version_key(user_id=user.pk)
    try:
        found = cache.get_many([GEN_KEY, version_key])
    except Exception:
        logger.warning("page cache unavailable; API page not stored", exc_info=True)
        return None
    return {"gen": found.get(GEN_KEY, 0), "uv": found.get(version_key, 0)}


def api_page_store(*, user, ranked: list, has_next: bool, versions: dict) -> None:
    """Store the API's first For You page as an API request just ranked it.

    For readers who use only the API (an app), no site visit builds their page: without this, every
    one of their requests would rank afresh. They also count as active, so the precompute pass and
    the refresh keep the page current from then on, as for readers of the site.
    """
    now = time.time()
    entry = {**_api_answer(ranked=ranked, has_next=has_next), **versions, "rendered": now, "built": now}
    try:
        cache.set(api_key(user_id=user.pk), entry, settings.FOR_YOU_PAGE_MAX_AGE_SECONDS)
    except Exception:
        logger.warning("page cache unavailable; API page not stored", exc_info=True)
    _seen(user.pk)


def _api_answer(*, ranked: list, has_next: bool) -> dict:
    from rest_framework.renderers import JSONRenderer

    from trends.api.conditional import basis_json, newest
    from trends.api.feeds import feed_basis, ranked_payload

    return {
        # Encoded once here, not on every API request: the answer's body and ETag are spliced from them.
        "results_json": JSONRenderer().render(ranked_payload(ranked)),
        "basis_json": basis_json(feed_basis(ranked)),
        "last_modified": newest(*(i.event.updated_at for i in ranked)),
        "has_next": has_next,
        "limit": site.PAGE_SIZE,
    }


def shared_page_store(*, request: HttpRequest, key: str, template: str, context: dict) -> str:
    """Render a page every visitor without a session sees alike, store it, return it (placeholder in).

    Kept past its fresh age for the stale grace (trends.pages.selectors.shared_page_lookup)."""
    try:
        gen = cache.get(GEN_KEY, 0)
    except Exception:
        gen = None
    html = render_to_string(template, {**context, "csrf_token": CSRF_SENTINEL}, request=request)
    if gen is not None:
        entry = {"parts": page_parts(html), "gen": gen, "built": time.time()}
        try:
            cache.set(key, entry, settings.SHARED_PAGE_FRESH_SECONDS + settings.SHARED_PAGE_STALE_SECONDS)
        except Exception:
            logger.warning("page cache unavailable; shared page not stored", exc_info=True)
    return html


def event_page_store(*, request: HttpRequest, event_id: int, context: dict) -> str:
    return shared_page_store(
        request=request, key=event_page_key(event_id=event_id), template="trends/event_detail.html", context=context
    )


def tab_page_store(*, request: HttpRequest, query: str, context: dict) -> str:
    return shared_page_store(request=request, key=tab_page_key(query=query), template="trends/home.html", context=context)


def _pool_fingerprint() -> str:
    from trends.ranking.selectors import pool_cached

    return pool_cached(now=timezone.now()).fingerprint()


def page_refresh(*, user) -> bool:
    """Re-render the user's page if anything on it may have changed; otherwise mark it current.

    Returns whether it was re-rendered. A page is current when the curation generation, the user's
    feed version and the ranking pool (events, scores, sizes, titles) are what it was built from;
    it is re-rendered anyway as it nears the max age, so relative times ("5m ago") stay right.
    """
    key, version_key = page_key(user_id=user.pk), site.feed_version_key(user_id=user.pk)
    found = cache.get_many([key, api_key(user_id=user.pk), GEN_KEY, version_key])
    entry, api_entry = found.get(key), found.get(api_key(user_id=user.pk))
    now = time.time()
    max_age = settings.FOR_YOU_PAGE_MAX_AGE_SECONDS
    if (
        entry
        and entry["gen"] == found.get(GEN_KEY, 0)
        and entry["uv"] == found.get(version_key, 0)
        and entry.get("pool") == _pool_fingerprint()
        and now - entry["rendered"] < max_age - 2 * settings.FOR_YOU_PAGE_REFRESH_SECONDS
    ):
        # Rewriting an older copy over a newer one is harmless: lookups check the versions.
        current = {key: {**entry, "built": now}}
        if api_entry and api_entry["gen"] == entry["gen"] and api_entry["uv"] == entry["uv"]:
            current[api_key(user_id=user.pk)] = {**api_entry, "built": now}
        cache.set_many(current, max(1, int(max_age - (now - entry["rendered"]))))
        return False
    page_build(user=user, seen=True, fresh=True)
    return True


def page_invalidate(*, user_id: int) -> None:
    """This user's stored pages and feeds are stale (their own action, a settings or password change)."""
    site.feed_invalidate_id(user_id=user_id)


_asked: dict[int, float] = {}


def page_refresh_enqueue(*, user_id: int) -> None:
    """Rebuild a page that is getting old, in the background, once per refresh interval.

    Until the worker has rebuilt it, every request for the page finds it old: this process
    remembers it already asked, so those requests cost no extra cache round trip.
    """
    interval = settings.FOR_YOU_PAGE_REFRESH_SECONDS
    now = time.monotonic()
    if now - _asked.get(user_id, -interval) < interval:
        return
    if len(_asked) > 100_000:
        _asked.clear()
    _asked[user_id] = now
    if not cache.add(refresh_key(user_id=user_id), 1, interval):
        return
    from trends.pages import tasks

    # robust: a broker outage leaves the old page in place until it expires; never an error page.
    transaction.on_commit(lambda: tasks.page_refresh.delay(user_id), robust=True)


def pages_invalidate_all() -> None:
    """Every stored page is stale (a curator hid, renamed or merged an event, or changed a blocklist).

    Runs after the commit, so no page rendered from the old data can be stored under the new
    generation; then active users' pages are rebuilt in the background.
    """

    def bump() -> None:
        try:
            cache.incr(GEN_KEY)
        except ValueError:
            cache.set(GEN_KEY, 1, None)
        from trends.pages import tasks

        tasks.pages_precompute.delay()

    transaction.on_commit(bump, robust=True)


@dataclass(frozen=True)
class PrecomputeResult:
    pages: int
    seconds: float

    @property
    def ms_per_page(self) -> float:
        return 1000 * self.seconds / self.pages if self.pages else 0.0


def pages_precompute(*, active_within_s: int | None = None, limit: int | None = None) -> PrecomputeResult:
    """Render the pages of recently active users ahead of their next request, most recent first."""
    active_within_s = settings.FOR_YOU_ACTIVE_SECONDS if active_within_s is None else active_within_s
    limit = settings.FOR_YOU_PRECOMPUTE_LIMIT if limit is None else limit
    since = timezone.now() - dt.timedelta(seconds=active_within_s)
    users = get_user_model().objects.filter(is_active=True, last_seen_at__gte=since).order_by("-last_seen_at")[:limit]
    started = time.perf_counter()
    count = 0
    for user in users.iterator(chunk_size=500):
        try:
            page_build(user=user, seen=False, fresh=True)
        except Exception:  # one user's broken page must not stop everyone else's
            logger.exception("page precompute failed for user %s", user.pk)
            continue
        count += 1
    return PrecomputeResult(pages=count, seconds=time.perf_counter() - started)
