"""Recovery of lost pipeline work: the database, not the broker, is the source of truth.

A message can be lost (Redis here keeps nothing on disk, a worker can be killed mid-batch); the row's
pipeline_state still says what is left to do, so re-enqueueing stale rows recovers everything, and
the idempotent tasks make a duplicate delivery harmless.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from trends.models import PipelineState, TaskFailure, Tweet

SWEEP_LIMIT = 20_000


def pipeline_sweep_stale(*, now: dt.datetime | None = None) -> dict[str, int]:
    from trends import tasks

    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.PIPELINE_STALE_SECONDS)
    # A post that keeps failing (it crashes the worker every time) is parked, not retried forever.
    poisoned = list(
        Tweet.objects.filter(
            pipeline_state__in=(PipelineState.NEW, PipelineState.EMBEDDED),
            enqueued_at__lt=cutoff,
            pipeline_attempts__gte=settings.PIPELINE_MAX_ATTEMPTS,
        ).values_list("id", flat=True)[:SWEEP_LIMIT]
    )
    if poisoned:
        Tweet.objects.filter(pk__in=poisoned).update(pipeline_state=PipelineState.FAILED)
        TaskFailure.objects.create(
            task_name="pipeline.sweep_stale",
            error=f"parked {len(poisoned)} post(s) after {settings.PIPELINE_MAX_ATTEMPTS} attempts: "
            f"{', '.join(str(i) for i in poisoned[:20])}",
        )
    stale_new = list(
        Tweet.objects.filter(pipeline_state=PipelineState.NEW, enqueued_at__lt=cutoff)
        .order_by("created_at")
        .values_list("id", flat=True)[:SWEEP_LIMIT]
    )
    if stale_new:
        Tweet.objects.filter(pk__in=stale_new).update(
            enqueued_at=now, pipeline_attempts=F("pipeline_attempts") + 1
        )
        batch = settings.EMBEDDING_TASK_SIZE
        for i in range(0, len(stale_new), batch):
            tasks.embed_tweets.delay(stale_new[i : i + batch])
    stale_shards = set(
        Tweet.objects.filter(pipeline_state=PipelineState.EMBEDDED, enqueued_at__lt=cutoff)
        .values_list("shard", flat=True)
        .distinct()
    )
    if stale_shards:
        Tweet.objects.filter(pipeline_state=PipelineState.EMBEDDED, enqueued_at__lt=cutoff).update(
            enqueued_at=now, pipeline_attempts=F("pipeline_attempts") + 1
        )
        tasks.cluster_enqueue(shards=stale_shards)
    return {"embedding": len(stale_new), "clustering_shards": len(stale_shards), "parked": len(poisoned)}
