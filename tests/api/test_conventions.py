"""Cross-cutting API behaviour: throttles, error shape, schema and docs."""

import json

import pytest

from tests.factories import EventFactory
from trends.models import Tweet

pytestmark = pytest.mark.django_db


def post_json(client, url, body, **extra):
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def test_posting_throttle_per_user(auth_api, other_api, throttle_rates):
    throttle_rates(posting="2/min", posting_ip="100/min")
    assert post_json(auth_api, "/api/v1/tweets", {"text": "one"}).status_code == 201
    assert post_json(auth_api, "/api/v1/tweets", {"text": "two"}).status_code == 201
    third = post_json(auth_api, "/api/v1/tweets", {"text": "three"})
    assert third.status_code == 429
    assert third.json()["errors"]["detail"][0].startswith("Request was throttled")
    assert int(third["Retry-After"]) > 0
    assert Tweet.objects.count() == 2
    # Another account is counted separately; reads are not counted by the posting scope.
    assert post_json(other_api, "/api/v1/tweets", {"text": "mine"}).status_code == 201
    assert auth_api.get("/api/v1/events").status_code == 200


def test_posting_throttle_per_ip_across_accounts(auth_api, other_api, throttle_rates):
    throttle_rates(posting="100/min", posting_ip="2/min")
    assert post_json(auth_api, "/api/v1/tweets", {"text": "one"}).status_code == 201
    assert post_json(other_api, "/api/v1/tweets", {"text": "two"}).status_code == 201
    assert post_json(other_api, "/api/v1/tweets", {"text": "three"}, REMOTE_ADDR="127.0.0.1").status_code == 429
    assert post_json(other_api, "/api/v1/tweets", {"text": "four"}, REMOTE_ADDR="10.0.0.9").status_code == 201


def test_auth_throttle_on_login_and_register(api, user, throttle_rates):
    throttle_rates(auth="3/min", auth_ip="100/min")
    for _ in range(3):
        assert post_json(api, "/api/v1/auth/token", {"handle": user.username, "password": "nope"}).status_code == 400
    assert post_json(api, "/api/v1/auth/token", {"handle": user.username, "password": "correct-horse-battery"}).status_code == 429
    assert post_json(api, "/api/v1/auth/register", {"handle": "newbie", "password": "analytical-engine-1843"}).status_code == 429


def test_engagement_throttle(auth_api, throttle_rates):
    throttle_rates(engagement="1/min")
    event = EventFactory()
    body = {"items": [{"kind": "impression", "event_id": event.pk}]}
    assert post_json(auth_api, "/api/v1/engagement", body).status_code == 201
    assert post_json(auth_api, "/api/v1/engagement", body).status_code == 429


def test_anonymous_read_throttle(api, throttle_rates):
    throttle_rates(anon="2/min")
    assert api.get("/api/v1/events").status_code == 200
    assert api.get("/api/v1/events").status_code == 200
    assert api.get("/api/v1/events").status_code == 429


def test_errors_share_one_shape(api, auth_api):
    cases = [
        api.get("/api/v1/events/123456"),  # 404
        api.get("/api/v1/users/me"),  # 401
        auth_api.put("/api/v1/tweets", data="{}", content_type="application/json"),  # 405
        post_json(auth_api, "/api/v1/tweets", {"text": ""}),  # 400
        auth_api.post("/api/v1/tweets", data=b"{", content_type="application/json"),  # parse error
    ]
    for response in cases:
        body = response.json()
        assert set(body) == {"errors"}, body
        assert all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in body["errors"].values())


def test_nul_in_any_string_is_refused_with_its_path(auth_api):
    response = auth_api.patch(
        "/api/v1/users/me", data=b'{"languages": ["en", "e\\u0000s"]}', content_type="application/json"
    )
    assert response.status_code == 400
    assert "languages[1]" in response.json()["errors"]


def test_schema_and_docs_are_served_locally(api):
    schema = api.get("/api/schema/?format=json")
    assert schema.status_code == 200
    doc = json.loads(schema.content)
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in ["/api/v1/tweets", "/api/v1/tweets/bulk", "/api/v1/explore/for-you", "/api/v1/engagement", "/api/v1/events/{event_id}/story"]:
        assert path in paths, path
    # Every success answer with a body, and every request body, comes with an example.
    for path, operations in paths.items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code.startswith("2") and "content" in response:
                    assert response["content"]["application/json"].get("examples"), f"{method} {path} {code}"
            if "requestBody" in operation:
                assert operation["requestBody"]["content"]["application/json"].get("examples"), f"{method} {path}"
    for url in ["/api/docs/", "/api/redoc/"]:
        page = api.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "cdn" not in html.lower() and "unpkg" not in html.lower()
        assert "/static/drf_spectacular_sidecar/" in html


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/events/1%0A", "/api/v1/events/%F3%A3%93%A2%0A/story", "/api/v2/events"])
def test_unknown_api_paths_are_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json() == {"errors": {"detail": ["Not found."]}}


def test_bulk_posting_has_its_own_lower_rate(auth_api, throttle_rates):
    throttle_rates(posting_bulk="1/min", posting="100/min")
    body = {"items": [{"text": "a"}, {"text": "b"}]}
    assert post_json(auth_api, "/api/v1/tweets/bulk", body).status_code == 200
    assert post_json(auth_api, "/api/v1/tweets/bulk", body).status_code == 429
    assert post_json(auth_api, "/api/v1/tweets", {"text": "single still fine"}).status_code == 201
    assert Tweet.objects.count() == 3
