"""/metrics and /healthz: what monitoring sees, and who may see it."""

import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import EventFactory, TweetFactory, UserFactory
from trends.models import PipelineState, TaskFailure, Tweet, WorkerHeartbeat

pytestmark = pytest.mark.django_db


def _metric(body: str, name: str, labels: str = "") -> float:
    prefix = f"{name}{{{labels}}} " if labels else f"{name} "
    for line in body.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    raise AssertionError(f"{prefix!r} not in metrics:\n{body}")


def test_metrics_report_backlog_lag_events_heartbeats_and_failures(client):
    TweetFactory.create_batch(3)
    old = TweetFactory()
    Tweet.objects.filter(pk=old.pk).update(
        pipeline_state=PipelineState.NEW, ingested_at=timezone.now() - dt.timedelta(minutes=10)
    )
    Tweet.objects.exclude(pk=old.pk).update(pipeline_state=PipelineState.ASSIGNED)
    EventFactory(state="trending")
    WorkerHeartbeat.objects.create(hostname="embed@host", last_seen_at=timezone.now() - dt.timedelta(seconds=30))
    TaskFailure.objects.create(task_name="pipeline.embed_tweets", error="OperationalError: boom")

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    body = response.content.decode()
    assert _metric(body, "explore_posts_ingested_total") == 4
    assert _metric(body, "explore_pipeline_posts", 'state="new"') == 1
    assert _metric(body, "explore_pipeline_posts", 'state="assigned"') == 3
    assert 590 <= _metric(body, "explore_pipeline_oldest_unprocessed_seconds", 'state="new"') < 3600
    assert _metric(body, "explore_pipeline_oldest_unprocessed_seconds", 'state="embedded"') == 0
    assert _metric(body, "explore_events", 'state="trending"') == 1
    assert 29 <= _metric(body, "explore_worker_heartbeat_age_seconds", 'worker="embed@host"') < 600
    assert _metric(body, "explore_task_failures_total", 'task="pipeline.embed_tweets"') == 1
    assert "# TYPE explore_pipeline_posts gauge" in body


def test_metrics_label_values_are_escaped(client):
    WorkerHeartbeat.objects.create(hostname='evil"\nname', last_seen_at=timezone.now())
    body = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'worker="evil\\"\\nname"' in body


@pytest.mark.parametrize("remote", ["10.0.0.7", "203.0.113.9"])
def test_metrics_refused_to_remote_anonymous_and_plain_users(client, remote):
    assert client.get("/metrics", REMOTE_ADDR=remote).status_code == 403
    client.force_login(UserFactory())
    assert client.get("/metrics", REMOTE_ADDR=remote).status_code == 403


def test_metrics_loopback_behind_a_proxy_is_not_trusted(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 403


def test_metrics_open_to_staff_anywhere(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_metrics_token_required_when_configured(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    # With a token configured, loopback alone is no longer enough.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    ok = client.get("/metrics", REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert ok.status_code == 200
    assert b"explore_pipeline_posts" in ok.content


def test_metrics_refuses_writes(client):
    assert client.post("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 405


def test_healthz_ok_when_database_and_broker_reachable(client, monkeypatch):
    from trends.ops import selectors

    monkeypatch.setattr(selectors, "_check_broker", lambda: "ok")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_healthz_503_when_broker_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error")
    assert response.json()["checks"]["database"] == "ok"


def test_healthz_503_when_database_unreachable(client, monkeypatch):
    from django.db import OperationalError

    from trends.ops import selectors

    class Broken:
        def __enter__(self):
            raise OperationalError("connection refused")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(selectors.connection, "cursor", lambda: Broken())
    monkeypatch.setattr(selectors, "_check_broker", lambda: "ok")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "error: OperationalError", "broker": "ok"}


def test_healthz_skips_broker_in_embedded_mode(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert client.get("/healthz").json()["checks"]["broker"] == "skipped"


def test_probes_are_not_redirected_to_https(client, settings, monkeypatch):
    from trends.ops import selectors

    monkeypatch.setattr(selectors, "_check_broker", lambda: "ok")
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/").status_code == 301  # everything else still goes to HTTPS
