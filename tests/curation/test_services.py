"""Curation services: each action, its audit entry, its permission, and its invariants."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tests.curation.conftest import make_event, member_ids
from tests.factories import EventFactory, TweetFactory, UserFactory
from trends.curation import selectors, services
from trends.models import (
    AuditLogEntry,
    BlockRule,
    Event,
    EventBucket,
    EventLink,
    EventMembership,
    EventSnapshot,
    EventState,
    ReviewStatus,
)
from users.models import User

pytestmark = pytest.mark.django_db


def last_entry(action):
    return AuditLogEntry.objects.filter(action=action).order_by("-pk").first()


# --- review ---------------------------------------------------------------------------------------


def test_approve_many_at_once_and_audit_each(curator):
    events = [EventFactory(review_status=ReviewStatus.PENDING) for _ in range(3)]
    changed = services.event_approve(actor=curator, event_ids=[e.pk for e in events])
    assert {e.pk for e in changed} == {e.pk for e in events}
    for event in events:
        event.refresh_from_db()
        assert event.review_status == ReviewStatus.APPROVED
        assert event.reviewed_by == curator
        assert event.version == 1
    entries = AuditLogEntry.objects.filter(action="event.approve")
    assert entries.count() == 3
    entry = entries.get(target_id=str(events[0].pk))
    assert entry.actor == curator
    assert entry.before["review_status"] == "pending"
    assert entry.after["review_status"] == "approved"


def test_reject_hides_from_public(curator):
    event = EventFactory(review_status=ReviewStatus.PENDING)
    services.event_reject(actor=curator, event_ids=[event.pk], reason="spam")
    event.refresh_from_db()
    assert event.review_status == ReviewStatus.REJECTED
    from trends.selectors import event_public_queryset

    assert not event_public_queryset().filter(pk=event.pk).exists()
    assert last_entry("event.reject").reason == "spam"


def test_review_requires_permission(plain_user):
    event = EventFactory(review_status=ReviewStatus.PENDING)
    with pytest.raises(PermissionDenied):
        services.event_approve(actor=plain_user, event_ids=[event.pk])
    event.refresh_from_db()
    assert event.review_status == ReviewStatus.PENDING
    assert not AuditLogEntry.objects.exists()


# --- editing --------------------------------------------------------------------------------------


def test_rename_locks_title_and_audits(curator):
    event = EventFactory(title="#quake #news")
    updated = services.event_rename(actor=curator, event=event, title="  Earthquake   in Chile ", expected_version=0)
    assert updated.title == "Earthquake in Chile"
    assert updated.title_locked
    entry = last_entry("event.rename")
    assert entry.before == {"title": "#quake #news", "title_locked": False}
    assert entry.after == {"title": "Earthquake in Chile", "title_locked": True}


def test_rename_with_stale_version_is_refused(curator):
    event = EventFactory(title="Old")
    services.event_rename(actor=curator, event=event, title="Someone else's title")
    with pytest.raises(services.EditConflict, match="changed meanwhile"):
        services.event_rename(actor=curator, event=event, title="Mine", expected_version=0, seen_values={"title": "Old"})
    event.refresh_from_db()
    assert event.title == "Someone else's title"


def test_version_bump_by_pipeline_alone_is_not_a_conflict(curator):
    event = EventFactory(title="Old")
    Event.objects.filter(pk=event.pk).update(version=5, tweet_count=99)  # a worker added posts
    updated = services.event_rename(actor=curator, event=event, title="New", expected_version=0, seen_values={"title": "Old"})
    assert updated.title == "New"
    assert updated.version == 6


def test_summary_category_representatives(curator):
    event, tweets = make_event(posts=4)
    services.event_set_summary(actor=curator, event=event, summary="A strong quake hit.")
    services.event_set_category(actor=curator, event=event, category="science")
    services.event_set_representatives(actor=curator, event=event, tweet_ids=[tweets[2].pk, tweets[0].pk])
    event.refresh_from_db()
    assert (event.summary, event.summary_locked) == ("A strong quake hit.", True)
    assert (event.category, event.category_locked) == ("science", True)
    assert event.representative_tweet_ids == [tweets[2].pk, tweets[0].pk]
    assert event.representatives_locked
    for action in ("event.summary", "event.category", "event.representatives"):
        assert last_entry(action).actor == curator
    with pytest.raises(ValidationError):
        services.event_set_category(actor=curator, event=event, category="gossip")
    stranger = TweetFactory()
    with pytest.raises(ValidationError, match="Not posts"):
        services.event_set_representatives(actor=curator, event=event, tweet_ids=[stranger.pk])


def test_pin_displaces_previous_occupant_and_unpin(curator):
    until = timezone.now() + dt.timedelta(hours=3)
    first, second = EventFactory(), EventFactory()
    services.event_pin(actor=curator, event=first, slot=1, until=until)
    services.event_pin(actor=curator, event=second, slot=1, until=until)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.pinned_slot is None
    assert second.pinned_slot == 1
    assert last_entry("event.unpin").reason == f"displaced by event #{second.pk}"
    assert [e.pk for e in selectors.event_pinned()] == [second.pk]
    services.event_unpin(actor=curator, event=second)
    second.refresh_from_db()
    assert second.pinned_slot is None and second.pinned_until is None


@pytest.mark.parametrize(
    "slot,hours,message",
    [(0, 1, "slot"), (99, 1, "slot"), (1, -1, "future"), (1, 24 * 40, "at most")],
)
def test_pin_validation(curator, slot, hours, message):
    event = EventFactory()
    with pytest.raises(ValidationError, match=message):
        services.event_pin(actor=curator, event=event, slot=slot, until=timezone.now() + dt.timedelta(hours=hours))


def test_pending_event_cannot_be_pinned(curator):
    event = EventFactory(review_status=ReviewStatus.PENDING)
    with pytest.raises(ValidationError, match="approve"):
        services.event_pin(actor=curator, event=event, slot=1, until=timezone.now() + dt.timedelta(hours=1))


def test_hide_needs_reason_and_unhide(curator):
    event = EventFactory()
    with pytest.raises(ValidationError):
        services.event_hide(actor=curator, event=event, reason="   ")
    services.event_hide(actor=curator, event=event, reason="Graphic content")
    event.refresh_from_db()
    assert event.hidden and event.hidden_reason == "Graphic content"
    services.event_unhide(actor=curator, event=event)
    event.refresh_from_db()
    assert not event.hidden and event.hidden_reason == ""
    assert last_entry("event.hide").after == {"hidden": True, "hidden_reason": "Graphic content"}
    assert last_entry("event.unhide").before == {"hidden": True, "hidden_reason": "Graphic content"}


# --- merge and split ------------------------------------------------------------------------------


def test_merge_moves_every_post_and_recomputes(curator):
    source, source_tweets = make_event(posts=5, authors=3, direction=0)
    target, target_tweets = make_event(posts=3, authors=3, direction=1)
    start = timezone.now().replace(second=0, microsecond=0)
    EventBucket.objects.create(event=source, start=start, tweets=5, new_authors=3)
    EventBucket.objects.create(event=target, start=start, tweets=3, new_authors=3)
    EventBucket.objects.create(event=source, start=start - dt.timedelta(minutes=5), tweets=1, new_authors=1)
    all_ids = member_ids(source) | member_ids(target)

    services.event_merge(actor=curator, source=source, target=target, reason="same story")

    source.refresh_from_db()
    target.refresh_from_db()
    assert member_ids(target) == all_ids
    assert member_ids(source) == set()
    assert EventMembership.objects.filter(tweet_id__in=all_ids).count() == len(all_ids)
    assert target.tweet_count == 8
    assert target.author_count == 6
    assert (source.state, source.merged_into_id, source.tweet_count) == (EventState.MERGED, target.pk, 0)
    assert source.version == 1 and target.version == 1
    assert dict(EventBucket.objects.filter(event=target).values_list("start", "tweets")) == {
        start: 8, start - dt.timedelta(minutes=5): 1
    }
    assert not EventBucket.objects.filter(event=source).exists()
    # Count-weighted centroid: 5 posts along axis 0, 3 along axis 1.
    from trends.embedding import unpack

    centroid = unpack(target.centroid)
    assert centroid[0] / centroid[1] == pytest.approx(5 / 3, rel=0.01)
    link = EventLink.objects.get(source=source, target=target)
    assert link.kind == EventLink.Kind.MERGE and link.details["moved_posts"] == 5
    assert EventSnapshot.objects.filter(event=source, note__startswith="merged into").exists()
    entry = last_entry("event.merge")
    assert entry.before["source"]["tweet_count"] == 5 and entry.after["target"]["tweet_count"] == 8


def test_merge_refuses_self_and_merged(curator):
    a, _ = make_event(posts=2)
    b, _ = make_event(posts=2)
    with pytest.raises(ValidationError):
        services.event_merge(actor=curator, source=a, target=a)
    services.event_merge(actor=curator, source=a, target=b)
    with pytest.raises(ValidationError, match="already merged"):
        services.event_merge(actor=curator, source=a, target=b)


def test_split_selected_posts(curator):
    event, tweets = make_event(posts=6, authors=6)
    start = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=10)
    EventBucket.objects.create(event=event, start=start, tweets=6, new_authors=6)
    EventBucket.objects.create(event=event, start=start + dt.timedelta(minutes=5), tweets=0, new_authors=0)
    before = member_ids(event)
    chosen = [tweets[0].pk, tweets[1].pk]

    new = services.event_split(actor=curator, event=event, tweet_ids=chosen)

    event.refresh_from_db()
    assert member_ids(new) == set(chosen)
    assert member_ids(event) == before - set(chosen)
    assert (event.tweet_count, new.tweet_count) == (4, 2)
    assert (event.author_count, new.author_count) == (4, 2)
    for part in (event, new):
        assert sum(EventBucket.objects.filter(event=part).values_list("tweets", flat=True)) == part.tweet_count
    link = EventLink.objects.get(source=event, target=new)
    assert link.kind == EventLink.Kind.SPLIT and link.details["method"] == "selected"
    assert last_entry("event.split").after["new"]["id"] == new.pk


def test_split_refuses_strangers_and_emptying(curator):
    event, tweets = make_event(posts=3)
    with pytest.raises(ValidationError, match="Not posts"):
        services.event_split(actor=curator, event=event, tweet_ids=[TweetFactory().pk])
    with pytest.raises(ValidationError, match="at least one"):
        services.event_split(actor=curator, event=event, tweet_ids=[t.pk for t in tweets])
    assert member_ids(event) == {t.pk for t in tweets}


def test_split_by_subcluster_separates_the_two_topics(curator):
    event, quake = make_event(posts=6, direction=0)
    _, storm = make_event(posts=3, direction=5)
    # Put the storm posts into the quake event, as a drifting cluster would.
    EventMembership.objects.filter(tweet__in=storm).update(event=event)
    services.events_reconcile(since=timezone.now() - dt.timedelta(days=1))

    new = services.event_split(actor=curator, event=event, by_subcluster=True)

    assert member_ids(new) == {t.pk for t in storm}
    assert member_ids(event) == {t.pk for t in quake}
    event.refresh_from_db()
    assert event.tweet_count == 6 and new.tweet_count == 3
    assert EventLink.objects.get(target=new).details["method"] == "subcluster"


def test_reconcile_rehomes_posts_added_to_a_merged_event(curator):
    source, _ = make_event(posts=2)
    target, _ = make_event(posts=2)
    services.event_merge(actor=curator, source=source, target=target)
    late = TweetFactory()
    EventMembership.objects.create(tweet=late, event=source, tweet_created_at=late.created_at, author_id=late.author_id)
    result = services.events_reconcile()
    assert result["rehomed_posts"] == 1
    target.refresh_from_db()
    assert late.pk in member_ids(target) and target.tweet_count == 5


# --- sources and block rules ----------------------------------------------------------------------


def test_block_rules_need_manage_blocklist(curator):
    with pytest.raises(PermissionDenied):
        services.blockrule_create(actor=curator, kind="term", value="giveaway")


@pytest.mark.parametrize(
    "kind,value,stored",
    [
        ("term", "  Free   MONEY ", "free money"),
        ("hashtag", "#CryptoGiveaway", "cryptogiveaway"),
        ("domain", "https://www.Spam.example.com/path?q=1", "spam.example.com"),
        ("regex", r"win\s+\d+\s+btc", r"win\s+\d+\s+btc"),
    ],
)
def test_blockrule_normalises(ts_admin, kind, value, stored):
    rule = services.blockrule_create(actor=ts_admin, kind=kind, value=value)
    assert rule.value == stored
    assert last_entry("blockrule.create").after["value"] == stored


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|aa)*b", r"(\w+\s?)*x", r"(", "x" * 300, r".*"])
def test_blockrule_rejects_unsafe_regex(ts_admin, pattern):
    with pytest.raises(ValidationError):
        services.blockrule_create(actor=ts_admin, kind="regex", value=pattern)
    assert not BlockRule.objects.exists()


def test_blockrules_match(ts_admin):
    spammer = UserFactory(username="spammer")
    services.blockrule_create(actor=ts_admin, kind="term", value="free money")
    services.blockrule_create(actor=ts_admin, kind="hashtag", value="#scam")
    services.blockrule_create(actor=ts_admin, kind="regex", value=r"win\s+\d+\s+btc")
    services.blockrule_create(actor=ts_admin, kind="account", value="@Spammer")
    services.blockrule_create(actor=ts_admin, kind="domain", value="bad.example")
    ok = {"text": "Earthquake hits the coast", "hashtags": ["quake"], "author_id": None, "domains": ["news.example"]}
    assert not selectors.blockrules_match(**ok)
    assert selectors.blockrules_match(**{**ok, "text": "Get FREE money now"})
    assert not selectors.blockrules_match(**{**ok, "text": "freemoney is one word"})
    assert selectors.blockrules_match(**{**ok, "hashtags": ["Scam"]})
    assert selectors.blockrules_match(**{**ok, "text": "WIN 5 BTC today"})
    assert selectors.blockrules_match(**{**ok, "author_id": spammer.pk})
    assert selectors.blockrules_match(**{**ok, "domains": ["cdn.bad.example"]})
    assert not selectors.blockrules_match(**{**ok, "domains": ["notbad.example"]})


def test_blockrules_cache_sees_deactivation(ts_admin):
    rule = services.blockrule_create(actor=ts_admin, kind="term", value="spoiler")
    post = {"text": "spoiler alert", "hashtags": [], "author_id": None, "domains": []}
    assert selectors.blockrules_match(**post)
    services.blockrule_set_active(actor=ts_admin, rule=rule, active=False)
    assert not selectors.blockrules_match(**post)
    assert last_entry("blockrule.deactivate").after["is_active"] is False


def test_domain_allow_replaces_block(ts_admin):
    block = services.blockrule_create(actor=ts_admin, kind="domain", value="wire.example", action="block")
    allow = services.blockrule_create(actor=ts_admin, kind="domain", value="wire.example", action="allow")
    block.refresh_from_db()
    assert not block.is_active and allow.is_active
    assert selectors.blockrules_allows(author_id=None, domains=["www.wire.example"])
    assert not selectors.blockrules_match(text="x", hashtags=[], author_id=None, domains=["wire.example"])


def test_author_trust_and_block_are_exclusive(ts_admin):
    author = UserFactory()
    services.author_set_trust(actor=ts_admin, author=author, trusted=True)
    assert selectors.blockrules_allows(author_id=author.pk, domains=[])
    services.author_set_trust(actor=ts_admin, author=author, blocked=True, reason="bot network")
    author.refresh_from_db()
    assert author.is_blocked_source and not author.is_trusted_source
    assert selectors.blockrules_match(text="hello", hashtags=[], author_id=author.pk, domains=[])
    entry = last_entry("user.trust")
    assert entry.before == {"is_trusted_source": True, "is_blocked_source": False}
    assert entry.after == {"is_trusted_source": False, "is_blocked_source": True}


# --- undo -----------------------------------------------------------------------------------------


def test_undo_rename_restores_and_is_logged(curator):
    event = EventFactory(title="Pipeline title")
    services.event_rename(actor=curator, event=event, title="Curated")
    entry = last_entry("event.rename")
    undo = services.auditlog_undo(actor=curator, entry=entry)
    event.refresh_from_db()
    assert (event.title, event.title_locked) == ("Pipeline title", False)
    assert undo.action == "undo.event.rename" and undo.target_id == str(event.pk)
    entry.refresh_from_db()
    assert entry.undone_at is not None
    with pytest.raises(ValidationError, match="already undone"):
        services.auditlog_undo(actor=curator, entry=entry)


def test_undo_refuses_when_changed_since(curator):
    event = EventFactory(title="A")
    services.event_rename(actor=curator, event=event, title="B")
    first = last_entry("event.rename")
    services.event_rename(actor=curator, event=event, title="C")
    with pytest.raises(ValidationError, match="changed again"):
        services.auditlog_undo(actor=curator, entry=first)


def test_undo_review_pin_hide_category(curator):
    event = EventFactory(review_status=ReviewStatus.PENDING, category="news")
    services.event_approve(actor=curator, event_ids=[event.pk])
    services.auditlog_undo(actor=curator, entry=last_entry("event.approve"))
    event.refresh_from_db()
    assert event.review_status == ReviewStatus.PENDING and event.reviewed_by is None
    services.event_approve(actor=curator, event_ids=[event.pk])
    services.event_pin(actor=curator, event=event, slot=2, until=timezone.now() + dt.timedelta(hours=1))
    services.auditlog_undo(actor=curator, entry=last_entry("event.pin"))
    services.event_hide(actor=curator, event=event, reason="dupe")
    services.auditlog_undo(actor=curator, entry=last_entry("event.hide"))
    services.event_set_category(actor=curator, event=event, category="sports")
    services.auditlog_undo(actor=curator, entry=last_entry("event.category"))
    event.refresh_from_db()
    assert event.pinned_slot is None and not event.hidden and event.category == "news"
    assert AuditLogEntry.objects.filter(action__startswith="undo.").count() == 4


def test_undo_blockrule_and_trust_need_blocklist_permission(ts_admin, curator):
    rule = services.blockrule_create(actor=ts_admin, kind="term", value="leak")
    entry = last_entry("blockrule.create")
    with pytest.raises(PermissionDenied):
        services.auditlog_undo(actor=curator, entry=entry)
    services.auditlog_undo(actor=ts_admin, entry=entry)
    rule.refresh_from_db()
    assert not rule.is_active
    assert not selectors.blockrules_match(text="a leak", hashtags=[], author_id=None, domains=[])
    author = UserFactory()
    services.author_set_trust(actor=ts_admin, author=author, blocked=True)
    services.auditlog_undo(actor=ts_admin, entry=last_entry("user.trust"))
    author.refresh_from_db()
    assert not author.is_blocked_source


def test_merge_cannot_be_undone(curator):
    a, _ = make_event(posts=2)
    b, _ = make_event(posts=2)
    services.event_merge(actor=curator, source=a, target=b)
    with pytest.raises(ValidationError, match="cannot be undone"):
        services.auditlog_undo(actor=curator, entry=last_entry("event.merge"))


# --- notifications --------------------------------------------------------------------------------


def test_notification_sent_once_per_item(curator, ts_admin, django_capture_on_commit_callbacks):
    def notify():
        with django_capture_on_commit_callbacks(execute=True):
            return services.review_notify_pending()

    UserFactory(email="bystander@example.org")  # no review permission: not told
    first = EventFactory(review_status=ReviewStatus.PENDING, title="Quake")
    assert notify() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert set(message.bcc) == {"carla@example.org", "tess@example.org"}
    assert "Quake" in message.body and f"#{first.pk}" in message.body
    first.refresh_from_db()
    assert first.review_requested_at is not None

    assert notify() == 0
    assert len(mail.outbox) == 1

    second = EventFactory(review_status=ReviewStatus.PENDING, title="Storm", review_requested_at=timezone.now())
    assert notify() == 1
    assert len(mail.outbox) == 2
    assert "Storm" in mail.outbox[1].body and "Quake" not in mail.outbox[1].body
    assert AuditLogEntry.objects.filter(action="review.notify", target_id=str(second.pk)).count() == 1


def test_notification_again_after_a_new_review_request(curator, django_capture_on_commit_callbacks):
    event = EventFactory(review_status=ReviewStatus.PENDING, review_requested_at=timezone.now() - dt.timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        services.review_notify_pending()
    Event.objects.filter(pk=event.pk).update(review_requested_at=timezone.now())  # pipeline re-flags it
    with django_capture_on_commit_callbacks(execute=True):
        assert services.review_notify_pending() == 1
    assert len(mail.outbox) == 2


def test_notify_task_calls_service(curator, django_capture_on_commit_callbacks):
    from trends.curation.tasks import notify_pending

    EventFactory(review_status=ReviewStatus.PENDING)
    assert notify_pending.name == "curation.notify_pending"
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_pending.apply().get() == 1
        assert notify_pending.apply().get() == 0
    assert len(mail.outbox) == 1


def test_roles_ensure_is_idempotent(roles):
    from django.contrib.auth.models import Group

    from trends.curation.roles import roles_ensure

    roles_ensure()
    roles_ensure()
    curator_perms = set(Group.objects.get(name="curator").permissions.values_list("codename", flat=True))
    admin_perms = set(Group.objects.get(name="admin").permissions.values_list("codename", flat=True))
    assert "manage_blocklist" not in curator_perms and "review_event" in curator_perms
    assert admin_perms == curator_perms | {"manage_blocklist"}
    assert User.objects.count() == 0


def test_tasks_have_stable_names_on_the_maintenance_queue():
    from trends.curation import tasks

    assert (tasks.notify_pending.name, tasks.notify_pending.queue) == ("curation.notify_pending", "maintenance")
    assert (tasks.reconcile.name, tasks.reconcile.queue) == ("curation.reconcile", "maintenance")
