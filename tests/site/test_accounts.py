import pytest
from django.test import Client

from tests.factories import TweetFactory, UserFactory
from users.models import Follow, User

pytestmark = pytest.mark.django_db


def test_signup_creates_account_logs_in_and_goes_to_settings(client):
    response = client.post(
        "/accounts/signup/", {"handle": "@New_Person", "display_name": "New", "email": "", "password": "a-long-passphrase-42"}
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/settings/"
    user = User.objects.get(username="New_Person")
    assert user.check_password("a-long-passphrase-42")
    assert client.get("/").context["user"].pk == user.pk


@pytest.mark.parametrize(
    "data,message",
    [
        ({"handle": "taken", "password": "a-long-passphrase-42"}, "This handle is taken."),
        ({"handle": "TAKEN", "password": "a-long-passphrase-42"}, "This handle is taken."),
        ({"handle": "bad handle!", "password": "a-long-passphrase-42"}, "Handles are 1-30 letters"),
        ({"handle": "fresh", "password": "password"}, "too common"),
        ({"handle": "fresh", "password": "short"}, "too short"),
        ({"handle": "", "password": "a-long-passphrase-42"}, "This field is required"),
    ],
)
def test_signup_errors_are_shown(client, data, message):
    UserFactory(username="taken")
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.filter(username__iexact="fresh").exists()


def test_signup_rate_limited(client, settings):
    settings.RATE_LIMITS = {"signup": (2, 3600)}
    for i in range(2):
        Client().post("/accounts/signup/", {"handle": f"bot{i}", "password": "a-long-passphrase-42"})
    response = client.post("/accounts/signup/", {"handle": "bot9", "password": "a-long-passphrase-42"})
    assert response.status_code == 429 and "creating accounts" in response.content.decode()
    assert not User.objects.filter(username="bot9").exists()


def test_login_case_insensitive_and_next(client):
    UserFactory(username="Alice")
    response = client.post("/accounts/login/", {"username": "@alice", "password": "correct-horse-battery", "next": "/search/"})
    assert response.status_code == 302 and response["Location"] == "/search/"


def test_login_wrong_password_and_offsite_next(client):
    UserFactory(username="bob")
    bad = client.post("/accounts/login/", {"username": "bob", "password": "nope"})
    assert bad.status_code == 200 and "correct username and password" in bad.content.decode()
    ok = client.post("/accounts/login/", {"username": "bob", "password": "correct-horse-battery", "next": "https://evil.example/"})
    assert ok["Location"] == "/"


def test_login_rate_limited(client, settings):
    settings.RATE_LIMITS = {"login": (3, 300)}
    UserFactory(username="carol")
    for _ in range(3):
        assert client.post("/accounts/login/", {"username": "carol", "password": "wrong"}).status_code == 200
    blocked = client.post("/accounts/login/", {"username": "carol", "password": "correct-horse-battery"})
    assert blocked.status_code == 429 and "Retry-After" in blocked


def test_login_enforces_csrf():
    UserFactory(username="dave")
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/accounts/login/", {"username": "dave", "password": "correct-horse-battery"}).status_code == 403


def test_logout_is_post_only(client, user):
    client.force_login(user)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert not client.get("/").context["user"].is_authenticated


def test_settings_requires_login_and_saves(client, user):
    assert client.get("/accounts/settings/").status_code == 302
    client.force_login(user)
    assert client.get("/accounts/settings/").status_code == 200
    response = client.post(
        "/accounts/settings/",
        {"display_name": "Me", "bio": "hi", "location": " Lisbon ", "languages": ["pt", "en"], "topics": ["sports", "technology"]},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.location, user.show_local_trends) == ("Lisbon", False)
    assert sorted(user.languages) == ["en", "pt"] and user.topics == ["sports", "technology"]
    page = client.get("/accounts/settings/").content.decode()
    assert "Settings saved." in page and 'value="sports"' in page


def test_settings_rejects_unknown_topic(client, user):
    client.force_login(user)
    response = client.post("/accounts/settings/", {"topics": ["cooking"], "show_local_trends": "on"})
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.topics == []


def test_profile_pages(client, django_assert_max_num_queries):
    owner = UserFactory(username="Erin", bio="Reporter", location="Porto")
    TweetFactory(author=owner, text="first")
    TweetFactory(author=owner, text="second")
    with django_assert_max_num_queries(3):
        response = client.get("/@erin/")
    html = response.content.decode()
    assert response.status_code == 200 and "first" in html and "second" in html and "@Erin" in html
    assert client.get("/u/Erin/").status_code == 200
    assert client.get("/@nobody/").status_code == 404


def test_profile_paging(client):
    owner = UserFactory(username="frank")
    for i in range(23):
        TweetFactory(author=owner, text=f"post {i}")
    html = client.get("/@frank/").content.decode()
    assert html.count('class="post"') == 20 and 'id="profile-more"' in html
    partial = client.get("/@frank/?page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="profile-more").content.decode()
    assert partial.count('class="post"') == 3 and "<html" not in partial


def test_follow_and_unfollow_plain_and_htmx(client, user, django_assert_max_num_queries):
    other = UserFactory(username="grace")
    client.force_login(user)
    assert "Follow</button>" in client.get("/@grace/").content.decode()
    response = client.post("/accounts/u/grace/follow/")
    assert response.status_code == 302 and response["Location"] == "/@grace/"
    assert Follow.objects.filter(follower=user, followee=other).exists()
    page = client.get("/@grace/").content.decode()
    assert "Following</button>" in page and "<strong>1</strong> follower" in page
    partial = client.post("/accounts/u/grace/unfollow/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="follow-box")
    html = partial.content.decode()
    assert partial.status_code == 200 and html.strip().startswith('<div id="follow-box"')
    assert "Follow</button>" in html and "<strong>0</strong> followers" in html
    assert not Follow.objects.filter(follower=user, followee=other).exists()
    again = client.post("/accounts/u/grace/follow/", HTTP_HX_REQUEST="true")
    assert "Following</button>" in again.content.decode()


def test_follow_guards(client, user):
    UserFactory(username="heidi")
    anon = client.post("/accounts/u/heidi/follow/")
    assert anon.status_code == 302 and "/accounts/login/" in anon["Location"]
    client.force_login(user)
    assert client.get("/accounts/u/heidi/follow/").status_code == 405
    assert client.post("/accounts/u/nobody/follow/").status_code == 404
    client.post(f"/accounts/u/{user.username}/follow/")
    assert not Follow.objects.exists()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/accounts/u/heidi/follow/").status_code == 403
    assert not Follow.objects.exists()


def test_staff_see_the_curation_link(client, user, staff_user):
    client.force_login(user)
    assert "/curation/" not in client.get("/").content.decode()
    client.force_login(staff_user)
    assert 'href="/curation/"' in client.get("/").content.decode()
