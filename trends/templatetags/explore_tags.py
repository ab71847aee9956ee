"""Template helpers for user-written content and compact numbers.

`linkify` is the one place where post text becomes HTML: every piece is escaped first and only
http(s) URLs, #hashtags and @mentions become links, so a post can never inject markup or script.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode, urlsplit

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from trends import site
from trends.text import URL_RE

register = template.Library()

_TRAILING = ".,;:!?)]}'\"…"
TOKEN_RE = re.compile(
    r"(?P<url>" + URL_RE.pattern + r")"
    r"|(?P<tag>(?<![\w&])#\w{1,100})"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{1,30})",
    re.IGNORECASE | re.UNICODE,
)
URL_DISPLAY_MAX = 40
REL = "nofollow noopener ugc"


def _url_link(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return escape(url)
    shown = url.split("://", 1)[1]
    if len(shown) > URL_DISPLAY_MAX:
        shown = shown[: URL_DISPLAY_MAX - 1] + "…"
    return f'<a href="{escape(url)}" rel="{REL}" target="_blank">{escape(shown)}</a>'


@register.filter(needs_autoescape=False)
def linkify(text: str | None) -> SafeString:
    """Escaped post text with safe links for URLs, hashtags and mentions."""
    text = str(text or "")
    out: list[str] = []
    pos = 0
    for match in TOKEN_RE.finditer(text):
        out.append(escape(text[pos : match.start()]))
        token = match.group(0)
        if match.group("url"):
            url = token.rstrip(_TRAILING)
            out.append(_url_link(url))
            out.append(escape(token[len(url) :]))
        elif match.group("tag"):
            href = reverse("trends:search") + "?" + urlencode({"q": token})
            out.append(f'<a href="{escape(href)}" class="hashtag">{escape(token)}</a>')
        else:
            href = reverse("trends:profile", args=[quote(token[1:])])
            out.append(f'<a href="{escape(href)}" class="mention">{escape(token)}</a>')
        pos = match.end()
    out.append(escape(text[pos:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped


@register.filter
def compact(value) -> str:
    """1234 -> 1.2K."""
    try:
        return site.compact_number(int(value))
    except (TypeError, ValueError):
        return ""


@register.filter
def ago(value, style: str = "short") -> str:
    """A relative time: "now", "5m", "3h", "2d" or a date; style "long" says "5m ago", "just now"."""
    if not value:
        return ""
    seconds = (timezone.now() - value).total_seconds()
    if seconds < 60:
        return "just now" if style == "long" else "now"
    if seconds < 7 * 86400:
        for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
            if seconds >= size:
                text = f"{int(seconds // size)}{unit}"
                break
        return f"{text} ago" if style == "long" else text
    return f"{value:%b} {value.day}"


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """The current query string with some parameters changed (None removes one)."""
    request = context.get("request")
    params = request.GET.copy() if request is not None else {}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode() if hasattr(params, "urlencode") else urlencode(params)
    return "?" + encoded if encoded else "?"


@register.simple_tag(takes_context=True)
def event_card(context, item) -> SafeString:
    """A feed card, from the per-process card cache (trends.site.card_html)."""
    request = context.get("request")
    next_path = context.get("next_path") or (request.get_full_path() if request is not None else "/")
    user = context.get("user")
    html = site.card_html(
        item=item,
        surface=context.get("surface", ""),
        authenticated=bool(getattr(user, "is_authenticated", False)),
        csrf_token=str(context.get("csrf_token", "")),
        next_path=next_path,
    )
    return mark_safe(html)  # noqa: S308 - built from an autoescaped template; filled-in parts are escaped
