"""Hostile query strings and form posts get a page or a 4xx, never a 500."""

import pytest

pytestmark = pytest.mark.django_db

JUNK = ["²", "\x00", "%00", "' OR 1=1 --", "<script>", "9" * 40, "-1", "1e9", "😀\u202e", "a" * 3000]


@pytest.mark.parametrize("junk", JUNK)
def test_get_parameters(client, user, world, no_ranking, fake_embedder, junk):
    client.force_login(user)
    event = world[0].pk
    for path, params in [
        ("/", {"tab": junk, "page": junk, "scope": junk, "fresh": junk}),
        ("/explore/new/", {"tab": junk, "since": junk}),
        (f"/events/{event}/", {"order": junk, "page": junk, "src": junk, "pos": junk}),
        ("/search/", {"q": junk, "mode": "meaning", "type": junk, "page": junk}),
        ("/search/", {"q": junk, "mode": junk}),
        ("/@reporter/", {"page": junk}),
    ]:
        response = client.get(path, params, HTTP_HX_REQUEST="true" if "new" in path else "")
        assert response.status_code < 500, (path, params)


@pytest.mark.parametrize("junk", JUNK)
def test_post_forms(client, user, world, junk):
    assert client.post("/accounts/login/", {"username": junk, "password": junk}).status_code < 500
    assert client.post("/accounts/signup/", {"handle": junk, "password": junk, "email": junk}).status_code < 500
    client.force_login(user)
    assert client.post("/compose/", {"text": junk}).status_code < 500
    assert client.post("/accounts/settings/", {"location": junk, "languages": [junk], "topics": [junk]}).status_code < 500
    assert client.post("/explore/seen/", {"e": [junk], "offset": junk, "surface": junk, "variant": junk}).status_code < 500
    assert client.post(f"/events/{world[0].pk}/dismiss/", {"surface": junk, "next": junk}).status_code < 500
    assert client.post(f"/accounts/u/{junk[:30]}/follow/").status_code < 500


def test_huge_ids_in_urls_are_404(client, user):
    huge = "9" * 30
    assert client.get(f"/events/{huge}/").status_code == 404
    client.force_login(user)
    assert client.post(f"/events/{huge}/dismiss/").status_code == 404
    assert client.post(f"/events/{huge}/report/").status_code == 404
