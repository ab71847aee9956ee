"""Fault injection on the production shape (PostgreSQL, Redis, real celery workers).

Each test breaks one thing mid-stream (a worker killed with SIGKILL, Redis restarted empty,
PostgreSQL refusing connections), lets the system recover the way production does (task retries for
transient errors, the sweeper for lost messages), then checks that every accepted post was embedded
and assigned exactly once and that the event counts match their memberships.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.db.models import Count
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.integration.conftest import wait_until
from tests.reliability.conftest import database_url, requires_fault_services
from trends import services
from trends.models import Event, EventMembership, PipelineState, Tweet
from trends.sweeper import pipeline_sweep_stale

pytestmark = [pytest.mark.integration, pytest.mark.slow, requires_fault_services]

DONE = (PipelineState.ASSIGNED, PipelineState.UNASSIGNED)
PENDING = (PipelineState.NEW, PipelineState.EMBEDDED)
TOPICS = [
    "Strong earthquake shakes Lisbon, people out in the streets #sismo",
    "Champions League final: Porto score in extra time, stadium erupts #UCLfinal",
    "New phone launch today: battery life and camera are the big upgrades #launch",
    "Election night: polls closing, first results expected within the hour #vote2026",
    "Heatwave warning for Seville, 44 degrees forecast tomorrow #calor",
]


@pytest.fixture(autouse=True)
def _fast_pipeline(settings):
    # Small batches: a kill lands mid-stream, not after one giant batch. A short stale window lets
    # the sweeper (called by the test, as beat would) recover lost work within seconds.
    settings.EMBEDDING_BATCH_SIZE = 8
    settings.EMBEDDING_TASK_SIZE = 8
    settings.PIPELINE_STALE_SECONDS = 3


def ingest(count: int, *, authors, offset: int = 0) -> list[int]:
    items = [
        services.tweet_validate(
            data={
                "text": f"{TOPICS[n % len(TOPICS)]} (update {n})",
                "lang": "en",
                "author_id": authors[n % len(authors)].pk,
            }
        )
        for n in range(offset, offset + count)
    ]
    result = services.tweets_ingest(items=items)
    assert len(result.created_ids) == count
    return result.created_ids


def progressed(ids: list[int]) -> int:
    return Tweet.objects.filter(pk__in=ids).exclude(pipeline_state=PipelineState.NEW).count()


def states(ids: list[int]) -> dict[str, int]:
    counts = Counter(Tweet.objects.filter(pk__in=ids).values_list("pipeline_state", flat=True))
    return {PipelineState(state).label: n for state, n in counts.items()}


def recover(ids: list[int], *, worker, timeout: float = 150, sweep_every: float = 4.0) -> None:
    """Wait until nothing is pending, sweeping like the beat schedule does (but every few seconds)."""
    last_sweep = 0.0

    def finished() -> bool:
        nonlocal last_sweep
        if time.monotonic() - last_sweep > sweep_every:
            pipeline_sweep_stale()
            last_sweep = time.monotonic()
        return not Tweet.objects.filter(pk__in=ids, pipeline_state__in=PENDING).exists()

    wait_until(finished, timeout=timeout, describe=lambda: f"\nstates={states(ids)}\n{worker.log()}")


def assert_each_post_processed_exactly_once(ids: list[int]) -> None:
    tweets = Tweet.objects.filter(pk__in=ids)
    assert tweets.count() == len(ids), "an accepted post disappeared"
    by_state = Counter(tweets.values_list("pipeline_state", flat=True))
    assert set(by_state) <= set(DONE), states(ids)
    assert not tweets.filter(embedding__isnull=True).exists()
    assert not tweets.filter(embedding_model="").exists()
    assigned = set(tweets.filter(pipeline_state=PipelineState.ASSIGNED).values_list("pk", flat=True))
    members = list(EventMembership.objects.filter(tweet_id__in=ids).values_list("tweet_id", flat=True))
    # The one-to-one key already forbids two memberships; this also catches assigned-without-event.
    # (UNASSIGNED posts may hold a membership of a candidate cluster that has too few authors yet.)
    assert len(members) == len(set(members))
    assert assigned <= set(members), "an ASSIGNED post has no event"
    mismatched = [
        (event.pk, event.tweet_count, event.n)
        for event in Event.objects.annotate(n=Count("memberships"))
        if event.tweet_count != event.n
    ]
    assert mismatched == [], "event tweet_count differs from its memberships: (id, count, members)"
    assert sum(Event.objects.values_list("tweet_count", flat=True)) == len(members)


def test_worker_killed_mid_batch_loses_nothing(private_redis, workers):
    authors = UserFactory.create_batch(12)
    victim = workers(name="victim", broker_url=private_redis.url, database_url=database_url())
    victim.wait_ready()
    ids = ingest(300, authors=authors)

    # Kill as soon as the worker has committed its first batch: it is then inside the next one.
    wait_until(lambda: progressed(ids) >= 1, timeout=150, interval=0.05, describe=victim.log)
    victim.kill9()
    left = len(ids) - progressed(ids)
    assert left > 0, "the worker finished before it could be killed: the test proved nothing"

    rescuer = workers(name="rescuer", broker_url=private_redis.url, database_url=database_url())
    rescuer.wait_ready()
    recover(ids, worker=rescuer)
    assert_each_post_processed_exactly_once(ids)


def test_redis_restarted_mid_stream_loses_queue_not_posts(private_redis, workers):
    authors = UserFactory.create_batch(12)
    worker = workers(name="survivor", broker_url=private_redis.url, database_url=database_url())
    worker.wait_ready()
    ids: list[int] = []
    for batch in range(10):
        if batch == 5:
            # Messages are queued and one is in flight (the worker is still loading its model):
            # a restart of a Redis that keeps nothing on disk loses all of them.
            assert private_redis.queued() > 0
            private_redis.kill()
            time.sleep(2)
            private_redis.start()
            # Lost, except at most the one message the worker held in flight: kombu pushes an
            # unacknowledged message back when its connection closes, which can land after the restart.
            assert private_redis.queued() <= 1
        ids += ingest(30, authors=authors, offset=batch * 30)
        time.sleep(0.2)

    recover(ids, worker=worker)
    assert_each_post_processed_exactly_once(ids)
    assert worker.proc.poll() is None, "the worker must reconnect to Redis, not die"


def test_postgres_refusing_connections_mid_stream(private_redis, workers, pg_proxy):
    authors = UserFactory.create_batch(12)
    worker = workers(
        name="dbless", broker_url=private_redis.url, database_url=database_url(port=pg_proxy.port)
    )
    worker.wait_ready()
    ids = ingest(300, authors=authors)
    wait_until(lambda: progressed(ids) >= 1, timeout=150, interval=0.05, describe=worker.log)

    pg_proxy.refuse()  # open connections drop, new ones are refused
    time.sleep(5)
    during = progressed(ids)
    assert during < len(ids), "everything finished before the outage: the test proved nothing"
    pg_proxy.listen()

    recover(ids, worker=worker, timeout=180)
    assert_each_post_processed_exactly_once(ids)
    assert worker.proc.poll() is None, "the worker must survive a database outage"


def test_post_accepted_while_broker_is_down(private_redis, transactional_db, settings):
    """A 201 needs PostgreSQL only: with Redis down the post is stored, answered, and swept later.

    (The after-commit enqueue is best-effort: if it raised, the API would answer 500 for a stored post
    and a client retry without an Idempotency-Key would duplicate it.)
    """
    author = UserFactory()
    api = APIClient()
    api.force_authenticate(author)
    private_redis.kill()

    response = api.post("/api/v1/tweets", {"text": TOPICS[0]}, format="json")

    assert response.status_code == 201, response.content
    tweet_id = int(response.json()["id"])
    assert Tweet.objects.filter(pk=tweet_id, pipeline_state=PipelineState.NEW).exists()
    private_redis.start()
    time.sleep(settings.PIPELINE_STALE_SECONDS + 0.5)
    assert pipeline_sweep_stale()["embedding"] == 1
    # Recovered into the queue; the other tests prove a worker takes it from there.
    assert private_redis.queued() == 1
