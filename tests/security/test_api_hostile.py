"""A few end-to-end hostile requests against the API: a clear 4xx, never a 500, nothing stored.

(The API's own suite fuzzes every endpoint with schemathesis; these pin the nastiest bodies.)
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from tests.factories import EventFactory, UserFactory
from trends.models import Engagement, Tweet

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(UserFactory())
    return client


def raw_post(api: APIClient, path: str, body: bytes):
    return api.generic("POST", path, body, content_type="application/json")


BODIES = {
    "invalid-utf8": b'{"text": "\xff\xfe"}',
    "nul-text": json.dumps({"text": "a\u0000b"}).encode(),
    "lone-surrogate": b'{"text": "\\ud800"}',
    "deep-nesting": b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "wrong-types": json.dumps({"text": ["list"], "created_at": 12, "lang": {"x": 1}}).encode(),
    "future": json.dumps({"text": "from the future", "created_at": "9999-12-31T23:59:59Z"}).encode(),
    "past": json.dumps({"text": "from the past", "created_at": "0001-01-01T00:00:00Z"}).encode(),
    "too-long": json.dumps({"text": "x" * 5000}).encode(),
    "not-an-object": b"[1, 2, 3]",
    "broken-json": b'{"text": ',
    "huge": json.dumps({"text": "x" * (3 * 1024 * 1024)}).encode(),
    "number-overflow": b'{"text": "n", "like_count": 1e999}',
}


@pytest.mark.parametrize("name", BODIES)
def test_hostile_post_bodies_are_refused_cleanly(api, name):
    response = raw_post(api, "/api/v1/tweets", BODIES[name])
    assert 400 <= response.status_code < 500, (name, response.status_code, response.content[:300])
    assert "errors" in response.json()
    assert Tweet.objects.count() == 0


def test_emoji_zwj_and_rtl_posts_are_accepted_intact(api):
    text = "👩‍👩‍👧‍👦 family 🏳️‍🌈 \u202eRTL\u202c مرحبا #عاجل"
    response = api.post("/api/v1/tweets", {"text": text}, format="json")
    assert response.status_code == 201
    assert Tweet.objects.get().text == text


def test_bulk_with_hostile_items_reports_per_item(api):
    items = [{"text": "fine #ok"}, {"text": "\u0000"}, {"text": 5}, {"text": "x" * 900}, {"text": "also fine"}]
    response = api.post("/api/v1/tweets/bulk", {"items": items}, format="json")
    # Either the envelope is refused as a whole, or each item gets its own result; never half of one.
    if response.status_code == 400:
        assert Tweet.objects.count() == 0 and "errors" in response.json()
    else:
        assert response.status_code in (200, 207), response.content[:300]
        assert Tweet.objects.count() == 2


@pytest.mark.parametrize(
    "item",
    [
        {"kind": ["impression"], "event_id": 1},
        {"kind": "impression", "event_id": "abc"},
        {"kind": "impression", "event_id": [1]},
        {"kind": "impression", "event_id": 2**70},
        {"kind": "impression"},
        "not-an-object",
    ],
)
def test_engagement_with_wrong_types_is_a_400(api, item):
    EventFactory()
    response = api.post("/api/v1/engagement", {"items": [item]}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert Engagement.objects.count() == 0


def test_hostile_search_and_filters_never_500(api):
    for path in ("/api/v1/tweets/search", "/api/v1/events", "/api/v1/explore/trending"):
        for value in ("' OR 1=1 --", "\x00", "%", "9" * 40, "2999-01-01", "😀" * 100):
            params = {"q": value, "state": value, "category": value, "language": value, "location": value,
                      "since": value, "cursor": value, "mode": value}
            response = api.get(path, params)
            assert response.status_code < 500, (path, value, response.status_code)
