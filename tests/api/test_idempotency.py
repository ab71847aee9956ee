import json

import pytest

from tests.factories import EventFactory
from trends.models import Engagement, IdempotencyKey, Tweet

pytestmark = pytest.mark.django_db


def post(client, url, body, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def test_same_key_same_body_replays_without_duplicate(auth_api):
    first = post(auth_api, "/api/v1/tweets", {"text": "retry me"}, key="abc-123")
    second = post(auth_api, "/api/v1/tweets", {"text": "retry me"}, key="abc-123")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Tweet.objects.count() == 1


def test_same_key_different_body_is_422(auth_api):
    post(auth_api, "/api/v1/tweets", {"text": "one"}, key="k")
    response = post(auth_api, "/api/v1/tweets", {"text": "two"}, key="k")
    assert response.status_code == 422
    assert response.json()["errors"]["detail"]
    assert list(Tweet.objects.values_list("text", flat=True)) == ["one"]


def test_same_key_other_endpoint_is_422(auth_api):
    post(auth_api, "/api/v1/tweets", {"text": "one"}, key="k")
    response = post(auth_api, "/api/v1/tweets/bulk", {"text": "one"}, key="k")
    assert response.status_code == 422


def test_keys_are_per_user(auth_api, other_api):
    assert post(auth_api, "/api/v1/tweets", {"text": "mine"}, key="shared").status_code == 201
    response = post(other_api, "/api/v1/tweets", {"text": "theirs"}, key="shared")
    assert response.status_code == 201
    assert response.json()["text"] == "theirs"
    assert Tweet.objects.count() == 2


def test_rejected_request_keeps_no_key_and_can_be_fixed(auth_api):
    bad = post(auth_api, "/api/v1/tweets", {"text": "   "}, key="fixme")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    good = post(auth_api, "/api/v1/tweets", {"text": "fixed"}, key="fixme")
    assert good.status_code == 201
    assert Tweet.objects.count() == 1


def test_failure_inside_the_work_rolls_back_key_and_rows(auth_api, monkeypatch):
    from trends import services

    def boom(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "engagement_log_batch", boom)
    event = EventFactory()
    auth_api.raise_request_exception = False
    response = post(auth_api, "/api/v1/engagement", {"items": [{"kind": "click", "event_id": event.pk}]}, key="e1")
    assert response.status_code == 500
    assert not IdempotencyKey.objects.exists()
    assert not Engagement.objects.exists()


def test_engagement_and_bulk_replay(auth_api):
    event = EventFactory()
    body = {"items": [{"kind": "impression", "event_id": event.pk}]}
    for _ in range(3):
        assert post(auth_api, "/api/v1/engagement", body, key="imp-1").status_code == 201
    assert Engagement.objects.count() == 1
    bulk = {"items": [{"text": "a"}, {"text": ""}]}
    first = post(auth_api, "/api/v1/tweets/bulk", bulk, key="bulk-1").json()
    again = post(auth_api, "/api/v1/tweets/bulk", bulk, key="bulk-1").json()
    assert first == again
    assert Tweet.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 129, "has space", "tab\there"])
def test_malformed_key_is_400(auth_api, key):
    response = post(auth_api, "/api/v1/tweets", {"text": "hi"}, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Tweet.objects.exists()


def test_concurrent_duplicate_loses_the_race_and_replays(auth_api, user, monkeypatch):
    """Simulate the window between lookup and insert: another request commits the same key first."""
    from trends.api import idempotency

    real_filter = IdempotencyKey.objects.filter
    state = {"calls": 0}

    def racing_filter(*args, **kwargs):
        state["calls"] += 1
        if state["calls"] == 1:
            # The first lookup sees nothing; meanwhile the "other request" stores its answer.
            IdempotencyKey.objects.create(
                user=user, key="race", method="POST", path="/api/v1/tweets",
                request_hash=fingerprint["value"], response_status=201, response_body={"id": "1", "text": "winner"},
            )
            return IdempotencyKey.objects.none()
        return real_filter(*args, **kwargs)

    fingerprint = {}
    real_fp = idempotency.request_fingerprint

    def capture(request):
        fingerprint["value"] = real_fp(request)
        return fingerprint["value"]

    monkeypatch.setattr(idempotency, "request_fingerprint", capture)
    monkeypatch.setattr(IdempotencyKey.objects, "filter", racing_filter)
    response = post(auth_api, "/api/v1/tweets", {"text": "loser"}, key="race")
    assert response.status_code == 201
    assert response.json()["text"] == "winner"
    assert response["Idempotent-Replayed"] == "true"
    assert not Tweet.objects.exists()


def test_purge_forgets_old_keys(auth_api):
    import datetime as dt

    from django.utils import timezone

    from trends.api.services import idempotency_keys_purge

    post(auth_api, "/api/v1/tweets", {"text": "old"}, key="old")
    IdempotencyKey.objects.update(created_at=timezone.now() - dt.timedelta(days=2))
    post(auth_api, "/api/v1/tweets", {"text": "new"}, key="new")
    assert idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
