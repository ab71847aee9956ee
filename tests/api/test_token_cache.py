"""The token -> user lookup is cached, and never outlives a revocation or a change of the user."""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


def test_second_request_authenticates_without_a_token_query(auth_api, user, django_assert_num_queries):
    assert auth_api.get("/api/v1/users/me").status_code == 200  # looks the token up, caches it
    token = Token.objects.get(user=user)
    from trends.api.authentication import token_cache_key

    assert cache.get(token_cache_key(token.key)) is not None
    assert token.key not in token_cache_key(token.key)  # the cache never holds the secret as a key
    with django_assert_num_queries(0):
        from rest_framework.test import APIRequestFactory

        from trends.api.authentication import CachedTokenAuthentication

        request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {token.key}")
        authenticated, auth = CachedTokenAuthentication().authenticate(request)
    assert authenticated.pk == user.pk and auth.key == token.key


def test_revoked_token_stops_working_at_once(user):
    api = client_for(user)
    assert api.get("/api/v1/users/me").status_code == 200
    Token.objects.filter(user=user).delete()
    assert api.get("/api/v1/users/me").status_code == 401


def test_deactivated_user_stops_at_once_even_when_cached(user):
    api = client_for(user)
    assert api.get("/api/v1/users/me").status_code == 200
    user.is_active = False
    user.save()
    assert api.get("/api/v1/users/me").status_code == 401


def test_profile_change_is_seen_by_the_next_request(user):
    api = client_for(user)
    assert api.get("/api/v1/users/me").json()["bio"] == ""
    user.bio = "changed on the site"
    user.save()
    assert api.get("/api/v1/users/me").json()["bio"] == "changed on the site"


def test_deleted_user_token_is_refused(user):
    api = client_for(user)
    assert api.get("/api/v1/users/me").status_code == 200
    user.delete()
    assert api.get("/api/v1/users/me").status_code == 401


def test_token_cache_outage_falls_back_to_the_database(user, monkeypatch):
    from trends.api import authentication

    class Down:
        def get(self, *args, **kwargs):
            raise ConnectionError("cache down")

        set = delete_many = get

    monkeypatch.setattr(authentication, "cache", Down())
    api = client_for(user)
    assert api.get("/api/v1/users/me").status_code == 200
    Token.objects.filter(user=user).delete()  # forgetting fails too, and is not an error
    assert api.get("/api/v1/users/me").status_code == 401


def test_cache_can_be_switched_off(user, settings, django_assert_num_queries):
    from trends.api.authentication import token_cache_key

    settings.API_TOKEN_CACHE_SECONDS = 0
    api = client_for(user)
    assert api.get("/api/v1/users/me").status_code == 200
    assert cache.get(token_cache_key(Token.objects.get(user=user).key)) is None


def test_reads_use_the_cached_user_and_writes_load_it_afresh(user):
    from trends.api.authentication import token_cache_key

    api = client_for(user)
    assert api.get("/api/v1/users/me").status_code == 200  # cached now
    key = token_cache_key(Token.objects.get(user=user).key)
    cached_user, cached_token = cache.get(key)
    assert cached_user.password == ""  # no password hash in the cache
    cached_user.display_name = "from the cache"
    cache.set(key, (cached_user, cached_token), 60)
    assert api.get("/api/v1/users/me").json()["display_name"] == "from the cache"
    response = api.patch("/api/v1/users/me", data={"bio": "written now"}, format="json")
    assert response.status_code == 200 and response.json()["display_name"] == user.display_name
    user.refresh_from_db()
    assert user.bio == "written now" and user.display_name != "from the cache"
