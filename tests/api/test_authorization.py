"""Who may call what: every write and every private read, for anonymous, user, other user and staff."""

import json

import pytest

from tests.factories import EventFactory, TweetFactory, UserFactory
from trends.models import Engagement, Tweet
from users.models import Follow

pytestmark = pytest.mark.django_db

ANONYMOUS_401 = [
    ("post", "/api/v1/tweets", {"text": "x"}),
    ("post", "/api/v1/tweets/bulk", {"items": [{"text": "x"}]}),
    ("post", "/api/v1/engagement", {"items": [{"kind": "click", "event_id": 1}]}),
    ("get", "/api/v1/users/me", None),
    ("patch", "/api/v1/users/me", {"bio": "x"}),
    ("delete", "/api/v1/auth/token", None),
    ("get", "/api/v1/explore/for-you", None),
    ("post", "/api/v1/users/target/follow", None),
    ("delete", "/api/v1/users/target/follow", None),
    ("post", "/api/v1/events/1/report", None),
    ("post", "/api/v1/curation/events/approve", {"event_ids": [1]}),
    ("post", "/api/v1/curation/events/1/hide", {"reason": "x"}),
]
PUBLIC_READS = [
    "/api/v1/events",
    "/api/v1/events/1",
    "/api/v1/events/1/tweets",
    "/api/v1/events/1/related",
    "/api/v1/events/1/story",
    "/api/v1/explore/trending",
    "/api/v1/explore/topics",
    "/api/v1/explore/topics/news",
    "/api/v1/users/target",
    "/api/v1/users/target/followers",
    "/api/v1/users/target/following",
    "/api/v1/tweets/search?q=hello",
]


@pytest.fixture
def world(db):
    EventFactory(pk=1)
    UserFactory(username="target")


def call(client, method, url, body):
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(("method", "url", "body"), ANONYMOUS_401)
def test_anonymous_writes_and_private_reads_are_401(api, world, method, url, body):
    response = call(api, method, url, body)
    assert response.status_code == 401, (url, response.content)
    assert response.json()["errors"]["detail"]
    assert not Tweet.objects.exists() and not Engagement.objects.exists() and not Follow.objects.exists()


@pytest.mark.parametrize("url", PUBLIC_READS)
def test_public_reads_work_for_everyone(api, auth_api, staff_api, world, url):
    for client in (api, auth_api, staff_api):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/v1/curation/events/approve", {"event_ids": [1]}),
        ("post", "/api/v1/curation/events/reject", {"event_ids": [1]}),
        ("post", "/api/v1/curation/events/1/hide", {"reason": "x"}),
        ("post", "/api/v1/curation/events/1/unhide", {}),
        ("post", "/api/v1/curation/events/1/pin", {"slot": 1, "until": "2999-01-01T00:00:00Z"}),
        ("post", "/api/v1/curation/events/1/unpin", {}),
        ("post", "/api/v1/curation/events/1/rename", {"title": "x"}),
        ("post", "/api/v1/curation/events/1/merge", {"target_id": 1}),
        ("post", "/api/v1/curation/events/1/split", {"by_subcluster": True}),
    ],
)
def test_curation_is_403_for_users_and_allowed_for_staff(auth_api, staff_api, world, method, url, body):
    assert call(auth_api, method, url, body).status_code == 403
    assert call(staff_api, method, url, body).status_code in (200, 201, 400)


def test_owner_other_and_staff_on_a_post(auth_api, other_api, staff_api, user):
    tweet = TweetFactory(author=user)
    for client in (auth_api, other_api, staff_api):
        assert client.get(f"/api/v1/tweets/{tweet.pk}").status_code == 200
    assert other_api.delete(f"/api/v1/tweets/{tweet.pk}").status_code == 403
    assert auth_api.delete(f"/api/v1/tweets/{tweet.pk}").status_code == 204
    other = TweetFactory(author=user)
    assert staff_api.delete(f"/api/v1/tweets/{other.pk}").status_code == 204


def test_me_is_always_the_caller(auth_api, other_api, user, other_user):
    assert auth_api.get("/api/v1/users/me").json()["handle"] == user.username
    assert other_api.get("/api/v1/users/me").json()["handle"] == other_user.username
    other_api.patch("/api/v1/users/me", data=json.dumps({"bio": "mine"}), content_type="application/json")
    user.refresh_from_db()
    assert user.bio == ""


def test_invalid_token_is_401(api, world):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/v1/events")
    assert response.status_code == 401
    assert response.json()["errors"]["detail"]


def test_inactive_user_token_is_401(auth_api, user):
    user.is_active = False
    user.save()
    assert auth_api.get("/api/v1/users/me").status_code == 401
