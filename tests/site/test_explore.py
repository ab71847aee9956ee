import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import EventFactory
from trends import site
from trends.models import Engagement

pytestmark = pytest.mark.django_db


def card_ids(response) -> set[int]:
    import re

    return {int(m) for m in re.findall(r'<li class="card" id="event-(\d+)"', response.content.decode())}


def test_anonymous_home_shows_trending_without_for_you(client, world, no_ranking):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'aria-current="page"' in html and ">Trending</a>" in html
    assert "For You" not in html
    assert card_ids(response) == {e.pk for e in world}
    # context line, post count, recency and the explanation
    assert "News · Trending" in html
    assert "3 posts" in html
    assert "Trending in News" in html
    # logged-out visitors get no feedback buttons
    assert "Not interested" not in html


def test_anonymous_for_you_falls_back_to_trending(client, world, no_ranking):
    response = client.get("/?tab=for-you")
    assert response.status_code == 200
    assert card_ids(response) == {e.pk for e in world}


def test_unknown_tab_and_bad_page_are_not_errors(client, world, no_ranking):
    assert client.get("/?tab=<script>").status_code == 200
    assert client.get("/?page=abc").status_code == 200
    assert client.get("/?page=-5").status_code == 200


@pytest.mark.parametrize("tab,category", [("news", "news"), ("sports", "sports"), ("technology", "technology")])
def test_topic_tabs_filter_by_category(client, world, no_ranking, tab, category):
    response = client.get(f"/?tab={tab}")
    assert card_ids(response) == {e.pk for e in world if e.category == category}


def test_logged_in_home_defaults_to_for_you_with_bounded_queries(client, user, world, no_ranking, django_assert_max_num_queries):
    client.force_login(user)
    with django_assert_max_num_queries(8):
        response = client.get("/")
    html = response.content.decode()
    assert "For You" in html and "Picked for you" in html
    assert card_ids(response) == {e.pk for e in world}
    assert "Not interested" in html and "Spam or abusive" in html
    # the impression beacon lists every card shown
    assert html.count('name="e" value=') == len(world)


def test_query_count_does_not_grow_with_events(client, user, no_ranking, django_assert_max_num_queries):
    EventFactory.create_batch(40)
    client.force_login(user)
    with django_assert_max_num_queries(8):
        client.get("/?tab=trending")
    with django_assert_max_num_queries(8):
        client.get("/?tab=news&page=2")


def test_feed_is_cached_per_user(client, user, world, no_ranking, django_assert_max_num_queries, django_assert_num_queries):
    client.force_login(user)
    client.get("/?tab=trending")
    # second render: session (none when sessions live in the cache) and user only, the feed from the cache
    with django_assert_max_num_queries(2) as queries:
        response = client.get("/?tab=trending")
    assert not [q for q in queries.captured_queries if "trends_" in q["sql"]]
    assert card_ids(response) == {e.pk for e in world}


def test_htmx_tab_switch_returns_partial(client, world, no_ranking, htmx_headers):
    response = client.get("/?tab=sports", **htmx_headers("explore"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="explore"' in html
    assert "HX-Request" in response["Vary"]
    assert card_ids(response) == {e.pk for e in world if e.category == "sports"}


def test_paging_plain_and_htmx(client, no_ranking, htmx_headers):
    events = EventFactory.create_batch(site.PAGE_SIZE + 5, category="news")
    first = client.get("/?tab=news")
    assert len(card_ids(first)) == site.PAGE_SIZE
    assert 'id="feed-more"' in first.content.decode()
    second = client.get("/?tab=news&page=2")
    assert card_ids(second) == {e.pk for e in events} - card_ids(first)
    assert "Newer" in second.content.decode()
    more = client.get("/?tab=news&page=2", **htmx_headers("feed-more"))
    html = more.content.decode()
    assert 'class="tabs"' not in html and "<html" not in html
    assert card_ids(more) == card_ids(second)
    assert 'id="feed-more"' not in html


def test_dismiss_removes_card_for_that_user_only(client, user, world, no_ranking):
    other = Client()
    from tests.factories import UserFactory

    other.force_login(UserFactory())
    client.force_login(user)
    target = world[0]
    assert target.pk in card_ids(client.get("/?tab=trending"))  # fills the cache
    response = client.post(f"/events/{target.pk}/dismiss/", {"surface": "trending", "next": "/?tab=trending"})
    assert response.status_code == 302 and response["Location"] == "/?tab=trending"
    assert target.pk not in card_ids(client.get("/?tab=trending"))
    assert target.pk not in card_ids(client.get("/?tab=news"))
    assert target.pk in card_ids(other.get("/?tab=trending"))
    assert Engagement.objects.filter(user=user, event=target, kind="dismiss", surface="trending").exists()


def test_dismiss_htmx_returns_empty_swap(client, user, world, htmx_headers):
    client.force_login(user)
    response = client.post(f"/events/{world[1].pk}/dismiss/", **htmx_headers(f"event-{world[1].pk}"))
    html = response.content.decode()
    assert response.status_code == 200
    # only an out-of-band status message: the card itself is replaced by nothing
    assert html.strip().startswith('<div id="feed-status"') and 'hx-swap-oob="true"' in html
    assert "Hidden: " in html and 'class="card"' not in html
    assert 'id="feed-status"' in client.get("/").content.decode()


def test_dismiss_rejects_offsite_next(client, user, world):
    client.force_login(user)
    response = client.post(f"/events/{world[1].pk}/dismiss/", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_report_counts_against_event_and_hides_it(client, user, world, no_ranking):
    client.force_login(user)
    target = world[2]
    response = client.post(f"/events/{target.pk}/report/")
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.spam_reports == 1 and target.health < 1.0
    assert target.pk not in card_ids(client.get("/?tab=trending"))


def test_feedback_requires_post_login_and_csrf(client, user, world):
    url = f"/events/{world[0].pk}/dismiss/"
    anon = client.post(url)
    assert anon.status_code == 302 and "/accounts/login/" in anon["Location"]
    client.force_login(user)
    assert client.get(url).status_code == 405
    assert client.post("/events/999999/dismiss/").status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(url).status_code == 403
    assert strict.post(f"/events/{world[0].pk}/report/").status_code == 403
    assert not Engagement.objects.filter(user=user).exists()


def test_impression_beacon_logs_one_batch(client, user, world, django_assert_max_num_queries):
    client.force_login(user)
    ids = [e.pk for e in world[:3]]
    with django_assert_max_num_queries(12):
        response = client.post("/explore/seen/", {"e": ids, "offset": "20", "surface": "for_you", "variant": "control"})
    assert response.status_code == 204
    rows = list(Engagement.objects.filter(user=user, kind="impression").order_by("position"))
    assert [(r.event_id, r.position, r.surface, r.variant) for r in rows] == [
        (ids[0], 20, "for_you", "control"),
        (ids[1], 21, "for_you", "control"),
        (ids[2], 22, "for_you", "control"),
    ]
    world[0].refresh_from_db()
    assert world[0].impressions == 1


def test_impression_beacon_ignores_anonymous_and_rejects_unknown(client, user, world):
    assert client.post("/explore/seen/", {"e": [world[0].pk]}).status_code == 204
    assert not Engagement.objects.exists()
    client.force_login(user)
    assert client.post("/explore/seen/", {"e": ["999999"]}).status_code == 400
    assert client.post("/explore/seen/", {"e": ["x"]}).status_code == 204
    assert not Engagement.objects.exists()
    assert client.get("/explore/seen/").status_code == 405


def test_new_events_banner(client, world, htmx_headers):
    from trends.models import Event

    Event.objects.update(created_at=timezone.now() - dt.timedelta(minutes=2))
    since = int((timezone.now() - dt.timedelta(minutes=5)).timestamp())
    response = client.get(f"/explore/new/?tab=trending&since={since}", **htmx_headers("new-banner"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"{len(world)} new events — show" in html
    assert 'hx-trigger="every 30s"' in html
    news = client.get(f"/explore/new/?tab=news&since={since}", **htmx_headers("new-banner"))
    assert "2 new events" in news.content.decode()
    later = int((timezone.now() - dt.timedelta(minutes=1)).timestamp())
    quiet = client.get(f"/explore/new/?tab=trending&since={later}", **htmx_headers("new-banner"))
    assert "new event" not in quiet.content.decode()
    for junk in ("10000000000000000", "-1", "abc", "1e9"):
        assert client.get(f"/explore/new/?since={junk}", **htmx_headers("new-banner")).status_code == 200
    # without htmx the endpoint sends people to the tab itself
    plain = client.get(f"/explore/new/?tab=news&since={since}")
    assert plain.status_code == 302 and plain["Location"] == "/?tab=news"


def test_ranker_output_and_explanations_are_shown(client, user, world, monkeypatch):
    from trends.ranking.types import RankedEvent

    calls = {}

    def rank_for_user(*, user, limit, offset, category=None):
        calls["args"] = (user.pk, limit, offset, category)
        return [RankedEvent(event=world[3], score=1.0, explanation="Because you follow @a and @b", features={}, variant="v2")]

    monkeypatch.setattr(site, "_ranking_function", lambda name: rank_for_user if name == "rank_for_user" else None)
    client.force_login(user)
    response = client.get("/?tab=for-you")
    html = response.content.decode()
    assert card_ids(response) == {world[3].pk}
    assert "Because you follow @a and @b" in html
    assert 'name="variant" value="v2"' in html
    assert calls["args"] == (user.pk, site.PAGE_SIZE + 1, 0, None)


def test_broken_ranker_falls_back_to_trending(client, user, world, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("ranker bug")

    monkeypatch.setattr(site, "_ranking_function", lambda name: boom)
    client.force_login(user)
    response = client.get("/?tab=for-you")
    assert response.status_code == 200
    assert card_ids(response) == {e.pk for e in world}


def test_trending_prefers_users_location_and_falls_back(client, user, world, no_ranking):
    local = EventFactory(title="Lisbon marathon", category="sports", location="Lisbon")
    user.location, user.show_local_trends = "lisbon", True
    user.save()
    client.force_login(user)
    response = client.get("/?tab=trending")
    assert card_ids(response) == {local.pk}
    assert "Popular in Lisbon" in response.content.decode()
    user.location = "Nowhere"
    user.save()
    site.feed_invalidate(user=user)
    assert card_ids(client.get("/?tab=trending")) == {e.pk for e in world} | {local.pk}


def test_real_ranking_module_renders_if_present(client, user, world):
    """Whatever trends.ranking currently provides, For You and Trending render without errors."""
    client.force_login(user)
    assert client.get("/?tab=for-you").status_code == 200
    assert client.get("/?tab=trending").status_code == 200


def test_fresh_skips_the_cached_feed(client, world, no_ranking):
    client.get("/?tab=trending")
    new = EventFactory(title="Just now")
    assert new.pk not in card_ids(client.get("/?tab=trending"))  # cached copy
    assert new.pk in card_ids(client.get("/?tab=trending&fresh=1"))
    assert new.pk in card_ids(client.get("/?tab=trending"))  # the fresh copy replaced the cache


def test_history_restore_gets_the_whole_page(client, world, no_ranking):
    response = client.get("/?tab=news", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def test_trending_near_me_can_show_everywhere(client, user, world, no_ranking):
    local = EventFactory(title="Porto festival", category="entertainment", location="Porto")
    user.location, user.show_local_trends = "Porto", True
    user.save()
    client.force_login(user)
    near = client.get("/?tab=trending")
    assert card_ids(near) == {local.pk}
    assert "Trending near Porto" in near.content.decode()
    everywhere = client.get("/?tab=trending&scope=all")
    assert card_ids(everywhere) == {e.pk for e in world} | {local.pk}
    assert "Show trends near Porto" in everywhere.content.decode()
    # turning the setting off makes Trending global
    user.show_local_trends = False
    user.save()
    site.feed_invalidate(user=user)
    assert card_ids(client.get("/?tab=trending")) == {e.pk for e in world} | {local.pk}


def test_feed_items_survive_pickling_with_memoryview_columns():
    import pickle

    event = EventFactory.build(centroid=memoryview(b"\x00\x01"))
    site._make_picklable(event)
    assert pickle.loads(pickle.dumps(event)).centroid == b"\x00\x01"


def test_noscript_pixel_logs_impressions_once_for_its_user(client, user, world, no_ranking):
    import re

    from tests.factories import UserFactory

    client.force_login(user)
    html = client.get("/?tab=trending").content.decode()
    src = re.search(r'<noscript><img src="([^"]+)"', html).group(1).replace("&amp;", "&")
    # someone else cannot spend this user's pixel
    other = Client()
    other.force_login(UserFactory())
    assert other.get(src)["Content-Type"] == "image/gif"
    assert not Engagement.objects.filter(kind="impression").exists()
    response = client.get(src)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response["Cache-Control"] == "no-store"
    rows = Engagement.objects.filter(user=user, kind="impression")
    assert sorted(rows.values_list("position", flat=True)) == list(range(len(world)))
    assert set(rows.values_list("surface", flat=True)) == {"trending"}
    client.get(src)  # replayed: not counted again
    assert rows.count() == len(world)
    assert client.get("/explore/seen.gif?t=forged").status_code == 200
    assert rows.count() == len(world)


def test_anonymous_pages_have_no_pixel(client, world, no_ranking):
    assert "noscript" not in client.get("/").content.decode()
    assert client.get("/explore/seen.gif").status_code == 200


def test_banner_waits_until_new_events_reach_the_ranking_pool(client, settings, htmx_headers):
    settings.RANKING_POOL_TTL_S = 60
    since = int((timezone.now() - dt.timedelta(minutes=5)).timestamp())
    EventFactory(title="Brand new")
    url = f"/explore/new/?tab=trending&since={since}"
    assert "new event" not in client.get(url, **htmx_headers("new-banner")).content.decode()
    settings.RANKING_POOL_TTL_S = 0
    assert "1 new event — show" in client.get(url, **htmx_headers("new-banner")).content.decode()


def test_busy_database_drops_impressions_without_failing(client, user, world, monkeypatch):
    from django.db import OperationalError

    from trends import services

    def busy(**kwargs):
        raise OperationalError("database table is locked")

    monkeypatch.setattr(services, "engagement_log_batch", busy)
    client.force_login(user)
    assert client.post("/explore/seen/", {"e": [world[0].pk]}).status_code == 204
    assert client.get(f"/events/{world[0].pk}/?src=for_you&pos=1").status_code == 200
