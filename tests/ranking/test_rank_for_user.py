"""rank_for_user and trending_events against the database."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from tests.factories import EngagementFactory, FollowFactory, TweetFactory, UserFactory, add_members
from tests.ranking.conftest import unit
from trends.models import Engagement, RankedItem, ReviewStatus
from trends.ranking import rank_for_user, trending_events
from trends.ranking.selectors import ranking_caches_invalidate

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_event):
    cats = ["sports", "news", "technology", "politics", "science", "business", "entertainment"]
    return [
        make_event(title=f"E{i}", category=cats[i % len(cats)], trend_score=100.0 - i, vec=unit(i))
        for i in range(40)
    ]


def ids(items):
    return [it.event.pk for it in items]


def test_anonymous_gets_trending_order(world):
    for user in (None, AnonymousUser()):
        items = rank_for_user(user=user, limit=10)
        assert ids(items) == [e.pk for e in world[:10]]
        assert all(it.explanation.startswith("Trending in ") for it in items)
    assert RankedItem.objects.count() == 0


def test_for_you_returns_ranked_events_and_logs_them(world):
    user = UserFactory(topics=["technology"])
    items = rank_for_user(user=user, limit=10)
    assert len(items) == 10
    assert len(set(ids(items))) == 10
    assert [it.position for it in items] == list(range(1, 11))
    assert all(it.features and "interest_sim" in it.features for it in items)
    assert all(it.variant == "default" for it in items)
    stored = list(RankedItem.objects.filter(user=user).order_by("position"))
    assert [r.event_id for r in stored] == ids(items)
    assert stored[0].explanation == items[0].explanation


def test_query_count_is_bounded(world, django_assert_max_num_queries):
    user = UserFactory(topics=["sports"], location="Lisbon")
    friend = UserFactory()
    FollowFactory(follower=user, followee=friend)
    add_members(world[5], [TweetFactory(author=friend)])
    for e in world[:10]:
        EngagementFactory(user=user, event=e, kind="impression")
    EngagementFactory(user=user, event=world[1], kind="click")
    EngagementFactory(user=user, event=world[2], kind="dismiss")
    ranking_caches_invalidate()
    with django_assert_max_num_queries(12):
        rank_for_user(user=user, limit=20)
    # A warm pool: still bounded, no per-event queries.
    with django_assert_max_num_queries(10):
        rank_for_user(user=user, limit=20, offset=20)


def test_dismissed_and_reported_events_are_never_shown(world):
    user = UserFactory()
    EngagementFactory(user=user, event=world[0], kind=Engagement.Kind.DISMISS)
    EngagementFactory(user=user, event=world[3], kind=Engagement.Kind.REPORT)
    shown = set()
    for offset in range(0, 40, 10):
        shown |= set(ids(rank_for_user(user=user, limit=10, offset=offset)))
    assert world[0].pk not in shown and world[3].pk not in shown
    assert len(shown) == 38


def test_dismiss_takes_effect_immediately(world):
    user = UserFactory()
    first = rank_for_user(user=user, limit=5)
    EngagementFactory(user=user, event=first[0].event, kind=Engagement.Kind.DISMISS)
    again = rank_for_user(user=user, limit=5)
    assert first[0].event.pk not in ids(again)


def test_hidden_rejected_and_pending_events_never_appear(world):
    user = UserFactory()
    rank_for_user(user=user, limit=5)  # warm the pool cache first: hiding must still win
    world[0].hidden = True
    world[0].save()
    world[1].review_status = ReviewStatus.REJECTED
    world[1].save()
    world[2].review_status = ReviewStatus.PENDING
    world[2].save()
    shown = ids(rank_for_user(user=user, limit=40)) + ids(trending_events(limit=40))
    assert not {world[0].pk, world[1].pk, world[2].pk} & set(shown)


def test_pinned_event_sits_in_its_slot(world):
    user = UserFactory(topics=["sports"])
    pinned = world[-1]
    pinned.pinned_slot = 2
    pinned.pinned_until = timezone.now() + dt.timedelta(hours=1)
    pinned.save()
    ranking_caches_invalidate()
    assert ids(rank_for_user(user=user, limit=10))[1] == pinned.pk
    assert ids(trending_events(limit=10))[1] == pinned.pk


def test_expired_pin_is_ignored(world):
    pinned = world[-1]
    pinned.pinned_slot = 1
    pinned.pinned_until = timezone.now() - dt.timedelta(minutes=1)
    pinned.save()
    ranking_caches_invalidate()
    assert pinned.pk not in ids(trending_events(limit=10))


def test_followed_accounts_drive_social_proof_and_explanation(world):
    user = UserFactory()
    a, b = UserFactory(username="alice"), UserFactory(username="bob")
    FollowFactory(follower=user, followee=a)
    FollowFactory(follower=user, followee=b)
    target = world[30]  # low trend score: only social proof can lift it
    add_members(target, [TweetFactory(author=a), TweetFactory(author=b)])
    items = rank_for_user(user=user, limit=10)
    by_id = {it.event.pk: it for it in items}
    assert target.pk in by_id
    assert by_id[target.pk].explanation == "Because you follow @alice and @bob"
    assert by_id[target.pk].features["social_count"] > 0


def test_engagement_pulls_similar_events_and_explains_it(make_event):
    base = unit(7)
    liked = make_event(title="Cup final", category="sports", trend_score=1.0, vec=base)
    near = base + 0.3 * unit(8)
    similar = make_event(title="Cup final replay", category="sports", trend_score=1.0, vec=near / (near ** 2).sum() ** 0.5)
    for i in range(30):
        make_event(title=f"Other {i}", category="news", trend_score=50.0 + i, vec=unit(100 + i))
    user = UserFactory()
    EngagementFactory(user=user, event=liked, kind="click")
    EngagementFactory(user=user, event=liked, kind="like")
    items = rank_for_user(user=user, limit=5)
    by_id = {it.event.pk: it for it in items}
    assert similar.pk in by_id
    assert by_id[similar.pk].explanation.startswith("Because you engaged with")


def test_local_events_explained_by_place(make_event):
    for i in range(10):
        make_event(title=f"N{i}", category="news", trend_score=10.0 + i, vec=unit(200 + i))
    local = make_event(title="Tram strike", category="news", location="Lisbon", trend_score=9.0, vec=unit(300))
    user = UserFactory(location="Lisbon")
    items = {it.event.pk: it for it in rank_for_user(user=user, limit=11)}
    assert items[local.pk].explanation == "Popular in Lisbon"
    elsewhere = UserFactory(location="Lisbon", show_local_trends=False)
    items = {it.event.pk: it for it in rank_for_user(user=elsewhere, limit=11)}
    assert items[local.pk].explanation == "Trending in News"
    assert items[local.pk].features["loc_match"] == 0
    near = trending_events(location="Lisbon", limit=5)
    assert ids(near) == [local.pk]
    assert near[0].explanation == "Popular in Lisbon"


def test_category_tab_and_language_filter(make_event):
    make_event(title="Futebol", category="sports", language="pt", trend_score=90.0)
    en_sports = make_event(title="Football", category="sports", language="en", trend_score=10.0)
    make_event(title="Markets", category="business", language="en", trend_score=50.0)
    user = UserFactory(languages=["en"])
    # Only one readable sports event: it comes first, the other language fills the page after it.
    assert ids(rank_for_user(user=user, limit=10, category="sports"))[0] == en_sports.pk
    assert {it.event.category for it in rank_for_user(user=user, limit=10, category="sports")} == {"sports"}
    assert len(trending_events(language="pt", limit=10)) == 1


def test_cold_start_follows_declared_topics(world):
    user = UserFactory(topics=["science"])
    top = rank_for_user(user=user, limit=10)
    sci = [it for it in top if it.event.category == "science"]
    # Science events are mid-pack by trend score, the declared topic lifts them into the top 10.
    assert len(sci) >= 2


def test_experiment_variant_applies(world):
    from trends.models import Experiment

    Experiment.objects.create(
        key="mmr", variants=[{"name": "formula-only", "weight": 100, "config": {"scorer": "formula"}}]
    )
    ranking_caches_invalidate()  # staff tools call this when they start an experiment
    user = UserFactory()
    items = rank_for_user(user=user, limit=3)
    assert {it.variant for it in items} == {"mmr:formula-only"}
    assert set(RankedItem.objects.values_list("variant", flat=True)) == {"mmr:formula-only"}


def test_exploration_pages_shuffle_but_keep_items_and_pins(world, settings):
    user = UserFactory()
    pinned = world[-1]
    pinned.pinned_slot = 3
    pinned.save()
    ranking_caches_invalidate()
    settings.RANKING_EXPLORE_RATE = 0.0
    plain = rank_for_user(user=user, limit=10)
    settings.RANKING_EXPLORE_RATE = 1.0
    explored = rank_for_user(user=user, limit=10)
    assert set(ids(explored)) == set(ids(plain))
    assert ids(explored)[2] == ids(plain)[2] == pinned.pk
    assert all(it.features.get("explore") == 1 for it in explored)
    assert not any(it.features.get("explore") for it in plain)
    assert [it.position for it in explored] == list(range(1, 11))


def test_language_filter_relaxes_rather_than_leaving_the_page_empty(make_event):
    pt = [make_event(title=f"PT{i}", category="news", language="pt", trend_score=10.0 + i) for i in range(5)]
    en = make_event(title="EN", category="news", language="en", trend_score=1.0)
    user = UserFactory(languages=["en"])
    items = rank_for_user(user=user, limit=6)
    assert len(items) == 6
    assert items[0].event.pk == en.pk  # the readable one still comes first
    assert {it.event.pk for it in items[1:]} == {e.pk for e in pt}
    # With enough events in the user's language, other languages stay out.
    for i in range(6):
        make_event(title=f"EN{i}", category="news", language="en", trend_score=2.0 + i)
    ranking_caches_invalidate()
    assert all(it.event.language == "en" for it in rank_for_user(user=user, limit=6))


def test_source_cap_by_domain_and_by_lead_author(make_event):
    spammer = UserFactory()
    by_author = []
    for i in range(4):
        tweet = TweetFactory(author=spammer)
        by_author.append(make_event(title=f"A{i}", category=["news", "sports", "science", "business"][i], trend_score=100.0 - i, representative_tweet_ids=[tweet.id]))
    by_domain = [
        make_event(title=f"D{i}", category=["politics", "technology", "entertainment", "other"][i], trend_score=90.0 - i, domains={"tabloid.example": 5})
        for i in range(4)
    ]
    fillers = [make_event(title=f"F{i}", category="news", trend_score=10.0 - i) for i in range(6)]
    for items in (rank_for_user(user=UserFactory(), limit=10), trending_events(limit=10)):
        shown = set(ids(items))
        assert len(shown & {e.pk for e in by_author}) == 2
        assert len(shown & {e.pk for e in by_domain}) == 2
        assert len(shown) == 10
    assert fillers
