#!/usr/bin/env python
"""CPU per request of a stored For You page vs /ping, in-process through Django's WSGI handler.

    DATABASE_URL=... CACHE_URL=... python bench/page_cpu.py [--blocks 12 --per-block 400]

Uses bench/serve.py's database (run that first). Builds one user's page, makes a session for them,
then calls the WSGI handler directly (no server, no network client) and reports the best block's
CPU microseconds per request for /ping, For You with the signed hint cookie, and without it; and
the API's For You first page (stored with the page build, token auth), rotating over --api-users
users so that the per-user rate limit is never reached; Trending for a visitor without a session;
and the median CPU of an event page rendered from scratch (--event-renders events).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "explore_site.settings")
# As the web workers run (gunicorn.conf.py): one BLAS thread, so no idle pool thread spins on CPU.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=12)
    parser.add_argument("--per-block", type=int, default=400)
    parser.add_argument("--api-users", type=int, default=300)
    parser.add_argument("--event-renders", type=int, default=60, help="event pages rendered from scratch (0: none)")
    args = parser.parse_args()

    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework.authtoken.models import Token

    from trends.pages.selectors import HINT_COOKIE, hint_value
    from trends.pages.services import page_build
    from users.models import User

    user = User.objects.order_by("pk")[7]
    page_build(user=user, seen=False)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    app = WSGIHandler()
    host = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "localhost"
    cookies = f"sessionid={session.session_key}; csrftoken={'a' * 32}"
    hinted = f"{cookies}; {HINT_COOKIE}={hint_value(user_id=user.pk, session_key=session.session_key)}"

    tokens: itertools.cycle = itertools.cycle([])

    def api_setup() -> None:
        # Done just before the API's turn, so the pages it builds do not weigh on the other pages' runs.
        nonlocal tokens
        api_users = list(User.objects.order_by("pk")[: args.api_users])
        for api_user in api_users:
            page_build(user=api_user, seen=False)
        tokens = itertools.cycle([f"Token {Token.objects.get_or_create(user=u)[0].key}" for u in api_users])

    def call(path: str, query: str, cookie: str) -> str:
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": host,
            "SERVER_PORT": "80", "HTTP_HOST": host, "HTTP_COOKIE": cookie, "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.errors": sys.stderr,
        }
        if path.startswith("/api/"):
            environ["HTTP_AUTHORIZATION"] = next(tokens)
        status = []
        b"".join(app(environ, lambda s, h: status.append(s)))
        return status[0]

    report = {}
    for name, path, query, cookie in (
        ("ping", "/ping", "", cookies),
        ("for_you_hinted", "/", "tab=for-you", hinted),
        ("for_you_unhinted", "/", "tab=for-you", cookies),
        # A visitor without a session: Trending is the default tab.
        ("trending_anonymous", "/", "", ""),
        ("api_for_you", "/api/v1/explore/for-you", "", ""),
    ):
        if name == "api_for_you":
            api_setup()
        assert call(path, query, cookie).startswith("200"), name
        for _ in range(max(200, 2 * args.api_users)):  # every API token looked up once before timing
            call(path, query, cookie)
        best = float("inf")
        for _ in range(args.blocks):
            started = time.process_time()
            for _ in range(args.per_block):
                call(path, query, cookie)
            best = min(best, (time.process_time() - started) / args.per_block * 1e6)
        report[f"{name}_cpu_us"] = round(best)
    if args.event_renders:
        report["event_first_render_cpu_ms"] = event_first_renders(call, args.event_renders)
    report["load_average"] = os.getloadavg()
    print(json.dumps(report))


def event_first_renders(call, count: int) -> float:
    """Median CPU of an event page rendered from scratch for a visitor without a session: what each
    stored event page costs once per fresh interval. Its stored copy and shared parts are dropped
    first; the events (every 7th id, as bench/serve.py visits them) start after a warm-up one."""
    from statistics import median

    from django.core.cache import cache

    from trends.models import Event

    ids = list(Event.objects.order_by("pk").values_list("pk", flat=True)[: 7 * count + 2 : 7])
    call(f"/events/{ids[0]}/", "", "")  # per-process state (templates, the ranking pool) loaded once
    spent = []
    for event_id in ids[1:]:
        event = Event.objects.get(pk=event_id)
        stamp = int(event.last_seen_at.timestamp()) if event.last_seen_at else 0
        cache.delete_many([f"evpage:{event_id}", f"evparts:{event_id}:{event.version}:{event.tweet_count}:{stamp}"])
        started = time.process_time()
        status = call(f"/events/{event_id}/", "", "")
        spent.append(time.process_time() - started)
        assert status.startswith("200"), (event_id, status)
    return round(median(spent) * 1000, 2)


if __name__ == "__main__":
    main()
