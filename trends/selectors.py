"""Read-side queries for posts and events. Bounded: each returns a fixed number of queries' worth."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet

from trends.models import Event, EventMembership, EventState, ReviewStatus, Tweet

PUBLIC_REVIEW_STATES = (ReviewStatus.AUTO, ReviewStatus.APPROVED)
LIVE_STATES = (EventState.EMERGING, EventState.TRENDING, EventState.FADING)


def event_public_queryset() -> QuerySet[Event]:
    """Events anyone may see: not hidden, not pending or rejected by review, not merged away, and
    healthy enough (coordinated spam and heavily reported events are kept out of Explore), and with
    enough distinct authors: below that an Event row is only a candidate cluster, not an event."""
    return Event.objects.filter(
        hidden=False,
        review_status__in=PUBLIC_REVIEW_STATES,
        health__gte=settings.EVENT_MIN_PUBLIC_HEALTH,
        author_count__gte=settings.TREND_MIN_UNIQUE_AUTHORS,
    ).exclude(state=EventState.MERGED)


def event_list_trending(
    *,
    language: str | None = None,
    location: str | None = None,
    category: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Event]:
    qs = event_public_queryset().filter(
        state__in=LIVE_STATES, author_count__gte=settings.TREND_MIN_UNIQUE_AUTHORS
    )
    if language:
        qs = qs.filter(language=language)
    if location:
        qs = qs.filter(location__iexact=location)
    if category:
        qs = qs.filter(category=category)
    return list(qs.order_by("-trend_score", "-author_count", "-pk")[offset : offset + limit])


def event_get_public(*, event_id: int) -> Event | None:
    return event_public_queryset().filter(pk=event_id).first()


def event_neighbours(*, event: Event, limit: int, min_similarity: float) -> list[tuple[int, float]]:
    """Ids of the rankable events nearest to this one's centroid (cosine above `min_similarity`),
    most similar first, with a few spares: callers keep those still public (the pool may be seconds
    old) and cut to `limit`.

    Compared against the ranking's candidate pool (trends.ranking: every live public event with
    enough authors, centroids already decoded into one matrix shared by the process): one
    matrix-vector product, not a query decoding hundreds of centroids per call.
    """
    import numpy as np
    from django.utils import timezone

    from trends.embedding import unpack
    from trends.ranking.selectors import pool_cached

    vector = unpack(event.centroid)
    if vector is None or not np.any(vector):
        return []
    pool = pool_cached(now=timezone.now())
    if not len(pool) or pool.emb.shape[1] != vector.shape[0]:
        return []
    sims = pool.emb @ (vector / np.linalg.norm(vector))
    sims[pool.ids == event.pk] = -np.inf
    top = np.argsort(-sims, kind="stable")[: limit + 5]
    return [(int(pool.ids[i]), float(sims[i])) for i in top if sims[i] > min_similarity]


def event_tweets(*, event: Event, order: str = "top", limit: int = 20, offset: int = 0) -> list[Tweet]:
    """An event's posts: `top` by health and engagement among its EVENT_TOP_POSTS_WINDOW most recent
    posts, `latest` by time. Author fetched in the same query; the embedding is not read."""
    qs = Tweet.objects.filter(is_deleted=False).select_related("author").defer("embedding")
    if order == "latest":
        # Ordered on the membership's copy of the time: its (event, time) index reads only one page's rows.
        qs = qs.filter(membership__event=event).order_by("-membership__tweet_created_at", "-id")
    else:
        recent = (
            EventMembership.objects.filter(event=event)
            .order_by("-tweet_created_at")
            .values("tweet_id")[: settings.EVENT_TOP_POSTS_WINDOW]
        )
        qs = qs.filter(pk__in=recent).order_by("-health", "-retweet_count", "-like_count", "-created_at", "-id")
    return list(qs[offset : offset + limit])


def tweet_search(*, query: str, limit: int = 20) -> list[Tweet]:
    terms = [t for t in query.split() if t][:8]
    if not terms:
        return []
    condition = Q()
    for term in terms:
        condition &= Q(text__icontains=term)
    return list(
        Tweet.objects.filter(condition, is_deleted=False).select_related("author").order_by("-created_at")[:limit]
    )
