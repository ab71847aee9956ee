"""Scale-out: clustering shards by language, one writer each, on separate worker processes."""

import zlib

import pytest
from django.db import connection

from tests.factories import UserFactory
from tests.integration.conftest import requires_services, wait_until
from trends import services, tasks
from trends.models import Event, EventMembership, PipelineState, Tweet

pytestmark = [pytest.mark.integration, pytest.mark.slow, requires_services]

TOPICS = {
    "en": [
        "Strong earthquake shakes Lisbon tonight, buildings swaying #sismo",
        "Tube strike shuts the London Underground, buses packed #TubeStrike",
    ],
    "es": [
        "Golazo en el Clásico, el Bernabéu explota de alegría #ElClasico",
        "Tormenta e inundaciones en Valencia, calles cortadas por el agua #DANA",
    ],
}


def two_languages_on_different_shards():
    shard = {lang: zlib.crc32(lang.encode()) % 2 for lang in ("en", "es", "pt", "fr", "it", "de")}
    assert shard["en"] != shard["es"], shard
    return shard


def test_two_shards_two_writers_each_owning_its_events(transactional_db, settings, celery_purged, start_worker):
    settings.CLUSTER_SHARDS = 2
    shard_of = two_languages_on_different_shards()
    authors = [UserFactory() for _ in range(10)]
    items = []
    for lang, topics in TOPICS.items():
        for topic in topics:
            for n, author in enumerate(authors):
                items.append(
                    services.tweet_validate(
                        data={"text": f"{topic} ({n})", "lang": lang, "author_id": author.pk, "source": "test"}
                    )
                )
    env = {"CLUSTER_SHARDS": "2"}
    start_worker(queues="default,embedding,scoring,maintenance", name="embed", extra_env=env)
    start_worker(queues="clustering-0", name="shard0", extra_env=env)
    start_worker(queues="clustering-1", name="shard1", extra_env=env)
    result = services.tweets_ingest(items=items)
    ids = result.created_ids
    assert len(ids) == len(items)
    done = (PipelineState.ASSIGNED, PipelineState.UNASSIGNED)
    wait_until(lambda: Tweet.objects.filter(pk__in=ids, pipeline_state__in=done).count() == len(ids), timeout=240)

    for tweet in Tweet.objects.filter(pk__in=ids):
        assert tweet.shard == shard_of[tweet.lang]
    # Ownership: every event lives on one shard and holds only that shard's posts.
    for event in Event.objects.filter(memberships__tweet_id__in=ids).distinct():
        member_shards = set(Tweet.objects.filter(membership__event=event).values_list("shard", flat=True))
        assert member_shards == {event.shard}
        assert event.tweet_count == EventMembership.objects.filter(event=event).count()
    assert EventMembership.objects.filter(tweet_id__in=ids).count() == Tweet.objects.filter(
        pk__in=ids, pipeline_state=PipelineState.ASSIGNED
    ).count()
    # Correct results: each language's two topics became separate events on that language's shard.
    for lang, topics in TOPICS.items():
        topic_events = []
        for topic in topics:
            members = EventMembership.objects.filter(tweet__text__startswith=topic).values_list("event_id", flat=True)
            assert members, f"{topic!r} formed no event"
            topic_events.append(set(members))
        assert not (topic_events[0] & topic_events[1])
        assert {Event.objects.get(pk=e).shard for group in topic_events for e in group} == {shard_of[lang]}


def test_a_second_writer_on_the_same_shard_stands_aside(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    with tasks.shard_writer_lock(0) as first:
        assert first is True
        # The lock is per session: a second connection (another worker) cannot take it.
        import psycopg
        from django.conf import settings as django_settings

        db = django_settings.DATABASES["default"]
        with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]) as other:
            got = other.execute("SELECT pg_try_advisory_lock(%s, %s)", [tasks.SHARD_LOCK_NAMESPACE, 0]).fetchone()[0]
            assert got is False
            got_other_shard = other.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [tasks.SHARD_LOCK_NAMESPACE, 1]
            ).fetchone()[0]
            assert got_other_shard is True
    with tasks.shard_writer_lock(0) as again:
        assert again is True
