"""Read helpers for the Explore pages: feeds, sparklines, story so far, related events, search, rate limits.

Every helper here is bounded: a fixed number of queries and a capped number of rows, whatever the
data size, so a page's query count does not grow with the world.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe

from trends import selectors
from trends.embedding import unpack_many
from trends.models import (
    Category,
    Engagement,
    Event,
    EventBucket,
    EventLink,
    EventMembership,
    EventSnapshot,
    Tweet,
)

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
MAX_PAGE = 50
# Tabs of the Explore home, in display order: (slug, label, category or None).
TABS: tuple[tuple[str, str, str | None], ...] = (
    ("for-you", "For You", None),
    ("trending", "Trending", None),
    ("news", "News", Category.NEWS),
    ("sports", "Sports", Category.SPORTS),
    ("entertainment", "Entertainment", Category.ENTERTAINMENT),
    ("technology", "Technology", Category.TECHNOLOGY),
)
TAB_SLUGS = {slug for slug, _, _ in TABS}
TAB_CATEGORY = {slug: category for slug, _, category in TABS}
TAB_SURFACE = {"for-you": "for_you", "trending": "trending"}

HIDDEN_KINDS = (Engagement.Kind.DISMISS, Engagement.Kind.REPORT)


# --- ranking adapter -------------------------------------------------------------------------------


@dataclass
class FeedItem:
    """What a card needs; the same shape as trends.ranking's RankedEvent."""

    event: Event
    score: float
    explanation: str
    features: dict = field(default_factory=dict)
    variant: str = ""
    position: int = 0


# Where the ranking package exports its entry points (the package itself first).
RANKING_MODULES = ("trends.ranking", "trends.ranking.service", "trends.ranking.services", "trends.ranking.engine")


def _ranking_function(name: str) -> Callable[..., list[Any]] | None:
    """The ranking module's function if it exists yet; the site keeps working while it is being built."""
    for module_name in RANKING_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        fn = getattr(module, name, None)
        if callable(fn):
            return fn
    return None


def _as_items(ranked: list[Any], *, offset: int) -> list[FeedItem]:
    items = []
    for index, item in enumerate(ranked):
        items.append(
            FeedItem(
                event=item.event,
                score=float(getattr(item, "score", 0.0)),
                explanation=str(getattr(item, "explanation", "") or ""),
                features=dict(getattr(item, "features", None) or {}),
                variant=str(getattr(item, "variant", "") or ""),
                position=offset + index,
            )
        )
    return items


def _fallback_explanation(event: Event, *, location: str | None) -> str:
    label = event.get_category_display()
    if location and event.location and event.location.lower() == location.lower():
        return f"Popular in {event.location}"
    return f"Trending in {label}"


def _trending(*, language: str | None, location: str | None, category: str | None, limit: int, offset: int) -> list[FeedItem]:
    fn = _ranking_function("trending_events")
    if fn is not None:
        try:
            return _as_items(
                fn(language=language, location=location, category=category, limit=limit, offset=offset),
                offset=offset,
            )
        except Exception:  # a ranking bug must not take the Explore page down
            logger.exception("trending_events failed; falling back to trend score order")
    events = selectors.event_list_trending(
        language=language, location=location, category=category, limit=limit, offset=offset
    )
    return [
        FeedItem(event=e, score=e.trend_score, explanation=_fallback_explanation(e, location=location), position=offset + i)
        for i, e in enumerate(events)
    ]


def _for_you(*, user, category: str | None, limit: int, offset: int) -> list[FeedItem]:
    fn = _ranking_function("rank_for_user")
    if fn is not None:
        try:
            return _as_items(fn(user=user, limit=limit, offset=offset, category=category), offset=offset)
        except Exception:
            logger.exception("rank_for_user failed; falling back to trending")
    return _trending(language=None, location=None, category=category, limit=limit, offset=offset)


def user_hidden_event_ids(*, user) -> set[int]:
    """Events this user said "Not interested" to or reported: never shown to them again."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(
        Engagement.objects.filter(user=user, kind__in=HIDDEN_KINDS, event__isnull=False).values_list(
            "event_id", flat=True
        )
    )


CURATION_GENERATION_KEY = "fypage:gen"


def curation_generation() -> int:
    """Bumped after every curation change (trends.pages.pages_invalidate_all)."""
    return cache.get(CURATION_GENERATION_KEY, 0)


def feed_version_key(*, user_id: int | str) -> str:
    return f"feedver:{user_id}"


def _feed_version(user_id: int) -> int:
    return cache.get(feed_version_key(user_id=user_id), 0)


def feed_invalidate_id(*, user_id: int) -> None:
    """That user's cached feeds and stored pages become unreachable at once."""
    key = feed_version_key(user_id=user_id)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, None)


def feed_invalidate(*, user) -> None:
    """Called after a dismissal, report, follow or settings change."""
    feed_invalidate_id(user_id=user.pk)


def _trending_locale(user) -> tuple[str | None, str | None]:
    if not getattr(user, "is_authenticated", False):
        return None, None
    language = user.languages[0] if user.languages else None
    location = user.location if user.show_local_trends and user.location else None
    return language, location


def trending_scope(*, user) -> str:
    """Where the Trending tab looks by default: the user's place when they asked for local trends."""
    _, location = _trending_locale(user)
    return location or ""


def feed_page(
    *, user, tab: str, page: int = 1, fresh: bool = False, everywhere: bool = False
) -> tuple[list[FeedItem], bool]:
    """One page of a tab's cards and whether there is a next page. Cached per user for a few seconds.

    `fresh` skips the cached copy (and replaces it): the "N new events — show" banner asks for it.
    `everywhere` drops the user's location from the Trending tab.
    """
    page = max(1, min(page, MAX_PAGE))
    offset = (page - 1) * PAGE_SIZE
    authenticated = getattr(user, "is_authenticated", False)
    if tab == "for-you" and not authenticated:
        tab = "trending"
    owner = f"u{user.pk}.{_feed_version(user.pk)}" if authenticated else "anon"
    # The curation generation too: a hidden or renamed event leaves every cached feed at once.
    key = f"feed:{owner}:g{curation_generation()}:{tab}:{page}:{'all' if everywhere else 'local'}"
    cached = None if fresh else cache.get(key)
    if cached is not None:
        return cached
    # One extra row tells whether a next page exists.
    category = TAB_CATEGORY.get(tab)
    if tab == "for-you":
        items = _for_you(user=user, category=None, limit=PAGE_SIZE + 1, offset=offset)
    else:
        language, location = _trending_locale(user) if tab == "trending" else (None, None)
        if everywhere:
            location = None
        items = _trending(language=language, location=location, category=category, limit=PAGE_SIZE + 1, offset=offset)
        if not items and page == 1 and (language or location):
            # Nothing local yet: the global list beats an empty page.
            items = _trending(language=None, location=None, category=category, limit=PAGE_SIZE + 1, offset=offset)
    hidden = user_hidden_event_ids(user=user)
    if hidden:
        items = [item for item in items if item.event.pk not in hidden]
    has_next = len(items) > PAGE_SIZE and page < MAX_PAGE
    items = items[:PAGE_SIZE]
    for item in items:
        _make_picklable(item.event)
    result = (items, has_next)
    cache.set(key, result, settings.FEED_CACHE_SECONDS)
    return result


# --- event cards ----------------------------------------------------------------------------------
#
# A card is the same for everyone who sees that event on that surface, except its rank, the "why"
# line and the per-request token and return path. So each card is rendered once per change of what
# it shows and kept in the process; a page fills in the per-reader parts. Rendering 20 cards through
# the template engine was most of a For You page's cost.

CARD_CACHE_MAX = 20_000
_card_cache: dict[tuple, str] = {}
# Raw "<" never comes out of an escaped value, so user text can never forge one of these markers.
CARD_RANK, CARD_POS, CARD_WHY, CARD_NEXT, CARD_CSRF = (
    mark_safe(f"<card-{name}-9c1e>") for name in ("rank", "pos", "why", "next", "csrf")  # noqa: S308
)
_NO_WHY = f'<p class="card__why">{CARD_WHY}</p>'


def _card_template(*, item: FeedItem, surface: str, authenticated: bool) -> str:
    event = item.event
    minutes = int((timezone.now() - event.last_seen_at).total_seconds() // 60) if event.last_seen_at else -1
    key = (
        event.pk, event.title, event.category, event.location, event.state, event.tweet_count,
        event.author_count, event.last_seen_at, minutes, surface, authenticated,
    )
    html = _card_cache.get(key)
    if html is None:
        html = render_to_string(
            "trends/_event_card.html",
            {
                "item": item, "rank": CARD_RANK, "pos": CARD_POS, "why": CARD_WHY, "surface": surface,
                "authenticated": authenticated, "csrf_token": CARD_CSRF, "next_path": CARD_NEXT,
            },
        )
        if len(_card_cache) >= CARD_CACHE_MAX:
            _card_cache.clear()
        _card_cache[key] = html
    return html


def card_html(*, item: FeedItem, surface: str, authenticated: bool, csrf_token: str, next_path: str) -> str:
    """One event card for one reader: the shared rendering with rank, reason, token and path filled in."""
    html = _card_template(item=item, surface=surface, authenticated=authenticated)
    html = html.replace(CARD_RANK, str(item.position + 1)).replace(CARD_POS, str(item.position))
    html = html.replace(CARD_WHY, escape(item.explanation)) if item.explanation else html.replace(_NO_WHY, "")
    return html.replace(CARD_CSRF, conditional_escape(csrf_token)).replace(CARD_NEXT, escape(next_path))


IMPRESSION_SALT = "explore.impressions"


def impression_token(*, user, items: list, surface: str, variant: str) -> str:
    """Signed list of shown cards for the <noscript> pixel: only this user, only these cards, only for an hour."""
    payload = {
        "u": user.pk,
        "e": [item.event.pk for item in items],
        "o": items[0].position if items else 0,
        "s": surface,
        "v": variant,
    }
    return signing.dumps(payload, salt=IMPRESSION_SALT, compress=True)


def explore_context(*, user, tab: str, page: int, everywhere: bool = False, fresh: bool = False) -> dict[str, Any]:
    """Everything the Explore home templates need for one tab and page of one user (request-free,
    so a page can also be rendered ahead of time by trends.pages)."""
    from trends.forms import ComposeForm

    authenticated = getattr(user, "is_authenticated", False)
    items, has_next = feed_page(user=user, tab=tab, page=page, fresh=fresh, everywhere=everywhere)
    surface = TAB_SURFACE.get(tab, "topic")
    return {
        "tab": tab,
        "tabs": [(slug, label) for slug, label, _ in TABS if slug != "for-you" or authenticated],
        "items": items,
        "page": page,
        "has_next": has_next,
        "surface": surface,
        "variant": items[0].variant if items else "",
        # Events younger than the ranking's pool may be missing from this page: the banner counts them later.
        "since": int((timezone.now() - ranking_staleness()).timestamp()),
        "compose_form": ComposeForm() if authenticated else None,
        "local_place": trending_scope(user=user) if tab == "trending" else "",
        "pixel_token": (
            impression_token(user=user, items=items, surface=surface, variant=items[0].variant)
            if authenticated and items
            else ""
        ),
        "everywhere": everywhere,
    }


def _make_picklable(event: Event) -> None:
    # PostgreSQL hands binary columns back as memoryview, which the cache cannot pickle.
    for name, value in list(vars(event).items()):
        if isinstance(value, memoryview):
            setattr(event, name, bytes(value))


def ranking_staleness() -> dt.timedelta:
    """How old the ranking's candidate pool may be: a new event can take this long to reach a feed."""
    return dt.timedelta(seconds=float(getattr(settings, "RANKING_POOL_TTL_S", 20)))


def new_events_count(*, since: dt.datetime, category: str | None = None, now: dt.datetime | None = None) -> int:
    """Live public events that started trending (or appeared) after `since`: the "N new" banner.

    Only events old enough to be in every feed already count, so "show" always shows them.
    """
    until = (now or timezone.now()) - ranking_staleness()
    qs = selectors.event_public_queryset().filter(
        state__in=selectors.LIVE_STATES, author_count__gte=settings.TREND_MIN_UNIQUE_AUTHORS
    )
    if category:
        qs = qs.filter(category=category)
    return (
        qs.annotate(appeared=Coalesce("trending_since", "created_at"))
        .filter(appeared__gt=since, appeared__lte=until)
        .count()
    )


# --- event page ------------------------------------------------------------------------------------

SPARK_W, SPARK_H, SPARK_PAD = 240, 48, 2
SPARK_BUCKETS = 48
SPARK_MAX_MEMBERS = 5000


@dataclass
class Sparkline:
    counts: list[int]
    line: str  # polyline points
    area: str  # closed polygon points under the line
    peak: int
    total: int
    start: dt.datetime | None
    end: dt.datetime | None
    width: int = SPARK_W
    height: int = SPARK_H


def _sparkline_from_counts(counts: list[int], start, end) -> Sparkline | None:
    if not counts or sum(counts) == 0:
        return None
    peak = max(counts)
    n = len(counts)
    step = (SPARK_W - 2 * SPARK_PAD) / max(n - 1, 1)
    usable = SPARK_H - 2 * SPARK_PAD
    points = [
        (SPARK_PAD + i * step, SPARK_PAD + usable * (1 - c / peak)) for i, c in enumerate(counts)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    base = SPARK_H - SPARK_PAD
    area = f"{points[0][0]:.1f},{base} {line} {points[-1][0]:.1f},{base}"
    return Sparkline(counts=counts, line=line, area=area, peak=peak, total=sum(counts), start=start, end=end)


def event_sparkline(*, event: Event) -> Sparkline | None:
    """Volume over time, from the event's buckets, or from its members' timestamps when it has none."""
    buckets = list(
        EventBucket.objects.filter(event=event).order_by("-start").values_list("start", "tweets")[:SPARK_BUCKETS]
    )
    if buckets:
        buckets.reverse()
        counts = [n for _, n in buckets]
        if len(counts) == 1:
            counts = [0, *counts]
        return _sparkline_from_counts(counts, buckets[0][0], buckets[-1][0])
    stamps = list(
        EventMembership.objects.filter(event=event)
        .order_by("-tweet_created_at")
        .values_list("tweet_created_at", flat=True)[:SPARK_MAX_MEMBERS]
    )
    if not stamps:
        return None
    start, end = min(stamps), max(stamps)
    span = (end - start).total_seconds()
    n = 24 if span > 0 else 2
    counts = [0] * n
    for stamp in stamps:
        i = int((stamp - start).total_seconds() / span * (n - 1)) if span > 0 else n - 1
        counts[i] += 1
    return _sparkline_from_counts(counts, start, end)


@dataclass
class StoryEntry:
    at: dt.datetime
    kind: str  # started, snapshot, merge_in, merge_out, split_in, split_out, continued_from, continued_as, now
    text: str
    other: Event | None = None


STORY_MAX_SNAPSHOTS = 12


def event_story(*, event: Event) -> list[StoryEntry]:
    """How the event developed: first seen, snapshots, merges/splits/continuations, now. Three queries."""
    entries = [StoryEntry(at=event.first_seen_at, kind="started", text="First posts seen")]
    snapshots = list(
        EventSnapshot.objects.filter(event=event).order_by("-taken_at")[:STORY_MAX_SNAPSHOTS]
    )
    previous_state = None
    for snap in reversed(snapshots):
        parts = []
        if snap.state != previous_state:
            parts.append(snap.get_state_display())
        if snap.tweet_count:
            parts.append(f"{snap.tweet_count} posts from {snap.author_count} people")
        if snap.note:
            parts.append(snap.note)
        if parts:
            entries.append(StoryEntry(at=snap.taken_at, kind="snapshot", text=" · ".join(parts)))
        previous_state = snap.state
    links = list(
        EventLink.objects.filter(Q(source=event) | Q(target=event))
        .select_related("source", "target")
        .order_by("-created_at")[:20]
    )
    labels = {
        (EventLink.Kind.MERGE, True): ("merge_out", "Merged into"),
        (EventLink.Kind.MERGE, False): ("merge_in", "Absorbed"),
        (EventLink.Kind.SPLIT, True): ("split_out", "Split off into"),
        (EventLink.Kind.SPLIT, False): ("split_in", "Split off from"),
        (EventLink.Kind.CONTINUATION, True): ("continued_as", "Continued as"),
        (EventLink.Kind.CONTINUATION, False): ("continued_from", "Continues"),
    }
    for link in links:
        outgoing = link.source_id == event.pk
        kind, label = labels.get((link.kind, outgoing), ("link", link.get_kind_display()))
        other = link.target if outgoing else link.source
        entries.append(StoryEntry(at=link.created_at, kind=kind, text=label, other=other))
    entries.sort(key=lambda e: e.at)
    return entries


REPRESENTATIVES_MAX = 6


def event_representatives(*, event: Event) -> list[Tweet]:
    """The posts the pipeline chose to show the event's range of viewpoints, in its order."""
    ids = [
        int(i) for i in (event.representative_tweet_ids or []) if re.fullmatch(r"[0-9]{1,19}", str(i))
    ][:REPRESENTATIVES_MAX]
    if not ids:
        return selectors.event_tweets(event=event, order="top", limit=3)
    by_id = {
        t.pk: t for t in Tweet.objects.filter(pk__in=ids, is_deleted=False).select_related("author")
    }
    return [by_id[i] for i in ids if i in by_id]


EVENT_PARTS_TTL = 30


def _detach(value: Any) -> None:
    """Makes rows and the rows they carry picklable (PostgreSQL binary columns come back as memoryview)."""
    if isinstance(value, (list, tuple)):
        for item in value:
            _detach(item)
    elif hasattr(value, "_state") and hasattr(value, "pk"):
        _make_picklable(value)
        for related in value._state.fields_cache.values():
            _detach(related)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            _detach(getattr(value, name))


def event_page_parts(*, event: Event) -> dict[str, Any]:
    """The event page's shared parts (volume line, story, representative posts, related events).

    The same for every reader, and most of the page's cost (the related events alone compare
    hundreds of centroids), so they are computed once per event state and kept for 30 s: the
    key moves with the event's curation version, its size and its last post.
    """
    stamp = int(event.last_seen_at.timestamp()) if event.last_seen_at else 0
    key = f"evparts:{event.pk}:{event.version}:{event.tweet_count}:{stamp}"
    try:
        parts = cache.get(key)
    except Exception:  # a cache outage costs time, not the page
        logger.warning("event parts cache unavailable", exc_info=True)
        parts = None
    if parts is not None:
        return parts
    parts = {
        "sparkline": event_sparkline(event=event),
        "story": event_story(event=event),
        "representatives": event_representatives(event=event),
        "related": event_related(event=event),
    }
    _detach(list(parts.values()))
    try:
        cache.set(key, parts, EVENT_PARTS_TTL)
    except Exception:
        logger.warning("event parts cache unavailable", exc_info=True)
    return parts


RELATED_MIN_SIMILARITY = 0.3


def event_related(*, event: Event, limit: int = 5) -> list[tuple[Event, float]]:
    """The live public events nearest to this one's centroid (trends.selectors.event_neighbours)."""
    wanted = selectors.event_neighbours(event=event, limit=limit, min_similarity=RELATED_MIN_SIMILARITY)
    if not wanted:
        return []
    found = selectors.event_public_queryset().filter(state__in=selectors.LIVE_STATES).only(
        "id", "title", "category", "location", "tweet_count", "last_seen_at", "state"
    ).in_bulk([pk for pk, _ in wanted])
    return [(found[pk], sim) for pk, sim in wanted if pk in found][:limit]


# --- search ----------------------------------------------------------------------------------------

SEARCH_MAX_TERMS = 8
SEARCH_MAX_QUERY = 200
MEANING_EVENT_CANDIDATES = 2000
MEANING_TWEET_CANDIDATES = 3000
MEANING_MIN_SIMILARITY = 0.2


@dataclass
class SearchResults:
    events: list[Event]
    tweets: list[Tweet]
    has_next: bool
    mode: str  # the mode actually used ("meaning" falls back to "words" without a model)
    notice: str = ""


def _terms(query: str) -> list[str]:
    return [t for t in query[:SEARCH_MAX_QUERY].split() if t][:SEARCH_MAX_TERMS]


def _words_events(terms: list[str], *, limit: int, offset: int) -> list[Event]:
    condition = Q()
    for term in terms:
        bare = term.lstrip("#")
        condition &= Q(title__icontains=bare) | Q(summary__icontains=bare) | Q(keywords__icontains=bare)
    return list(
        selectors.event_public_queryset()
        .filter(condition)
        .order_by("-last_seen_at", "-pk")[offset : offset + limit]
    )


def _words_tweets(terms: list[str], *, limit: int, offset: int) -> list[Tweet]:
    condition = Q()
    for term in terms:
        condition &= Q(text__icontains=term)
    return list(
        Tweet.objects.filter(condition, is_deleted=False)
        .select_related("author")
        .order_by("-created_at", "-id")[offset : offset + limit]
    )


def _query_vector(query: str) -> np.ndarray:
    from trends import embedding

    return np.asarray(embedding.get_embedder().encode([query[:SEARCH_MAX_QUERY]])[0], dtype=np.float32)


def _nearest(vector: np.ndarray, rows: list[tuple[int, bytes]], *, limit: int, offset: int) -> list[int]:
    rows = [(pk, blob) for pk, blob in rows if blob and len(blob) == vector.shape[0] * 2]
    if not rows:
        return []
    sims = unpack_many([blob for _, blob in rows]) @ vector
    order = [i for i in np.argsort(-sims) if sims[i] >= MEANING_MIN_SIMILARITY]
    return [rows[i][0] for i in order[offset : offset + limit]]


def _meaning_events(vector: np.ndarray, *, limit: int, offset: int) -> list[Event]:
    rows = list(
        selectors.event_public_queryset()
        .filter(centroid__isnull=False)
        .order_by("-last_seen_at")
        .values_list("id", "centroid")[:MEANING_EVENT_CANDIDATES]
    )
    ids = _nearest(vector, rows, limit=limit, offset=offset)
    by_id = Event.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def _meaning_tweets(vector: np.ndarray, *, limit: int, offset: int) -> list[Tweet]:
    rows = list(
        Tweet.objects.filter(embedding__isnull=False, is_deleted=False)
        .order_by("-created_at")
        .values_list("id", "embedding")[:MEANING_TWEET_CANDIDATES]
    )
    ids = _nearest(vector, rows, limit=limit, offset=offset)
    by_id = {t.pk: t for t in Tweet.objects.filter(pk__in=ids).select_related("author")}
    return [by_id[i] for i in ids if i in by_id]


def search(*, query: str, mode: str = "words", kind: str = "all", page: int = 1) -> SearchResults:
    """Events and posts matching every word, or nearest in meaning to the query (recent rows only).

    kind "all" shows a few events above the first page of posts; "events" and "posts" page one list.
    """
    page = max(1, min(page, MAX_PAGE))
    query = query.strip()[:SEARCH_MAX_QUERY]
    terms = _terms(query)
    if not terms:
        return SearchResults(events=[], tweets=[], has_next=False, mode=mode)
    offset = (page - 1) * PAGE_SIZE
    event_limit = PAGE_SIZE if kind == "events" else 5
    want_events = kind == "events" or (kind == "all" and page == 1)
    want_tweets = kind in {"all", "posts"}
    notice = ""
    find_events, find_tweets = _words_events, _words_tweets
    key: Any = terms
    if mode == "meaning":
        try:
            key = _query_vector(query)
            find_events, find_tweets = _meaning_events, _meaning_tweets
        except Exception:  # no model on this machine: words still work
            logger.exception("query embedding failed; searching by words")
            mode, notice = "words", "Search by meaning is unavailable right now; showing word matches."
    events = find_events(key, limit=event_limit + 1, offset=offset if kind == "events" else 0) if want_events else []
    tweets = find_tweets(key, limit=PAGE_SIZE + 1, offset=offset) if want_tweets else []
    has_next = len(events) > PAGE_SIZE if kind == "events" else len(tweets) > PAGE_SIZE
    return SearchResults(
        events=events[:event_limit], tweets=tweets[:PAGE_SIZE], has_next=has_next, mode=mode, notice=notice
    )


# --- rate limits -----------------------------------------------------------------------------------

# (requests, seconds) per bucket; settings.RATE_LIMITS overrides by name.
DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "login": (10, 300),
    "signup": (5, 3600),
    "post": (30, 600),
}


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


def rate_limit_check(*, bucket: str, ident: str) -> None:
    """Fixed-window counter in the shared cache; raises RateLimited past the bucket's limit.

    A fixed window lets through at most twice the limit around a boundary, which is fine for
    slowing down password guessing and spam; it costs one cache round trip per request.
    """
    limits = {**DEFAULT_RATE_LIMITS, **getattr(settings, "RATE_LIMITS", {})}
    allowed, window = limits[bucket]
    now = int(timezone.now().timestamp())
    slot = now // window
    key = f"rl:{bucket}:{ident}:{slot}"
    if cache.add(key, 1, window + 5):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, window + 5)
            count = 1
    if count > allowed:
        raise RateLimited(retry_after=max(1, (slot + 1) * window - now))


def client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def compact_number(value: int) -> str:
    value = int(value or 0)
    if value < 1000:
        return str(value)
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            number = value / size
            text = f"{number:.1f}" if number < 10 else f"{math.floor(number)}"
            return text.removesuffix(".0") + unit
    return str(value)
