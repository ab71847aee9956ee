"""The curation panel over HTTP: access rules, CSRF, each action through its form, and the pages."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.curation.conftest import make_event, member_ids
from tests.factories import EventFactory, UserFactory
from trends.curation import services
from trends.models import (
    AuditLogEntry,
    BlockRule,
    Event,
    EventState,
    ReviewStatus,
    TaskFailure,
    WorkerHeartbeat,
)
from users.models import User

pytestmark = pytest.mark.django_db

GET_PAGES = [
    ("curation:queue", [], "review_event"),
    ("curation:events", [], "curate_event"),
    ("curation:event", ["EVENT"], "curate_event"),
    ("curation:sources", [], "manage_blocklist"),
    ("curation:audit", [], "view_auditlog"),
    ("curation:health", [], "view_pipeline_health"),
]
POST_ACTIONS = [
    ("curation:queue-decide", [], {"decision": "approve", "event_ids": "EVENT"}, "review_event"),
    ("curation:event-edit", ["EVENT", "rename"], {"title": "Hacked"}, "curate_event"),
    ("curation:event-edit", ["EVENT", "hide"], {"reason": "x"}, "curate_event"),
    ("curation:event-edit", ["EVENT", "merge"], {"other_event": "1", "direction": "into_other"}, "curate_event"),
    ("curation:rule-create", [], {"kind": "term", "value": "spam", "action": "block"}, "manage_blocklist"),
    ("curation:rule-toggle", ["RULE"], {"active": "0"}, "manage_blocklist"),
    ("curation:author-trust", [], {"author": "someone", "decision": "block"}, "manage_blocklist"),
    ("curation:audit-undo", ["ENTRY"], {}, "view_auditlog"),
]


def with_perm(codename: str) -> User:
    """A user holding exactly one curation permission."""
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(content_type__app_label="trends", codename=codename))
    return User.objects.get(pk=user.pk)


def other_perm(codename: str) -> str:
    return "view_pipeline_health" if codename != "view_pipeline_health" else "review_event"


@pytest.fixture
def world(ts_admin):
    event = EventFactory(review_status=ReviewStatus.PENDING, title="Untouched")
    rule = BlockRule.objects.create(kind="term", value="seed", created_by=ts_admin)
    entry = AuditLogEntry.objects.create(actor=ts_admin, action="event.rename", target_type="event",
                                         target_id=str(event.pk), before={"title": "Untouched"}, after={"title": "Untouched"})
    return {"EVENT": event.pk, "RULE": rule.pk, "ENTRY": entry.pk}


def resolve(name, args, world):
    return reverse(name, args=[world.get(a, a) for a in args])


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("name,args,perm", GET_PAGES)
def test_pages_forbidden_without_permission(world, plain_user, name, args, perm):
    url = resolve(name, args, world)
    assert client_for(None).get(url).status_code == 403  # anonymous: 403, never a login redirect
    assert client_for(plain_user).get(url).status_code == 403
    assert client_for(with_perm(other_perm(perm))).get(url).status_code == 403
    assert client_for(with_perm(perm)).get(url).status_code == 200


@pytest.mark.parametrize("name,args,data,perm", POST_ACTIONS)
def test_actions_forbidden_without_permission(world, plain_user, name, args, data, perm):
    url = resolve(name, args, world)
    data = {k: world.get(v, v) for k, v in data.items()}
    for user in (None, plain_user, with_perm(other_perm(perm))):
        assert client_for(user).post(url, data).status_code == 403
    # Nothing changed: no new audit entries, event untouched, rule still on.
    assert AuditLogEntry.objects.count() == 1
    event = Event.objects.get(pk=world["EVENT"])
    assert (event.title, event.hidden, event.review_status) == ("Untouched", False, ReviewStatus.PENDING)
    assert BlockRule.objects.get(pk=world["RULE"]).is_active


def test_curator_lacks_blocklist_permission(world, curator):
    client = client_for(curator)
    assert client.get(reverse("curation:sources")).status_code == 403
    assert client.post(reverse("curation:rule-create"), {"kind": "term", "value": "x", "action": "block"}).status_code == 403
    assert client.get(reverse("curation:queue")).status_code == 200


def test_index_redirects_to_first_allowed_section(curator, plain_user):
    assert client_for(curator).get(reverse("curation:index"))["Location"] == reverse("curation:queue")
    assert client_for(with_perm("view_auditlog")).get(reverse("curation:index"))["Location"] == reverse("curation:audit")
    assert client_for(plain_user).get(reverse("curation:index")).status_code == 403
    assert client_for(None).get(reverse("curation:index")).status_code == 403


def test_actions_are_post_only(world, curator):
    client = client_for(curator)
    assert client.get(reverse("curation:queue-decide"), {"decision": "approve", "event_ids": world["EVENT"]}).status_code == 405
    assert client.get(reverse("curation:event-edit", args=[world["EVENT"], "rename"]), {"title": "x"}).status_code == 405
    assert Event.objects.get(pk=world["EVENT"]).review_status == ReviewStatus.PENDING


def test_csrf_is_enforced(curator):
    event = EventFactory(review_status=ReviewStatus.PENDING)
    client = Client(enforce_csrf_checks=True)
    client.force_login(curator)
    url = reverse("curation:queue-decide")
    assert client.post(url, {"decision": "approve", "event_ids": event.pk}).status_code == 403
    event.refresh_from_db()
    assert event.review_status == ReviewStatus.PENDING
    page = client.get(reverse("curation:queue"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post(url, {"decision": "approve", "event_ids": event.pk, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.review_status == ReviewStatus.APPROVED


# --- review queue ---------------------------------------------------------------------------------


def test_queue_lists_pending_with_samples_and_badge(curator):
    event, tweets = make_event(posts=4, review_status=ReviewStatus.PENDING, title="Flood in Porto", trend_score=7.5)
    EventFactory(review_status=ReviewStatus.APPROVED, title="Already fine")
    html = client_for(curator).get(reverse("curation:queue")).content.decode()
    assert "Flood in Porto" in html and "Already fine" not in html
    assert tweets[-1].text in html  # newest sample post
    assert re.search(r'id="pending-badge"[^>]*>1<', html)
    assert "7.5" in html


def test_queue_bulk_approve_and_reject(curator):
    a, b, c = (EventFactory(review_status=ReviewStatus.PENDING) for _ in range(3))
    client = client_for(curator)
    response = client.post(reverse("curation:queue-decide"), {"decision": "approve", "event_ids": [a.pk, b.pk]}, follow=True)
    assert "Approved 2 event(s)." in response.content.decode()
    client.post(reverse("curation:queue-decide"), {"decision": "reject", "event_ids": [c.pk], "reason": "spam wave"})
    statuses = dict(Event.objects.values_list("pk", "review_status"))
    assert statuses == {a.pk: "approved", b.pk: "approved", c.pk: "rejected"}
    assert AuditLogEntry.objects.get(action="event.reject").reason == "spam wave"


def test_queue_decide_needs_a_choice(curator):
    response = client_for(curator).post(reverse("curation:queue-decide"), {"decision": "approve"}, follow=True)
    assert "Choose at least one event." in response.content.decode()


# --- editing through forms ------------------------------------------------------------------------


def edit(client, event, action, data, follow=True):
    return client.post(reverse("curation:event-edit", args=[event.pk, action]), data, follow=follow)


def test_rename_form_and_stale_version_message(curator):
    event = EventFactory(title="Old")
    client = client_for(curator)
    page = client.get(reverse("curation:event", args=[event.pk])).content.decode()
    assert 'name="version" value="0"' in page
    edit(client, event, "rename", {"title": "New title", "version": 0, "seen_title": "Old"})
    event.refresh_from_db()
    assert event.title == "New title" and event.title_locked
    # A second curator still looking at the old page:
    response = edit(client, event, "rename", {"title": "Stale edit", "version": 0, "seen_title": "Old"})
    assert "changed meanwhile" in response.content.decode()
    event.refresh_from_db()
    assert event.title == "New title"


def test_summary_category_representatives_forms(curator):
    event, tweets = make_event(posts=3)
    client = client_for(curator)
    edit(client, event, "summary", {"summary": "What happened.", "version": event.version})
    event.refresh_from_db()
    edit(client, event, "category", {"category": "sports", "version": event.version})
    event.refresh_from_db()
    edit(client, event, "representatives", {"tweet_ids": [tweets[1].pk, tweets[0].pk], "version": event.version})
    event.refresh_from_db()
    assert event.summary == "What happened." and event.category == "sports"
    assert set(event.representative_tweet_ids) == {tweets[0].pk, tweets[1].pk}
    assert event.representatives_locked


def test_pin_unpin_hide_unhide_forms(curator):
    event = EventFactory()
    client = client_for(curator)
    edit(client, event, "pin", {"slot": 2, "hours": 3})
    event.refresh_from_db()
    assert event.pinned_slot == 2 and event.pinned_until > timezone.now() + dt.timedelta(hours=2)
    edit(client, event, "unpin", {})
    edit(client, event, "hide", {"reason": "Misleading"})
    event.refresh_from_db()
    assert event.pinned_slot is None and event.hidden and event.hidden_reason == "Misleading"
    response = edit(client, event, "unhide", {"reason": "Checked"})
    event.refresh_from_db()
    assert not event.hidden
    assert "Event visible again." in response.content.decode()
    assert list(AuditLogEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "event.pin", "event.unpin", "event.hide", "event.unhide"
    ]


def test_hide_without_reason_is_refused(curator):
    event = EventFactory()
    response = edit(client_for(curator), event, "hide", {"reason": ""})
    assert "reason" in response.content.decode().lower()
    event.refresh_from_db()
    assert not event.hidden


def test_unknown_action_is_404(curator):
    event = EventFactory()
    assert client_for(curator).post(reverse("curation:event-edit", args=[event.pk, "explode"])).status_code == 404


def test_merge_and_split_forms(curator):
    first, _ = make_event(posts=3)
    second, second_tweets = make_event(posts=2)
    client = client_for(curator)
    response = edit(client, first, "merge", {"other_event": second.pk, "direction": "into_other"}, follow=False)
    assert response["Location"] == reverse("curation:event", args=[second.pk])
    first.refresh_from_db()
    assert first.state == EventState.MERGED and member_ids(first) == set()
    assert len(member_ids(second)) == 5
    edit(client, second, "split", {"mode": "selected", "tweet_ids": [second_tweets[0].pk]})
    new = Event.objects.exclude(pk__in=[first.pk, second.pk]).get()
    assert member_ids(new) == {second_tweets[0].pk}
    response = edit(client, second, "split", {"mode": "selected"})
    assert "Select the posts to split off." in response.content.decode()


def test_split_by_subcluster_form(curator):
    event, _ = make_event(posts=4, direction=0)
    _, other = make_event(posts=2, direction=3)
    from trends.models import EventMembership

    EventMembership.objects.filter(tweet__in=other).update(event=event)
    edit(client_for(curator), event, "split", {"mode": "subcluster"})
    new = Event.objects.latest("pk")
    assert member_ids(new) == {t.pk for t in other}


def test_event_page_shows_members_links_and_trail(curator):
    event, tweets = make_event(posts=2, title="Eclipse")
    services.event_rename(actor=curator, event=event, title="Solar eclipse")
    html = client_for(curator).get(reverse("curation:event", args=[event.pk])).content.decode()
    assert "Solar eclipse" in html and tweets[0].text in html and "event.rename" in html


# --- sources --------------------------------------------------------------------------------------


def test_rule_forms_and_regex_rejection(ts_admin):
    client = client_for(ts_admin)
    client.post(reverse("curation:rule-create"), {"kind": "hashtag", "value": "#Scam", "action": "block"})
    rule = BlockRule.objects.get()
    assert rule.value == "scam"
    response = client.post(reverse("curation:rule-create"), {"kind": "regex", "value": "(a+)+$", "action": "block"}, follow=True)
    assert "exponential time" in response.content.decode()
    assert BlockRule.objects.count() == 1
    client.post(reverse("curation:rule-toggle", args=[rule.pk]), {"active": "0"})
    rule.refresh_from_db()
    assert not rule.is_active
    html = client.get(reverse("curation:sources")).content.decode()
    assert "scam" in html and "Switch on" in html


def test_author_trust_form(ts_admin):
    author = UserFactory(username="reporter")
    client = client_for(ts_admin)
    client.post(reverse("curation:author-trust"), {"author": "@Reporter", "decision": "trust"})
    author.refresh_from_db()
    assert author.is_trusted_source
    client.post(reverse("curation:author-trust"), {"author": str(author.pk), "decision": "block"})
    author.refresh_from_db()
    assert author.is_blocked_source and not author.is_trusted_source
    response = client.post(reverse("curation:author-trust"), {"author": "nobody_here", "decision": "block"}, follow=True)
    assert "No account" in response.content.decode()


def test_domain_trust_from_event_page(ts_admin):
    client = client_for(ts_admin)
    client.post(reverse("curation:rule-create"), {"kind": "domain", "value": "wire.example", "action": "allow"})
    assert BlockRule.objects.get().action == "allow"


# --- audit log ------------------------------------------------------------------------------------


def audit_table(client, **params) -> str:
    html = client.get(reverse("curation:audit"), params).content.decode()
    return html.split('id="audit-entries"', 1)[1]


def test_audit_filters_and_undo(curator, ts_admin):
    event = EventFactory(title="Before")
    services.event_rename(actor=curator, event=event, title="After")
    services.blockrule_create(actor=ts_admin, kind="term", value="leak")
    client = client_for(ts_admin)
    html = audit_table(client, actor="carla_curator")
    assert "event.rename" in html and "blockrule.create" not in html
    html = audit_table(client, action="blockrule")
    assert "blockrule.create" in html and "event.rename" not in html
    html = audit_table(client, target_type="event", target_id=str(event.pk))
    assert "event.rename" in html and "blockrule.create" not in html
    tomorrow = (timezone.now() + dt.timedelta(days=1)).date().isoformat()
    assert "No entries match." in audit_table(client, since=tomorrow)
    assert "event.rename" in audit_table(client, until=timezone.now().date().isoformat())

    entry = AuditLogEntry.objects.get(action="event.rename")
    response = client.post(reverse("curation:audit-undo", args=[entry.pk]), follow=True)
    assert f"Entry #{entry.pk} undone." in response.content.decode()
    event.refresh_from_db()
    assert event.title == "Before"
    response = client.post(reverse("curation:audit-undo", args=[entry.pk]), follow=True)
    assert "already undone" in response.content.decode()


def test_undo_not_offered_for_merge(curator):
    a, _ = make_event(posts=1)
    b, _ = make_event(posts=1)
    services.event_merge(actor=curator, source=a, target=b)
    html = audit_table(client_for(curator))
    assert "event.merge" in html and ">Undo<" not in html


# --- health ---------------------------------------------------------------------------------------


def test_health_dashboard(curator, settings):
    from tests.factories import TweetFactory

    TweetFactory.create_batch(3)
    TweetFactory(pipeline_state=1)
    EventFactory(state=EventState.TRENDING)
    EventFactory(state=EventState.FADING)
    now = timezone.now()
    WorkerHeartbeat.objects.create(hostname="fresh@worker", last_seen_at=now)
    WorkerHeartbeat.objects.create(hostname="old@worker", last_seen_at=now - dt.timedelta(hours=1))
    TaskFailure.objects.create(task_name="pipeline.embed_tweets", error="OperationalError: boom")
    html = client_for(curator).get(reverse("curation:health")).content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3
    assert "4 posts in the last hour" in html
    assert "fresh@worker" in html and re.search(r"old@worker.*?stale", html, re.S)
    assert "OperationalError: boom" in html
    from django.conf import settings as django_settings

    if django_settings.CELERY_BROKER_URL.startswith("redis"):
        assert "Broker queue depth:" in html and 'id="queue-depth-na"' not in html  # CI's Redis broker
    else:
        assert 'id="queue-depth-na"' in html


def test_health_queue_depth_from_redis_or_na(settings):
    from trends.curation import selectors

    settings.CELERY_BROKER_URL = "memory://"
    assert selectors.broker_queue_depths() is None
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens: n/a, not an error
    assert selectors.broker_queue_depths() is None


def test_health_experiment_results_guarded(curator, monkeypatch):
    import trends.ranking as ranking
    from trends.curation import selectors
    from trends.models import Experiment

    Experiment.objects.create(key="ranker-v2", variants=[{"name": "control", "weight": 50}])
    monkeypatch.setattr(ranking, "experiment_results", lambda *, key: {"key": key, "ctr": 0.12}, raising=False)
    assert selectors.experiment_results() == [{"key": "ranker-v2", "results": {"key": "ranker-v2", "ctr": 0.12}, "error": ""}]

    def broken(*, key):
        raise RuntimeError("no data")

    monkeypatch.setattr(ranking, "experiment_results", broken, raising=False)
    html = client_for(curator).get(reverse("curation:health")).content.decode()
    assert "RuntimeError: no data" in html


# --- review flow end to end (server side; the browser version is in test_browser.py) --------------


def pending_trend(title: str):
    from django.conf import settings as django_settings

    people = django_settings.TREND_MIN_UNIQUE_AUTHORS + 2
    event, _ = make_event(posts=people, authors=people, title=title, review_status=ReviewStatus.PENDING,
                          review_requested_at=timezone.now(), state=EventState.TRENDING, trend_score=42.0)
    return event


def test_review_flow_pending_event_appears_on_explore_after_approval(curator, django_capture_on_commit_callbacks):
    event = pending_trend("Volcano erupts in Iceland")
    visitor = Client()
    assert "Volcano erupts in Iceland" not in visitor.get("/").content.decode()
    assert visitor.get(reverse("trends:event-detail", args=[event.pk])).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):  # the request's commit runs the cache hooks
        client_for(curator).post(reverse("curation:queue-decide"), {"decision": "approve", "event_ids": event.pk})
    assert "Volcano erupts in Iceland" in visitor.get("/?fresh=1").content.decode()
    assert visitor.get(reverse("trends:event-detail", args=[event.pk])).status_code == 200
