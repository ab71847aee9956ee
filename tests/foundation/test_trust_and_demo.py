import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.factories import FollowFactory, UserFactory
from trends.demo.world import EVENTS, build_world
from users.models import User
from users.services import follow_create, follow_delete, users_compute_trust

pytestmark = pytest.mark.django_db


def test_pagerank_trust_rewards_followed_accounts_and_not_sybil_rings():
    hub = UserFactory(username="hub")
    fans = [UserFactory() for _ in range(12)]
    for fan in fans:
        FollowFactory(follower=fan, followee=hub)
    # A ring of fresh accounts following each other gains nothing from outside.
    ring = [UserFactory() for _ in range(4)]
    for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
        FollowFactory(follower=a, followee=b)
    assert users_compute_trust() == User.objects.count()
    hub.refresh_from_db()
    ring_scores = [User.objects.get(pk=u.pk).trust_score for u in ring]
    fan_score = User.objects.get(pk=fans[0].pk).trust_score
    assert 0.0 < fan_score < hub.trust_score <= 1.0
    assert max(ring_scores) < hub.trust_score


def test_follow_is_idempotent_and_counts_stay_right():
    a, b = UserFactory(), UserFactory()
    assert follow_create(follower=a, followee=b) is True
    assert follow_create(follower=a, followee=b) is False
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.following_count, b.followers_count) == (1, 1)
    assert follow_delete(follower=a, followee=b) is True
    assert follow_delete(follower=a, followee=b) is False
    b.refresh_from_db()
    assert b.followers_count == 0


def test_demo_world_is_deterministic_and_shaped_like_the_product():
    now = timezone.now()
    one = build_world(seed=7, now=now, users=200, scale=0.2)
    two = build_world(seed=7, now=now, users=200, scale=0.2)
    assert [(p.text, p.created_at) for p in one.posts] == [(p.text, p.created_at) for p in two.posts]
    keys = {p.event_key for p in one.posts}
    assert {e.key for e in EVENTS} <= keys and None in keys and "spam" in keys
    assert {e.category for e in EVENTS} >= {"sports", "news", "entertainment", "technology", "politics", "science", "business"}
    assert {p.lang for p in one.posts} >= {"en", "es", "pt"}
    assert all(p.created_at <= now for p in one.posts)
    spam = [p for p in one.posts if p.event_key == "spam"]
    assert all(now - p.created_at < dt.timedelta(minutes=21) for p in spam)
    assert all(one.users[p.author].is_spammer for p in spam)


def test_seed_demo_command_builds_events_and_is_safe_to_run_twice(fake_embedder, capsys):
    call_command("seed_demo", "--users", "120", "--scale", "0.15")
    out = capsys.readouterr().out
    assert "demo ready" in out
    from trends.models import Engagement, Event, Tweet

    posts = Tweet.objects.count()
    assert posts > 500
    assert Event.objects.filter(tweet_count__gte=5).count() >= 5
    assert Engagement.objects.filter(kind="click").exists()
    call_command("seed_demo", "--users", "120", "--scale", "0.15")
    assert "already loaded" in capsys.readouterr().out
    assert Tweet.objects.count() == posts
