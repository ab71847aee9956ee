import pytest
from django.test import Client

from trends.models import Tweet

pytestmark = pytest.mark.django_db


def test_compose_requires_login(client):
    response = client.get("/compose/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post("/compose/", {"text": "hi"}).status_code == 302
    assert not Tweet.objects.exists()


def test_compose_creates_post_that_appears_on_profile(client, user):
    user.languages = ["pt"]
    user.location = "Lisbon"
    user.save()
    client.force_login(user)
    assert client.get("/compose/").status_code == 200
    response = client.post("/compose/", {"text": "  Hello #Lisboa from @friend  "})
    assert response.status_code == 302 and response["Location"] == f"/@{user.username}/"
    tweet = Tweet.objects.get(author=user)
    assert (tweet.text, tweet.lang, tweet.location, tweet.source) == ("Hello #Lisboa from @friend", "pt", "Lisbon", "web")
    assert tweet.hashtags == ["lisboa"]
    profile = client.get(response["Location"]).content.decode()
    assert "Posted." in profile
    assert 'href="/search/?q=%23Lisboa"' in profile and 'href="/@friend/"' in profile
    user.refresh_from_db()
    assert user.posts_count == 1


@pytest.mark.parametrize("text,message", [("   ", "This field is required"), ("x" * 561, "at most 560")])
def test_compose_shows_field_errors(client, user, text, message):
    client.force_login(user)
    response = client.post("/compose/", {"text": text})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'aria-invalid="true"' in html
    assert not Tweet.objects.exists()


def test_compose_service_errors_reach_the_form(client, user):
    client.force_login(user)
    response = client.post("/compose/", {"text": "bad \x00 byte"})
    assert response.status_code == 400
    assert "NUL" in response.content.decode() or "Null characters" in response.content.decode()
    assert not Tweet.objects.exists()


def test_compose_rate_limited(client, user, settings):
    settings.RATE_LIMITS = {"post": (2, 600)}
    client.force_login(user)
    assert client.post("/compose/", {"text": "one"}).status_code == 302
    assert client.post("/compose/", {"text": "two"}).status_code == 302
    response = client.post("/compose/", {"text": "three"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts at posting" in response.content.decode()
    assert Tweet.objects.count() == 2


def test_compose_enforces_csrf(user):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/compose/", {"text": "no token"}).status_code == 403
    page = strict.get("/compose/")
    token = page.context["csrf_token"]
    assert strict.post("/compose/", {"text": "with token", "csrfmiddlewaretoken": str(token)}).status_code == 302
    assert Tweet.objects.filter(text="with token").exists()


def test_home_shows_composer_for_users_only(client, user):
    assert "compose-text" not in client.get("/").content.decode()
    client.force_login(user)
    assert "compose-text" in client.get("/").content.decode()
