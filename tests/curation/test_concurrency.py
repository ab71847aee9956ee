"""Merge and split while a clustering worker writes to the same events.

The worker here follows the pipeline's locking protocol: it locks the event row (select_for_update;
on SQLite a first write takes the database lock), adds its membership, recounts, bumps the version,
and if the event was merged meanwhile it follows `merged_into`. These tests use real transactions on
separate connections (threads), so on PostgreSQL they exercise row locks, on SQLite the write lock.
A timer only orders the steps; every assertion is about the rows, never about time.
"""

import threading

import pytest
from django.db import connection, transaction
from django.db.models import Count, F

from tests.curation.conftest import make_event
from tests.factories import TweetFactory, UserFactory
from trends.curation import services
from trends.curation.roles import CURATOR_GROUP, roles_ensure
from trends.models import Event, EventMembership, EventState
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def curator_tx(transactional_db):
    from django.contrib.auth.models import Group

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # Shared-cache in-memory SQLite answers a second writer with "table is locked" at once
        # instead of waiting, so there is no concurrency to test; a SQLite file or PostgreSQL has it.
        pytest.skip("needs a file-backed SQLite or PostgreSQL test database (CI runs these on PostgreSQL)")

    roles_ensure()
    user = UserFactory(username="concurrent_carla")
    user.groups.add(Group.objects.get(name=CURATOR_GROUP))
    return User.objects.get(pk=user.pk)


def lock_event_for_write(event_id: int) -> Event:
    if not connection.features.has_select_for_update:
        Event.objects.filter(pk=event_id).update(version=F("version"))
    return Event.objects.select_for_update().get(pk=event_id)


def worker_assign(tweet, event_id: int, *, hold: threading.Event | None = None, locked: threading.Event | None = None):
    """What a clustering worker does for one post, in its own transaction and connection."""
    try:
        with transaction.atomic():
            event = lock_event_for_write(event_id)
            while event.state == EventState.MERGED:  # merged meanwhile: the post belongs to the survivor
                event = lock_event_for_write(event.merged_into_id)
            EventMembership.objects.create(
                tweet=tweet, event=event, similarity=0.8, tweet_created_at=tweet.created_at, author_id=tweet.author_id
            )
            stats = EventMembership.objects.filter(event=event).aggregate(
                n=Count("tweet"), authors=Count("author_id", distinct=True)
            )
            Event.objects.filter(pk=event.pk).update(
                tweet_count=stats["n"], author_count=stats["authors"], version=F("version") + 1
            )
            if locked is not None:
                locked.set()
            if hold is not None:
                hold.wait(timeout=10)
    finally:
        connection.close()


def run_in_thread(fn, *args, **kwargs):
    errors = []

    def target():
        try:
            fn(*args, **kwargs)
        except BaseException as exc:  # surfaced by the caller
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, errors


def assert_invariants(*events, expected_posts: set[int]):
    placed = list(EventMembership.objects.filter(tweet_id__in=expected_posts).values_list("tweet_id", flat=True))
    assert sorted(placed) == sorted(expected_posts)  # none lost, none duplicated
    for event in events:
        event.refresh_from_db()
        rows = EventMembership.objects.filter(event=event)
        assert event.tweet_count == rows.count()
        assert event.author_count == rows.values("author_id").distinct().count()
        if event.state == EventState.MERGED:
            assert rows.count() == 0


def test_merge_waits_for_a_worker_that_holds_the_source(curator_tx):
    source, source_tweets = make_event(posts=3)
    target, target_tweets = make_event(posts=2)
    late = TweetFactory()
    locked, hold = threading.Event(), threading.Event()
    worker, errors = run_in_thread(worker_assign, late, source.pk, hold=hold, locked=locked)
    assert locked.wait(timeout=10)
    # The worker holds the source row with an uncommitted new member. Release it a moment after
    # the merge has started waiting; a merge that did not lock would miss that member.
    threading.Timer(0.5, hold.set).start()
    services.event_merge(actor=curator_tx, source=source, target=target)
    worker.join(timeout=30)
    assert not errors
    everything = {t.pk for t in source_tweets + target_tweets} | {late.pk}
    assert_invariants(source, target, expected_posts=everything)
    assert set(EventMembership.objects.filter(event=target).values_list("tweet_id", flat=True)) == everything
    assert target.tweet_count == 6


def test_worker_waits_for_a_merge_and_follows_it(curator_tx, monkeypatch):
    source, source_tweets = make_event(posts=3)
    target, target_tweets = make_event(posts=2)
    late = TweetFactory()
    inside_merge, let_merge_finish = threading.Event(), threading.Event()
    original = services._buckets_add

    def slow_buckets_add(src, dst):  # pause inside the merge transaction, locks held
        original(src, dst)
        inside_merge.set()
        let_merge_finish.wait(timeout=10)

    monkeypatch.setattr(services, "_buckets_add", slow_buckets_add)
    merger, merge_errors = run_in_thread(services.event_merge, actor=curator_tx, source=source.pk, target=target.pk)
    assert inside_merge.wait(timeout=10)
    worker, worker_errors = run_in_thread(worker_assign, late, source.pk)
    threading.Timer(0.5, let_merge_finish.set).start()
    merger.join(timeout=30)
    worker.join(timeout=30)
    assert not merge_errors and not worker_errors
    everything = {t.pk for t in source_tweets + target_tweets} | {late.pk}
    assert_invariants(source, target, expected_posts=everything)
    assert EventMembership.objects.get(tweet=late).event_id == target.pk
    assert target.tweet_count == 6


def test_split_while_a_worker_adds_to_the_event(curator_tx):
    event, tweets = make_event(posts=5)
    late = TweetFactory()
    locked, hold = threading.Event(), threading.Event()
    worker, errors = run_in_thread(worker_assign, late, event.pk, hold=hold, locked=locked)
    assert locked.wait(timeout=10)
    threading.Timer(0.5, hold.set).start()
    new = services.event_split(actor=curator_tx, event=event, tweet_ids=[tweets[0].pk, tweets[1].pk])
    worker.join(timeout=30)
    assert not errors
    assert_invariants(event, new, expected_posts={t.pk for t in tweets} | {late.pk})
    assert (event.tweet_count, new.tweet_count) == (4, 2)
    assert EventMembership.objects.get(tweet=late).event_id == event.pk


def test_two_curators_merging_crosswise_do_not_deadlock(curator_tx):
    a, a_tweets = make_event(posts=2)
    b, b_tweets = make_event(posts=2)
    first, first_errors = run_in_thread(services.event_merge, actor=curator_tx, source=a.pk, target=b.pk)
    second, second_errors = run_in_thread(services.event_merge, actor=curator_tx, source=b.pk, target=a.pk)
    first.join(timeout=60)
    second.join(timeout=60)
    errors = first_errors + second_errors
    # Locks are taken in id order, so one merge waits for the other and then finds it already merged.
    assert len(errors) == 1 and "already merged" in str(errors[0])
    survivor = Event.objects.exclude(state=EventState.MERGED).get(pk__in=[a.pk, b.pk])
    assert_invariants(a, b, expected_posts={t.pk for t in a_tweets + b_tweets})
    survivor.refresh_from_db()
    assert survivor.tweet_count == 4
