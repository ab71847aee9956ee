"""User-written text must render inert everywhere it appears."""

import pytest

from tests.factories import EventFactory, TweetFactory, UserFactory, add_members
from trends.templatetags.explore_tags import linkify

pytestmark = pytest.mark.django_db

HOSTILE = (
    '<script>alert("x")</script> <b onmouseover="alert(1)">bold</b> '
    "javascript:alert(document.cookie) <a href=\"javascript:alert(2)\">click</a> "
    "see http://example.org/a?b=1&c=<2> #tag @someone"
)


def assert_inert(html: str) -> None:
    assert "<script>alert" not in html
    assert "<b onmouseover" not in html
    assert 'href="javascript:' not in html.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


@pytest.fixture
def hostile(db):
    author = UserFactory(username="mallory", display_name='<img src=x onerror="alert(3)">', bio="<i>bio</i>")
    tweet = TweetFactory(author=author, text=HOSTILE)
    event = EventFactory(title='<svg onload="alert(4)">', summary="<iframe src=//evil>", keywords=["<k>"])
    add_members(event, [tweet])
    event.representative_tweet_ids = [tweet.pk]
    event.author_count = 10  # enough people for it to trend
    event.save()
    return author, tweet, event


def test_profile_renders_hostile_post_inert(client, hostile):
    html = client.get("/@mallory/").content.decode()
    assert_inert(html)
    assert '<img src=x onerror' not in html and "&lt;img src=x" in html
    assert "<i>bio</i>" not in html


def test_event_page_renders_hostile_content_inert(client, hostile):
    _, _, event = hostile
    html = client.get(f"/events/{event.pk}/").content.decode()
    assert_inert(html)
    assert '<svg onload' not in html and "<iframe" not in html and "<k>" not in html


def test_home_and_search_render_hostile_titles_inert(client, hostile, no_ranking):
    home = client.get("/?tab=news").content.decode()
    assert '<svg onload' not in home and "&lt;svg onload" in home
    results = client.get("/search/?q=alert").content.decode()
    assert_inert(results)


def test_links_in_posts_are_safe_and_marked_ugc(client, hostile):
    html = client.get("/@mallory/").content.decode()
    assert '<a href="http://example.org/a?b=1&amp;c=" rel="nofollow noopener ugc" target="_blank">' in html
    assert 'href="/search/?q=%23tag"' in html and 'href="/@someone/"' in html


@pytest.mark.parametrize(
    "text,expected",
    [
        ("plain & <b>", "plain &amp; &lt;b&gt;"),
        ("go to https://x.org/path.", 'go to <a href="https://x.org/path" rel="nofollow noopener ugc" target="_blank">x.org/path</a>.'),
        ("JAVASCRIPT:alert(1) data:text/html,<x>", "JAVASCRIPT:alert(1) data:text/html,&lt;x&gt;"),
        ("ftp://files.example/x", "ftp://files.example/x"),
        ('http://a.example/"onmouseover=alert(1)', '<a href="http://a.example/" rel="nofollow noopener ugc" target="_blank">a.example/</a>&quot;onmouseover=alert(1)'),
        ("mail a@b.com", "mail a@b.com"),
        ("#東京 rocks", '<a href="/search/?q=%23%E6%9D%B1%E4%BA%AC" class="hashtag">#東京</a> rocks'),
    ],
)
def test_linkify_cases(text, expected):
    assert str(linkify(text)) == expected


def test_linkify_shortens_long_urls():
    url = "https://example.org/" + "a" * 80
    out = str(linkify(url))
    assert f'href="{url}"' in out and "…</a>" in out


def test_linkify_never_emits_markup_beyond_safe_links():
    import re

    from hypothesis import given, settings
    from hypothesis import strategies as st

    alphabet = st.sampled_from(list("<>\"'&#@:/.?=() abcxyzJSjs\u202e\u200d😀東") + ["javascript:", "http://", "https://", "<script>", "onerror="])
    tag_re = re.compile(r"<(/?)([a-zA-Z]+)([^>]*)>")

    @settings(max_examples=300, deadline=None)
    @given(st.lists(alphabet, max_size=40).map("".join))
    def check(text):
        out = str(linkify(text))
        for closing, name, attrs in tag_re.findall(out):
            assert name == "a", out
            if not closing:
                href = re.search(r'href="([^"]*)"', attrs).group(1)
                assert href.startswith(("http://", "https://", "/search/?q=", "/@")), out
                assert 'rel="nofollow noopener ugc"' in attrs or href.startswith(("/search/", "/@")), out
        # Outside the links, everything is escaped text: no brackets or quotes survive raw.
        rest = tag_re.sub("", out)
        assert not set(rest) & set("<>\"'"), out

    check()
