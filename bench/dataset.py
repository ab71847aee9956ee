"""Bulk loader for benchmark-sized worlds, written with PostgreSQL COPY (millions of rows in seconds).

Columns come from the Django models themselves, so the loader follows the schema as it evolves:
every concrete column is written, with the field's default where the generator gives no value.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
from django.db import connection, models
from django.utils import timezone

from trends.embedding import pack
from trends.models import Engagement, Event, EventMembership, Tweet
from trends.pgcopy import copy_into, field_default
from users.models import Follow, User

CATEGORIES = ["sports", "news", "entertainment", "technology", "politics", "science", "business", "other"]
LOCATIONS = ["Lisbon", "London", "New York", "Madrid", "São Paulo", "Tokyo", "Berlin", "Paris", ""]
LANGS = ["en", "en", "en", "es", "pt", "fr"]


def copy_rows(model: type[models.Model], rows, *, chunk: int = 50_000) -> int:
    """COPY dicts (keyed by field attname) into the model's table, in chunks."""
    fields = list(model._meta.concrete_fields)
    defaults = {f.attname: field_default(f) for f in fields}
    total = 0
    batch: list[list] = []
    for row in rows:
        batch.append([row.get(f.attname, defaults[f.attname]) for f in fields])
        if len(batch) >= chunk:
            total += copy_into(model._meta.db_table, fields, batch)
            batch = []
    return total + copy_into(model._meta.db_table, fields, batch)


def _reset_sequence(model: type[models.Model]) -> None:
    with connection.cursor() as cursor:
        table = model._meta.db_table
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), COALESCE((SELECT MAX(id) FROM \"{table}\"), 1))"
        )


def load_world(*, users: int, posts: int, events: int, seed: int = 1, log=print) -> dict:
    """Synthetic world for serving benchmarks: ids are dense so the load generator can address them."""
    if connection.vendor != "postgresql":
        raise RuntimeError("the benchmark loader needs PostgreSQL (COPY)")
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    now = timezone.now()
    password = User().password  # unusable
    log(f"users: {users}")
    copy_rows(
        User,
        (
            {
                "id": i,
                "username": f"u{i}",
                "password": password or "!",
                "display_name": f"User {i}",
                "languages": [rng.choice(LANGS)],
                "location": rng.choice(LOCATIONS),
                "topics": rng.sample(CATEGORIES[:7], 2),
                "date_joined": now - dt.timedelta(days=rng.randint(1, 3000)),
                "trust_score": rng.random(),
                "is_active": True,
            }
            for i in range(1, users + 1)
        ),
    )
    _reset_sequence(User)
    log("follows")
    follows_per_user = 20

    def follow_rows():
        n = 0
        for follower in range(1, users + 1):
            targets = set((nprng.zipf(1.6, follows_per_user) % users) + 1)
            targets.discard(follower)
            for followee in targets:
                n += 1
                yield {"id": n, "follower_id": follower, "followee_id": int(followee), "created_at": now}

    copy_rows(Follow, follow_rows())
    _reset_sequence(Follow)

    log(f"events: {events}")
    centroids = nprng.standard_normal((events, 384)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    event_rows = []
    for i in range(1, events + 1):
        first = now - dt.timedelta(hours=rng.uniform(1, 30))
        event_rows.append(
            {
                "id": i,
                "title": f"Event {i} #{rng.choice(['final', 'quake', 'launch', 'vote', 'album'])}{i}",
                "summary": "Synthetic benchmark event.",
                "category": rng.choice(CATEGORIES),
                "language": rng.choice(LANGS),
                "location": rng.choice(LOCATIONS),
                "state": rng.choice(["emerging", "trending", "trending", "fading"]),
                "first_seen_at": first,
                "last_seen_at": now - dt.timedelta(minutes=rng.uniform(0, 120)),
                "centroid": pack(centroids[i - 1]),
                "tweet_count": 0,
                "author_count": 0,
                "trend_score": rng.expovariate(0.1),
                "velocity": rng.random(),
                "health": 0.7 + 0.3 * rng.random(),
                "created_at": first,
                "updated_at": now,
                "impressions": rng.randint(100, 5000),
                "clicks": rng.randint(0, 300),
            }
        )
    copy_rows(Event, event_rows)
    _reset_sequence(Event)

    log(f"posts: {posts}")
    base_id = 1_600_000_000_000_000_000
    assigned = int(posts * 0.8)
    event_of = nprng.zipf(1.3, assigned) % events + 1
    authors = nprng.integers(1, users + 1, posts)
    words = "goal match vote launch quake album rates final storm show rally market team fans live".split()

    def tweet_rows():
        for i in range(posts):
            created = now - dt.timedelta(seconds=int(rng.uniform(0, 30 * 3600)))
            yield {
                "id": base_id + i,
                "author_id": int(authors[i]),
                "text": " ".join(rng.choices(words, k=8)) + f" #{rng.choice(words)}",
                "lang": "en",
                "created_at": created,
                "ingested_at": created,
                "source": "bench",
                "hashtags": [],
                "mentions": [],
                "urls": [],
                "domains": [],
                "like_count": rng.randint(0, 50),
                "pipeline_state": 2 if i < assigned else 3,
                "health": 1.0,
            }

    copy_rows(Tweet, tweet_rows())

    def membership_rows():
        for i in range(assigned):
            yield {
                "tweet_id": base_id + i,
                "event_id": int(event_of[i]),
                "similarity": 0.8,
                "assigned_at": now,
                "tweet_created_at": now - dt.timedelta(seconds=int(rng.uniform(0, 30 * 3600))),
                "author_id": int(authors[i]),
            }

    copy_rows(EventMembership, membership_rows())
    log("denormalised counters")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE trends_event e SET tweet_count = s.n, author_count = s.a
            FROM (SELECT event_id, COUNT(*) n, COUNT(DISTINCT author_id) a FROM trends_eventmembership GROUP BY event_id) s
            WHERE e.id = s.event_id
            """
        )
        cursor.execute("ANALYZE")
    log("engagement")
    copy_rows(
        Engagement,
        (
            {
                "id": n + 1,
                "user_id": rng.randint(1, users),
                "event_id": rng.randint(1, events),
                "kind": rng.choice(["impression", "impression", "impression", "click", "dismiss"]),
                "created_at": now - dt.timedelta(minutes=rng.uniform(0, 600)),
                "surface": "for_you",
            }
            for n in range(users * 2)
        ),
    )
    _reset_sequence(Engagement)
    return {"users": users, "posts": posts, "events": events}
