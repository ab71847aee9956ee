import datetime as dt

import numpy as np
import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from tests.factories import EventFactory, TweetFactory, UserFactory, add_members
from trends.curation.roles import ADMIN_GROUP, CURATOR_GROUP, roles_ensure
from trends.embedding import pack
from trends.models import EventMembership
from users.models import User


@pytest.fixture
def roles(db):
    roles_ensure()


def _member_of(group_name: str, **kwargs) -> User:
    user = UserFactory(**kwargs)
    user.groups.add(Group.objects.get(name=group_name))
    # A fresh instance: has_perm caches permissions on the object it first asked.
    return User.objects.get(pk=user.pk)


@pytest.fixture
def curator(roles):
    return _member_of(CURATOR_GROUP, username="carla_curator", email="carla@example.org")


@pytest.fixture
def ts_admin(roles):
    return _member_of(ADMIN_GROUP, username="tess_admin", email="tess@example.org")


@pytest.fixture
def plain_user(db):
    return UserFactory(username="pat_plain")


def unit(vector):
    vector = np.asarray(vector, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def make_event(*, posts: int = 4, authors: int | None = None, direction: int = 0, **fields):
    """An event with `posts` members, embedded near the basis vector `direction`."""
    event = EventFactory(**fields)
    authors_list = [UserFactory() for _ in range(authors or posts)]
    rng = np.random.default_rng(event.pk)
    base = np.zeros(384, dtype=np.float32)
    base[direction] = 1.0
    now = timezone.now()
    tweets = []
    for i in range(posts):
        vector = unit(base + rng.normal(0, 0.02, 384))
        tweets.append(
            TweetFactory(
                author=authors_list[i % len(authors_list)],
                created_at=now - dt.timedelta(minutes=posts - i),
                embedding=pack(vector),
                embedding_model="test",
                pipeline_state=2,
            )
        )
    add_members(event, tweets)
    event.centroid = pack(base)
    event.save(update_fields=["centroid"])
    event.refresh_from_db()
    return event, tweets


@pytest.fixture
def event_factory(db):
    return make_event


def member_ids(event):
    return set(EventMembership.objects.filter(event=event).values_list("tweet_id", flat=True))
