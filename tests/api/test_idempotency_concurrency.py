"""Two truly concurrent requests with one Idempotency-Key (threads, separate connections): one post.

Needs a database with real concurrent transactions (PostgreSQL in CI); skipped on in-memory SQLite.
"""

import json
import threading
import time

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory
from trends import services
from trends.models import IdempotencyKey, Tweet

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (concurrent transactions); CI runs it there"
)


def test_concurrent_same_key_creates_one_post(transactional_db, monkeypatch):
    user = UserFactory()
    token = Token.objects.create(user=user).key
    real_create = services.tweet_create

    def slow_create(**kwargs):
        # Hold the first transaction open so the second request arrives while it is in flight.
        tweet = real_create(**kwargs)
        time.sleep(0.5)
        return tweet

    monkeypatch.setattr(services, "tweet_create", slow_create)
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def worker(slot: int) -> None:
        from django.db import connections

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        barrier.wait()
        try:
            response = client.post(
                "/api/v1/tweets",
                data=json.dumps({"text": "exactly once"}),
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="same-key",
            )
            answers[slot] = (response.status_code, response.json(), response.get("Idempotent-Replayed"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert [a[0] for a in answers] == [201, 201], answers
    assert answers[0][1] == answers[1][1]
    assert sorted(str(a[2]) for a in answers) == ["None", "true"]  # one did the work, one replayed it
    assert Tweet.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
