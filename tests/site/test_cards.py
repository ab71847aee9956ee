"""Event cards rendered once per change and filled in per reader (trends.site.card_html)."""

import pytest
from django.template.loader import render_to_string

from tests.factories import EventFactory
from trends import site

pytestmark = pytest.mark.django_db


def item(event, *, position=0, explanation="Because you follow @ana"):
    return site.FeedItem(event=event, score=1.0, explanation=explanation, position=position)


def card(it, **kw):
    args = {"surface": "for_you", "authenticated": True, "csrf_token": "tok123", "next_path": "/?tab=for-you"} | kw
    return site.card_html(item=it, **args)


def test_card_fills_in_the_readers_parts():
    event = EventFactory(title="Quake in the bay", tweet_count=1234, author_count=56)
    html = card(item(event, position=4))
    assert '<span class="card__rank">5</span>' in html
    assert "pos=4" in html and "src=for_you" in html
    assert "Because you follow @ana" in html
    assert html.count('value="tok123"') == 2 and 'name="next" value="/?tab=for-you"' in html
    assert "1.2K posts" in html and "56 people" in html
    assert "<card-" not in html


def test_same_event_other_reader_gets_own_rank_reason_and_token():
    event = EventFactory(title="Final score")
    first = card(item(event, position=0, explanation="Popular in Lisbon"), csrf_token="aaa")
    second = card(item(event, position=7, explanation=""), csrf_token="bbb", next_path="/?tab=for-you&page=2")
    assert "Popular in Lisbon" in first and 'value="aaa"' in first
    assert '<span class="card__rank">8</span>' in second and 'value="bbb"' in second
    assert "card__why" not in second and "Popular in Lisbon" not in second
    assert 'value="/?tab=for-you&amp;page=2"' in second


def test_card_follows_changes_to_the_event():
    event = EventFactory(title="Old title", tweet_count=10)
    assert "Old title" in card(item(event))
    event.title, event.tweet_count = "New title", 2000
    html = card(item(event))
    assert "New title" in html and "Old title" not in html and "2K posts" in html


def test_markers_in_user_text_are_escaped_not_filled_in():
    event = EventFactory(title=f"{site.CARD_WHY} {site.CARD_CSRF} <script>x</script>")
    html = card(item(event, explanation=f"<b>{site.CARD_RANK}</b>"), csrf_token="secret-token")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;card-why-9c1e&gt;" in html and "&lt;card-csrf-9c1e&gt;" in html
    assert html.count("secret-token") == 2  # only the two form fields
    assert "&lt;b&gt;&lt;card-rank-9c1e&gt;&lt;/b&gt;" in html


def test_signed_out_card_has_no_forms():
    html = card(item(EventFactory()), authenticated=False)
    assert "<form" not in html and "tok123" not in html


def test_cached_card_equals_a_direct_render():
    event = EventFactory(title="Same either way", location="Lisbon")
    it = item(event, position=2, explanation="Trending in News")
    direct = render_to_string(
        "trends/_event_card.html",
        {"item": it, "rank": 3, "pos": 2, "why": it.explanation, "surface": "for_you", "authenticated": True,
         "csrf_token": "tok123", "next_path": "/?tab=for-you"},
    )
    card(it)  # fills the cache
    assert card(it) == direct
