"""Read-side numbers for monitoring: what Prometheus scrapes and what the health check asks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from trends.models import Event, EventState, PipelineState, TaskFailure, Tweet, WorkerHeartbeat

# Failures older than this no longer say anything about the system as it is now.
RECENT_FAILURE_WINDOW = dt.timedelta(hours=1)


@dataclass
class Sample:
    name: str
    kind: str  # "gauge" or "counter"
    help: str
    values: list[tuple[dict[str, str], float]] = field(default_factory=list)


def metrics_collect(*, now: dt.datetime | None = None) -> list[Sample]:
    """Every number the /metrics endpoint exposes, computed from the database (the source of truth)."""
    now = now or timezone.now()
    by_state = dict(
        Tweet.objects.order_by().values_list("pipeline_state").annotate(n=Count("id")).values_list("pipeline_state", "n")
    )
    posts = Sample("explore_posts_ingested_total", "counter", "Posts stored (API, site and imports).")
    posts.values.append(({}, float(sum(by_state.values()))))

    backlog = Sample("explore_pipeline_posts", "gauge", "Posts by pipeline state.")
    for value, label in PipelineState.choices:
        backlog.values.append(({"state": label}, float(by_state.get(value, 0))))

    oldest = Sample(
        "explore_pipeline_oldest_unprocessed_seconds",
        "gauge",
        "Age of the oldest post still waiting at each stage (0 when none): the queue lag.",
    )
    for state in (PipelineState.NEW, PipelineState.EMBEDDED):
        first = Tweet.objects.filter(pipeline_state=state).aggregate(first=Min("ingested_at"))["first"]
        age = max(0.0, (now - first).total_seconds()) if first else 0.0
        oldest.values.append(({"state": state.label}, age))

    events = Sample("explore_events", "gauge", "Events by lifecycle state.")
    event_counts = dict(Event.objects.order_by().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    for value, _label in EventState.choices:
        events.values.append(({"state": value}, float(event_counts.get(value, 0))))

    heartbeats = Sample(
        "explore_worker_heartbeat_age_seconds", "gauge", "Seconds since each Celery worker last reported."
    )
    processed = Sample("explore_worker_tasks_processed_total", "counter", "Tasks processed, per worker.")
    for beat in WorkerHeartbeat.objects.order_by("hostname"):
        labels = {"worker": beat.hostname}
        heartbeats.values.append((labels, max(0.0, (now - beat.last_seen_at).total_seconds())))
        processed.values.append((labels, float(beat.processed)))

    failures = Sample("explore_task_failures_total", "counter", "Task failures recorded, per task.")
    for name, n in TaskFailure.objects.order_by().values_list("task_name").annotate(n=Count("id")):
        failures.values.append(({"task": name}, float(n)))
    recent = Sample(
        "explore_task_failures_recent", "gauge", "Task failures recorded in the last hour, per task."
    )
    for name, n in (
        TaskFailure.objects.filter(created_at__gte=now - RECENT_FAILURE_WINDOW)
        .order_by()
        .values_list("task_name")
        .annotate(n=Count("id"))
    ):
        recent.values.append(({"task": name}, float(n)))

    stale = Sample("explore_pipeline_stale_seconds_setting", "gauge", "PIPELINE_STALE_SECONDS: the sweeper's patience.")
    stale.values.append(({}, float(settings.PIPELINE_STALE_SECONDS)))
    return [posts, backlog, oldest, events, heartbeats, processed, failures, recent, stale]


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def metrics_render(*, samples: list[Sample]) -> str:
    """Prometheus text exposition format 0.0.4."""
    lines: list[str] = []
    for sample in samples:
        lines.append(f"# HELP {sample.name} {sample.help}")
        lines.append(f"# TYPE {sample.name} {sample.kind}")
        for labels, value in sample.values:
            rendered = ",".join(f'{key}="{_escape_label(str(val))}"' for key, val in sorted(labels.items()))
            suffix = f"{{{rendered}}}" if rendered else ""
            lines.append(f"{sample.name}{suffix} {value:g}")
    return "\n".join(lines) + "\n"


@dataclass
class HealthReport:
    checks: dict[str, str]

    @property
    def healthy(self) -> bool:
        return all(status in {"ok", "skipped"} for status in self.checks.values())


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"; the reason goes in the body
        return f"error: {type(exc).__name__}"


def _check_broker() -> str:
    url = settings.CELERY_BROKER_URL or ""
    if settings.CELERY_TASK_ALWAYS_EAGER or url.startswith("memory://"):
        return "skipped"  # embedded mode: tasks run in-process, there is no broker to reach
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
        else:
            from explore_site.celery import app

            with app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - same as above
        return f"error: {type(exc).__name__}"


def health_check() -> HealthReport:
    return HealthReport(checks={"database": _check_database(), "broker": _check_broker()})
