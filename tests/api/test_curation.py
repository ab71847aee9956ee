import datetime as dt
import json

import pytest
from django.utils import timezone

from tests.api.conftest import client_for
from tests.factories import EventFactory, TweetFactory, UserFactory, add_members
from trends.models import AuditLogEntry, Event, EventState, ReviewStatus

pytestmark = pytest.mark.django_db


def post(client, url, body=None, **extra):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json", **extra)


def test_approve_and_reject(staff_api):
    pending = EventFactory(review_status=ReviewStatus.PENDING)
    other = EventFactory(review_status=ReviewStatus.PENDING)
    response = post(staff_api, "/api/v1/curation/events/approve", {"event_ids": [pending.pk], "reason": "ok"})
    assert response.status_code == 200, response.content
    assert response.json() == {"changed": [pending.pk]}
    pending.refresh_from_db()
    assert pending.review_status == ReviewStatus.APPROVED
    assert post(staff_api, "/api/v1/curation/events/reject", {"event_ids": [other.pk]}).status_code == 200
    other.refresh_from_db()
    assert other.review_status == ReviewStatus.REJECTED
    assert AuditLogEntry.objects.filter(action="event.approve").count() == 1


@pytest.mark.parametrize("who", ["anonymous", "user", "staff_without_permission"])
def test_curation_is_staff_only(api, auth_api, who):
    event = EventFactory(review_status=ReviewStatus.PENDING)
    client = {
        "anonymous": api,
        "user": auth_api,
        "staff_without_permission": client_for(UserFactory(is_staff=True)),
    }[who]
    responses = [
        post(client, "/api/v1/curation/events/approve", {"event_ids": [event.pk]}),
        post(client, f"/api/v1/curation/events/{event.pk}/hide", {"reason": "spam"}),
        post(client, f"/api/v1/curation/events/{event.pk}/rename", {"title": "Owned"}),
    ]
    expected = 401 if who == "anonymous" else 403
    assert [r.status_code for r in responses] == [expected] * 3
    assert all(r.json()["errors"]["detail"] for r in responses)
    event.refresh_from_db()
    assert (event.review_status, event.hidden, event.title_locked) == (ReviewStatus.PENDING, False, False)
    assert not AuditLogEntry.objects.exists()


def test_hide_unhide_rename_with_version_check(staff_api, api):
    event = EventFactory()
    response = post(staff_api, f"/api/v1/curation/events/{event.pk}/hide", {"reason": "Misleading"})
    assert response.status_code == 200, response.content
    assert response.json()["hidden"] is True
    assert api.get(f"/api/v1/events/{event.pk}").status_code == 404
    assert post(staff_api, f"/api/v1/curation/events/{event.pk}/hide", {}).status_code == 400
    assert post(staff_api, f"/api/v1/curation/events/{event.pk}/unhide").json()["hidden"] is False
    version = Event.objects.get(pk=event.pk).version
    ok = post(staff_api, f"/api/v1/curation/events/{event.pk}/rename", {"title": "Better title", "expected_version": version})
    assert ok.status_code == 200
    assert ok.json()["title"] == "Better title"
    stale = post(staff_api, f"/api/v1/curation/events/{event.pk}/rename", {"title": "Stale", "expected_version": version})
    assert stale.status_code == 409
    assert stale.json()["errors"]["expected_version"]
    assert Event.objects.get(pk=event.pk).title == "Better title"
    assert post(staff_api, f"/api/v1/curation/events/{event.pk}/rename", {"title": "  "}).status_code == 400


def test_pin_unpin(staff_api):
    event = EventFactory()
    until = (timezone.now() + dt.timedelta(hours=3)).isoformat()
    response = post(staff_api, f"/api/v1/curation/events/{event.pk}/pin", {"slot": 1, "until": until})
    assert response.status_code == 200, response.content
    assert response.json()["pinned_slot"] == 1
    past = (timezone.now() - dt.timedelta(hours=3)).isoformat()
    assert post(staff_api, f"/api/v1/curation/events/{event.pk}/pin", {"slot": 1, "until": past}).status_code == 400
    assert post(staff_api, f"/api/v1/curation/events/{event.pk}/unpin").json()["pinned_slot"] is None


def test_merge_and_split(staff_api):
    source = EventFactory()
    target = EventFactory()
    add_members(source, [TweetFactory() for _ in range(2)])
    add_members(target, [TweetFactory() for _ in range(2)])
    response = post(staff_api, f"/api/v1/curation/events/{source.pk}/merge", {"target_id": target.pk})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == target.pk
    source.refresh_from_db()
    assert source.state == EventState.MERGED
    assert post(staff_api, f"/api/v1/curation/events/{target.pk}/merge", {"target_id": 999999}).status_code == 400
    moved = list(target.memberships.values_list("tweet_id", flat=True)[:1])
    split = post(staff_api, f"/api/v1/curation/events/{target.pk}/split", {"tweet_ids": moved})
    assert split.status_code == 201, split.content
    new_id = split.json()["id"]
    assert new_id != target.pk
    assert Event.objects.get(pk=new_id).memberships.count() == 1


def test_unknown_event_is_404_and_bad_ids_400(staff_api):
    assert post(staff_api, "/api/v1/curation/events/999999/hide", {"reason": "x"}).status_code == 404
    response = post(staff_api, "/api/v1/curation/events/approve", {"event_ids": [999999]})
    assert response.status_code == 400
    assert response.json()["errors"]["event_ids"]
    assert post(staff_api, "/api/v1/curation/events/approve", {"event_ids": []}).status_code == 400


def test_summary_category_representatives(staff_api, auth_api):
    event = EventFactory(category="news")
    members = [TweetFactory() for _ in range(3)]
    add_members(event, members)
    base = f"/api/v1/curation/events/{event.pk}"
    response = post(staff_api, f"{base}/summary", {"summary": "What happened, briefly."})
    assert response.status_code == 200, response.content
    assert response.json()["summary"] == "What happened, briefly."
    response = post(staff_api, f"{base}/category", {"category": "sports"})
    assert response.json()["category"] == "sports"
    assert post(staff_api, f"{base}/category", {"category": "cooking"}).status_code == 400
    chosen = [members[2].pk, members[0].pk]
    response = post(staff_api, f"{base}/representatives", {"tweet_ids": chosen})
    assert response.status_code == 200, response.content
    assert response.json()["representative_tweet_ids"] == [str(pk) for pk in chosen]
    stranger = TweetFactory()
    assert post(staff_api, f"{base}/representatives", {"tweet_ids": [stranger.pk]}).status_code == 400
    assert post(auth_api, f"{base}/summary", {"summary": "vandalism"}).status_code == 403
    event.refresh_from_db()
    assert (event.summary, event.summary_locked, event.category_locked) == ("What happened, briefly.", True, True)
