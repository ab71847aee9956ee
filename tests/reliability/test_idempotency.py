"""Recovery building blocks, without services: the sweeper finds exactly the stale work, and a
duplicate delivery of any pipeline task changes nothing (so the sweeper may re-enqueue freely)."""

import datetime as dt

import pytest
from django.db.models import Count
from django.utils import timezone

from tests.factories import UserFactory
from trends import services, tasks
from trends.models import Event, EventMembership, PipelineState, Tweet
from trends.sweeper import pipeline_sweep_stale

pytestmark = pytest.mark.django_db


def _posts(n: int) -> list[int]:
    author = UserFactory()
    items = [services.tweet_validate(data={"text": f"Harbour fire spreading fast, update {i} #fire",
                                           "lang": "en", "author_id": author.pk}) for i in range(n)]
    return services.tweets_ingest(items=items).created_ids


def test_sweeper_requeues_exactly_the_stale_rows(settings, monkeypatch):
    settings.PIPELINE_STALE_SECONDS = 60
    sent_embed: list[list[int]] = []
    sent_cluster: list[set[int]] = []
    monkeypatch.setattr(tasks.embed_tweets, "delay", lambda ids: sent_embed.append(list(ids)))
    monkeypatch.setattr(tasks, "cluster_enqueue", lambda *, shards: sent_cluster.append(set(shards)))
    ids = _posts(6)
    old = timezone.now() - dt.timedelta(minutes=5)
    stale_new, fresh_new, stale_embedded = ids[:2], ids[2:4], ids[4:]
    Tweet.objects.filter(pk__in=stale_new).update(enqueued_at=old)
    Tweet.objects.filter(pk__in=stale_embedded).update(pipeline_state=PipelineState.EMBEDDED, enqueued_at=old)

    result = pipeline_sweep_stale()

    assert result == {"embedding": 2, "clustering_shards": 1, "parked": 0}
    assert sorted(i for batch in sent_embed for i in batch) == sorted(stale_new)
    assert sent_cluster == [{0}]
    assert set(Tweet.objects.filter(pk__in=stale_new).values_list("pipeline_attempts", flat=True)) == {1}
    assert not Tweet.objects.filter(pk__in=fresh_new, pipeline_attempts__gt=0).exists()
    # Just re-enqueued: a second sweep right away sends nothing again.
    sent_embed.clear()
    assert pipeline_sweep_stale() == {"embedding": 0, "clustering_shards": 0, "parked": 0}
    assert sent_embed == []


def test_duplicate_deliveries_assign_each_post_exactly_once(fake_embedder):
    ids = _posts(12)
    for _ in range(3):  # the original delivery, a broker redelivery and a sweeper re-enqueue
        tasks.embed_tweets(ids)
        tasks.cluster_shard(0)
    tweets = Tweet.objects.filter(pk__in=ids)
    assert set(tweets.values_list("pipeline_state", flat=True)) <= {PipelineState.ASSIGNED, PipelineState.UNASSIGNED}
    assigned = set(tweets.filter(pipeline_state=PipelineState.ASSIGNED).values_list("pk", flat=True))
    members = list(EventMembership.objects.filter(tweet_id__in=ids).values_list("tweet_id", flat=True))
    # Candidates (too few authors yet) keep UNASSIGNED posts with a membership; nothing is doubled.
    assert len(members) == len(set(members))
    assert assigned <= set(members)
    assert not tweets.filter(clustered_at__isnull=True).exists()
    for event in Event.objects.annotate(n=Count("memberships")):
        assert event.tweet_count == event.n


def test_embedding_redelivery_after_completion_writes_nothing(fake_embedder):
    ids = _posts(3)
    assert tasks.embed_tweets(ids) == 3
    before = list(Tweet.objects.filter(pk__in=ids).order_by("pk").values_list("embedded_at", "embedding"))
    assert tasks.embed_tweets(ids) == 0
    assert list(Tweet.objects.filter(pk__in=ids).order_by("pk").values_list("embedded_at", "embedding")) == before
