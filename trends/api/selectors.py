"""Read-side queries the API needs on top of trends.selectors. Every one is bounded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from trends import embedding, selectors
from trends.models import Event, EventLink, EventSnapshot, Tweet

STORY_MAX_SNAPSHOTS = 200
STORY_MAX_LINKS = 100


def event_visible_queryset(*, user) -> QuerySet[Event]:
    """Staff see every event (hidden, pending, merged); everyone else only public ones."""
    if user is not None and user.is_authenticated and user.is_staff:
        return Event.objects.all()
    return selectors.event_public_queryset()


def tweet_get_visible(*, tweet_id: int) -> Tweet | None:
    return Tweet.objects.select_related("author").filter(pk=tweet_id, is_deleted=False).first()


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    if scores.size == 0:
        return np.zeros(0, dtype=np.int64)
    k = min(k, scores.size)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def tweets_semantic_search(*, query: str, limit: int) -> list[tuple[float, Tweet]]:
    """Posts closest in meaning to `query`: cosine against the newest embedded posts (bounded window)."""
    embedder = embedding.get_embedder()
    vector = np.asarray(embedder.encode([query]), dtype=np.float32)[0]
    since = timezone.now() - dt.timedelta(days=settings.API_SEMANTIC_SEARCH_DAYS)
    rows = list(
        Tweet.objects.filter(
            is_deleted=False, embedding__isnull=False, embedding_model=embedder.name, created_at__gte=since
        )
        .exclude(author__is_blocked_source=True)
        .order_by("-created_at")
        .values_list("id", "embedding")[: settings.API_SEMANTIC_SEARCH_WINDOW]
    )
    expected_bytes = vector.shape[0] * 2
    rows = [(pk, blob) for pk, blob in rows if blob is not None and len(blob) == expected_bytes]
    if not rows:
        return []
    matrix = embedding.unpack_many([blob for _, blob in rows])
    scores = matrix @ vector
    order = _top_k(scores, limit)
    ids = [rows[i][0] for i in order]
    tweets = Tweet.objects.select_related("author").in_bulk(ids)
    return [(float(scores[i]), tweets[rows[i][0]]) for i in order if rows[i][0] in tweets]


def events_related(*, event: Event, user, limit: int = 10) -> list[tuple[float, Event]]:
    """Live public events whose centroid is closest to this one's (cosine), most similar first."""
    wanted = selectors.event_neighbours(event=event, limit=limit, min_similarity=0.0)
    if not wanted:
        return []
    found = selectors.event_public_queryset().filter(state__in=selectors.LIVE_STATES).in_bulk([pk for pk, _ in wanted])
    return [(sim, found[pk]) for pk, sim in wanted if pk in found][:limit]


@dataclass
class StoryLink:
    kind: str
    direction: str
    event_id: int
    event_title: str
    created_at: dt.datetime


def event_story(*, event: Event, user) -> tuple[list[EventSnapshot], list[StoryLink]]:
    """The story so far: snapshots oldest first, and merge/split/continuation links both ways."""
    snapshots = list(event.snapshots.order_by("taken_at", "pk")[:STORY_MAX_SNAPSHOTS])
    visible = set(event_visible_queryset(user=user).values_list("pk", flat=True).filter(
        Q(links_in__source=event) | Q(links_out__target=event)
    ))
    raw = (
        EventLink.objects.filter(Q(source=event) | Q(target=event))
        .select_related("source", "target")
        .order_by("created_at", "pk")[:STORY_MAX_LINKS]
    )
    links = []
    for link in raw:
        outgoing = link.source_id == event.pk
        other = link.target if outgoing else link.source
        # Merged-away events stay in a story: they are its history, not a live listing.
        if other.pk not in visible and other.state != "merged":
            continue
        links.append(
            StoryLink(
                kind=link.kind,
                direction="out" if outgoing else "in",
                event_id=other.pk,
                event_title=other.title or f"Event {other.pk}",
                created_at=link.created_at,
            )
        )
    return snapshots, links
