"""Pages every visitor without a session sees alike (Explore tabs, event pages) are stored once for all
of them, re-rendered by one visitor at a time once they age, and dropped at once by curation."""

import re
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from trends import site
from trends.pages.selectors import event_page_key, tab_page_key

pytestmark = pytest.mark.django_db


def card_ids(response) -> list[int]:
    return [int(m) for m in re.findall(r'<li class="card" id="event-(\d+)"', response.content.decode())]


def age(key: str, seconds: float) -> None:
    entry = cache.get(key)
    entry["built"] -= seconds
    cache.set(key, entry, 300)


@pytest.fixture
def renders(monkeypatch):
    """Counts Explore home renders (the tab context is built once per render)."""
    calls = []
    real = site.explore_context
    monkeypatch.setattr(site, "explore_context", lambda **kw: calls.append(kw["tab"]) or real(**kw))
    return calls


@pytest.mark.parametrize("path,query", [("/", ""), ("/?tab=trending", "tab=trending"), ("/?tab=news", "tab=news")])
def test_anonymous_tab_is_stored_and_served_without_queries(client, world, no_ranking, renders,
                                                           django_assert_num_queries, path, query):
    first = client.get(path)
    assert first.status_code == 200 and renders == [first.context["tab"]]
    assert cache.get(tab_page_key(query=query)) is not None
    with django_assert_num_queries(0):
        second = Client().get(path)
    assert renders == [first.context["tab"]]
    assert card_ids(second) == card_ids(first) and card_ids(first)
    assert b"<page-csrf" not in second.content and "Cookie" in second["Vary"]
    assert second["X-Frame-Options"] == "DENY" and second["Cache-Control"] == "private"
    # Each visitor gets a CSRF cookie and a token masked afresh, as on a rendered page.
    assert second.cookies["csrftoken"].value
    tokens = re.findall(rb'"X-CSRFToken": "([^"]+)"', second.content + Client().get(path).content)
    assert len(tokens) == 2 and tokens[0] != tokens[1]


@pytest.mark.parametrize("path", ["/?page=2", "/?scope=all", "/?tab=for-you", "/?tab=trending&x=1"])
def test_other_queries_are_rendered_per_request(client, world, no_ranking, renders, path):
    client.get(path)
    Client().get(path)
    assert len(renders) == 2
    assert cache.get(tab_page_key(query=path[2:])) is None


def test_signed_in_readers_and_htmx_never_get_the_stored_tab(client, user, world, no_ranking):
    Client().get("/?tab=trending")  # stores the anonymous page
    client.force_login(user)
    html = client.get("/?tab=trending").content.decode()
    assert f"@{user.username}" in html and "Log in" not in html
    partial = Client().get("/?tab=trending", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="explore")
    assert b"<html" not in partial.content


def test_stale_page_is_rerendered_by_one_visitor_while_the_others_get_it(settings, world, no_ranking, renders,
                                                                      django_assert_num_queries):
    settings.SHARED_PAGE_FRESH_SECONDS, settings.SHARED_PAGE_STALE_SECONDS = 30, 90
    Client().get("/")
    assert renders == ["trending"]
    age(tab_page_key(query=""), 40)  # past fresh, within the grace
    first = Client().get("/")  # claims the renewal and renders
    assert renders == ["trending", "trending"] and first.status_code == 200
    age(tab_page_key(query=""), 40)
    # The renewal is still claimed (the renderer is "still working"): others get the stored copy.
    with django_assert_num_queries(0):
        assert Client().get("/").status_code == 200
    assert len(renders) == 2
    age(tab_page_key(query=""), 200)  # past the grace: nobody gets it any more
    Client().get("/")
    assert len(renders) == 3


def test_stored_tab_is_dropped_by_a_curation_change(world, no_ranking, curator, django_capture_on_commit_callbacks):
    from trends.curation import services as curation

    hidden = world[0]
    assert hidden.pk in card_ids(Client().get("/"))
    with django_capture_on_commit_callbacks(execute=True):
        curation.event_hide(actor=curator, event=hidden, reason="abuse")
    assert hidden.pk not in card_ids(Client().get("/"))


def test_stale_event_page_follows_the_same_rule(settings, world, django_assert_num_queries):
    settings.SHARED_PAGE_FRESH_SECONDS, settings.SHARED_PAGE_STALE_SECONDS = 30, 90
    event = world[0]
    Client().get(f"/events/{event.pk}/")
    with django_assert_num_queries(0):
        Client().get(f"/events/{event.pk}/")
    age(event_page_key(event_id=event.pk), 40)
    with CaptureQueriesContext(connection) as rendered:
        renderer = Client().get(f"/events/{event.pk}/")  # claims the renewal: renders afresh
    assert renderer.status_code == 200 and rendered.captured_queries
    assert time.time() - cache.get(event_page_key(event_id=event.pk))["built"] < 5
    age(event_page_key(event_id=event.pk), 40)
    with django_assert_num_queries(0):
        assert Client().get(f"/events/{event.pk}/").status_code == 200
