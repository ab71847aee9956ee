"""The main paths through the site in a real browser, with JavaScript on and off."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE
from trends.models import Engagement, Tweet
from users.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-passphrase-42"


def card(page, title):
    return page.locator("li.card", has=page.get_by_role("link", name=title, exact=True))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_main_paths(make_page, browser_world, javascript):
    page = make_page(javascript=javascript)
    handle = "newbie_js" if javascript else "newbie_nojs"

    # Sign up, then pick topics on the settings page it lands on.
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/accounts/settings/$"))
    expect(page.get_by_text(f"Welcome, @{handle}!")).to_be_visible()
    page.get_by_label("Sports").check()
    page.get_by_label("Technology").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    user = User.objects.get(username=handle)
    assert user.topics == ["sports", "technology"]

    # Explore home: For You by default; switch tabs (in place with JS, a plain link without).
    page.get_by_role("link", name="Explore home").click()
    expect(page.get_by_role("link", name="For You")).to_have_attribute("aria-current", "page")
    if javascript:
        page.evaluate("window.__sameDocument = true")
    page.get_by_role("link", name="Sports", exact=True).click()
    expect(page).to_have_url(re.compile(r"tab=sports"))
    expect(page.get_by_role("link", name="Sports", exact=True)).to_have_attribute("aria-current", "page")
    titles = page.locator("li.card h2").all_inner_texts()
    assert titles and all(t in {e.title for e in browser_world if e.category == "sports"} for t in titles)
    if javascript:
        assert page.evaluate("window.__sameDocument === true"), "tab switch reloaded the page"

    # Not interested: the card goes away (in place with JS; after a redirect without).
    derby = browser_world[1].title
    expect(card(page, derby)).to_have_count(1)
    card(page, derby).get_by_role("button", name=re.compile("Not interested")).click()
    expect(card(page, derby)).to_have_count(0)
    if javascript:
        assert page.evaluate("window.__sameDocument === true"), "dismiss reloaded the page"
        expect(page.locator("#feed-status")).to_contain_text("Hidden: " + derby)
    else:
        expect(page.get_by_text("You won't see this event again")).to_be_visible()
    assert Engagement.objects.filter(user=user, event=browser_world[1], kind="dismiss").exists()
    page.reload()
    expect(card(page, derby)).to_have_count(0)

    # The page's impressions were logged (htmx beacon with JS, <noscript> pixel without).
    expect(page.locator("li.card").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert Engagement.objects.filter(user=user, kind="impression").exists()

    # Open an event and toggle Top/Latest.
    marathon = browser_world[6]
    page.get_by_role("link", name=marathon.title, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(marathon.title)
    expect(page.locator(".sparkline svg")).to_be_visible()
    expect(page.get_by_role("heading", name="The story so far")).to_be_visible()
    page.get_by_role("link", name="Latest", exact=True).click()
    expect(page).to_have_url(re.compile(r"order=latest"))
    expect(page.get_by_role("link", name="Latest", exact=True)).to_have_attribute("aria-current", "true")
    first_latest = page.locator("#event-posts li.post").first
    expect(first_latest).to_contain_text("update 0")

    # Search from the header box.
    page.get_by_label("Search events and posts").fill("volcano")
    page.get_by_label("Search events and posts").press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=volcano"))
    expect(page.locator("#search-results")).to_contain_text("Volcano erupts near the coast")
    # Switch to search by meaning (applies at once with JS; with the Search button without).
    page.get_by_label("Meaning").check()
    if not javascript:
        page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"mode=meaning"))
    expect(page.locator("#search-results")).to_contain_text("Volcano erupts near the coast")

    # Post, and see the post on the profile at once.
    page.get_by_role("link", name="Post", exact=True).click()
    text = f"Watching the derby replay from {handle} <b>not bold</b> #derby"
    page.get_by_label("What's happening?").fill(text)
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/@{handle}/$"))
    expect(page.locator("#profile-posts li.post").first).to_contain_text(text)
    expect(page.locator("#profile-posts b")).to_have_count(0)
    assert Tweet.objects.filter(author=user, text=text).exists()

    # Log out.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_follow_and_paging(make_page, browser_world, javascript):
    from tests.factories import EventFactory, UserFactory

    EventFactory.create_batch(25, category="news", author_count=10)
    UserFactory(username="viewer")
    page = make_page(javascript=javascript)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="@viewer")).to_be_visible()

    page.goto("/?tab=news")
    before = page.locator("li.card").count()
    page.get_by_role("link", name="Show more").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    if javascript:
        # appended below the first page
        expect(page.locator("li.card")).to_have_count(before + (27 - before))
    else:
        expect(page.get_by_role("link", name="← Newer")).to_be_visible()

    page.goto("/@ana_reports/")
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("button", name="Following")).to_be_visible()
    expect(page.locator(".follow-box__counts")).to_contain_text("1 follower")
    page.get_by_role("button", name="Following").click()
    expect(page.get_by_role("button", name="Follow")).to_be_visible()


def test_new_events_banner_swaps_in(make_page, browser_world, settings):
    from tests.factories import EventFactory

    # The ranking's candidate pool is rebuilt on every request, so a new event is in feeds at once.
    settings.RANKING_POOL_TTL_S = 0

    page = make_page()
    page.goto("/?tab=trending")
    expect(page.locator("#new-banner")).to_have_attribute("hx-trigger", "every 30s")
    EventFactory(title="Breaking: bridge reopens", category="news", author_count=10)
    # Fire the poll's request now instead of waiting 30 s.
    page.evaluate("""() => { const el = document.querySelector('#new-banner');
        htmx.ajax('GET', el.getAttribute('hx-get'), {target: '#new-banner', swap: 'outerHTML'}); }""")
    link = page.get_by_role("link", name=re.compile(r"1 new event — show"))
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_role("link", name="Breaking: bridge reopens")).to_be_visible()


def test_keyboard_and_phone_layout(make_page, browser_world):
    page = make_page(viewport=PHONE)
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    # A keyboard tab switch keeps focus on the tab that was chosen after htmx swaps the section.
    page.focus("#tab-news")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"tab=news"))
    expect(page.locator("#tab-news")).to_have_attribute("aria-current", "page")
    expect(page.locator("#tab-news")).to_be_focused()
    for path in ["/", f"/events/{browser_world[0].pk}/", "/search/?q=chile", "/accounts/signup/"]:
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"


PAGES = [
    ("home", "/"),
    ("home-news", "/?tab=news"),
    ("event", None),
    ("search", "/search/?q=derby"),
    ("signup", "/accounts/signup/"),
    ("login", "/accounts/login/"),
]


def test_screenshots(make_page, browser_world, shoot):
    from tests.factories import UserFactory

    UserFactory(username="demo", display_name="Demo Reader", location="Lisbon", topics=["sports"])
    for width_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        for scheme in ("light", "dark") if width_name == "desktop" else ("light",):
            page = make_page(viewport=viewport, color_scheme=scheme)
            suffix = f"{width_name}" + ("-dark" if scheme == "dark" else "")
            for name, path in PAGES:
                page.goto(path or f"/events/{browser_world[0].pk}/")
                shoot(page, f"anon-{name}-{suffix}")
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill("demo")
            page.get_by_label("Password").fill("correct-horse-battery")
            page.get_by_role("button", name="Log in").click()
            for name, path in [("for-you", "/"), ("profile", "/@ana_reports/"), ("settings", "/accounts/settings/"), ("compose", "/compose/")]:
                page.goto(path)
                shoot(page, f"user-{name}-{suffix}")
