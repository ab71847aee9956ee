"""The COPY write helpers (trends/pgcopy.py): values arrive exactly as given."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import TweetFactory
from trends.models import Event, EventBucket, EventMembership, Tweet
from trends.pgcopy import insert_new_rows, insert_new_tuples, insert_or_add, update_rows

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL only"),
]


def test_insert_new_rows_round_trips_awkward_values_and_skips_existing_ids():
    now = timezone.now()
    text = "tab\there, newline\nthere, backslash \\ and \\N, quote ' \" and ünïcode ✓"
    row = {"id": 9_000_000_001, "text": text, "created_at": now, "ingested_at": now, "hashtags": ["a", "ü"],
           "mentions": [], "urls": ["http://x.y/\\t"], "domains": ["x.y"], "embedding": b"\x00\x01\\\xff",
           "lang": "en", "simhash": -(2**63), "reply_to_id": None, "is_deleted": False}
    assert insert_new_rows(Tweet, [row]) == [row["id"]]
    assert insert_new_rows(Tweet, [row]) == []  # idempotent on the primary key
    t = Tweet.objects.get(pk=row["id"])
    assert t.text == text and t.created_at == now and t.hashtags == ["a", "ü"]
    assert bytes(t.embedding) == b"\x00\x01\\\xff" and t.simhash == -(2**63) and t.reply_to_id is None
    assert t.urls == ["http://x.y/\\t"] and t.is_deleted is False and t.pipeline_state == 0


def test_update_rows_writes_only_rows_that_pass_the_guard():
    a, b = TweetFactory(), TweetFactory()
    Tweet.objects.filter(pk=b.pk).update(pipeline_state=2)
    n = update_rows(Tweet, ("embedding", "pipeline_state"), [(a.pk, b"\x01\x02", 1), (b.pk, b"\x03", 1)],
                    where="t.pipeline_state = 0")
    assert n == 1
    assert bytes(Tweet.objects.get(pk=a.pk).embedding) == b"\x01\x02"
    assert Tweet.objects.get(pk=b.pk).embedding is None and Tweet.objects.get(pk=b.pk).pipeline_state == 2


def test_insert_or_add_inserts_new_keys_and_adds_to_existing_ones():
    now = timezone.now().replace(microsecond=0)
    event = Event.objects.create(first_seen_at=now, last_seen_at=now)
    hour = now - dt.timedelta(hours=1)
    EventBucket.objects.create(event=event, start=hour, tweets=3, new_authors=2)
    insert_or_add(EventBucket, ("event", "start"), ("tweets", "new_authors"),
                  [(event.pk, hour, 4, 1), (event.pk, now, 5, 5)])
    got = dict(EventBucket.objects.filter(event=event).values_list("start", "tweets"))
    assert got == {hour: 7, now: 5}
    assert EventBucket.objects.get(event=event, start=hour).new_authors == 3


def test_insert_new_tuples_is_insert_new_rows_with_tuples():
    now = timezone.now()
    text = "tab\there, newline\nthere, backslash \\ and \\N ✓"
    names = ("id", "text", "created_at", "ingested_at", "embedding", "simhash")
    row = (9_000_000_002, text, now, now, b"\x00\\\xff", -(2**63))
    assert insert_new_tuples(Tweet, names, [row]) == [row[0]]
    assert insert_new_tuples(Tweet, names, [row]) == []  # idempotent on the primary key
    t = Tweet.objects.get(pk=row[0])
    # Fields not named get their defaults, as insert_new_rows gives them.
    insert_new_rows(Tweet, [dict(zip(names, (9_000_000_003, *row[1:]), strict=True))])
    u = Tweet.objects.get(pk=9_000_000_003)
    for field in Tweet._meta.concrete_fields:
        if field.attname != "id":
            assert getattr(t, field.attname) == getattr(u, field.attname), field.attname
    assert t.text == text and t.pipeline_state == 0 and bytes(t.embedding) == b"\x00\\\xff"

    event = Event.objects.create(first_seen_at=now, last_seen_at=now)
    columns = ("tweet_id", "event_id", "similarity", "assigned_at", "tweet_created_at", "author_id")
    assert insert_new_tuples(EventMembership, columns, [(t.pk, event.pk, 0.25, now, now, None)]) == [t.pk]
    assert insert_new_tuples(EventMembership, columns, [(t.pk, event.pk, 0.5, now, now, 7)]) == []
    m = EventMembership.objects.get(tweet_id=t.pk)
    assert (m.event_id, m.similarity, m.author_id) == (event.pk, 0.25, None)
