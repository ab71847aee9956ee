import contextlib
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import EventFactory, UserFactory
from trends import services
from trends.models import Engagement, Event, PipelineState, Tweet


def test_validate_rejects_bad_fields_with_field_messages():
    now = timezone.now()
    bad = {
        "text": "   ",
        "created_at": "2024-02-30T10:00:00Z",
        "reply_to_id": "abc",
        "like_count": -1,
        "lang": 5,
    }
    with pytest.raises(ValidationError) as info:
        services.tweet_validate(data=bad, now=now)
    errors = info.value.message_dict
    assert set(errors) == {"text", "created_at", "reply_to_id", "like_count", "lang"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("x" * (services.MAX_TEXT_LENGTH + 1), "at most"),
        ("nul\x00byte", "NUL"),
        ("lone \ud800 surrogate", "surrogate"),
        (12, "string"),
    ],
)
def test_validate_text(text, message):
    with pytest.raises(ValidationError) as info:
        services.tweet_validate(data={"text": text})
    assert message in info.value.message_dict["text"][0]


def test_validate_timestamps_far_past_and_future():
    now = timezone.now()
    with pytest.raises(ValidationError):
        services.tweet_validate(data={"text": "hi", "created_at": "1999-01-01T00:00:00Z"}, now=now)
    with pytest.raises(ValidationError):
        services.tweet_validate(data={"text": "hi", "created_at": (now + dt.timedelta(hours=1)).isoformat()}, now=now)
    ok = services.tweet_validate(data={"text": "hi", "created_at": "2013-04-15T18:50:00"}, now=now)
    assert ok.created_at.tzinfo is not None


def test_emoji_zwj_and_rtl_text_is_accepted_intact():
    body = "👩‍👩‍👧‍👦 مرحبا بالعالم #عاجل"
    item = services.tweet_validate(data={"text": body})
    assert item.text == body


@given(st.dictionaries(st.sampled_from(["text", "created_at", "id", "lang", "like_count", "reply_to_id"]),
                       st.one_of(st.none(), st.text(), st.integers(), st.booleans(), st.floats(allow_nan=True))))
@settings(max_examples=200)
def test_validate_only_ever_raises_validation_error(data):
    with contextlib.suppress(ValidationError):
        services.tweet_validate(data=data)


@pytest.mark.django_db
def test_tweet_create_extracts_entities_and_queues_pipeline(django_capture_on_commit_callbacks, fake_embedder):
    author = UserFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tweet = services.tweet_create(author=author, data={"text": "Goal!! #UCLFinal @Arsenal https://bbc.co.uk/x"})
    assert callbacks[0].__qualname__.startswith("pipeline_enqueue_embedding")
    tweet.refresh_from_db()
    assert tweet.hashtags == ["uclfinal"]
    assert tweet.mentions == ["arsenal"]
    assert tweet.domains == ["bbc.co.uk"]
    # The eager pipeline embedded and clustered it (a lone post may rightly fit no event yet).
    assert tweet.pipeline_state in (PipelineState.ASSIGNED, PipelineState.UNASSIGNED)
    assert tweet.clustered_at is not None
    assert tweet.embedding_model == fake_embedder.name
    author.refresh_from_db()
    assert author.posts_count == 1


@pytest.mark.django_db
def test_tweet_create_rejects_duplicate_id_and_stores_nothing_on_bad_input():
    author = UserFactory()
    services.tweet_create(author=author, data={"text": "first", "id": 77})
    with pytest.raises(ValidationError) as info:
        services.tweet_create(author=author, data={"text": "again", "id": 77})
    assert "id" in info.value.message_dict
    with pytest.raises(ValidationError):
        services.tweet_create(author=author, data={"text": ""})
    assert Tweet.objects.count() == 1


@pytest.mark.django_db
def test_ingest_is_idempotent_on_tweet_id():
    items = [services.tweet_validate(data={"text": f"post {i}", "id": 1000 + i}) for i in range(5)]
    first = services.tweets_ingest(items=items, batch_size=2)
    second = services.tweets_ingest(items=items, batch_size=2)
    assert len(first.created_ids) == 5 and not first.existing_ids
    assert not second.created_ids and sorted(second.existing_ids) == [1000 + i for i in range(5)]
    assert Tweet.objects.count() == 5


@pytest.mark.django_db
def test_engagement_batch_updates_aggregates_and_rejects_whole_bad_batch():
    user = UserFactory()
    event = EventFactory(impressions=0, clicks=0)
    services.engagement_log_batch(
        user=user,
        items=[
            {"kind": "impression", "event_id": event.pk, "position": 0},
            {"kind": "impression", "event_id": event.pk, "position": 1},
            {"kind": "click", "event_id": event.pk},
        ],
    )
    event.refresh_from_db()
    assert (event.impressions, event.clicks) == (2, 1)
    with pytest.raises(ValidationError) as info:
        services.engagement_log_batch(
            user=user, items=[{"kind": "click", "event_id": event.pk}, {"kind": "teleport", "event_id": event.pk}]
        )
    assert "items[1].kind" in info.value.message_dict
    assert Engagement.objects.count() == 3


@pytest.mark.django_db
def test_report_hurts_health_once_per_user():
    user = UserFactory()
    event = EventFactory(health=1.0)
    services.event_report(user=user, event=event)
    services.event_report(user=user, event=event)
    event.refresh_from_db()
    assert event.spam_reports == 1
    assert event.health == pytest.approx(1.0 - services.REPORT_HEALTH_PENALTY)
    assert Event.objects.get(pk=event.pk).dismissals == 1


@pytest.mark.django_db
def test_sweeper_requeues_stale_work_and_parks_poison_posts(settings):
    from trends.models import TaskFailure
    from trends.sweeper import pipeline_sweep_stale

    settings.PIPELINE_MAX_ATTEMPTS = 3
    old = timezone.now() - dt.timedelta(hours=1)
    stale = services.tweets_ingest(items=[services.tweet_validate(data={"text": "stale", "id": 9001})]).created_ids
    poison = services.tweets_ingest(items=[services.tweet_validate(data={"text": "poison", "id": 9002})]).created_ids
    Tweet.objects.filter(pk__in=stale + poison).update(enqueued_at=old)
    Tweet.objects.filter(pk__in=poison).update(pipeline_attempts=3)
    result = pipeline_sweep_stale()
    assert result["parked"] == 1 and result["embedding"] == 1
    assert Tweet.objects.get(pk=9002).pipeline_state == PipelineState.FAILED
    assert Tweet.objects.get(pk=9001).pipeline_attempts == 1
    assert TaskFailure.objects.filter(error__contains="9002").exists()
    # Safe to run twice: nothing is stale any more.
    assert pipeline_sweep_stale() == {"embedding": 0, "clustering_shards": 0, "parked": 0}
