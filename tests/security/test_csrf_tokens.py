"""The other half of CSRF: legitimate forms and htmx requests carry the token, so they keep working."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from tests.factories import EventFactory, TweetFactory, add_members
from tests.security.conftest import client_for

pytestmark = pytest.mark.django_db
HX_WRITES = ("hx-post", "hx-put", "hx-patch", "hx-delete")


class Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack: list[dict] = []
        self.forms: list[dict] = []
        self.hx: list[dict] = []
        self.body_headers: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body_headers = attrs.get("hx-headers")
        if tag == "form":
            form = {"method": (attrs.get("method") or "get").lower(), "action": attrs.get("action"), "token": False}
            self.forms.append(form)
            self.stack.append(form)
        if tag == "input" and attrs.get("name") == "csrfmiddlewaretoken" and self.stack and attrs.get("value"):
            self.stack[-1]["token"] = True
        if any(name in attrs for name in HX_WRITES):
            self.hx.append({"tag": tag, **attrs})

    def handle_endtag(self, tag):
        if tag == "form" and self.stack:
            self.stack.pop()


@pytest.mark.parametrize("role", ["anonymous", "user", "curator"])
def test_every_post_form_and_htmx_write_carries_the_csrf_token(world, role):
    event = world["event"]
    add_members(event, [TweetFactory(text="More on the harbour fire #fire")])
    EventFactory(title="Second event")
    client = client_for(world["users"][role], csrf=True)
    pages = ["/", "/?tab=trending", f"/events/{event.pk}/", "/search/?q=fire", "/@olga_owner/",
             "/accounts/login/", "/accounts/signup/", "/compose/", "/accounts/settings/", "/curation/queue/"]
    seen_forms = 0
    for url in pages:
        response = client.get(url)
        if response.status_code != 200:
            continue
        parser = Forms()
        parser.feed(response.content.decode())
        for form in parser.forms:
            if form["method"] == "post":
                seen_forms += 1
                assert form["token"], f"POST form to {form['action']} on {url} has no CSRF token"
        if parser.hx:
            headers = json.loads(parser.body_headers or "{}")
            token = headers.get("X-CSRFToken", "")
            assert re.fullmatch(r"[A-Za-z0-9]{32,64}", token), f"htmx writes on {url} but no X-CSRFToken header"
    assert seen_forms > 0


def test_the_rendered_token_is_accepted(world):
    """A token taken from the page works: CSRF protection is not simply refusing everything."""
    client = client_for(world["users"]["user"], csrf=True)
    page = client.get("/compose/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post("/compose/", {"text": "posted with a real token", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    htmx = client.post(f"/events/{world['event'].pk}/dismiss/", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert htmx.status_code < 400
