import datetime as dt
import json

import pytest
from django.utils import timezone

from tests.factories import TweetFactory
from trends.models import Tweet

pytestmark = pytest.mark.django_db

URL = "/api/v1/tweets"


def post_json(client, url, body, **extra):
    return client.post(url, data=json.dumps(body) if not isinstance(body, bytes) else body, content_type="application/json", **extra)


def test_create_returns_201_with_string_id(auth_api, user):
    response = post_json(auth_api, URL, {"text": "Hello #world from @ada", "lang": "en"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert isinstance(body["id"], str)
    tweet = Tweet.objects.get(pk=int(body["id"]))
    assert tweet.author == user
    assert body["hashtags"] == ["world"]
    assert body["author"] == user.username
    user.refresh_from_db()
    assert user.posts_count == 1


def test_create_requires_auth(api):
    response = post_json(api, URL, {"text": "hi"})
    assert response.status_code == 401
    assert response.json() == {"errors": {"detail": ["Authentication credentials were not provided."]}}
    assert not Tweet.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   \n\t "}, "text"),
        ({"text": "x" * 561}, "text"),
        ({"text": "nul\u0000byte"}, "text"),
        ({"text": 42}, "text"),
        ({}, "text"),
        ({"text": "ok", "created_at": "2999-01-01T00:00:00Z"}, "created_at"),
        ({"text": "ok", "created_at": "1999-01-01T00:00:00Z"}, "created_at"),
        ({"text": "ok", "created_at": "2020-02-30T00:00:00Z"}, "created_at"),
        ({"text": "ok", "created_at": 1700000000}, "created_at"),
        ({"text": "ok", "reply_to_id": "abc"}, "reply_to_id"),
        ({"text": "ok", "reply_to_id": True}, "reply_to_id"),
        ({"text": "ok", "lang": ["en"]}, "lang"),
        ({"text": "ok", "location": "x" * 81}, "location"),
        ({"text": "ok", "author_id": 1}, "author_id"),
        ({"text": "ok", "like_count": 5}, "like_count"),
    ],
)
def test_bad_bodies_are_400_with_field_errors_and_store_nothing(auth_api, body, field):
    response = post_json(auth_api, URL, body)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert field in errors and errors[field]
    assert all(isinstance(m, str) for m in errors[field])
    assert not Tweet.objects.exists()


def test_lone_surrogate_escape_is_refused(auth_api):
    response = post_json(auth_api, URL, b'{"text": "broken \\ud800 text"}')
    assert response.status_code == 400
    assert "text" in response.json()["errors"]
    assert not Tweet.objects.exists()


def test_invalid_utf8_is_400(auth_api):
    response = post_json(auth_api, URL, b'{"text": "caf\xe9"}')
    assert response.status_code == 400
    assert "body" in response.json()["errors"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2", b'{"text": NaN}', b""])
def test_malformed_json_is_400(auth_api, raw):
    response = post_json(auth_api, URL, raw)
    assert response.status_code == 400
    assert response.json()["errors"]


def test_non_object_body_is_400(auth_api):
    response = post_json(auth_api, URL, ["text"])
    assert response.status_code == 400
    assert response.json()["errors"]["non_field_errors"]


def test_deeply_nested_json_is_400(auth_api):
    raw = b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = post_json(auth_api, URL, raw)
    assert response.status_code == 400
    assert "nested" in response.json()["errors"]["body"][0]
    raw = b'{"text": "ok", "lang": ' + b"[" * 40 + b"]" * 40 + b"}"
    assert post_json(auth_api, URL, raw).status_code == 400
    assert not Tweet.objects.exists()


def test_huge_payload_is_413(auth_api, settings):
    settings.API_MAX_BODY_BYTES = 10_000
    response = post_json(auth_api, URL, {"text": "x" * 20_000})
    assert response.status_code == 413
    assert response.json()["errors"]["detail"]
    assert not Tweet.objects.exists()


def test_body_over_django_limit_is_413(auth_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post_json(auth_api, URL, {"text": "x" * 2000}, HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 413
    assert not Tweet.objects.exists()


def test_wrong_content_type_is_415(auth_api):
    response = auth_api.post(URL, data="text=hi", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["errors"]["detail"]


def test_emoji_zwj_rtl_and_many_hashtags_are_accepted(auth_api):
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    text = f"{family} مرحبا بالعالم " + " ".join(f"#t{i}" for i in range(100))
    response = post_json(auth_api, URL, {"text": text[:560]})
    assert response.status_code == 201
    tweet = Tweet.objects.get(pk=int(response.json()["id"]))
    assert tweet.text.startswith(family)
    assert tweet.hashtags[:2] == ["t0", "t1"]


def test_get_tweet_and_deleted_is_404(api):
    tweet = TweetFactory()
    response = api.get(f"{URL}/{tweet.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == str(tweet.pk)
    Tweet.objects.filter(pk=tweet.pk).update(is_deleted=True)
    assert api.get(f"{URL}/{tweet.pk}").status_code == 404


@pytest.mark.parametrize("path", ["99999999999999999999", "9223372036854775808", "abc", "-1"])
def test_get_bad_ids_are_404(api, path):
    response = api.get(f"{URL}/{path}")
    assert response.status_code == 404


def test_delete_own_other_anonymous_and_staff(api, auth_api, other_api, staff_api, user):
    mine = TweetFactory(author=user)
    assert api.delete(f"{URL}/{mine.pk}").status_code == 401
    response = other_api.delete(f"{URL}/{mine.pk}")
    assert response.status_code == 403
    assert response.json()["errors"]["detail"]
    assert auth_api.delete(f"{URL}/{mine.pk}").status_code == 204
    mine.refresh_from_db()
    assert mine.is_deleted
    assert auth_api.delete(f"{URL}/{mine.pk}").status_code == 404
    theirs = TweetFactory()
    assert staff_api.delete(f"{URL}/{theirs.pk}").status_code == 204


def test_bulk_create_per_item_results(auth_api, user):
    items = [{"text": "first #a"}, {"text": "  "}, {"text": "third", "bogus": 1}, "not an object", {"text": "fifth"}]
    response = post_json(auth_api, f"{URL}/bulk", {"items": items})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == 2 and body["failed"] == 3
    statuses = [r["status"] for r in body["results"]]
    assert statuses == [201, 400, 400, 400, 201]
    assert body["results"][1]["errors"]["text"]
    assert body["results"][2]["errors"]["bogus"] == ["Unknown field."]
    assert body["results"][3]["errors"]["non_field_errors"]
    stored = set(Tweet.objects.values_list("text", flat=True))
    assert stored == {"first #a", "fifth"}
    assert {body["results"][0]["tweet"]["id"], body["results"][4]["tweet"]["id"]} == {
        str(pk) for pk in Tweet.objects.values_list("pk", flat=True)
    }
    user.refresh_from_db()
    assert user.posts_count == 2


def test_bulk_limit(auth_api, settings):
    response = post_json(auth_api, f"{URL}/bulk", {"items": [{"text": "x"}] * 101})
    assert response.status_code == 400
    assert "items" in response.json()["errors"]
    assert post_json(auth_api, f"{URL}/bulk", {"items": []}).status_code == 400
    assert not Tweet.objects.exists()


def test_search_by_words(api):
    TweetFactory(text="The marathon finish was huge")
    TweetFactory(text="Stock markets fall")
    response = api.get(f"{URL}/search", {"q": "marathon huge"})
    assert response.status_code == 200
    texts = [hit["tweet"]["text"] for hit in response.json()["results"]]
    assert texts == ["The marathon finish was huge"]


def test_search_by_meaning_uses_embeddings(api, fake_embedder):
    from trends import embedding

    for text in ["rain storm flood warning", "football match goal", "election vote results"]:
        vector = fake_embedder.encode([text])[0]
        TweetFactory(text=text, embedding=embedding.pack(vector), embedding_model=fake_embedder.name)
    TweetFactory(text="unembedded flood post")
    old = TweetFactory(text="flood warning old", created_at=timezone.now() - dt.timedelta(days=30))
    Tweet.objects.filter(pk=old.pk).update(
        embedding=embedding.pack(fake_embedder.encode(["flood warning"])[0]), embedding_model=fake_embedder.name
    )
    response = api.get(f"{URL}/search", {"q": "flood warning", "mode": "meaning", "limit": 2})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert results[0]["tweet"]["text"] == "rain storm flood warning"
    assert results[0]["score"] > results[1]["score"]
    assert all(r["tweet"]["text"] != "flood warning old" for r in results)


@pytest.mark.parametrize(
    "params", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 201}, {"q": "a", "mode": "vibes"}, {"q": "a", "limit": 0}, {"q": "a\x00b"}]
)
def test_search_bad_params(api, params):
    response = api.get(f"{URL}/search", params)
    assert response.status_code == 400
    assert response.json()["errors"]


def test_imported_post_without_author(api):
    tweet = TweetFactory(author=None)
    response = api.get(f"{URL}/{tweet.pk}")
    assert response.status_code == 200
    assert response.json()["author"] is None


@pytest.mark.parametrize("query", ["%", "_", "' OR 1=1 --", "\\", ".*"])
def test_search_treats_query_as_plain_text(api, query):
    TweetFactory(text="nothing special here")
    TweetFactory(text=f"literal {query} inside")
    response = api.get(f"{URL}/search", {"q": query})
    assert response.status_code == 200
    texts = [hit["tweet"]["text"] for hit in response.json()["results"]]
    assert texts == [f"literal {query} inside"]
