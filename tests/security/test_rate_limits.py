"""Rate limits on the doors attackers push hardest: log-in, sign-up and posting (site and API)."""

from __future__ import annotations

import pytest
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from tests.factories import UserFactory
from trends.models import Tweet
from trends.site import DEFAULT_RATE_LIMITS
from users.models import User


def effective_limit(bucket: str) -> tuple[int, int]:
    """What production enforces: the defaults, overridden by settings.RATE_LIMITS (env RATE_LIMIT_*)."""
    from django.conf import settings

    return {**DEFAULT_RATE_LIMITS, **getattr(settings, "RATE_LIMITS", {})}[bucket]

pytestmark = pytest.mark.django_db


def test_site_login_is_rate_limited_per_address(client):
    UserFactory(username="victim")
    allowed, _window = effective_limit("login")
    assert allowed <= 20
    for _ in range(allowed):
        response = client.post("/accounts/login/", {"username": "victim", "password": "guess"}, REMOTE_ADDR="198.51.100.7")
        assert response.status_code == 200  # the form again, with an error
    blocked = client.post("/accounts/login/", {"username": "victim", "password": "correct-horse-battery"},
                          REMOTE_ADDR="198.51.100.7")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session  # even the right password waits
    # Per address: the victim, elsewhere, can still log in.
    ok = client.post("/accounts/login/", {"username": "victim", "password": "correct-horse-battery"},
                     REMOTE_ADDR="192.0.2.10")
    assert ok.status_code == 302


def test_site_signup_is_rate_limited_per_address(client):
    allowed, _window = effective_limit("signup")
    assert allowed <= 10
    for n in range(allowed):
        response = client.post("/accounts/signup/", {"handle": f"new_{n}", "password": "harbour-lantern-47"},
                               REMOTE_ADDR="198.51.100.8")
        assert response.status_code == 302
        client.logout()
    blocked = client.post("/accounts/signup/", {"handle": "one_too_many", "password": "harbour-lantern-47"},
                          REMOTE_ADDR="198.51.100.8")
    assert blocked.status_code == 429
    assert not User.objects.filter(username="one_too_many").exists()


def test_site_posting_is_rate_limited_per_user(client):
    author = UserFactory()
    client.force_login(author)
    allowed, _window = effective_limit("post")
    assert allowed <= 60
    for n in range(allowed):
        assert client.post("/compose/", {"text": f"post {n}"}).status_code == 302
    blocked = client.post("/compose/", {"text": "one too many"})
    assert blocked.status_code == 429
    assert Tweet.objects.filter(author=author).count() == allowed


def test_api_token_issue_is_throttled(settings):
    UserFactory(username="apivictim")
    rate = api_settings.DEFAULT_THROTTLE_RATES["auth"]
    allowed = int(rate.split("/")[0])
    assert allowed <= 30
    api = APIClient(REMOTE_ADDR="198.51.100.9")
    statuses = [
        api.post("/api/v1/auth/token", {"handle": "apivictim", "password": "guess"}, format="json").status_code
        for _ in range(allowed + 1)
    ]
    assert 429 in statuses
    assert statuses[0] in (400, 401, 403)


def test_api_posting_is_throttled_per_user(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "posting": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    author = UserFactory()
    api = APIClient()
    api.force_authenticate(author)
    statuses = [api.post("/api/v1/tweets", {"text": f"api post {n}"}, format="json").status_code for n in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert Tweet.objects.filter(author=author).count() == 3


def test_api_posting_default_rate_is_bounded():
    count, period = api_settings.DEFAULT_THROTTLE_RATES["posting"].split("/")
    assert period.startswith("m") and int(count) <= 120
