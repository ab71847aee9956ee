import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import EventFactory, TweetFactory, UserFactory, add_members
from trends.embedding import pack


def unit(seed: int, dim: int = 384):
    import numpy as np

    rng = np.random.default_rng(seed)
    v = rng.normal(size=dim).astype("float32")
    return v / np.linalg.norm(v)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2 at production strength costs ~0.3 s per user; these tests check views, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db):
    """A few live events with members, buckets-free; one event in each tab's category."""
    author = UserFactory(username="reporter", display_name="Reporter")
    events = []
    for i, category in enumerate(["news", "sports", "entertainment", "technology", "news"]):
        event = EventFactory(
            title=f"{category.title()} story {i}",
            category=category,
            trend_score=10 - i,
            centroid=pack(unit(i)),
            summary=f"Summary of the {category} story",
            keywords=[category, f"kw{i}"],
        )
        tweets = [
            TweetFactory(author=author, text=f"{category} update {i}-{j}", created_at=timezone.now() - dt.timedelta(minutes=10 * j))
            for j in range(3)
        ]
        add_members(event, tweets)
        event.author_count = 10  # over TREND_MIN_UNIQUE_AUTHORS so it trends
        event.save(update_fields=["author_count"])
        events.append(event)
    return events


@pytest.fixture
def no_ranking(monkeypatch):
    """Force the selector fallback, so query-count bounds measure this site's own work."""
    from trends import site

    monkeypatch.setattr(site, "_ranking_function", lambda name: None)


@pytest.fixture
def htmx_headers():
    def make(target: str | None = None) -> dict:
        headers = {"HTTP_HX_REQUEST": "true"}
        if target:
            headers["HTTP_HX_TARGET"] = target
        return headers

    return make


@pytest.fixture
def curator(db):
    """A member of the curators' group, as curation services check it."""
    from django.contrib.auth.models import Group

    from trends.curation.roles import CURATOR_GROUP, roles_ensure

    roles_ensure()
    person = UserFactory(username="carla_curator")
    person.groups.add(Group.objects.get(name=CURATOR_GROUP))
    return type(person).objects.get(pk=person.pk)
