"""User content is rendered escaped; links from users carry rel="nofollow noopener ugc"."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import EventFactory, TweetFactory, UserFactory, add_members
from tests.security.conftest import client_for
from trends.templatetags.explore_tags import linkify

REL = {"nofollow", "noopener", "ugc"}
PAYLOADS = [
    "<script>alert('xss')</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "<a href=\"javascript:alert(1)\">click</a>",
    "https://evil.example/\"onmouseover=\"alert(1)",
    "<svg/onload=alert(1)>",
    "{{ 7|add:7 }} {% now 'Y' %}",
]


class Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = tag

    def handle_data(self, data):
        self.text.append(data)
        if getattr(self, "_in", None) == "script":
            self.scripts.append(data)

    scripts: list[str]

    def reset(self):
        super().reset()
        self.scripts = []


def parse(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser


def assert_safe_fragment(html: str) -> None:
    parsed = parse(html)
    for tag, attrs in parsed.tags:
        assert tag == "a", f"unexpected <{tag}> in {html!r}"
        assert set(attrs) <= {"href", "rel", "target", "class"}, attrs
        href = attrs.get("href") or ""
        assert href.startswith(("http://", "https://", "/")), href
        if href.startswith("http"):
            assert set((attrs.get("rel") or "").split()) >= REL, attrs


@given(st.text(max_size=300))
def test_linkify_never_emits_markup_but_links(text):
    assert_safe_fragment(str(linkify(text)))


@given(st.lists(st.sampled_from([*PAYLOADS, " ", "#tag", "@someone", "https://example.org/a?b=c&d=<e>", "x"]),
                max_size=12))
def test_linkify_neutralises_hostile_fragments(parts):
    text = " ".join(parts)
    html = str(linkify(text))
    assert_safe_fragment(html)
    # Nothing is lost either: the words the user wrote are what a reader sees (long URLs are shortened).
    if "https://" not in text:
        assert "".join(parse(html).text) == text


@pytest.mark.django_db
def test_pages_render_hostile_user_content_escaped(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    payload = " ".join(PAYLOADS)
    author = UserFactory(username="mallory", display_name="<b>Mal</b><script>alert(2)</script>",
                         bio="<iframe src=//evil.example></iframe>", location="<i>x</i>")
    tweet = TweetFactory(author=author, text=f"harbour {payload} https://evil.example/path #fire")
    event = EventFactory(title="<script>alert('title')</script>", summary="<img src=x onerror=alert(3)>",
                         keywords=["<b>kw</b>"], review_status="auto", hidden=False)
    add_members(event, [tweet])
    viewer = client_for(UserFactory())
    pages = [f"/events/{event.pk}/", "/@mallory/", "/search/?q=harbour", "/?tab=trending", "/"]
    user_links = 0
    for url in pages:
        response = viewer.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "<b>Mal</b>" not in body and "<i>x</i>" not in body
        parsed = parse(body)
        assert not [s for s in parsed.scripts if "alert" in s], f"user script ran on {url}"
        for tag, attrs in parsed.tags:
            assert tag != "iframe", (url, tag)
            for name, value in attrs.items():
                assert not (name.startswith("on") and "alert" in (value or "")), (url, tag, attrs)
                assert not (value or "").lower().startswith("javascript:"), (url, tag, attrs)
            if tag == "a" and (attrs.get("href") or "").startswith("https://evil.example"):
                assert set((attrs.get("rel") or "").split()) >= REL, (url, attrs)
                user_links += 1
    assert user_links >= 2  # the post's link was rendered (event page and profile at least)
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in viewer.get(f"/events/{event.pk}/").content.decode()
