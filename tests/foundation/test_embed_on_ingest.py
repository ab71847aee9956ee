"""EMBED_ON_INGEST: posts are written once, already embedded, and go straight to their shard's clusterer."""

import pytest

from tests.factories import UserFactory
from trends import services, tasks
from trends.embedding import unpack
from trends.models import PipelineState, Tweet

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """What the ingest queues after commit, instead of running it."""
    calls = {"embed": [], "cluster": []}
    monkeypatch.setattr(tasks.embed_tweets, "delay", lambda ids: calls["embed"].append(list(ids)))
    monkeypatch.setattr(tasks, "cluster_enqueue", lambda *, shards: calls["cluster"].append(set(shards)))
    return calls


def _items(n, start=0):
    return [services.tweet_validate(data={"text": f"Flood waters rise in the valley, update {i}", "id": 5000 + i})
            for i in range(start, start + n)]


def test_bulk_ingest_writes_embedded_posts_and_queues_only_clustering(settings, fake_embedder, queued,
                                                                     django_capture_on_commit_callbacks):
    settings.EMBED_ON_INGEST = True
    with django_capture_on_commit_callbacks(execute=True):
        result = services.tweets_ingest(items=_items(5), batch_size=2)
    assert len(result.created_ids) == 5
    rows = Tweet.objects.order_by("pk")
    assert {t.pipeline_state for t in rows} == {PipelineState.EMBEDDED}
    assert {t.embedding_model for t in rows} == {fake_embedder.name} and all(t.embedded_at for t in rows)
    first = rows[0]
    expected = fake_embedder.encode(["Flood waters rise in the valley, update 0"])[0]
    assert abs(float(unpack(first.embedding) @ expected) - 1.0) < 1e-2  # the cleaned text's vector, float16
    assert queued["embed"] == [] and queued["cluster"] == [{0}, {0}, {0}]  # one per committed batch


def test_reingesting_the_same_posts_changes_and_queues_nothing(settings, fake_embedder, queued,
                                                               django_capture_on_commit_callbacks):
    settings.EMBED_ON_INGEST = True
    with django_capture_on_commit_callbacks(execute=True):
        services.tweets_ingest(items=_items(3))
    Tweet.objects.update(pipeline_state=PipelineState.ASSIGNED)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.tweets_ingest(items=_items(3))
    assert not again.created_ids and len(again.existing_ids) == 3
    assert set(Tweet.objects.values_list("pipeline_state", flat=True)) == {PipelineState.ASSIGNED}
    assert queued["cluster"] == [{0}]


def test_a_failing_model_sends_the_posts_to_the_embedding_workers(settings, monkeypatch, queued,
                                                                  django_capture_on_commit_callbacks):
    from trends import embedding

    def broken(tier=None):
        raise embedding.EmbeddingUnavailable("no static model here")

    settings.EMBED_ON_INGEST = True
    monkeypatch.setattr(embedding, "get_embedder", broken)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.tweets_ingest(items=_items(4))
    assert len(result.created_ids) == 4
    assert set(Tweet.objects.values_list("pipeline_state", flat=True)) == {PipelineState.NEW}
    assert not Tweet.objects.exclude(embedding=None).exists()
    assert queued["cluster"] == [] and sorted(queued["embed"][0]) == sorted(result.created_ids)


def test_single_post_is_embedded_at_ingest_and_off_by_default(settings, fake_embedder, queued,
                                                              django_capture_on_commit_callbacks):
    author = UserFactory()
    settings.EMBED_ON_INGEST = True
    with django_capture_on_commit_callbacks(execute=True):
        embedded = services.tweet_create(author=author, data={"text": "Power cut across the city centre"})
    settings.EMBED_ON_INGEST = False
    with django_capture_on_commit_callbacks(execute=True):
        plain = services.tweet_create(author=author, data={"text": "Power back on in the old town"})
    embedded.refresh_from_db()
    plain.refresh_from_db()
    assert embedded.pipeline_state == PipelineState.EMBEDDED and embedded.embedding
    assert plain.pipeline_state == PipelineState.NEW and plain.embedding is None
    assert queued["cluster"] == [{0}] and queued["embed"] == [[plain.pk]]


def test_embedded_at_ingest_posts_are_clustered_by_the_worker(settings, fake_embedder,
                                                              django_capture_on_commit_callbacks):
    settings.EMBED_ON_INGEST = True
    with django_capture_on_commit_callbacks(execute=True):  # tasks run eagerly: the clusterer runs here
        services.tweets_ingest(items=_items(6))
    states = set(Tweet.objects.values_list("pipeline_state", flat=True))
    assert states <= {PipelineState.ASSIGNED, PipelineState.UNASSIGNED} and states
