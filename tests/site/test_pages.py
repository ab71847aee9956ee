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


def csrf_value(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


@pytest.fixture
def curator(db):
    from django.contrib.auth.models import Group

    from trends.curation.roles import CURATOR_GROUP, roles_ensure

    roles_ensure()
    person = UserFactory(username="carla_curator")
    person.groups.add(Group.objects.get(name=CURATOR_GROUP))
    return type(person).objects.get(pk=person.pk)


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
    cache.set(page_key(user_id=user.pk), {**cache.get(page_key(user_id=user.pk)), "html": b"STORED"}, 60)
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
        "html": entry["html"] + marker.encode(),
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
    assert b"<!--old-->" in checked["html"]  # not re-rendered: nothing on it changed
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
    assert b"<!--old-->" not in rebuilt["html"]
    assert b"A new name for the story" in rebuilt["html"]
    assert rebuilt["rendered"] > old["rendered"]


def test_page_near_its_max_age_is_rebuilt_even_if_nothing_changed(
    signed_in, user, world, no_ranking, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    signed_in.get("/")
    _age(user, seconds=settings.FOR_YOU_PAGE_REFRESH_SECONDS + 1, rendered=settings.FOR_YOU_PAGE_MAX_AGE_SECONDS - 5)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.get("/")
    assert b"<!--old-->" not in cache.get(page_key(user_id=user.pk))["html"]


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
        assert f"@{u.username}".encode() in cache.get(page_key(user_id=u.pk))["html"]
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
