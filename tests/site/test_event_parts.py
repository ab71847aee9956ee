"""The event page's shared parts are computed once per event state (trends.site.event_page_parts)."""

import pytest

from trends import site

pytestmark = pytest.mark.django_db


def test_event_page_parts_are_shared_until_the_event_changes(client, world, monkeypatch, django_assert_max_num_queries):
    event = world[0]
    calls = []
    real = site.event_related
    monkeypatch.setattr(site, "event_related", lambda **kw: calls.append(kw["event"].pk) or real(**kw))
    first = client.get(f"/events/{event.pk}/")
    assert first.status_code == 200 and calls == [event.pk]
    with django_assert_max_num_queries(4):  # the event and its first page of posts only
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
