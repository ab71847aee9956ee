import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import FollowFactory, UserFactory
from users.models import Follow, User

pytestmark = pytest.mark.django_db


def post_json(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_register_then_use_token(api):
    response = post_json(api, "/api/v1/auth/register", {"handle": "ada_l", "password": "analytical-engine-1843"})
    assert response.status_code == 201, response.content
    token = response.json()["token"]
    assert response.json()["user"]["handle"] == "ada_l"
    assert "password" not in response.json()["user"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/users/me").json()["handle"] == "ada_l"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"handle": "bad handle!", "password": "analytical-engine-1843"}, "handle"),
        ({"handle": "x" * 31, "password": "analytical-engine-1843"}, "handle"),
        ({"handle": "shorty", "password": "123"}, "password"),
        ({"handle": "shorty", "password": "password"}, "password"),
        ({"handle": "shorty"}, "password"),
        ({"handle": "shorty", "password": "analytical-engine-1843", "is_staff": True}, "is_staff"),
        ({"handle": "shorty", "password": "analytical-engine-1843", "email": "nope"}, "email"),
        ({"handle": "sh\u0000orty", "password": "analytical-engine-1843"}, "handle"),
    ],
)
def test_register_refuses_bad_input(api, body, field):
    response = post_json(api, "/api/v1/auth/register", body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not User.objects.exists()


def test_register_duplicate_handle_case_insensitive(api):
    UserFactory(username="Ada")
    response = post_json(api, "/api/v1/auth/register", {"handle": "ada", "password": "analytical-engine-1843"})
    assert response.status_code == 400
    assert response.json()["errors"]["handle"]
    assert User.objects.count() == 1


def test_token_issue_and_revoke(api, user):
    bad = post_json(api, "/api/v1/auth/token", {"handle": user.username, "password": "wrong"})
    assert bad.status_code == 400
    assert bad.json()["errors"]["non_field_errors"] == ["Handle or password is wrong."]
    good = post_json(api, "/api/v1/auth/token", {"handle": user.username.upper(), "password": "correct-horse-battery"})
    assert good.status_code == 200, good.content
    token = good.json()["token"]
    assert Token.objects.get(user=user).key == token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.delete("/api/v1/auth/token").status_code == 204
    assert not Token.objects.filter(user=user).exists()
    assert client.get("/api/v1/users/me").status_code == 401


def test_revoke_requires_auth(api):
    response = api.delete("/api/v1/auth/token")
    assert response.status_code == 401
    assert response.json()["errors"]["detail"]


def test_session_auth_works_and_enforces_csrf(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/users/me").json()["handle"] == user.username
    response = client.post("/api/v1/tweets", data=json.dumps({"text": "hi"}), content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["errors"]["detail"][0]


def test_me_requires_auth(api):
    response = api.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")


def test_me_patch(auth_api, user):
    response = auth_api.patch(
        "/api/v1/users/me",
        data=json.dumps({"display_name": "Ada L.", "languages": ["en", "pt-BR"], "topics": ["science"], "location": "Lisbon"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.display_name == "Ada L."
    assert user.languages == ["en", "pt-BR"]
    assert user.topics == ["science"]


@pytest.mark.parametrize(
    "body",
    [
        {"topics": ["cooking"]},
        {"languages": "en"},
        {"languages": ["english!"]},
        {"bio": "x" * 281},
        {"username": "hijack"},
        {"is_staff": True},
        {"trust_score": 1.0},
        {"display_name": {"a": 1}},
    ],
)
def test_me_patch_refuses_bad_input(auth_api, user, body):
    before = User.objects.filter(pk=user.pk).values().get()
    response = auth_api.patch("/api/v1/users/me", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]
    assert User.objects.filter(pk=user.pk).values().get() == before


def test_profile_by_handle(api, user):
    response = api.get(f"/api/v1/users/{user.username.upper()}")
    assert response.status_code == 200
    body = response.json()
    assert body["handle"] == user.username
    assert "email" not in body and "languages" not in body
    assert api.get("/api/v1/users/nobody_here").status_code == 404
    assert api.get("/api/v1/users/bad%20handle").status_code == 404


def test_follow_unfollow_idempotent(auth_api, user, other_user):
    url = f"/api/v1/users/{other_user.username}/follow"
    first = auth_api.post(url)
    assert first.status_code == 201
    assert first.json() == {"handle": other_user.username, "following": True, "changed": True}
    again = auth_api.post(url)
    assert again.status_code == 200 and again.json()["changed"] is False
    assert Follow.objects.filter(follower=user, followee=other_user).count() == 1
    other_user.refresh_from_db()
    assert other_user.followers_count == 1
    assert auth_api.delete(url).json()["changed"] is True
    assert auth_api.delete(url).json()["changed"] is False
    other_user.refresh_from_db()
    assert other_user.followers_count == 0


def test_follow_boundaries(api, auth_api, user):
    assert api.post(f"/api/v1/users/{user.username}/follow").status_code == 401
    response = auth_api.post(f"/api/v1/users/{user.username}/follow")
    assert response.status_code == 400
    assert response.json()["errors"]["followee"]
    assert auth_api.post("/api/v1/users/ghost/follow").status_code == 404


def test_followers_and_following_cursor_pagination(api, user):
    fans = [FollowFactory(followee=user).follower for _ in range(5)]
    FollowFactory(follower=user)
    seen = []
    url = f"/api/v1/users/{user.username}/followers?limit=2"
    pages = 0
    while url:
        response = api.get(url)
        assert response.status_code == 200
        body = response.json()
        assert len(body["results"]) <= 2
        seen += [u["handle"] for u in body["results"]]
        url = body["next"]
        pages += 1
    assert pages == 3
    assert seen == [f.username for f in reversed(fans)]
    following = api.get(f"/api/v1/users/{user.username}/following").json()
    assert len(following["results"]) == 1
    assert api.get(f"/api/v1/users/{user.username}/followers?cursor=garbage").status_code == 400
    assert api.get(f"/api/v1/users/{user.username}/followers?limit=1000").status_code == 400
