import datetime as dt
import re

import pytest
from django.utils import timezone

from tests.factories import EventFactory, TweetFactory, add_members
from tests.site.conftest import unit
from trends.embedding import pack
from trends.models import Engagement, EventBucket, EventLink, EventSnapshot, EventState, ReviewStatus

pytestmark = pytest.mark.django_db


def post_ids(html: str) -> list[int]:
    return [int(m) for m in re.findall(r'<li class="post" id="post-(\d+)"', html)]


def test_event_page_shows_numbers_and_sparkline_from_members(client, world, no_ranking):
    event = world[0]
    response = client.get(f"/events/{event.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert event.title in html and event.summary in html
    assert "<polyline" in html and "Posting volume over time: 3 posts" in html
    assert "<dt>Posts</dt><dd>3</dd>" in html


def test_sparkline_prefers_buckets(client, world):
    event = world[0]
    start = timezone.now() - dt.timedelta(hours=3)
    EventBucket.objects.bulk_create(
        [EventBucket(event=event, start=start + dt.timedelta(minutes=15 * i), tweets=n) for i, n in enumerate([1, 4, 9, 2])]
    )
    html = client.get(f"/events/{event.pk}/").content.decode()
    assert "Posting volume over time: 16 posts, peak 9" in html


def test_hidden_pending_merged_and_unknown_events_404(client, world):
    hidden = EventFactory(hidden=True)
    pending = EventFactory(review_status=ReviewStatus.PENDING)
    merged = EventFactory(state=EventState.MERGED)
    for event_id in (hidden.pk, pending.pk, merged.pk, 999999):
        response = client.get(f"/events/{event_id}/")
        assert response.status_code == 404
        assert "no longer public" in response.content.decode()


def test_story_so_far_with_snapshots_and_links(client, world):
    event, other, successor = world[0], world[4], world[1]
    now = timezone.now()
    EventSnapshot.objects.create(event=event, taken_at=now - dt.timedelta(hours=1), state="emerging", tweet_count=2, author_count=2, note="first reports")
    EventSnapshot.objects.create(event=event, taken_at=now - dt.timedelta(minutes=30), state="trending", tweet_count=30, author_count=20)
    EventSnapshot.objects.create(event=event, taken_at=now - dt.timedelta(minutes=40), state="trending", tweet_count=0, author_count=0)
    EventLink.objects.create(source=other, target=event, kind=EventLink.Kind.MERGE)
    EventLink.objects.create(source=event, target=successor, kind=EventLink.Kind.CONTINUATION)
    html = client.get(f"/events/{event.pk}/").content.decode()
    assert "The story so far" in html
    assert "first reports" in html and "30 posts from 20 people" in html
    assert "0 posts from 0 people" not in html
    assert f'Absorbed <a href="/events/{other.pk}/">' in html
    assert f'Continued as <a href="/events/{successor.pk}/">' in html
    # chronological: first seen, then the snapshots
    assert html.index("First posts seen") < html.index("first reports") < html.index("30 posts from 20 people")


def test_representative_posts_in_pipeline_order(client, world):
    event = world[0]
    extra = [TweetFactory(text=f"view {i}") for i in range(3)]
    add_members(event, extra)
    event.representative_tweet_ids = [extra[2].pk, extra[0].pk]
    event.save()
    html = client.get(f"/events/{event.pk}/").content.decode()
    section = html.split('id="viewpoints-heading"')[1].split("</section>")[0]
    assert post_ids(section) == [extra[2].pk, extra[0].pk]


def test_top_latest_toggle_plain_and_htmx(client, world, htmx_headers):
    event = EventFactory()
    now = timezone.now()
    old_popular = TweetFactory(text="old but popular", like_count=500, retweet_count=90, created_at=now - dt.timedelta(hours=2))
    fresh = TweetFactory(text="fresh", created_at=now)
    add_members(event, [old_popular, fresh])
    top = client.get(f"/events/{event.pk}/").content.decode()
    posts_section = top.split('id="event-posts"')[1]
    assert post_ids(posts_section)[:2] == [old_popular.pk, fresh.pk]
    latest = client.get(f"/events/{event.pk}/?order=latest").content.decode()
    assert post_ids(latest.split('id="event-posts"')[1])[:2] == [fresh.pk, old_popular.pk]
    partial = client.get(f"/events/{event.pk}/?order=latest", **htmx_headers("event-posts"))
    html = partial.content.decode()
    assert "<html" not in html and html.strip().startswith('<section id="event-posts"')
    assert post_ids(html) == [fresh.pk, old_popular.pk]
    assert 'aria-current="true" class="is-active"' in html


def test_event_posts_paging(client):
    event = EventFactory()
    add_members(event, [TweetFactory() for _ in range(25)])
    first = client.get(f"/events/{event.pk}/?order=latest").content.decode()
    assert len(post_ids(first.split('id="event-posts"')[1])) == 20 and "More posts" in first
    second = client.get(f"/events/{event.pk}/?order=latest&page=2").content.decode()
    assert len(post_ids(second.split('id="event-posts"')[1])) == 5 and "Previous" in second


def test_related_events_by_centroid(client, world):
    base = unit(42)
    near = base + 0.1 * unit(43)
    event = EventFactory(title="Base", centroid=pack(base))
    twin = EventFactory(title="Near twin", centroid=pack(near / (near**2).sum() ** 0.5))
    EventFactory(title="Hidden twin", centroid=pack(base), hidden=True)
    html = client.get(f"/events/{event.pk}/").content.decode()
    related = html.split('id="related-heading"')[1]
    assert f'/events/{twin.pk}/' in related
    assert "Hidden twin" not in related
    # random unit vectors of the world are unrelated
    assert world[2].title not in related


def test_event_page_bounded_queries(client, user, world, django_assert_max_num_queries):
    event = world[0]
    EventSnapshot.objects.create(event=event, taken_at=timezone.now(), state="trending", tweet_count=3, author_count=3)
    EventLink.objects.create(source=world[1], target=event, kind=EventLink.Kind.MERGE)
    client.force_login(user)
    # 11 reads (session, user, event, posts, buckets, members, snapshots, links, representatives, related)
    # plus the click record (check, insert, counter, savepoint pair).
    with django_assert_max_num_queries(16):
        response = client.get(f"/events/{event.pk}/?src=for_you&pos=2")
    assert response.status_code == 200
    click = Engagement.objects.get(user=user, kind="click")
    assert (click.event_id, click.surface, click.position) == (event.pk, "for_you", 2)


def test_click_not_logged_without_source_or_for_anonymous(client, user, world):
    client.get(f"/events/{world[0].pk}/?src=for_you")
    client.force_login(user)
    client.get(f"/events/{world[0].pk}/")
    client.get(f"/events/{world[0].pk}/?src=bogus")
    assert not Engagement.objects.exists()


def test_author_links_to_profile(client, world):
    html = client.get(f"/events/{world[0].pk}/").content.decode()
    assert 'href="/@reporter/"' in html


def test_merged_event_redirects_to_where_it_went(client, world):
    survivor = world[0]
    middle = EventFactory(state=EventState.MERGED, merged_into=survivor)
    old = EventFactory(state=EventState.MERGED, merged_into=middle)
    response = client.get(f"/events/{old.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/events/{survivor.pk}/"
    hidden_target = EventFactory(hidden=True)
    orphan = EventFactory(state=EventState.MERGED, merged_into=hidden_target)
    assert client.get(f"/events/{orphan.pk}/").status_code == 404


def test_top_posts_are_the_best_of_the_most_recent(settings, world):
    from trends import selectors

    settings.EVENT_TOP_POSTS_WINDOW = 3
    event = EventFactory()
    now = timezone.now()
    old_star = TweetFactory(created_at=now - dt.timedelta(hours=5), retweet_count=500, health=1.0)
    recent = [TweetFactory(created_at=now - dt.timedelta(minutes=m), retweet_count=m, health=1.0) for m in (1, 2, 3)]
    add_members(event, [old_star, *recent])
    top = selectors.event_tweets(event=event, order="top", limit=10)
    # The old post has the most retweets, but is outside the window of the 3 most recent.
    assert [t.pk for t in top] == [recent[2].pk, recent[1].pk, recent[0].pk]
    latest = selectors.event_tweets(event=event, order="latest", limit=10)
    assert [t.pk for t in latest] == [recent[0].pk, recent[1].pk, recent[2].pk, old_star.pk]
    settings.EVENT_TOP_POSTS_WINDOW = 10
    assert selectors.event_tweets(event=event, order="top", limit=1)[0].pk == old_star.pk


def test_related_events_leave_out_an_event_hidden_after_the_pool_was_loaded(world):
    from trends import site
    from trends.ranking.selectors import pool_cached

    base = unit(50)
    event = EventFactory(title="Base", centroid=pack(base))
    twin = EventFactory(title="Twin", centroid=pack(base))
    assert [e.pk for e, _ in site.event_related(event=event)] == [twin.pk]
    assert twin.pk in pool_cached(now=timezone.now()).ids  # still there until the pool reloads
    type(twin).objects.filter(pk=twin.pk).update(hidden=True)
    assert site.event_related(event=event) == []
