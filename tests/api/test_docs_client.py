"""The Python client example in docs/api.md runs against the app (in process, through httpx's WSGI transport)."""

import re
from pathlib import Path

import httpx
import pytest

from tests.factories import EventFactory, UserFactory
from trends.api import feeds
from trends.models import Engagement, Tweet

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def example_namespace() -> dict:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks, "docs/api.md lost its Python example"
    namespace: dict = {"__name__": "docs_example"}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


@pytest.mark.django_db
def test_client_example_posts_reads_for_you_and_logs(monkeypatch, in_process_wsgi):
    from explore_site.wsgi import application

    monkeypatch.setattr(feeds, "_ranking_function", lambda name: None)
    UserFactory(username="demo", password="explore-demo-password")
    event = EventFactory()
    ns = example_namespace()
    client = ns["login"]("demo", "explore-demo-password", transport=httpx.WSGITransport(app=application))
    try:
        tweet = ns["post"](client, "Huge crowd at the #marathon finish line")
        assert Tweet.objects.filter(pk=int(tweet["id"]), author__username="demo").exists()
        feed = ns["for_you"](client)
        assert [item["event"]["id"] for item in feed] == [event.pk]
        assert ns["log_impressions"](client, feed[:1]) == 1
        with pytest.raises(ValueError):
            ns["post"](client, "   ")
    finally:
        client.close()
    assert Engagement.objects.filter(event=event, kind="impression", position=0, surface="for_you").count() == 1
