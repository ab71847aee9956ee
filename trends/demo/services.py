"""Loads the generated demo world through the same services real traffic uses."""

from __future__ import annotations

import datetime as dt
import random

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trends import pipeline, services
from trends.demo.world import build_world, engagement_plan
from trends.models import Engagement, Event, Tweet
from users.models import Follow, User
from users.services import users_compute_trust

DEMO_HANDLE = "demo"
DEMO_PASSWORD_ENV = "EXPLORE_DEMO_PASSWORD"
DEMO_DEFAULT_PASSWORD = "explore-demo"


def demo_exists() -> bool:
    return User.objects.filter(username=DEMO_HANDLE).exists()


def demo_seed(*, seed: int = 42, users: int = 1500, scale: float = 1.0, now: dt.datetime | None = None, log=print) -> dict:
    now = now or timezone.now()
    world = build_world(seed=seed, now=now, users=users, scale=scale)
    rng = random.Random(seed)

    with transaction.atomic():
        existing = set(User.objects.values_list("username", flat=True))
        new_users = []
        for person in world.users:
            if person.handle in existing:
                continue
            user = User(
                username=person.handle,
                display_name=person.display_name,
                languages=[person.lang] + (["en"] if person.lang != "en" else []),
                location=person.location,
                topics=person.topics,
                bio=f"Into {', '.join(person.topics)}.",
            )
            user.date_joined = now - dt.timedelta(days=person.created_days_ago)
            user.set_unusable_password()
            new_users.append(user)
        User.objects.bulk_create(new_users, batch_size=1000)
        ids = dict(User.objects.filter(username__in=[p.handle for p in world.users]).values_list("username", "pk"))
        follows = [
            Follow(follower_id=ids[person.handle], followee_id=ids[world.users[j].handle])
            for person in world.users
            for j in person.follows
        ]
        Follow.objects.bulk_create(follows, batch_size=2000, ignore_conflicts=True)
        _refresh_follow_counts(list(ids.values()))
        demo = User.objects.filter(username=DEMO_HANDLE).first()
        if demo is None:
            import os

            demo = User(
                username=DEMO_HANDLE,
                display_name="Demo Viewer",
                languages=["en", "pt"],
                location="Lisbon",
                topics=["sports", "technology", "science"],
                is_staff=True,
                is_superuser=True,
                email="demo@example.org",
            )
            demo.set_password(os.environ.get(DEMO_PASSWORD_ENV, DEMO_DEFAULT_PASSWORD))
            demo.save()
            pool = [ids[p.handle] for p in world.users if p.community in {"sports", "technology", "science"}]
            sample = rng.sample(pool, min(60, len(pool)))
            Follow.objects.bulk_create([Follow(follower=demo, followee_id=pk) for pk in sample], ignore_conflicts=True)
    log(f"users: {len(world.users)} (+1 demo viewer), follows: {Follow.objects.count()}")
    users_compute_trust()

    items = []
    for post in world.posts:
        author_id = ids[world.users[post.author].handle]
        item = services.tweet_validate(
            data={
                "text": post.text,
                "created_at": post.created_at,
                "lang": post.lang,
                "location": post.location,
                "author_id": author_id,
                "source": "demo",
                "like_count": rng.randint(0, 40),
                "retweet_count": rng.randint(0, 10),
            },
            now=now + dt.timedelta(seconds=1),
        )
        items.append(item)
    log(f"posts: {len(items)} generated; ingesting (the pipeline embeds and clusters them)...")
    result = services.tweets_ingest(items=items, batch_size=500)
    log(f"posts: {len(result.created_ids)} stored")
    from explore_site.celery import app

    if app.conf.task_always_eager:
        # In-process mode: finish the pipeline now. With workers, they do it as the posts arrive.
        demo_refresh_events()
        _seed_engagement(world=world, ids=ids, seed=seed, now=now)
    return {"users": len(world.users), "posts": len(result.created_ids)}


def demo_refresh_events() -> None:
    """Finish the in-process pipeline now (embedded mode), so the demo is complete when the command ends."""
    from trends.models import PipelineState

    while True:
        pending = list(Tweet.objects.filter(pipeline_state=PipelineState.NEW).values_list("pk", flat=True)[:512])
        if not pending:
            break
        pipeline.tweets_embed(tweet_ids=pending)
    for shard in range(max(1, settings.CLUSTER_SHARDS)):
        while pipeline.shard_cluster(shard=shard):
            pass
    pipeline.events_score()
    pipeline.events_update_lifecycle()
    pipeline.events_describe()


def _refresh_follow_counts(user_ids: list[int]) -> None:
    from django.db.models import Count

    followers = dict(Follow.objects.filter(followee_id__in=user_ids).values_list("followee").annotate(n=Count("pk")))
    following = dict(Follow.objects.filter(follower_id__in=user_ids).values_list("follower").annotate(n=Count("pk")))
    users = list(User.objects.filter(pk__in=user_ids).only("pk"))
    for user in users:
        user.followers_count = followers.get(user.pk, 0)
        user.following_count = following.get(user.pk, 0)
    User.objects.bulk_update(users, ["followers_count", "following_count"], batch_size=2000)


def _seed_engagement(*, world, ids: dict[str, int], seed: int, now: dt.datetime) -> None:
    events = dict(Event.objects.filter(tweet_count__gte=5).values_list("pk", "category"))
    rows = engagement_plan(seed=seed, world=world, event_categories=events)
    rng = random.Random(seed + 2)
    engagements = [
        Engagement(
            user_id=ids[world.users[index].handle],
            event_id=event_id,
            kind=kind,
            surface="for_you",
            created_at=now - dt.timedelta(minutes=rng.uniform(1, 600)),
        )
        for index, event_id, kind in rows
    ]
    Engagement.objects.bulk_create(engagements, batch_size=2000)
    services._event_aggregates_apply(engagements)


def demo_summary() -> str:
    return (
        f"{User.objects.count()} users, {Tweet.objects.count()} posts, "
        f"{Event.objects.filter(tweet_count__gte=5).count()} events with 5+ posts"
    )
