import pytest

from tests.factories import EventFactory, TweetFactory
from trends import site
from trends.embedding import pack

pytestmark = pytest.mark.django_db


def test_search_page_without_query(client):
    response = client.get("/search/")
    assert response.status_code == 200
    assert "Search by <strong>words</strong>" in response.content.decode()


def test_words_search_finds_events_and_posts(client, world):
    TweetFactory(text="Volcano erupts near the coast")
    TweetFactory(text="Nothing to see")
    volcano = EventFactory(title="Volcano eruption", keywords=["lava"])
    html = client.get("/search/?q=volcano").content.decode()
    assert "Volcano erupts near the coast" in html and "Nothing to see" not in html
    assert f"/events/{volcano.pk}/?src=search" in html
    by_keyword = client.get("/search/?q=lava&type=events").content.decode()
    assert "Volcano eruption" in by_keyword


def test_every_word_must_match(client):
    TweetFactory(text="red apples")
    TweetFactory(text="green apples")
    html = client.get("/search/?q=apples+red&type=posts").content.decode()
    assert "red apples" in html and "green apples" not in html


def test_search_paging_plain_and_htmx(client, htmx_headers):
    for i in range(site.PAGE_SIZE + 3):
        TweetFactory(text=f"storm report {i}")
    first = client.get("/search/?q=storm&type=posts").content.decode()
    assert first.count('class="post"') == site.PAGE_SIZE and "Next →" in first
    second = client.get("/search/?q=storm&type=posts&page=2").content.decode()
    assert second.count('class="post"') == 3 and "← Previous" in second
    partial = client.get("/search/?q=storm&type=posts&page=2", **htmx_headers("search-results")).content.decode()
    assert "<html" not in partial and partial.strip().startswith('<div id="search-results"')
    assert partial.count('class="post"') == 3


def test_meaning_search_uses_embeddings(client, fake_embedder):
    texts = ["flood water rising downtown", "concert tickets sold out", "football final tonight"]
    tweets = [TweetFactory(text=t, embedding=pack(fake_embedder.encode([t])[0])) for t in texts]
    event = EventFactory(title="City flooding", centroid=pack(fake_embedder.encode(["flood water rising"])[0]))
    EventFactory(title="Music", centroid=pack(fake_embedder.encode(["concert tickets"])[0]))
    html = client.get("/search/?q=flood+water&mode=meaning").content.decode()
    assert "flood water rising downtown" in html
    assert "concert tickets sold out" not in html
    assert f"/events/{event.pk}/" in html and "Music" not in html
    assert tweets  # created


def test_meaning_search_falls_back_to_words_without_a_model(client, monkeypatch):
    from trends import embedding

    def unavailable(tier=None):
        raise embedding.EmbeddingUnavailable("no model here")

    monkeypatch.setattr(embedding, "get_embedder", unavailable)
    TweetFactory(text="earthquake felt")
    html = client.get("/search/?q=earthquake&mode=meaning").content.decode()
    assert "unavailable right now" in html and "earthquake felt" in html


def test_search_query_is_escaped_and_bounded(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.get("/search/?q=%3Cscript%3Ealert(1)%3C/script%3E")
    html = response.content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert client.get("/search/?q=" + "x" * 5000 + "&page=zzz&mode=evil&type=bad").status_code == 200


def test_search_query_counts_bounded(client, user, world, fake_embedder, django_assert_max_num_queries):
    client.force_login(user)
    with django_assert_max_num_queries(6):
        client.get("/search/?q=news")
    with django_assert_max_num_queries(7):
        client.get("/search/?q=news&mode=meaning")
