"""Celery tasks: a thin, stable API over trends.pipeline. Each takes ids, fetches, calls a service.

Names are explicit and stable (renaming a task orphans messages already queued under the old name).
Every task is idempotent: the pipeline state on each row makes a redelivery a no-op.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from celery import shared_task
from celery.signals import task_failure, task_postrun, worker_ready
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

from trends import pipeline

logger = logging.getLogger(__name__)

# Only failures that a retry can fix; a bug raises the same error again and must surface instead.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


def clustering_queue(shard: int) -> str:
    """One queue per shard, consumed by exactly one worker process: the shard's single writer."""
    return f"clustering-{shard}"


def cluster_enqueue(*, shards: set[int] | list[int]) -> None:
    for shard in sorted(set(shards)):
        cluster_shard.apply_async(args=[shard], queue=clustering_queue(shard))


@shared_task(
    name="pipeline.embed_tweets",
    queue="embedding",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=5,
    time_limit=300,
    soft_time_limit=240,
)
def embed_tweets(tweet_ids: list[int]) -> int:
    done = pipeline.tweets_embed(tweet_ids=tweet_ids)
    from trends.models import Tweet

    if done > len(tweet_ids):
        # The batch was topped up with other waiting posts, possibly of other shards.
        shards = set(range(max(1, settings.CLUSTER_SHARDS)))
    else:
        shards = set(Tweet.objects.filter(pk__in=tweet_ids).values_list("shard", flat=True).distinct())
    cluster_enqueue(shards=shards)
    return done


# Advisory-lock namespace for shard writers (any constant unique to this purpose).
SHARD_LOCK_NAMESPACE = 7_340_001


@contextmanager
def shard_writer_lock(shard: int) -> Iterator[bool]:
    """Single writer per shard, enforced by the database rather than by deployment discipline.

    Routing sends a shard's work to one queue; if two workers ever consume it (a misconfigured
    deploy, a rolling restart), the PostgreSQL advisory lock lets only one of them write, and the
    other returns at once (its posts are drained by the holder or the next tick).
    """
    if connection.vendor != "postgresql":
        yield True  # SQLite: one process, serialised writes
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SHARD_LOCK_NAMESPACE, shard])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SHARD_LOCK_NAMESPACE, shard])


@shared_task(
    name="pipeline.cluster_shard",
    queue="clustering-0",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=5,
    time_limit=300,
    soft_time_limit=240,
)
def cluster_shard(shard: int) -> int:
    total = 0
    with shard_writer_lock(shard) as acquired:
        if not acquired:
            logger.info("shard %s has an active writer; skipping", shard)
            return 0
        # Drain the shard in bounded batches so one task never holds a transaction for long.
        for _ in range(20):
            done = pipeline.shard_cluster(shard=shard)
            total += done
            if done < settings.CLUSTER_BATCH_SIZE:
                break
    return total


@shared_task(name="pipeline.score_events", queue="scoring", autoretry_for=TRANSIENT_ERRORS, max_retries=3, time_limit=120)
def score_events() -> int:
    return pipeline.events_score()


@shared_task(name="pipeline.update_lifecycle", queue="scoring", autoretry_for=TRANSIENT_ERRORS, max_retries=3, time_limit=120)
def update_lifecycle() -> int:
    return pipeline.events_update_lifecycle()


@shared_task(name="pipeline.describe_events", queue="scoring", autoretry_for=TRANSIENT_ERRORS, max_retries=3, time_limit=300)
def describe_events(event_ids: list[int] | None = None) -> int:
    return pipeline.events_describe(event_ids=event_ids)


@shared_task(name="pipeline.sweep_stale", queue="maintenance", time_limit=120)
def sweep_stale() -> dict[str, int]:
    from trends.sweeper import pipeline_sweep_stale

    return pipeline_sweep_stale()


@shared_task(name="pipeline.tick_clusterers", queue="maintenance", time_limit=60)
def tick_clusterers() -> int:
    shards = list(range(max(1, settings.CLUSTER_SHARDS)))
    cluster_enqueue(shards=shards)
    return len(shards)


@shared_task(name="api.purge_idempotency_keys", queue="maintenance", time_limit=300)
def purge_idempotency_keys() -> int:
    from trends.api.services import idempotency_keys_purge

    return idempotency_keys_purge()


@shared_task(name="users.compute_trust", queue="maintenance", time_limit=600)
def compute_trust() -> int:
    from users.services import users_compute_trust

    return users_compute_trust()


# --- worker health, read by the curation dashboard -----------------------------------------------

_processed_since_beat = 0
_last_beat = None


def _record_heartbeat(sender=None, force: bool = False) -> None:
    global _processed_since_beat, _last_beat
    from trends.models import WorkerHeartbeat

    now = timezone.now()
    if not force and _last_beat is not None and (now - _last_beat).total_seconds() < 10:
        return
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    try:
        heartbeat, _ = WorkerHeartbeat.objects.get_or_create(hostname=hostname, defaults={"last_seen_at": now})
        heartbeat.last_seen_at = now
        heartbeat.processed += _processed_since_beat
        heartbeat.save(update_fields=["last_seen_at", "processed"])
        _processed_since_beat = 0
        _last_beat = now
    except DatabaseError:
        logger.warning("could not record worker heartbeat", exc_info=True)


@worker_ready.connect
def _on_worker_ready(sender=None, **kwargs) -> None:
    _record_heartbeat(sender=sender, force=True)


@task_postrun.connect
def _on_task_postrun(sender=None, task=None, **kwargs) -> None:
    global _processed_since_beat
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    _processed_since_beat += 1
    _record_heartbeat(sender=getattr(task, "request", None))


@task_failure.connect
def _on_task_failure(sender=None, task_id=None, exception=None, **kwargs) -> None:
    from trends.models import TaskFailure

    try:
        TaskFailure.objects.create(
            task_name=getattr(sender, "name", "unknown")[:100],
            task_id=str(task_id or "")[:64],
            error=f"{type(exception).__name__}: {exception}"[:2000],
        )
    except DatabaseError:
        logger.warning("could not record task failure", exc_info=True)


# Task modules outside autodiscovery's reach (`<app>.tasks` only): imported so workers register them.
from trends.curation import tasks as _curation_tasks  # noqa: E402, F401
from trends.ranking import tasks as _ranking_tasks  # noqa: E402, F401
