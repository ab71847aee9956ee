"""The stored For You page (trends.pages): served without queries, and never stale where it matters."""

import datetime as dt
import json
import re
import time
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from tests.factories import UserFactory
from trends import pages
from trends.curation import services as curation
from trends.pages.selectors import CSRF_SENTINEL, GEN_KEY, page_key

pytestmark = pytest.mark.django_db


def card_ids(response) -> list[int]:
    return [int(m) for m in re.findall(r'<li class="card" id="event-(\d+)"', response.content.decode())]


def stored(entry: dict) -> bytes:
    """A stored page's HTML, placeholders in."""
    return CSRF_SENTINEL.encode().join(entry["parts"])


def csrf_value(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


@pytest.fixture
def signed_in(user, settings):
    # As in production with Redis: sessions read from the cache.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_second_request_is_served_from_the_stored_page_without_queries(
    signed_in, user, world, no_ranking, django_assert_num_queries
):
    first = signed_in.get("/")
    assert first.status_code == 200
    assert cache.get(page_key(user_id=user.pk)) is not None
    with django_assert_num_queries(0):
        second = signed_in.get("/?tab=for-you")
    assert second.status_code == 200
    assert card_ids(second) == card_ids(first) and len(card_ids(second)) == len(world)
    html = second.content.decode()
    assert CSRF_SENTINEL not in html
    assert f"@{user.username}" in html
    assert "private" in second["Cache-Control"]
    assert 'name="next" value="/?tab=for-you"' in html


def test_csrf_token_in_a_stored_page_is_accepted(signed_in, user, world, no_ranking):
    signed_in.get("/")
    served = signed_in.get("/")  # from the store
    event = world[0]
    response = signed_in.post(
        f"/events/{event.pk}/dismiss/", {"csrfmiddlewaretoken": csrf_value(served), "surface": "for_you", "next": "/"}
    )
    assert response.status_code == 302
    assert event.pk not in card_ids(signed_in.get("/"))


def test_dismissal_makes_the_stored_page_stale_at_once(signed_in, user, world, no_ranking, django_assert_max_num_queries):
    signed_in.get("/")
    token = csrf_value(signed_in.get("/"))
    target = world[1]
    signed_in.post(f"/events/{target.pk}/dismiss/", {"csrfmiddlewaretoken": token}, HTTP_HX_REQUEST="true")
    with django_assert_max_num_queries(12):
        after = signed_in.get("/")
    assert target.pk not in card_ids(after)
    assert set(card_ids(after)) == {e.pk for e in world} - {target.pk}


def test_another_users_session_never_gets_this_page(signed_in, user, world, no_ranking):
    signed_in.get("/")
    other = UserFactory(username="someone_else")
    client = Client()
    client.force_login(other)
    html = client.get("/").content.decode()
    assert "@someone_else" in html and f"@{user.username}" not in html


def test_password_change_locks_old_sessions_out_of_the_stored_page(signed_in, user, world, no_ranking):
    assert f"@{user.username}" in signed_in.get("/").content.decode()
    user.set_password("a-brand-new-password")
    user.save()
    response = signed_in.get("/")
    html = response.content.decode()
    # The old session's auth hash no longer matches: Django logs it out, and the stored page is not served.
    assert f"@{user.username}" not in html and "Log in" in html


def test_curation_change_invalidates_every_stored_page(
    signed_in, user, world, no_ranking, curator, django_capture_on_commit_callbacks
):
    signed_in.get("/")
    hidden = world[0]
    with django_capture_on_commit_callbacks(execute=True):
        curation.event_hide(actor=curator, event=hidden, reason="spam wave")
    assert cache.get(GEN_KEY) == 1
    assert hidden.pk not in card_ids(signed_in.get("/"))


def test_flash_message_is_shown_once_not_stored(signed_in, user, world, no_ranking):
    signed_in.get("/")
    token = csrf_value(signed_in.get("/"))
    response = signed_in.post(f"/events/{world[2].pk}/dismiss/", {"csrfmiddlewaretoken": token, "next": "/"}, follow=True)
    assert "You won&#x27;t see this event again" in response.content.decode()
    again = signed_in.get("/").content.decode()
    assert "You won&#x27;t see this event again" not in again


def test_other_tabs_pages_and_partials_are_not_served_from_the_store(signed_in, user, world, no_ranking):
    signed_in.get("/")
    cache.set(page_key(user_id=user.pk), {**cache.get(page_key(user_id=user.pk)), "parts": [b"STORED"]}, 60)
    assert signed_in.get("/").content == b"STORED"
    for path in ("/?tab=trending", "/?tab=for-you&page=2", "/?tab=for-you&fresh=1"):
        assert b"STORED" not in signed_in.get(path).content, path
    assert b"STORED" not in signed_in.get("/?tab=for-you", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="explore").content


def test_fresh_request_replaces_the_stored_page(signed_in, user, world, no_ranking):
    signed_in.get("/")
    before = cache.get(page_key(user_id=user.pk))["built"]
    time.sleep(0.01)
    signed_in.get("/?tab=for-you&fresh=1")
    assert cache.get(page_key(user_id=user.pk))["built"] > before


def _age(user, *, seconds: float, rendered: float | None = None, marker: str = "<!--old-->") -> dict:
    entry = cache.get(page_key(user_id=user.pk))
    old = {
        **entry,
        "built": entry["built"] - seconds,
        "rendered": entry["rendered"] - (seconds if rendered is None else rendered),
        "parts": [*entry["parts"][:-1], entry["parts"][-1] + marker.encode()],
    }
    cache.set(page_key(user_id=user.pk), old, 600)
    return old


def test_old_page_whose_inputs_did_not_change_is_kept_and_marked_current(
    signed_in, user, world, no_ranking, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    signed_in.get("/")
    old = _age(user, seconds=settings.FOR_YOU_PAGE_REFRESH_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert b"<!--old-->" in signed_in.get("/").content
    checked = cache.get(page_key(user_id=user.pk))
    assert b"<!--old-->" in stored(checked)  # not re-rendered: nothing on it changed
    assert checked["built"] > old["built"] and checked["rendered"] == old["rendered"]
    # Marked current, so the next request does not ask for another check.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        signed_in.get("/")
    assert callbacks == []


def test_old_page_is_served_once_and_rebuilt_when_the_events_changed(
    signed_in, user, world, no_ranking, settings, django_capture_on_commit_callbacks
):
    from trends.ranking.selectors import ranking_caches_invalidate

    settings.CELERY_TASK_ALWAYS_EAGER = True
    signed_in.get("/")
    old = _age(user, seconds=settings.FOR_YOU_PAGE_REFRESH_SECONDS + 1)
    world[0].title = "A new name for the story"
    world[0].save(update_fields=["title"])
    ranking_caches_invalidate()
    with django_capture_on_commit_callbacks(execute=True):
        assert b"<!--old-->" in signed_in.get("/").content  # served once while the rebuild is queued
    rebuilt = cache.get(page_key(user_id=user.pk))
    assert b"<!--old-->" not in stored(rebuilt)
    assert b"A new name for the story" in stored(rebuilt)
    assert rebuilt["rendered"] > old["rendered"]


def test_page_near_its_max_age_is_rebuilt_even_if_nothing_changed(
    signed_in, user, world, no_ranking, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    signed_in.get("/")
    _age(user, seconds=settings.FOR_YOU_PAGE_REFRESH_SECONDS + 1, rendered=settings.FOR_YOU_PAGE_MAX_AGE_SECONDS - 5)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.get("/")
    assert b"<!--old-->" not in stored(cache.get(page_key(user_id=user.pk)))


def test_cache_outage_falls_back_to_rendering(signed_in, user, world, no_ranking, monkeypatch):
    signed_in.get("/")

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", down)
    response = signed_in.get("/?tab=for-you")
    assert response.status_code == 200 and len(card_ids(response)) == len(world)


def test_page_cache_can_be_switched_off(signed_in, user, world, no_ranking, settings):
    settings.FOR_YOU_PAGE_MAX_AGE_SECONDS = 0
    signed_in.get("/")
    assert cache.get(page_key(user_id=user.pk)) is None


def test_precompute_renders_active_users_only(world, no_ranking):
    now = timezone.now()
    active = [UserFactory(last_seen_at=now - dt.timedelta(minutes=i)) for i in range(3)]
    idle = UserFactory(last_seen_at=now - dt.timedelta(days=2))
    never = UserFactory()
    out = StringIO()
    call_command("precompute_pages", stdout=out)
    report = json.loads(out.getvalue())
    assert report["pages"] == 3
    for u in active:
        assert f"@{u.username}".encode() in stored(cache.get(page_key(user_id=u.pk)))
    assert cache.get(page_key(user_id=idle.pk)) is None and cache.get(page_key(user_id=never.pk)) is None
    # A precomputed page does not count as the user being seen.
    assert type(idle).objects.get(pk=active[2].pk).last_seen_at == active[2].last_seen_at
    assert pages.pages_precompute(limit=1).pages == 1


def test_precompute_rejects_negative_arguments():
    with pytest.raises(CommandError, match="--limit must be 0 or more"):
        call_command("precompute_pages", "--limit", "-1")


def test_request_marks_the_user_seen_at_most_once_a_minute(signed_in, user, world, no_ranking):
    assert user.last_seen_at is None
    signed_in.get("/")
    user.refresh_from_db()
    first = user.last_seen_at
    assert first is not None
    signed_in.get("/?tab=for-you&fresh=1")
    user.refresh_from_db()
    assert user.last_seen_at == first


def test_hint_cookie_lets_one_cache_round_trip_serve_the_page(signed_in, user, world, no_ranking, monkeypatch):
    from trends.pages.selectors import HINT_COOKIE

    first = signed_in.get("/")
    assert HINT_COOKIE in first.cookies and first.cookies[HINT_COOKIE]["httponly"]
    calls, inside = [], []
    real_get, real_many = cache.get, cache.get_many

    def get(*args, **kwargs):
        if not inside:  # the in-memory test cache implements get_many with get
            calls.append("get")
        return real_get(*args, **kwargs)

    def get_many(*args, **kwargs):
        calls.append("get_many")
        inside.append(1)
        try:
            return real_many(*args, **kwargs)
        finally:
            inside.pop()

    monkeypatch.setattr(cache, "get", get)
    monkeypatch.setattr(cache, "get_many", get_many)
    response = signed_in.get("/")
    assert response.status_code == 200 and f"@{user.username}" in response.content.decode()
    assert calls == ["get_many"]  # session, page and both versions together
    assert response["X-Frame-Options"] == "DENY" and "HX-Request" in response["Vary"]
    assert HINT_COOKIE not in response.cookies  # already right: not set again


def test_hint_from_another_session_or_forged_is_ignored(signed_in, user, world, no_ranking, settings):
    from trends.pages.selectors import HINT_COOKIE, hint_value

    signed_in.get("/")
    other = UserFactory(username="mallory")
    client = Client()
    client.force_login(other)
    # Mallory's session with a (validly signed) hint naming the user under another session key.
    client.cookies[HINT_COOKIE] = hint_value(user_id=user.pk, session_key=signed_in.session.session_key)
    html = client.get("/").content.decode()
    assert "@mallory" in html and f"@{user.username}" not in html
    client.cookies[HINT_COOKIE] = f"{user.pk}.{client.session.session_key}:forged"
    html = client.get("/").content.decode()
    assert "@mallory" in html and f"@{user.username}" not in html


def test_logged_out_session_with_a_hint_gets_no_page(signed_in, user, world, no_ranking):
    signed_in.get("/")
    token = csrf_value(signed_in.get("/"))
    signed_in.post("/accounts/logout/", {"csrfmiddlewaretoken": token})
    html = signed_in.get("/").content.decode()
    assert f"@{user.username}" not in html and "Log in" in html


def test_an_old_page_asks_for_one_refresh_however_often_it_is_served(signed_in, user, world, no_ranking, settings, monkeypatch):
    signed_in.get("/")
    _age(user, seconds=settings.FOR_YOU_PAGE_REFRESH_SECONDS + 1)
    adds = []
    real_add = cache.add
    monkeypatch.setattr(cache, "add", lambda *a, **k: adds.append(a[0]) or real_add(*a, **k))
    for _ in range(3):
        assert b"<!--old-->" in signed_in.get("/").content
    assert adds == [f"fypage:refresh:{user.pk}"]


def test_page_tasks_have_stable_names_and_their_own_queue(user):
    from trends.pages import tasks

    assert (tasks.page_refresh.name, tasks.page_refresh.queue) == ("pages.refresh", "pages")
    assert (tasks.pages_precompute.name, tasks.pages_precompute.queue) == ("pages.precompute", "pages")
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert tasks.page_refresh.run(user.pk) is False  # a deactivated user gets no page
    assert cache.get(page_key(user_id=user.pk)) is None


def test_deleted_account_gets_no_stored_page(signed_in, user, world, no_ranking):
    signed_in.get("/")
    name = user.username
    user.delete()
    html = signed_in.get("/").content.decode()
    assert f"@{name}" not in html and "Log in" in html


# --- the middleware runs first in the stack: it must answer exactly as the full stack would --------


def _mark_stored(user, marker: bytes = b"<!--from-the-store-->") -> None:
    entry = cache.get(page_key(user_id=user.pk))
    cache.set(page_key(user_id=user.pk), {**entry, "parts": [*entry["parts"][:-1], entry["parts"][-1] + marker]}, 60)


def test_stored_page_carries_the_same_headers_and_cookies_as_the_rendered_one(signed_in, user, world, no_ranking):
    from django.middleware.csrf import _unmask_cipher_token

    rendered = signed_in.get("/")
    _mark_stored(user)
    served = signed_in.get("/")
    assert b"<!--from-the-store-->" in served.content and b"<!--from-the-store-->" not in rendered.content
    for header in ("Content-Type", "Cache-Control", "X-Frame-Options", "X-Content-Type-Options",
                   "Referrer-Policy", "Cross-Origin-Opener-Policy"):
        assert served[header] == rendered[header], header
    assert set(served["Vary"].replace(" ", "").split(",")) == set(rendered["Vary"].replace(" ", "").split(","))
    assert int(served["Content-Length"]) == len(served.content)
    # The browser's CSRF cookie is kept as it is (its secret is what the page's token masks).
    assert "csrftoken" not in served.cookies
    assert _unmask_cipher_token(csrf_value(served)) == signed_in.cookies["csrftoken"].value


def test_stored_page_sends_hsts_on_https_like_the_full_stack(signed_in, user, world, no_ranking, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    signed_in.get("/", secure=True)
    _mark_stored(user)
    served = signed_in.get("/", secure=True)
    assert b"<!--from-the-store-->" in served.content
    assert served["Strict-Transport-Security"].startswith("max-age=3600")


def test_ssl_redirect_and_disallowed_hosts_are_left_to_the_full_stack(signed_in, user, world, no_ranking, settings):
    signed_in.get("/")
    _mark_stored(user)
    settings.SECURE_SSL_REDIRECT = True
    redirected = Client()  # middleware reads these settings when it is built
    redirected.cookies = signed_in.cookies
    response = redirected.get("/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    assert b"<!--from-the-store-->" in redirected.get("/", secure=True).content
    assert signed_in.get("/", HTTP_HOST="evil.example").status_code == 400


def test_stored_page_without_a_csrf_cookie_sets_one_whose_token_is_accepted(signed_in, user, world, no_ranking):
    rendered = signed_in.get("/")
    _mark_stored(user)
    del signed_in.cookies["csrftoken"]
    served = signed_in.get("/")
    assert b"<!--from-the-store-->" in served.content
    assert len(served.cookies["csrftoken"].value) == 32
    for attr in ("max-age", "path", "samesite", "secure", "httponly", "domain"):  # as Django sets it
        assert served.cookies["csrftoken"][attr] == rendered.cookies["csrftoken"][attr], attr
    response = signed_in.post(
        f"/events/{world[0].pk}/dismiss/", {"csrfmiddlewaretoken": csrf_value(served), "surface": "for_you", "next": "/"}
    )
    assert response.status_code == 302


def test_malformed_csrf_cookie_is_left_to_django_to_replace(signed_in, user, world, no_ranking):
    signed_in.get("/")
    _mark_stored(user)
    signed_in.cookies["csrftoken"] = "not-a-valid-secret!"
    response = signed_in.get("/")
    assert b"<!--from-the-store-->" not in response.content  # the full stack answered
    assert len(response.cookies["csrftoken"].value) == 32


def test_stored_page_without_the_hint_is_served_with_no_query_and_sets_the_hint(
    signed_in, user, world, no_ranking, django_assert_num_queries
):
    from trends.pages.selectors import HINT_COOKIE

    signed_in.get("/")
    _mark_stored(user)
    del signed_in.cookies[HINT_COOKIE]
    with django_assert_num_queries(0):  # the session comes from the cache (cached_db)
        served = signed_in.get("/")
    assert b"<!--from-the-store-->" in served.content
    assert served.cookies[HINT_COOKIE].value and served.cookies[HINT_COOKIE]["httponly"]


def test_database_sessions_work_on_the_stored_path_too(user, world, no_ranking, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    client = Client()
    client.force_login(user)
    client.get("/")
    _mark_stored(user)
    assert b"<!--from-the-store-->" in client.get("/").content
    client.logout()
    assert b"<!--from-the-store-->" not in client.get("/").content


def test_csrf_mask_matches_djangos_format_and_is_fresh_each_time():
    from django.middleware.csrf import CSRF_ALLOWED_CHARS, _unmask_cipher_token
    from django.utils.crypto import get_random_string

    from trends.pages.selectors import csrf_mask

    secret = get_random_string(32, CSRF_ALLOWED_CHARS)
    tokens = {csrf_mask(secret) for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) == 64 and set(token) <= set(CSRF_ALLOWED_CHARS)
        assert _unmask_cipher_token(token) == secret
    # Every character is used as a mask character (no byte value is mapped out of the alphabet).
    assert set("".join(t[:32] for t in tokens)) == set(CSRF_ALLOWED_CHARS)


# --- the API's first For You page comes from the same build ---------------------------------------


def _api_client(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _summary(response) -> list[tuple]:
    return [(r["position"], r["event"]["id"], r["explanation"], r["variant"]) for r in response.json()["results"]]


def test_api_first_page_is_served_from_the_page_build_as_the_ranker_would(
    signed_in, user, world, django_assert_max_num_queries
):
    from trends.pages.selectors import api_key

    api = _api_client(user)
    ranked = api.get("/api/v1/explore/for-you")  # nothing stored yet: ranked for this request
    assert ranked.status_code == 200 and ranked.json()["results"]
    signed_in.get("/")  # the site page build stores the API's first page too
    assert cache.get(api_key(user_id=user.pk)) is not None
    with django_assert_max_num_queries(0):  # the token is cached too: no query at all
        stored = api.get("/api/v1/explore/for-you")
    assert stored.status_code == 200
    assert _summary(stored) == _summary(ranked)
    assert stored.json()["next"] == ranked.json()["next"] and stored.json()["previous"] is None
    assert stored["ETag"] == ranked["ETag"]
    assert api.get("/api/v1/explore/for-you", HTTP_IF_NONE_MATCH=stored["ETag"]).status_code == 304
    # The same answer as DRF renders it: keys, encoding, headers.
    assert list(stored.json()) == list(ranked.json()) == ["next", "previous", "results"]
    for mine, theirs in zip(stored.json()["results"], ranked.json()["results"], strict=True):
        assert list(mine) == list(theirs) and mine["event"] == theirs["event"]  # scores drift with time
    for header in ("Content-Type", "Vary", "Cache-Control", "Allow", "X-Frame-Options", "Last-Modified"):
        assert stored.get(header) == ranked.get(header), header
    assert stored.content.startswith(b'{"next":') and b'"previous":null,"results":[' in stored.content


def test_api_stored_page_only_answers_the_plain_first_page_and_goes_stale_with_the_user(
    signed_in, user, world
):
    from trends.pages.selectors import api_key

    api = _api_client(user)
    signed_in.get("/")
    entry = cache.get(api_key(user_id=user.pk))
    marked = json.dumps([{**r, "explanation": "FROM-THE-STORE"} for r in json.loads(entry["results_json"])]).encode()
    cache.set(api_key(user_id=user.pk), {**entry, "results_json": marked}, 60)
    assert {r["explanation"] for r in api.get("/api/v1/explore/for-you").json()["results"]} == {"FROM-THE-STORE"}
    for query in ("?category=news", "?limit=3", f"?cursor={api.get('/api/v1/explore/for-you').json()['next'] or 'x'}"):
        response = api.get(f"/api/v1/explore/for-you{query}")
        assert "FROM-THE-STORE" not in response.content.decode(), query
    # Another user never gets it, and the user's own dismissal makes it stale at once.
    other = _api_client(UserFactory(username="someone_else"))
    assert "FROM-THE-STORE" not in other.get("/api/v1/explore/for-you").content.decode()
    signed_in.post(f"/events/{world[0].pk}/dismiss/", {"csrfmiddlewaretoken": csrf_value(signed_in.get("/?tab=trending"))})
    assert "FROM-THE-STORE" not in api.get("/api/v1/explore/for-you").content.decode()


def test_an_api_only_reader_gets_their_first_page_stored_by_the_api(user, world, django_assert_max_num_queries):
    from trends.pages.selectors import api_key

    api = _api_client(user)
    assert cache.get(api_key(user_id=user.pk)) is None
    ranked = api.get("/api/v1/explore/for-you")  # no site visit: ranked here, and stored
    assert ranked.status_code == 200 and ranked.json()["results"]
    assert cache.get(api_key(user_id=user.pk)) is not None
    user.refresh_from_db()
    assert user.last_seen_at is not None  # active: the precompute pass keeps the page current
    with django_assert_max_num_queries(0):
        stored = api.get("/api/v1/explore/for-you")
    assert _summary(stored) == _summary(ranked) and stored["ETag"] == ranked["ETag"]
    assert stored.json()["next"] == ranked.json()["next"]


@pytest.mark.parametrize("query", ["?category=news", "?limit=3", "?cursor="])
def test_other_api_pages_are_not_stored_as_the_first_page(user, world, query):
    from trends.api.pagination import encode_offset
    from trends.pages.selectors import api_key

    query += encode_offset(20) if query == "?cursor=" else ""
    response = _api_client(user).get(f"/api/v1/explore/for-you{query}")
    assert response.status_code == 200
    assert cache.get(api_key(user_id=user.pk)) is None


def test_an_api_page_ranked_before_an_invalidation_is_not_served_after_it(user, world, monkeypatch):
    from trends import site as site_module
    from trends.api import feeds
    from trends.pages.selectors import api_key

    real = feeds.for_you

    def rank_then_dismiss(**kw):
        items = real(**kw)
        site_module.feed_invalidate_id(user_id=user.pk)  # the reader dismissed something meanwhile
        return items

    monkeypatch.setattr(feeds, "for_you", rank_then_dismiss)
    api = _api_client(user)
    api.get("/api/v1/explore/for-you")
    assert cache.get(api_key(user_id=user.pk)) is not None  # stored, under the versions read before
    calls = []
    monkeypatch.setattr(feeds, "for_you", lambda **kw: calls.append(kw) or real(**kw))
    api.get("/api/v1/explore/for-you")
    assert len(calls) == 1  # stale: ranked again rather than served
