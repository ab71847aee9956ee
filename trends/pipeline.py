"""Pipeline services run by the Celery tasks: embed, cluster, score, describe, lifecycle.

v0: greedy centroid clustering and volume scoring; the event-detection work replaces the internals
behind these same functions.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from trends.embedding import get_embedder, pack, unpack, unpack_many
from trends.models import Event, EventMembership, EventState, PipelineState, Tweet


def tweets_embed(*, tweet_ids: list[int]) -> int:
    """Embed the given posts that still need it. Idempotent: already-embedded posts are skipped."""
    tweets = list(
        Tweet.objects.filter(pk__in=tweet_ids, pipeline_state=PipelineState.NEW).only("id", "text", "shard")
    )
    if not tweets:
        return 0
    embedder = get_embedder()
    vectors = embedder.encode([t.text for t in tweets])
    now = timezone.now()
    for tweet, vector in zip(tweets, vectors, strict=True):
        tweet.embedding = pack(vector)
        tweet.embedding_model = embedder.name
        tweet.pipeline_state = PipelineState.EMBEDDED
        tweet.embedded_at = now
        tweet.enqueued_at = now
    with transaction.atomic():
        # The state guard makes a redelivered batch a no-op instead of a double write.
        for tweet in tweets:
            Tweet.objects.filter(pk=tweet.pk, pipeline_state=PipelineState.NEW).update(
                embedding=tweet.embedding,
                embedding_model=tweet.embedding_model,
                pipeline_state=PipelineState.EMBEDDED,
                embedded_at=now,
                enqueued_at=now,
            )
    return len(tweets)


def shard_cluster(*, shard: int, limit: int | None = None) -> int:
    """Assign embedded posts of one shard to events (greedy nearest centroid). Single writer per shard."""
    limit = limit or settings.CLUSTER_BATCH_SIZE
    threshold = settings.CLUSTER_SIMILARITY_THRESHOLD
    with transaction.atomic():
        tweets = list(
            Tweet.objects.select_for_update(skip_locked=True)
            .filter(shard=shard, pipeline_state=PipelineState.EMBEDDED)
            .order_by("created_at")
            .only("id", "embedding", "created_at", "author_id", "lang")[:limit]
        )
        if not tweets:
            return 0
        window = dt.timedelta(hours=settings.CLUSTER_ACTIVE_WINDOW_HOURS)
        active = list(
            Event.objects.filter(shard=shard, last_seen_at__gte=tweets[0].created_at - window)
            .exclude(state__in=[EventState.ARCHIVED, EventState.MERGED])
            .only("id", "centroid", "tweet_count", "last_seen_at", "first_seen_at")
        )
        centroids = unpack_many([e.centroid for e in active]) if active else np.zeros((0, 384), np.float32)
        counts = [e.tweet_count for e in active]
        memberships: list[EventMembership] = []
        now = timezone.now()
        for tweet in tweets:
            vector = unpack(tweet.embedding)
            best = -1
            if len(active):
                sims = centroids @ vector
                best = int(np.argmax(sims))
                if sims[best] < threshold or tweet.created_at - active[best].last_seen_at > window:
                    best = -1
            if best < 0:
                event = Event.objects.create(
                    shard=shard,
                    first_seen_at=tweet.created_at,
                    last_seen_at=tweet.created_at,
                    centroid=pack(vector),
                    language=tweet.lang,
                )
                active.append(event)
                centroids = np.vstack([centroids, vector[None, :]])
                counts.append(0)
                best = len(active) - 1
            event = active[best]
            n = counts[best]
            merged = centroids[best] * n + vector
            centroids[best] = merged / (np.linalg.norm(merged) or 1.0)
            counts[best] = n + 1
            event.last_seen_at = max(event.last_seen_at, tweet.created_at)
            memberships.append(
                EventMembership(
                    tweet_id=tweet.id,
                    event=event,
                    similarity=float(centroids[best] @ vector),
                    tweet_created_at=tweet.created_at,
                    author_id=tweet.author_id,
                )
            )
        EventMembership.objects.bulk_create(memberships, ignore_conflicts=True)
        Tweet.objects.filter(pk__in=[t.id for t in tweets]).update(
            pipeline_state=PipelineState.ASSIGNED, clustered_at=now
        )
        touched = {m.event.pk for m in memberships}
        stats = {
            row["event"]: row
            for row in EventMembership.objects.filter(event_id__in=touched)
            .values("event")
            .annotate(n=Count("tweet"), authors=Count("author_id", distinct=True))
        }
        for index, event in enumerate(active):
            if event.pk in touched:
                event.centroid = pack(centroids[index])
                event.tweet_count = stats[event.pk]["n"]
                event.author_count = stats[event.pk]["authors"]
                event.version += 1
        Event.objects.bulk_update(
            [e for e in active if e.pk in touched],
            ["centroid", "tweet_count", "author_count", "last_seen_at", "version"],
        )
    return len(tweets)


def events_score(*, now: dt.datetime | None = None) -> int:
    """Trend score = unique authors in the last hour relative to the previous day's hourly mean."""
    now = now or timezone.now()
    hour_ago = now - dt.timedelta(hours=1)
    day_ago = now - dt.timedelta(hours=24)
    events = Event.objects.filter(last_seen_at__gte=day_ago).exclude(
        state__in=[EventState.ARCHIVED, EventState.MERGED]
    )
    rows = events.annotate(
        recent=Count("memberships__author_id", filter=Q(memberships__tweet_created_at__gte=hour_ago), distinct=True),
        daily=Count("memberships__author_id", filter=Q(memberships__tweet_created_at__gte=day_ago), distinct=True),
    )
    updated = []
    for event in rows:
        expected = max(1.0, (event.daily - event.recent) / 23.0)
        observed = float(event.recent)
        score = (observed - expected) ** 2 / expected if observed >= settings.TREND_MIN_UNIQUE_AUTHORS and observed > expected else 0.0
        event.trend_score = score
        updated.append(event)
    Event.objects.bulk_update(updated, ["trend_score"])
    return len(updated)


def events_update_lifecycle(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    changed = Event.objects.filter(trend_score__gt=0, state=EventState.EMERGING).update(state=EventState.TRENDING)
    changed += Event.objects.filter(last_seen_at__lt=now - dt.timedelta(hours=48)).exclude(
        state__in=[EventState.ARCHIVED, EventState.MERGED]
    ).update(state=EventState.ARCHIVED)
    return changed


def events_describe(*, event_ids: list[int] | None = None) -> int:
    """Title events from their most common hashtags and words."""
    qs = Event.objects.filter(title_locked=False)
    if event_ids is not None:
        qs = qs.filter(pk__in=event_ids)
    updated = []
    for event in qs.filter(tweet_count__gte=2):
        texts = Tweet.objects.filter(membership__event=event).values_list("hashtags", flat=True)[:200]
        tags = Counter(tag for tags in texts for tag in tags)
        if tags:
            event.title = " ".join(f"#{tag}" for tag, _ in tags.most_common(2))
            updated.append(event)
    Event.objects.bulk_update(updated, ["title"])
    return len(updated)
