"""The review flow in a real browser: a curator approves a pending event and it appears on Explore."""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PASSWORD = "correct-horse-battery"

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium_page(live_server):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made here are test set-up.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(10_000)
        try:
            yield context.new_page(), browser
        finally:
            context.close()
            browser.close()


def test_review_flow_in_browser(chromium_page, live_server, transactional_db, settings):
    from django.contrib.auth.models import Group

    from tests.curation.test_views import pending_trend
    from tests.factories import UserFactory
    from trends.curation.roles import CURATOR_GROUP, roles_ensure

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    page, browser = chromium_page
    roles_ensure()
    curator = UserFactory(username="browser_curator")
    curator.groups.add(Group.objects.get(name=CURATOR_GROUP))
    event = pending_trend("Volcano erupts in Iceland")

    # An anonymous visitor does not see the pending event.
    visitor = browser.new_context(base_url=live_server.url).new_page()
    visitor.goto("/")
    assert "Volcano erupts in Iceland" not in visitor.content()

    page.goto("/accounts/login/")
    page.fill("input[name=username]", "browser_curator")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("form").filter(has=page.locator("input[name=password]")).locator("[type=submit]").click()
    page.goto("/curation/queue/")
    assert page.locator("#pending-badge").inner_text() == "1"
    assert "Volcano erupts in Iceland" in page.locator("#review-queue").inner_text()
    with page.expect_navigation():
        page.click(f"#approve-{event.pk}")
    page.wait_for_selector("#queue-empty")
    assert "Approved 1 event(s)." in page.content()
    assert page.locator("#pending-badge").inner_text() == "0"

    # After approval it is on the Explore home page (fresh=1 skips the few-second feed cache).
    visitor.goto("/?fresh=1")
    assert "Volcano erupts in Iceland" in visitor.locator("main").inner_text()
    visitor.context.close()
