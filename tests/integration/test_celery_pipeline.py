"""End to end on the production shape: API → PostgreSQL → Redis → real celery worker → event page."""

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.integration.conftest import requires_services, wait_until
from trends.models import EventMembership, PipelineState, Tweet

pytestmark = [pytest.mark.integration, pytest.mark.slow, requires_services]

POSTS = [
    "Strong earthquake felt in Lisbon right now, buildings shaking #sismo",
    "Earthquake in Lisbon! Everyone in the streets #sismo",
    "That Lisbon earthquake was scary, magnitude 5.9 they say #sismo",
    "Aftershock again in Lisbon, the earthquake keeps going #sismo",
    "Lisbon earthquake: civil protection says no tsunami risk #sismo",
    "Earthquake damage reported in Lisbon old town #sismo",
]


def test_posted_tweets_are_embedded_assigned_and_shown(transactional_db, celery_purged, start_worker, client):
    # Distinct authors: one account alone can never make an event (TREND_MIN_UNIQUE_AUTHORS).
    api = APIClient()
    ids = []
    for text in POSTS:
        api.force_authenticate(UserFactory())
        response = api.post("/api/v1/tweets", {"text": text}, format="json")
        assert response.status_code == 201, response.content
        ids.append(int(response.json()["id"]))
    # Committed before the 201: the rows are there before any worker runs.
    assert Tweet.objects.filter(pk__in=ids, pipeline_state=PipelineState.NEW).count() == len(ids)

    worker = start_worker(queues="default,embedding,scoring,maintenance,clustering-0", name="e2e")
    wait_until(
        lambda: Tweet.objects.filter(pk__in=ids, pipeline_state=PipelineState.ASSIGNED).count() == len(ids),
        timeout=180,
        describe=lambda: f"\nstates={list(Tweet.objects.filter(pk__in=ids).values_list('pipeline_state', flat=True))}\n{worker.log()}",
    )
    tweets = Tweet.objects.filter(pk__in=ids)
    assert all(t.embedding_model == "all-MiniLM-L6-v2" and len(bytes(t.embedding)) == 384 * 2 for t in tweets)
    events = set(EventMembership.objects.filter(tweet_id__in=ids).values_list("event_id", flat=True))
    assert len(events) >= 1
    assert EventMembership.objects.filter(tweet_id__in=ids).count() == len(ids)

    event_id = EventMembership.objects.filter(tweet_id=ids[0]).values_list("event_id", flat=True).get()
    from trends.models import Event

    Event.objects.filter(pk=event_id).update(review_status="auto", hidden=False)
    page = client.get(f"/events/{event_id}/")
    assert page.status_code == 200
    body = page.content.decode()
    # Compare the words before the hashtag: the page may render hashtags as links.
    shown = [text for text in POSTS if text.split(" #")[0] in body]
    members = EventMembership.objects.filter(event_id=event_id).count()
    assert len(shown) >= min(members, 5)
