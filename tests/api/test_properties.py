"""Property tests: whatever body a client sends to POST /tweets, the answer is 201 or 400, never 5xx,
and a 400 stores nothing."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trends.models import Tweet

pytestmark = pytest.mark.django_db

FIELDS = ["text", "lang", "location", "created_at", "reply_to_id", "retweet_of_id", "quote_of_id"]

json_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(
    allow_nan=False, allow_infinity=False
) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
hostile_text = st.one_of(
    st.text(max_size=700),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=600),
    st.text(alphabet=st.sampled_from(["\x00", "\u200d", "\u202e", "\ud800", "#", "@", " ", "a", "\U0001f468"]), max_size=600),
    st.just(" ".join(f"#tag{i}" for i in range(200))),
)
timestamps = st.one_of(
    st.datetimes().map(lambda d: d.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2020-13-01T00:00:00Z", "now", ""]),
    st.integers(),
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "text": hostile_text | json_values,
        "lang": st.text(max_size=12) | json_values,
        "location": st.text(max_size=100) | json_values,
        "created_at": timestamps | json_values,
        "reply_to_id": st.integers(min_value=-5, max_value=2**64) | st.text(max_size=25) | json_values,
        "quote_of_id": st.integers(min_value=0, max_value=2**64),
        "retweet_of_id": st.from_regex(r"\A[0-9]{1,21}\Z"),
    },
) | st.dictionaries(st.text(max_size=10), json_values, max_size=5) | json_values


@pytest.fixture
def generous_throttles(throttle_rates):
    throttle_rates(
        posting="1000000/min", posting_ip="1000000/min", user="1000000/min",
        posting_bulk="1000000/min", posting_bulk_ip="1000000/min",
    )


def _encode(body) -> bytes:
    # ensure_ascii: lone surrogates travel as \\udXXX escapes, as a hostile client would send them.
    return json.dumps(body, ensure_ascii=True).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_post_tweet_body_is_201_or_400(auth_api, generous_throttles, body):
    before = Tweet.objects.count()
    response = auth_api.post("/api/v1/tweets", data=_encode(body), content_type="application/json")
    assert response.status_code in (201, 400), (response.status_code, response.content[:300])
    payload = response.json()
    if response.status_code == 400:
        assert payload["errors"] and all(isinstance(v, list) for v in payload["errors"].values())
        assert Tweet.objects.count() == before
    else:
        assert Tweet.objects.count() == before + 1
        assert Tweet.objects.filter(pk=int(payload["id"])).exists()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_post_tweet_raw_bytes_never_5xx(auth_api, generous_throttles, raw):
    before = Tweet.objects.count()
    response = auth_api.post("/api/v1/tweets", data=raw, content_type="application/json")
    assert response.status_code in (201, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert Tweet.objects.count() == before


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(bodies, max_size=8))
def test_bulk_never_5xx_and_stores_exactly_the_201_items(auth_api, generous_throttles, items):
    before = Tweet.objects.count()
    response = auth_api.post("/api/v1/tweets/bulk", data=_encode({"items": items}), content_type="application/json")
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    if response.status_code == 200:
        results = response.json()["results"]
        created = [r for r in results if r["status"] == 201]
        assert Tweet.objects.count() == before + len(created)
        assert [r["index"] for r in results] == list(range(len(items)))
    else:
        assert Tweet.objects.count() == before


engagement_items = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.sampled_from(["impression", "click", "dismiss", "like", "report", "stare"]) | json_values,
        "event_id": st.integers(min_value=-2, max_value=2**64) | json_values,
        "tweet_id": st.integers(min_value=-2, max_value=2**64) | st.text(max_size=22) | json_values,
        "surface": st.text(max_size=20) | json_values,
        "position": st.integers(min_value=-5, max_value=5000) | json_values,
        "variant": st.text(max_size=70) | json_values,
    },
) | json_values


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.fixed_dictionaries({"items": st.lists(engagement_items, max_size=6)}) | json_values)
def test_engagement_batch_is_201_or_400_and_all_or_nothing(auth_api, throttle_rates, body):
    from tests.factories import EventFactory
    from trends.models import Engagement, Event

    throttle_rates(engagement="1000000/min", engagement_ip="1000000/min", user="1000000/min")
    if not Event.objects.filter(pk=1).exists():
        EventFactory(pk=1)
    before = Engagement.objects.count()
    response = auth_api.post("/api/v1/engagement", data=_encode(body), content_type="application/json")
    assert response.status_code in (201, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert Engagement.objects.count() == before
    else:
        assert Engagement.objects.count() == before + len(body["items"])


profile_bodies = st.fixed_dictionaries(
    {},
    optional={
        "display_name": hostile_text | json_values,
        "bio": hostile_text | json_values,
        "email": st.emails() | st.text(max_size=30),
        "location": st.text(max_size=100) | json_values,
        "languages": st.lists(st.text(max_size=10), max_size=12) | json_values,
        "topics": st.lists(st.sampled_from(["sports", "news", "cooking"]) | st.text(max_size=5), max_size=10),
        "show_local_trends": st.booleans() | json_values,
    },
) | json_values


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=profile_bodies)
def test_profile_patch_is_200_or_400_and_400_changes_nothing(auth_api, user, body):
    from users.models import User

    before = User.objects.filter(pk=user.pk).values().get()
    response = auth_api.patch("/api/v1/users/me", data=_encode(body), content_type="application/json")
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    if response.status_code == 400:
        assert User.objects.filter(pk=user.pk).values().get() == before
