"""The event page's shared parts are computed once per event state (trends.site.event_page_parts)."""

import pytest

from trends import site

pytestmark = pytest.mark.django_db


def test_event_page_parts_are_shared_until_the_event_changes(client, user, world, monkeypatch, django_assert_max_num_queries):
    client.force_login(user)  # signed in: the page itself is rendered per request, only its parts are shared
    event = world[0]
    calls = []
    real = site.event_related
    monkeypatch.setattr(site, "event_related", lambda **kw: calls.append(kw["event"].pk) or real(**kw))
    first = client.get(f"/events/{event.pk}/")
    assert first.status_code == 200 and calls == [event.pk]
    with django_assert_max_num_queries(6):  # session, user, the event and its first page of posts
        second = client.get(f"/events/{event.pk}/")
    assert calls == [event.pk]
    assert second.content.count(b'class="spark') == first.content.count(b'class="spark')
    event.version += 1  # a curator changed it
    event.save(update_fields=["version"])
    client.get(f"/events/{event.pk}/")
    assert calls == [event.pk, event.pk]


def test_parts_survive_the_cache_round_trip_with_their_rows(world):
    import pickle

    event = world[1]
    parts = site.event_page_parts(event=event)
    assert parts["representatives"] and parts["sparkline"] is not None
    copy = pickle.loads(pickle.dumps(parts))  # what the cache does (on PostgreSQL rows carry memoryviews)
    assert [t.pk for t in copy["representatives"]] == [t.pk for t in parts["representatives"]]
    assert [t.author.username for t in copy["representatives"]] == [t.author.username for t in parts["representatives"]]
    assert [e.pk for e, _ in copy["related"]] == [e.pk for e, _ in parts["related"]]
    assert copy["sparkline"] == parts["sparkline"]


def test_anonymous_event_page_is_stored_and_served_without_queries(client, world, django_assert_num_queries):
    event = world[0]
    first = client.get(f"/events/{event.pk}/")
    assert first.status_code == 200
    with django_assert_num_queries(0):
        second = client.get(f"/events/{event.pk}/")
    assert second.status_code == 200
    assert second.content.count(b"<article") == first.content.count(b"<article")
    assert b"<page-csrf" not in second.content and "Cookie" in second["Vary"]
    assert second["X-Frame-Options"] == "DENY"
    # Other orders and pages are rendered as usual.
    assert client.get(f"/events/{event.pk}/?order=latest").status_code == 200


def test_stored_event_page_is_dropped_by_a_curation_change(client, world, curator, django_capture_on_commit_callbacks):
    from trends.curation import services as curation

    event = world[1]
    assert client.get(f"/events/{event.pk}/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        curation.event_hide(actor=curator, event=event, reason="abuse")
    assert client.get(f"/events/{event.pk}/").status_code == 404


def test_signed_in_readers_never_get_the_stored_anonymous_page(client, user, world):
    event = world[2]
    client.get(f"/events/{event.pk}/")  # stores the anonymous page
    client.force_login(user)
    html = client.get(f"/events/{event.pk}/").content.decode()
    assert f"@{user.username}" in html and "Log in" not in html
