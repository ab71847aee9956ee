import pytest
from django.contrib.auth.models import Group
from django.test import Client

from tests.factories import EventFactory, TweetFactory, UserFactory, add_members
from trends.curation.roles import ADMIN_GROUP, CURATOR_GROUP, roles_ensure
from trends.models import AuditLogEntry, BlockRule
from users.models import User

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 on two shared cores costs ~0.4 s per user; these tests are about access, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db):
    """One of each role, and one object of each kind a URL can point at."""
    roles_ensure()
    owner = UserFactory(username="olga_owner")
    other = UserFactory(username="oscar_other")
    curator = UserFactory(username="carla_curator")
    curator.groups.add(Group.objects.get(name=CURATOR_GROUP))
    ts_admin = UserFactory(username="tess_tsadmin")
    ts_admin.groups.add(Group.objects.get(name=ADMIN_GROUP))
    admin = UserFactory(username="ada_admin", is_staff=True, is_superuser=True)
    event = EventFactory(title="Harbour fire")
    tweet = TweetFactory(author=owner, text="Fire at the harbour #fire https://example.org/fire")
    add_members(event, [tweet])
    rule = BlockRule.objects.create(kind=BlockRule.Kind.TERM, value="spamword", created_by=admin)
    entry = AuditLogEntry.objects.create(actor=admin, action="event.rename", target_type="event", target_id=str(event.pk))
    return {
        "users": {
            "anonymous": None,
            "user": User.objects.get(pk=owner.pk),
            "other_user": User.objects.get(pk=other.pk),
            "curator": User.objects.get(pk=curator.pk),
            "ts_admin": User.objects.get(pk=ts_admin.pk),
            "admin": User.objects.get(pk=admin.pk),
        },
        "event": event,
        "tweet": tweet,
        "samples": {
            "event_id": str(event.pk),
            "tweet_id": str(tweet.pk),
            "handle": owner.username,
            "topic": "news",
            "action": "rename",
            "rule_id": str(rule.pk),
            "entry_id": str(entry.pk),
            "object_id": str(event.pk),
            "content_type_id": "1",
            "app_label": "trends",
            "url": "no-such-page",
        },
    }


def client_for(user, *, csrf: bool = False) -> Client:
    # A remote address: loopback is trusted by /metrics, and real attackers are not on loopback.
    client = Client(enforce_csrf_checks=csrf, raise_request_exception=False, REMOTE_ADDR="203.0.113.50")
    if user is not None:
        client.force_login(user)
    return client


def db_fingerprint() -> dict:
    """Row counts and the sample objects' state: equal before and after means nothing was written."""
    from django.contrib.sessions.models import Session  # noqa: F401 - sessions may legitimately change
    from rest_framework.authtoken.models import Token

    from trends.models import Engagement, Event, EventMembership, IdempotencyKey, Tweet
    from users.models import Follow

    models = [User, Tweet, Event, EventMembership, Engagement, Follow, BlockRule, AuditLogEntry, IdempotencyKey, Token]
    counts = {model.__name__: model.objects.count() for model in models}
    counts["events"] = list(Event.objects.order_by("pk").values_list("title", "hidden", "pinned_slot", "review_status"))
    counts["tweets"] = list(Tweet.objects.order_by("pk").values_list("text", "is_deleted"))
    counts["users"] = list(User.objects.order_by("pk").values_list("username", "display_name", "is_active", "password"))
    return counts
