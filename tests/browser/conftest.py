"""Playwright against pytest-django's live_server, driving Debian's /usr/bin/chromium headless."""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
    # with a running loop unless told that this (test-only) use is fine. Only while browsers run.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def make_page(browser, live_server):
    contexts = []
    errors: list[str] = []

    def make(*, javascript: bool = True, viewport: dict | None = None, color_scheme: str = "light"):
        context = browser.new_context(
            java_script_enabled=javascript,
            viewport=viewport or DESKTOP,
            color_scheme=color_scheme,
            base_url=live_server.url,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        # Script errors, failed htmx requests and missing assets all show up here.
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, errors


@pytest.fixture
def shoot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


STORIES = [
    ("news", "Magnitude 6.1 earthquake strikes off the coast of Chile", "Santiago", "Strong shaking felt across central Chile; no tsunami warning issued.", ["earthquake", "chile", "tsunami"]),
    ("sports", "Lisbon derby ends 2-2 after stoppage-time equaliser", "Lisbon", "A late header rescued a point in a derby with two red cards.", ["derby", "benfica", "sporting"]),
    ("technology", "Major cloud provider outage takes down popular apps", "", "Login and storage failures in one region ripple through services worldwide.", ["outage", "cloud", "status"]),
    ("entertainment", "Surprise album drop tops streaming charts overnight", "", "Fans dissected the lyrics within minutes of release.", ["album", "release", "charts"]),
    ("news", "City council approves new bike lane network", "Porto", "The plan adds 40 km of protected lanes over three years.", ["bike", "council", "lanes"]),
    ("technology", "Open-source model release beats benchmarks", "", "Researchers publish weights and a detailed report.", ["model", "benchmark", "weights"]),
    ("sports", "Marathon record falls in windy conditions", "Berlin", "The winner shaved 20 seconds off the course record.", ["marathon", "record"]),
]


@pytest.fixture
def browser_world(transactional_db, fake_embedder):
    """A small, believable world for the pages and their screenshots."""
    from tests.factories import EventFactory, TweetFactory, UserFactory, add_members
    from trends.embedding import pack
    from trends.models import EventBucket, EventSnapshot

    now = timezone.now()
    people = [UserFactory(username=name, display_name=name.replace("_", " ").title()) for name in (
        "ana_reports", "quake_watch", "joao_f", "techdesk", "maria_s", "citynews", "runner_k")]
    events = []
    for i, (category, title, place, summary, keywords) in enumerate(STORIES):
        text = " ".join([title, *keywords])
        event = EventFactory(
            title=title, category=category, location=place, summary=summary, keywords=keywords,
            trend_score=50 - i * 5, velocity=1.5, centroid=pack(fake_embedder.encode([text])[0]),
            first_seen_at=now - dt.timedelta(hours=6), last_seen_at=now - dt.timedelta(minutes=3 + i * 7),
            trending_since=now - dt.timedelta(hours=3),
        )
        posts = [
            TweetFactory(author=people[(i + j) % len(people)], text=f"{title} — update {j}. #{keywords[0]} via https://news.example/{i}/{j}",
                         created_at=now - dt.timedelta(minutes=5 + 20 * j), like_count=12 * (5 - j), retweet_count=3 * j,
                         embedding=pack(fake_embedder.encode([text])[0]))
            for j in range(5)
        ]
        add_members(event, posts)
        event.author_count = 240 - i * 20
        event.tweet_count = 1800 - i * 150
        event.representative_tweet_ids = [posts[0].pk, posts[3].pk]
        event.save()
        EventBucket.objects.bulk_create([
            EventBucket(event=event, start=now - dt.timedelta(minutes=15 * (24 - k)), tweets=int(5 + 80 * (k / 24) ** 2 * (1.2 - k / 30)))
            for k in range(24)
        ])
        EventSnapshot.objects.create(event=event, taken_at=now - dt.timedelta(hours=4), state="emerging", tweet_count=40, author_count=25, note="First reports")
        EventSnapshot.objects.create(event=event, taken_at=now - dt.timedelta(hours=2), state="trending", tweet_count=900, author_count=150)
        events.append(event)
    volcano = "Volcano erupts near the coast — ash cloud visible from the city"
    TweetFactory(author=people[1], text=volcano, embedding=pack(fake_embedder.encode([volcano])[0]))
    return events
