import json

import pytest

from tests.factories import EventFactory, TweetFactory
from trends.models import Engagement

pytestmark = pytest.mark.django_db
URL = "/api/v1/engagement"


def post_json(client, body):
    return client.post(URL, data=json.dumps(body), content_type="application/json")


def test_log_batch(auth_api, user):
    event = EventFactory()
    tweet = TweetFactory()
    items = [
        {"kind": "impression", "event_id": event.pk, "surface": "for_you", "position": 0, "variant": "v1"},
        {"kind": "click", "event_id": event.pk, "surface": "for_you", "position": 0},
        {"kind": "dismiss", "event_id": event.pk},
        {"kind": "like", "tweet_id": str(tweet.pk)},
    ]
    response = post_json(auth_api, {"items": items})
    assert response.status_code == 201, response.content
    assert response.json() == {"logged": 4}
    assert Engagement.objects.filter(user=user).count() == 4
    event.refresh_from_db()
    assert (event.impressions, event.clicks, event.dismissals) == (1, 1, 1)


def test_requires_auth(api):
    event = EventFactory()
    assert post_json(api, {"items": [{"kind": "impression", "event_id": event.pk}]}).status_code == 401
    assert not Engagement.objects.exists()


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"kind": "stare", "event_id": 1}, "items[1].kind"),
        ({"kind": "report", "event_id": 1}, "items[1].kind"),
        ({"kind": "click"}, "items[1]"),
        ({"kind": "click", "event_id": 999999}, "items[1].event_id"),
        ({"kind": "click", "tweet_id": "12345"}, "items[1].tweet_id"),
        ({"kind": "click", "event_id": "x"}, "items[1].event_id"),
        ({"kind": "click", "event_id": 1, "position": 5000}, "items[1].position"),
        ({"kind": "click", "event_id": 1, "surface": "s\u0000"}, "items[1].surface"),
        ({"kind": "click", "event_id": 1, "surface": "x" * 17}, "items[1].surface"),
        ({"kind": "click", "event_id": 1, "extra": 1}, "items[1].extra"),
    ],
)
def test_one_bad_item_rejects_the_batch_with_its_path(auth_api, item, field):
    event = EventFactory(pk=1)
    response = post_json(auth_api, {"items": [{"kind": "impression", "event_id": event.pk}, item]})
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert not Engagement.objects.exists()
    event.refresh_from_db()
    assert event.impressions == 0


@pytest.mark.parametrize("body", [{"items": []}, {"items": "x"}, {}, [], {"items": [{"kind": "click", "event_id": 1}] * 501}])
def test_envelope_errors(auth_api, body):
    EventFactory(pk=1)
    response = post_json(auth_api, body)
    assert response.status_code == 400
    assert response.json()["errors"]
    assert not Engagement.objects.exists()


def test_report_event_once_per_account(api, auth_api, other_api, user):
    event = EventFactory()
    assert api.post(f"/api/v1/events/{event.pk}/report").status_code == 401
    first = auth_api.post(f"/api/v1/events/{event.pk}/report")
    assert first.status_code == 201 and first.json() == {"reported": True}
    again = auth_api.post(f"/api/v1/events/{event.pk}/report")
    assert again.json() == {"reported": False}
    assert other_api.post(f"/api/v1/events/{event.pk}/report").json() == {"reported": True}
    event.refresh_from_db()
    assert event.spam_reports == 2
    assert Engagement.objects.filter(event=event, kind="report", user=user).count() == 1
    hidden = EventFactory(hidden=True)
    assert auth_api.post(f"/api/v1/events/{hidden.pk}/report").status_code == 404
