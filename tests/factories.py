"""factory_boy factories shared by every test package."""

import datetime as dt

import factory
from django.utils import timezone

from trends import services
from trends.models import Engagement, Event, EventMembership, EventState, Tweet
from users.models import Follow, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda o: o.username.title())
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    languages = factory.LazyFunction(lambda: ["en"])
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class FollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followee = factory.SubFactory(UserFactory)


class TweetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tweet

    id = factory.LazyFunction(services.snowflake_id)
    author = factory.SubFactory(UserFactory)
    text = factory.Sequence(lambda n: f"Post number {n} about things")
    lang = "en"
    created_at = factory.LazyFunction(timezone.now)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    title = factory.Sequence(lambda n: f"Event {n}")
    category = "news"
    language = "en"
    state = EventState.TRENDING
    first_seen_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=2))
    last_seen_at = factory.LazyFunction(timezone.now)
    tweet_count = 10
    author_count = 10
    trend_score = 5.0


class EngagementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Engagement

    user = factory.SubFactory(UserFactory)
    event = factory.SubFactory(EventFactory)
    kind = Engagement.Kind.IMPRESSION
    created_at = factory.LazyFunction(timezone.now)


def add_members(event: Event, tweets: list[Tweet]) -> None:
    """Put posts into an event, keeping the denormalised columns the way the pipeline writes them."""
    EventMembership.objects.bulk_create(
        [
            EventMembership(tweet=t, event=event, similarity=0.9, tweet_created_at=t.created_at, author_id=t.author_id)
            for t in tweets
        ]
    )
    event.tweet_count = EventMembership.objects.filter(event=event).count()
    # Never below the factory's author_count: tests add a few posts to an event that stands for a
    # bigger one (public events need TREND_MIN_UNIQUE_AUTHORS distinct authors).
    event.author_count = max(
        event.author_count, EventMembership.objects.filter(event=event).values("author_id").distinct().count()
    )
    event.save(update_fields=["tweet_count", "author_count"])
